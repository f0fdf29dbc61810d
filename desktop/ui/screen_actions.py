"""What the tray's screen requests do: capture a region, read its text, take the clipboard's image.

The window owns the model and the conversations, so this object is handed
the window's model host, thread pool and a way to learn the current model;
a capture meant for a conversation comes back as ``image_captured`` (PNG
bytes and a label) for the window to attach, while "Read text from region"
runs the OCR preset here and puts the text on the clipboard. Model work runs
on the pool; the GUI thread never waits for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from desktop.messages import describe_error
from desktop.model_choice import ModelChoice
from desktop.model_host import ModelHost
from desktop.presets import get_preset
from desktop.settings import Settings
from desktop.ui import worker
from desktop.ui.screen_grab import png_bytes
from desktop.ui.tray import TrayController
from models.backend import GenParams

NO_CLIPBOARD_IMAGE = "there is no image on the clipboard — copy one first"
NO_MODEL = "no model yet — open Sightline to download or import one"


class ScreenActions(QObject):
    image_captured = Signal(bytes, str)
    """PNG bytes and a label, for the window to attach to a new chat and describe."""
    text_read = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        tray: TrayController,
        host: ModelHost,
        pool: QThreadPool,
        current_choice: Callable[[], ModelChoice | None],
        settings: Settings,
    ) -> None:
        super().__init__(tray)
        self.tray = tray
        self.host = host
        self.pool = pool
        self.current_choice = current_choice
        self.settings = settings
        self.job: worker.StreamJob | None = None
        tray.capture_requested.connect(self.capture_region)
        tray.read_region_requested.connect(self.read_region)
        tray.describe_clipboard_requested.connect(self.clipboard_image)
        self.failed.connect(lambda text: tray.notify("Sightline", text))

    def _grab(self) -> QImage | None:
        from desktop.ui.capture_overlay import capture  # with the first capture, not the tray

        try:
            return capture(False, None, None)
        except Exception as exc:
            self.failed.emit(describe_error(exc).text)
            return None

    def capture_region(self) -> None:
        image = self._grab()
        if image is not None:
            self.image_captured.emit(png_bytes(image), "screen selection")

    def clipboard_image(self) -> None:
        image = QApplication.clipboard().image()
        if image.isNull():
            self.failed.emit(NO_CLIPBOARD_IMAGE)
            return
        self.image_captured.emit(png_bytes(image), "clipboard image")

    def read_region(self) -> None:
        image = self._grab()
        if image is not None:
            self.read_image(image)

    def read_image(self, image: QImage) -> None:
        """The OCR preset on ``image``; the text lands on the clipboard, with a notification."""
        choice = self.current_choice()
        if choice is None:
            self.failed.emit(NO_MODEL)
            return
        png = png_bytes(image)
        preset = get_preset("ocr")
        host, settings = self.host, self.settings
        parts: list[str] = []

        def work(cancel: threading.Event) -> Iterator[object]:
            # On the pool: the ingest package (Pillow, PDFs) and the session load here, not
            # with the tray at start.
            from desktop.ingest import prepare_image_bytes
            from desktop.session import ChatSession

            images = [prepare_image_bytes(png, "screen selection", choice.max_image_side(settings))]
            backend = host.backend(choice, settings)
            session = ChatSession(backend, model_label=choice.label)
            params = GenParams(max_tokens=preset.max_tokens, temperature=0.0)
            yield from session.ask(preset.prompt, images, params, cancel)

        def on_item(item: object) -> None:
            if isinstance(item, str):
                parts.append(item)

        def on_finished() -> None:
            if self.job is not None and not failed:
                text = "".join(parts).strip()
                self.tray.text_copied(text)
                self.text_read.emit(text)
            self.job = None

        failed: list[BaseException] = []

        def on_failed(exc: BaseException) -> None:
            failed.append(exc)
            self.failed.emit(describe_error(exc).text)

        self.job = worker.stream(self.pool, work, on_item, on_failed, on_finished)
