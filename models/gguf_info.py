"""Read a GGUF file's header and judge whether it can be loaded.

llama.cpp reports a bad file late and vaguely (a failed load, sometimes a
crash), so we read the header ourselves first and say exactly what is wrong,
naming the file. Only the header is read: a 5 GB model costs a few
kilobytes, so listing a library stays fast. Large arrays (the vocabulary) are
skipped, keeping only their length.
"""

from __future__ import annotations

import math
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from models import projectors
from models.errors import ModelError

GGUF_MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32
# GGUF metadata value types, as the format specification numbers them.
_UINT32, _STRING, _ARRAY = 4, 8, 9
_MAX_STRING = 1 << 26
_MAX_NAME = 256  # keys and tensor names (llama.cpp caps tensor names at 64 bytes)
_MAX_HPARAM = 1 << 20  # far above any real model, far below a 32-bit overflow
_MAX_DIMS = 4  # GGML_MAX_DIMS
_MIN_KV = 8 + 4 + 1  # key length, value type, the smallest value
_MIN_TENSOR_INFO = 8 + 4 + 4 + 8  # name length, dimension count, type, offset
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


class _Reader:
    """Reads a header without trusting a single count or length in it.

    Every length is checked against the bytes left in the file before it is
    read or skipped, so a hostile header can neither allocate more than the
    file holds nor make the loop run longer than the file allows.
    """

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f = f
        self.size = size

    @property
    def left(self) -> int:
        return self.size - self.f.tell()

    def exact(self, n: int) -> bytes:
        if n > self.left:
            raise _Truncated
        data = self.f.read(n)
        if len(data) != n:
            raise _Truncated
        return data

    def skip(self, n: int) -> None:
        if n > self.left:
            raise _Truncated
        self.f.seek(n, 1)

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.exact(struct.calcsize(fmt)))[0]

    def count(self, what: str, min_item_bytes: int) -> int:
        """A count of items that each take at least ``min_item_bytes``: it must fit in the file."""
        n: int = self.scalar("<Q")
        if n * min_item_bytes > self.left:
            raise ValueError(f"{what} count {n:,} is more than the file can hold")
        return n

    def string(self, limit: int = _MAX_STRING) -> str:
        length: int = self.scalar("<Q")
        if length > limit:
            raise ValueError(f"implausible string length {length:,}")
        return self.exact(length).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.skip(self.scalar("<Q"))

    def value(self, vtype: int) -> Any:
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            item_type: int = self.scalar("<I")
            if item_type == _ARRAY:
                raise ValueError("nested arrays are not allowed in GGUF metadata")
            if item_type != _STRING and item_type not in _SCALARS:
                raise ValueError(f"unknown metadata value type {item_type}")
            item_bytes = 8 if item_type == _STRING else struct.calcsize(_SCALARS[item_type])
            count = self.count("array", item_bytes)
            if count <= _KEEP_ARRAY_MAX:
                return [self.value(item_type) for _ in range(count)]
            if item_type == _STRING:
                for _ in range(count):
                    self.skip_string()
            else:
                self.skip(count * item_bytes)
            return ArrayInfo(count)
        fmt = _SCALARS.get(vtype)
        if fmt is None:
            raise ValueError(f"unknown metadata value type {vtype}")
        return self.scalar(fmt)


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


def _quant_size(ggml_type: int) -> tuple[int, int]:
    sizes = QUANT_SIZES.get(ggml_type)
    if sizes is None:
        import gguf  # a rarer type: ask the package that knows them all

        try:
            sizes = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
        except (ValueError, KeyError):
            raise ValueError(f"unknown tensor type {ggml_type}") from None
    return sizes


def _block_size(ggml_type: int) -> int:
    return _quant_size(ggml_type)[0]


def _tensor_bytes(shape: tuple[int, ...], ggml_type: int) -> int:
    block, type_size = _quant_size(ggml_type)
    elements = 1
    for dim in shape:
        elements *= dim
    return elements // block * type_size


def _tensor_infos(r: _Reader, count: int, alignment: int) -> tuple[dict[str, tuple[int, ...]], int]:
    tensors: dict[str, tuple[int, ...]] = {}
    data_end = 0
    for _ in range(count):
        name = r.string(_MAX_NAME)
        n_dims: int = r.scalar("<I")
        if n_dims > _MAX_DIMS:
            raise ValueError(f"tensor {name!r} has {n_dims} dimensions (at most {_MAX_DIMS})")
        ne = tuple(int(r.scalar("<q")) for _ in range(n_dims))
        if any(d < 0 for d in ne):
            raise ValueError(f"tensor {name!r} has a negative dimension")
        ggml_type: int = r.scalar("<I")
        offset: int = r.scalar("<Q")
        if name in tensors:
            raise ValueError(f"tensor {name!r} appears twice")
        block = _block_size(ggml_type)
        if ne and ne[0] % block:
            raise ValueError(f"tensor {name!r} rows are not a multiple of its block size")
        if offset % alignment:
            raise ValueError(f"tensor {name!r} is not aligned to {alignment} bytes")
        tensors[name] = ne
        data_end = max(data_end, offset + _tensor_bytes(ne, ggml_type))
    return tensors, data_end


def _alignment(metadata: dict[str, Any], types: dict[str, int]) -> int:
    if "general.alignment" not in metadata:
        return _DEFAULT_ALIGNMENT
    value = metadata["general.alignment"]
    if types["general.alignment"] != _UINT32:
        raise ValueError("general.alignment is not an unsigned 32-bit number")
    if value == 0 or value & (value - 1):
        raise ValueError(f"general.alignment {value} is not a power of two")
    return int(value)


def _check_types(metadata: dict[str, Any]) -> None:
    """The keys this app reads must have the type it reads them as; the rest are llama.cpp's."""
    arch = metadata.get("general.architecture", "")
    if not isinstance(arch, str):
        raise ValueError("general.architecture is not a string")
    expected: dict[str, tuple[type, ...]] = {
        "general.name": (str,),
        "clip.projector_type": (str,),
        "clip.has_vision_encoder": (bool,),
        f"{arch}.context_length": (int,),
        f"{arch}.embedding_length": (int,),
    }
    for key, kinds in expected.items():
        if key not in metadata:
            continue
        value = metadata[key]
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            raise ValueError(f"{key} has the wrong type ({type(value).__name__})")
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            raise ValueError(f"{key} is {value}; it must be positive")


def read_header(path: str | Path) -> GgufHeader:
    """Parse the header, or raise ``ModelError`` naming the file and the problem.

    Only ``ModelError`` ever leaves: a hostile header is a bad file, not a bug.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ModelError.for_file(path, f"is {what}, not a GGUF file")
        file_size = info.st_size
        with path.open("rb") as f:
            r = _Reader(f, file_size)
            magic = f.read(4)
            if magic != GGUF_MAGIC:
                what = "it is empty" if not magic else "it does not start with the GGUF signature"
                raise ModelError.for_file(path, f"not a GGUF model file ({what})")
            version = r.scalar("<I")
            if version not in (2, 3):
                raise ModelError.for_file(path, f"unsupported GGUF version {version}")
            tensor_count = r.count("tensor", _MIN_TENSOR_INFO)
            kv_count = r.count("metadata", _MIN_KV)
            metadata: dict[str, Any] = {}
            types: dict[str, int] = {}
            for _ in range(kv_count):
                key = r.string(_MAX_NAME)
                if not key or key in metadata:
                    raise ValueError(f"metadata key {key!r} is empty or repeated")
                types[key] = r.scalar("<I")
                metadata[key] = r.value(types[key])
            _check_types(metadata)
            alignment = _alignment(metadata, types)
            tensors, data_end = _tensor_infos(r, tensor_count, alignment)
            data_start = -(-f.tell() // alignment) * alignment
    except FileNotFoundError as exc:
        raise ModelError.for_file(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise ModelError.for_file(path, "is a folder, not a GGUF file") from exc
    except PermissionError as exc:
        raise ModelError.for_file(path, "permission denied") from exc
    except _Truncated as exc:
        raise ModelError.for_file(path, "the GGUF file is truncated (header cut short)") from exc
    except (ValueError, KeyError, struct.error, UnicodeDecodeError, OverflowError) as exc:
        raise ModelError.for_file(path, f"the GGUF header is corrupt ({exc})") from exc
    except OSError as exc:
        raise ModelError.for_file(path, f"cannot be read ({exc.strerror or exc})") from exc
    expected = data_start + data_end
    if file_size < expected:
        raise ModelError.for_file(
            path,
            f"the GGUF file is truncated ({file_size:,} of {expected:,} bytes) — download it again",
        )
    return GgufHeader(path, version, metadata, tensor_count, expected, file_size, tensors)


def read_text_model(path: str | Path) -> GgufHeader:
    """A text model's header, checked, and the file proven loadable (``models.probe``)."""
    from models.probe import probe  # a child process: not loaded where headers are only listed

    header = _text_header(path)
    probe(header.path)
    return header


def _text_header(path: str | Path) -> GgufHeader:
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
    try:
        _check_vision_hparams(header.metadata)
    except ValueError as exc:
        raise ModelError.for_file(header.path, f"the projector is unusable: {exc}") from exc
    return header


def _optional(metadata: dict[str, Any], key: str) -> int | None:
    return None if key not in metadata else _positive(metadata, key)


def _positive(metadata: dict[str, Any], key: str) -> int:
    value = metadata.get(key)
    if value is None:
        raise ValueError(f"{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not a whole number")
    if value <= 0 or value > _MAX_HPARAM:
        raise ValueError(f"{key} is {value}; it must be between 1 and {_MAX_HPARAM:,}")
    return value


def _floats(metadata: dict[str, Any], key: str) -> None:
    value = metadata.get(key)
    if not isinstance(value, list) or len(value) < 3:
        raise ValueError(f"{key} must list at least 3 numbers")
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in value):
        raise ValueError(f"{key} holds something that is not a finite number")


def _check_vision_hparams(metadata: dict[str, Any]) -> None:
    """The hyperparameters llama.cpp's CLIP loader divides by or asserts on.

    A zero head count or patch size makes llama.cpp abort the whole process
    (GGML_ASSERT) or fail with a bare error code, so they are refused here
    first, with the key's name.
    """
    n_embd = _positive(metadata, "clip.vision.embedding_length")
    n_head = _positive(metadata, "clip.vision.attention.head_count")
    n_head_kv = _optional(metadata, "clip.vision.attention.head_count_kv")
    head_dim = _optional(metadata, "clip.vision.attention.head_dim")
    _positive(metadata, "clip.vision.feed_forward_length")
    n_layer = _positive(metadata, "clip.vision.block_count")
    _positive(metadata, "clip.vision.image_size")
    _positive(metadata, "clip.vision.patch_size")
    if head_dim is None and n_embd % n_head:
        raise ValueError(
            f"clip.vision.embedding_length {n_embd} is not a multiple of "
            f"clip.vision.attention.head_count {n_head}"
        )
    if n_head_kv is not None and n_head % n_head_kv:
        raise ValueError(
            f"clip.vision.attention.head_count {n_head} is not a multiple of "
            f"clip.vision.attention.head_count_kv {n_head_kv}"
        )
    eps = metadata.get("clip.vision.attention.layer_norm_epsilon")
    if not isinstance(eps, float) or not (math.isfinite(eps) and eps > 0):
        raise ValueError("clip.vision.attention.layer_norm_epsilon must be a positive number")
    _floats(metadata, "clip.vision.image_mean")
    _floats(metadata, "clip.vision.image_std")
    pinpoints = metadata.get("clip.vision.image_grid_pinpoints")
    if pinpoints is not None and (
        not isinstance(pinpoints, list)
        or len(pinpoints) % 2
        or not all(isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in pinpoints)
    ):
        raise ValueError("clip.vision.image_grid_pinpoints must be pairs of positive sizes")
    layers = metadata.get("clip.vision.feature_layer")
    if layers is not None and (
        not isinstance(layers, list)
        or not all(isinstance(v, int) and not isinstance(v, bool) and v <= n_layer for v in layers)
    ):
        raise ValueError(f"clip.vision.feature_layer must list layers up to {n_layer}")


def validate_pair(text: str | Path, mmproj: str | Path) -> tuple[GgufHeader, GgufHeader]:
    """Check that a text model and a projector can work together, and load without crashing."""
    from models.probe import probe

    text_header = _text_header(text)
    proj_header = read_projector(mmproj)
    check_pair(text_header, proj_header)
    probe(text_header.path, proj_header.path)
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
