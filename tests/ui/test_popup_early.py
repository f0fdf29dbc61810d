"""A right-click with nothing running: the answer starts before the window, the popup relays it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from desktop.model_host import ModelHost
from desktop.popup_answer import start_early
from desktop.settings import load_settings
from desktop.ui.main_window import MainWindow
from desktop.ui.popup import PopupWindow
from tests import corpus
from tests.conftest import REPO
from tests.ui.test_window import install


def test_the_early_answer_reaches_the_popup_and_leaves_the_model_warm(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    install(sightline_home, "tiny", vlm_a)
    settings, host = load_settings(), ModelHost()
    photo = corpus.photo(tmp_path / "shot.jpg")
    early = start_early(photo, settings, host)
    assert early is not None, "a model is installed: the answer starts before any window"
    assert early.request.label == "embedded:tiny"
    w = MainWindow(settings, host)
    qtbot.addWidget(w)
    popup = PopupWindow(w, photo, early)
    qtbot.addWidget(popup)
    qtbot.waitUntil(lambda: "tokens/s" in popup.status.text(), timeout=60000)
    assert popup.answer.strip()
    assert popup.images, "the image it read arrived too (thumbnail, open in chat)"
    assert w.host.label == "embedded:tiny", "the window's host kept the loaded model"
    popup.close()
    w.close()


def test_without_a_model_nothing_starts_early(sightline_home: Path, tmp_path: Path) -> None:
    photo = corpus.photo(tmp_path / "shot.jpg")
    assert start_early(photo, load_settings(), ModelHost()) is None


def _right_click_process(script: str, home: Path, vlm: Any, tmp_path: Path) -> Any:
    """Run ``script`` on a photo in a fresh interpreter, with a model installed; the JSON
    its last line prints."""
    install(home, "tiny", vlm)
    photo = corpus.photo(tmp_path / "shot.jpg")
    run = subprocess.run(
        [sys.executable, "-c", script, str(photo)],
        capture_output=True, text=True, timeout=180, check=True, cwd=REPO,
    )  # fmt: skip
    return json.loads(run.stdout.splitlines()[-1])


# Run in a fresh interpreter, where nothing is imported yet: what a right-click's process has
# loaded once start_early returns, and so before the window's start imports Qt.
ORDER = """
import json, sys, time
from pathlib import Path
from desktop.model_host import ModelHost
from desktop.popup_answer import LOAD_WAIT_S, start_early
from desktop.settings import load_settings
host, settings = ModelHost(), load_settings()
t0 = time.monotonic()
early = start_early(Path(sys.argv[1]), settings, host)
waited = time.monotonic() - t0
loaded = {m: m in sys.modules for m in ("models.llamacpp.backend", "desktop.ingest", "PySide6")}
opened = host.label is not None
early.stop()
print(json.dumps({"imported": early.imported.is_set(), **loaded,
                  "opened or waited": opened or waited >= LOAD_WAIT_S}))
"""


def test_the_answer_has_its_modules_and_its_model_before_qt_is_imported(
    sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    """Qt's imports and the popup's widgets are Python work: done while the model loads,
    they take turns with its Python work (one thread runs at a time) and delay the first
    token; done once it is open, they run beside the image's encoding, native code."""
    assert _right_click_process(ORDER, sightline_home, vlm_a, tmp_path) == {
        "imported": True,
        "models.llamacpp.backend": True,
        "desktop.ingest": True,
        "PySide6": False,
        "opened or waited": True,
    }


# A cold right-click, whole, in its own process: what the screen holds while the answer runs.
COLD = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop.cli.cmd_gui import launch

app = QApplication([])
seen = []

def look():
    tops = QApplication.topLevelWidgets()
    popup = next((w for w in tops if type(w).__name__ == "PopupWindow"), None)
    if popup is not None:
        answering = popup.job is not None and popup.job.running
        window = any(type(w).__name__ == "MainWindow" for w in tops)
        seen.append({"answering": answering, "window": window, "answer": bool(popup.answer)})
        if not answering and window:
            print(json.dumps(seen), flush=True)
            app.quit()
            return
    QTimer.singleShot(5, look)

QTimer.singleShot(0, look)
sys.exit(launch([sys.argv[1]], popup=True))
"""


def test_a_cold_right_click_builds_the_window_after_its_answer(
    sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    seen = _right_click_process(COLD, sightline_home, vlm_a, tmp_path)
    assert any(s["answering"] and s["answer"] for s in seen), "the popup streamed its answer"
    assert not any(s["answering"] and s["window"] for s in seen), "no window while it answered"
    assert seen[-1] == {"answering": False, "window": True, "answer": True}
