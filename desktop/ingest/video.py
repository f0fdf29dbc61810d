"""A video becomes a handful of still frames, each labelled with when it was shown.

Vision models see pictures, not clips, so a video is sampled: ``frames``
frames spread evenly over the clip, or one every ``every`` seconds. PyAV
(whose wheels carry ffmpeg) decodes only up to the next keyframe after each
seek, so a long clip costs about as much as the frames taken from it. Each
frame is fitted like any image and carries its timestamp in its label; the
turn puts "Frame at 0:12" before each one, so the model can answer "when".
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from models.conversation import ImagePart, Part, TextPart
from models.errors import InputError
from models.image_codec import fit_size

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

DEFAULT_FRAMES = 8
_FRAME_LABEL = re.compile(r" \(frame at (\d+:\d\d(?:\.\d)?)\)$")


def clock(seconds: float) -> str:
    """``72.0`` is ``1:12``; tenths only when the frame is not on a whole second."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    whole = int(rest)
    tenths = round((rest - whole) * 10)
    if tenths == 10:
        whole, tenths = whole + 1, 0
    text = f"{int(minutes)}:{whole:02d}"
    return f"{text}.{tenths}" if tenths else text


def frame_label(name: str, seconds: float) -> str:
    return f"{name} (frame at {clock(seconds)})"


def frame_time(label: str) -> str | None:
    """The timestamp of a frame made here, read back from its label; ``None`` for other images."""
    match = _FRAME_LABEL.search(label)
    return match.group(1) if match else None


def with_frame_labels(images: Sequence[ImagePart]) -> tuple[Part, ...]:
    """The turn's parts: each video frame preceded by the time it was shown."""
    parts: list[Part] = []
    for image in images:
        when = frame_time(image.label)
        if when is not None:
            parts.append(TextPart(f"Frame at {when}:\n"))
        parts.append(image)
    return tuple(parts)


def sample_times(duration: float, frames: int | None, every: float | None) -> list[float]:
    """When to take frames: evenly spaced across the clip (each in the middle of its share)."""
    if every is not None:
        if every <= 0:
            raise InputError("--every must be a positive number of seconds")
        count = max(1, math.ceil(duration / every - 1e-9))  # none at the very end
        times = [i * every for i in range(count)]
        return times[: frames or len(times)]
    count = frames or DEFAULT_FRAMES
    if count <= 0:
        raise InputError("--frames must be a positive number")
    if duration <= 0:
        return [0.0]
    return [duration * (i + 0.5) / count for i in range(count)]


def video_frames(
    path: Path,
    *,
    max_side: int,
    frames: int | None = None,
    every: float | None = None,
    max_frames: int | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[ImagePart]:
    """Yield the sampled frames as model-ready images; a damaged clip is one ``InputError``."""
    import av  # ffmpeg is big: loaded only when a video is opened

    if frames is not None and max_frames is not None and frames > max_frames:
        raise InputError(
            f"--frames {frames} is more than the limit of {max_frames} "
            "(max_video_frames in the settings)"
        )
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError.for_file(path, f"the video could not be opened ({exc})") from exc
    with container:
        if not container.streams.video:
            raise InputError.for_file(path, "has no video track")
        stream = container.streams.video[0]
        duration = _duration(container, stream)
        times = sample_times(duration, frames, every)
        if max_frames is not None:
            times = times[:max_frames]
        for seconds in times:
            if cancel is not None and cancel.is_set():
                return
            image = _frame_at(container, stream, seconds, path)
            if image is None:
                break
            img = image.to_image()  # type: ignore[no-untyped-call]  # RGB, no metadata
            target = fit_size(img.width, img.height, max_side)
            if target != img.size:
                img = img.resize(target)
            yield ImagePart.from_rgb(
                img.width, img.height, img.tobytes(), label=frame_label(str(path), seconds)
            )


def _duration(container: InputContainer, stream: VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return float(container.duration) / 1_000_000 if container.duration else 0.0  # microseconds


def _frame_at(
    container: InputContainer, stream: VideoStream, seconds: float, path: Path
) -> VideoFrame | None:
    """The first frame shown at or after ``seconds`` (the last one when past the end)."""
    import av

    base = stream.time_base or Fraction(1, 1_000_000)
    try:
        container.seek(int(seconds / base), stream=stream, backward=True)
        last = None
        for frame in container.decode(stream):
            last = frame
            if frame.pts is None or frame.pts * base >= seconds - 1e-3:
                return frame
        return last
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError.for_file(path, f"the video is damaged ({exc})") from exc
