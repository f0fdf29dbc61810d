"""The history database keeps everything that was said, whatever happens."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.history.export import export_json, export_markdown
from desktop.history.store import HistoryStore, fts_query
from desktop.messages import answer_ending
from models.backend import Usage
from models.errors import InputError, StorageError
from tests.images import image_part


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    s = HistoryStore.open(tmp_path / "h.sqlite3")
    yield s
    s.close()


def reader(store: HistoryStore) -> sqlite3.Connection:
    return sqlite3.connect(store.path)


def test_the_question_is_committed_before_the_model_starts(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "What is this?", [image_part((1, 2, 3))])
    other = reader(store)
    assert other.execute("SELECT text FROM messages").fetchall() == [("What is this?",)]
    assert other.execute("SELECT count(*) FROM blobs").fetchone() == (1,)


def test_an_answer_is_visible_while_it_streams_and_finished_with_usage(store: HistoryStore) -> None:
    now = [0.0]
    cid = store.create_conversation()
    store.add_user_message(cid, "hi", [])
    writer = store.start_answer(cid, "embedded:tiny", "embedded", clock=lambda: now[0])
    other = reader(store)
    writer.append("Hello")
    assert other.execute("SELECT text, status FROM messages WHERE role='assistant'").fetchone() == (
        "Hello",
        "streaming",
    )
    now[0] = 0.5
    writer.append(" there")
    assert other.execute("SELECT text FROM messages WHERE role='assistant'").fetchone() == (
        "Hello",
    )
    now[0] = 1.2
    writer.append("!")
    assert other.execute("SELECT text FROM messages WHERE role='assistant'").fetchone() == (
        "Hello there!",
    )
    writer.finish(
        Usage(prompt_tokens=10, cached_tokens=4, completion_tokens=3, finish_reason="stop")
    )
    [_, answer] = store.conversation_messages(cid)
    assert (answer.text, answer.status, answer.cached_tokens) == ("Hello there!", "complete", 4)


def test_a_cancelled_or_failed_answer_stays_marked_partial(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "go", [])

    def answer_then_fail() -> None:
        with store.start_answer(cid, "m", "embedded") as writer:
            writer.append("half an ans")
            raise RuntimeError("server died")

    with pytest.raises(RuntimeError):
        answer_then_fail()
    [_, answer] = store.conversation_messages(cid)
    assert (answer.text, answer.status, answer.error) == ("half an ans", "partial", "server died")


def test_a_crash_mid_answer_is_recovered_as_partial(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    child = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from desktop.history.store import HistoryStore\n"
        "s = HistoryStore.open(Path(sys.argv[1]))\n"
        "cid = s.create_conversation()\n"
        "s.add_user_message(cid, 'q', [])\n"
        "s.start_answer(cid, 'm', 'embedded').append('some words')\n"
        "os._exit(9)  # the process dies here: no finish, no close\n"
    )
    subprocess.run([sys.executable, "-c", child, str(path)], check=False, timeout=60)
    again = HistoryStore.open(path)
    [cid] = [c.id for c in again.list_conversations()]
    [question, answer] = again.conversation_messages(cid)
    assert question.text == "q"
    assert (answer.text, answer.status) == ("some words", "partial")
    again.close()


def test_the_same_image_is_stored_once(store: HistoryStore) -> None:
    photo = image_part((9, 9, 9))
    cid = store.create_conversation()
    store.add_user_message(cid, "one", [photo])
    store.add_user_message(cid, "two", [photo, photo])
    other = store.create_conversation()
    store.add_user_message(other, "three", [photo])
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone() == (1,)
    store.delete_conversation(cid)
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone() == (1,), "still used"
    store.delete_conversation(other)
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone() == (0,)


def test_images_come_back_identical_for_the_model(store: HistoryStore) -> None:
    photo = image_part((200, 100, 50), (40, 30))
    cid = store.create_conversation()
    store.add_user_message(cid, "look", [photo])
    w = store.start_answer(cid, "m", "embedded")
    w.append("ok")
    w.finish(Usage())
    [user, assistant] = store.load_for_model(cid)
    assert user.images[0].digest == photo.digest
    assert user.images[0].rgb == photo.rgb
    assert assistant.joined_text == "ok"


def test_a_turn_that_got_no_answer_is_not_sent_again(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "too long", [])
    store.start_answer(cid, "m", "embedded").finish(Usage(finish_reason="error", error="context"))
    store.add_user_message(cid, "shorter", [])
    assert [m.joined_text for m in store.load_for_model(cid)] == ["shorter"]


def test_list_is_newest_first_with_titles_from_the_first_question(store: HistoryStore) -> None:
    first = store.create_conversation()
    store.add_user_message(first, "the first conversation about cats and dogs and birds", [])
    second = store.create_conversation()
    store.add_user_message(second, "second", [image_part((1, 1, 1))])
    rows = store.list_conversations()
    assert [r.id for r in rows] == [second, first]
    assert rows[1].title == "the first conversation about cats and dogs and…"
    assert rows[0].first_image is not None
    assert rows[0].message_count == 1


@pytest.mark.parametrize(
    "query", ['"unbalanced', "a AND OR NOT", "foo*bar", "-x", "NEAR(", "()", "::"]
)
def test_search_survives_whatever_a_user_types(store: HistoryStore, query: str) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "invoice total for foo bar", [])
    store.search(query)


def test_search_finds_words_and_prefixes(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "Please read the invoice", [])
    w = store.start_answer(cid, "m", "embedded")
    w.append("The total is 42 euros.")
    w.finish(Usage())
    hits = store.search("invo")
    assert [h.conversation_id for h in hits] == [cid]
    assert "[invoice]" in hits[0].snippet
    assert store.search("euros total")[0].role == "assistant"
    assert fts_query('a "b" c*') == '"a"* "b"* "c"*'


def test_unknown_ids_are_a_clear_error(store: HistoryStore) -> None:
    with pytest.raises(InputError, match="no conversation with id 99"):
        store.conversation_messages(99)
    with pytest.raises(InputError, match="no conversation with id 99"):
        store.delete_conversation(99)


def test_a_full_disk_is_a_clear_error_and_nothing_is_corrupted(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "kept", [])
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError, match=r"the disk holding .*h\.sqlite3 is full"):
        store.add_user_message(cid, "x" * 200_000, [image_part((5, 5, 5), (300, 300))])
    store.db.execute("PRAGMA max_page_count = 1073741823")
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [m.text for m in store.conversation_messages(cid)] == ["kept"]


def test_migrations_run_once(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    HistoryStore.open(path).close()
    s = HistoryStore.open(path)
    assert s.db.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert s.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    s.close()


def test_truncate_after_drops_later_turns(store: HistoryStore) -> None:
    cid = store.create_conversation()
    keep = store.add_user_message(cid, "one", [])
    store.add_user_message(cid, "two", [])
    store.truncate_after(cid, keep)
    assert [m.text for m in store.conversation_messages(cid)] == ["one"]


def test_exports_write_markdown_and_json_with_images_beside_them(
    store: HistoryStore, tmp_path: Path
) -> None:
    photo = image_part((0, 200, 0))
    cid = store.create_conversation()
    store.add_user_message(cid, "Describe **this**", [photo])
    w = store.start_answer(cid, "embedded:tiny", "embedded")
    w.append("| a | b |\n|---|---|\n| 1 | 2 |")
    w.finish(Usage(tokens_per_s=12.5, cached_tokens=3))
    (tmp_path / "out").mkdir()
    md = export_markdown(store, cid, tmp_path / "out" / "chat.md")
    text = md.read_text()
    assert "Describe **this**" in text
    assert "12.5 tokens/s" in text
    link = text.split("](")[1].split(")")[0]
    assert (md.parent / link).is_file()
    js = export_json(store, cid, tmp_path / "out" / "chat.json")
    data = json.loads(js.read_text())
    assert data["messages"][0]["attachments"][0]["digest"] == photo.digest
    assert (js.parent / data["messages"][0]["attachments"][0]["file"]).is_file()


@pytest.mark.parametrize(
    ("usage", "said"),
    [
        (Usage(finish_reason="cancelled"), "stopped by you"),
        (Usage(finish_reason="length"), "stopped at the length limit"),
        (
            Usage(finish_reason="error", error="the server went away"),
            "stopped early: the server went away",
        ),
    ],
)
def test_an_answer_cut_short_says_how_in_the_same_words_everywhere(
    store: HistoryStore, tmp_path: Path, usage: Usage, said: str
) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "Go on", [])
    w = store.start_answer(cid, "embedded:tiny", "embedded")
    w.append("Some words")
    w.finish(usage)
    assert answer_ending(usage.finish_reason, usage.error) == said
    answer = store.conversation_messages(cid)[-1]
    assert answer_ending(answer.finish_reason, answer.error) == said
    assert said in export_markdown(store, cid, tmp_path / "chat.md").read_text()
