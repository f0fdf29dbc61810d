"""Bad and awkward input files, made on the spot: nothing binary is checked in."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import zlib
from pathlib import Path

from PIL import Image, ImageDraw


def photo(path: Path, size: tuple[int, int] = (640, 480), quality: int = 90) -> Path:
    img = Image.new("RGB", size, (30, 90, 160))
    draw = ImageDraw.Draw(img)
    for i in range(0, size[0], 40):
        draw.line((i, 0, size[0] - i, size[1]), fill=(250, 200 - i % 200, 40), width=5)
    img.save(path, "JPEG", quality=quality)
    return path


def png_header_claiming(path: Path, width: int, height: int) -> Path:
    """A valid PNG signature and IHDR for an absurd size, with almost no data: a bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
    data += struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 64)
    chunk = b"IDAT" + idat
    data += struct.pack(">I", len(idat)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(data)
    return path


def truncated(source: Path, dest: Path, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest


def exif_rotated_jpeg(path: Path) -> Path:
    """Stored landscape 200x100 with orientation 6: shown portrait, with GPS and a camera model."""
    img = Image.new("RGB", (200, 100), (255, 0, 0))
    ImageDraw.Draw(img).rectangle((0, 0, 50, 100), fill=(0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    exif[0x0110] = "CanaryCam 9000"  # camera model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS IFD
    img.save(path, "JPEG", exif=exif, quality=95)
    return path


def animated_gif(path: Path, frames: int = 3) -> Path:
    images = [Image.new("RGB", (60, 40), (i * 80 % 256, 40, 200 - i * 50)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def cmyk_jpeg(path: Path) -> Path:
    Image.new("CMYK", (80, 60), (0, 255, 255, 0)).save(path, "JPEG")
    return path


def png16(path: Path) -> Path:
    Image.new("I;16", (80, 60), 40000).save(path, "PNG")
    return path


def transparent_palette_png(path: Path) -> Path:
    img = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((10, 10, 50, 50), fill=(0, 128, 0, 255))
    img.convert("P", palette=Image.Palette.ADAPTIVE).save(path, "PNG", transparency=0)
    return path


def svg(path: Path) -> Path:
    path.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    return path


def heic_like(path: Path) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    return path


def pdf(path: Path, pages: int = 3, size: tuple[int, int] = (612, 792)) -> Path:
    """A real multi-page PDF with text and shapes on each page."""
    images = []
    for n in range(pages):
        img = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(img)
        draw.rectangle((40, 40, size[0] - 40, 120), outline="black", width=3)
        draw.text((60, 70), f"Page {n + 1} of {pages}", fill="black")
        draw.ellipse((100, 200, 300, 400), fill=(200, 30 * (n % 8), 30))
        images.append(img)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return path


def encrypted_pdf(source: Path, dest: Path) -> Path:
    subprocess.run(
        ["qpdf", "--encrypt", "secret", "owner", "256", "--", str(source), str(dest)],
        check=True,
    )
    return dest


def png_bytes(color: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (50, 30), color).save(buf, "PNG")
    return buf.getvalue()


def odd_exif_jpeg(path: Path) -> Path:
    """A JPEG whose EXIF names a tag stored past its end: Pillow warns about it."""
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x010F, 2, 100, 1000)
    img = Image.new("RGB", (64, 48), (200, 10, 10))
    img.save(path, "JPEG", exif=b"Exif\x00\x00" + tiff + struct.pack("<I", 0))
    return path


def palette_bomb_png(path: Path, side: int = 13_000) -> Path:
    """A ~164 KB transparent palette PNG, side x side: at 13000 just under Pillow's bomb limit."""
    img = Image.new("P", (side, side), 1)
    img.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    img.save(path, "PNG", optimize=False, transparency=0)
    return path


def bad_inputs(folder: Path) -> list[Path]:
    """Every input the command line must refuse with one line naming it (exit 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    full_png = folder / "full.png"
    Image.effect_noise((120, 90), 50).convert("RGB").save(full_png)
    fifo = folder / "pipe.png"
    os.mkfifo(fifo)
    (folder / "empty.jpg").touch()
    (folder / "notes.png").write_text("just some text\n")
    (folder / "archive.jpg").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    (folder / "a-folder.png").mkdir()
    return [
        fifo,
        folder / "empty.jpg",
        folder / "notes.png",
        folder / "archive.jpg",
        folder / "a-folder.png",
        folder / "missing.png",
        Path(os.fsdecode(bytes(folder) + b"/missing-\xe9.png")),
        truncated(photo(folder / "full.jpg"), folder / "cut.jpg"),
        truncated(full_png, folder / "cut.png"),
        png_header_claiming(folder / "bomb.png", 100_000, 100_000),
        svg(folder / "logo.svg"),
        heic_like(folder / "IMG_0001.HEIC"),
        encrypted_pdf(pdf(folder / "open.pdf"), folder / "locked.pdf"),
    ]
