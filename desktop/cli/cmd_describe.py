"""``describe``, ``ask``, ``chat`` and ``presets``: asking a model about files.

Answers stream to stdout as they are generated; everything else (progress,
notices, errors) goes to stderr, so ``sightline describe x.png > out.txt``
captures only the answer. The first Ctrl-C stops the answer within a token,
saves what was said and exits 130; a second one exits at once.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from desktop.cli.interrupts import EXIT_INTERRUPTED, interrupt_cancels
from desktop.cli.model_options import add_model_options
from desktop.cli.numbers import MAX_TOKENS
from desktop.cloud_policy import CloudOptIn
from desktop.grounding import NO_BOX, GroundingRequest, convention_for
from desktop.grounding.conventions import Kind as FindKind
from desktop.history.store import HistoryStore
from desktop.ingest import ingest_file, sniff_file
from desktop.ingest.sniff import Kind
from desktop.messages import answer_ending
from desktop.model_choice import ModelChoice, open_backend, resolve_model
from desktop.paths import readable
from desktop.presets import Preset, get_preset, load_presets
from desktop.response_cache import CachingBackend, ResponseCache, cache_wanted
from desktop.session import ChatSession, TurnResult, turn_cost
from desktop.settings import Settings, load_settings
from models.backend import Backend, GenParams, Progress
from models.conversation import ImagePart
from models.errors import InputError, SightlineError, StorageError

DEFAULT_PRESET = "detailed"
GROUNDING_PRESETS = ("detect", "point")


def _add_common(p: argparse.ArgumentParser) -> None:
    add_model_options(p)
    p.add_argument("--pages", metavar="SPEC", help="PDF pages, e.g. 1-3,7 (default: up to 20)")
    _add_video_options(p)
    p.add_argument("--max-tokens", type=MAX_TOKENS, metavar="N", help="longest answer, in tokens")
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.add_argument("--no-history", action="store_true", help="do not save this conversation")
    p.add_argument("--objects", metavar="A, B", help="what --preset detect|point looks for")
    p.add_argument(
        "--annotate", metavar="OUT.png", help="write a copy of the image with the boxes drawn"
    )


def _add_video_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", type=int, metavar="N", help="frames taken from a video (default 8)")
    p.add_argument("--every", type=float, metavar="S", help="one video frame every S seconds")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("describe", help="describe images or PDF pages")
    p.add_argument("files", nargs="+", metavar="FILE")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--preset", metavar="NAME", help="a prompt preset (see `sightline presets`)")
    how.add_argument("--prompt", metavar="TEXT", help="your own instruction or question")
    p.add_argument("--popup", action="store_true", help="show the description in a small window")
    p.add_argument("--fields", metavar="A,B,C", help="keys for the json preset")
    _add_common(p)
    p.set_defaults(func=run_describe)

    p = sub.add_parser("ask", help="ask a question about images: ask FILE... QUESTION")
    p.add_argument("items", nargs="+", metavar="FILE... QUESTION")
    p.add_argument(
        "--preset",
        choices=GROUNDING_PRESETS,
        help="find the --objects (boxes or points) instead of asking a question",
    )
    _add_common(p)
    p.set_defaults(func=run_ask)

    p = sub.add_parser("chat", help="a conversation: one message per stdin line")
    p.add_argument("files", nargs="*", metavar="FILE")
    add_model_options(p)
    p.add_argument("--pages", metavar="SPEC", help="PDF pages, e.g. 1-3,7")
    _add_video_options(p)
    p.add_argument("--max-tokens", type=MAX_TOKENS, metavar="N")
    p.add_argument("--json", action="store_true", help="one JSON object per turn")
    p.add_argument("--no-history", action="store_true")
    p.set_defaults(func=run_chat)

    p = sub.add_parser("presets", help="list the prompt presets")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_presets)


# -- shared plumbing ---------------------------------------------------------


def _say(text: str) -> None:
    print(f"sightline: {text}", file=sys.stderr, flush=True)


class _Progress:
    """A slow step's progress on stderr (pages, images), only when a person is watching."""

    def __init__(self, step: str = "rendering pages") -> None:
        self.step = step
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            end = "\n" if done >= total else ""
            print(f"\r{self.step} {done}/{total}", end=end, file=sys.stderr, flush=True)


def _ingest(
    files: Sequence[str],
    choice: ModelChoice,
    settings: Settings,
    pages: str | None,
    cancel: threading.Event,
    args: argparse.Namespace,
) -> list[ImagePart]:
    max_side = choice.max_image_side(settings)
    images: list[ImagePart] = []
    for name in files:
        images.extend(
            ingest_file(
                Path(name),
                max_side=max_side,
                pages=pages,
                cancel=cancel,
                on_progress=_Progress(),
                on_notice=_say,
                frames=args.frames,
                every=args.every,
                max_frames=settings.max_video_frames,
            )
        )
    return images


def _turn_json(
    result: TurnResult, model: str, files: Sequence[str], backend: str, images_sent: int
) -> dict[str, Any]:
    u = result.usage
    return {
        "text": result.text,
        "model": model,
        "files": [readable(f) for f in files],
        "prompt_tokens": u.prompt_tokens,
        "cached_tokens": u.cached_tokens,
        "completion_tokens": u.completion_tokens,
        "ttft_ms": round(u.ttft_ms, 1),
        "tokens_per_s": round(u.tokens_per_s, 2),
        "finish_reason": u.finish_reason,
        "conversation_id": result.conversation_id,
        "cost_usd": turn_cost(backend, u),
        "cached": u.from_cache,
        "images_sent": images_sent,
    }


def _run_turn(
    session: ChatSession,
    text: str,
    images: Sequence[ImagePart],
    params: GenParams,
    cancel: threading.Event,
    stream_to_stdout: bool,
) -> TurnResult:
    result = TurnResult()
    encoding = _Progress("encoding images")
    for event in session.ask(text, images, params, cancel, result):
        if isinstance(event, Progress):
            encoding(event.done, event.total)
        elif stream_to_stdout and isinstance(event, str):
            sys.stdout.write(event)
            sys.stdout.flush()
    if stream_to_stdout:
        sys.stdout.write("\n")
        sys.stdout.flush()
    # Reaching --max-tokens is what was asked for: stdout keeps the answer and nothing else.
    cut_short = result.usage.finish_reason in ("cancelled", "error")
    if cut_short and (ending := answer_ending(result.usage.finish_reason, result.usage.error)):
        saved = "; what arrived is saved" if session.store is not None else ""
        _say(f"the answer {ending}{saved}")
    if result.usage.from_cache:
        _say("answered from the cache (`sightline cache clear` forgets cached answers)")
    return result


class _Setup:
    """What every asking command needs: settings, model, backend, history."""

    def __init__(self, args: argparse.Namespace, cacheable: bool = False) -> None:
        self.args = args
        self.cacheable = cacheable
        self.settings = load_settings()
        self.choice = resolve_model(self.settings, args.model, args.model_path, args.mmproj)
        if self.choice.note:
            _say(self.choice.note)
        self.cancel = threading.Event()
        self.store: HistoryStore | None = None if args.no_history else HistoryStore.open()
        self._backend: Backend | None = None

    def backend(self) -> Backend:
        if self._backend is None:
            opt_in = CloudOptIn(
                "cli",
                cli_allow_cloud=self.args.allow_cloud,
                settings_allow_cloud=self.settings.allow_cloud,
            )
            backend = open_backend(self.choice, self.settings, opt_in)
            wanted = cache_wanted(
                preset=self.cacheable,
                temperature=0.0,
                no_cache=self.args.no_cache,
                opted_in=self.settings.cache_answers,
            )
            self._backend = CachingBackend(backend, ResponseCache()) if wanted else backend
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            if isinstance(self._backend, CachingBackend):
                self._backend.cache.close()
        if self.store is not None:
            self.store.close()


def grounding_request(
    args: argparse.Namespace, files: Sequence[str], preset_name: str | None
) -> GroundingRequest | None:
    """What ``--preset detect|point``, ``--objects`` and ``--annotate`` ask for, checked early."""
    kind: FindKind | None = (
        "detect" if preset_name == "detect" else "point" if preset_name == "point" else None
    )
    if args.objects and kind is None:
        raise InputError("--objects goes with --preset detect or --preset point")
    if kind is None and not args.annotate:
        return None
    if len(files) != 1 or sniff_file(Path(files[0])) is Kind.PDF:
        raise InputError("boxes and points need exactly one image file (not a PDF or several)")
    return GroundingRequest(
        source=Path(files[0]),
        label=files[0],
        kind=kind,
        objects=args.objects,
        annotate=Path(args.annotate) if args.annotate else None,
    )


def ask_once(
    args: argparse.Namespace,
    files: Sequence[str],
    prompt: str,
    params: GenParams,
    preset: bool = False,
    grounding: GroundingRequest | None = None,
    prepare: Callable[[int], list[ImagePart]] | None = None,
) -> int:
    """One question, one answer; ``prepare`` makes the images that were never files.

    It is given the model's largest useful image side (a screen capture is
    prepared like a file, once the model is known).
    """
    setup = _Setup(args, cacheable=preset and params.temperature == 0)
    try:
        convention = convention_for(setup.choice.label, setup.choice.path, setup.choice.mmproj)
        if grounding is not None and grounding.kind is not None:
            prompt = grounding.prompt(convention)
        with interrupt_cancels(setup.cancel):
            if prepare is None:
                images = _ingest(
                    files, setup.choice, setup.settings, args.pages, setup.cancel, args
                )
            else:
                images = prepare(setup.choice.max_image_side(setup.settings))
            if setup.cancel.is_set():
                return EXIT_INTERRUPTED
            session = ChatSession(
                setup.backend(), model_label=setup.choice.label, store=setup.store
            )
            result = _run_turn(session, prompt, images, params, setup.cancel, not args.json)
        row = _turn_json(result, setup.choice.label, files, setup.choice.backend, len(images))
        if grounding is not None:
            located = grounding.locate(result.text, images, convention)
            row["boxes"] = [b.as_json() for b in located.boxes]
            row["points"] = [p.as_json() for p in located.points]
            if not located.boxes and not located.points:
                _say(NO_BOX)
            if grounding.annotate is not None:
                found = f"{len(located.boxes)} boxes, {len(located.points)} points"
                _say(f"drew {found} on {grounding.annotate}")
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        if result.usage.finish_reason == "cancelled":
            return EXIT_INTERRUPTED
        return 0
    finally:
        setup.close()


def gen_params(
    preset: Preset | None, args: argparse.Namespace, fields: tuple[str, ...] | None
) -> GenParams:
    max_tokens = args.max_tokens or (preset.max_tokens if preset else 512)
    return GenParams(max_tokens=max_tokens, json_fields=fields)


# -- commands ----------------------------------------------------------------


def run_describe(args: argparse.Namespace) -> int:
    if args.popup:
        from desktop.cli.cmd_gui import launch

        return launch(args.files, popup=True)
    fields = tuple(f.strip() for f in args.fields.split(",") if f.strip()) if args.fields else None
    preset: Preset | None = None
    if args.prompt:
        prompt = readable(args.prompt)
        if fields:
            raise InputError("--fields goes with --preset json")
    else:
        preset = get_preset(args.preset or DEFAULT_PRESET)
        prompt = preset.render(fields)
        if preset.min_images > 1 and len(args.files) < preset.min_images:
            raise InputError(f"the {preset.name} preset needs at least {preset.min_images} images")
    params = gen_params(preset, args, fields if preset else None)
    grounding = grounding_request(args, args.files, preset.name if preset else None)
    return ask_once(
        args, args.files, prompt, params, preset=preset is not None, grounding=grounding
    )


def run_ask(args: argparse.Namespace) -> int:
    if args.preset:
        preset = get_preset(args.preset)
        grounding = grounding_request(args, args.items, args.preset)
        params = gen_params(preset, args, None)
        return ask_once(args, args.items, preset.prompt, params, preset=True, grounding=grounding)
    if len(args.items) < 2:
        raise InputError(
            "ask needs at least one FILE and a QUESTION: sightline ask photo.jpg 'what is this?'"
        )
    *files, question = args.items
    grounding = grounding_request(args, files, None)
    return ask_once(
        args, files, readable(question), gen_params(None, args, None), grounding=grounding
    )


def _parse_chat_line(line: str) -> tuple[str, list[str]]:
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"chat input is not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("text", ""), str):
            raise InputError('chat input must be {"text": "...", "files": ["..."]}')
        files = data.get("files") or []
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise InputError('"files" must be a list of paths')
        return str(data.get("text", "")), files
    return stripped, []


def run_chat(args: argparse.Namespace) -> int:
    setup = _Setup(args)
    interactive = sys.stdin.isatty()
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")  # a line that is not UTF-8 is still a message
    try:
        with interrupt_cancels(setup.cancel):
            pending = _ingest(
                args.files, setup.choice, setup.settings, args.pages, setup.cancel, args
            )
            pending_files = list(args.files)
            session = ChatSession(
                setup.backend(), model_label=setup.choice.label, store=setup.store
            )
            params = GenParams(max_tokens=args.max_tokens or 512)
            unsaved = 0  # a turn that could not be saved never ends in exit 0
            while True:
                if interactive:
                    print("> ", end="", file=sys.stderr, flush=True)
                line = sys.stdin.readline()
                if not line:
                    return unsaved
                files: list[str] = []
                try:
                    text, files = _parse_chat_line(line)
                    if not text and not files:
                        continue
                    pending += _ingest(
                        files, setup.choice, setup.settings, args.pages, setup.cancel, args
                    )
                    pending_files += files
                    result = _run_turn(session, text, pending, params, setup.cancel, not args.json)
                except SightlineError as exc:
                    # The conversation goes on; a script reading --json still gets a line per turn.
                    _say(str(exc))
                    if args.json:
                        row = {"error": str(exc), "finish_reason": "error", "files": files}
                        print(json.dumps(row, ensure_ascii=False), flush=True)
                    pending, pending_files = [], []
                    if isinstance(exc, StorageError):
                        unsaved = unsaved or exc.exit_code
                    continue
                if args.json:
                    row = _turn_json(
                        result,
                        setup.choice.label,
                        pending_files,
                        setup.choice.backend,
                        len(pending),
                    )
                    print(json.dumps(row, ensure_ascii=False), flush=True)
                pending, pending_files = [], []
                if result.usage.finish_reason == "cancelled":
                    return EXIT_INTERRUPTED
    finally:
        setup.close()


def run_presets(args: argparse.Namespace) -> int:
    presets = load_presets()
    if args.json:
        rows = [
            {"name": p.name, "title": p.title, "description": p.description, "prompt": p.prompt}
            for p in presets.values()
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len(n) for n in presets)
    for p in presets.values():
        print(f"{p.name:<{width}}  {p.description}")
    return 0
