"""A global shortcut (default Ctrl+Alt+S) that works while another application has focus.

Each desktop has its own mechanism, and each is used directly: XGrabKey on
X11, RegisterHotKey on Windows, a Carbon hot key on macOS, and the
xdg-desktop-portal GlobalShortcuts interface on Wayland (applications may
not grab keys there). ``register`` returns ``None`` when the shortcut is
live, or the reason it is not (taken by another application, or a desktop
that offers none) so the window can say so and leave the shortcut off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractNativeEventFilter, QObject, QSocketNotifier, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

DEFAULT_SHORTCUT = "Ctrl+Alt+S"


class GlobalShortcut(QObject):
    """Emits ``activated`` each time the key combination is pressed anywhere."""

    activated = Signal()

    def __init__(self, sequence: str = DEFAULT_SHORTCUT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sequence = sequence
        self._backend: _Backend | None = None

    @property
    def active(self) -> bool:
        return self._backend is not None

    def register(self) -> str | None:
        """Start listening; ``None`` on success, else why the shortcut stays off."""
        self.unregister()
        try:
            key = parse_sequence(self.sequence)
        except ValueError as exc:
            return str(exc)
        backend_type = _backend_type()
        if isinstance(backend_type, str):
            return backend_type
        backend = backend_type(key, self.activated.emit)
        problem = backend.start()
        if problem is None:
            self._backend = backend
            return None
        backend.stop()
        return problem

    def unregister(self) -> None:
        if self._backend is not None:
            self._backend.stop()
            self._backend = None


class KeyCombo:
    """A key and its modifiers, with the key also named as X11 and the others name it."""

    def __init__(self, ctrl: bool, alt: bool, shift: bool, meta: bool, name: str) -> None:
        self.ctrl, self.alt, self.shift, self.meta = ctrl, alt, shift, meta
        self.name = name  # "S", "F5", "Space", "Print"


def parse_sequence(text: str) -> KeyCombo:
    """``Ctrl+Alt+S`` and the like, as Qt's Settings editor writes them."""
    seq = QKeySequence(text)
    if seq.count() != 1 or not text.strip():
        raise ValueError(f"{text!r} is not a single key combination, e.g. Ctrl+Alt+S")
    combo = seq[0]  # type: ignore[index]  # the stubs lack __getitem__
    mods = combo.keyboardModifiers()
    from PySide6.QtCore import Qt

    name = QKeySequence(combo.key()).toString()
    if not name or not mods & (
        Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.AltModifier
        | Qt.KeyboardModifier.MetaModifier
    ):
        raise ValueError(f"{text!r} needs Ctrl, Alt or Meta, or it would steal a plain key")
    return KeyCombo(
        ctrl=bool(mods & Qt.KeyboardModifier.ControlModifier),
        alt=bool(mods & Qt.KeyboardModifier.AltModifier),
        shift=bool(mods & Qt.KeyboardModifier.ShiftModifier),
        meta=bool(mods & Qt.KeyboardModifier.MetaModifier),
        name=name,
    )


class _Backend:
    def __init__(self, key: KeyCombo, fire: Callable[[], None]) -> None:
        self.key = key
        self.fire = fire

    def start(self) -> str | None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


def _backend_type() -> type[_Backend] | str:
    """The mechanism for this desktop, or the sentence saying there is none."""
    if sys.platform == "win32":
        return _WindowsHotKey
    if sys.platform == "darwin":
        return _CarbonHotKey
    if os.environ.get("XDG_SESSION_TYPE") == "wayland" or (
        os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY")
    ):
        return _PortalShortcut
    if os.environ.get("DISPLAY"):
        return _X11HotKey
    return "no desktop session to take a global shortcut from (no X11 or Wayland display)"


# -- X11: XGrabKey on the root window, on our own connection ---------------------------


class _XKeyEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("pad", ctypes.c_long * 23)]


_X_KEYPRESS = 2
_GRAB_MODE_ASYNC = 1
_SHIFT, _LOCK, _CONTROL, _MOD1, _MOD2, _MOD4 = 1, 2, 4, 8, 16, 64
# NumLock (Mod2) and CapsLock change the modifier state; grab every combination of them.
_IGNORED = (0, _LOCK, _MOD2, _LOCK | _MOD2)
_X_NAMES = {"Space": "space", "Print": "Print", "Esc": "Escape", "Return": "Return"}
_ErrorHandler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class _X11HotKey(_Backend):
    def start(self) -> str | None:
        path = ctypes.util.find_library("X11")
        if path is None:
            return "the global shortcut needs libX11, which is not installed"
        x = ctypes.CDLL(path)
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XStringToKeysym.restype = ctypes.c_ulong
        x.XStringToKeysym.argtypes = [ctypes.c_char_p]
        x.XKeysymToKeycode.restype = ctypes.c_ubyte
        x.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x.XGrabKey.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_ulong]
        x.XGrabKey.argtypes += [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        x.XUngrabKey.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_ulong]
        for name in ("XSync", "XPending", "XNextEvent", "XConnectionNumber", "XCloseDisplay"):
            getattr(x, name).argtypes = [ctypes.c_void_p] + (
                [ctypes.c_int]
                if name == "XSync"
                else [ctypes.c_void_p]
                if name == "XNextEvent"
                else []
            )
        x.XSetErrorHandler.restype = ctypes.c_void_p
        x.XSetErrorHandler.argtypes = [ctypes.c_void_p]
        self.x = x
        self.display = x.XOpenDisplay(None)
        self.notifier: QSocketNotifier | None = None
        self.grabs: list[tuple[int, int]] = []
        if not self.display:
            return f"the X display {os.environ.get('DISPLAY')} cannot be opened"
        keysym = x.XStringToKeysym(_X_NAMES.get(self.key.name, self.key.name).encode())
        keycode = x.XKeysymToKeycode(self.display, keysym) if keysym else 0
        if not keycode:
            return f"{self.key.name!r} is not a key on this keyboard"
        mods = (
            (_CONTROL if self.key.ctrl else 0)
            | (_MOD1 if self.key.alt else 0)
            | (_SHIFT if self.key.shift else 0)
            | (_MOD4 if self.key.meta else 0)
        )
        root = x.XDefaultRootWindow(self.display)
        self.root = root
        failed: list[int] = []

        def on_error(_display: Any, _event: Any) -> int:
            failed.append(1)  # BadAccess: another client holds this grab
            return 0

        handler = _ErrorHandler(on_error)
        previous = x.XSetErrorHandler(ctypes.cast(handler, ctypes.c_void_p))
        for extra in _IGNORED:
            x.XGrabKey(
                self.display, keycode, mods | extra, root, 1, _GRAB_MODE_ASYNC, _GRAB_MODE_ASYNC
            )
            self.grabs.append((keycode, mods | extra))
        x.XSync(self.display, 0)
        x.XSetErrorHandler(previous)
        if failed:
            return (
                "the shortcut is already taken by another application; choose another in Settings"
            )
        self.notifier = QSocketNotifier(
            x.XConnectionNumber(self.display), QSocketNotifier.Type.Read
        )
        self.notifier.activated.connect(self._drain)
        return None

    def _drain(self) -> None:
        event = _XKeyEvent()
        while self.x.XPending(self.display):
            self.x.XNextEvent(self.display, ctypes.byref(event))
            if event.type == _X_KEYPRESS:
                self.fire()

    def stop(self) -> None:
        if getattr(self, "notifier", None) is not None:
            assert self.notifier is not None
            self.notifier.setEnabled(False)
            self.notifier = None
        if getattr(self, "display", None):
            for keycode, mods in self.grabs:
                self.x.XUngrabKey(self.display, keycode, mods, self.root)
            self.x.XCloseDisplay(self.display)
            self.display = None


# -- Windows: RegisterHotKey, WM_HOTKEY seen by a native event filter -----------------

_WM_HOTKEY = 0x0312
_MOD_ALT, _MOD_CONTROL, _MOD_SHIFT, _MOD_WIN, _MOD_NOREPEAT = 1, 2, 4, 8, 0x4000
_VK_NAMES = {"Space": 0x20, "Print": 0x2C}
_HOTKEY_ID = 0x5349  # "SI"


class _HotKeyFilter(QAbstractNativeEventFilter):
    def __init__(self, fire: Callable[[], None]) -> None:
        super().__init__()
        self.fire = fire

    def nativeEventFilter(self, event_type: Any, message: Any) -> Any:
        # A hot key without a window is a thread message: Qt's dispatcher filter sees it.
        if bytes(event_type) in (b"windows_dispatcher_MSG", b"windows_generic_MSG"):
            from ctypes import wintypes

            msg = wintypes.MSG.from_address(int(message))
            if msg.message == _WM_HOTKEY and msg.wParam == _HOTKEY_ID:
                self.fire()
                return True, 0
        return False, 0


def _virtual_key(name: str) -> int | None:
    if len(name) == 1 and name.isalnum():
        return ord(name.upper())
    if name.startswith("F") and name[1:].isdigit():
        return 0x70 + int(name[1:]) - 1
    return _VK_NAMES.get(name)


class _WindowsHotKey(_Backend):
    def start(self) -> str | None:
        vk = _virtual_key(self.key.name)
        if vk is None:
            return f"{self.key.name!r} cannot be a global shortcut key on Windows"
        mods = (
            (_MOD_CONTROL if self.key.ctrl else 0)
            | (_MOD_ALT if self.key.alt else 0)
            | (_MOD_SHIFT if self.key.shift else 0)
            | (_MOD_WIN if self.key.meta else 0)
            | _MOD_NOREPEAT
        )
        user32 = getattr(ctypes, "windll").user32  # noqa: B009 (Windows only)
        self.user32 = user32
        self.filter = _HotKeyFilter(self.fire)
        QApplication.instance().installNativeEventFilter(self.filter)  # type: ignore[union-attr]
        if not user32.RegisterHotKey(None, _HOTKEY_ID, mods, vk):
            self.registered = False
            return (
                "the shortcut is already taken by another application; choose another in Settings"
            )
        self.registered = True
        return None

    def stop(self) -> None:
        if getattr(self, "registered", False):
            self.user32.UnregisterHotKey(None, _HOTKEY_ID)
            self.registered = False
        if getattr(self, "filter", None) is not None:
            app = QApplication.instance()
            if app is not None:
                app.removeNativeEventFilter(self.filter)


# -- macOS: Carbon's RegisterEventHotKey (still the supported way for a global hot key) --

_K_EVENT_CLASS_KEYBOARD = int.from_bytes(b"keyb", "big")
_K_EVENT_HOTKEY_PRESSED = 5
_CMD_KEY, _SHIFT_KEY, _OPTION_KEY, _CONTROL_KEY = 0x100, 0x200, 0x800, 0x1000
# kVK_ANSI_* virtual key codes (Carbon HIToolbox Events.h), letters and digits.
_MAC_KEYS = dict(
    zip(
        "ASDFHGZXCVBQWERYT123465=97-80]OU[IP\nLJ'K;\\,/NM.",
        range(0x00, 0x30),
        strict=False,
    )
)
_EventHandler = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class _EventTypeSpec(ctypes.Structure):
    _fields_ = [("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32)]


class _EventHotKeyID(ctypes.Structure):
    _fields_ = [("signature", ctypes.c_uint32), ("id", ctypes.c_uint32)]


class _CarbonHotKey(_Backend):
    def start(self) -> str | None:
        code = _MAC_KEYS.get(self.key.name.upper())
        if code is None:
            return f"{self.key.name!r} cannot be a global shortcut key on macOS"
        path = ctypes.util.find_library("Carbon")
        if path is None:
            return "the Carbon framework is missing, so no global shortcut can be registered"
        carbon = ctypes.CDLL(path)
        carbon.GetApplicationEventTarget.restype = ctypes.c_void_p
        self.carbon = carbon
        # Qt's "Ctrl" is the Command key on macOS, and its "Meta" the Control key.
        mods = (
            (_CMD_KEY if self.key.ctrl else 0)
            | (_OPTION_KEY if self.key.alt else 0)
            | (_SHIFT_KEY if self.key.shift else 0)
            | (_CONTROL_KEY if self.key.meta else 0)
        )
        self.callback = _EventHandler(lambda _c, _e, _d: (self.fire(), 0)[1])
        spec = _EventTypeSpec(_K_EVENT_CLASS_KEYBOARD, _K_EVENT_HOTKEY_PRESSED)
        target = carbon.GetApplicationEventTarget()
        carbon.InstallEventHandler(
            ctypes.c_void_p(target), self.callback, 1, ctypes.byref(spec), None, None
        )
        self.ref = ctypes.c_void_p()
        hotkey_id = _EventHotKeyID(int.from_bytes(b"SLne", "big"), 1)
        status = carbon.RegisterEventHotKey(
            code, mods, hotkey_id, ctypes.c_void_p(target), 0, ctypes.byref(self.ref)
        )
        if status != 0:
            return (
                "the shortcut is already taken by another application; choose another in Settings"
            )
        return None

    def stop(self) -> None:
        if getattr(self, "ref", None) is not None and self.ref.value:
            self.carbon.UnregisterEventHotKey(self.ref)
            self.ref = ctypes.c_void_p()


# -- Wayland: the xdg-desktop-portal GlobalShortcuts interface ------------------------


class _PortalShortcut(_Backend):
    """A GlobalShortcuts session; the desktop may ask the user, then sends Activated."""

    def start(self) -> str | None:
        from desktop.portal import PortalUnavailable, ShortcutSession

        trigger = "+".join(
            [
                name
                for name, on in (
                    ("CTRL", self.key.ctrl),
                    ("ALT", self.key.alt),
                    ("SHIFT", self.key.shift),
                    ("LOGO", self.key.meta),
                )
                if on
            ]
            + [self.key.name.lower()]
        )
        try:
            self.session: ShortcutSession | None = ShortcutSession(
                "capture-region", "Capture a region and ask Sightline", trigger
            )
        except PortalUnavailable as exc:
            self.session = None
            return str(exc)
        self.notifier = QSocketNotifier(self.session.fileno(), QSocketNotifier.Type.Read)
        self.notifier.activated.connect(self._drain)
        return None

    def _drain(self) -> None:
        if self.session is not None:
            for _ in range(self.session.poll()):
                self.fire()

    def stop(self) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            self.notifier.setEnabled(False)
            session.close()
            self.session = None
