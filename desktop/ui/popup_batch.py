"""Several files right-clicked at once: one popup with the list, describing the picked one.

Explorer starts one ``describe --popup`` per selected file; the first instance
gathers them (see ``PopupGatherer`` in desktop/ui/app.py) and shows this instead of
one window per file. Each row, when picked, gets the usual popup embedded beside the
list, so what a single file shows (streamed text, Copy, Save alt text, Open in chat)
is the same here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QListWidget, QWidget

from desktop.ui.popup import PopupWindow

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow


class PopupBatch(QWidget):
    def __init__(self, window: MainWindow, paths: list[Path]) -> None:
        super().__init__()
        self.main = window
        self.paths = paths
        self.setWindowTitle(f"Sightline — {len(paths)} files")
        self.resize(760, 440)
        self.row = layout = QHBoxLayout(self)
        self.files = QListWidget()
        self.files.addItems([p.name for p in paths])
        self.files.setMaximumWidth(220)
        layout.addWidget(self.files)
        self.current: PopupWindow | None = None
        self.files.currentRowChanged.connect(self._show)
        self.files.setCurrentRow(0)

    def _show(self, row: int) -> None:
        if row < 0:
            return
        if self.current is not None:
            self.current.close()  # stops its answer
            self.current.deleteLater()
        self.current = PopupWindow(self.main, self.paths[row])
        self.row.addWidget(self.current, 1)
        self.current.show()

    def closeEvent(self, event: object) -> None:
        if self.current is not None:
            self.current.close()
        super().closeEvent(event)  # type: ignore[arg-type]
