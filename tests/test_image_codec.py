"""Images leave for model servers as the smaller of PNG and JPEG, and photos never wait for PNG."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from models.conversation import ImagePart
from models.errors import InputError
from models.image_codec import data_url, encode_for_wire, encode_jpeg, encode_png
from tests.images import image_part


def photo_part(side: int = 96) -> ImagePart:
    noise = Image.effect_noise((side, side), 40)
    img = Image.merge("RGB", (noise, noise.rotate(90), noise.rotate(180)))
    return ImagePart.from_rgb(side, side, img.tobytes(), label="holiday.jpg")


def test_a_screenshot_goes_as_lossless_png() -> None:
    part = image_part((250, 250, 250), (120, 80))

    mime, data = encode_for_wire(part)

    assert mime == "image/png"
    assert Image.open(io.BytesIO(data)).convert("RGB").tobytes() == part.rgb


def test_a_photo_goes_as_jpeg_and_is_smaller_than_png() -> None:
    part = photo_part()

    mime, data = encode_for_wire(part)

    assert mime == "image/jpeg"
    assert len(data) < len(encode_png(part))
    assert Image.open(io.BytesIO(data)).size == (96, 96)


def test_a_data_url_carries_the_chosen_encoding() -> None:
    part = photo_part()

    url = data_url(part)

    assert url.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == encode_for_wire(part)[1]
    assert encode_jpeg(part)[:2] == b"\xff\xd8"


def test_pixels_that_do_not_match_their_size_get_an_error_naming_the_image() -> None:
    part = image_part((10, 20, 30))
    broken = ImagePart(part.digest + "x", part.width + 1, part.height, part.rgb, label="scan.png")

    with pytest.raises(InputError, match=r"^scan\.png: image data is \d+ bytes but a 65x48"):
        encode_for_wire(broken)
