"""Entry point: parse, run one command, and turn every failure into one line and an exit code.

Exit codes are a contract: 0 ok, 2 bad input, 3 model or backend unavailable,
130 interrupted (partial answer saved), 1 a bug (traceback in the log file).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from desktop.logs import configure_logging
from desktop.messages import describe_error

_COMMAND_MODULES = (
    "desktop.cli.cmd_describe",
    "desktop.cli.cmd_history",
    "desktop.cli.cmd_models",
)
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sightline",
        description="Talk about images, screenshots and PDFs with a vision model on your machine.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        configure_logging()
        parser = build_parser()
        args = parser.parse_args(args_list)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        code: int = args.func(args)
        return code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:
        message = describe_error(exc)
        print(f"sightline: {message.text}", file=sys.stderr)
        return message.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
