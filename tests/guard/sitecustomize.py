"""Loaded by CLI subprocesses in tests (PYTHONPATH), so they are guarded too."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import socket_guard

socket_guard.install()
