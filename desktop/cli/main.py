"""Entry point: parse, run one command, and turn every failure into one line and an exit code.

Exit codes are a contract: 0 ok, 2 bad input, 3 model or backend unavailable,
130 interrupted (partial answer saved), 1 a bug (traceback in the log file).

A file manager's right-click runs ``describe --popup FILE...``; with the
window running, handing it the files is all that process does. So that comes
first, before the parser, the logging set-up or any command module is even
imported: every module loaded before the hand-over delays the popup.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

_COMMAND_MODULES = {
    "describe": "desktop.cli.cmd_describe",
    "ask": "desktop.cli.cmd_describe",
    "chat": "desktop.cli.cmd_describe",
    "presets": "desktop.cli.cmd_describe",
    "history": "desktop.cli.cmd_history",
    "models": "desktop.cli.cmd_models",
    "open": "desktop.cli.cmd_gui",
    "keys": "desktop.cli.cmd_keys",
    "cache": "desktop.cli.cmd_cache",
    "capture": "desktop.cli.cmd_capture",
    "integrate": "desktop.cli.cmd_integrate",
    "batch": "desktop.cli.cmd_batch",
}
"""Each command and the module whose ``register`` adds it (in the order help lists them)."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for ``command`` alone, or for every command when none (or no known one) is named.

    Each command module imports what its command runs on (the batch runner,
    the history store, grounding…): importing all of them to run one took a
    quarter of a second. Help without a command, and an unknown one, still
    see every command.
    """
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="sightline",
        description="Talk about images, screenshots and PDFs with a vision model on your machine.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    one = _COMMAND_MODULES.get(command or "")
    for module_name in [one] if one else dict.fromkeys(_COMMAND_MODULES.values()):
        importlib.import_module(module_name).register(sub)
    return parser


def _wants_window(args: list[str]) -> bool:
    """No arguments, or only files (what a file manager passes): open the window.

    A command name always wins, even when a file of that name sits in the folder.
    """
    if not args:
        return True
    if args[0] in _COMMAND_MODULES:
        return False
    return all(not a.startswith("-") and Path(a).exists() for a in args)


def _popup_files(args: list[str]) -> list[str] | None:
    """The files of ``describe --popup FILE...``, what a file manager runs on a right-click.

    That path only hands files to the window, so it skips building the whole
    parser (which imports every command: half a second before the popup shows).
    """
    if len(args) < 3 or args[0] != "describe" or "--popup" not in args:
        return None
    files = [a for a in args[1:] if a != "--popup"]
    return files if all(not a.startswith("-") for a in files) else None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")  # a stray undecodable name never ends a run
    try:
        popup = _popup_files(args_list)
        if popup is not None:
            from desktop.cli.cmd_gui import hand_over

            if hand_over(popup, popup=True):
                return 0  # a running window took them: nothing else was loaded
        return _run(args_list, popup)
    except KeyboardInterrupt:
        from desktop.cli.interrupts import EXIT_INTERRUPTED

        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from desktop.logs import configure_logging
        from desktop.messages import describe_error
        from models.errors import SightlineError

        with contextlib.suppress(SightlineError):  # e.g. SIGHTLINE_HOME is a file: said below
            configure_logging()  # a bug in the hand-over, before it was set up, is logged too
        message = describe_error(exc)
        print(f"sightline: {message.text}", file=sys.stderr)
        return message.exit_code


def _run(args_list: list[str], popup: list[str] | None) -> int:
    """Everything but the right-click's hand-over: the window, or one command."""
    from desktop.cli.start_up import loading

    with loading():
        from desktop.logs import configure_logging
        from desktop.paths import app_paths
        from models.probe import remember_in

        configure_logging()
        remember_in(app_paths().cache_dir / "model-probes")
        window = popup is not None or _wants_window(args_list)
        args = None if window else build_parser(args_list[0]).parse_args(args_list)
    if args is None:
        from desktop.cli.cmd_gui import launch

        return launch(popup, popup=True) if popup is not None else launch(args_list)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
