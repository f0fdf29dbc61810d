"""Schema changes: an append-only list of small steps, numbered by position.

Never edit or reorder a step that has shipped; add a new one. The
database's ``user_version`` says how many have run. Each step is SQL run in
one transaction with its version bump, so a crash mid-migration leaves the
previous schema intact.

Several processes may open a fresh database at the same moment (a script
starting four commands at once). The version is therefore read inside the
``BEGIN IMMEDIATE`` transaction that runs the steps: the first process to
get the write lock migrates, the others wait for it (the connection's busy
timeout) and then find nothing left to do, so running ``migrate`` any number
of times, from any number of processes, gives the same schema.
"""

from __future__ import annotations

import sqlite3

_INITIAL_SCHEMA = """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            model TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX conversations_by_update ON conversations(updated_at DESC, id DESC);

        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            text TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'partial', 'streaming')),
            error TEXT,
            model TEXT,
            backend TEXT,
            prompt_tokens INTEGER,
            cached_tokens INTEGER,
            completion_tokens INTEGER,
            ttft_ms REAL,
            tokens_per_s REAL,
            finish_reason TEXT,
            cost_usd REAL,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);

        CREATE TABLE blobs (
            digest TEXT PRIMARY KEY,
            png BLOB NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE attachments (
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            digest TEXT NOT NULL REFERENCES blobs(digest),
            label TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (message_id, position)
        ) WITHOUT ROWID;
        CREATE INDEX attachments_by_digest ON attachments(digest);

        CREATE VIRTUAL TABLE messages_fts USING fts5(
            text, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
        END;
"""

_STREAMING_INDEX = """
        CREATE INDEX messages_streaming ON messages(id) WHERE status = 'streaming';
"""
"""Opening the history looks for answers a crash left streaming: without this it reads every
message, which is most of the start-up time of a window with a long history."""

_ANSWER_WRITER = """
        ALTER TABLE messages ADD COLUMN writer TEXT;
"""
"""Which process writes a streaming answer (its ``WriterLock`` token), so another process
opening the history leaves that answer alone while its writer is alive."""

MIGRATIONS: list[str] = [_INITIAL_SCHEMA, _STREAMING_INDEX, _ANSWER_WRITER]


def _statements(script: str) -> list[str]:
    """The script's statements, one by one (``executescript`` would commit our transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements


def migrate(db: sqlite3.Connection) -> int:
    """Run the steps this database has not seen, under the write lock, each with its version bump.

    ``db`` must be in autocommit mode (``isolation_level=None``) with a busy timeout.
    """
    if db.execute("PRAGMA user_version").fetchone()[0] >= len(MIGRATIONS):
        return len(MIGRATIONS)  # the common case takes no write lock
    db.execute("BEGIN IMMEDIATE")
    try:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)
