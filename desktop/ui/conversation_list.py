"""The sidebar: conversations newest first, searchable, each with small operations.

Clicking one emits ``opened(id)``; rename, delete and export are small
operations that go through the history writer, whose ``changed`` signal makes
this list (and anything else showing history) refresh itself.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.cloud_policy import is_cloud
from desktop.history.store import HistoryStore
from desktop.ui import worker
from desktop.ui.history_writes import HistoryWrites

_PAGE = 60


def relative_date(when: float, now: float | None = None) -> str:
    """ "just now", "5 min ago", "yesterday", "3 days ago", else the date."""
    now = time.time() if now is None else now
    seconds = max(0.0, now - when)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    today = time.localtime(now)
    then = time.localtime(when)
    days = (
        time.mktime((*today[:3], 0, 0, 0, 0, 0, -1)) - time.mktime((*then[:3], 0, 0, 0, 0, 0, -1))
    ) // 86400
    if days <= 0:
        return time.strftime("%H:%M", then)
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{int(days)} days ago"
    return time.strftime("%d %b %Y", then)


class SearchField(QLineEdit):
    """Esc clears the search (before the window's Esc, which stops an answer)."""

    def event(self, event: QEvent) -> bool:
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.ShortcutOverride
            and event.key() == Qt.Key.Key_Escape
            and self.text()
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
            return
        super().keyPressEvent(event)


class ConversationList(QWidget):
    opened = Signal(int)
    deleted = Signal(int)
    exported = Signal(object)
    """The path an export was written to."""

    def __init__(self, store: HistoryStore, writes: HistoryWrites) -> None:
        super().__init__()
        self.store = store
        self.writes = writes
        self.current: int | None = None
        self._listed = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        self.search = SearchField()
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        layout.addWidget(self.search)
        self.items = QListWidget()
        self.items.setObjectName("conversations")
        self.items.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.items.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.items.setUniformItemSizes(True)
        self.items.itemActivated.connect(self._activated)
        self.items.itemClicked.connect(self._activated)
        self.items.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.items.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.items.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.items, 1)
        self.empty = QLabel()
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.empty.hide()
        layout.addWidget(self.empty)
        layout.addStretch(0)
        writes.changed.connect(self.refresh)

    def count(self) -> int:
        return self.items.count()

    def set_current(self, cid: int | None) -> None:
        """Highlight the open conversation (none for a new chat)."""
        self.current = cid
        self.items.clearSelection()
        for i in range(self.items.count()):
            item = self.items.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == cid:
                self.items.setCurrentItem(item)
                return
        self.items.setCurrentRow(-1)

    def refresh(self) -> None:
        query = self.search.text().strip()
        self.items.clear()
        self._listed = 0
        if query:
            seen: set[int] = set()
            for hit in self.store.search(query):
                if hit.conversation_id not in seen:
                    seen.add(hit.conversation_id)
                    self._add(hit.conversation_id, hit.title or "(untitled)", hit.snippet)
        else:
            self._more()
        self.empty.setText(
            f"No conversation matches “{query}”." if query else "No conversations yet."
        )
        self.empty.setVisible(self.items.count() == 0)
        self.items.setVisible(self.items.count() > 0)
        self.set_current(self.current)

    def _more(self) -> None:
        """The newest conversations first; older ones load as the list is scrolled down."""
        rows = self.store.list_conversations(limit=_PAGE, offset=self._listed)
        self._listed += len(rows)
        for row in rows:
            title = row.title or "(untitled)"
            if row.model and is_cloud(row.model.split(":", 1)[0]):
                title = "☁ " + title
            self._add(row.id, f"{title}\n{relative_date(row.updated_at)}", row.model or "")

    def _scrolled(self, value: int) -> None:
        bar = self.items.verticalScrollBar()
        if value >= bar.maximum() and not self.search.text().strip():
            self._more()

    def _add(self, cid: int, text: str, tooltip: str) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, cid)
        item.setToolTip(f"{text.splitlines()[0]}\n{tooltip}".strip())
        self.items.addItem(item)
        if cid == self.current:
            self.items.setCurrentItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        cid = int(item.data(Qt.ItemDataRole.UserRole))
        self.current = cid
        self.opened.emit(cid)

    def _menu(self, pos: QPoint) -> None:
        item = self.items.itemAt(pos)
        if item is None:
            return
        self.menu_for(int(item.data(Qt.ItemDataRole.UserRole))).exec(self.items.mapToGlobal(pos))

    def menu_for(self, cid: int) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.ask_rename(cid))
        menu.addAction("Export Markdown…", lambda: self.ask_export(cid, "md"))
        menu.addAction("Export JSON…", lambda: self.ask_export(cid, "json"))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self.ask_delete(cid))
        return menu

    # -- the operations -----------------------------------------------------------

    def ask_rename(self, cid: int) -> None:
        title, ok = QInputDialog.getText(self, "Rename", "Title:", text=self.store.title(cid))
        if ok and title.strip():
            self.rename(cid, title.strip())

    def rename(self, cid: int, title: str) -> worker.CallJob:
        return self.writes.run(lambda w: w.rename(cid, title))

    def ask_delete(self, cid: int) -> None:
        """Deleting cannot be undone, so the safe answer (No) is the default."""
        answer = QMessageBox.question(
            self,
            "Delete conversation",
            f"Delete “{self.store.title(cid) or 'this conversation'}” and its images? "
            "This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(cid)

    def delete(self, cid: int) -> worker.CallJob:
        self.deleted.emit(cid)
        return self.writes.run(lambda w: w.delete_conversation(cid))

    def ask_export(self, cid: int, fmt: str) -> None:
        suggested = str(Path.home() / f"conversation-{cid}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", suggested)
        if path:
            self.export(cid, fmt, Path(path))

    def export(self, cid: int, fmt: str, path: Path) -> worker.CallJob:
        from desktop.history.export import export_json, export_markdown

        exporter = export_json if fmt == "json" else export_markdown
        return self.writes.run(lambda w: exporter(w, cid, path), self.exported.emit)
