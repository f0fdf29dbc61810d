"""Which model answers: resolving what the user named, and loading it.

A name may be qualified (``embedded:llava``) or bare; a bare name picks the
first match and the caller says which. Loading is lazy: llama.cpp is only
imported when an embedded model is actually opened.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from desktop.cloud_policy import CloudOptIn, check_request, is_cloud
from desktop.paths import app_paths
from desktop.settings import Settings
from models.backend import Backend, BackendKind
from models.cloud.limits import split_cloud_name
from models.entry import ModelEntry
from models.errors import ModelError
from models.gguf_info import read_projector
from models.library import scan

NO_MODEL_HELP = (
    "no model is configured — get one with `sightline models recommend` then "
    "`sightline models pull NAME`, import your own with "
    "`sightline models import MODEL.gguf --mmproj MMPROJ.gguf`, "
    "or pass --model-path MODEL.gguf --mmproj MMPROJ.gguf"
)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    label: str
    backend: BackendKind
    path: Path | None = None
    mmproj: Path | None = None
    note: str | None = None
    """Said to the user when the choice was not exact (a bare name matched several)."""

    def max_image_side(self, settings: Settings) -> int:
        """Known before loading, from the projector's header, so files can be prepared first."""
        if self.mmproj is None:
            return settings.max_image_side
        return min(settings.max_image_side, read_projector(self.mmproj).max_image_side)


def installed_models(
    settings: Settings, on_problem: Callable[[str], None] | None = None
) -> list[ModelEntry]:
    return scan(app_paths().models_dir, default=settings.default_model, on_problem=on_problem)


def remote_models(
    settings: Settings, on_problem: Callable[[str], None] | None = None
) -> list[ModelEntry]:
    """Models on the Ollama host and the OpenAI-compatible server, when they answer.

    The default Ollama host is this machine; a host that does not answer is
    reported through ``on_problem`` only when the user configured it.
    """
    found: list[ModelEntry] = []
    host = settings.effective_ollama_host()
    configured = bool(settings.ollama_host or os.environ.get("OLLAMA_HOST"))
    # The SDKs cost memory and start-up time: only load them when someone is listening.
    if configured or _listening(host):
        from models.ollama_backend import list_models as ollama_models

        try:
            found += ollama_models(host, timeout=2.0)
        except ModelError as exc:
            if on_problem and configured:
                on_problem(str(exc))
    url = settings.effective_openai_compat_url()
    if url:
        from models.openai_compat_backend import list_models as compat_models

        try:
            found += compat_models(url, timeout=2.0)
        except ModelError as exc:
            if on_problem:
                on_problem(str(exc))
    default = settings.default_model
    return [replace(e, default=default == e.qualified_name) if default else e for e in found]


def _listening(url: str, timeout: float = 0.3) -> bool:
    """Whether anything accepts connections at the URL's host and port."""
    import socket  # only the server probes need it, on the I/O pool; not the window's start

    parsed = urlsplit(url if "://" in url else f"http://{url}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def all_models(
    settings: Settings, on_problem: Callable[[str], None] | None = None
) -> list[ModelEntry]:
    return installed_models(settings, on_problem) + remote_models(settings, on_problem)


def choice_for(entry: ModelEntry, note: str | None = None) -> ModelChoice:
    """What the model host needs to open the entry's backend."""
    return ModelChoice(
        label=entry.qualified_name,
        backend=entry.backend,
        path=Path(entry.path) if entry.path else None,
        mmproj=Path(entry.mmproj) if entry.mmproj else None,
        note=note,
    )


def preferred_index(entries: Sequence[ModelEntry], wanted: str | None) -> int:
    """Which of the listed models the window starts with: ``wanted`` (the default), else the first.

    ``wanted`` matches a qualified name first, then a bare one. The window's
    picker and a right-click that starts before the window both ask this.
    """
    if wanted:
        names = [e.qualified_name for e in entries], [e.name for e in entries]
        for listed in names:
            if wanted in listed:
                return listed.index(wanted)
    return 0


_KINDS: dict[str, BackendKind] = {
    "embedded": "embedded",
    "ollama": "ollama",
    "openai-compat": "openai-compat",
}


def _split_name(name: str | None) -> tuple[BackendKind | None, str]:
    """``ollama:llava:7b`` is (ollama, llava:7b), but ``llava:7b`` stays bare: tags use colons."""
    if not name:
        return None, ""
    kind, sep, rest = name.partition(":")
    if sep and kind in _KINDS and rest:
        return _KINDS[kind], rest
    return None, name


def resolve_model(
    settings: Settings,
    name: str | None = None,
    model_path: str | None = None,
    mmproj: str | None = None,
) -> ModelChoice:
    if model_path:
        path = Path(model_path).expanduser()
        return ModelChoice(
            label=f"embedded:{path.stem}",
            backend="embedded",
            path=path,
            mmproj=Path(mmproj).expanduser() if mmproj else None,
        )
    if mmproj:
        raise ModelError("--mmproj needs --model-path (the text model it belongs to)")
    wanted = name or settings.default_model
    cloud = split_cloud_name(wanted) if wanted else None
    if cloud is not None:
        return ModelChoice(label=f"{cloud[0]}:{cloud[1]}", backend=cloud[0])
    kind, bare = _split_name(wanted)
    if kind in ("ollama", "openai-compat"):
        return ModelChoice(label=f"{kind}:{bare}", backend=kind)
    entries = [e for e in installed_models(settings) if e.installed]
    if wanted is None:
        if len(entries) == 1:
            return choice_for(entries[0])
        if not entries:
            raise ModelError(NO_MODEL_HELP)
        raise ModelError(
            "several models are installed and none is the default — pick one with --model NAME "
            "or set one with `sightline models default NAME` "
            f"(installed: {', '.join(e.qualified_name for e in entries)})"
        )
    matches = [e for e in entries if e.name == bare]
    unreachable: list[str] = []
    if not matches and not kind:
        matches = [e for e in remote_models(settings, unreachable.append) if e.name == bare]
        if not matches and not unreachable and not _listening(settings.effective_ollama_host()):
            unreachable.append(f"Ollama isn't running at {settings.effective_ollama_host()}")
    if not matches:
        known = ", ".join(e.qualified_name for e in entries) or "none installed"
        why = f"; {'; '.join(unreachable)}" if unreachable else ""
        raise ModelError(f"no model named {wanted!r} ({known}){why}; {NO_MODEL_HELP}")
    note = None
    if not kind and (len(matches) > 1 or matches[0].backend != "embedded"):
        note = f"{bare!r} is {matches[0].qualified_name}"
    return choice_for(matches[0], note)


def preload_backend(choice: ModelChoice) -> None:
    """Import now what ``open_backend`` will import for ``choice``.

    A cold right-click does this on its answer's thread before the window
    imports Qt: the two imports would otherwise take turns on the interpreter,
    and the answer's are the ones the first token waits for.
    """
    local = {
        "embedded": "models.llamacpp.backend",
        "ollama": "models.ollama_backend",
        "openai-compat": "models.openai_compat_backend",
    }
    module = "desktop.cloud_models" if is_cloud(choice.backend) else local.get(choice.backend)
    if module is not None:
        importlib.import_module(module)


def open_backend(
    choice: ModelChoice, settings: Settings, opt_in: CloudOptIn, *, resumable: bool = False
) -> Backend:
    """Load the model; a cloud one only when ``opt_in`` allows it (refused in its terms).

    ``resumable``: keep the KV state of conversations the user leaves, in RAM
    and on disk, so going back to one (even after a restart) resumes it. For
    the window, which switches conversations; a one-shot command would only
    write states nobody reopens.
    """
    check_request(choice.label, choice.backend, opt_in)
    if is_cloud(choice.backend):
        from desktop.cloud_models import open_cloud_backend

        return open_cloud_backend(choice.label, settings, allowed=True, cli=opt_in.caller == "cli")
    if choice.backend == "embedded" and choice.path is not None:
        from models.llamacpp import LlamaCppBackend

        return LlamaCppBackend(
            choice.path,
            choice.mmproj,
            name=choice.label,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_gpu_layers=settings.n_gpu_layers,
            flash_attn=settings.flash_attention,
            saved_states_ram=settings.states_ram_bytes() if resumable else 0,
            saved_states_dir=app_paths().states_dir if resumable else None,
            saved_states_disk=settings.conversation_states_disk_mb << 20,
        )
    bare = choice.label.split(":", 1)[1]
    if choice.backend == "ollama":
        from models.ollama_backend import OllamaBackend

        return OllamaBackend(
            settings.effective_ollama_host(),
            bare,
            settings.ollama_keep_alive,
            num_ctx=settings.n_ctx,
            connect_timeout_s=settings.ollama_connect_timeout_s,
            stall_timeout_s=settings.ollama_stall_timeout_s,
        )
    if choice.backend == "openai-compat":
        from models.openai_compat_backend import OpenAICompatBackend

        url = settings.effective_openai_compat_url()
        if not url:
            raise ModelError(
                "no OpenAI-compatible server is set — set openai_compat_url in settings or "
                "SIGHTLINE_OPENAI_COMPAT_URL"
            )
        return OpenAICompatBackend(url, bare)
    raise ModelError(f"{choice.label}: this kind of model cannot be opened here")
