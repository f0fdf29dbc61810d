"""Edit ▸ Find in picture…: ask the model where things are, and draw what it found.

The question is put in the form the model's family was trained on
(``desktop.grounding``), sent as an ordinary turn so it is kept in the
conversation, and when the answer is in, its boxes and points are drawn over
the picture the model saw — under the answer in the thread, and in a larger
viewer — each with a show/hide switch and a list to pick them from. An answer with no
usable box says so; nothing is guessed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QInputDialog, QVBoxLayout, QWidget

from desktop.grounding import NO_BOX, convention_for
from desktop.grounding.conventions import Convention, Kind
from desktop.grounding.mapping import Box, Point, to_original
from desktop.grounding.parse import parse_answer
from desktop.ingest.image import SourceGeometry
from desktop.model_choice import choice_for
from desktop.ui.box_overlay import BoxOverlay
from desktop.ui.turns import TurnDone
from models.conversation import ImagePart

MainWindow = Any
"""The window (not imported: it imports this module; chrome.py does the same)."""


def marks_on_sent(
    answer: str, convention: Convention, image: ImagePart
) -> tuple[list[Box], list[Point]]:
    """The answer's boxes and points in the pixels of the image the model saw."""
    size = (image.width, image.height)
    return to_original(parse_answer(answer), convention, size, SourceGeometry(*size))


def image_of(part: ImagePart) -> QImage:
    qimage = QImage(part.rgb, part.width, part.height, part.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: the part's bytes are not kept alive by QImage


class FoundView(QDialog):
    """The picture with the marks over it: toggleable, labelled, listed, clickable."""

    def __init__(self, parent: QWidget, part: ImagePart, boxes: list[Box], points: list[Point]):
        super().__init__(parent)
        self.setWindowTitle(f"Found in {part.label or 'the picture'}")
        self.resize(720, 640)
        layout = QVBoxLayout(self)
        self.overlay = BoxOverlay()
        self.overlay.set_content(image_of(part), boxes, points)
        layout.addWidget(self.overlay)


class FindInPicture(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.pending: tuple[ImagePart, Convention] | None = None
        self.view: FoundView | None = None
        self.in_thread: BoxOverlay | None = None
        """The marks drawn in the thread, under the answer that found them."""
        window.turns.finished.connect(self._answered)

    def ask(self, kind: Kind = "detect") -> None:
        w = self.window_
        images = w.attachments.pending_images()
        entry = w.current_entry()
        if len(images) != 1 or entry is None:
            w.banner.show_message("Attach one picture, then choose Find in picture.", "notice")
            return
        objects, ok = QInputDialog.getText(w, "Find in picture", "What should be found?")
        if not ok or not objects.strip():
            return
        choice = choice_for(entry)
        convention = convention_for(choice.label, choice.path, choice.mmproj)
        self.pending = (images[0], convention)
        w.send(convention.prompt(kind, objects.strip()), preset=True, temperature=0.0)

    def _answered(self, done: TurnDone) -> None:
        pending, self.pending = self.pending, None
        w = self.window_
        if pending is None or done.failed or done.conversation_id is None:
            return
        messages = w.store.conversation_messages(done.conversation_id)
        answer = messages[-1].text if messages else ""
        part, convention = pending
        boxes, points = marks_on_sent(answer, convention, part)
        if not boxes and not points:
            w.banner.show_message(f"Find in picture: {NO_BOX}.", "notice")
            return
        answer_view = w.thread_view.last_answer()
        if answer_view is not None:
            in_thread = BoxOverlay()
            in_thread.setMinimumHeight(320)
            in_thread.set_content(image_of(part), boxes, points)
            answer_view.add_below_text(in_thread)
            self.in_thread = in_thread
        self.view = FoundView(w, part, boxes, points)
        self.view.show()
