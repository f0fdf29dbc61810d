"""Read a GGUF file's header and judge whether it can be loaded.

llama.cpp reports a bad file late and vaguely (a failed load, sometimes a
crash), so we read the header ourselves first and say exactly what is wrong,
naming the file. Only the header is read: a 5 GB model costs a few
kilobytes, so listing a library stays fast. Large arrays (the vocabulary) are
skipped, keeping only their length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from models import projectors
from models.errors import ModelError

GGUF_MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32
# GGUF metadata value types, as the format specification numbers them.
_STRING, _ARRAY = 8, 9
_SCALARS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_KEEP_ARRAY_MAX = 64
"""Longer arrays (the vocabulary) are skipped; short ones (image mean, grid pinpoints) are kept."""


class _Truncated(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ArrayInfo:
    """A long metadata array we skipped: only its length is known."""

    length: int


@dataclass(frozen=True, slots=True)
class GgufHeader:
    path: Path
    version: int
    metadata: dict[str, Any]
    tensor_count: int
    expected_size: int
    file_size: int
    tensors: dict[str, tuple[int, ...]] = field(repr=False)

    @property
    def arch(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def is_projector(self) -> bool:
        return self.arch == "clip"

    def _arch_int(self, key: str) -> int | None:
        value = self.metadata.get(f"{self.arch}.{key}")
        return int(value) if isinstance(value, int) else None

    @property
    def context_length(self) -> int | None:
        return self._arch_int("context_length")

    @property
    def embedding_length(self) -> int | None:
        return self._arch_int("embedding_length")

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return str(value) if value else None

    @property
    def has_vision_encoder(self) -> bool:
        return bool(self.metadata.get("clip.has_vision_encoder", False))

    @property
    def projection_dim(self) -> int | None:
        """The width of the embeddings the projector hands to the text model."""
        return projectors.output_width(self.metadata, self.tensors)

    @property
    def image_size(self) -> int | None:
        value = self.metadata.get("clip.vision.image_size")
        return int(value) if isinstance(value, int) else None

    @property
    def max_image_side(self) -> int:
        """The largest image side worth sending to this projector (see models.projectors)."""
        return projectors.max_image_side(self.metadata)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Truncated
    return data


def _read(f: BinaryIO, fmt: str) -> Any:
    return struct.unpack(fmt, _read_exact(f, struct.calcsize(fmt)))[0]


def _read_string(f: BinaryIO) -> str:
    length = _read(f, "<Q")
    if length > 1 << 26:
        raise ValueError(f"implausible string length {length}")
    return _read_exact(f, length).decode("utf-8", errors="replace")


def _skip_string(f: BinaryIO) -> None:
    length = _read(f, "<Q")
    f.seek(length, 1)


def _read_value(f: BinaryIO, vtype: int) -> Any:
    if vtype == _STRING:
        return _read_string(f)
    if vtype == _ARRAY:
        item_type = _read(f, "<I")
        count = _read(f, "<Q")
        if count <= _KEEP_ARRAY_MAX:
            return [_read_value(f, item_type) for _ in range(count)]
        if item_type == _STRING:
            for _ in range(count):
                _skip_string(f)
        elif item_type in _SCALARS:
            f.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
        else:
            for _ in range(count):
                _read_value(f, item_type)
        return ArrayInfo(count)
    fmt = _SCALARS.get(vtype)
    if fmt is None:
        raise ValueError(f"unknown metadata value type {vtype}")
    return _read(f, fmt)


# ggml tensor types -> (elements per block, bytes per block) for the common ones, so that
# listing models never loads the gguf package (and numpy); tests check it against gguf's table.
QUANT_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 40),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
}


def _tensor_bytes(shape: tuple[int, ...], ggml_type: int) -> int:
    sizes = QUANT_SIZES.get(ggml_type)
    if sizes is None:
        import gguf  # a rarer type: ask the package that knows them all

        sizes = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
    block, type_size = sizes
    elements = 1
    for dim in shape:
        elements *= dim
    return elements // block * type_size


def read_header(path: str | Path) -> GgufHeader:
    """Parse the header, or raise ``ModelError`` naming the file and the problem."""
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(4)
            if magic != GGUF_MAGIC:
                what = "it is empty" if not magic else "it does not start with the GGUF signature"
                raise ModelError.for_file(path, f"not a GGUF model file ({what})")
            version = _read(f, "<I")
            if version not in (2, 3):
                raise ModelError.for_file(path, f"unsupported GGUF version {version}")
            tensor_count = _read(f, "<Q")
            kv_count = _read(f, "<Q")
            metadata: dict[str, Any] = {}
            for _ in range(kv_count):
                key = _read_string(f)
                metadata[key] = _read_value(f, _read(f, "<I"))
            tensors: dict[str, tuple[int, ...]] = {}
            data_end = 0
            for _ in range(tensor_count):
                name = _read_string(f)
                n_dims = _read(f, "<I")
                ne = tuple(_read(f, "<Q") for _ in range(n_dims))
                ggml_type = _read(f, "<I")
                offset = _read(f, "<Q")
                tensors[name] = ne
                data_end = max(data_end, offset + _tensor_bytes(ne, ggml_type))
            alignment = int(metadata.get("general.alignment", _DEFAULT_ALIGNMENT))
            data_start = -(-f.tell() // alignment) * alignment
    except FileNotFoundError as exc:
        raise ModelError.for_file(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise ModelError.for_file(path, "is a folder, not a GGUF file") from exc
    except PermissionError as exc:
        raise ModelError.for_file(path, "permission denied") from exc
    except _Truncated as exc:
        raise ModelError.for_file(path, "the GGUF file is truncated (header cut short)") from exc
    except (ValueError, KeyError, struct.error, UnicodeDecodeError) as exc:
        raise ModelError.for_file(path, f"the GGUF header is corrupt ({exc})") from exc
    expected = data_start + data_end
    if file_size < expected:
        raise ModelError.for_file(
            path,
            f"the GGUF file is truncated ({file_size:,} of {expected:,} bytes) — download it again",
        )
    return GgufHeader(path, version, metadata, tensor_count, expected, file_size, tensors)


def read_text_model(path: str | Path) -> GgufHeader:
    header = read_header(path)
    if header.is_projector:
        raise ModelError.for_file(
            header.path, "this is a vision projector (mmproj), not a text model"
        )
    if header.embedding_length is None:
        raise ModelError.for_file(
            header.path, f"no embedding length for architecture {header.arch!r}"
        )
    return header


def read_projector(path: str | Path) -> GgufHeader:
    header = read_header(path)
    if not header.is_projector:
        raise ModelError.for_file(
            header.path,
            f"not a CLIP vision projector (architecture is {header.arch or 'missing'!r})",
        )
    if not header.has_vision_encoder:
        raise ModelError.for_file(header.path, "the projector has no vision encoder")
    return header


def validate_pair(text: str | Path, mmproj: str | Path) -> tuple[GgufHeader, GgufHeader]:
    """Check that a text model and a projector can work together."""
    text_header = read_text_model(text)
    proj_header = read_projector(mmproj)
    check_pair(text_header, proj_header)
    return text_header, proj_header


def check_pair(text_header: GgufHeader, proj_header: GgufHeader) -> None:
    """The same check on headers already read: a projector must feed the text model's width."""
    if not proj_header.is_projector or not proj_header.has_vision_encoder:
        raise ModelError.for_file(proj_header.path, "not a CLIP vision projector")
    proj_dim = proj_header.projection_dim
    if proj_dim is not None and proj_dim != text_header.embedding_length:
        raise ModelError.for_file(
            proj_header.path,
            f"projector output size {proj_dim} does not match the text model's "
            f"embedding size {text_header.embedding_length} ({text_header.path.name}) — "
            "use the mmproj made for this model",
        )
