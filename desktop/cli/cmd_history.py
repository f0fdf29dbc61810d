"""``sightline history``: list, show, search, export and delete saved conversations."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from desktop.cli.numbers import CONVERSATION_ID, LIST_LIMIT
from desktop.history.export import export_json, export_markdown
from desktop.history.store import HistoryStore
from models.errors import InputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("history", help="saved conversations")
    hs = p.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    q = hs.add_parser("list", help="conversations, newest first")
    q.add_argument("--limit", type=LIST_LIMIT, default=50)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_list)

    q = hs.add_parser("show", help="one conversation")
    q.add_argument("id", type=CONVERSATION_ID)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_show)

    q = hs.add_parser("search", help="full-text search over every message")
    q.add_argument("query")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_search)

    q = hs.add_parser("export", help="write a conversation as Markdown or JSON")
    q.add_argument("id", type=CONVERSATION_ID)
    q.add_argument("--format", choices=("md", "json"), default="md")
    q.add_argument("-o", "--output", metavar="PATH")
    q.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    q.set_defaults(func=run_export)

    q = hs.add_parser("delete", help="delete a conversation and its images")
    q.add_argument("id", type=CONVERSATION_ID)
    q.set_defaults(func=run_delete)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def run_list(args: argparse.Namespace) -> int:
    store = HistoryStore.open()
    try:
        rows = store.list_conversations(limit=args.limit)
    finally:
        store.close()
    if args.json:
        _print_json([r.to_json() for r in rows])
        return 0
    if not rows:
        print("no conversations yet")
    for r in rows:
        title = r.title or "(untitled)"
        print(f"{r.id:>5}  {_when(r.updated_at)}  {r.message_count:>3} msgs  {title}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = HistoryStore.open()
    try:
        data = store.conversation_json(args.id)
    finally:
        store.close()
    if args.json:
        _print_json(data)
        return 0
    print(f"# {data['title'] or '(untitled)'}  [{data['id']}]")
    for m in data["messages"]:
        who = "you" if m["role"] == "user" else (m["model"] or "assistant")
        images = "".join(f" [{a['label'] or 'image'}]" for a in m["attachments"])
        flag = " (partial)" if m["status"] != "complete" else ""
        print(f"\n{who}{flag}:{images}\n{m['text']}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    store = HistoryStore.open()
    try:
        hits = store.search(args.query)
    finally:
        store.close()
    if args.json:
        _print_json([h.to_json() for h in hits])
        return 0
    if not hits:
        print("no matches")
    for h in hits:
        print(f"{h.conversation_id:>5}  {h.title or '(untitled)'}: {h.snippet}")
    return 0


def _export_target(output: str | None, conversation_id: int, fmt: str, force: bool) -> Path:
    """Where the export goes: a file, never a folder, never an existing file unless forced."""
    out = Path(output or f"conversation-{conversation_id}.{fmt}")
    if out.is_dir() or not out.name or out.name in (".", ".."):
        raise InputError.for_file(out, "is a folder — give a file name, e.g. -o chat.md")
    if out.exists() and not force:
        raise InputError.for_file(out, "already exists — pass --force to overwrite it")
    return out


def run_export(args: argparse.Namespace) -> int:
    out = _export_target(args.output, args.id, args.format, args.force)
    store = HistoryStore.open()
    try:
        exporter = export_json if args.format == "json" else export_markdown
        exporter(store, args.id, out)
    finally:
        store.close()
    print(out)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    store = HistoryStore.open()
    try:
        store.delete_conversation(args.id)
    finally:
        store.close()
    print(f"deleted conversation {args.id}")
    return 0
