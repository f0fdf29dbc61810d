"""Whether a window can be shown at all, decided before Qt is touched.

Without a display Qt aborts the whole process with a message about
platform plugins; a user deserves one clear line instead.
"""

from __future__ import annotations

import os
import sys

NO_DISPLAY = "no display available; use `sightline describe FILE`, or run under a desktop session"


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
