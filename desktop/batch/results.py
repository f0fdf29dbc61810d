"""The ``--out`` file: one CSV row or JSON line per file, appended as each one finishes.

Each row is flushed and synced before the next file starts, so a crash loses
at most the file being answered, and re-running the same command can see
what is already there.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import IO, Any

from models.errors import InputError

COLUMNS = ("path", "text", "model", "preset", "prompt_tokens", "completion_tokens", "ms", "error")


def check_fields(fields: tuple[str, ...]) -> None:
    clash = [f for f in fields if f in COLUMNS]
    if clash:
        raise InputError(f"--fields {', '.join(clash)}: the output already has that column")


class ResultFile:
    """An append-only CSV (``.csv``) or JSON Lines (``.jsonl``) file of results."""

    def __init__(self, path: Path, fields: tuple[str, ...] = ()) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".jsonl"):
            raise InputError.for_file(path, "--out must end in .csv or .jsonl")
        self.path = path
        self.is_csv = suffix == ".csv"
        self.columns = (*COLUMNS, *fields)
        self._existing = self._read()
        self._file: IO[str] | None = None

    def _read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError.for_file(self.path, f"cannot be read ({exc})") from exc
        if self.is_csv:
            reader = csv.DictReader(text.splitlines())
            if reader.fieldnames and tuple(reader.fieldnames) != self.columns:
                raise InputError.for_file(
                    self.path,
                    f"has other columns ({', '.join(reader.fieldnames)}) — "
                    "write to another --out file",
                )
            return list(reader)
        rows: list[dict[str, Any]] = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: that file is simply done again
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def answered(self, model: str) -> set[str]:
        """The paths that already have an answer from ``model`` without an error."""
        return {
            str(r.get("path"))
            for r in self._existing
            if r.get("model") == model and not r.get("error") and r.get("text") is not None
        }

    def append(self, row: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8", newline="")
            if self.is_csv and self._file.tell() == 0:
                csv.writer(self._file).writerow(self.columns)
        if self.is_csv:
            cells = ["" if row.get(c) is None else _cell(row.get(c)) for c in self.columns]
            csv.writer(self._file).writerow(cells)
        else:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
