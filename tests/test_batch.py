"""``sightline batch``: a folder in, one answer per file out, as a user and their scripts run it."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from desktop.batch.inputs import BatchItem, collect
from desktop.batch.runner import BatchRunner, Finished
from desktop.ingest import ingest_file
from models.backend import GenParams
from models.conversation import ImagePart
from tests.cli_runner import sightline
from tests.ollama_standin import OllamaStandin, StandinModel

COLUMNS = ["path", "text", "model", "preset", "prompt_tokens", "completion_tokens", "ms", "error"]


def model_args(vlm: Any) -> list[str]:
    return ["--model-path", str(vlm.model), "--mmproj", str(vlm.mmproj)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two good pictures, a damaged one, a note, a hidden file and a subfolder."""
    root = tmp_path / "shoot"
    root.mkdir()
    Image.new("RGB", (320, 200), (200, 40, 40)).save(root / "a.jpg", quality=90)
    Image.new("RGB", (120, 240), (20, 40, 240)).save(root / "b.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    (root / "notes.txt").write_text("not a picture\n")
    Image.new("RGB", (50, 50)).save(root / ".hidden.png")
    (root / "sub").mkdir()
    Image.new("RGB", (90, 60), (0, 200, 0)).save(root / "sub" / "c.png")
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_a_folder_with_a_broken_file_is_done_except_that_file(
    cli_env: dict[str, str], vlm_a: Any, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "alt.csv"
    r = sightline(
        cli_env, "batch", folder, *model_args(vlm_a), "--max-tokens", "6", "--out", out, "--json"
    )
    assert r.returncode == 2, r.stderr
    assert "broken.jpg" in r.stderr
    assert "Traceback" not in r.stderr
    rows = read_csv(out)
    by_name = {Path(row["path"]).name: row for row in rows}
    assert set(by_name) == {"a.jpg", "b.png", "broken.jpg"}  # no notes, hidden file or subfolder
    assert by_name["broken.jpg"]["error"]
    for name in ("a.jpg", "b.png"):
        row = by_name[name]
        assert row["text"]
        assert not row["error"]
        assert row["model"] == f"embedded:{vlm_a.model.stem}"
        assert row["preset"] == "alt-text"
        assert int(row["completion_tokens"]) > 0
        assert float(row["ms"]) > 0
    lines = json_lines(r.stdout)
    assert lines[-1].keys() == {
        "done",
        "skipped",
        "failed",
        "seconds",
        "concurrency",
        "max_in_flight",
        "retries",
        "cost_usd",
    }
    assert lines[-1]["done"] == 2
    assert lines[-1]["failed"] == 1
    per_file = lines[:-1]
    assert {Path(x["path"]).name for x in per_file} == {"a.jpg", "b.png", "broken.jpg"}
    assert all(
        {"path", "text", "error", "prompt_tokens", "completion_tokens"} <= x.keys()
        for x in per_file
    )


def test_rerunning_resumes_and_force_redoes(
    cli_env: dict[str, str], vlm_a: Any, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "alt.jsonl"
    args = ["batch", folder, "--recursive", *model_args(vlm_a), "--max-tokens", "4", "--out", out]
    first = sightline(cli_env, *args, "--json")
    assert json_lines(first.stdout)[-1]["done"] == 3  # a, b and sub/c
    again = sightline(cli_env, *args, "--json")
    summary = json_lines(again.stdout)[-1]
    assert (summary["done"], summary["skipped"], summary["failed"]) == (0, 3, 1)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len([r for r in rows if not r["error"]]) == 3
    assert set(rows[0]) == set(COLUMNS)
    # A changed picture, or a different prompt, is asked again.
    Image.new("RGB", (320, 200), (10, 10, 10)).save(folder / "a.jpg", quality=90)
    changed = json_lines(sightline(cli_env, *args, "--json").stdout)[-1]
    assert (changed["done"], changed["skipped"]) == (1, 2)
    other = json_lines(sightline(cli_env, *args, "--preset", "caption", "--json").stdout)[-1]
    assert other["done"] == 3
    forced = json_lines(sightline(cli_env, *args, "--force", "--json").stdout)[-1]
    assert (forced["done"], forced["skipped"]) == (3, 0)


def test_sidecars_never_replace_a_file_they_did_not_write(
    cli_env: dict[str, str], vlm_a: Any, folder: Path
) -> None:
    mine = folder / "b.txt"
    mine.write_text("my own notes about b\n")
    args = ["batch", folder, *model_args(vlm_a), "--max-tokens", "4", "--sidecar"]
    r = sightline(cli_env, *args)
    assert r.returncode == 2
    assert "b.txt" in r.stderr
    assert "--force" in r.stderr
    assert mine.read_text() == "my own notes about b\n"
    written = (folder / "a.txt").read_text()
    assert written.strip()
    # Our own sidecar is ours to replace; a re-run skips what is done.
    again = sightline(cli_env, *args, "--json")
    assert json_lines(again.stdout)[-1]["skipped"] == 1
    (folder / "a.txt").write_text("edited by hand\n")
    edited = sightline(cli_env, *args, "--force")
    assert edited.returncode == 2  # broken.jpg still fails
    assert (folder / "a.txt").read_text() != "edited by hand\n"
    assert mine.read_text() != "my own notes about b\n"


def _scan_data(jpeg: bytes) -> bytes:
    """The compressed picture: everything from the first start-of-scan marker on."""
    return jpeg[jpeg.index(b"\xff\xda") :]


def test_metadata_is_written_into_the_image_and_the_pixels_stay_the_same(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    import pyexiv2

    photo = tmp_path / "camera.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Sightline Camera Co"  # Make
    Image.effect_noise((200, 150), 40).convert("RGB").save(photo, quality=85, exif=exif)
    png = tmp_path / "shot.png"
    Image.new("RGB", (80, 60), (9, 99, 199)).save(png)
    before, png_pixels = photo.read_bytes(), Image.open(png).tobytes()
    r = sightline(
        cli_env,
        "batch",
        photo,
        png,
        *model_args(vlm_a),
        "--max-tokens",
        "5",
        "--write-metadata",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    texts = {Path(x["path"]).name: x["text"] for x in json_lines(r.stdout)[:-1]}
    after = photo.read_bytes()
    assert _scan_data(after) == _scan_data(before)
    with Image.open(photo) as img:
        assert img.getexif()[0x010F] == "Sightline Camera Co"
        assert b"dc:description" in img.info["xmp"]
        assert img.tobytes() == Image.open(io.BytesIO(before)).tobytes()
    with pyexiv2.Image(str(photo)) as meta:
        xmp = meta.read_xmp()
        assert xmp["Xmp.dc.description"]['lang="x-default"'] == texts["camera.jpg"]
        assert xmp["Xmp.iptc.AltTextAccessibility"]['lang="x-default"'] == texts["camera.jpg"]
        assert meta.read_exif()["Exif.Image.ImageDescription"] == texts["camera.jpg"]
    assert Image.open(png).tobytes() == png_pixels
    with pyexiv2.Image(str(png)) as meta:
        assert meta.read_xmp()["Xmp.dc.description"]['lang="x-default"'] == texts["shot.png"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_json_preset_fields_become_columns(
    cli_env: dict[str, str], vlm_a: Any, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fields.csv"
    r = sightline(
        cli_env,
        "batch",
        folder / "a.jpg",
        *model_args(vlm_a),
        "--preset",
        "json",
        "--fields",
        "subject,colour",
        "--max-tokens",
        "40",
        "--out",
        out,
        "--sidecar",
    )
    with out.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == [*COLUMNS, "subject", "colour"]
        rows = list(reader)
    assert len(rows) == 1
    if r.returncode == 0:  # a random-weight model may run out of tokens mid-object
        assert (folder / "a.json").exists()
        assert set(json.loads((folder / "a.json").read_text())) == {"subject", "colour"}


def test_ctrl_c_stops_after_the_current_answer_with_rows_written(
    cli_env: dict[str, str], vlm_slow: Any, folder: Path, tmp_path: Path
) -> None:
    for i in range(4):
        Image.new("RGB", (300, 300), (i * 50, 90, 30)).save(folder / f"more{i}.png")
    out = tmp_path / "slow.csv"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop.cli",
            "batch",
            str(folder),
            *model_args(vlm_slow),
            "--max-tokens",
            "60",
            "--out",
            str(out),
        ],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out.exists() and len(out.read_text().splitlines()) >= 3):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    rows = read_csv(out)
    assert 2 <= len(rows) < 7
    assert all(row["text"] or row["error"] for row in rows)


def test_the_next_file_is_prepared_while_the_model_answers(vlm_a: Any, tmp_path: Path) -> None:
    from models.llamacpp import LlamaCppBackend

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (200, 200), (i * 80, 10, 10)).save(paths[-1])
    items, rejected = collect([tmp_path])
    assert not rejected
    assert [i.path for i in items] == paths
    prepared_at: dict[str, float] = {}

    def prepare(item: BatchItem, cancel: threading.Event) -> list[ImagePart]:
        images = list(ingest_file(item.path, max_side=56, cancel=cancel))
        prepared_at[item.path.name] = time.perf_counter()
        return images

    backend = LlamaCppBackend(vlm_a.model, vlm_a.mmproj)
    try:
        runner = BatchRunner(backend, "Describe.", GenParams(max_tokens=30), prepare)
        answered_at: dict[str, float] = {}
        for event in runner.run(items, threading.Event()):
            if isinstance(event, Finished):
                assert event.ok, event.error
                answered_at[event.item.path.name] = time.perf_counter()
        assert prepared_at["1.png"] < answered_at["0.png"]
        assert prepared_at["2.png"] < answered_at["1.png"]
    finally:
        backend.close()


@pytest.fixture
def ollama() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


def test_a_server_batch_sends_each_file_once_with_several_in_flight(
    cli_env: dict[str, str], ollama: OllamaStandin, tmp_path: Path
) -> None:
    for i in range(9):
        Image.new("RGB", (64, 64), (i * 25, 0, 0)).save(tmp_path / f"{i}.png")
    ollama.chunk_delay = 0.02
    env = dict(cli_env, OLLAMA_HOST=ollama.url)
    out = tmp_path / "r.jsonl"
    r = sightline(env, "batch", tmp_path, "--model", "ollama:llava:7b", "--jobs", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(Path(row["path"]).name for row in rows) == sorted(f"{i}.png" for i in range(9))
    assert all(row["text"] == "A red square on white." for row in rows)
    assert len(ollama.chats()) == 9
    assert all(len(chat["messages"]) == 1 for chat in ollama.chats())  # no history between files


def test_embedded_says_jobs_has_no_effect(
    cli_env: dict[str, str], vlm_a: Any, folder: Path
) -> None:
    r = sightline(
        cli_env, "batch", folder / "a.jpg", *model_args(vlm_a), "--max-tokens", "2", "--jobs", "4"
    )
    assert r.returncode == 0, r.stderr
    assert "--jobs has no effect" in r.stderr


def test_nothing_to_do_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    r = sightline(cli_env, "batch", tmp_path)
    assert r.returncode == 2
    assert "no images, PDFs or videos" in r.stderr
    missing = sightline(cli_env, "batch", tmp_path / "nope", "--model-path", "x.gguf")
    assert missing.returncode == 2
    assert "nope" in missing.stderr


def test_a_pdf_is_one_question_per_page(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    doc = tmp_path / "scan.pdf"
    pages = [Image.new("RGB", (200, 260), c) for c in ((250, 250, 250), (20, 20, 20))]
    pages[0].save(doc, "PDF", save_all=True, append_images=pages[1:])
    r = sightline(cli_env, "batch", doc, *model_args(vlm_a), "--max-tokens", "3", "--json",
                  "--sidecar")  # fmt: skip
    assert r.returncode == 0, r.stderr
    names = [x["path"] for x in json_lines(r.stdout)[:-1]]
    assert sorted(names) == [f"{doc}#page=1", f"{doc}#page=2"]
    assert (tmp_path / "scan.page-2.txt").exists()
    only = sightline(cli_env, "batch", doc, *model_args(vlm_a), "--max-tokens", "3", "--json",
                     "--pages", "2", "--force")  # fmt: skip
    assert [x["path"] for x in json_lines(only.stdout)[:-1]] == [f"{doc}#page=2"]


def test_a_bug_while_preparing_is_raised_not_swallowed(vlm_a: Any, folder: Path) -> None:
    from models.llamacpp import LlamaCppBackend

    def prepare(item: BatchItem, cancel: threading.Event) -> list[ImagePart]:
        raise RuntimeError(f"bug on {item.path.name}")

    items, _ = collect([folder])
    backend = LlamaCppBackend(vlm_a.model, vlm_a.mmproj)
    try:
        runner = BatchRunner(backend, "Describe.", GenParams(max_tokens=2), prepare)
        with pytest.raises(RuntimeError, match=r"bug on a\.jpg"):
            list(runner.run(items, threading.Event()))
    finally:
        backend.close()


def test_a_model_that_cannot_see_stops_the_batch_with_exit_3(
    cli_env: dict[str, str], folder: Path, tmp_path: Path
) -> None:
    standin = OllamaStandin({"llama3.2:3b": StandinModel(vision=False)}).start()
    try:
        env = dict(cli_env, OLLAMA_HOST=standin.url)
        out = tmp_path / "r.csv"
        r = sightline(env, "batch", folder / "a.jpg", folder / "b.png",
                      "--model", "ollama:llama3.2:3b", "--out", out)  # fmt: skip
        assert r.returncode == 3, r.stderr
        assert "cannot see images" in r.stderr
        assert not standin.chats()
    finally:
        standin.stop()
