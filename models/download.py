"""Downloading multi-gigabyte model files so that nothing is ever half-there.

Bytes go to ``NAME.part`` and the file takes its real name only once it is
complete and its hash checked, so a crash never leaves a broken model under
a good name. An interrupted download resumes with an HTTP Range request;
the hash of the bytes already on disk is computed again on resume rather
than trusted. Free space is checked before the first byte, with numbers.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from models.errors import ModelError, SightlineError
from models.machine import disk_free

CHUNK = 1 << 20
_SAFETY_MARGIN = 64 << 20


class DownloadCancelled(SightlineError):
    """Stopped by the user; the partial file stays for a later resume."""

    exit_code = 130


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int | None
    rate_bps: float

    @property
    def eta_s(self) -> float | None:
        if self.total is None or self.rate_bps <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate_bps)


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    sha256: str
    size: int
    verified: bool
    """True when the hash matched one the catalog listed before the download."""


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _check_space(dest: Path, needed: int, free_space: Callable[[Path], int]) -> None:
    free = free_space(dest.parent)
    if needed + _SAFETY_MARGIN > free:
        raise ModelError(
            f"not enough disk space for {dest.name}: it needs {_human(needed)} more and "
            f"{_human(free)} is free on the drive holding {dest.parent}"
        )


def _hash_existing(part: Path, digest: hashlib._Hash) -> int:
    size = 0
    with part.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            size += len(block)
    return size


class _RestartFromZero(Exception):
    """The server's answer to a resume does not fit the bytes we hold."""


def _body_span(response: httpx.Response, offset: int, url: str) -> tuple[int, int | None]:
    """Where the response body starts in the file, and the file's total size if known.

    A resume is trusted only when a 206's Content-Range starts exactly at our
    offset; a 416 only when it says the file is exactly as long as our part.
    """
    status = response.status_code
    if status == 404:
        raise ModelError(f"not found on the server (404): {url}")
    if status == 416 and offset:
        total = response.headers.get("content-range", "").rpartition("/")[2]
        if total.isdigit() and int(total) == offset:
            return offset, offset
        raise _RestartFromZero
    if status >= 400:
        raise ModelError(f"the server refused the download ({status}): {url}")
    length = response.headers.get("content-length")
    if status == 206:
        unit, _, spec = response.headers.get("content-range", "").partition(" ")
        span, _, total = spec.partition("/")
        first = span.partition("-")[0]
        if unit != "bytes" or not first.isdigit() or int(first) != offset:
            raise _RestartFromZero
        return offset, int(total) if total.isdigit() else None
    return 0, int(length) if length is not None and length.isdigit() else None


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _friendly(exc: httpx.HTTPError, url: str) -> ModelError:
    if isinstance(exc, httpx.TimeoutException):
        return ModelError(f"the download timed out ({url}) — check the connection and try again")
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper():
            return ModelError(f"a secure (TLS) connection failed for {url} ({_one_line(exc)})")
        return ModelError(f"could not connect to {url} — are you online?")
    return ModelError(f"the download failed ({type(exc).__name__}: {_one_line(exc)}) — {url}")


def download(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    free_space: Callable[[Path], int] = disk_free,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
) -> Downloaded:
    """Fetch ``url`` into ``dest``, resuming ``dest.part`` when a previous try left one."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    offset = _hash_existing(part, digest) if part.exists() else 0
    if expected_size is not None:
        _check_space(dest, max(0, expected_size - offset), free_space)
    own_client = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    total: int | None = None
    try:
        while True:
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            try:
                with http.stream("GET", url, headers=headers) as response:
                    start, total = _body_span(response, offset, url)
                    if start != offset:  # a plain 200: the server starts over, so do we
                        offset, digest = 0, hashlib.sha256()
                    if total is not None:
                        _check_space(dest, total - offset, free_space)
                    if total != offset or not part.exists():
                        offset = _stream_to(
                            response, part, url, offset, total, digest, progress, cancel
                        )
                break
            except _RestartFromZero:
                part.unlink(missing_ok=True)
                offset, digest = 0, hashlib.sha256()
    except httpx.HTTPError as exc:
        raise _friendly(exc, url) from exc
    finally:
        if own_client:
            http.close()
    if total is not None and offset != total:
        raise ModelError(
            f"the download of {dest.name} stopped at {_human(offset)} of {_human(total)} — "
            "run the same command again to resume"
        )
    actual = digest.hexdigest()
    if sha256 and actual != sha256.lower():
        part.unlink(missing_ok=True)
        raise ModelError(
            f"{dest.name}: the downloaded file does not match its expected sha256 "
            f"({actual[:12]}… instead of {sha256[:12]}…), so it was damaged on the way or the "
            f"publisher changed it; it was deleted — try again ({url})"
        )
    os.replace(part, dest)
    return Downloaded(dest, actual, offset, verified=bool(sha256))


def _stream_to(
    response: httpx.Response,
    part: Path,
    url: str,
    offset: int,
    total: int | None,
    digest: hashlib._Hash,
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
) -> int:
    started = time.monotonic()
    fresh = 0
    last_report = 0.0
    with part.open("ab" if offset else "wb", buffering=CHUNK) as out:
        try:
            # Unsized iteration hands on every network read, so a cut loses nothing received.
            for block in response.iter_bytes():
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(
                        f"download stopped; {part.name} keeps {_human(offset)} for a resume"
                    )
                out.write(block)
                digest.update(block)
                offset += len(block)
                fresh += len(block)
                now = time.monotonic()
                if now - last_report > 0.1 or offset == total:
                    last_report = now
                    out.flush()  # what a resume can keep if the process dies right now
                    if progress:
                        progress(Progress(offset, total, fresh / max(now - started, 1e-6)))
        except httpx.TransportError as exc:
            out.flush()
            stalled = "stalled" if isinstance(exc, httpx.TimeoutException) else "broke"
            raise ModelError(
                f"the connection {stalled} after {_human(offset)} of {url} — run the same "
                "command again to resume"
            ) from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise ModelError(f"the disk filled up while downloading {part.name}") from exc
            raise
    return offset
