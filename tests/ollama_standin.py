"""A small real HTTP server that speaks Ollama's documented REST API, on loopback.

Ollama itself cannot be installed here, so the official ``ollama`` SDK is
pointed at this instead: ``/api/tags``, ``/api/show`` (with
``capabilities``), streaming NDJSON ``/api/chat`` and ``/api/pull``, and
``{"error": ...}`` bodies. It records every request so tests can check what
was (and was not) sent, and can misbehave like a broken server: cut a stream
midway, stall (accept and say nothing, before or during an answer), or send
a body that is not JSON.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    """A client giving up on a stalled or garbled answer closes its end: no traceback for that."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class StandinModel:
    vision: bool
    context_length: int = 4096
    size: int = 4_000_000_000


BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
"""What Ollama says when its queue is full (OLLAMA_MAX_QUEUE), with status 503."""


@dataclass
class OllamaStandin:
    models: dict[str, StandinModel]
    answer: list[str] = field(default_factory=lambda: ["A ", "red ", "square ", "on ", "white."])
    cut_after: int | None = None
    """Close the connection after this many chunks, without finishing the response."""
    chunk_delay: float = 0.0
    stall_paths: set[str] = field(default_factory=set)
    """Accept requests to these paths and never answer (until ``stop``)."""
    stall_after: int | None = None
    """Send this many chunks of a stream, then fall silent without closing."""
    malformed_paths: set[str] = field(default_factory=set)
    """Answer these paths with 200 and a body (or first stream line) that is not JSON."""
    slots: int | None = None
    """Answer this many chats at once; beyond that, 503 "maximum pending requests exceeded"."""
    busy_refusals: int = 0
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)
    _answering: int = 0
    _slots_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OllamaStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # a real server does not add 40 ms per response

            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("content-length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _misbehaved(self) -> bool:
                """Stall or send garbage instead of answering, when told to."""
                if self.path in standin.stall_paths:
                    standin._released.wait()
                    self.close_connection = True
                    return True
                if self.path in standin.malformed_paths and self.path != "/api/chat":
                    payload = b"<html>502 Bad Gateway</html>"
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return True
                return False

            def _json(self, status: int, data: dict[str, Any]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, lines: list[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for i, line in enumerate(lines):
                    if standin.cut_after is not None and i >= standin.cut_after:
                        self.wfile.flush()
                        self.close_connection = True
                        return  # no terminating chunk: the client sees a broken stream
                    if standin.stall_after is not None and i >= standin.stall_after:
                        standin._released.wait()
                        self.close_connection = True
                        return
                    data = (json.dumps(line) + "\n").encode()
                    if i == 0 and self.path in standin.malformed_paths:
                        data = b"this is not JSON\n"
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                    time.sleep(standin.chunk_delay)
                self.wfile.write(b"0\r\n\r\n")

            def do_GET(self) -> None:
                standin.requests.append((self.path, {}))
                if self._misbehaved():
                    return
                if self.path == "/api/tags":
                    self._json(
                        200,
                        {
                            "models": [
                                {
                                    "name": n,
                                    "model": n,
                                    "modified_at": "2026-11-01T00:00:00Z",
                                    "size": m.size,
                                    "digest": "sha256:" + "0" * 64,
                                    "details": {"format": "gguf", "family": "llama"},
                                }
                                for n, m in standin.models.items()
                            ]
                        },
                    )
                elif self.path == "/":
                    self._json(200, {"status": "Ollama is running"})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = self._body()
                standin.requests.append((self.path, body))
                if self._misbehaved():
                    return
                name = body.get("model") or body.get("name") or ""
                if self.path == "/api/show":
                    model = standin.models.get(name)
                    if model is None:
                        self._json(404, {"error": f"model '{name}' not found"})
                        return
                    caps = ["completion"] + (["vision"] if model.vision else [])
                    self._json(
                        200,
                        {
                            "modelfile": "",
                            "parameters": "",
                            "template": "{{ .Prompt }}",
                            "details": {"format": "gguf", "family": "llama"},
                            "model_info": {
                                "general.architecture": "llama",
                                "llama.context_length": model.context_length,
                            },
                            "capabilities": caps,
                        },
                    )
                elif self.path == "/api/chat":
                    if name not in standin.models:
                        self._json(404, {"error": f"model '{name}' not found"})
                        return
                    lines: list[dict[str, Any]] = [
                        {
                            "model": name,
                            "created_at": "2026-11-23T00:00:00Z",
                            "message": {"role": "assistant", "content": piece},
                            "done": False,
                        }
                        for piece in standin.answer
                    ]
                    with standin._slots_lock:
                        full = standin.slots is not None and standin._answering >= standin.slots
                        if full:
                            standin.busy_refusals += 1
                        else:
                            standin._answering += 1
                    if full:
                        self._json(
                            503,
                            {"error": BUSY_MESSAGE},
                        )
                        return
                    lines.append(
                        {
                            "model": name,
                            "created_at": "2026-11-23T00:00:01Z",
                            "message": {"role": "assistant", "content": ""},
                            "done": True,
                            "done_reason": "stop",
                            "total_duration": 900_000_000,
                            "load_duration": 1_000_000,
                            "prompt_eval_count": 42,
                            "prompt_eval_duration": 200_000_000,
                            "eval_count": len(standin.answer),
                            "eval_duration": 500_000_000,
                        }
                    )
                    try:
                        self._stream(lines)
                    finally:
                        with standin._slots_lock:
                            standin._answering -= 1
                elif self.path == "/api/pull":
                    total = 3_000_000
                    steps = [{"status": "pulling manifest"}]
                    steps += [
                        {
                            "status": "pulling 0123abcd",
                            "digest": "sha256:0123abcd",
                            "total": total,
                            "completed": done,
                        }
                        for done in (0, total // 2, total)
                    ]
                    steps += [{"status": "verifying sha256 digest"}, {"status": "success"}]
                    self._stream(steps)
                else:
                    self._json(404, {"error": "not found"})

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/api/chat"]
