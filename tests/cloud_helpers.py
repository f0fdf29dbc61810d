"""Helpers for cloud tests: a search for leaked secrets."""

from __future__ import annotations

from pathlib import Path


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
