"""The log file: where native llama.cpp output and tracebacks go, never the terminal."""

from __future__ import annotations

import logging
import logging.handlers

from desktop.paths import app_paths
from desktop.redact import RedactingFilter

_configured: dict[str, logging.Handler] = {}


def configure_logging(level: int = logging.INFO) -> None:
    """Send all of Sightline's logging to a rotating file under the log folder.

    Re-pointed when ``SIGHTLINE_HOME`` changes between calls (tests do that).
    """
    path = app_paths().log_file
    key = str(path)
    if key in _configured:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for old in _configured.values():
        root.removeHandler(old)
        old.close()
    _configured.clear()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    _configured[key] = handler
