"""The region picker: the frozen screen under a dimmed veil, dragged open to a rectangle.

The screen is grabbed first and shown full-screen, so what the user selects
is exactly what is captured (nothing moves under the cursor meanwhile). A
magnifier beside the cursor shows the pixels around it and the selection's
size is shown in physical pixels, the size the model will get. Esc cancels.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QScreen,
)
from PySide6.QtWidgets import QWidget

from desktop.ui.screen_grab import Region, crop, grab_screen, pick_screen

TITLE = "Sightline capture"
MAGNIFIER_SOURCE = 15
"""Logical pixels each side of the magnifier's view (an odd number, so the cursor is central)."""
MAGNIFIER_ZOOM = 8
_VEIL = QColor(0, 0, 0, 110)
_ACCENT = QColor(64, 156, 255)


def _between(a: QPoint, b: QPoint) -> QRect:
    """The rectangle dragged from ``a`` to ``b``: its size is the distance (Qt's two-point
    constructor includes both end pixels, one more than the drag)."""
    return QRect(min(a.x(), b.x()), min(a.y(), b.y()), abs(b.x() - a.x()), abs(b.y() - a.y()))


class RegionOverlay(QWidget):
    """Emits ``selected`` with the rectangle (the screen's logical pixels), or ``cancelled``."""

    selected = Signal(QRect)
    cancelled = Signal()

    def __init__(self, screen: QScreen, background: QImage) -> None:
        super().__init__(
            None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setWindowTitle(TITLE)
        self.background = background
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.origin: QPoint | None = None
        self.cursor_at = QPoint(-1, -1)
        self.selection = QRect()
        self.done = False

    # -- geometry --------------------------------------------------------------

    def _scale(self) -> tuple[float, float]:
        return self.background.width() / max(1, self.width()), self.background.height() / max(
            1, self.height()
        )

    def physical_size(self, rect: QRect) -> QSize:
        fx, fy = self._scale()
        return QSize(round(rect.width() * fx), round(rect.height() * fy))

    # -- events ----------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.origin = event.position().toPoint()
            self.selection = QRect(self.origin, QSize(0, 0))
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.cursor_at = event.position().toPoint()
        if self.origin is not None:
            self.selection = _between(self.origin, self.cursor_at)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.origin is None:
            return
        self.selection = _between(self.origin, event.position().toPoint())
        self.origin = None
        if self.selection.width() < 2 or self.selection.height() < 2:
            self.selection = QRect()  # a click, not a drag: keep picking
            self.update()
            return
        self._finish(self.selection.intersected(self.rect()))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._finish(None)
        else:
            super().keyPressEvent(event)

    def _finish(self, rect: QRect | None) -> None:
        if self.done:
            return
        self.done = True
        self.close()
        if rect is None:
            self.cancelled.emit()
        else:
            self.selected.emit(rect)

    # -- painting --------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.drawImage(self.rect(), self.background)
        p.fillRect(self.rect(), _VEIL)
        if not self.selection.isEmpty():
            fx, fy = self._scale()
            source = QRect(
                round(self.selection.x() * fx),
                round(self.selection.y() * fy),
                round(self.selection.width() * fx),
                round(self.selection.height() * fy),
            )
            p.drawImage(self.selection, self.background, source)
            p.setPen(QPen(_ACCENT, 2))
            p.drawRect(self.selection)
            size = self.physical_size(self.selection)
            self._tag(
                p,
                self.selection.bottomLeft() + QPoint(0, 6),
                f"{size.width()} x {size.height()} px",
            )
        else:
            self._tag(p, QPoint(16, 16), "Drag to capture a region · Esc cancels")
        if self.rect().contains(self.cursor_at):
            self._magnifier(p)
        p.end()

    def _tag(self, p: QPainter, at: QPoint, text: str) -> None:
        metrics = p.fontMetrics()
        box = metrics.boundingRect(text).adjusted(-6, -4, 6, 4)
        box.moveTopLeft(at)
        box.moveRight(min(box.right(), self.width() - 2))
        box.moveBottom(min(box.bottom(), self.height() - 2))
        p.fillRect(box, QColor(20, 20, 20, 220))
        p.setPen(Qt.GlobalColor.white)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _magnifier(self, p: QPainter) -> None:
        fx, fy = self._scale()
        half = MAGNIFIER_SOURCE // 2
        c = self.cursor_at
        source = QRect(
            round((c.x() - half) * fx),
            round((c.y() - half) * fy),
            round(MAGNIFIER_SOURCE * fx),
            round(MAGNIFIER_SOURCE * fy),
        )
        side = MAGNIFIER_SOURCE * MAGNIFIER_ZOOM
        target = QRect(c.x() + 24, c.y() + 24, side, side)
        if target.right() > self.width():
            target.moveRight(c.x() - 24)
        if target.bottom() > self.height():
            target.moveBottom(c.y() - 24)
        p.fillRect(target, Qt.GlobalColor.black)
        p.drawImage(target, self.background, source)
        p.setPen(QPen(_ACCENT, 1))
        p.drawRect(target)
        mid = target.center()
        p.drawLine(mid.x(), target.top(), mid.x(), target.bottom())
        p.drawLine(target.left(), mid.y(), target.right(), mid.y())


def pick_region(screen: QScreen, background: QImage) -> QRect | None:
    """Show the overlay and wait (in a local event loop) for a rectangle, or ``None`` on Esc."""
    from PySide6.QtCore import QEventLoop

    overlay = RegionOverlay(screen, background)
    chosen: list[QRect] = []
    loop = QEventLoop()
    overlay.selected.connect(chosen.append)
    overlay.selected.connect(loop.quit)
    overlay.cancelled.connect(loop.quit)
    overlay.showFullScreen()
    overlay.raise_()
    overlay.activateWindow()
    QGuiApplication.processEvents()
    loop.exec()
    return chosen[0] if chosen else None


def capture(full: bool, region: Region | None, screen_index: int | None) -> QImage | None:
    """The screen, a given region of it, or one the user drags; ``None`` when they cancel.

    Needs a running ``QApplication`` (the overlay is a widget). Pixels are physical.
    """
    if region is None and not full:
        cursor_screen = QGuiApplication.screenAt(QCursor.pos())
        screen = (
            pick_screen(screen_index)
            if screen_index is not None or cursor_screen is None
            else cursor_screen
        )
    else:
        screen = pick_screen(screen_index)
    image = grab_screen(screen)
    if full:
        return image
    if region is not None:
        return crop(image, screen, region.rect())
    chosen = pick_region(screen, image)
    return None if chosen is None else crop(image, screen, chosen)
