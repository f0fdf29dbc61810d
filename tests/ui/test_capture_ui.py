"""The region overlay, the box overlay, the tray menu and the X11 global shortcut."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from desktop.grounding.mapping import Box, Point
from desktop.ui.box_overlay import BoxOverlay
from desktop.ui.capture_overlay import RegionOverlay
from desktop.ui.hotkeys import GlobalShortcut, parse_sequence
from desktop.ui.screen_grab import crop
from desktop.ui.tray import MENU, TrayController
from tests.xvfb import xdotool, xvfb

# -- region overlay -------------------------------------------------------------------


def _screen_image(scale: int = 1) -> QImage:
    screen = QGuiApplication.primaryScreen()
    size = screen.geometry().size()
    image = QImage(size.width() * scale, size.height() * scale, QImage.Format.Format_RGB888)
    image.fill(QColor(10, 200, 30))
    return image


def _overlay(qtbot: QtBot, scale: int = 1) -> RegionOverlay:
    overlay = RegionOverlay(QGuiApplication.primaryScreen(), _screen_image(scale))
    qtbot.addWidget(overlay)
    overlay.show()
    qtbot.waitExposed(overlay)
    return overlay


def test_dragging_selects_a_rectangle(qtbot: QtBot) -> None:
    overlay = _overlay(qtbot)
    qtbot.mousePress(overlay, Qt.MouseButton.LeftButton, pos=QPoint(30, 40))
    qtbot.mouseMove(overlay, QPoint(90, 70))
    assert overlay.selection == QRect(30, 40, 60, 30)
    overlay.grab()  # paints the selection, its size tag and the magnifier
    with qtbot.waitSignal(overlay.selected) as got:
        qtbot.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=QPoint(130, 90))
    assert got.args == [QRect(30, 40, 100, 50)]


def test_a_click_is_not_a_selection_and_escape_cancels(qtbot: QtBot) -> None:
    overlay = _overlay(qtbot)
    with qtbot.assertNotEmitted(overlay.selected):
        qtbot.mouseClick(overlay, Qt.MouseButton.LeftButton, pos=QPoint(30, 40))
    with qtbot.waitSignal(overlay.cancelled):
        qtbot.keyClick(overlay, Qt.Key.Key_Escape)


def test_the_size_shown_and_the_crop_are_physical_pixels(qtbot: QtBot) -> None:
    overlay = _overlay(qtbot, scale=2)
    assert overlay.physical_size(QRect(0, 0, 100, 50)) == QSize(200, 100)
    image = _screen_image(scale=2)
    part = crop(image, QGuiApplication.primaryScreen(), QRect(10, 10, 100, 50))
    assert (part.width(), part.height()) == (200, 100)


# -- box overlay ----------------------------------------------------------------------


@pytest.fixture
def boxes(qtbot: QtBot) -> BoxOverlay:
    widget = BoxOverlay()
    qtbot.addWidget(widget)
    image = QImage(400, 200, QImage.Format.Format_RGB888)
    image.fill(QColor(250, 250, 250))
    widget.set_content(
        image,
        [Box("cat", 20, 20, 200, 180), Box("eye", 50, 40, 70, 60)],
        [Point("nose", 300, 100)],
    )
    widget.resize(400, 200 + widget.toggle.sizeHint().height() + 130)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_marks_are_listed_drawn_and_clickable(qtbot: QtBot, boxes: BoxOverlay) -> None:
    assert boxes.list.count() == 3
    assert boxes.list.item(0).text().startswith("cat")
    view = boxes.view
    drawn = view.grab().toImage()
    rect = view.mark_rect(0)
    edge = QPoint(int(rect.left()), int(rect.center().y()))
    assert drawn.pixelColor(edge) != QColor(250, 250, 250)
    # The eye lies inside the cat: a click on it picks the inner, smaller box.
    eye = view.mark_rect(1).center().toPoint()
    with qtbot.waitSignal(boxes.highlighted) as got:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=eye)
    assert got.args == [1]
    assert boxes.list.currentRow() == 1
    with qtbot.waitSignal(boxes.highlighted) as got:
        boxes.list.setCurrentRow(2)
    assert got.args == [2]
    assert view.current == 2


def test_marks_can_be_hidden(qtbot: QtBot, boxes: BoxOverlay) -> None:
    boxes.toggle.setChecked(False)
    view = boxes.view
    drawn = view.grab().toImage()
    rect = view.mark_rect(0)
    edge = QPoint(int(rect.left()), int(rect.center().y()))
    assert drawn.pixelColor(edge) == QColor(250, 250, 250)
    with qtbot.assertNotEmitted(boxes.highlighted):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.mark_rect(1).center().toPoint())


def test_no_marks_says_so(qtbot: QtBot) -> None:
    widget = BoxOverlay()
    qtbot.addWidget(widget)
    widget.set_content(QImage(10, 10, QImage.Format.Format_RGB888), [], [])
    assert widget.toggle.text() == "No boxes found"
    assert not widget.toggle.isEnabled()


# -- tray -----------------------------------------------------------------------------


def test_the_tray_menu_emits_each_request(qtbot: QtBot) -> None:
    tray = TrayController(shortcut=None)
    titles = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert titles == [title for _, title in MENU]
    for key, signal in (
        ("new_chat", tray.new_chat_requested),
        ("capture", tray.capture_requested),
        ("describe_clipboard", tray.describe_clipboard_requested),
        ("read_region", tray.read_region_requested),
        ("quit", tray.quit_requested),
    ):
        with qtbot.waitSignal(signal):
            tray.actions[key].trigger()
    tray.stop()


def test_without_a_tray_start_says_so(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    tray = TrayController()
    problems = tray.start()
    assert "no tray icons" in problems[0]  # offscreen has none
    assert "Ctrl+Alt+S is off" in problems[1]
    assert "no X11 or Wayland display" in problems[1]
    tray.text_copied("hello there world")
    assert QGuiApplication.clipboard().text() == "hello there world"
    tray.stop()


# -- the X11 global shortcut ----------------------------------------------------------


@pytest.fixture
def x_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with xvfb() as display:
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
        yield display


def test_the_x11_shortcut_fires_on_the_key(qtbot: QtBot, x_display: str) -> None:
    tray = TrayController("Ctrl+Alt+S")
    tray.start()
    assert tray.shortcut is not None
    assert tray.shortcut.active
    with qtbot.waitSignal(tray.capture_requested, timeout=10_000):
        xdotool(x_display, "key", "ctrl+alt+s")
    # Other keys do not fire it.
    with qtbot.assertNotEmitted(tray.capture_requested, wait=500):
        xdotool(x_display, "key", "ctrl+alt+d")
    tray.stop()


def test_a_taken_shortcut_is_off_and_says_why(qtbot: QtBot, x_display: str) -> None:
    first = GlobalShortcut("Ctrl+Alt+S")
    assert first.register() is None
    second = GlobalShortcut("Ctrl+Alt+S")
    why = second.register()
    assert why is not None
    assert "already taken" in why
    assert not second.active
    first.unregister()
    assert second.register() is None  # free again
    with qtbot.waitSignal(second.activated, timeout=10_000):
        xdotool(x_display, "key", "ctrl+alt+s")
    second.unregister()


def test_changing_the_shortcut(qtbot: QtBot, x_display: str) -> None:
    tray = TrayController("Ctrl+Alt+S")
    tray.start()
    assert tray.set_shortcut("Ctrl+Shift+F5") is None
    with qtbot.waitSignal(tray.capture_requested, timeout=10_000):
        xdotool(x_display, "key", "ctrl+shift+F5")
    assert "Ctrl+Shift+F5" in tray.actions["capture"].text()
    tray.stop()


@pytest.mark.parametrize("text", ["", "S", "Ctrl+A, Ctrl+B"])
def test_a_shortcut_needs_one_modified_key(text: str) -> None:
    with pytest.raises(ValueError, match="Ctrl"):
        parse_sequence(text)
