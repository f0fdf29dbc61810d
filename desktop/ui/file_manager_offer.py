"""An installed Sightline's first window asks, once, to add the right-click to the file manager.

The Windows installer adds it itself (it runs ``integrate install``). A .deb
cannot: a system package writes nothing into each user's own folders, where
every file manager looks for its actions. Nor can an app copied out of a
DMG, which runs nothing on the way in. So the first window of a packaged
Sightline offers it in the banner when none of it is there, and does not
ask again once it has asked; Settings ▸ File manager adds or removes it later.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject

from desktop.integrate import installer
from desktop.integrate.platforms import plan_for
from desktop.messages import describe_error
from desktop.settings import save_settings
from desktop.ui import worker

CAUSE = "file-manager"
QUESTION = (
    "Add “Describe with Sightline” to your file manager's right-click menu for images and PDFs? "
    "Settings ▸ File manager removes it again."
)
ADDED = "Added: right-click an image or PDF and choose “Describe with Sightline”."

_log = logging.getLogger(__name__)


def _nothing_there(_cancel: threading.Event) -> bool:
    return not any(state.installed for state in installer.status(plan_for()))


def _install(_cancel: threading.Event) -> None:
    installer.install(plan_for())


class FileManagerOffer(QObject):
    """Checks off the GUI thread once the window is up, then asks in the window's banner."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window_ = window
        self.checked = False
        self.job: worker.CallJob | None = worker.call(
            self.window_.io_pool, _nothing_there, self._ask, self._unreadable, self._done_checking
        )

    def _unreadable(self, exc: BaseException) -> None:
        """Not the moment for an error nobody asked about: Settings ▸ File manager shows it."""
        _log.warning("file-manager integration status unreadable: %s", exc)

    def _done_checking(self) -> None:
        self.checked = True

    def _ask(self, nothing_there: bool) -> None:
        banner = self.window_.banner
        if not nothing_there or self.window_.closed or banner.isVisible():
            return  # there already, or the banner has something to say: asked another time
        banner.show_message(QUESTION, "notice", CAUSE, action=("Add", self._add))
        settings = self.window_.settings
        settings.file_manager_offered = True
        save_settings(settings)

    def _add(self) -> None:
        self.job = worker.call(self.window_.io_pool, _install, self._added, self._failed)

    def _added(self, _result: None) -> None:
        self.window_.banner.show_message(ADDED, "success", CAUSE)

    def _failed(self, exc: BaseException) -> None:
        self.window_.banner.show_message(describe_error(exc).text, "error", CAUSE)
