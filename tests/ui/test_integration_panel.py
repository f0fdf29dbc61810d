"""The Settings panel that adds "Describe with Sightline" to the file manager (offscreen Qt)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.ui.integration_panel import TITLE, IntegrationPanel


def _idle(panel: IntegrationPanel) -> bool:
    return panel.job is not None and not panel.job.running and panel.add_button.isEnabled()


def test_panel_shows_status_and_adds_then_removes(qtbot: QtBot, user_dirs: Path) -> None:
    panel = IntegrationPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.title() == TITLE
    qtbot.waitUntil(lambda: _idle(panel) and bool(panel.states), timeout=10000)
    assert "Not added yet" in panel.summary.text()
    assert "Thunar: not added" in panel.details.text()

    panel.add_button.click()
    qtbot.waitUntil(lambda: _idle(panel) and all(s.installed for s in panel.states), timeout=10000)
    assert "Added" in panel.summary.text()
    assert (user_dirs / "data/applications/sightline.desktop").exists()

    panel.remove_button.click()
    qtbot.waitUntil(
        lambda: _idle(panel) and not any(s.installed for s in panel.states), timeout=10000
    )
    assert not (user_dirs / "data/applications/sightline.desktop").exists()
    assert "Not added yet" in panel.summary.text()


def test_a_broken_thunar_file_is_shown_not_raised(qtbot: QtBot, user_dirs: Path) -> None:
    uca = user_dirs / "config/Thunar/uca.xml"
    uca.parent.mkdir(parents=True)
    uca.write_text("<actions>")
    panel = IntegrationPanel()
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: "not valid XML" in panel.summary.text(), timeout=10000)
    assert str(uca) in panel.summary.text()
