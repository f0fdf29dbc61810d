"""One "where is it?" request: which picture, which objects, and what to do with the answer.

The prompt depends on the model's family, which is only known once the model
is resolved, so a request carries what the user asked and becomes a prompt
later; ``locate`` turns the answer into boxes and points on the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop.grounding.annotate import annotate
from desktop.grounding.conventions import Convention, Kind
from desktop.grounding.mapping import Box, Point, to_original
from desktop.grounding.parse import parse_answer
from desktop.ingest.image import source_geometry
from models.conversation import ImagePart
from models.errors import InputError

NO_BOX = "the answer has no usable box or point, so none is shown"


@dataclass(frozen=True, slots=True)
class Located:
    boxes: list[Box]
    points: list[Point]


@dataclass(frozen=True, slots=True)
class GroundingRequest:
    """``kind`` is None for a free question whose answer may still hold boxes."""

    source: Path | bytes
    """The original picture: its file, or the bytes of a screen capture."""
    label: str
    kind: Kind | None = None
    objects: str | None = None
    annotate: Path | None = None

    def prompt(self, convention: Convention) -> str:
        if self.kind is None:
            raise ValueError("a free question has no grounding prompt")
        if not self.objects:
            raise InputError(f'--preset {self.kind} needs --objects, e.g. --objects "cat, red car"')
        return convention.prompt(self.kind, self.objects)

    def locate(self, answer: str, sent: list[ImagePart], convention: Convention) -> Located:
        """Boxes and points in the original's pixels; the annotated copy written if asked."""
        if len(sent) != 1:
            raise InputError.for_file(
                self.label, "boxes and points need exactly one picture (not a PDF or several)"
            )
        geo = source_geometry(self.source, self.label)
        boxes, points = to_original(
            parse_answer(answer), convention, (sent[0].width, sent[0].height), geo
        )
        if self.annotate is not None:
            annotate(self.source, geo, boxes, points, self.annotate)
        return Located(boxes, points)
