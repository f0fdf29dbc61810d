"""Which coordinate convention a model was trained on, read from ``resources/grounding.toml``.

The family is recognised from the model itself where it can be (the vision
projector's type in its GGUF header), then from words in its name; a model
nobody knows gets the 0-1000 grid, the most common convention, and the
prompt says so explicitly, so the answer still comes back in known units.
"""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from models.errors import InputError, ModelError
from models.gguf_info import read_projector, read_text_model

System = Literal["pixels", "grid", "unit", "loc"]
Kind = Literal["detect", "point"]

LOC_BINS = 1024
"""PaliGemma's location tokens: <loc0000>..<loc1023>, each a 1/1024 bin."""


@dataclass(frozen=True, slots=True)
class Convention:
    family: str
    title: str
    system: System
    scale: float
    detect: str
    point: str
    source: str
    separator: str = ", "
    y_first: bool = False
    """Gemini writes [ymin, xmin, ymax, xmax]; everyone else x first."""
    projector_types: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def prompt(self, kind: Kind, objects: str) -> str:
        """The instruction this family was trained on, naming the objects to find."""
        wanted = [o.strip() for o in objects.split(",") if o.strip()]
        if not wanted:
            raise InputError('--objects needs at least one name, e.g. --objects "cat, red car"')
        template = self.detect if kind == "detect" else self.point
        return template.format(objects=self.separator.join(wanted))


def _scale(system: System, raw: dict[str, object]) -> float:
    if system == "grid":
        return float(raw.get("scale", 1000))  # type: ignore[arg-type]
    return {"pixels": 1.0, "unit": 1.0, "loc": float(LOC_BINS)}[system]


def _convention(family: str, raw: dict[str, object]) -> Convention:
    system: System = raw["system"]  # type: ignore[assignment]
    return Convention(
        family=family,
        title=str(raw.get("title", family)),
        system=system,
        scale=_scale(system, raw),
        detect=str(raw["detect"]),
        point=str(raw["point"]),
        source=str(raw["source"]),
        separator=str(raw.get("separator", ", ")),
        y_first=bool(raw.get("y_first", False)),
        projector_types=tuple(raw.get("projector_types", ())),  # type: ignore[arg-type]
        names=tuple(raw.get("names", ())),  # type: ignore[arg-type]
    )


@cache
def load_conventions() -> tuple[Convention, dict[str, Convention]]:
    """The default convention and the known families, in file order."""
    text = resources.files("resources").joinpath("grounding.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    families = {name: _convention(name, body) for name, body in raw["families"].items()}
    return _convention("unknown", raw["default"]), families


def _by_name(name: str) -> Convention | None:
    lowered = name.lower()
    for conv in load_conventions()[1].values():
        if any(word in lowered for word in conv.names):
            return conv
    return None


def convention_for(
    label: str, model_path: Path | None = None, mmproj: Path | None = None
) -> Convention:
    """The convention for a model: by projector type, then GGUF name, then the label."""
    default, families = load_conventions()
    if mmproj is not None:
        try:
            projector = read_projector(mmproj).metadata.get("clip.projector_type")
        except ModelError:
            projector = None  # the model load reports a bad file; here it only means "unknown"
        for conv in families.values():
            if projector in conv.projector_types:
                return conv
    names = [label]
    if model_path is not None:
        with contextlib.suppress(ModelError):
            names.insert(0, read_text_model(model_path).name or "")
        names.append(model_path.name)
    for name in names:
        found = _by_name(name)
        if found is not None:
            return found
    return default
