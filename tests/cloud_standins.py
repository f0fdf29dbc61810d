"""Loopback servers that speak the OpenAI, Anthropic and Gemini wire formats.

The official SDKs are pointed at these instead of the real services. Each
checks its key header the way the service does, enforces the service's
documented size limits (so a test proves we never trip them), streams its
documented SSE events with usage, answers with the service's error bodies,
and can be scripted to fail: 429 with Retry-After, 529 overloaded, 5xx, or a
stream cut mid-answer. Every request body is recorded, so tests can look at
exactly what left the app.

Formats, from each provider's API reference:
- OpenAI ``POST /v1/chat/completions``: ``data: {chat.completion.chunk}`` lines,
  a last chunk with empty ``choices`` and ``usage`` (``stream_options.include_usage``),
  then ``data: [DONE]``; errors ``{"error": {"message", "type", "param", "code"}}``.
- Anthropic ``POST /v1/messages``: named events ``message_start`` (usage.input_tokens),
  ``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta``),
  ``content_block_stop``, ``message_delta`` (usage.output_tokens), ``message_stop``;
  errors ``{"type": "error", "error": {"type", "message"}}``; 529 ``overloaded_error``.
- Gemini ``POST /v1beta/models/M:streamGenerateContent?alt=sse``: ``data:``
  GenerateContentResponse chunks with ``usageMetadata``; errors are google.rpc
  ``{"error": {"code", "message", "status", "details"}}``; a bad key is 400
  ``API_KEY_INVALID``; a rate limit carries ``RetryInfo.retryDelay``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from PIL import Image

ANSWER = ["The ", "picture ", "shows ", "a ", "red ", "square."]
MB = 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-stream (Stop) is normal, not a server error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Fault:
    """One scripted failure, used by the next request."""

    status: int
    retry_after: str | None = None


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    size: int


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    events: list[tuple[str | None, dict[str, Any] | str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


class Refusal(Exception):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def _b64decode(text: str) -> bytes:
    """Google's JSON takes bytes in either base64 alphabet (the SDK sends URL-safe)."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def decoded_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@dataclass
class Standin:
    """What the three stand-ins share: a threaded server, faults, recording."""

    key: str = "sk-standin-valid-key"
    answer: list[str] = field(default_factory=lambda: list(ANSWER))
    prompt_tokens: int = 1234
    faults: list[Fault] = field(default_factory=list)
    cut_after: int | None = None
    """End the stream abruptly after this many text pieces (no final events)."""
    unfinished: bool = False
    """End the stream cleanly but without the model's end (no finish or stop reason)."""
    received: list[Received] = field(default_factory=list)
    slots: int | None = None
    """Answers at once, as a GPU server's parallel slots; more are refused with 503."""
    piece_delay: float = 0.0
    """Seconds between two pieces of an answer, as a model generating them."""
    busy_refusals: int = 0
    server: ThreadingHTTPServer | None = None
    prefix: ClassVar[str] = ""
    _answering: int = 0
    _slots_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host_port(self) -> tuple[str, int]:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.host_port
        return f"http://{host}:{port}{self.prefix}"

    # -- per provider ---------------------------------------------------------

    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        raise NotImplementedError

    def check(self, body: dict[str, Any], size: int) -> None:
        """Refuse what the real service refuses (``Refusal``)."""

    def stream(self, body: dict[str, Any]) -> Reply:
        raise NotImplementedError

    def images(self, body: dict[str, Any]) -> list[tuple[str, bytes]]:
        """(mime, bytes) of every image in a recorded request."""
        raise NotImplementedError

    def models(self) -> dict[str, Any] | None:
        """What ``GET {prefix}/models`` answers; ``None``: 404."""
        return None

    # -- slots ----------------------------------------------------------------

    def _enter(self) -> bool:
        with self._slots_lock:
            if self.slots is not None and self._answering >= self.slots:
                self.busy_refusals += 1
                return False
            self._answering += 1
            return True

    def _leave(self) -> None:
        with self._slots_lock:
            self._answering -= 1

    # -- shared ---------------------------------------------------------------

    def _reply(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = json.loads(raw or b"{}")
        self.received.append(Received(path, headers, body, len(raw)))
        if not self.authorized(headers):
            return self.error(401, "invalid api key")
        if self.faults:
            fault = self.faults.pop(0)
            extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
            return self.error(fault.status, f"scripted failure {fault.status}", extra)
        try:
            self.check(body, len(raw))
        except Refusal as refusal:
            return refusal.reply
        return self.stream(body)

    def start(self) -> Standin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                listed = standin.models() if self.path == f"{standin.prefix}/models" else None
                self._send(Reply(200, listed) if listed else standin.error(404, "not found"))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if not standin._enter():
                    self._send(standin.error(503, "all slots are busy"))
                    return
                try:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    self._send(standin._reply(self.path, headers, raw))
                finally:
                    standin._leave()

            def _send(self, reply: Reply) -> None:
                if reply.body is not None:
                    payload = json.dumps(reply.body).encode()
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(reply.status)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for n, (name, data) in enumerate(reply.events):
                    if n and standin.piece_delay:
                        time.sleep(standin.piece_delay)
                    if name == "cut":
                        self.wfile.flush()
                        self.close_connection = True
                        return  # no terminating chunk: the client sees a broken stream
                    text = data if isinstance(data, str) else json.dumps(data)
                    frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
                    encoded = frame.encode()
                    self.wfile.write(f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def pieces(self) -> list[str | None]:
        """The answer's pieces, with ``None`` where a scripted cut happens."""
        out: list[str | None] = list(self.answer)
        if self.cut_after is not None:
            out = [*out[: self.cut_after], None]
        return out


@dataclass
class OpenAIStandin(Standin):
    prefix: ClassVar[str] = "/v1"

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.key}"

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        kinds = {
            401: ("invalid_request_error", "invalid_api_key"),
            429: ("requests", "rate_limit_exceeded"),
        }
        kind, code = kinds.get(status, ("server_error", None))
        if status == 401:
            # Like the real service: the key is quoted back, masked.
            message = "Incorrect API key provided: sk-***. You can find your API key at ..."
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return Reply(status, body, headers=headers or {})

    def check(self, body: dict[str, Any], size: int) -> None:
        if size > 50 * MB:
            raise Refusal(self.error(413, "Request too large"))
        for mime, _ in self.images(body):
            if mime not in ("image/png", "image/jpeg", "image/webp", "image/gif"):
                raise Refusal(self.error(400, f"Invalid MIME type {mime}"))

    def images(self, body: dict[str, Any]) -> list[tuple[str, bytes]]:
        found = []
        for m in body.get("messages", []):
            content = m.get("content")
            for part in content if isinstance(content, list) else []:
                if part.get("type") == "image_url":
                    head, b64 = part["image_url"]["url"].split(",", 1)
                    found.append((head[5:].split(";")[0], base64.b64decode(b64)))
        return found

    def models(self) -> dict[str, Any] | None:
        return {"object": "list", "data": [{"id": "served-vlm", "object": "model"}]}

    def stream(self, body: dict[str, Any]) -> Reply:
        model = body["model"]

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-standin",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        events: list[tuple[str | None, dict[str, Any] | str]] = [
            (None, chunk({"role": "assistant", "content": ""}))
        ]
        for piece in self.pieces():
            events.append(("cut", "") if piece is None else (None, chunk({"content": piece})))
        if not self.unfinished:
            events.append((None, chunk({}, "stop")))
        events.append(
            (
                None,
                {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": self.prompt_tokens,
                        "completion_tokens": len(self.answer),
                        "total_tokens": self.prompt_tokens + len(self.answer),
                        "prompt_tokens_details": {"cached_tokens": 0},
                    },
                },
            )
        )
        events.append((None, "[DONE]"))
        return Reply(200, events=events)


@dataclass
class AnthropicStandin(Standin):
    def authorized(self, headers: dict[str, str]) -> bool:
        # The API takes ``x-api-key``; the current SDK sends the key as a bearer token.
        return self.key in (headers.get("x-api-key"), headers.get("authorization", "")[7:])

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        kinds = {
            400: "invalid_request_error",
            401: "authentication_error",
            413: "request_too_large",
            429: "rate_limit_error",
            529: "overloaded_error",
        }
        if status == 529:
            message = "Overloaded"
        body = {
            "type": "error",
            "error": {"type": kinds.get(status, "api_error"), "message": message},
        }
        return Reply(status, body, headers={"request-id": "req_standin", **(headers or {})})

    def images(self, body: dict[str, Any]) -> list[tuple[str, bytes]]:
        found = []
        for m in body.get("messages", []):
            for block in m.get("content", []) if isinstance(m.get("content"), list) else []:
                if block.get("type") == "image":
                    src = block["source"]
                    found.append((src["media_type"], base64.b64decode(src["data"])))
        return found

    def check(self, body: dict[str, Any], size: int) -> None:
        if size > 32 * MB:
            raise Refusal(self.error(413, "Request exceeds the maximum allowed number of bytes."))
        images = self.images(body)
        side = 2000 if len(images) > 20 else 8000
        for i, (mime, data) in enumerate(images):
            if len(base64.b64encode(data)) > 5 * MB:
                raise Refusal(self.error(400, f"messages: image {i} exceeds 5 MB maximum"))
            img = decoded_image(data)
            if max(img.size) > side:
                raise Refusal(
                    self.error(400, f"image dimensions exceed max allowed size: {side} pixels")
                )
            if Image.MIME.get(img.format or "") != mime:
                raise Refusal(self.error(400, "Image does not match the provided media type"))

    def stream(self, body: dict[str, Any]) -> Reply:
        events: list[tuple[str | None, dict[str, Any] | str]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_standin",
                        "type": "message",
                        "role": "assistant",
                        "content": [],
                        "model": body["model"],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": self.prompt_tokens, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        for piece in self.pieces():
            if piece is None:
                events.append(("cut", ""))
                continue
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": None if self.unfinished else "end_turn",
                        "stop_sequence": None,
                    },
                    "usage": {"output_tokens": len(self.answer)},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return Reply(200, events=events)


@dataclass
class GeminiStandin(Standin):
    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("x-goog-api-key") == self.key

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        statuses = {
            400: "INVALID_ARGUMENT",
            429: "RESOURCE_EXHAUSTED",
            500: "INTERNAL",
            503: "UNAVAILABLE",
        }
        details: list[dict[str, Any]] = []
        if status == 401:
            # Gemini answers a bad key with 400 and an ErrorInfo reason.
            status, message = 400, "API key not valid. Please pass a valid API key."
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            )
        retry_after = (headers or {}).get("retry-after")
        if status == 429 and retry_after:
            # The delay travels in the body, not in a header.
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{retry_after}s",
                }
            )
        body = {
            "error": {
                "code": status,
                "message": message,
                "status": statuses.get(status, "UNKNOWN"),
                "details": details,
            }
        }
        return Reply(status, body)

    def images(self, body: dict[str, Any]) -> list[tuple[str, bytes]]:
        found = []
        for content in body.get("contents", []):
            for part in content.get("parts", []):
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    mime = inline.get("mimeType") or inline.get("mime_type")
                    found.append((mime, _b64decode(inline["data"])))
        return found

    def check(self, body: dict[str, Any], size: int) -> None:
        if size > 20_000_000:
            raise Refusal(
                self.error(400, "Request payload size exceeds the limit: 20971520 bytes.")
            )
        for _, data in self.images(body):
            try:
                decoded_image(data)
            except (OSError, binascii.Error) as exc:
                raise Refusal(self.error(400, "Unable to process input image.")) from exc

    def stream(self, body: dict[str, Any]) -> Reply:
        events: list[tuple[str | None, dict[str, Any] | str]] = []
        pieces = self.pieces()
        for i, piece in enumerate(pieces):
            if piece is None:
                events.append(("cut", ""))
                continue
            last = i == len(pieces) - 1
            candidate: dict[str, Any] = {
                "content": {"parts": [{"text": piece}], "role": "model"},
                "index": 0,
            }
            if last and not self.unfinished:
                candidate["finishReason"] = "STOP"
            events.append(
                (
                    None,
                    {
                        "candidates": [candidate],
                        "usageMetadata": {
                            "promptTokenCount": self.prompt_tokens,
                            "candidatesTokenCount": i + 1,
                            "totalTokenCount": self.prompt_tokens + i + 1,
                        },
                        "modelVersion": "standin",
                    },
                )
            )
        return Reply(200, events=events)


STANDINS: dict[str, type[Standin]] = {
    "openai": OpenAIStandin,
    "anthropic": AnthropicStandin,
    "gemini": GeminiStandin,
}
