"""Files in, model-ready images out — and a clear one-line reason when a file can't be used."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from desktop.ingest import ingest_file, parse_pages, pdf_page_count, prepare_image_bytes
from models.errors import InputError
from tests import corpus


def one(path: Path, max_side: int = 336, notices: list[str] | None = None) -> Image.Image:
    parts = list(
        ingest_file(
            path, max_side=max_side, on_notice=(notices if notices is not None else []).append
        )
    )
    assert len(parts) == 1
    p = parts[0]
    return Image.frombytes("RGB", (p.width, p.height), p.rgb)


def fails(path: Path, match: str, **kwargs: object) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        list(ingest_file(path, max_side=336, **kwargs))  # type: ignore[arg-type]
    message = str(info.value)
    assert str(path) in message, "the error names the file"
    assert "\n" not in message, "one line"
    return info.value


def test_a_big_photo_is_downscaled_to_the_model_side(tmp_path: Path) -> None:
    img = one(corpus.photo(tmp_path / "big.jpg", (4000, 3000)), max_side=672)
    assert img.size == (672, 504)


def test_a_small_image_is_never_upscaled(tmp_path: Path) -> None:
    assert one(corpus.photo(tmp_path / "small.jpg", (100, 80))).size == (100, 80)


def test_the_same_pixels_give_the_same_identity(tmp_path: Path) -> None:
    a = corpus.photo(tmp_path / "a.jpg")
    b = tmp_path / "b.jpg"
    b.write_bytes(a.read_bytes())
    [pa] = ingest_file(a, max_side=336)
    [pb] = ingest_file(b, max_side=336)
    assert pa.digest == pb.digest
    assert pa.label != pb.label


def test_exif_orientation_is_applied_and_metadata_never_travels(tmp_path: Path) -> None:
    path = corpus.exif_rotated_jpeg(tmp_path / "rotated.jpg")
    [part] = ingest_file(path, max_side=1000)
    assert (part.width, part.height) == (100, 200), "shown upright, as a viewer would"
    img = Image.frombytes("RGB", (part.width, part.height), part.rgb)
    top = img.getpixel((50, 10))
    assert isinstance(top, tuple)
    assert top[2] > 200, "the blue stripe, stored on the left, is on top after rotation"
    assert b"CanaryCam" not in part.rgb
    assert not hasattr(part, "info")


def test_a_mislabelled_file_still_works(tmp_path: Path) -> None:
    path = tmp_path / "actually-png.jpg"
    path.write_bytes(corpus.png_bytes())
    assert one(path).size == (50, 30)


def test_a_pdf_named_png_is_read_as_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(corpus.pdf(tmp_path / "real.pdf", pages=2).read_bytes())
    assert len(list(ingest_file(path, max_side=200))) == 2


@pytest.mark.parametrize(
    ("maker", "expected"),
    [
        (corpus.cmyk_jpeg, (255, 0, 0)),
        (corpus.png16, (155, 155, 155)),
    ],
)
def test_unusual_colour_modes_become_rgb(
    tmp_path: Path, maker: object, expected: tuple[int, ...]
) -> None:
    path = maker(tmp_path / "odd")  # type: ignore[operator]
    pixel = one(path).getpixel((5, 5))
    assert isinstance(pixel, tuple)
    assert all(abs(a - b) <= 12 for a, b in zip(pixel, expected, strict=True))


def test_transparency_is_laid_on_white(tmp_path: Path) -> None:
    img = one(corpus.transparent_palette_png(tmp_path / "logo.png"))
    assert img.getpixel((1, 1)) == (255, 255, 255)
    centre = img.getpixel((30, 30))
    assert isinstance(centre, tuple)
    assert centre[1] > centre[0]


def test_an_animated_gif_uses_its_first_frame_and_says_so(tmp_path: Path) -> None:
    notices: list[str] = []
    img = one(corpus.animated_gif(tmp_path / "anim.gif"), notices=notices)
    assert img.size == (60, 40)
    assert len(notices) == 1
    assert "anim.gif" in notices[0]
    assert "first frame" in notices[0]


def test_huge_dimensions_are_downscaled(tmp_path: Path) -> None:
    path = tmp_path / "panorama.png"
    Image.new("RGB", (12000, 300), (0, 0, 0)).save(path)
    assert one(path, max_side=600).size == (600, 15)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    fails(path, "the file is empty")


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = corpus.truncated(corpus.photo(tmp_path / "full.jpg"), tmp_path / "cut.jpg")
    fails(path, "JPEG image is truncated or damaged")


def test_truncated_png(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    Image.effect_noise((300, 300), 50).convert("RGB").save(full)
    fails(corpus.truncated(full, tmp_path / "cut.png"), "PNG image is truncated or damaged")


def test_a_decompression_bomb_is_refused_without_allocating_it(tmp_path: Path) -> None:
    fails(
        corpus.png_header_claiming(tmp_path / "bomb.png", 100_000, 100_000),
        "too large to open safely",
    )


def test_svg_heic_and_unknown_files_say_what_to_do(tmp_path: Path) -> None:
    fails(corpus.svg(tmp_path / "logo.svg"), "SVG is not supported — convert it to PNG or JPEG")
    fails(corpus.heic_like(tmp_path / "IMG_0001.HEIC"), "HEIC")  # unsupported, or damaged
    notes = tmp_path / "notes.png"
    notes.write_text("just some text\n")
    fails(notes, "not an image or PDF .it looks like a text file.")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    fails(tmp_path / "nope.jpg", "no such file")
    fails(tmp_path, "is a folder")


def test_pdf_pages_stream_in_order_with_progress(tmp_path: Path) -> None:
    path = corpus.pdf(tmp_path / "report.pdf", pages=5)
    progress: list[tuple[int, int]] = []
    parts = list(
        ingest_file(
            path, max_side=300, pages="2-3,5", on_progress=lambda d, t: progress.append((d, t))
        )
    )
    assert [p.label for p in parts] == ["report.pdf p.2", "report.pdf p.3", "report.pdf p.5"]
    assert max(parts[0].width, parts[0].height) == 300
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_long_pdfs_are_capped_unless_asked(tmp_path: Path) -> None:
    path = corpus.pdf(tmp_path / "long.pdf", pages=6, size=(100, 140))
    notices: list[str] = []
    parts = list(ingest_file(path, max_side=100, max_pages=4, on_notice=notices.append))
    assert len(parts) == 4
    assert "has 6 pages" in notices[0]
    assert "--pages" in notices[0]
    assert len(list(ingest_file(path, max_side=100, max_pages=4, pages="1-6"))) == 6


def test_cancel_stops_between_pages(tmp_path: Path) -> None:
    path = corpus.pdf(tmp_path / "many.pdf", pages=8, size=(200, 260))
    cancel = threading.Event()
    seen = []
    for part in ingest_file(path, max_side=200, cancel=cancel):
        seen.append(part)
        cancel.set()
    assert len(seen) == 1


def test_encrypted_pdf_says_it_is_password_protected(tmp_path: Path) -> None:
    locked = corpus.encrypted_pdf(corpus.pdf(tmp_path / "open.pdf"), tmp_path / "locked.pdf")
    fails(locked, "password-protected")


def test_corrupt_and_empty_pdfs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + b"garbage " * 100)
    fails(bad, "damaged or incomplete")
    cut = corpus.truncated(corpus.pdf(tmp_path / "whole.pdf", pages=3), tmp_path / "cut.pdf", 0.3)
    fails(cut, "damaged or incomplete|could not be rendered")


def test_page_specs() -> None:
    assert parse_pages("1-3,7", 10) == [1, 2, 3, 7]
    assert parse_pages("8-", 10) == [8, 9, 10]
    assert parse_pages("2,2,1", 3) == [2, 1]
    for bad, why in [
        ("0", "start at 1"),
        ("5-3", "not valid"),
        ("x", "not valid"),
        ("12", "has 10 pages"),
    ]:
        with pytest.raises(InputError, match=why):
            parse_pages(bad, 10)


def test_pages_on_an_image_is_an_error(tmp_path: Path) -> None:
    fails(corpus.photo(tmp_path / "p.jpg"), "only applies to PDFs", pages="1")


def test_page_count(tmp_path: Path) -> None:
    assert pdf_page_count(corpus.pdf(tmp_path / "three.pdf", pages=3)) == 3


def test_pasted_bytes_become_an_image() -> None:
    part = prepare_image_bytes(corpus.png_bytes(), "clipboard.png", 336)
    assert (part.width, part.height) == (50, 30)
    with pytest.raises(InputError, match="clipboard: the file is empty"):
        prepare_image_bytes(b"", "clipboard", 336)
