"""The bundled SVG icons, drawn in the colour that reads on the current theme."""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QGuiApplication, QIcon, QPalette


def dark_theme() -> bool:
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 128


def icon(name: str) -> QIcon:
    """``resources/icons/NAME-dark.svg`` on a dark palette, ``NAME-light.svg`` otherwise."""
    variant = "dark" if dark_theme() else "light"
    path = resources.files("resources.icons") / f"{name}-{variant}.svg"
    return QIcon(str(path))
