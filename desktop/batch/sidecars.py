"""Sidecar files: ``photo.txt`` (or ``photo.json`` for the json preset) beside ``photo.jpg``.

The name is the picture's without its extension, the convention caption
tools and dataset loaders read; a PDF page adds ``.page-3``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from desktop.batch.inputs import BatchItem


def sidecar_path(item: BatchItem, *, json: bool) -> Path:
    stem = item.path.stem if item.page is None else f"{item.path.stem}.page-{item.page}"
    return item.path.with_name(stem + (".json" if json else ".txt"))


def write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target and rename over it: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
