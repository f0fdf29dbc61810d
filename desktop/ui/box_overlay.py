"""An image with the boxes and points a model found drawn over it, and their list.

Self-contained so the thread and the viewer can both embed it: give it the
picture and the marks in that picture's pixels (``desktop.grounding``'s
boxes and points, already mapped back to the original), and it scales
everything to fit. Marks can be hidden and shown; clicking a mark, or its
row in the list, highlights it and emits ``highlighted`` with its index.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QCheckBox, QListWidget, QVBoxLayout, QWidget

from desktop.grounding.annotate import COLORS
from desktop.grounding.mapping import Box, Point

Mark = Box | Point
_POINT_RADIUS = 6.0


class MarkedImage(QWidget):
    """The picture, scaled to fit with its aspect ratio kept, and the marks on top."""

    clicked_mark = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.marks: list[Mark] = []
        self.marks_visible = True
        self.current = -1
        self.setMinimumSize(120, 90)

    def set_content(self, image: QImage, marks: list[Mark]) -> None:
        self.image = image
        self.marks = list(marks)
        self.current = -1
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return (
            self.image.size().boundedTo(QSize(900, 700))
            if not self.image.isNull()
            else QSize(320, 240)
        )

    def _frame(self) -> tuple[QRectF, float]:
        """Where the image is drawn, and its scale from image pixels to widget pixels."""
        if self.image.isNull():
            return QRectF(), 1.0
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h), scale

    def mark_rect(self, index: int) -> QRectF:
        """A mark's rectangle in widget coordinates (a point's is a small square round it)."""
        frame, scale = self._frame()
        mark = self.marks[index]
        if isinstance(mark, Box):
            return QRectF(
                frame.x() + mark.x0 * scale,
                frame.y() + mark.y0 * scale,
                (mark.x1 - mark.x0) * scale,
                (mark.y1 - mark.y0) * scale,
            )
        centre = QPointF(frame.x() + mark.x * scale, frame.y() + mark.y * scale)
        r = _POINT_RADIUS
        return QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)

    def mark_at(self, pos: QPointF) -> int:
        """The smallest visible mark under ``pos`` (nested boxes: the inner one), or -1."""
        if not self.marks_visible:
            return -1
        hits = [
            (self.mark_rect(i).width() * self.mark_rect(i).height(), i)
            for i in range(len(self.marks))
            if self.mark_rect(i).adjusted(-3, -3, 3, 3).contains(pos)
        ]
        return min(hits)[1] if hits else -1

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.mark_at(event.position())
        if index >= 0:
            self.clicked_mark.emit(index)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame, _ = self._frame()
        if not self.image.isNull():
            p.drawImage(frame, self.image)
        if self.marks_visible:
            for i in range(len(self.marks)):
                self._paint_mark(p, i)
        p.end()

    def _paint_mark(self, p: QPainter, i: int) -> None:
        color = QColor(*COLORS[i % len(COLORS)])
        rect = self.mark_rect(i)
        chosen = i == self.current
        if chosen:
            p.fillRect(rect, QColor(color.red(), color.green(), color.blue(), 70))
        p.setPen(QPen(color, 4 if chosen else 2))
        if isinstance(self.marks[i], Box):
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
        else:
            p.setBrush(color)
            p.drawEllipse(rect)
        label = self.marks[i].label
        if label:
            metrics = p.fontMetrics()
            tag = QRectF(metrics.boundingRect(label).adjusted(-4, -2, 4, 2))
            tag.moveBottomLeft(QPointF(rect.left(), max(rect.top(), tag.height())))
            p.fillRect(tag, color)
            p.setPen(Qt.GlobalColor.white)
            p.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)


class BoxOverlay(QWidget):
    """``MarkedImage`` with a show/hide switch and the list of what was found."""

    highlighted = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = MarkedImage()
        layout.addWidget(self.view, 1)
        self.toggle = QCheckBox("Show boxes")
        self.toggle.setChecked(True)
        self.toggle.toggled.connect(self.set_marks_visible)
        layout.addWidget(self.toggle)
        self.list = QListWidget()
        self.list.setMaximumHeight(120)
        self.list.currentRowChanged.connect(self.highlight)
        layout.addWidget(self.list)
        self.view.clicked_mark.connect(self.highlight)

    def set_content(self, image: QImage, boxes: list[Box], points: list[Point]) -> None:
        marks: list[Mark] = [*boxes, *points]
        self.view.set_content(image, marks)
        self.list.blockSignals(True)
        self.list.clear()
        for mark in marks:
            if isinstance(mark, Box):
                where = f"{mark.x0:.0f},{mark.y0:.0f} - {mark.x1:.0f},{mark.y1:.0f}"
            else:
                where = f"{mark.x:.0f},{mark.y:.0f}"
            self.list.addItem(f"{mark.label or '(no label)'}  ·  {where}")
        self.list.blockSignals(False)
        empty = not marks
        self.toggle.setEnabled(not empty)
        self.toggle.setText("No boxes found" if empty else f"Show boxes ({len(marks)})")

    def set_marks_visible(self, visible: bool) -> None:
        self.view.marks_visible = visible
        self.view.update()

    def highlight(self, index: int) -> None:
        if index == self.view.current or not 0 <= index < len(self.view.marks):
            return
        self.view.current = index
        self.view.update()
        if self.list.currentRow() != index:
            self.list.setCurrentRow(index)
        self.highlighted.emit(index)
