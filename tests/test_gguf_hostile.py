"""Hostile GGUF headers: only ``ModelError`` ever leaves the reader, and it never over-allocates.

The files are real ones the suite writes (``tests/tinyvlm.py``), cut and
patched byte by byte, plus small hand-built headers for the cases a writer
refuses to produce.
"""

from __future__ import annotations

import shutil
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import gguf
import pytest

from models.errors import ModelError
from models.gguf_info import read_header, read_projector
from tests import corpus
from tests.cli_runner import sightline

U32, F32, STRING, ARRAY = 4, 6, 8, 9


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def build_gguf(kvs: list[tuple[str, int, bytes]], tensor_count: int = 0) -> bytes:
    """A GGUF v3 header from raw key/value records: (key, type, encoded value)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, tensor_count, len(kvs))
    for key, vtype, value in kvs:
        out += _string(key) + struct.pack("<I", vtype) + value
    return out


def _text_kvs(alignment: tuple[int, bytes] | None) -> list[tuple[str, int, bytes]]:
    kvs = [
        ("general.architecture", STRING, _string("llama")),
        ("llama.embedding_length", U32, struct.pack("<I", 64)),
    ]
    if alignment is not None:
        kvs.append(("general.alignment", *alignment))
    return kvs


BAD_ALIGNMENTS = {
    "zero": (U32, struct.pack("<I", 0)),
    "not a power of two": (U32, struct.pack("<I", 48)),
    "a float": (F32, struct.pack("<f", 32.0)),
    "an array": (ARRAY, struct.pack("<IQ", U32, 2) + struct.pack("<II", 32, 32)),
    "a string": (STRING, _string("32")),
}


@pytest.mark.parametrize("case", sorted(BAD_ALIGNMENTS))
def test_a_bad_alignment_is_a_model_error_naming_the_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad-align.gguf"
    path.write_bytes(build_gguf(_text_kvs(BAD_ALIGNMENTS[case])))
    with pytest.raises(ModelError, match=r"bad-align\.gguf: .*general\.alignment"):
        read_header(path)


def _only_model_errors(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    tracemalloc.start()
    message = str(path)
    try:
        read_header(path)
    except ModelError as exc:
        message = str(exc)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert message.startswith(str(path))
    assert peak < len(data) + 256_000, f"reading {len(data)} bytes allocated {peak}"


def _header_length(path: Path) -> int:
    reader = gguf.GGUFReader(path)
    return int(reader.data_offset)


def test_every_truncation_of_a_projector_header(vlm_a: Any, tmp_path: Path) -> None:
    data = Path(vlm_a.mmproj).read_bytes()
    for cut in range(_header_length(vlm_a.mmproj) + 16):
        _only_model_errors(tmp_path / "cut.gguf", data[:cut])


def test_truncations_of_a_text_model_header(vlm_a: Any, tmp_path: Path) -> None:
    data = Path(vlm_a.model).read_bytes()
    end = _header_length(vlm_a.model)
    for cut in [*range(0, 512), *range(512, end, 97), end - 1, end, end + 1]:
        _only_model_errors(tmp_path / "cut.gguf", data[:cut])


@pytest.mark.parametrize(
    "word", [0xFFFF_FFFF_FFFF_FFFF, 1 << 63, 1 << 40, 0xFFFF_FFFF, 1 << 31, 0, 13]
)
def test_absurd_numbers_anywhere_in_the_header(vlm_a: Any, tmp_path: Path, word: int) -> None:
    """Every count, length, type and dimension, overwritten in turn (at each 4-byte offset)."""
    data = Path(vlm_a.mmproj).read_bytes()
    patch = struct.pack("<Q", word)
    for offset in range(4, _header_length(vlm_a.mmproj) - 8, 4):
        mutated = data[:offset] + patch + data[offset + 8 :]
        _only_model_errors(tmp_path / "patched.gguf", mutated)


def test_every_key_with_every_wrong_type(vlm_a: Any, tmp_path: Path) -> None:
    data = Path(vlm_a.mmproj).read_bytes()
    reader = gguf.GGUFReader(vlm_a.mmproj)
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):
            continue
        type_at = field.offset + 8 + len(field.name.encode())
        for vtype in range(14):
            mutated = data[:type_at] + struct.pack("<I", vtype) + data[type_at + 4 :]
            _only_model_errors(tmp_path / "retyped.gguf", mutated)


def patch_u32(source: Path, dest: Path, key: str, value: int, vtype: int = U32) -> Path:
    """A copy of ``source`` with the 4-byte value of ``key`` replaced (and its type, if given)."""
    data = bytearray(source.read_bytes())
    at = data.index(_string(key)) + len(_string(key))
    fmt = "<f" if vtype == F32 else "<I"
    data[at : at + 8] = struct.pack("<I", vtype) + struct.pack(fmt, value)
    dest.write_bytes(bytes(data))
    return dest


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("clip.vision.attention.head_count", 0, "head_count is 0"),
        ("clip.vision.image_size", 0, "image_size is 0"),
        ("clip.vision.patch_size", 0, "patch_size is 0"),
        ("clip.vision.attention.head_count", 3, "not a multiple of"),
        ("clip.vision.embedding_length", 0, "embedding_length is 0"),
        ("clip.vision.block_count", 0, "block_count is 0"),
        ("clip.vision.feed_forward_length", 0, "feed_forward_length is 0"),
        ("clip.vision.image_size", 1 << 30, "image_size is 1073741824"),
    ],
)
def test_projector_hyperparameters_llama_cpp_asserts_on(
    vlm_a: Any, tmp_path: Path, key: str, value: int, reason: str
) -> None:
    bad = patch_u32(Path(vlm_a.mmproj), tmp_path / "mmproj-bad.gguf", key, value)
    expected = rf"mmproj-bad\.gguf: the projector is unusable: .*{reason}"
    with pytest.raises(ModelError, match=expected):
        read_projector(bad)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # SmolVLM2-2.2B's SigLIP: 384 px images in 14 px patches; llama.cpp crops the rest.
        ("clip.vision.patch_size", 13),
        # MiniCPM-V's converter writes 0; llama.cpp reads the width from the resampler.
        ("clip.vision.projection_dim", 0),
    ],
)
def test_values_real_projectors_carry_are_accepted(
    vlm_a: Any, tmp_path: Path, key: str, value: int
) -> None:
    read_projector(patch_u32(Path(vlm_a.mmproj), tmp_path / "mmproj-real.gguf", key, value))


def test_a_zero_layer_norm_epsilon_is_refused(vlm_a: Any, tmp_path: Path) -> None:
    bad = patch_u32(
        Path(vlm_a.mmproj),
        tmp_path / "mmproj-eps.gguf",
        "clip.vision.attention.layer_norm_epsilon",
        0,
        F32,
    )
    with pytest.raises(ModelError, match="layer_norm_epsilon"):
        read_projector(bad)


def test_one_bad_file_in_the_library_is_never_fatal(
    cli_env: dict[str, str], sightline_home: Path, vlm_a: Any
) -> None:
    models = sightline_home / "models"
    good = models / "good"
    good.mkdir(parents=True)
    shutil.copy(vlm_a.model, good)
    shutil.copy(vlm_a.mmproj, good)
    (models / "broken.gguf").write_bytes(build_gguf(_text_kvs(BAD_ALIGNMENTS["zero"])))
    (models / "floaty").mkdir()
    (models / "floaty" / "m.gguf").write_bytes(build_gguf(_text_kvs(BAD_ALIGNMENTS["a float"])))

    listed = sightline(cli_env, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert "good" in listed.stdout
    assert "broken.gguf" in listed.stderr
    assert "Traceback" not in listed.stderr

    picture = corpus.photo(sightline_home / "p.jpg")
    for args in (("--model", "good"), ()):
        if not args:
            assert sightline(cli_env, "models", "default", "good").returncode == 0
        run = sightline(cli_env, "describe", picture, "--max-tokens", "4", *args)
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
