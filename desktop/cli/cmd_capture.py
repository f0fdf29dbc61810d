"""``sightline capture``: grab the screen, or a region of it, and ask about it.

The answer comes like ``describe``'s (stdout, or one JSON object with the
same fields), or in the popup or a new chat. Without ``--full`` or
``--region`` an overlay lets the user drag the rectangle; Esc cancels (exit
130). The captured picture goes through the same ingestion as a file and is
kept in history like any attachment; the model is chosen under the same
privacy rules (a cloud model only with ``--allow-cloud``).
"""

from __future__ import annotations

import argparse
import sys
import time

from desktop.cli.cmd_describe import DEFAULT_PRESET, ask_once, gen_params
from desktop.cli.interrupts import EXIT_INTERRUPTED
from desktop.cli.model_options import add_model_options
from desktop.display import NO_DISPLAY, has_display
from desktop.ingest import prepare_image_bytes
from desktop.paths import app_paths
from desktop.presets import Preset, get_preset
from models.conversation import ImagePart

EXIT_NO_DISPLAY = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("capture", help="capture the screen or a region and ask about it")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--full", action="store_true", help="the whole screen, no overlay")
    where.add_argument(
        "--region", metavar="X,Y,W,H", help="this rectangle of the screen (logical pixels)"
    )
    p.add_argument("--screen", type=int, metavar="N", help="which screen (default: the primary)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--preset", metavar="NAME", help="a prompt preset (see `sightline presets`)")
    how.add_argument("--prompt", metavar="TEXT", help="your own instruction or question")
    add_model_options(p)
    p.add_argument("--max-tokens", type=int, metavar="N", help="longest answer, in tokens")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-history", action="store_true", help="do not save this conversation")
    show = p.add_mutually_exclusive_group()
    show.add_argument("--popup", action="store_true", help="answer in the small popup window")
    show.add_argument("--chat", action="store_true", help="open the capture in a new chat")
    p.set_defaults(func=run_capture, pages=None)


def _say(text: str) -> None:
    print(f"sightline: {text}", file=sys.stderr, flush=True)


def _label(args: argparse.Namespace) -> str:
    screen = "" if args.screen is None else f" {args.screen}"
    if args.full:
        return f"screen{screen}"
    if args.region:
        return f"screen{screen} region {args.region.replace(' ', '')}"
    return f"screen{screen} selection"


def run_capture(args: argparse.Namespace) -> int:
    preset: Preset | None = None
    if args.prompt:
        prompt = args.prompt
    else:
        preset = get_preset(args.preset or DEFAULT_PRESET)
        prompt = preset.render()
    params = gen_params(preset, args, None)
    if not has_display():
        print(f"sightline: {NO_DISPLAY}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    from desktop.ui.capture_overlay import capture
    from desktop.ui.qt_app import gui_app
    from desktop.ui.screen_grab import Region, png_bytes

    region = Region.parse(args.region) if args.region else None
    gui_app()
    image = capture(args.full, region, args.screen)
    if image is None:
        _say("capture cancelled")
        return EXIT_INTERRUPTED
    png = png_bytes(image)
    label = _label(args)
    if args.popup or args.chat:
        folder = app_paths().cache_dir / "captures"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / time.strftime("capture-%Y%m%d-%H%M%S.png")
        path.write_bytes(png)
        from desktop.cli.cmd_gui import launch

        return launch([str(path)], popup=args.popup)

    def prepare(max_side: int) -> list[ImagePart]:
        return [prepare_image_bytes(png, label, max_side)]

    return ask_once(args, [label], prompt, params, preset=preset is not None, prepare=prepare)
