"""A packaged Sightline's first window offers, once, to add the right-click (offscreen Qt).

The .deb and the app copied out of the DMG cannot write into the user's own
folders when they are installed, so the window asks instead; the Windows
installer adds it itself, and a source checkout is set up by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from desktop.integrate import installer
from desktop.integrate.platforms import plan_for
from desktop.settings import load_settings
from desktop.ui.file_manager_offer import FileManagerOffer
from desktop.ui.main_window import MainWindow
from tests.ui.test_window import install


@pytest.fixture
def packaged(user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Running as a frozen build, as the .deb, the DMG and the Windows installer do."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    return user_dirs


def _window(qtbot: QtBot, home: Path, vlm: Any) -> MainWindow:
    install(home, "tiny", vlm)  # a model, so nothing else wants the banner
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    return w


def _never_asked(qtbot: QtBot) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.wait(300)  # the offer is made one turn of the event loop after the window is up
    assert w.findChild(FileManagerOffer) is None
    assert w.banner.cause != "file-manager"
    w.close()


def test_the_first_start_offers_it_once_and_add_puts_it_in_the_menu(
    qtbot: QtBot, packaged: Path, sightline_home: Path, vlm_a: Any
) -> None:
    w = _window(qtbot, sightline_home, vlm_a)
    qtbot.waitUntil(lambda: w.banner.cause == "file-manager" and w.banner.isVisible(), timeout=9000)
    assert w.banner.kind == "notice"
    assert "Describe with Sightline" in w.banner.label.text()
    assert "Settings" in w.banner.label.text()  # where to change it later
    assert load_settings().file_manager_offered  # asked: never again, whatever the answer

    w.banner.action_button.click()
    qtbot.waitUntil(lambda: w.banner.isVisible() and w.banner.kind == "success", timeout=10000)
    assert (packaged / "data/applications/sightline.desktop").exists()
    assert all(s.installed and s.current for s in installer.status(plan_for()))
    w.close()

    _never_asked(qtbot)


def test_dismissing_it_is_remembered(
    qtbot: QtBot, packaged: Path, sightline_home: Path, vlm_a: Any
) -> None:
    w = _window(qtbot, sightline_home, vlm_a)
    qtbot.waitUntil(lambda: w.banner.cause == "file-manager", timeout=10000)
    w.banner.dismiss()
    w.close()
    assert not (packaged / "data/applications/sightline.desktop").exists()
    _never_asked(qtbot)


def test_nothing_is_offered_when_it_is_already_there(
    qtbot: QtBot, packaged: Path, sightline_home: Path, vlm_a: Any
) -> None:
    installer.install(plan_for())  # the Windows installer ran `integrate install`
    w = _window(qtbot, sightline_home, vlm_a)
    qtbot.waitUntil(lambda: w.findChild(FileManagerOffer) is not None, timeout=9000)
    offer = w.findChild(FileManagerOffer)
    qtbot.waitUntil(lambda: offer.checked, timeout=9000)
    assert w.banner.cause != "file-manager"
    assert not load_settings().file_manager_offered  # not asked, so still to ask if removed
    w.close()


def test_a_source_checkout_is_not_asked(
    qtbot: QtBot, user_dirs: Path, sightline_home: Path, vlm_a: Any
) -> None:
    _never_asked(qtbot)


def test_a_file_manager_file_it_cannot_read_is_not_an_error_at_start(
    qtbot: QtBot, packaged: Path, sightline_home: Path, vlm_a: Any
) -> None:
    """A damaged Thunar file is shown in Settings ▸ File manager, not thrown at a new user."""
    uca = packaged / "config/Thunar/uca.xml"
    uca.parent.mkdir(parents=True)
    uca.write_text("<actions>")
    w = _window(qtbot, sightline_home, vlm_a)
    qtbot.waitUntil(lambda: w.findChild(FileManagerOffer) is not None, timeout=9000)
    offer = w.findChild(FileManagerOffer)
    qtbot.waitUntil(lambda: offer.checked, timeout=9000)
    assert not w.banner.isVisible()
    w.close()
