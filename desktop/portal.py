"""The xdg-desktop-portal calls Sightline makes on Wayland: Screenshot and GlobalShortcuts.

Wayland lets no application read the screen or grab keys; the desktop's
portal does it on the user's behalf. Each portal call answers with a
Request object whose ``Response`` signal carries the result, and its
options and results are ``a{sv}`` maps. jeepney (pure Python, already a
dependency of keyring on Linux) speaks D-Bus with those types intact, which
Qt's Python binding of QtDBus cannot unpack. Qt-free: the caller decides
how to wait.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from models.errors import SightlineError

_BUS_NAME = "org.freedesktop.portal.Desktop"
_PATH = "/org/freedesktop/portal/desktop"
RESPONSE_TIMEOUT_S = 60.0
"""A portal may ask the user first (a permission dialog); a minute, then we stop waiting."""
_tokens = itertools.count(1)


class PortalUnavailable(SightlineError):
    """The desktop has no such portal (or no session bus); the message names which."""

    exit_code = 3


class Portal:
    """One session-bus connection to the desktop's portals."""

    def __init__(self) -> None:
        from jeepney.io.blocking import open_dbus_connection

        try:
            self.conn = open_dbus_connection(bus="SESSION")
        except (OSError, KeyError, ValueError) as exc:
            raise PortalUnavailable(
                f"there is no session D-Bus to reach the desktop ({exc})"
            ) from exc

    def close(self) -> None:
        self.conn.close()

    def _address(self, interface: str, path: str = _PATH) -> Any:
        from jeepney import DBusAddress

        return DBusAddress(path, bus_name=_BUS_NAME, interface=interface)

    def _call(self, interface: str, method: str, signature: str, body: tuple[Any, ...]) -> Any:
        from jeepney import MessageType, new_method_call

        reply = self.conn.send_and_get_reply(
            new_method_call(self._address(interface), method, signature, body), timeout=10
        )
        if reply.header.message_type == MessageType.error:
            detail = reply.body[0] if reply.body else reply.header.fields
            raise PortalUnavailable(f"{interface}.{method} failed ({detail})")
        return reply.body

    def has(self, interface: str) -> bool:
        """Whether the desktop implements ``interface`` (its ``version`` property can be read)."""
        try:
            self._call("org.freedesktop.DBus.Properties", "Get", "ss", (interface, "version"))
        except PortalUnavailable:
            return False
        return True

    def request(
        self,
        interface: str,
        method: str,
        signature: str,
        body: tuple[Any, ...],
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """Call a portal method that answers through a Request; its results, unwrapped."""
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy

        token = f"sightline{os.getpid()}_{next(_tokens)}"
        sender = (self.conn.unique_name or "").lstrip(":").replace(".", "_")
        handle = f"{_PATH}/request/{sender}/{token}"
        rule = MatchRule(
            type="signal",
            interface="org.freedesktop.portal.Request",
            member="Response",
            path=handle,
        )
        Proxy(message_bus, self.conn).AddMatch(rule)
        wrapped = {"handle_token": ("s", token), **options}
        with self.conn.filter(rule) as queue:
            self._call(interface, method, signature + "a{sv}", (*body, wrapped))
            try:
                response = self.conn.recv_until_filtered(queue, timeout=RESPONSE_TIMEOUT_S)
            except TimeoutError:
                raise PortalUnavailable(
                    f"the desktop did not answer {method} within a minute"
                ) from None
        code, results = response.body
        if code != 0:
            raise PortalUnavailable(f"the desktop declined {method} (cancelled or not allowed)")
        return {key: value[1] for key, value in results.items()}


NO_SCREENSHOT = (
    "this Wayland desktop offers no screenshot portal (org.freedesktop.portal.Screenshot); "
    "install xdg-desktop-portal and your desktop's backend, or capture from an X11 session"
)


def screenshot() -> Path:
    """A file holding the whole desktop, taken by the Screenshot portal without a dialog."""
    portal = Portal()
    try:
        if not portal.has("org.freedesktop.portal.Screenshot"):
            raise PortalUnavailable(NO_SCREENSHOT)
        results = portal.request(
            "org.freedesktop.portal.Screenshot",
            "Screenshot",
            "s",
            ("",),
            {"interactive": ("b", False)},
        )
    finally:
        portal.close()
    uri = str(results.get("uri", ""))
    if not uri.startswith("file:"):
        raise PortalUnavailable(f"the screenshot portal returned no file ({uri or 'nothing'})")
    return Path(unquote(urlsplit(uri).path))


SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
NO_SHORTCUTS = (
    "this Wayland desktop offers no global shortcuts (no org.freedesktop.portal.GlobalShortcuts); "
    "use the tray icon's Capture region, or bind `sightline capture` in your desktop's settings"
)


class ShortcutSession:
    """A GlobalShortcuts session with one bound shortcut; ``fileno`` and ``poll`` to listen."""

    def __init__(self, shortcut_id: str, description: str, trigger: str) -> None:
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy

        self.portal = Portal()
        self.shortcut_id = shortcut_id
        try:
            if not self.portal.has(SHORTCUTS):
                raise PortalUnavailable(NO_SHORTCUTS)
            token = f"sightline{os.getpid()}"
            created = self.portal.request(
                SHORTCUTS, "CreateSession", "", (), {"session_handle_token": ("s", token)}
            )
            self.session = str(created["session_handle"])
            shortcut = (
                shortcut_id,
                {"description": ("s", description), "preferred_trigger": ("s", trigger)},
            )
            self.portal.request(
                SHORTCUTS, "BindShortcuts", "oa(sa{sv})s", (self.session, [shortcut], ""), {}
            )
            rule = MatchRule(type="signal", interface=SHORTCUTS, member="Activated", path=_PATH)
            Proxy(message_bus, self.portal.conn).AddMatch(rule)
            self.queue: deque[Any] = deque()
            self.handle = self.portal.conn.filter(rule, queue=self.queue, bufsize=64)
        except BaseException:
            self.portal.close()
            raise

    def fileno(self) -> int:
        return int(self.portal.conn.sock.fileno())

    def poll(self) -> int:
        """Read what arrived; how many times our shortcut was pressed."""
        with contextlib.suppress(TimeoutError):
            self.portal.conn.recv_messages(timeout=0)
        pressed = 0
        while self.queue:
            body = self.queue.popleft().body
            if len(body) > 1 and body[0] == self.session and body[1] == self.shortcut_id:
                pressed += 1
        return pressed

    def close(self) -> None:
        from jeepney import DBusAddress, new_method_call

        try:
            self.handle.close()
            address = DBusAddress(
                self.session, bus_name=_BUS_NAME, interface="org.freedesktop.portal.Session"
            )
            self.portal.conn.send(new_method_call(address, "Close"))
        finally:
            self.portal.close()
