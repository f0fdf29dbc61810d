"""The batch view driven as a user drives it, on the real tiny model (offscreen Qt)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from desktop.batch.inputs import BatchItem, collect
from desktop.batch.runner import BatchRunner
from desktop.ingest import ingest_file
from desktop.ui.batch_view import BatchView
from models.backend import GenParams
from models.llamacpp import LlamaCppBackend


@pytest.fixture
def pictures(tmp_path: Path) -> list[BatchItem]:
    Image.new("RGB", (120, 80), (200, 30, 30)).save(tmp_path / "a.jpg")
    Image.new("RGB", (80, 120), (30, 30, 200)).save(tmp_path / "b.png")
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    items, _ = collect([tmp_path])
    return items


@pytest.fixture
def view(qtbot: QtBot, vlm_a: Any, pictures: list[BatchItem]) -> Iterator[BatchView]:
    backends: list[LlamaCppBackend] = []

    def make_runner() -> BatchRunner:
        backends.append(LlamaCppBackend(vlm_a.model, vlm_a.mmproj))
        return BatchRunner(
            backends[-1],
            "Write alt text.",
            GenParams(max_tokens=8),
            lambda item, cancel: list(ingest_file(item.path, max_side=56, cancel=cancel)),
        )

    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    v = BatchView(pictures, make_runner, pool, model_label="embedded:tiny", preset="alt-text")
    qtbot.addWidget(v)
    v.show()
    yield v
    v.stop()
    pool.waitForDone(30000)
    for b in backends:
        b.close()


def test_each_file_is_answered_edited_and_saved(
    qtbot: QtBot, view: BatchView, pictures: list[BatchItem], tmp_path: Path
) -> None:
    assert not view.sidecar_button.isEnabled()
    view.start()
    qtbot.waitUntil(view.sidecar_button.isEnabled, timeout=60000)
    statuses = [view.table.item(r, 1).text() for r in range(3)]
    assert statuses == ["done", "done", "failed"]
    assert view.progress.value() == 3
    assert "c.png" in view.table.item(2, 1).toolTip()
    view.table.item(0, 2).setText("A red rectangle.")  # the user edits the first answer

    mine = tmp_path / "b.txt"
    mine.write_text("mine\n")
    view.save_sidecars()
    qtbot.waitUntil(view.sidecar_button.isEnabled, timeout=10000)
    assert (tmp_path / "a.txt").read_text() == "A red rectangle.\n"
    assert mine.read_text() == "mine\n"  # never over a file it did not write
    assert "not written by Sightline" in view.table.item(1, 1).text()

    view.write_metadata()
    qtbot.waitUntil(lambda: view.table.item(0, 1).text() == "written into it", timeout=10000)
    qtbot.waitUntil(view.sidecar_button.isEnabled, timeout=10000)
    with Image.open(tmp_path / "a.jpg") as img:
        assert b"A red rectangle." in img.info["xmp"]

    out = tmp_path / "all.csv"
    view.export_csv(out)
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [Path(r["path"]).name for r in rows] == ["a.jpg", "b.png"]
    assert rows[0]["text"] == "A red rectangle."

    view.copy_all()
    assert "A red rectangle." in QGuiApplication.clipboard().text()


def test_stop_ends_the_batch_and_keeps_what_was_answered(qtbot: QtBot, view: BatchView) -> None:
    view.start()
    view.stop()
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    statuses = {view.table.item(r, 1).text() for r in range(3)}
    assert statuses <= {"done", "failed", "not done"}
    assert view.copy_button.isEnabled()


def test_on_a_server_the_view_keeps_several_requests_in_flight_and_stop_cuts_them(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from models.ollama_backend import OllamaBackend
    from tests.ollama_standin import OllamaStandin, StandinModel

    for i in range(12):
        Image.new("RGB", (40, 30), (i * 20, 90, 40)).save(tmp_path / f"{i:02}.png")
    items, _ = collect([tmp_path])
    ollama = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    ollama.slots, ollama.chunk_delay = 2, 0.3
    backend = OllamaBackend(ollama.url, "llava:7b")
    runners: list[BatchRunner] = []

    def make_runner() -> BatchRunner:
        runners.append(
            BatchRunner(
                backend,
                "Write alt text.",
                GenParams(max_tokens=8),
                lambda item, cancel: list(ingest_file(item.path, max_side=56, cancel=cancel)),
                jobs=4,
            )
        )
        return runners[-1]

    pool = QThreadPool()
    v = BatchView(items, make_runner, pool, model_label="ollama:llava:7b", preset="alt-text")
    qtbot.addWidget(v)
    try:
        v.start()
        qtbot.waitUntil(lambda: "done" in statuses(v, items), timeout=30000)
        v.stop()
        qtbot.waitUntil(lambda: not v.running, timeout=30000)
        final = statuses(v, items)
        assert runners[0].concurrency.peak >= 2, "several requests were in flight"
        assert final.count("done") < len(items), "Stop did not wait for the whole folder"
        assert "answering…" not in final, "answers in flight were cut and say so"
        assert final.count("done") <= len(ollama.chats()) - ollama.busy_refusals
    finally:
        v.stop()
        pool.waitForDone(30000)
        backend.close()
        ollama.stop()


def statuses(view: BatchView, items: list[BatchItem]) -> list[str]:
    return [view.table.item(r, 1).text() for r in range(len(items))]
