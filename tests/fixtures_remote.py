"""Fixtures for the remote backends: a stand-in Ollama and test images."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator

import pytest
from PIL import Image, ImageDraw

from models.conversation import ImagePart
from tests.ollama_standin import OllamaStandin, StandinModel


def image_part(width: int = 64, height: int = 48, label: str = "square.png") -> ImagePart:
    """A red square on white, prepared the way ingestion hands images over."""
    img = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(img).rectangle(
        (width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill="red"
    )
    rgb = img.tobytes()
    digest = hashlib.sha256(rgb + f"{width}x{height}".encode()).hexdigest()
    return ImagePart(digest=digest, width=width, height=height, rgb=rgb, label=label)


@pytest.fixture
def ollama_standin() -> Iterator[OllamaStandin]:
    """A running stand-in Ollama with one vision and one text-only model."""
    server = OllamaStandin(
        [
            StandinModel("llava:7b", vision=True, context_length=32768),
            StandinModel("llama3.2:1b", vision=False, context_length=131072),
        ]
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def square() -> ImagePart:
    return image_part()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens: the port was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
