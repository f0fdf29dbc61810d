"""``batch``: one question per file over files and folders, with results that survive a crash.

Rows are appended to ``--out`` as each file finishes, sidecars and metadata
are written at the same moment, and a re-run of the same command skips what
is already done (same content, model and prompt). The first Ctrl-C stops
after the answer in progress with everything so far written (exit 130); a
second one stops at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.batch.inputs import BatchItem, Rejected, collect
from desktop.batch.ledger import Ledger, file_sha256, sha256_text
from desktop.batch.metadata import write_description
from desktop.batch.results import ResultFile, check_fields
from desktop.batch.runner import Aborted, BatchRunner, Concurrency, Finished, Started
from desktop.batch.sidecars import sidecar_path, write_atomic
from desktop.cli.interrupts import EXIT_INTERRUPTED, interrupt_cancels
from desktop.cli.model_options import add_model_options
from desktop.cli.start_up import loading
from desktop.cloud_policy import CloudOptIn, check_request
from desktop.ingest import ingest_file
from desktop.model_choice import ModelChoice, open_backend, resolve_model
from desktop.presets import get_preset
from desktop.settings import Settings, load_settings
from models.backend import GenParams, Usage
from models.conversation import ImagePart
from models.errors import InputError

DEFAULT_PRESET = "alt-text"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("batch", help="describe every image, PDF page or video in files and folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--recursive", action="store_true", help="also the files in subfolders")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--preset", metavar="NAME", help=f"a prompt preset (default {DEFAULT_PRESET})")
    how.add_argument("--prompt", metavar="TEXT", help="your own instruction, asked of each file")
    p.add_argument("--fields", metavar="A,B,C", help="keys for the json preset (one column each)")
    add_model_options(p)
    p.add_argument("--pages", metavar="SPEC", help="PDF pages to ask about, e.g. 1-3 (default all)")
    p.add_argument("--frames", type=int, metavar="N", help="frames taken from each video")
    p.add_argument("--every", type=float, metavar="S", help="one video frame every S seconds")
    p.add_argument("--max-tokens", type=int, metavar="N", help="longest answer, in tokens")
    p.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="cloud models: stop once the answers have cost this much (asked first if the "
        "estimate is higher)",
    )
    p.add_argument("--out", metavar="FILE", help="append results to FILE.csv or FILE.jsonl")
    p.add_argument("--sidecar", action="store_true", help="write NAME.txt beside each file")
    p.add_argument(
        "--write-metadata", action="store_true", help="write the text into each image's metadata"
    )
    p.add_argument("--force", action="store_true", help="redo done files; replace any sidecar")
    p.add_argument("--jobs", type=int, metavar="N", help="requests in flight (server backends)")
    p.add_argument("--json", action="store_true", help="one JSON object per file, then a summary")
    p.set_defaults(func=run_batch)


def _say(text: str) -> None:
    print(f"sightline: {text}", file=sys.stderr, flush=True)


@dataclass(slots=True)
class _Question:
    prompt: str
    params: GenParams
    preset: str
    fields: tuple[str, ...] = ()

    @property
    def wants_json(self) -> bool:
        return self.params.json_fields is not None

    @property
    def key(self) -> str:
        """What makes two answers the same question, for resuming."""
        return sha256_text(json.dumps([self.prompt, self.fields, self.params.max_tokens]))


def _question(args: argparse.Namespace) -> _Question:
    fields = tuple(f.strip() for f in (args.fields or "").split(",") if f.strip())
    if args.prompt:
        if fields:
            raise InputError("--fields goes with --preset json")
        max_tokens, prompt, name = args.max_tokens or 512, args.prompt, ""
    else:
        preset = get_preset(args.preset or DEFAULT_PRESET)
        if preset.min_images > 1:
            raise InputError(
                f"the {preset.name} preset compares files; batch asks about each alone"
            )
        prompt, name = preset.render(fields or None), preset.name
        max_tokens = args.max_tokens or preset.max_tokens
    if max_tokens <= 0:
        raise InputError("--max-tokens must be a positive number")
    check_fields(fields)
    json_fields = fields if name == "json" else None
    return _Question(
        prompt, GenParams(max_tokens=max_tokens, json_fields=json_fields), name, fields
    )


@dataclass(slots=True)
class _Plan:
    """Which items to ask about, and how each result is kept."""

    todo: list[BatchItem] = field(default_factory=list)
    skipped: int = 0
    failed: list[Rejected] = field(default_factory=list)
    content: dict[BatchItem, str] = field(default_factory=dict)


class _Batch:
    def __init__(self, args: argparse.Namespace, question: _Question, choice: ModelChoice) -> None:
        self.args = args
        self.q = question
        self.choice = choice
        self.out = ResultFile(Path(args.out), question.fields) if args.out else None
        keeps = bool(args.out or args.sidecar or args.write_metadata)
        self.ledger = Ledger() if keeps else None
        self.done = 0
        self.failed = 0
        self.skipped = 0

    def destinations(self, item: BatchItem) -> list[str]:
        found: list[str] = []
        if self.out is not None:
            found.append(f"out:{self.out.path.resolve()}")
        if self.args.sidecar:
            found.append(f"sidecar:{self._sidecar(item).resolve()}")
        if self.args.write_metadata:
            found.append("metadata")
        return found

    def _sidecar(self, item: BatchItem) -> Path:
        return sidecar_path(item, json=self.q.wants_json)

    def plan(self, items: Sequence[BatchItem], rejected: Sequence[Rejected]) -> _Plan:
        plan = _Plan(failed=list(rejected))
        answered = self.out.answered(self.choice.label) if self.out is not None else set()
        hashes: dict[Path, str] = {}
        claimed: dict[Path, BatchItem] = {}
        for item in items:
            try:
                if item.path not in hashes:
                    hashes[item.path] = file_sha256(item.path)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                plan.failed.append(Rejected(item.name, f"{item.name}: cannot be read ({reason})"))
                continue
            content = hashes[item.path] + (f":page={item.page}" if item.page else "")
            plan.content[item] = content
            if self.args.sidecar:
                target = self._sidecar(item)
                other = claimed.setdefault(target, item)
                if other is not item:
                    plan.failed.append(
                        Rejected(
                            item.name,
                            f"{item.name}: its sidecar {target.name} would be "
                            f"the one of {other.name} — rename one of them",
                        )
                    )
                    continue
            if not self.args.force and self._is_done(item, content, answered):
                plan.skipped += 1
                continue
            if self.args.sidecar and not self.args.force:
                target = self._sidecar(item)
                assert self.ledger is not None
                if not self.ledger.owns(target):
                    plan.failed.append(
                        Rejected(
                            item.name,
                            f"{target}: exists and was not written by Sightline "
                            "— pass --force to replace it",
                        )
                    )
                    continue
            plan.todo.append(item)
        return plan

    def _is_done(self, item: BatchItem, content: str, answered: set[str]) -> bool:
        wanted = self.destinations(item)
        if not wanted or self.ledger is None:
            return False
        if self.out is not None and item.name not in answered:
            return False
        if self.args.sidecar and not self._sidecar(item).exists():
            return False
        return all(self.ledger.has(content, self.choice.label, self.q.key, d) for d in wanted)

    # -- one finished file ---------------------------------------------------

    def keep(self, result: Finished, content: str | None) -> None:
        values: dict[str, Any] = {}
        if result.ok and self.q.wants_json:
            values = self._json_values(result)
        if result.ok:
            self._write_beside(result, values)
        row: dict[str, Any] = {
            "path": result.item.name,
            "text": result.text,
            "model": self.choice.label,
            "preset": self.q.preset,
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "ms": round(result.ms, 1),
            "error": result.error,
        }
        row.update({f: values.get(f) for f in self.q.fields if self.q.wants_json})
        if self.out is not None:
            self.out.append(row)
        if result.ok:
            self.done += 1
            self._remember(result, content)
        else:
            self.failed += 1
            _say(result.error or f"{result.item.name}: failed")
        self._show(result, row)

    def _json_values(self, result: Finished) -> dict[str, Any]:
        try:
            data = json.loads(result.text)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            result.error = f"{result.item.name}: the answer is not a JSON object"
            return {}
        return data

    def _write_beside(self, result: Finished, values: dict[str, Any]) -> None:
        item = result.item
        try:
            if self.args.sidecar:
                target = self._sidecar(item)
                body = json.dumps(values, ensure_ascii=False, indent=2) if values else result.text
                write_atomic(target, (body + "\n").encode("utf-8"))
                assert self.ledger is not None
                self.ledger.wrote(target)
            if self.args.write_metadata:
                if item.page is not None:
                    raise InputError.for_file(item.path, "a PDF page cannot hold a description")
                write_description(item.path, result.text, alt_text=self.q.preset == "alt-text")
        except InputError as exc:
            result.error = str(exc)
        except OSError as exc:
            result.error = f"{item.name}: could not write beside it ({exc.strerror or exc})"

    def _remember(self, result: Finished, content: str | None) -> None:
        if self.ledger is None or content is None:
            return
        contents = [content]
        if self.args.write_metadata:  # the file changed: its new content is done too
            contents.append(file_sha256(result.item.path))
        self.ledger.record(contents, self.choice.label, self.q.key, self.destinations(result.item))

    def _show(self, result: Finished, row: dict[str, Any]) -> None:
        if self.args.json:
            u = result.usage
            line = {
                "path": row["path"],
                "text": result.text,
                "error": result.error,
                "model": self.choice.label,
                "prompt_tokens": u.prompt_tokens,
                "cached_tokens": u.cached_tokens,
                "completion_tokens": u.completion_tokens,
                "ms": row["ms"],
                "images_sent": result.images_sent,
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)
        elif result.ok and not (self.out or self.args.sidecar or self.args.write_metadata):
            print(f"{result.item.name}: {result.text}", flush=True)

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
        if self.ledger is not None:
            self.ledger.close()


class _Progress:
    """Files done / total, rate, time left, cost and the current file — when a person watches."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.cost = 0.0
        self.begun = time.monotonic()
        self.enabled = sys.stderr.isatty()

    def started(self, item: BatchItem) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.begun
        rate = self.count / elapsed * 60 if elapsed > 0 and self.count else 0.0
        left = (self.total - self.count) * elapsed / self.count if self.count else None
        eta = f", about {int(left // 60)}:{int(left % 60):02d} left" if left is not None else ""
        cost = f", ${self.cost:.4f} so far" if self.cost else ""
        line = f"[{self.count}/{self.total}] {rate:.1f} files/min{eta}{cost} — {item.name}"
        print(f"\r\x1b[K{line}", end="", file=sys.stderr, flush=True)

    def finished(self) -> None:
        self.count += 1
        if self.enabled and self.count >= self.total:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)


def _estimate(model: str, question: Any, max_side: int, files: int) -> float | None:
    """The most ``files`` answers could cost: a full-size image and a full-length answer each."""
    from models.cloud.pricing import cost_usd

    usage = Usage(prompt_tokens=len(question.prompt) // 3 + 50)
    usage.completion_tokens = question.params.max_tokens
    one = cost_usd(model, usage, [(max_side, max_side)])
    return None if one is None else one * files


def _within_budget(max_cost: float | None, estimate: float | None, files: int) -> bool:
    """Whether to start: asked when a person is there and the estimate is over the limit."""
    if max_cost is None or estimate is None or estimate <= max_cost:
        return True
    said = f"{files} files could cost up to ${estimate:.4f}, above --max-cost ${max_cost:.2f}"
    if not sys.stdin.isatty():
        _say(f"{said}; it stops once ${max_cost:.2f} is spent")
        return True
    print(f"sightline: {said}. Start anyway (it stops at the limit)? [y/N] ", end="",
          file=sys.stderr, flush=True)  # fmt: skip
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _jobs(args: argparse.Namespace, choice: ModelChoice, settings: Settings) -> int:
    if choice.backend == "embedded":
        if args.jobs and args.jobs > 1:
            _say(
                "--jobs has no effect with an embedded model (it has one context); "
                "answering one file at a time"
            )
        return 1
    if args.jobs is not None and args.jobs < 1:
        raise InputError("--jobs must be at least 1")
    return args.jobs or settings.batch_jobs


def _prepare(args: argparse.Namespace, settings: Settings, max_side: int) -> Any:
    def prepare(item: BatchItem, cancel: threading.Event) -> list[ImagePart]:
        return list(
            ingest_file(
                item.path,
                max_side=max_side,
                pages=str(item.page) if item.page is not None else None,
                cancel=cancel,
                on_notice=_say,
                frames=args.frames,
                every=args.every,
                max_frames=settings.max_video_frames,
            )
        )

    return prepare


def run_batch(args: argparse.Namespace) -> int:
    begun = time.monotonic()
    if args.max_cost is not None and not args.max_cost > 0:
        raise InputError("--max-cost must be a positive amount of US dollars, e.g. 0.50")
    question = _question(args)
    settings = load_settings()
    items, rejected = collect(args.paths, recursive=args.recursive, pages=args.pages)
    if not items and not rejected:
        raise InputError(f"no images, PDFs or videos in {', '.join(args.paths)}")
    choice = resolve_model(settings, args.model, args.model_path, args.mmproj)
    if choice.note:
        _say(choice.note)
    batch = _Batch(args, question, choice)
    stop = threading.Event()
    aborted: Aborted | None = None
    concurrency = Concurrency(1)
    spent = 0.0
    try:
        plan = batch.plan(items, rejected)
        batch.skipped = plan.skipped
        for bad in plan.failed:
            batch.keep(Finished(BatchItem(Path(bad.name)), error=bad.reason), None)
        if plan.todo:
            jobs = _jobs(args, choice, settings)
            opt_in = CloudOptIn(
                "cli", cli_allow_cloud=args.allow_cloud, settings_allow_cloud=settings.allow_cloud
            )
            with loading():  # the model's SDK and client, there until the process ends
                backend = open_backend(choice, settings, opt_in)

            def before_request() -> None:
                check_request(choice.label, choice.backend, opt_in)

            prepare = _prepare(args, settings, choice.max_image_side(settings))
            runner = BatchRunner(
                backend,
                question.prompt,
                question.params,
                prepare,
                jobs=jobs,
                before_request=before_request,
            )
            concurrency = runner.concurrency
            progress = _Progress(len(plan.todo))
            estimate = _estimate(
                backend.capabilities.name, question, choice.max_image_side(settings), len(plan.todo)
            )
            try:
                if not _within_budget(args.max_cost, estimate, len(plan.todo)):
                    _say("nothing was sent")
                    return 0
                # Ctrl-C: one model context finishes the answer it is on (seconds away,
                # and the same work again later); requests in flight on a server are cut
                # short and asked again on the next run. --max-cost lets them finish.
                cut = threading.Event() if jobs > 1 else None
                with interrupt_cancels(stop, also=cut):
                    for event in runner.run(plan.todo, stop, cut):
                        if isinstance(event, Started):
                            progress.started(event.item)
                        elif isinstance(event, Finished):
                            progress.finished()
                            spent += event.usage.cost_usd or 0.0
                            progress.cost = spent
                            batch.keep(event, plan.content.get(event.item))
                            if args.max_cost is not None and spent >= args.max_cost:
                                stop.set()  # after the answers already in flight
                        else:
                            aborted = event
            finally:
                backend.close()
            if args.max_cost is not None and spent >= args.max_cost:  # a limit, not a failure
                _say(
                    f"stopped at --max-cost: ${spent:.4f} spent; "
                    "run the same command again to go on where it stopped"
                )
    finally:
        batch.close()
    seconds = round(time.monotonic() - begun, 2)
    summary = {
        "done": batch.done,
        "skipped": batch.skipped,
        "failed": batch.failed,
        "seconds": seconds,
        "concurrency": concurrency.limit,
        "max_in_flight": concurrency.peak,
        "retries": concurrency.retries,
        "cost_usd": round(spent, 6),
    }
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        _say(f"{batch.done} done, {batch.skipped} skipped, {batch.failed} failed in {seconds} s")
        if concurrency.retries:
            _say(
                f"the server was busy {concurrency.retries} times: "
                f"{concurrency.limit} requests at a time (at most {concurrency.peak})"
            )
    if aborted is not None:
        _say(str(aborted.error))
        return aborted.error.exit_code
    over_budget = args.max_cost is not None and spent >= args.max_cost
    unfinished = batch.done + batch.failed < len(items) + len(rejected) - batch.skipped
    if stop.is_set() and unfinished and not over_budget:
        _say("stopped; the files answered so far are written")
        return EXIT_INTERRUPTED
    return 2 if batch.failed else 0
