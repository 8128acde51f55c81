"""What transcode mode encodes while its input is lost, as broadcast encoders do.

AWS Elemental MediaLive, by default, repeats the last frame for 1000 ms (``RepeatFrameMsec``),
then shows black for 1000 ms (``BlackFrameMsec``), then a slate - a colour
(``InputLossImageColor``, default ``000000``) or an image (``InputLossImageSlate``) - for as
long as the input is gone, and keeps the output going. scte35lab does the same with the same
knobs and defaults (``repeat_frame_ms``, ``black_frame_ms``, ``loss_color``, ``loss_image``),
with silence for sound; the frames are encoded at the stream's settings and their timestamps
go on from the last input frame.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from scte35lab.errors import ComponentError


def rgb_of(color: str) -> tuple[int, int, int]:
    """``"RRGGBB"`` (``#`` optional) as three 0-255 values; a named error otherwise."""
    text = color.removeprefix("#")
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ComponentError(f"input loss colour {color!r} is not RRGGBB hex (e.g. 000000)")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def yuv_of(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.709 limited-range Y, Cb, Cr of an RGB colour (what x264 is told it gets)."""
    r, g, b = (v / 255 for v in rgb)
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748
    return round(16 + 219 * y), round(128 + 224 * cb), round(128 + 224 * cr)


def solid_frame(width: int, height: int, rgb: tuple[int, int, int]) -> Any:
    """A yuv420p frame of one colour."""
    import av

    y, cb, cr = yuv_of(rgb)
    plane = np.empty((height * 3 // 2, width), dtype=np.uint8)
    plane[:height] = y
    chroma = plane[height:].reshape(2, height // 2, width // 2)  # U rows then V rows
    chroma[0], chroma[1] = cb, cr
    return av.VideoFrame.from_ndarray(plane, format="yuv420p")


def image_frame(path: str, width: int, height: int) -> Any:
    """The first picture of an image (or video) file, scaled to ``width`` x ``height``."""
    import av

    if not os.path.exists(path):
        raise ComponentError(f"input loss slate image {path!r} does not exist")
    try:
        with av.open(path) as c:
            frame = next(c.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise ComponentError(f"input loss slate image {path!r} cannot be read: {exc}") from None
    return frame.reformat(width=width, height=height, format="yuv420p")


class LossFrames:
    """The picture to encode ``t`` seconds into a loss: the last frame, black, the slate."""

    def __init__(
        self,
        last: Any,
        width: int,
        height: int,
        *,
        repeat_frame_ms: int,
        black_frame_ms: int,
        color: str,
        image: str | None,
    ) -> None:
        self.last = last if last is not None else solid_frame(width, height, (0, 0, 0))
        self.black = solid_frame(width, height, (0, 0, 0))
        self.slate = (
            image_frame(image, width, height)
            if image is not None
            else solid_frame(width, height, rgb_of(color))
        )
        self.repeat_s = repeat_frame_ms / 1000
        self.black_s = black_frame_ms / 1000

    def phase(self, t: float) -> str:
        if t < self.repeat_s:
            return "repeat"
        return "black" if t < self.repeat_s + self.black_s else "slate"

    def at(self, t: float) -> Any:
        return {"repeat": self.last, "black": self.black, "slate": self.slate}[self.phase(t)]


def silence(samples: int, rate: int, channels: int) -> Any:
    """``samples`` of silence as a planar float frame."""
    import av

    frame = av.AudioFrame.from_ndarray(
        np.zeros((channels, samples), dtype=np.float32),
        format="fltp",
        layout="mono" if channels == 1 else "stereo",
    )
    frame.sample_rate = rate
    return frame
