"""Load a model file once in a short-lived child process before trusting it in this one.

The header checks in ``models.gguf_info`` catch every bad value known to
make llama.cpp fail, but llama.cpp asserts on far more than a header reader
can predict, and an assert aborts the whole process (SIGABRT, a core dump,
the window gone with its unsaved conversation). So a model file is first
loaded — text model, projector, and one warm-up image through the vision
encoder — by ``python -m models.probe`` in a child; a native crash there
becomes a one-line ``ModelError`` naming the file.

The verdict is remembered per file (path, size and modification time), in
this process and, when ``remember_in`` names a folder, on disk, so the probe
runs once per new or changed file, not once per command.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from models.errors import ModelError

PROBE_TIMEOUT_S = 300.0
"""Loading a large model from a slow disk takes a while; a hang is still bounded."""

_TEXT_LOADED = "text-model-loaded"
_verdicts: dict[str, str] = {}
_folder: list[Path] = []


def remember_in(folder: Path | None) -> None:
    """Keep verdicts in ``folder`` across processes (the app's cache folder); None forgets it."""
    _folder[:] = [folder] if folder is not None else []


def _key(files: list[Path]) -> str:
    parts = []
    for path in files:
        info = path.stat()
        parts.append(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _recall(key: str) -> str | None:
    if key in _verdicts:
        return _verdicts[key]
    for folder in _folder:
        try:
            verdict = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(verdict, str):
            _verdicts[key] = verdict
            return verdict
    return None


def _remember(key: str, verdict: str) -> None:
    _verdicts[key] = verdict
    for folder in _folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(verdict), encoding="utf-8")
            os.replace(tmp, folder / f"{key}.json")
        except OSError:
            pass  # a read-only cache costs one more probe next time, nothing else


def _native_reason(stderr: str) -> str:
    """The assert llama.cpp printed, if any, for the message; never the backtrace."""
    for line in stderr.splitlines():
        for marker in ("GGML_ASSERT", "GGML_ABORT"):
            if marker in line:
                return line[line.index(marker) :].strip()[:200]
    return ""


def probe(text: Path, mmproj: Path | None = None) -> None:
    """Raise ``ModelError`` naming the file when loading it crashes a process; else return."""
    files = [text] + ([mmproj] if mmproj is not None else [])
    try:
        key = _key(files)
    except OSError as exc:
        raise ModelError.for_file(files[0], f"cannot be read ({exc.strerror or exc})") from exc
    verdict = _recall(key)
    if verdict is None:
        verdict = _run_child(text, mmproj)
        _remember(key, verdict)
    if verdict:
        raise ModelError(verdict)


def _run_child(text: Path, mmproj: Path | None) -> str:
    """An empty verdict when the child survived; else the line to show."""
    command = [sys.executable, "-m", "models.probe", str(text)]
    if mmproj is not None:
        command.append(str(mmproj))
    env = {**os.environ, "PYTHONFAULTHANDLER": ""}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{text}: llama.cpp did not finish loading it in {PROBE_TIMEOUT_S:g} s"
    if 0 <= done.returncode < 128:
        return ""  # loaded, or failed cleanly: the real load reports that one with its reason
    culprit = mmproj if mmproj is not None and _TEXT_LOADED in done.stdout else text
    how = _native_reason(done.stderr)
    return (
        f"{culprit}: llama.cpp crashed loading this file (exit {done.returncode}"
        f"{': ' + how if how else ''}) — it is damaged or made for another version"
    )


def _child(text: str, mmproj: str | None) -> int:
    """Load like the real backend would, then push one warm-up image through the encoder."""
    import llama_cpp
    from llama_cpp import mtmd_cpp

    llm = llama_cpp.Llama(model_path=text, n_ctx=256, n_gpu_layers=0, verbose=False)
    print(_TEXT_LOADED, flush=True)
    if mmproj is not None:
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = False
        params.print_timings = False
        params.warmup = True  # builds and runs the vision graph: where bad shapes assert
        ctx = mtmd_cpp.mtmd_init_from_file(mmproj.encode(), llm.model, params)
        if ctx:
            mtmd_cpp.mtmd_free(ctx)
    llm.close()
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    try:
        code = _child(args[0], args[1] if len(args) > 1 else None)
    except Exception:  # a clean failure: the real load reports it with its reason
        code = 1
    sys.exit(code)
