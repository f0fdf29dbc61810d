"""Grabbing the screen: Qt's QScreen on X11, Windows and macOS, the portal on Wayland.

Everything returned is in physical pixels: on a high-DPI screen a region
of 100 x 50 logical pixels at scale 2 comes back as 200 x 100, which is what
the user sees and what a model should read. Wayland does not let
applications read the screen; there the xdg-desktop-portal Screenshot
interface asks the desktop for a picture, and a desktop without it is named
as the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect
from PySide6.QtGui import QGuiApplication, QImage, QScreen

from models.errors import InputError, SightlineError


class CaptureUnavailable(SightlineError):
    """The screen cannot be read here (no display, or a desktop without a screenshot portal)."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle in the screen's logical pixels (what Qt and the user's settings call pixels)."""

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> Region:
        parts = text.split(",")
        try:
            x, y, w, h = (int(p.strip()) for p in parts)
        except ValueError:
            raise InputError(f"--region {text!r}: expected X,Y,W,H, e.g. 0,0,800,600") from None
        if w <= 0 or h <= 0 or x < 0 or y < 0:
            raise InputError(f"--region {text!r}: X and Y from 0, W and H above 0")
        return cls(x, y, w, h)

    def rect(self) -> QRect:
        return QRect(self.x, self.y, self.width, self.height)


def pick_screen(index: int | None) -> QScreen:
    screens = QGuiApplication.screens()
    if not screens:
        raise CaptureUnavailable("no screen to capture (the display reports none)")
    if index is None:
        primary = QGuiApplication.primaryScreen()
        return primary if primary is not None else screens[0]
    if not 0 <= index < len(screens):
        last = len(screens) - 1
        raise InputError(f"--screen {index}: there is no such screen (screens: 0-{last})")
    return screens[index]


def _portal_screenshot() -> QImage:
    """The whole desktop through org.freedesktop.portal.Screenshot (Wayland)."""
    from desktop.portal import screenshot

    path = screenshot()
    image = QImage(str(path))
    if image.isNull():
        raise CaptureUnavailable(f"the screenshot portal's file could not be read ({path})")
    return image.convertToFormat(QImage.Format.Format_RGB888)


def grab_screen(screen: QScreen) -> QImage:
    """All of ``screen``, in physical pixels."""
    # On a Wayland session even an XWayland client sees only its own windows: ask the portal.
    if (
        QGuiApplication.platformName() == "wayland"
        or os.environ.get("XDG_SESSION_TYPE") == "wayland"
    ):
        return _portal_screenshot()
    image = screen.grabWindow(0).toImage()
    if image.isNull() or image.width() == 0:
        raise CaptureUnavailable(
            f"the screen could not be read on this display ({QGuiApplication.platformName()})"
        )
    return image.convertToFormat(QImage.Format.Format_RGB888)


def crop(image: QImage, screen: QScreen, region: QRect) -> QImage:
    """``region`` (logical pixels of ``screen``) cut from ``image`` at its physical size."""
    logical = screen.geometry()
    if not QRect(0, 0, logical.width(), logical.height()).contains(region):
        raise InputError(
            f"--region {region.x()},{region.y()},{region.width()},{region.height()} is not "
            f"inside the screen ({logical.width()} x {logical.height()})"
        )
    fx = image.width() / logical.width()
    fy = image.height() / logical.height()
    physical = QRect(
        round(region.x() * fx),
        round(region.y() * fy),
        max(1, round(region.width() * fx)),
        max(1, round(region.height() * fy)),
    )
    return image.copy(physical)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; it takes str
    buffer.close()
    return bytes(data.data())
