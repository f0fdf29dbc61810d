"""Boxes and points: asking a model where things are, and reading its answer back.

Each family of models was trained to write coordinates its own way (absolute
pixels, a 0-1000 grid, fractions, PaliGemma's ``<loc>`` tokens); those
conventions are data in ``resources/grounding.toml``. This package builds the
prompt a family expects, parses the shapes answers come in, maps the numbers
back to the original file's pixels and draws them. It is Qt-free so the CLI
and the window share it.
"""

from __future__ import annotations

from desktop.grounding.conventions import Convention, convention_for, load_conventions
from desktop.grounding.mapping import Box, Point, to_original
from desktop.grounding.parse import Found, parse_answer
from desktop.grounding.request import NO_BOX, GroundingRequest, Located

__all__ = [
    "NO_BOX",
    "Box",
    "Convention",
    "Found",
    "GroundingRequest",
    "Located",
    "Point",
    "convention_for",
    "load_conventions",
    "parse_answer",
    "to_original",
]
