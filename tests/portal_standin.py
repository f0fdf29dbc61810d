"""A desktop's portal on a private session bus: Screenshot and GlobalShortcuts, as documented.

Run as ``python -m tests.portal_standin SHOT.png`` with DBUS_SESSION_BUS_ADDRESS set. It owns
org.freedesktop.portal.Desktop, answers each Request through its Response
signal like xdg-desktop-portal does, hands out SHOT.png as the screenshot,
and sends one Activated signal shortly after a shortcut is bound. It prints
"ready" once the name is owned.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import Proxy, open_dbus_connection

PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"


def main(shot: str) -> None:
    conn = open_dbus_connection(bus="SESSION")
    Proxy(message_bus, conn).RequestName("org.freedesktop.portal.Desktop", 4)
    print("ready", flush=True)
    lock = threading.Lock()

    def respond(handle: str, results: dict[str, Any]) -> None:
        signal = new_signal(
            DBusAddress(handle, interface="org.freedesktop.portal.Request"),
            "Response",
            "ua{sv}",
            (0, results),
        )
        with lock:
            conn.send(signal)

    def activated_later(session: str) -> None:
        time.sleep(0.5)
        signal = new_signal(
            DBusAddress(PATH, interface=SHORTCUTS),
            "Activated",
            "osta{sv}",
            (session, "capture-region", 0, {}),
        )
        with lock:
            conn.send(signal)

    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        fields = msg.header.fields
        member = fields.get(HeaderFields.member)
        sender = str(fields.get(HeaderFields.sender, "")).lstrip(":").replace(".", "_")
        options = msg.body[-1] if msg.body and isinstance(msg.body[-1], dict) else {}
        token = options.get("handle_token", ("s", "t"))[1]
        handle = f"{PATH}/request/{sender}/{token}"
        if member == "Get":
            reply = new_method_return(msg, "v", (("u", 1),))
        elif member in ("Screenshot", "CreateSession", "BindShortcuts"):
            reply = new_method_return(msg, "o", (handle,))
        else:
            reply = new_method_return(msg)
        with lock:
            conn.send(reply)
        if member == "Screenshot":
            respond(handle, {"uri": ("s", f"file://{shot}")})
        elif member == "CreateSession":
            session_token = options.get("session_handle_token", ("s", "s"))[1]
            session = f"{PATH}/session/{sender}/{session_token}"
            respond(handle, {"session_handle": ("s", session)})
        elif member == "BindShortcuts":
            respond(handle, {})
            threading.Thread(target=activated_later, args=(msg.body[0],), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1])
