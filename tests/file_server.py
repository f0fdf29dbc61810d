"""A loopback HTTP file server that behaves like a real download host, faults included.

Serves bytes with Range support; can cut a response after N bytes, stall,
trickle slowly, ignore Range (answering 200 with the whole file) or answer a
Range from the wrong place. Records the
Range header of every request so tests see what was actually fetched.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FileServer:
    files: dict[str, bytes]
    cut_after: int | None = None
    """Close the connection after sending this many body bytes (once)."""
    delay_per_chunk: float = 0.0
    honour_range: bool = True
    range_skew: int = 0
    """Answer a Range request from this many bytes later than asked (and say so)."""
    stall_after: int | None = None
    """Stop sending after this many body bytes and hold the connection open (once)."""
    tls: ssl.SSLContext | None = None
    """Serve HTTPS with this context (a self-signed certificate in tests)."""
    ranges: list[str | None] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def url(self, name: str) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}/{name}"

    def start(self) -> FileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # a real server does not add 40 ms per response

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                data = owner.files.get(name)
                header = self.headers.get("Range")
                owner.ranges.append(header)
                if data is None:
                    body = b"Not Found"
                    self.send_response(404)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                start = 0
                if header and owner.honour_range:
                    start = int(header.removeprefix("bytes=").split("-")[0]) + owner.range_skew
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("content-range", f"bytes */{len(data)}")
                        self.send_header("content-length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("content-range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                sent = 0
                step = 64 * 1024
                for i in range(0, len(body), step):
                    piece = body[i : i + step]
                    if owner.stall_after is not None and sent + len(piece) > owner.stall_after:
                        self.wfile.write(piece[: owner.stall_after - sent])
                        self.wfile.flush()
                        owner.stall_after = None
                        time.sleep(3)
                        self.close_connection = True
                        return
                    if owner.cut_after is not None and sent + len(piece) > owner.cut_after:
                        self.wfile.write(piece[: owner.cut_after - sent])
                        self.wfile.flush()
                        owner.cut_after = None
                        self.close_connection = True
                        return
                    try:
                        self.wfile.write(piece)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    sent += len(piece)
                    if owner.delay_per_chunk:
                        time.sleep(owner.delay_per_chunk)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
