"""The popup never reaches a cloud model the user did not opt in to for it.

After the window has answered with a cloud model, that backend stays warm in
the shared ``ModelHost``; the popup must neither reuse it nor open it again.
The stand-in's request log and the process's connection log prove nothing
was sent.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.cloud_policy import CloudOptIn, check_request
from desktop.model_choice import ModelChoice
from desktop.model_host import ModelHost
from desktop.settings import Settings
from desktop.ui.main_window import MainWindow
from desktop.ui.popup import PopupWindow
from models.errors import ModelError
from tests import corpus

CLOUD = "openai:gpt-4.1-mini"


def _install(home: Path, name: str, vlm: Any) -> None:
    folder = home / "models" / name
    folder.mkdir(parents=True)
    shutil.copy(vlm.model, folder)
    if vlm.mmproj:
        shutil.copy(vlm.mmproj, folder)


@pytest.fixture
def cloud_turn_done(
    qtbot: QtBot,
    sightline_home: Path,
    start_standin: Any,
    keychain: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[tuple[MainWindow, Any]]:
    """A window whose last turn was answered by the OpenAI stand-in, after consent."""
    standin = start_standin("openai")
    monkeypatch.setenv("OPENAI_BASE_URL", standin.url)
    keychain.set_password("sightline", "openai", standin.key)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    w = MainWindow()
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: any(m.backend == "openai" for m in w.models), timeout=20000)
    w.picker.combo.setCurrentIndex(w.picker.combo.findData(CLOUD))
    w.send("Hello")
    qtbot.waitUntil(lambda: not w.turns.answering, timeout=60000)
    assert len(standin.received) == 1
    assert w.host.label == CLOUD, "the cloud backend is warm"
    yield w, standin
    w.close()


def _popup(qtbot: QtBot, w: MainWindow, image: Path) -> PopupWindow:
    popup = PopupWindow(w, image)
    qtbot.addWidget(popup)
    return popup


def _to_standin(connections: list[Any], standin: Any) -> list[Any]:
    return [a for a in connections if tuple(a[:2]) == standin.host_port]


def test_the_popup_after_a_cloud_turn_sends_nothing_and_says_how_to_opt_in(
    qtbot: QtBot,
    cloud_turn_done: tuple[MainWindow, Any],
    connections: list[Any],
    tmp_path: Path,
) -> None:
    w, standin = cloud_turn_done
    connections.clear()
    popup = _popup(qtbot, w, corpus.photo(tmp_path / "shot.jpg"))
    qtbot.waitUntil(lambda: "cloud use is off" in popup.status.text(), timeout=30000)
    assert "Settings" in popup.status.text()
    assert "--allow-cloud" not in popup.status.text(), "advice in the window's terms"
    assert len(standin.received) == 1, "the stand-in saw no second request"
    assert _to_standin(connections, standin) == [], "no connection was even opened"
    assert popup.answer == ""
    popup.close()


def test_the_popup_falls_back_to_a_local_model_and_names_it(
    qtbot: QtBot,
    cloud_turn_done: tuple[MainWindow, Any],
    connections: list[Any],
    sightline_home: Path,
    vlm_a: Any,
    tmp_path: Path,
) -> None:
    w, standin = cloud_turn_done
    _install(sightline_home, "tiny", vlm_a)
    w.picker.refresh()
    qtbot.waitUntil(
        lambda: {"embedded:tiny", CLOUD} <= {m.qualified_name for m in w.models}, timeout=20000
    )
    w.picker.combo.setCurrentIndex(w.picker.combo.findData(CLOUD))
    connections.clear()
    popup = _popup(qtbot, w, corpus.photo(tmp_path / "shot.jpg"))
    qtbot.waitUntil(lambda: "tokens/s" in popup.status.text(), timeout=60000)
    assert popup.status.text().startswith("embedded:tiny ·")
    assert popup.answer.strip()
    assert len(standin.received) == 1
    assert _to_standin(connections, standin) == []
    popup.close()


def test_the_popup_uses_the_cloud_model_when_allow_cloud_is_set(
    qtbot: QtBot, cloud_turn_done: tuple[MainWindow, Any], tmp_path: Path
) -> None:
    w, standin = cloud_turn_done
    w.settings.allow_cloud = True
    popup = _popup(qtbot, w, corpus.photo(tmp_path / "shot.jpg"))
    qtbot.waitUntil(lambda: "tokens/s" in popup.status.text(), timeout=30000)
    assert popup.status.text().startswith(f"{CLOUD} ·")
    assert len(standin.received) == 2
    popup.close()


def test_a_warm_cloud_backend_is_checked_again_for_every_caller(
    start_standin: Any, keychain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin = start_standin("openai")
    monkeypatch.setenv("OPENAI_BASE_URL", standin.url)
    keychain.set_password("sightline", "openai", standin.key)
    host = ModelHost()
    choice = ModelChoice(label=CLOUD, backend="openai")
    host.backend(choice, Settings(), cloud_allowed=True)
    for caller in ("cli", "window", "popup"):
        with pytest.raises(ModelError, match="cloud use is off"):
            host.backend(choice, Settings(), opt_in=CloudOptIn(caller))
    host.close()


@pytest.mark.parametrize(
    ("caller", "advice"),
    [("cli", "--allow-cloud"), ("window", "cloud fallback"), ("popup", "in Settings")],
)
def test_each_caller_is_told_how_to_opt_in_in_its_own_terms(caller: Any, advice: str) -> None:
    with pytest.raises(ModelError, match=advice):
        check_request(CLOUD, "openai", CloudOptIn(caller))
    check_request("embedded:tiny", "embedded", CloudOptIn(caller))
    check_request(CLOUD, "openai", CloudOptIn(caller, settings_allow_cloud=True))
