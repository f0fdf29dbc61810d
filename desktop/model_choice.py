"""Which model answers: resolving what the user named, and loading it.

A name may be qualified (``embedded:llava``) or bare; a bare name picks the
first match and the caller says which. Loading is lazy: llama.cpp is only
imported when an embedded model is actually opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.paths import app_paths
from desktop.settings import Settings
from models.backend import Backend, BackendKind
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


def _from_entry(entry: ModelEntry, note: str | None = None) -> ModelChoice:
    return ModelChoice(
        label=entry.qualified_name,
        backend=entry.backend,
        path=Path(entry.path) if entry.path else None,
        mmproj=Path(entry.mmproj) if entry.mmproj else None,
        note=note,
    )


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
    entries = [e for e in installed_models(settings) if e.installed]
    if wanted is None:
        if len(entries) == 1:
            return _from_entry(entries[0])
        if not entries:
            raise ModelError(NO_MODEL_HELP)
        raise ModelError(
            "several models are installed and none is the default — pick one with --model NAME "
            "or set one with `sightline models default NAME` "
            f"(installed: {', '.join(e.qualified_name for e in entries)})"
        )
    kind, _, bare = wanted.rpartition(":")
    matches = [e for e in entries if e.name == bare and (not kind or e.backend == kind)]
    if not matches:
        known = ", ".join(e.qualified_name for e in entries) or "none installed"
        raise ModelError(f"no model named {wanted!r} ({known}); {NO_MODEL_HELP}")
    note = None
    if not kind and len(matches) > 1:
        note = f"{bare!r} matches several models; using {matches[0].qualified_name}"
    return _from_entry(matches[0], note)


def open_backend(choice: ModelChoice, settings: Settings) -> Backend:
    if choice.backend == "embedded" and choice.path is not None:
        from models.llamacpp import LlamaCppBackend

        return LlamaCppBackend(
            choice.path,
            choice.mmproj,
            name=choice.label,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_gpu_layers=settings.n_gpu_layers,
        )
    raise ModelError(f"{choice.label}: this kind of model ({choice.backend}) cannot be opened yet")
