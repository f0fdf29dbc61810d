"""One row of the model list, whatever backend the model lives in.

The field names are the `sightline models list --json` contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from models.backend import BackendKind


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    backend: BackendKind
    vision: bool
    size_bytes: int | None = None
    path: str | None = None
    mmproj: str | None = None
    context_length: int | None = None
    installed: bool = True
    default: bool = False

    @property
    def qualified_name(self) -> str:
        """``backend:name``, the form that resolves unambiguously."""
        return f"{self.backend}:{self.name}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
