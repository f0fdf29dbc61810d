"""Settings' "Add Describe with Sightline to the file manager": the integration's status and
the buttons that add or remove it, self-contained so any settings page can embed it.

It runs the same plan as ``sightline integrate install|uninstall|status`` on a worker
thread (the refresh tools it may start are processes), so the window never waits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Literal

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.integrate import installer
from desktop.integrate.platforms import plan_for
from desktop.messages import describe_error
from desktop.ui import worker

TITLE = "Add Describe with Sightline to the file manager"
_NAMES = {
    "desktop-entry": "Applications menu",
    "icon": "Icon",
    "nautilus": "Files (Nautilus)",
    "dolphin": "Dolphin",
    "nemo": "Nemo",
    "thunar": "Thunar",
    "caja": "Caja",
    "explorer": "Explorer",
    "send-to": "Send to",
    "finder": "Finder Quick Action",
}


def _describe(state: installer.ManagerStatus) -> str:
    if not state.installed:
        return "not added"
    return "added" if state.current else "added, for another copy of Sightline"


class IntegrationPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(TITLE, parent)
        self.pool = pool or QThreadPool.globalInstance()
        layout = QVBoxLayout(self)
        self.summary = QLabel("Checking…")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.details = QLabel()
        self.details.setWordWrap(True)
        layout.addWidget(self.details)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self._run("install"))
        row.addWidget(self.add_button)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: self._run("uninstall"))
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.job: worker.StreamJob | None = None
        self.states: list[installer.ManagerStatus] = []
        self.refresh()

    def refresh(self) -> None:
        self._run(None)

    def _run(self, action: Literal["install", "uninstall"] | None) -> None:
        """Install or uninstall (or neither), then read the status, off the GUI thread."""
        self._busy(True)

        def work(cancel: threading.Event) -> Iterator[list[installer.ManagerStatus]]:
            plan = plan_for()
            if action == "install":
                installer.install(plan)
            elif action == "uninstall":
                installer.uninstall(plan)
            yield installer.status(plan)

        self.job = worker.stream(
            self.pool, work, self._show, self._failed, lambda: self._busy(False)
        )

    def _busy(self, busy: bool) -> None:
        self.add_button.setEnabled(not busy)
        self.remove_button.setEnabled(not busy)

    def _show(self, states: list[installer.ManagerStatus]) -> None:
        self.states = states
        added = [s for s in states if s.installed]
        if not added:
            self.summary.setText("Not added yet: Add puts it in the right-click menu.")
        elif len(added) == len(states) and all(s.current for s in states):
            self.summary.setText("Added: right-click an image or PDF to describe it.")
        else:
            self.summary.setText("Partly added, or for another copy of Sightline: Add updates it.")
        self.details.setText(
            "\n".join(f"{_NAMES.get(s.manager, s.manager)}: {_describe(s)}" for s in states)
        )

    def _failed(self, exc: BaseException) -> None:
        self.summary.setText(describe_error(exc).text)

    def closeEvent(self, event: object) -> None:
        if self.job is not None:
            self.job.stop()
        super().closeEvent(event)  # type: ignore[arg-type]
