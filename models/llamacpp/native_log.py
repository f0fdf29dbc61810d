"""Send llama.cpp's and mtmd's native log lines to Python logging.

Left alone, llama.cpp and clip print progress to the terminal, mixing with
the answer a user pipes somewhere. Routed here they land in the log file.
"""

from __future__ import annotations

import ctypes
import logging

import llama_cpp
from llama_cpp import mtmd_cpp

_log = logging.getLogger("sightline.llama_cpp")
_log.addHandler(logging.NullHandler())  # never Python's last-resort handler, i.e. the terminal
_LEVELS = {  # ggml_log_level
    0: logging.INFO,
    1: logging.DEBUG,
    2: logging.INFO,
    3: logging.WARNING,
    4: logging.ERROR,
}
_CONTINUATION = 5
_state = {"level": logging.INFO}


@llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
def _forward(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    py_level = _state["level"] if level == _CONTINUATION else _LEVELS.get(level, logging.INFO)
    _state["level"] = py_level
    message = text.decode("utf-8", errors="replace").rstrip()
    if message and _log.isEnabledFor(py_level):
        _log.log(py_level, "%s", message)


def route_native_logs() -> None:
    """Idempotent; the callback object lives at module level so it is never collected."""
    llama_cpp.llama_log_set(_forward, ctypes.c_void_p(0))
    mtmd_cpp.mtmd_log_set(_forward, ctypes.c_void_p(0))
    mtmd_cpp.mtmd_helper_log_set(_forward, ctypes.c_void_p(0))
