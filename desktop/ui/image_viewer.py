"""An image at full resolution: fit to the window, zoom, pan, 1:1.

The thumbnails in the thread are small copies; the viewer opens the
original file when it is still there (else the image as stored), so a
screenshot's small text can actually be read.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPainter, QPixmap, QShortcut, QWheelEvent
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_STEP = 1.25


def original_pixmap(fallback: QPixmap, label: str) -> QPixmap:
    """The attached file itself when it is an image still on disk, else ``fallback``."""
    path = Path(label)
    if path.suffix.lower() != ".pdf" and path.is_file():
        pixmap = QPixmap(str(path))
        if not pixmap.isNull():
            return pixmap
    return fallback


class _View(QGraphicsView):
    """The wheel zooms (as in image viewers); dragging pans."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = _STEP if event.angleDelta().y() > 0 else 1 / _STEP
        self.scale(factor, factor)


class ImageViewer(QDialog):
    def __init__(self, pixmap: QPixmap, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.scene = QGraphicsScene(self)
        self.item = QGraphicsPixmapItem(pixmap)
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene.addItem(self.item)
        self.view = _View(self.scene)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.view.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.fitting = True
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel(f"{pixmap.width()} x {pixmap.height()} px"))
        row.addStretch(1)
        for text, keys, handler in (
            ("Zoom out", QKeySequence.StandardKey.ZoomOut, self.zoom_out),
            ("Zoom in", QKeySequence.StandardKey.ZoomIn, self.zoom_in),
            ("1:1", QKeySequence("Ctrl+0"), self.actual_size),
            ("Fit", QKeySequence("Ctrl+9"), self.fit),
        ):
            button = QPushButton(text)
            button.clicked.connect(handler)
            row.addWidget(button)
            QShortcut(QKeySequence(keys), self, handler)
        layout.addLayout(row)
        screen = self.screen().availableGeometry()
        self.resize(
            min(pixmap.width() + 40, int(screen.width() * 0.8)),
            min(pixmap.height() + 80, int(screen.height() * 0.8)),
        )

    def zoom(self) -> float:
        return self.view.transform().m11()

    def zoom_in(self) -> None:
        self.fitting = False
        self.view.scale(_STEP, _STEP)

    def zoom_out(self) -> None:
        self.fitting = False
        self.view.scale(1 / _STEP, 1 / _STEP)

    def actual_size(self) -> None:
        self.fitting = False
        self.view.resetTransform()

    def fit(self) -> None:
        self.fitting = True
        self.view.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        if self.fitting:
            self.fit()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self.fitting:
            self.fit()
