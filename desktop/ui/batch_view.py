"""The batch view: many files, one answer each, checked and edited before anything is saved.

Opened with the files of a "Describe each" drop or a file manager's
multi-selection. It runs the same ``desktop.batch`` runner as ``sightline
batch`` on the window's model thread, so the next file is prepared while the
model answers the current one, and Stop ends it within a token. Nothing is
written until the user asks: "Save as sidecars" (never over a file Sightline
did not write), "Write into the images" (XMP/EXIF through exiv2), "Export
CSV" (the command line's columns) or "Copy all".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QThreadPool
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.batch.inputs import BatchItem
from desktop.batch.ledger import Ledger
from desktop.batch.metadata import write_description
from desktop.batch.results import ResultFile
from desktop.batch.runner import Aborted, BatchRunner, Finished, Started
from desktop.batch.sidecars import sidecar_path, write_atomic
from desktop.messages import describe_error
from desktop.ui import worker
from models.errors import InputError

THUMB = 48
_FILE, _STATUS, _ANSWER = range(3)


def _thumbnail(item: BatchItem) -> QIcon:
    image = QImage(str(item.path))
    if image.isNull():
        return QIcon()
    return QIcon(QPixmap.fromImage(image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)))


class BatchView(QWidget):
    def __init__(
        self,
        items: Sequence[BatchItem],
        make_runner: Callable[[], BatchRunner],
        pool: QThreadPool,
        *,
        model_label: str,
        preset: str = "",
        parent: QWidget | None = None,
    ) -> None:
        """``make_runner`` runs on the worker thread, so loading the model never blocks here."""
        super().__init__(parent)
        self.setWindowTitle(f"Describe each — {len(items)} files")
        self.items = list(items)
        self.make_runner = make_runner
        self.pool = pool
        self.model_label = model_label
        self.preset = preset
        self.results: dict[BatchItem, Finished] = {}
        self._rows = {item: row for row, item in enumerate(self.items)}
        self.job: worker.StreamJob | None = None
        self.save_job: worker.StreamJob | None = None
        """Held so its signals are delivered (a dropped Job is deleted with them)."""

        self.table = QTableWidget(len(self.items), 3)
        self.table.setHorizontalHeaderLabels(["File", "Status", "Answer"])
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, item in enumerate(self.items):
            name = QTableWidgetItem(_thumbnail(item), item.path.name)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            name.setToolTip(item.name)
            status = QTableWidgetItem("waiting")
            status.setFlags(status.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, _FILE, name)
            self.table.setItem(row, _STATUS, status)
            self.table.setItem(row, _ANSWER, QTableWidgetItem(""))
            self.table.setRowHeight(row, THUMB + 8)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(self.items))
        self.progress.setValue(0)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.sidecar_button = QPushButton("Save as sidecars")
        self.sidecar_button.clicked.connect(self.save_sidecars)
        self.metadata_button = QPushButton("Write into the images")
        self.metadata_button.clicked.connect(self.write_metadata)
        self.csv_button = QPushButton("Export CSV")
        self.csv_button.clicked.connect(self._ask_csv_path)
        self.copy_button = QPushButton("Copy all")
        self.copy_button.clicked.connect(self.copy_all)
        buttons = QHBoxLayout()
        for b in (
            self.stop_button,
            self.sidecar_button,
            self.metadata_button,
            self.csv_button,
            self.copy_button,
        ):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.progress)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self._set_saving_enabled(False)
        self.resize(900, 600)

    # -- running -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def start(self) -> None:
        make_runner, items = self.make_runner, self.items

        def work(cancel: threading.Event) -> Iterator[object]:
            # Stop in the window cuts the answer in progress short: the user is watching.
            yield from make_runner().run(items, cancel, cancel)

        self.job = worker.stream(self.pool, work, self._on_event, self._on_failed, self._finished)

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()

    def _cell(self, item: BatchItem, column: int) -> QTableWidgetItem:
        cell = self.table.item(self._rows[item], column)
        assert cell is not None  # every cell is made in __init__
        return cell

    def _status(self, item: BatchItem, text: str) -> None:
        self._cell(item, _STATUS).setText(text)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, Started):
            self._status(event.item, "answering…")
        elif isinstance(event, Finished):
            self.results[event.item] = event
            self._cell(event.item, _ANSWER).setText(event.text)
            self._status(event.item, "done" if event.ok else "failed")
            if event.error:
                self._cell(event.item, _STATUS).setToolTip(event.error)
            self.progress.setValue(len(self.results))
        elif isinstance(event, Aborted):
            self.notice.setText(describe_error(event.error).text)

    def _on_failed(self, exc: BaseException) -> None:
        self.notice.setText(describe_error(exc).text)

    def _finished(self) -> None:
        self.stop_button.setEnabled(False)
        for item in self.items:
            if item not in self.results:
                self._status(item, "not done")
        self._set_saving_enabled(True)

    def _set_saving_enabled(self, enabled: bool) -> None:
        for b in (self.sidecar_button, self.metadata_button, self.csv_button, self.copy_button):
            b.setEnabled(enabled)

    # -- saving: the answers as shown, edits included ------------------------

    def answers(self) -> list[tuple[BatchItem, str]]:
        """The answered files and their (possibly edited) answers, in list order."""
        found = []
        for item in self.items:
            result = self.results.get(item)
            if result is not None and result.ok:
                found.append((item, self._cell(item, _ANSWER).text()))
        return found

    def _save(self, label: str, save_one: Callable[[BatchItem, str], None]) -> None:
        """Write on a worker thread; each file's outcome comes back to its status cell."""
        answers = self.answers()

        def work(_cancel: threading.Event) -> Iterator[tuple[BatchItem, str]]:
            for item, text in answers:
                try:
                    save_one(item, text)
                except (InputError, OSError) as exc:
                    yield item, describe_error(exc).text
                else:
                    yield item, label

        def show(outcome: Any) -> None:
            item, text = outcome
            self._status(item, text)

        self._set_saving_enabled(False)
        self.save_job = worker.stream(
            self.pool, work, show, self._on_failed, lambda: self._set_saving_enabled(True)
        )

    def save_sidecars(self) -> None:
        json_preset = self.preset == "json"

        def save_one(item: BatchItem, text: str) -> None:
            target = sidecar_path(item, json=json_preset)
            ledger = Ledger()
            try:
                if not ledger.owns(target):
                    raise InputError.for_file(target, "exists and was not written by Sightline")
                write_atomic(target, (text + "\n").encode("utf-8"))
                ledger.wrote(target)
            finally:
                ledger.close()

        self._save("saved beside it", save_one)

    def write_metadata(self) -> None:
        alt_text = self.preset == "alt-text"

        def save_one(item: BatchItem, text: str) -> None:
            if item.page is not None:
                raise InputError.for_file(item.path, "a PDF page cannot hold a description")
            write_description(item.path, text, alt_text=alt_text)

        self._save("written into it", save_one)

    def _ask_csv_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", "descriptions.csv", "CSV (*.csv)")
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """The same columns as ``sightline batch --out FILE.csv``."""
        out = ResultFile(path)
        try:
            for item, text in self.answers():
                result = self.results[item]
                out.append(
                    {
                        "path": item.name,
                        "text": text,
                        "model": self.model_label,
                        "preset": self.preset,
                        "prompt_tokens": result.usage.prompt_tokens,
                        "completion_tokens": result.usage.completion_tokens,
                        "ms": round(result.ms, 1),
                        "error": None,
                    }
                )
        except (InputError, OSError) as exc:
            self.notice.setText(describe_error(exc).text)
        finally:
            out.close()

    def copy_all(self) -> None:
        text = "\n\n".join(f"{item.name}\n{answer}" for item, answer in self.answers())
        QGuiApplication.clipboard().setText(text)
