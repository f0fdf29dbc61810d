"""History at scale: 1,000 conversations of 20 turns.

    python3 bench/bench_history.py [--runs 20]

Times opening the database, listing the newest conversations and loading
one of them (what the window does at start and on a click), and a full-text
search. Medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop.history.store import HistoryStore
from tests.images import image_part

WORDS = [
    "invoice",
    "receipt",
    "chart",
    "revenue",
    "quarter",
    "photo",
    "cat",
    "dog",
    "street",
    "sign",
    "table",
    "total",
    "date",
    "shop",
    "defect",
    "scratch",
    "button",
    "menu",
    "label",
    "colour",
    "red",
    "blue",
    "green",
    "page",
    "scan",
    "text",
]


def build(path: Path, conversations: int, turns: int) -> None:
    rng = random.Random(0)
    images = [image_part((i * 9 % 256, i * 31 % 256, i * 57 % 256), (64, 64)) for i in range(50)]
    store = HistoryStore.open(path)
    store.db.execute("BEGIN")
    for c in range(conversations):
        cid = store.create_conversation(model="embedded:bench")
        for t in range(turns // 2):
            text = " ".join(rng.choice(WORDS) for _ in range(12))
            pics = [rng.choice(images)] if t == 0 else []
            mid = store.db.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at) "
                "VALUES (?, 'user', ?, ?)",
                (cid, text, time.time()),
            ).lastrowid
            for pos, img in enumerate(pics):
                store.db.execute(
                    "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?)",
                    (img.digest, b"png", img.width, img.height),
                )
                store.db.execute(
                    "INSERT INTO attachments VALUES (?, ?, ?, ?)", (mid, pos, img.digest, "p.jpg")
                )
            answer = " ".join(rng.choice(WORDS) for _ in range(60))
            store.db.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at, model) "
                "VALUES (?, 'assistant', ?, ?, 'embedded:bench')",
                (cid, answer, time.time()),
            )
        store.db.execute("UPDATE conversations SET title = ? WHERE id = ?", (f"chat {c}", cid))
    store.db.execute("COMMIT")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        build(path, 1000, 20)
        opens, searches = [], []
        for i in range(args.runs):
            start = time.perf_counter()
            store = HistoryStore.open(path)
            rows = store.list_conversations(limit=100)
            store.conversation_messages(rows[i % len(rows)].id)
            opens.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            hits = store.search(WORDS[i % len(WORDS)] + " tot")
            searches.append((time.perf_counter() - start) * 1000)
            store.close()
        size_mb = path.stat().st_size / 1e6
    print(f"1,000 conversations x 20 turns ({size_mb:.1f} MB), {args.runs} runs, medians")
    print(f"{'measure':<40}{'ms':>8}{'target':>9}")
    print(
        f"{'open + list 100 + load one conversation':<40}{statistics.median(opens):>8.1f}{'300':>9}"
    )
    label = f"full-text search ({len(hits)} hits shown)"
    print(f"{label:<40}{statistics.median(searches):>8.1f}{'50':>9}")


if __name__ == "__main__":
    main()
