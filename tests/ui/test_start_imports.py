"""What the window's start loads: nothing that only a later action needs.

Each module kept out here is start-up time a user never waits for; this
guards against one coming back through a top-level import. The window is
built in a fresh interpreter, as the app builds it, and the modules are
listed right after ``show()``: work the window defers to its event loop
(the server probe, the keychain, the download size) has not begun yet.
"""

from __future__ import annotations

import subprocess
import sys

BUILD_AND_LIST = """
import sys
from PySide6.QtWidgets import QApplication
from desktop.settings import load_settings
from desktop.ui import theme
from desktop.ui.main_window import MainWindow
app = QApplication([])
theme.apply(app, load_settings().theme)
window = MainWindow()
window.show()
print(" ".join(sorted(sys.modules)))
window.close()
"""

LATER = (
    "keyring",  # the keychain: asked once the window is up
    "urllib.request",  # the download size: asked once the window is up
    "http.client",
    "socket",  # server probes, on the I/O pool
    "subprocess",  # the model probe's child process, when a model loads
    "PIL",  # images: the first attachment
    "desktop.ingest",
    "desktop.grounding",  # Find in picture
    "desktop.integrate",  # the file-manager panel in Settings
    "desktop.session",  # the first question
    "desktop.response_cache",
    "desktop.ui.image_viewer",
    "desktop.ui.find_in_picture",
    "desktop.ui.integration_panel",
    "desktop.ui.batch_view",
    "desktop.ui.settings_dialog",
    "models.llamacpp",
)


def _modules(script: str, env: dict[str, str]) -> set[str]:
    r = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(env, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(r.stdout.split())


def test_building_the_window_loads_nothing_a_later_action_needs(
    cli_env: dict[str, str],
) -> None:
    # The test's network guard (sitecustomize) loads a few modules of its own.
    guard = _modules('import sys; print(" ".join(sys.modules))', cli_env)
    loaded = _modules(BUILD_AND_LIST, cli_env) - guard
    assert "desktop.ui.main_window" in loaded
    early = sorted(m for m in loaded for later in LATER if m == later or m.startswith(later + "."))
    assert early == []
