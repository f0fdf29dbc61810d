"""``sightline models``: what can answer, getting a model in one step, and managing the library."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from desktop.cli.interrupts import interrupt_cancels
from desktop.model_choice import all_models, installed_models
from desktop.paths import app_paths
from desktop.settings import load_settings, save_settings
from models.catalog import CatalogEntry, load_catalog
from models.download import Progress
from models.entry import ModelEntry
from models.errors import InputError, ModelError
from models.machine import disk_free, total_ram


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list, get and manage models")
    ms = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    q = ms.add_parser("list", help="models that can answer, with vision yes/no")
    q.add_argument("--json", action="store_true")
    q.add_argument("--available", action="store_true", help="also list catalog models to pull")
    q.set_defaults(func=run_list)

    q = ms.add_parser("pull", help="download a catalog model (or ollama:NAME through Ollama)")
    q.add_argument("name")
    q.set_defaults(func=run_pull)

    q = ms.add_parser("import", help="add your own GGUF text model + mmproj to the library")
    q.add_argument("text", metavar="TEXT.gguf")
    q.add_argument("--mmproj", metavar="MMPROJ.gguf")
    q.add_argument("--name")
    q.add_argument("--link", action="store_true", help="link instead of copying")
    q.set_defaults(func=run_import)

    q = ms.add_parser("remove", help="delete a model from the library")
    q.add_argument("name")
    q.set_defaults(func=run_remove)

    q = ms.add_parser("default", help="the model used when none is named")
    q.add_argument("name")
    q.set_defaults(func=run_default)

    q = ms.add_parser("recommend", help="the best catalog model for this machine")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_recommend)


def _problem(message: str) -> None:
    print(f"sightline: skipped {message}", file=sys.stderr)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _catalog() -> dict[str, CatalogEntry]:
    return load_catalog(app_paths().config_dir)


def _available(installed: list[ModelEntry]) -> list[ModelEntry]:
    have = {e.name for e in installed if e.backend == "embedded"}
    return [
        ModelEntry(
            name=c.name,
            backend="embedded",
            vision=True,
            size_bytes=c.size_bytes,
            context_length=c.context_length,
            installed=False,
        )
        for c in _catalog().values()
        if c.name not in have
    ]


def run_list(args: argparse.Namespace) -> int:
    entries = all_models(load_settings(), on_problem=_problem)
    if args.available:
        entries += _available(entries)
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2))
        return 0
    if not entries:
        print("no models yet — `sightline models recommend`, then `sightline models pull NAME`")
        return 0
    width = max(len(e.qualified_name) for e in entries)
    for e in entries:
        vision = "vision" if e.vision else "text only"
        marks = (" (default)" if e.default else "") + ("" if e.installed else " (not installed)")
        print(f"{e.qualified_name:<{width}}  {vision:<9}  {_size(e.size_bytes):>8}{marks}")
    return 0


class _Bar:
    """One line of download progress on stderr: bytes, rate, time left."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.label = ""

    def __call__(self, label: str, p: Progress) -> None:
        if label != self.label and self.label:
            print(file=sys.stderr)
        self.label = label
        total = _size(p.total) if p.total else "?"
        eta = f"{int(p.eta_s // 60)}:{int(p.eta_s % 60):02d}" if p.eta_s is not None else "--:--"
        line = f"{label}  {_size(p.done)} / {total}  {p.rate_bps / 1e6:.1f} MB/s  ETA {eta}"
        if self.tty:
            print(f"\r{line:<100}", end="", file=sys.stderr, flush=True)


def run_pull(args: argparse.Namespace) -> int:
    settings = load_settings()
    cancel = threading.Event()
    name: str = args.name
    if name.startswith("ollama:"):
        from models.ollama_backend import pull as ollama_pull

        def show(status: str, done: int | None, total: int | None) -> None:
            if sys.stderr.isatty():
                pct = f" {100 * (done or 0) // total}%" if total else ""
                print(f"\r{status}{pct:<60}", end="", file=sys.stderr, flush=True)

        with interrupt_cancels(cancel):
            ollama_pull(settings.effective_ollama_host(), name.split(":", 1)[1], show, cancel)
        print(f"\npulled {name}", file=sys.stderr)
        return 0
    catalog = _catalog()
    entry = catalog.get(name.removeprefix("embedded:"))
    if entry is None:
        raise InputError(f"no catalog model named {name!r} — available: {', '.join(catalog)}")
    from models.library import pull

    bar = _Bar()
    with interrupt_cancels(cancel):
        model = pull(entry, app_paths().models_dir, progress=bar, cancel=cancel)
    if bar.tty:
        print(file=sys.stderr)
    print(f"installed {model.qualified_name} ({_size(model.size_bytes)}) in {model.path}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from models.library import import_model

    entry = import_model(
        Path(args.text),
        Path(args.mmproj) if args.mmproj else None,
        app_paths().models_dir,
        name=args.name,
        link=args.link,
    )
    vision = "can see images" if entry.vision else "text only"
    print(f"imported {entry.qualified_name} ({vision})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from models.library import remove

    removed = remove(args.name, app_paths().models_dir)
    settings = load_settings()
    if settings.default_model in (args.name, f"embedded:{args.name}"):
        settings.default_model = None
        save_settings(settings)
    print(f"removed {removed}")
    return 0


def run_default(args: argparse.Namespace) -> int:
    settings = load_settings()
    known = {e.qualified_name: e for e in all_models(settings)}
    name: str = args.name
    match = known.get(name) or next((e for e in known.values() if e.name == name), None)
    if match is None:
        raise ModelError(
            f"no model named {name!r} — see `sightline models list` "
            f"(have: {', '.join(known) or 'none'})"
        )
    settings.default_model = match.qualified_name
    save_settings(settings)
    print(f"default model: {match.qualified_name}")
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    from models.library import recommend

    ram, free = total_ram(), disk_free(app_paths().models_dir)
    best = recommend(_catalog(), ram, free)
    if best is None:
        raise ModelError(
            f"no catalog model fits this machine ({ram / 1e9:.0f} GB RAM, {free / 1e9:.0f} GB free)"
        )
    installed = any(e.name == best.name for e in installed_models(load_settings()))
    if args.json:
        print(
            json.dumps(
                {
                    "name": best.name,
                    "title": best.title,
                    "ram_gb": best.ram_gb,
                    "size_bytes": best.size_bytes,
                    "license": best.license,
                    "installed": installed,
                }
            )
        )
        return 0
    print(
        f"{best.name}: {best.title} — needs about {best.ram_gb:g} GB RAM, "
        f"{_size(best.size_bytes)} download, license {best.license}"
    )
    if not installed:
        print(f"get it with: sightline models pull {best.name}")
    return 0
