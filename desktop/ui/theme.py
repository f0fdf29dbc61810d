"""Light and dark, both readable; "system" follows the OS where Qt can tell.

The platform's own widget style is kept where it draws with the palette
(macOS, Windows 11, Fusion); only colours and a few chat-specific rules are
ours. Every text colour meets WCAG AA on its background (4.5:1) and every
control outline 3:1, in both themes: ``CONTRAST_PAIRS`` lists them and a
test checks them.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

COLORS = {
    "light": {
        "window": "#f5f6f8",
        "base": "#ffffff",
        "alt": "#eef0f3",
        "text": "#1d1f23",
        "muted": "#5a606b",
        "control": "#7c828d",
        "user": "#e8f0fe",
        "assistant": "#ffffff",
        "accent": "#2b62c9",
        "accent_text": "#ffffff",
        "error": "#fde8e8",
        "error_text": "#8a1c1c",
        "notice": "#e8f0fe",
        "notice_text": "#1c3f7a",
        "success": "#e5f5ea",
        "success_text": "#1b5e31",
        "border": "#d6d9de",
    },
    "dark": {
        "window": "#1e1f22",
        "base": "#26282c",
        "alt": "#303338",
        "text": "#e8eaed",
        "muted": "#a7adb7",
        "control": "#8a909a",
        "user": "#2b3a55",
        "assistant": "#26282c",
        "accent": "#3b6fd4",
        "accent_text": "#ffffff",
        "error": "#4a2326",
        "error_text": "#ffd6d6",
        "notice": "#22324d",
        "notice_text": "#d6e4ff",
        "success": "#1f3a28",
        "success_text": "#cdeed8",
        "border": "#3a3d42",
    },
}

CONTRAST_PAIRS = (
    # (foreground, background, minimum ratio)
    ("text", "window", 4.5),
    ("text", "base", 4.5),
    ("text", "user", 4.5),
    ("text", "alt", 4.5),
    ("muted", "base", 4.5),
    ("muted", "window", 4.5),
    ("muted", "user", 4.5),
    ("accent_text", "accent", 4.5),
    ("error_text", "error", 4.5),
    ("notice_text", "notice", 4.5),
    ("success_text", "success", 4.5),
    ("control", "base", 3.0),
    ("control", "window", 3.0),
)


def luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def resolve(theme: str) -> str:
    if theme in COLORS:
        return theme
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def _style_name() -> str:
    """The platform's style where it honours a custom palette; Fusion elsewhere."""
    if sys.platform == "darwin":
        return "macOS"
    if sys.platform == "win32":
        return "windows11"
    return "Fusion"


def apply(app: QApplication, theme: str) -> str:
    name = resolve(theme)
    c = COLORS[name]
    app.setStyle(_style_name())
    palette = QPalette()
    for role, key in (
        (QPalette.ColorRole.Window, "window"),
        (QPalette.ColorRole.Base, "base"),
        (QPalette.ColorRole.AlternateBase, "alt"),
        (QPalette.ColorRole.Text, "text"),
        (QPalette.ColorRole.WindowText, "text"),
        (QPalette.ColorRole.Button, "base"),
        (QPalette.ColorRole.ButtonText, "text"),
        (QPalette.ColorRole.Highlight, "accent"),
        (QPalette.ColorRole.HighlightedText, "accent_text"),
        (QPalette.ColorRole.ToolTipBase, "base"),
        (QPalette.ColorRole.ToolTipText, "text"),
        (QPalette.ColorRole.PlaceholderText, "muted"),
        (QPalette.ColorRole.Mid, "control"),
        (QPalette.ColorRole.Dark, "control"),
        (QPalette.ColorRole.Link, "accent"),
    ):
        palette.setColor(role, QColor(c[key]))
    app.setPalette(palette)
    app.setStyleSheet(_SHEET.format(**c))
    return name


_SHEET = """
QFrame#userMessage {{ background: {user}; border: 1px solid {border}; border-radius: 10px; }}
QFrame#assistantMessage {{ background: {assistant}; border: 1px solid {border};
                           border-radius: 10px; }}
QFrame#userMessage QTextBrowser {{ background: {user}; }}
QFrame#assistantMessage QTextBrowser {{ background: {assistant}; }}
QLabel#who {{ font-weight: 600; color: {muted}; }}
QLabel#footer, QLabel#muted, QLabel#modelStatus {{ color: {muted}; }}
QLabel#dropHint {{ color: {muted}; font-size: 15px; padding: 40px;
                   border: 2px dashed {control}; border-radius: 14px; }}
QFrame#chip {{ border: 1px solid {control}; border-radius: 8px; background: {base}; }}
QFrame#banner {{ border-radius: 8px; }}
QFrame#banner[kind="error"] {{ background: {error}; }}
QFrame#banner[kind="error"] QLabel {{ color: {error_text}; }}
QFrame#banner[kind="notice"] {{ background: {notice}; }}
QFrame#banner[kind="notice"] QLabel {{ color: {notice_text}; }}
QFrame#banner[kind="success"] {{ background: {success}; }}
QFrame#banner[kind="success"] QLabel {{ color: {success_text}; }}
QFrame#welcome {{ background: {base}; border: 1px solid {border}; border-radius: 12px; }}
QLabel#title {{ font-size: 20px; font-weight: 600; }}
QPlainTextEdit#composer {{ border: 1px solid {control}; border-radius: 8px; padding: 4px;
                           background: {base}; }}
QPlainTextEdit#composer:focus {{ border: 2px solid {accent}; }}
QLineEdit {{ border: 1px solid {control}; border-radius: 6px; padding: 3px 6px;
             background: {base}; }}
QLineEdit:focus {{ border: 2px solid {accent}; }}
QListWidget#conversations {{ border: none; background: {window}; }}
QListWidget#conversations::item {{ padding: 6px 8px; border-radius: 6px; }}
QListWidget#conversations::item:selected {{ background: {accent}; color: {accent_text}; }}
QScrollArea#thread, QWidget#threadBackground {{ border: none; background: {window}; }}
QPushButton#jump {{ background: {accent}; color: {accent_text}; border-radius: 12px;
                    padding: 4px 14px; margin-bottom: 10px; }}
QScrollBar:vertical {{ background: {window}; width: 12px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {control}; min-height: 28px; border-radius: 4px;
                               margin: 2px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; width: 0; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid {control};
                        border-radius: 3px; background: {base}; }}
QCheckBox::indicator:checked {{ background: {accent}; border-color: {accent}; }}
"""
