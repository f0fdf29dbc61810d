"""Page selections such as ``1-3,7``: 1-based, as a person counts pages."""

from __future__ import annotations

from models.errors import InputError


def parse_pages(spec: str, page_count: int) -> list[int]:
    """Pages in the order given, without repeats; ``3-`` means 3 to the end."""
    pages: list[int] = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        try:
            if "-" in part:
                first_s, last_s = (p.strip() for p in part.split("-", 1))
                first = int(first_s) if first_s else 1
                last = int(last_s) if last_s else page_count
            else:
                first = last = int(part)
        except ValueError:
            raise InputError(
                f"page selection {spec!r} is not valid — use numbers and ranges like 1-3,7"
            ) from None
        if first < 1 or last < first:
            raise InputError(f"page range {part!r} is not valid — pages start at 1")
        if last > page_count:
            raise InputError(
                f"page {last} does not exist — the document has {page_count} "
                f"page{'s' if page_count != 1 else ''}"
            )
        for page in range(first, last + 1):
            if page not in pages:
                pages.append(page)
    if not pages:
        raise InputError(f"page selection {spec!r} selects no pages")
    return pages
