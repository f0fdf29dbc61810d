"""What a backend is asked: messages made of text and image parts.

Images arrive already prepared by ingestion (oriented, metadata-free RGB,
downscaled to the model's side) and are identified by the hash of their
pixels, so a backend can recognise an image it has seen before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image ready for a model: 8-bit RGB pixels, row-major, no metadata.

    ``digest`` is the sha256 of the pixels and their size; ``label`` is what
    the user called it (a file name and page), for messages only.
    """

    digest: str
    width: int
    height: int
    rgb: bytes
    label: str = ""

    @classmethod
    def from_rgb(cls, width: int, height: int, rgb: bytes, label: str = "") -> ImagePart:
        """The one place an image's identity is computed: the same pixels, the same digest."""
        if len(rgb) != width * height * 3:
            raise ValueError(f"expected {width * height * 3} RGB bytes, got {len(rgb)}")
        import hashlib  # here: loading OpenSSL is no part of a start that has no image yet

        digest = hashlib.sha256(f"{width}x{height}:".encode() + rgb).hexdigest()
        return cls(digest, width, height, rgb, label)


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


Part = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @classmethod
    def text(cls, role: Role, text: str) -> Message:
        return cls(role, (TextPart(text),))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ImagePart))

    @property
    def joined_text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))
