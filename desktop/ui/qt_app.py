"""The process's one QApplication, created on first need (the CLI's capture, the tray)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication


def gui_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Sightline")
    app.setDesktopFileName("sightline")
    return app
