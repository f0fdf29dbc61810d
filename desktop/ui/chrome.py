"""The window's chrome: menu bar, toolbar, shortcuts, and the window state kept between runs.

Every action is in a menu (so it can be found) and most have a shortcut
(listed under Help → Keyboard shortcuts); the toolbar holds the few used
all the time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QToolBar, QWidget

from desktop.paths import app_paths
from desktop.ui.icons import icon

MainWindow = Any
"""The chat window (typed loosely: its module imports this one, not the other way round)."""

SHORTCUTS = (
    ("Enter / Ctrl+Enter", "Send"),
    ("Shift+Enter", "New line in the message"),
    ("Esc", "Stop the answer"),
    ("Ctrl+N", "New chat"),
    ("Ctrl+O", "Attach images or PDFs"),
    ("Ctrl+F", "Search conversations (Esc clears)"),
    ("Ctrl+Shift+F", "Find things in the attached picture"),
    ("Ctrl+B", "Show or hide the sidebar"),
    ("Ctrl+End", "Jump to the latest message"),
    ("Ctrl+,", "Settings"),
    ("Tab / Shift+Tab", "Move between controls"),
    ("Ctrl+Q", "Quit"),
)


def _action(
    window: QWidget,
    text: str,
    handler: Callable[[], object],
    keys: str | QKeySequence.StandardKey | None = None,
    icon_name: str | None = None,
) -> QAction:
    action = QAction(text, window)
    if keys is not None:
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if icon_name:
        action.setData(icon_name)
        action.setIcon(icon(icon_name))
    action.triggered.connect(lambda _checked=False: handler())
    window.addAction(action)
    return action


def build(w: MainWindow) -> dict[str, QAction]:
    """Menus and toolbar for the window; returns the actions by name for wiring and tests."""
    a = {
        "new": _action(w, "&New chat", w.new_chat, "Ctrl+N", "new-chat"),
        "attach": _action(w, "&Attach…", w.attachments.ask_files, "Ctrl+O", "attach"),
        "describe_each": _action(w, "&Describe each file…", lambda: _describe_each(w)),
        "export": _action(w, "&Export conversation…", lambda: _export(w)),
        "settings": _action(w, "&Settings…", lambda: open_settings(w), "Ctrl+,", "settings"),
        "quit": _action(w, "&Quit", w.close, "Ctrl+Q"),
        "send": _action(w, "Send", w.send_or_stop, "Ctrl+Return"),
        "stop": _action(w, "Stop the answer", w.stop, "Esc"),
        "copy_answer": _action(w, "Copy the last answer", lambda: _copy_last(w)),
        "conversation": _action(w, "This &conversation…", lambda: _conversation(w)),
        "find": _action(w, "&Find conversations", w.sidebar.search.setFocus, "Ctrl+F"),
        "find_in_picture": _action(
            w, "Find in &picture…", lambda: _find_in_picture(w), "Ctrl+Shift+F"
        ),
        "sidebar": _action(w, "&Sidebar", lambda: toggle_sidebar(w), "Ctrl+B", "sidebar"),
        "latest": _action(w, "Jump to &latest", w.thread_view.jump_to_latest, "Ctrl+End"),
        "shortcuts": _action(w, "&Keyboard shortcuts", lambda: _shortcuts(w)),
        "about": _action(w, "&About Sightline", lambda: _about(w)),
    }
    a["sidebar"].setCheckable(True)
    a["sidebar"].setChecked(True)
    bar = w.menuBar()
    for title, names in (
        ("&File", ("new", "attach", "describe_each", "export", None, "settings", None, "quit")),
        (
            "&Edit",
            ("send", "stop", None, "copy_answer", "find", "find_in_picture", None, "conversation"),
        ),
        ("&View", ("sidebar", "latest")),
        ("&Help", ("shortcuts", "about")),
    ):
        menu = bar.addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(a[name])
    tools = QToolBar("Main")
    tools.setObjectName("mainToolbar")
    tools.setMovable(False)
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tools.addAction(a["sidebar"])
    tools.addAction(a["new"])
    tools.addSeparator()
    tools.addWidget(w.picker)
    tools.addAction(a["settings"])
    w.addToolBar(tools)
    return a


def toggle_sidebar(w: MainWindow) -> None:
    visible = not w.sidebar.isVisible()
    w.sidebar.setVisible(visible)
    w.actions_["sidebar"].setChecked(visible)


def edit_dialog(parent: QWidget, text: str) -> tuple[str, bool]:
    return QInputDialog.getMultiLineText(parent, "Edit and resend", "Message:", text)


def open_settings(w: MainWindow) -> None:
    from desktop.ui import theme
    from desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(w.settings, [e.qualified_name for e in w.models], w)
    for make_panel in w.settings_panels:
        dialog.add_panel(*make_panel())
    if dialog.exec():
        w.apply_settings(dialog.saved)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, w.settings.theme)
            refresh_icons(w)


def refresh_icons(w: MainWindow) -> None:
    """Redraw the icons in the variant for the theme now in use."""
    for action in w.actions_.values():
        if action.data():
            action.setIcon(icon(str(action.data())))
    w.chat.refresh_icons(w.turns.answering)


def _conversation(w: MainWindow) -> None:
    from desktop.ui.conversation_settings import ConversationSettings

    ConversationSettings(w.turns, w).exec()


def _export(w: MainWindow) -> None:
    cid = w.turns.conversation_id
    if cid is None:
        w.banner.show_message("Open a conversation to export it.", "notice")
    else:
        w.sidebar.ask_export(cid, "md")


def _copy_last(w: MainWindow) -> None:
    view = w.thread_view.last_answer()
    if view is not None:
        QApplication.clipboard().setText(view.text)


def _shortcuts(w: MainWindow) -> None:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
    QMessageBox.information(w, "Keyboard shortcuts", f"<table>{rows}</table>")


def _about(w: MainWindow) -> None:
    QMessageBox.about(
        w,
        "About Sightline",
        "Sightline: a local-first assistant that sees. Models run on this computer; "
        "nothing leaves it unless you choose a cloud model.",
    )


def confirm_close(w: MainWindow) -> bool:
    """Closing mid-answer asks first; the part already written is kept either way."""
    if not w.turns.answering:
        return True
    answer = QMessageBox.question(
        w,
        "Stop the answer?",
        "An answer is still being written. Stop it and close Sightline? "
        "What it has written so far is kept.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class WindowState:
    """Geometry and the splitter, kept in the config folder between runs."""

    def __init__(self) -> None:
        path = app_paths().config_dir / "window.ini"
        self.store = QSettings(str(path), QSettings.Format.IniFormat)

    def restore(self, w: MainWindow) -> None:
        geometry = self.store.value("geometry")
        if not (isinstance(geometry, QByteArray) and w.restoreGeometry(geometry)):
            w.resize(1100, 760)
        splitter = self.store.value("splitter")
        if isinstance(splitter, QByteArray):
            w.splitter.restoreState(splitter)

    def save(self, w: MainWindow) -> None:
        self.store.setValue("geometry", w.saveGeometry())
        self.store.setValue("splitter", w.splitter.saveState())
        self.store.sync()


def _describe_each(w: MainWindow) -> None:
    """Loaded on first use: the batch machinery is no part of the window's start."""
    from desktop.ui import describe_each

    describe_each.ask_files(w)


def _find_in_picture(w: MainWindow) -> None:
    """Looked up when chosen: the window makes its finder on first use."""
    w.finder.ask()
