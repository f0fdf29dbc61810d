"""A conversation as files a person can keep: Markdown or JSON, with its images beside it.

Images are written as PNG files in a folder named after the export, linked
relatively, so the pair can be moved or zipped together.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from desktop.history.store import HistoryStore, StoredMessage
from desktop.messages import answer_ending
from models.errors import StorageError


def _files_dir(out_path: Path) -> Path:
    return out_path.with_name(out_path.stem + "_files")


def _write_images(
    store: HistoryStore, messages: list[StoredMessage], out_path: Path
) -> dict[str, str]:
    """Write each distinct image once; returns digest -> path relative to the export."""
    folder = _files_dir(out_path)
    written: dict[str, str] = {}
    for m in messages:
        for a in m.attachments:
            if a.digest in written:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{len(written) + 1:03d}-{a.digest[:12]}.png"
            (folder / name).write_bytes(store.blob_png(a.digest))
            written[a.digest] = f"{folder.name}/{name}"
    return written


def _usage_line(m: StoredMessage) -> str:
    bits = [m.model or ""]
    if m.tokens_per_s:
        bits.append(f"{m.tokens_per_s:.1f} tokens/s")
    if m.cached_tokens:
        bits.append(f"{m.cached_tokens} cached tokens")
    if m.status == "partial" or m.finish_reason == "length":
        bits.append(answer_ending(m.finish_reason, m.error) or "")
    return " · ".join(b for b in bits if b)


def export_markdown(store: HistoryStore, conversation_id: int, out_path: Path) -> Path:
    messages = store.conversation_messages(conversation_id)
    title = store.title(conversation_id) or f"Conversation {conversation_id}"
    try:
        images = _write_images(store, messages, out_path)
        lines = [f"# {title}", ""]
        for m in messages:
            lines.append("## You" if m.role == "user" else "## Sightline")
            lines.append("")
            for a in m.attachments:
                lines.append(f"![{a.label or 'image'}]({images[a.digest]})")
                lines.append("")
            if m.text:
                lines.append(m.text)
                lines.append("")
            if m.role == "assistant" and (usage := _usage_line(m)):
                lines.append(f"*{usage}*")
                lines.append("")
        out_path.write_text("\n".join(lines), encoding="utf-8")
    except OSError as exc:
        raise StorageError(
            f"{out_path}: could not write the export ({exc.strerror or exc})"
        ) from exc
    return out_path


def export_json(store: HistoryStore, conversation_id: int, out_path: Path) -> Path:
    data: dict[str, Any] = store.conversation_json(conversation_id)
    messages = store.conversation_messages(conversation_id)
    try:
        images = _write_images(store, messages, out_path)
        for m in data["messages"]:
            for a in m["attachments"]:
                a["file"] = images[a["digest"]]
        data["exported_at"] = time.time()
        out_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        raise StorageError(
            f"{out_path}: could not write the export ({exc.strerror or exc})"
        ) from exc
    return out_path
