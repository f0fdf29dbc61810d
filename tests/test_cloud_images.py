"""What images look like when they reach a cloud provider: no metadata, always within limits."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from desktop.ingest import ingest_file
from models.backend import GenParams, Usage
from models.cloud.anthropic_backend import AnthropicBackend
from models.cloud.gemini_backend import GeminiBackend
from models.cloud.limits import ProviderLimits, limits_for
from models.cloud.openai_backend import OpenAIBackend
from models.cloud.prepare import REQUEST_OVERHEAD, ImageFitter
from models.cloud.retry import RetryPolicy
from models.conversation import ImagePart, Message, TextPart
from tests.cloud_standins import Standin, decoded_image
from tests.images import image_part

StartStandin = Callable[..., Standin]
CAMERA = "CanaryCam 9000"
COMMENT = "secret-location-note"
BACKENDS = {
    "openai": lambda s, p: OpenAIBackend("gpt-4o", s.key, s.url, policy=p),
    "anthropic": lambda s, p: AnthropicBackend("claude-haiku-4-5", s.key, s.url, policy=p),
    "gemini": lambda s, p: GeminiBackend("gemini-2.5-flash", s.key, s.url, policy=p),
}


def _photo_with_everything(path: Path) -> Path:
    """A JPEG carrying EXIF (camera model, GPS position), an ICC profile and XMP."""
    img = Image.new("RGB", (320, 240), (40, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = CAMERA
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><note>{COMMENT}</note></x:xmpmeta>'.encode()
    img.save(path, "JPEG", exif=exif, icc_profile=icc, xmp=xmp, quality=95)
    return path


def _screenshot_with_text_chunks(path: Path) -> Path:
    img = Image.new("RGB", (300, 200), (250, 250, 250))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", COMMENT)
    info.add_itxt("XML:com.adobe.xmp", f"<note>{COMMENT}</note>")
    img.save(path, "PNG", pnginfo=info)
    return path


def _jpeg_segments(data: bytes) -> list[int]:
    markers, i = [], 2
    while i < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        markers.append(marker)
        i += 2 + length
    return markers


def _png_chunks(data: bytes) -> list[bytes]:
    chunks, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        chunks.append(data[i + 4 : i + 8])
        i += 12 + length
    return chunks


def _assert_no_metadata(mime: str, data: bytes) -> None:
    img = decoded_image(data)
    assert not img.getexif()
    assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "Comment"} & set(img.info)
    for needle in (CAMERA.encode(), COMMENT.encode(), b"Exif\x00", b"http://ns.adobe.com"):
        assert needle not in data
    if mime == "image/jpeg":
        # Only JFIF (APP0), quantisation, Huffman and frame segments: no APP1/APP2/COM.
        assert set(_jpeg_segments(data)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD}
    else:
        assert mime == "image/png"
        assert set(_png_chunks(data)) <= {b"IHDR", b"IDAT", b"IEND"}


@pytest.mark.parametrize("provider", list(BACKENDS))
def test_a_photo_with_gps_and_camera_model_reaches_the_provider_without_metadata(
    provider: str,
    tmp_path: Path,
    start_standin: StartStandin,
    quick_retries: RetryPolicy,
) -> None:
    photo = next(ingest_file(_photo_with_everything(tmp_path / "p.jpg"), max_side=1344))
    shot = next(ingest_file(_screenshot_with_text_chunks(tmp_path / "s.png"), max_side=1344))
    standin = start_standin(provider)
    backend = BACKENDS[provider](standin, quick_retries)

    list(backend.stream([Message("user", (photo, shot, TextPart("Where?")))], GenParams()))

    received = standin.images(standin.received[0].body)
    assert len(received) == 2
    for mime, data in received:
        _assert_no_metadata(mime, data)


def test_a_small_screenshot_travels_lossless(
    start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    part = image_part((10, 200, 90), (300, 120))
    standin = start_standin("openai")

    list(
        BACKENDS["openai"](standin, quick_retries).stream(
            [Message("user", (part, TextPart("read it")))], GenParams()
        )
    )

    ((mime, data),) = standin.images(standin.received[0].body)
    assert mime == "image/png"
    assert decoded_image(data).convert("RGB").tobytes() == part.rgb


def _noise(width: int, height: int, label: str) -> ImagePart:
    return ImagePart.from_rgb(width, height, os.urandom(width * height * 3), label)


def test_a_huge_photo_is_downscaled_and_recompressed_to_fit_anthropic(
    start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    """Raw noise 9000 px wide: over Anthropic's 8000 px and, as PNG, over its 5 MB."""
    huge = _noise(9000, 300, "wide.png")
    standin = start_standin("anthropic")

    events = list(
        BACKENDS["anthropic"](standin, quick_retries).stream(
            [Message("user", (huge, TextPart("what is it?")))], GenParams()
        )
    )

    assert isinstance(events[-1], Usage)
    assert events[-1].finish_reason == "stop"
    ((mime, data),) = standin.images(standin.received[0].body)
    assert mime == "image/jpeg"
    assert max(decoded_image(data).size) <= 8000
    assert len(data) * 4 / 3 <= 5 * 1024 * 1024


def test_more_than_twenty_images_are_each_kept_within_2000_px_for_anthropic(
    start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    pages = [image_part((i * 10, 50, 80), (2400, 60)) for i in range(21)]
    standin = start_standin("anthropic")

    list(
        BACKENDS["anthropic"](standin, quick_retries).stream(
            [Message("user", (*pages, TextPart("summarise")))], GenParams()
        )
    )

    sizes = [decoded_image(d).size for _, d in standin.images(standin.received[0].body)]
    assert len(sizes) == 21
    assert all(max(s) == 2000 for s in sizes)


def test_a_request_over_its_total_budget_shares_the_budget_between_images() -> None:
    limits = ProviderLimits(
        provider="gemini",
        formats=("image/png", "image/jpeg"),
        max_request_bytes=REQUEST_OVERHEAD + 600_000,
        max_images=10,
    )
    images = [_noise(400, 400, f"n{i}") for i in range(3)]  # 480 kB raw each

    fitted = ImageFitter(limits).fit(images, text_bytes=1000)

    assert sum(e.sent_bytes for e in fitted) <= 600_000 - 1000
    assert [e.source for e in fitted] == images


def test_follow_up_turns_do_not_encode_the_same_images_again() -> None:
    fitter = ImageFitter(limits_for("openai"))
    images = [image_part((1, 2, 3)), image_part((200, 100, 0))]

    first = fitter.fit(images)
    again = fitter.fit(images, text_bytes=500)

    assert all(a is b for a, b in zip(first, again, strict=True))


def test_the_limits_are_data_with_the_documented_values() -> None:
    anthropic = limits_for("anthropic")
    assert anthropic.max_image_bytes == 5 * 1024 * 1024
    assert anthropic.side_limit(20) == 8000
    assert anthropic.side_limit(21) == 2000
    assert anthropic.max_request_bytes == 32 * 1024 * 1024
    assert set(limits_for("openai").formats) == {
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
    }
    assert limits_for("gemini").max_request_bytes == 20_000_000


def test_too_many_images_for_a_provider_is_a_clear_error() -> None:
    fitter = ImageFitter(limits_for("anthropic"))
    tiny = image_part((5, 5, 5), (8, 8))

    with pytest.raises(Exception, match="Anthropic takes at most 100"):
        fitter.fit([tiny] * 101)


def test_encoded_images_decode_to_the_pixels_that_were_prepared() -> None:
    part = image_part((120, 30, 60), (64, 48))
    (encoded,) = ImageFitter(limits_for("gemini")).fit([part])
    assert Image.open(io.BytesIO(encoded.data)).convert("RGB").tobytes() == part.rgb
