"""Awkward things a user or a script hands the command line: one line and exit 2 or 3 each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import corpus
from tests.cli_runner import sightline

HUGE = "99999999999999999999"


def one_line_error(run: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    for needle in needles:
        assert needle in run.stderr


def model_args(vlm: Any) -> list[str]:
    return ["--model-path", str(vlm.model), "--mmproj", str(vlm.mmproj)]


def test_a_fifo_as_input_is_refused_at_once(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    run = sightline(cli_env, "describe", fifo, *model_args(vlm_a), timeout=30)
    one_line_error(run, 2, str(fifo), "FIFO")


def test_a_fifo_as_model_path_is_refused_at_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    picture = corpus.photo(tmp_path / "p.jpg")
    run = sightline(cli_env, "describe", picture, "--model-path", fifo, timeout=30)
    one_line_error(run, 3, str(fifo), "not a regular file")


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_standard_input_is_read_as_a_file(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path, name: str
) -> None:
    picture = corpus.photo(tmp_path / "p.jpg")
    args = [*("-m", "desktop.cli", "describe", name, "--max-tokens", "3", "--json")]
    model = [*model_args(vlm_a), "--no-history"]
    with picture.open("rb") as stdin:  # a pipe, as `cat photo.jpg | sightline describe -` is
        cat = subprocess.Popen(["cat"], stdin=stdin, stdout=subprocess.PIPE)
        run = subprocess.run(
            [sys.executable, *args, *model],
            stdin=cat.stdout,
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        cat.wait()
    assert run.returncode == 0, run.stderr
    assert '"files": ["' + name + '"]' in run.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("history", "show", HUGE),
        ("history", "delete", HUGE),
        ("history", "export", HUGE),
        ("history", "list", "--limit", HUGE),
        ("history", "list", "--limit", "0"),
        ("history", "show", "-1"),
        ("describe", "x.png", "--max-tokens", "-5"),
        ("describe", "x.png", "--max-tokens", "0"),
        ("ask", "x.png", "what?", "--max-tokens", HUGE),
        ("chat", "--max-tokens", "-5"),
        ("chat", "--max-tokens", "lots"),
    ],
)
def test_numbers_out_of_range_name_the_range(cli_env: dict[str, str], args: tuple[str]) -> None:
    run = sightline(cli_env, *args, stdin="hello\n")
    one_line_error(run, 2, "give a whole number from")


@pytest.mark.parametrize("target", [".", "/"])
def test_an_export_into_a_folder_is_refused(cli_env: dict[str, str], target: str) -> None:
    run = sightline(cli_env, "history", "export", "1", "-o", target)
    one_line_error(run, 2, "is a folder")


def test_an_export_never_overwrites_without_force(cli_env: dict[str, str], tmp_path: Path) -> None:
    existing = tmp_path / "notes.md"
    existing.write_text("mine")
    run = sightline(cli_env, "history", "export", "1", "-o", existing)
    one_line_error(run, 2, "already exists", "--force")
    assert existing.read_text() == "mine"


def test_a_home_that_is_a_file_is_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("")
    run = sightline({**cli_env, "SIGHTLINE_HOME": str(home)}, "history", "list")
    one_line_error(run, 2, "SIGHTLINE_HOME", "not a folder")
    assert run.stderr.count("\n") == 1


def test_a_bare_ollama_name_with_ollama_down_says_so(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    picture = corpus.photo(tmp_path / "p.jpg")
    env = {**cli_env, "OLLAMA_HOST": "http://127.0.0.1:9"}
    run = sightline(env, "describe", picture, "--model", "llava:latest")
    one_line_error(run, 3, "llava:latest", "Ollama")


def test_bytes_that_are_not_utf8_in_names_questions_and_chat_lines(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    picture = corpus.photo(Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.jpg")))
    assert picture.exists()
    asked = sightline(
        cli_env, "ask", picture, os.fsdecode(b"what \xff is it?"), *model_args(vlm_a),
        "--max-tokens", "2", "--json",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert "caf\ufffd.jpg" in asked.stdout
    chat_args = ["chat", str(picture), *model_args(vlm_a), "--max-tokens", "2", "--json"]
    chat = subprocess.run(
        [sys.executable, "-m", "desktop.cli", *chat_args],
        input=b"hello \xff\xfe there\n",
        env=cli_env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert chat.returncode == 0, chat.stderr
    assert b"Traceback" not in chat.stderr
    shown = sightline(cli_env, "history", "show", "2")
    assert shown.returncode == 0, shown.stderr
    assert "hello \ufffd\ufffd there" in shown.stdout
    missing = sightline(cli_env, "describe", os.fsdecode(b"/nowhere/\xe9.png"), *model_args(vlm_a))
    one_line_error(missing, 2, "no such file")


def test_pdf_page_labels_are_readable_text(tmp_path: Path) -> None:
    from desktop.ingest import ingest_file

    path = Path(os.fsdecode(bytes(tmp_path) + b"/r\xe9sum\xe9.pdf"))
    corpus.pdf(tmp_path / "plain.pdf", pages=1).rename(path)
    [page] = ingest_file(path, max_side=200)
    assert page.label == "r\ufffdsum\ufffd.pdf p.1"
