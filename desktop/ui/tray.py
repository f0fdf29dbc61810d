"""The tray icon and the global shortcut: Sightline one click or key away while it runs.

``TrayController`` only says what the user asked for, through signals, so
the window decides what each request does (open a chat, start a capture,
describe the clipboard's image, read a region's text to the clipboard).
Where the desktop has no tray, or the shortcut is taken, ``start`` returns
the sentences saying so; nothing fails silently.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from desktop.ui.hotkeys import DEFAULT_SHORTCUT, GlobalShortcut

NO_TRAY = "this desktop shows no tray icons; use the window or the global shortcut"
MENU = (
    ("new_chat", "New chat"),
    ("capture", "Capture region"),
    ("describe_clipboard", "Describe clipboard image"),
    ("read_region", "Read text from region"),
    ("quit", "Quit"),
)


def app_icon() -> QIcon:
    """An eye in a rounded square, drawn so the tray needs no image file."""
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(40, 96, 200))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(2, 2, 60, 60, 14, 14)
    p.setPen(QPen(QColor(255, 255, 255), 5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(32, 32), 22, 13)
    p.setBrush(QColor(255, 255, 255))
    p.drawEllipse(QPointF(32, 32), 7, 7)
    p.end()
    return QIcon(pixmap)


class TrayController(QObject):
    """Tray menu and global shortcut; connect the ``*_requested`` signals in the window."""

    new_chat_requested = Signal()
    capture_requested = Signal()
    describe_clipboard_requested = Signal()
    read_region_requested = Signal()
    quit_requested = Signal()
    show_requested = Signal()
    """A plain click on the icon: bring the window up."""

    def __init__(
        self, shortcut: str | None = DEFAULT_SHORTCUT, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.actions: dict[str, QAction] = {}
        signals = {
            "new_chat": self.new_chat_requested,
            "capture": self.capture_requested,
            "describe_clipboard": self.describe_clipboard_requested,
            "read_region": self.read_region_requested,
            "quit": self.quit_requested,
        }
        for key, title in MENU:
            if key == "quit":
                self.menu.addSeparator()
            action = self.menu.addAction(title)
            action.triggered.connect(signals[key].emit)
            self.actions[key] = action
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.icon.setToolTip("Sightline")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_click)
        self.shortcut = GlobalShortcut(shortcut or DEFAULT_SHORTCUT, self) if shortcut else None
        if self.shortcut is not None:
            self.shortcut.activated.connect(self.capture_requested.emit)
            self.actions["capture"].setText(f"Capture region\t{self.shortcut.sequence}")

    def start(self) -> list[str]:
        """Show the icon and take the shortcut; what could not be done, in words."""
        problems: list[str] = []
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon.show()
        else:
            problems.append(NO_TRAY)
        if self.shortcut is not None:
            why = self.shortcut.register()
            if why is not None:
                problems.append(f"global shortcut {self.shortcut.sequence} is off: {why}")
        return problems

    def set_shortcut(self, sequence: str | None) -> str | None:
        """Change (or with ``None`` remove) the shortcut, as Settings does; why it is off, if so."""
        if self.shortcut is not None:
            self.shortcut.unregister()
        if not sequence:
            self.actions["capture"].setText("Capture region")
            self.shortcut = None
            return None
        if self.shortcut is None:
            self.shortcut = GlobalShortcut(sequence, self)
            self.shortcut.activated.connect(self.capture_requested.emit)
        self.shortcut.sequence = sequence
        self.actions["capture"].setText(f"Capture region\t{sequence}")
        return self.shortcut.register()

    def text_copied(self, text: str) -> None:
        """After "Read text from region": the text on the clipboard, and a notification."""
        QApplication.clipboard().setText(text)
        words = len(text.split())
        self.notify("Text copied", f"{words} words from the region are on the clipboard.")

    def notify(self, title: str, message: str) -> None:
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(title, message, app_icon(), 4000)

    def stop(self) -> None:
        if self.shortcut is not None:
            self.shortcut.unregister()
        self.icon.hide()

    def _on_click(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_requested.emit()
