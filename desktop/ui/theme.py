"""Light and dark, both readable; "system" follows the OS where Qt can tell."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_COLORS = {
    "light": {
        "window": "#f6f7f9",
        "base": "#ffffff",
        "text": "#1d1f23",
        "muted": "#5f6570",
        "user": "#e8f0fe",
        "assistant": "#ffffff",
        "accent": "#2f6fde",
        "error": "#fde8e8",
        "error_text": "#8a1c1c",
        "border": "#d6d9de",
    },
    "dark": {
        "window": "#1e1f22",
        "base": "#26282c",
        "text": "#e8eaed",
        "muted": "#a0a6b0",
        "user": "#2b3a55",
        "assistant": "#26282c",
        "accent": "#7aa7ff",
        "error": "#4a2326",
        "error_text": "#ffd6d6",
        "border": "#3a3d42",
    },
}


def resolve(theme: str) -> str:
    if theme in _COLORS:
        return theme
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply(app: QApplication, theme: str) -> str:
    name = resolve(theme)
    c = _COLORS[name]
    app.setStyle("Fusion")
    palette = QPalette()
    for role, key in (
        (QPalette.ColorRole.Window, "window"),
        (QPalette.ColorRole.Base, "base"),
        (QPalette.ColorRole.AlternateBase, "window"),
        (QPalette.ColorRole.Text, "text"),
        (QPalette.ColorRole.WindowText, "text"),
        (QPalette.ColorRole.Button, "base"),
        (QPalette.ColorRole.ButtonText, "text"),
        (QPalette.ColorRole.Highlight, "accent"),
        (QPalette.ColorRole.ToolTipBase, "base"),
        (QPalette.ColorRole.ToolTipText, "text"),
        (QPalette.ColorRole.PlaceholderText, "muted"),
    ):
        palette.setColor(role, QColor(c[key]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    app.setPalette(palette)
    app.setStyleSheet(f"""
        QFrame#userMessage {{ background: {c["user"]}; border: 1px solid {c["border"]};
                              border-radius: 8px; }}
        QFrame#assistantMessage {{ background: {c["assistant"]}; border: 1px solid {c["border"]};
                                   border-radius: 8px; }}
        QFrame#userMessage QTextBrowser {{ background: {c["user"]}; }}
        QFrame#assistantMessage QTextBrowser {{ background: {c["assistant"]}; }}
        QLabel#who {{ font-weight: bold; color: {c["muted"]}; }}
        QLabel#footer {{ color: {c["muted"]}; font-size: 11px; }}
        QFrame#chip {{ border: 1px solid {c["border"]}; border-radius: 6px; }}
        QFrame#banner {{ background: {c["error"]}; border-radius: 6px; }}
        QFrame#banner QLabel {{ color: {c["error_text"]}; }}
        QFrame#welcome {{ background: {c["base"]}; border: 1px solid {c["border"]};
                          border-radius: 10px; }}
        QLabel#title {{ font-size: 18px; font-weight: bold; }}
    """)
    return name
