"""What will be sent with the next message: chips, reading files into images, the page picker.

Files are read on a worker: its type, a PDF's page count, then the images as
each is ready, with "page 3 of 6" on the chip meanwhile. A PDF longer than
the cap comes back to the GUI thread once, to ask which pages; a range that
does not parse is asked for again, never a reason to drop the file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QMimeData, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QInputDialog, QWidget

from desktop.ui import worker
from desktop.ui.widgets import Chip
from models.conversation import ImagePart
from models.errors import InputError

FILE_FILTER = (
    "Images and PDFs (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff *.pdf);;All files (*)"
)


@dataclass(frozen=True, slots=True)
class PagesNeeded:
    count: int
    cap: int


@dataclass(frozen=True, slots=True)
class PageProgress:
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Notice:
    text: str


Ingested = ImagePart | PagesNeeded | PageProgress | Notice


class Attachments(QWidget):
    notice = Signal(str)
    failed = Signal(object)
    changed = Signal()

    def __init__(self, pool: QThreadPool, max_side: Callable[[], int]) -> None:
        super().__init__()
        self.pool = pool
        self.max_side = max_side
        self.chips: list[Chip] = []
        self.jobs = worker.Jobs()
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.addStretch(1)
        self.hide()

    # -- what is pending -----------------------------------------------------------

    def pending_images(self) -> list[ImagePart]:
        return [img for chip in self.chips for img in chip.images]

    def busy(self) -> bool:
        return any(c.job is not None and c.job.running for c in self.chips)

    def clear(self) -> None:
        for chip in list(self.chips):
            self.remove(chip)

    def remove(self, chip: Chip) -> None:
        if chip in self.chips:
            if chip.job is not None:
                chip.job.stop()
            self.chips.remove(chip)
            chip.deleteLater()
            self.setVisible(bool(self.chips))
            self.changed.emit()

    def _add(self, chip: Chip) -> None:
        self.chips.append(chip)
        self.row.insertWidget(self.row.count() - 1, chip)
        chip.removed.connect(lambda: self.remove(chip))
        self.show()
        self.changed.emit()

    # -- taking things in ----------------------------------------------------------

    def take_mime(self, mime: QMimeData) -> bool:
        """Files (dropped or copied) and images (pasted) become attachments."""
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            self.attach_files(files)
            return True
        if mime.hasImage():
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            mime.imageData().save(buffer, "PNG")
            self.attach_image_bytes(bytes(buffer.data().data()), "pasted image")
            return True
        return False

    def ask_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Attach images or PDFs", str(Path.home()), FILE_FILTER
        )
        self.attach_files(files)

    def attach_files(self, files: list[str]) -> None:
        """Each file once: attaching a file already waiting to be sent is a notice, not a copy."""
        for name in files:
            path = Path(name).resolve()
            if any(chip.path == path for chip in self.chips):
                self.notice.emit(f"{path.name} is already attached.")
                continue
            chip = Chip(path.name)
            chip.path = path
            self._add(chip)
            self._ingest(chip, path, pages=None)

    def attach_image_bytes(self, data: bytes, name: str) -> None:
        from desktop.ingest import prepare_image_bytes

        chip = Chip(name)
        self._add(chip)
        max_side = self.max_side()
        chip.job = self.jobs.track(
            worker.call(
                self.pool,
                lambda _cancel: prepare_image_bytes(data, name, max_side),
                chip.add_image,
                lambda exc: self._failed(chip, exc),
            )
        )

    def _failed(self, chip: Chip, exc: BaseException) -> None:
        self.remove(chip)
        self.failed.emit(exc)

    def _ingest(self, chip: Chip, path: Path, pages: str | None) -> None:
        max_side = self.max_side()

        def work(cancel: threading.Event) -> Iterator[Ingested]:
            # Ingestion pulls in Pillow, numpy and poppler glue: loaded here, off the GUI thread.
            from desktop.ingest import DEFAULT_MAX_PAGES, ingest_file, pdf_page_count, sniff_file
            from desktop.ingest.pages import parse_pages
            from desktop.ingest.sniff import Kind

            events: list[Ingested] = []
            if sniff_file(path) is Kind.PDF:
                count = pdf_page_count(path)
                if pages is None and count > DEFAULT_MAX_PAGES:
                    yield PagesNeeded(count, DEFAULT_MAX_PAGES)
                    return
                total = len(parse_pages(pages, count)) if pages else count
                yield PageProgress(0, total)
            parts = ingest_file(
                path,
                max_side=max_side,
                pages=pages,
                cancel=cancel,
                on_progress=lambda d, t: events.append(PageProgress(d, t)),
                on_notice=lambda n: events.append(Notice(n)),
            )
            for part in parts:
                yield from events
                events.clear()
                yield part
            yield from events

        def on_item(item: Ingested) -> None:
            if isinstance(item, ImagePart):
                chip.add_image(item)
            elif isinstance(item, PageProgress):
                chip.set_progress(item.done, item.total)
            elif isinstance(item, PagesNeeded):
                QTimer.singleShot(0, lambda: self.ask_pages(chip, path, item.count, item.cap))
            else:
                self.notice.emit(item.text)

        def on_failed(exc: BaseException) -> None:
            if pages is not None and isinstance(exc, InputError) and not chip.images:
                # A range that does not parse: ask again rather than drop the file.
                QTimer.singleShot(0, lambda: self.ask_pages(chip, path, None, None, str(exc)))
                return
            self._failed(chip, exc)

        chip.job = self.jobs.track(worker.stream(self.pool, work, on_item, on_failed))

    def ask_pages(
        self,
        chip: Chip,
        path: Path,
        count: int | None,
        cap: int | None,
        problem: str | None = None,
    ) -> None:
        """Which pages of a long PDF to read; asked again after a bad answer."""
        if count is not None:
            chip.page_count, chip.page_cap = count, cap or count
        count, cap = chip.page_count, chip.page_cap
        question = (
            f"{path.name} has {count} pages. Which pages should the model read? "
            f"(e.g. 1-{cap} or 1-3,7)"
        )
        if problem:
            question = f"{problem}\n\n{question}"
        spec, ok = self.page_dialog(question, chip.pages or f"1-{cap}")
        if not ok:
            self.remove(chip)
            return
        chip.pages = spec.strip() or f"1-{cap}"
        chip.set_pages(chip.pages)
        self._ingest(chip, path, chip.pages)

    def page_dialog(self, question: str, text: str) -> tuple[str, bool]:
        return QInputDialog.getText(self, "Choose pages", question, text=text)
