"""Writing a description into the picture itself, where photo managers look for it.

exiv2 (through pyexiv2, whose wheels carry it) edits the metadata segments
and copies the compressed image data untouched, so pixels stay byte-identical
and every other tag (camera, GPS, ratings, keywords) is kept. It writes
JPEG, PNG, TIFF and WebP; other formats are refused with a pointer to
``--sidecar``. The text goes to XMP ``dc:description`` (and
``Iptc4xmpCore:AltTextAccessibility`` for alt text) and, in JPEG and TIFF, to
EXIF ``ImageDescription``. The new file replaces the old one atomically.
"""

from __future__ import annotations

from pathlib import Path

from desktop.batch.sidecars import write_atomic
from desktop.ingest import sniff_file
from desktop.ingest.sniff import Kind
from models.errors import InputError

WRITABLE = frozenset({Kind.JPEG, Kind.PNG, Kind.TIFF, Kind.WEBP})
_WITH_EXIF = frozenset({Kind.JPEG, Kind.TIFF})
_DEFAULT_LANG = 'lang="x-default"'


def write_description(path: Path, text: str, *, alt_text: bool) -> None:
    import pyexiv2  # a native library: loaded only when metadata is written

    kind = sniff_file(path)
    if kind not in WRITABLE:
        raise InputError.for_file(
            path,
            f"a description cannot be written into a {kind.value} file "
            "(JPEG, PNG, TIFF and WebP can hold one) — use --sidecar",
        )
    xmp = {"Xmp.dc.description": {_DEFAULT_LANG: text}}
    if alt_text:
        xmp["Xmp.iptc.AltTextAccessibility"] = {_DEFAULT_LANG: text}
    try:
        with pyexiv2.ImageData(path.read_bytes()) as image:
            image.modify_xmp(xmp)
            if kind in _WITH_EXIF:
                image.modify_exif({"Exif.Image.ImageDescription": text})
            data = image.get_bytes()
    except (RuntimeError, OSError) as exc:
        raise InputError.for_file(path, f"its metadata could not be written ({exc})") from exc
    write_atomic(path, data)
