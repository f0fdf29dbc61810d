"""Model downloads: resumable, verified, atomic, and clear when they fail."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.download import DownloadCancelled, Progress, download
from models.errors import ModelError
from tests.file_server import FileServer

BLOB = os.urandom(3 * 1024 * 1024 + 123)
SHA = hashlib.sha256(BLOB).hexdigest()


@pytest.fixture
def host() -> Iterator[FileServer]:
    server = FileServer({"model.gguf": BLOB}).start()
    yield server
    server.stop()


def test_a_download_lands_whole_under_its_name(host: FileServer, tmp_path: Path) -> None:
    seen: list[Progress] = []
    done = download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA, progress=seen.append)
    assert (tmp_path / "m.gguf").read_bytes() == BLOB
    assert not (tmp_path / "m.gguf.part").exists()
    assert done.verified
    assert done.sha256 == SHA
    assert seen[-1].done == seen[-1].total == len(BLOB)
    assert seen[-1].rate_bps > 0


def test_a_cut_connection_resumes_with_range(host: FileServer, tmp_path: Path) -> None:
    host.cut_after = 1_000_000
    dest = tmp_path / "m.gguf"
    with pytest.raises(ModelError, match="run the same command again to resume"):
        download(host.url("model.gguf"), dest, sha256=SHA)
    assert not dest.exists(), "never a half file under the real name"
    kept = (tmp_path / "m.gguf.part").stat().st_size
    assert 0 < kept <= 1_000_000
    download(host.url("model.gguf"), dest, sha256=SHA)
    assert dest.read_bytes() == BLOB
    assert host.ranges[-1] == f"bytes={kept}-", "only the rest was fetched"


def test_a_server_without_range_support_restarts_cleanly(host: FileServer, tmp_path: Path) -> None:
    (tmp_path / "m.gguf.part").write_bytes(BLOB[:500_000])
    host.honour_range = False
    download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA)
    assert (tmp_path / "m.gguf").read_bytes() == BLOB


def test_a_wrong_hash_deletes_the_file_and_says_so(host: FileServer, tmp_path: Path) -> None:
    with pytest.raises(
        ModelError,
        match=r"m\.gguf: the downloaded file does not match its expected sha256 .* deleted",
    ):
        download(host.url("model.gguf"), tmp_path / "m.gguf", sha256="0" * 64)
    assert not list(tmp_path.iterdir())


def test_404_is_clear(host: FileServer, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"not found on the server \(404\)"):
        download(host.url("missing.gguf"), tmp_path / "x.gguf")


def test_cancel_on_a_slow_server_keeps_the_partial_for_resume(
    host: FileServer, tmp_path: Path
) -> None:
    host.delay_per_chunk = 0.02
    cancel = threading.Event()

    def stop_after_some(p: Progress) -> None:
        if p.done > 300_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="keeps"):
        download(
            host.url("model.gguf"), tmp_path / "m.gguf", progress=stop_after_some, cancel=cancel
        )
    assert (tmp_path / "m.gguf.part").stat().st_size > 300_000
    host.delay_per_chunk = 0
    download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA)
    assert (tmp_path / "m.gguf").read_bytes() == BLOB


def test_not_enough_disk_is_refused_before_the_first_byte(host: FileServer, tmp_path: Path) -> None:
    with pytest.raises(
        ModelError, match=r"not enough disk space for m\.gguf: it needs 3\.1 MB more"
    ):
        download(
            host.url("model.gguf"),
            tmp_path / "m.gguf",
            expected_size=len(BLOB),
            free_space=lambda _p: 10_000_000,
        )
    assert host.ranges == []
    with pytest.raises(ModelError, match="not enough disk space"):
        download(host.url("model.gguf"), tmp_path / "m.gguf", free_space=lambda _p: 1_000)
    assert not (tmp_path / "m.gguf").exists()


def test_a_resume_answered_from_the_wrong_place_starts_over(
    host: FileServer, tmp_path: Path
) -> None:
    (tmp_path / "m.gguf.part").write_bytes(BLOB[:500_000])
    host.range_skew = 1000
    done = download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA)
    assert done.size == len(BLOB)
    assert (tmp_path / "m.gguf").read_bytes() == BLOB
    assert host.ranges == ["bytes=500000-", None], "the skewed answer was dropped, not spliced"


def test_a_complete_partial_is_finished_without_fetching_again(
    host: FileServer, tmp_path: Path
) -> None:
    (tmp_path / "m.gguf.part").write_bytes(BLOB)
    done = download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA)
    assert done.verified
    assert (tmp_path / "m.gguf").read_bytes() == BLOB


def test_a_partial_longer_than_the_file_starts_over(host: FileServer, tmp_path: Path) -> None:
    (tmp_path / "m.gguf.part").write_bytes(BLOB + b"stale tail")
    download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA)
    assert (tmp_path / "m.gguf").read_bytes() == BLOB
    assert host.ranges[-1] is None


def test_a_stalled_server_times_out_keeping_what_arrived(host: FileServer, tmp_path: Path) -> None:
    host.stall_after = 700_000
    with pytest.raises(ModelError, match=r"connection stalled after .*/model\.gguf — run the same"):
        download(host.url("model.gguf"), tmp_path / "m.gguf", timeout=0.5)
    assert (tmp_path / "m.gguf.part").stat().st_size == 700_000
    download(host.url("model.gguf"), tmp_path / "m.gguf", sha256=SHA)
    assert host.ranges[-1] == "bytes=700000-"


def test_no_server_is_a_one_line_error_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/model.gguf"
    with pytest.raises(ModelError, match=f"could not connect to {url}") as caught:
        download(url, tmp_path / "m.gguf")
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_an_untrusted_certificate_is_refused_naming_the_url(tmp_path: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = FileServer({"model.gguf": BLOB}, tls=tls).start()
    try:
        url = server.url("model.gguf")
        with pytest.raises(ModelError, match=f"secure \\(TLS\\) connection failed for {url}"):
            download(url, tmp_path / "dl" / "m.gguf")
    finally:
        server.stop()
    assert not (tmp_path / "dl" / "m.gguf.part").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
