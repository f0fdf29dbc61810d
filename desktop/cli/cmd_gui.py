"""The window from the command line: ``sightline``, ``sightline FILE...``, ``sightline open``.

Qt is imported only here, lazily, after checking there is a display, so the
rest of the CLI starts fast and works on a headless server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.display import NO_DISPLAY, has_display
from desktop.handover import try_handover

EXIT_NO_DISPLAY = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("open", help="open files in the Sightline window")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.set_defaults(func=lambda args: launch(args.files))


def launch(files: list[str], popup: bool = False) -> int:
    if not has_display():
        print(f"sightline: {NO_DISPLAY}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    absolute = [str(Path(f).resolve()) for f in files]
    if try_handover("popup" if popup else "open", absolute):
        return 0  # a running Sightline took them: no Qt loaded in this process
    from desktop.ui.app import run

    return run(files, popup=popup)
