"""What a file really is, judged from its first bytes, never from its name.

A PNG saved as ``.jpg`` or a PDF named ``scan.png`` is common; trusting the
extension would give a confusing decoder error instead of just working.
"""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    JPEG = "JPEG"
    PNG = "PNG"
    GIF = "GIF"
    WEBP = "WebP"
    BMP = "BMP"
    TIFF = "TIFF"
    PDF = "PDF"
    HEIC = "HEIC"
    AVIF = "AVIF"
    SVG = "SVG"
    VIDEO = "video"
    UNKNOWN = "unknown"


UNSUPPORTED = {Kind.HEIC, Kind.AVIF, Kind.SVG}

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_EBML = b"\x1a\x45\xdf\xa3"  # Matroska and WebM
_OTHER_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"GGUF", "a GGUF model file"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio/video file"),
    (b"8BPS", "a Photoshop document"),
)


def sniff(head: bytes) -> Kind:
    """Classify from the first few kilobytes of a file."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Kind.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.WEBP
    if head[:2] == b"BM" and len(head) >= 26:
        return Kind.BMP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Kind.TIFF
    if b"%PDF-" in head[:1024]:
        return Kind.PDF
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return Kind.AVIF
        if brand in _HEIC_BRANDS:
            return Kind.HEIC
        return Kind.VIDEO  # MP4, MOV, M4V, 3GP: PyAV says if it has no picture
    if head.startswith(_EBML) or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return Kind.VIDEO
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (
        text.startswith((b"<?xml", b"<svg", b"<!--")) or text.startswith(b"<!doctype svg")
    ) and b"<svg" in text:
        return Kind.SVG
    return Kind.UNKNOWN


def looks_like(head: bytes) -> str:
    """A guess at what an unrecognised file is, for the error message."""
    for signature, what in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return what
    if head[4:8] == b"ftyp":
        return "a video or HEIF-family file"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unrecognised binary data"
    return "a text file"
