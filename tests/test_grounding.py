"""Boxes and points: every answer shape, every family convention, mapped back to file pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.grounding import convention_for, load_conventions, parse_answer, to_original
from desktop.grounding.annotate import annotate
from desktop.grounding.conventions import Convention
from desktop.grounding.parse import Found
from desktop.ingest import ingest_file
from desktop.ingest.image import SourceGeometry, source_geometry
from models.errors import InputError

RED = (255, 0, 0)


def family(name: str) -> Convention:
    default, families = load_conventions()
    return default if name == "unknown" else families[name]


# -- shapes ------------------------------------------------------------------


def test_qwen_json_list_in_a_code_fence() -> None:
    text = (
        "Here you go:\n```json\n"
        '[{"bbox_2d": [10, 20, 110, 220], "label": "cat"},\n'
        ' {"bbox_2d": [5, 6, 7, 8], "label": "red car"}]\n```'
    )
    assert parse_answer(text) == [
        Found("cat", (10, 20, 110, 220)),
        Found("red car", (5, 6, 7, 8)),
    ]


def test_json_outside_a_fence_box_key_and_single_object() -> None:
    assert parse_answer('The box is {"box": [1, 2, 3, 4], "label": "dog"}.') == [
        Found("dog", (1, 2, 3, 4))
    ]
    assert parse_answer('[{"bbox": [[1, 2, 3, 4]], "name": "mug"}]') == [Found("mug", (1, 2, 3, 4))]
    assert parse_answer(
        '{"objects": [{"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.4}]}'
    ) == [Found("", (0.1, 0.2, 0.3, 0.4))]


def test_points_in_json() -> None:
    text = '[{"point_2d": [100, 200], "label": "eye"}, {"point": [3, 4]}, {"x": 0.5, "y": 0.25}]'
    assert parse_answer(text) == [
        Found("eye", (100, 200)),
        Found("", (3, 4)),
        Found("", (0.5, 0.25)),
    ]


def test_box_tags_with_and_without_ref() -> None:
    text = "<ref>the cat</ref><box>(100,200),(300,400)</box> and <box>(1, 2), (3, 4)</box>"
    assert parse_answer(text) == [Found("the cat", (100, 200, 300, 400)), Found("", (1, 2, 3, 4))]
    assert parse_answer("<point>(12,34)</point>") == [Found("", (12, 34))]


def test_paligemma_loc_tokens() -> None:
    text = "<loc0256><loc0128><loc0768><loc0512> cat ; <loc0000><loc0000><loc1023><loc1023> red car"
    assert parse_answer(text) == [
        Found("cat", (256, 128, 768, 512), system="loc", y_first=True),
        Found("red car", (0, 0, 1023, 1023), system="loc", y_first=True),
    ]
    assert parse_answer("<loc0512><loc0256> eye") == [
        Found("eye", (512, 256), system="loc", y_first=True)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I cannot see any cat in this picture.",
        "[]",
        '[{"bbox_2d": [1, 2, 3], "label": "short"}]',
        '[{"bbox_2d": ["a", "b", "c", "d"]}]',
        "<box>(1,2)</box>",
        '```json\n[{"bbox_2d": [1, 2, 3, 4}\n```',
        '[{"bbox_2d": [true, 2, 3, 4]}]',
    ],
)
def test_no_usable_box_is_never_guessed(text: str) -> None:
    assert parse_answer(text) == []


# -- conventions ---------------------------------------------------------------


def test_every_family_has_prompts_and_a_source() -> None:
    default, families = load_conventions()
    assert default.system == "grid"
    assert default.scale == 1000
    assert {f.system for f in families.values()} == {"pixels", "grid", "unit", "loc"}
    for conv in (default, *families.values()):
        assert conv.source
        assert "cat" in conv.prompt("detect", "cat, red car")
        assert "red car" in conv.prompt("point", "cat, red car")
    assert families["paligemma"].prompt("detect", "cat, red car") == "detect cat ; red car"


def test_objects_must_name_something() -> None:
    with pytest.raises(InputError, match="--objects"):
        family("unknown").prompt("detect", " , ")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("ollama:qwen2.5vl:7b", "qwen2_5_vl"),
        ("openai-compat:Qwen2.5-VL-7B-Instruct", "qwen2_5_vl"),
        ("ollama:qwen3-vl:8b", "qwen3_vl"),
        ("ollama:moondream:latest", "moondream"),
        ("embedded:paligemma-3b-mix-448", "paligemma"),
        ("gemini:gemini-2.5-flash", "gemini"),
        ("ollama:llava:7b", "unknown"),
    ],
)
def test_family_from_the_model_name(label: str, expected: str) -> None:
    assert convention_for(label).family == expected


def test_family_from_the_projector_type_in_the_gguf(tmp_path: Path) -> None:
    from tests.tinyvlm import SPEC_A, write_vlm

    model, mmproj = write_vlm(SPEC_A, tmp_path)
    assert mmproj is not None
    assert convention_for("embedded:x", model, mmproj).family == "unknown"
    import gguf  # rewrite the projector's type as Qwen2.5-VL's converter writes it

    reader = gguf.GGUFReader(mmproj)
    writer = gguf.GGUFWriter(tmp_path / "qwen-mmproj.gguf", "clip")
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        if field.name == "clip.projector_type":
            continue
        value = field.contents()
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, vtype, sub_type=sub)
    writer.add_string("clip.projector_type", "qwen2.5vl_merger")
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, np.asarray(tensor.data), raw_shape=tensor.shape[::-1])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert convention_for("embedded:x", model, tmp_path / "qwen-mmproj.gguf").family == "qwen2_5_vl"


# -- mapping back to the file's pixels ----------------------------------------

RAW_SIZE = (400, 240)
RAW_RECT = (40, 30, 160, 90)  # x0, y0, x1, y1 on the stored grid (exclusive ends)


def _rotated_file(path: Path, orientation: int, fmt: str = "PNG") -> Path:
    img = Image.new("RGB", RAW_SIZE, (240, 240, 240))
    x0, y0, x1, y1 = RAW_RECT
    img.paste(RED, (x0, y0, x1, y1))
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.save(path, format=fmt, exif=exif, quality=95)
    return path


def _red_bbox(width: int, height: int, rgb: bytes) -> tuple[int, int, int, int]:
    arr = np.frombuffer(rgb, dtype=np.uint8).reshape(height, width, 3).astype(int)
    mask = (arr[:, :, 0] > 180) & (arr[:, :, 1] < 90)
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _as_written(conv: Convention, bbox: tuple[int, int, int, int], sent: tuple[int, int]) -> Found:
    """What a model of this family would write for a box at ``bbox`` of the sent image."""
    sw, sh = sent
    x0, y0, x1, y1 = bbox
    if conv.system == "pixels":
        nums = (x0, y0, x1, y1)
    elif conv.system == "unit":
        nums = (x0 / sw, y0 / sh, x1 / sw, y1 / sh)
    elif conv.system == "loc":
        nums = (y0 / sh * 1024, x0 / sw * 1024, y1 / sh * 1024, x1 / sw * 1024)
    else:
        s = conv.scale
        nums = (x0 / sw * s, y0 / sh * s, x1 / sw * s, y1 / sh * s)
        if conv.y_first:
            nums = (nums[1], nums[0], nums[3], nums[2])
    return Found("thing", tuple(float(n) for n in nums))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    "name", ["qwen2_5_vl", "qwen3_vl", "moondream", "paligemma", "gemini", "unknown"]
)
def test_a_box_maps_back_through_downscale_and_rotation(
    tmp_path: Path, orientation: int, name: str
) -> None:
    path = _rotated_file(tmp_path / "shot.png", orientation)
    (part,) = ingest_file(path, max_side=100)
    sent = (part.width, part.height)
    assert max(sent) == 100  # downscaled by 4
    geo = source_geometry(path, str(path))
    assert geo == SourceGeometry(*RAW_SIZE, orientation)
    conv = family(name)
    found = _as_written(conv, _red_bbox(part.width, part.height, part.rgb), sent)
    if conv.system == "loc":
        found = Found(found.label, found.numbers, system="loc", y_first=True)
    boxes, points = to_original([found], conv, sent, geo)
    assert points == []
    (box,) = boxes
    # One pixel of the sent image is four of the original; allow that plus resampling blur.
    for got, want in zip((box.x0, box.y0, box.x1, box.y1), RAW_RECT, strict=True):
        assert abs(got - want) <= 6, (orientation, name, box)


def test_a_rotated_jpeg_maps_back_too(tmp_path: Path) -> None:
    path = _rotated_file(tmp_path / "photo.jpg", 6, fmt="JPEG")
    (part,) = ingest_file(path, max_side=120)
    geo = source_geometry(path, str(path))
    conv = family("qwen3_vl")
    sent = (part.width, part.height)
    found = _as_written(conv, _red_bbox(part.width, part.height, part.rgb), sent)
    (box,), _ = to_original([found], conv, sent, geo)
    for got, want in zip((box.x0, box.y0, box.x1, box.y1), RAW_RECT, strict=True):
        assert abs(got - want) <= 6


def test_points_map_back_and_outside_ones_are_dropped() -> None:
    geo = SourceGeometry(400, 200, 8)  # upright 200 x 400, sent at 50 x 100
    conv = family("unknown")
    _, points = to_original([Found("a", (500, 250)), Found("b", (1200, 10))], conv, (50, 100), geo)
    # upright (100, 100) -> stored (400 - 100, 100)
    assert [(p.label, p.x, p.y) for p in points] == [("a", 300.0, 100.0)]


def test_a_box_outside_the_picture_is_dropped_and_one_across_the_edge_clipped() -> None:
    geo = SourceGeometry(100, 100)
    conv = family("qwen2_5_vl")
    boxes, _ = to_original(
        [Found("out", (120, 120, 150, 150)), Found("edge", (80, 90, 130, 95))],
        conv,
        (100, 100),
        geo,
    )
    assert [(b.label, b.x0, b.y0, b.x1, b.y1) for b in boxes] == [("edge", 80, 90, 100, 95)]


# -- annotate ------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [1, 6])
def test_annotate_draws_on_a_same_size_copy(tmp_path: Path, orientation: int) -> None:
    from desktop.grounding.mapping import Box, Point

    path = _rotated_file(tmp_path / "in.png", orientation)
    geo = source_geometry(path, str(path))
    out = tmp_path / "out.png"
    box = Box("red thing", 200, 120, 360, 220)
    annotate(path, geo, [box], [Point("dot", 300, 60)], out)
    with Image.open(out) as img:
        assert img.size == RAW_SIZE
        assert img.getexif().get(0x0112, 1) == orientation
        arr = np.asarray(img.convert("RGB")).astype(int)
    background = np.array([240, 240, 240])
    # The outline is drawn on the box's edges, the inside is untouched.
    assert (arr[170, 200] != background).any()
    assert (arr[170, 359] != background).any()
    assert (arr[219, 280] != background).any()
    assert (arr[170, 280] == background).all()
    assert (arr[60, 300] != background).any()  # the point
    # A label was drawn next to the box (white text on a coloured patch).
    assert (arr[100:140, 190:380] == 255).all(axis=2).any()


def test_annotate_names_the_output_file_it_cannot_write(tmp_path: Path) -> None:
    path = _rotated_file(tmp_path / "in.png", 1)
    with pytest.raises(InputError, match="missing"):
        annotate(path, source_geometry(path, "in.png"), [], [], tmp_path / "missing" / "o.png")
