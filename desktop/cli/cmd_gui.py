"""The window from the command line: ``sightline``, ``sightline FILE...``, ``sightline open``.

Qt is imported only here, lazily, after checking there is a display, so the
rest of the CLI starts fast and works on a headless server.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.display import NO_DISPLAY, has_display
from desktop.handover import try_handover

if TYPE_CHECKING:
    import argparse

EXIT_NO_DISPLAY = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("open", help="open files in the Sightline window")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.set_defaults(func=lambda args: launch(args.files))


def hand_over(files: list[str], popup: bool = False) -> bool:
    """True when a running Sightline took the files, without loading Qt in this process."""
    absolute = [str(Path(f).resolve()) for f in files]
    return has_display() and try_handover("popup" if popup else "open", absolute)


def launch(files: list[str], popup: bool = False) -> int:
    if not has_display():
        print(f"sightline: {NO_DISPLAY}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    if hand_over(files, popup):
        return 0
    from desktop.model_host import ModelHost
    from desktop.popup_answer import start_early
    from desktop.settings import load_settings

    settings, host = load_settings(), ModelHost()
    # A right-click started Sightline: its answer starts now, on its own thread, before
    # Qt is imported; the window is built meanwhile and its popup relays the answer.
    early = (
        start_early(Path(files[0]).resolve(), settings, host) if popup and len(files) == 1 else None
    )
    from desktop.ui.app import run

    return run(files, popup=popup, settings=settings, host=host, early=early)
