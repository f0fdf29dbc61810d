"""The ``sightline`` command as a user and their scripts use it: real processes, real models."""

from __future__ import annotations

import itertools
import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cli_runner import sightline
from tests.tinyvlm import write_not_gguf

JSON_FIELDS = {
    "text",
    "model",
    "files",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "ttft_ms",
    "tokens_per_s",
    "finish_reason",
    "conversation_id",
}


def model_args(vlm: Any) -> list[str]:
    return ["--model-path", str(vlm.model), "--mmproj", str(vlm.mmproj)]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (320, 200), (200, 40, 40)).save(path, quality=90)
    return path


@pytest.fixture
def photo2(tmp_path: Path) -> Path:
    path = tmp_path / "other.png"
    Image.new("RGB", (120, 240), (20, 40, 240)).save(path)
    return path


def test_describe_streams_the_answer_to_stdout_and_nothing_else(
    cli_env: dict[str, str], vlm_a: Any, photo: Path
) -> None:
    r = sightline(cli_env, "describe", photo, *model_args(vlm_a), "--max-tokens", "10")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    assert r.stderr == ""


def test_describe_json_has_every_contract_field(
    cli_env: dict[str, str], vlm_b: Any, photo: Path, photo2: Path
) -> None:
    r = sightline(
        cli_env,
        "describe",
        photo,
        photo2,
        "--preset",
        "compare",
        *model_args(vlm_b),
        "--max-tokens",
        "8",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= JSON_FIELDS
    assert data["files"] == [str(photo), str(photo2)]
    assert data["completion_tokens"] == 8
    assert data["finish_reason"] == "length"
    assert isinstance(data["conversation_id"], int)


def test_no_history_means_no_conversation_id(
    cli_env: dict[str, str], vlm_a: Any, photo: Path
) -> None:
    r = sightline(
        cli_env,
        "ask",
        photo,
        "What colour?",
        *model_args(vlm_a),
        "--json",
        "--no-history",
        "--max-tokens",
        "4",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["conversation_id"] is None


def test_json_preset_with_fields_prints_a_json_object(
    cli_env: dict[str, str], vlm_a: Any, photo: Path
) -> None:
    r = sightline(
        cli_env,
        "describe",
        photo,
        "--preset",
        "json",
        "--fields",
        "shop,total",
        *model_args(vlm_a),
        "--json",
        "--max-tokens",
        "300",
    )
    assert r.returncode == 0, r.stderr
    answer = json.loads(json.loads(r.stdout)["text"])
    assert list(answer) == ["shop", "total"]


def test_an_image_added_after_the_first_answer_is_not_evaluated_again_later(
    cli_env: dict[str, str], vlm_b: Any, photo: Path, photo2: Path
) -> None:
    lines = [
        "what is this?",
        json.dumps({"text": "and this one?", "files": [str(photo2)]}),
        "compare them",
        "which is brighter?",
    ]
    r = sightline(
        cli_env,
        "chat",
        photo,
        *model_args(vlm_b),
        "--max-tokens",
        "6",
        "--json",
        stdin="\n".join(lines) + "\n",
    )
    assert r.returncode == 0, r.stderr
    turns = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(turns) == 4
    for before, after in itertools.pairwise(turns):
        assert after["cached_tokens"] >= before["prompt_tokens"], turns


def test_chat_is_one_conversation_that_reuses_the_cache(
    cli_env: dict[str, str], vlm_a: Any, photo: Path, photo2: Path
) -> None:
    lines = "\n".join(
        [
            "What is in the picture?",
            "And the colours?",
            json.dumps({"text": "Compare with this one.", "files": [str(photo2)]}),
        ]
    )
    r = sightline(
        cli_env,
        "chat",
        photo,
        *model_args(vlm_a),
        "--json",
        "--max-tokens",
        "6",
        stdin=lines + "\n",
    )
    assert r.returncode == 0, r.stderr
    turns = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(turns) == 3
    assert all(set(t) >= JSON_FIELDS for t in turns)
    assert len({t["conversation_id"] for t in turns}) == 1
    assert turns[1]["cached_tokens"] >= turns[0]["prompt_tokens"]
    assert turns[2]["cached_tokens"] >= turns[1]["prompt_tokens"]
    assert turns[0]["files"] == [str(photo)]
    assert turns[2]["files"] == [str(photo2)]

    shown = sightline(cli_env, "history", "show", str(turns[0]["conversation_id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    assert "Compare with this one." in shown.stdout


def test_a_bad_file_is_exit_2_with_one_line_naming_it(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    r = sightline(cli_env, "describe", broken, *model_args(vlm_a))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "broken.png" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_bad_model_is_exit_3_naming_the_file(
    cli_env: dict[str, str], photo: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "model.gguf"
    write_not_gguf(fake)
    r = sightline(cli_env, "describe", photo, "--model-path", fake)
    assert r.returncode == 3
    assert "model.gguf: not a GGUF" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_model_configured_says_how_to_get_one(cli_env: dict[str, str], photo: Path) -> None:
    r = sightline(cli_env, "describe", photo)
    assert r.returncode == 3
    assert "sightline models pull" in r.stderr
    assert "sightline models import" in r.stderr


def test_a_text_only_model_refuses_images_with_exit_3(
    cli_env: dict[str, str], vlm_text_only: Any, photo: Path
) -> None:
    r = sightline(cli_env, "describe", photo, "--model-path", vlm_text_only.model)
    assert r.returncode == 3
    assert "cannot see images" in r.stderr


def test_presets_lists_every_preset(cli_env: dict[str, str]) -> None:
    r = sightline(cli_env, "presets")
    assert r.returncode == 0
    for name in (
        "caption",
        "detailed",
        "keywords",
        "alt-text",
        "ocr",
        "json",
        "compare",
        "defects",
        "ui-review",
        "chart",
    ):
        assert name in r.stdout


def test_a_broken_setting_names_the_file_and_the_key(
    cli_env: dict[str, str], sightline_home: Path, photo: Path
) -> None:
    (sightline_home / "config").mkdir(parents=True)
    (sightline_home / "config" / "config.toml").write_text("n_ctx = 'lots'\n")
    r = sightline(cli_env, "describe", photo)
    assert r.returncode == 2
    assert "config.toml: setting 'n_ctx' should be a whole number, not 'lots'" in r.stderr


def test_a_bug_says_where_the_log_is_and_the_log_has_the_traceback(sightline_home: Path) -> None:
    from desktop.logs import configure_logging
    from desktop.messages import describe_error

    configure_logging()
    try:
        {}["missing"]
    except KeyError as exc:
        message = describe_error(exc)
    assert message.exit_code == 1
    assert message.is_bug
    log = sightline_home / "logs" / "sightline.log"
    assert str(log) in message.text
    assert "Traceback" in log.read_text()
    assert "Traceback" not in message.text


def _streamed_text(db: Path) -> str:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    except sqlite3.OperationalError:
        return ""
    try:
        row = con.execute(
            "SELECT text FROM messages WHERE role = 'assistant' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return ""
    finally:
        con.close()
    return row[0] if row and row[0] else ""


def _interrupt_mid_answer(
    env: dict[str, str], vlm: Any, photo: Path, db: Path, sig: signal.Signals
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop.cli",
            "describe",
            str(photo),
            *model_args(vlm),
            "--max-tokens",
            "100000",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _streamed_text(db):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    return proc


def test_kill_9_mid_answer_loses_no_committed_turn(
    cli_env: dict[str, str], vlm_slow: Any, photo: Path, sightline_home: Path
) -> None:
    db = sightline_home / "data" / "history.sqlite3"
    proc = _interrupt_mid_answer(cli_env, vlm_slow, photo, db, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    shown = sightline(cli_env, "history", "show", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    messages = json.loads(shown.stdout)["messages"]
    assert messages[0]["role"] == "user"
    assert messages[1]["role"] == "assistant"
    assert messages[1]["text"]
    assert messages[1]["status"] == "partial"


def test_ctrl_c_saves_the_partial_answer_and_exits_130(
    cli_env: dict[str, str], vlm_slow: Any, photo: Path, sightline_home: Path
) -> None:
    db = sightline_home / "data" / "history.sqlite3"
    proc = _interrupt_mid_answer(cli_env, vlm_slow, photo, db, signal.SIGINT)
    out, err = proc.communicate()
    assert proc.returncode == 130, err
    assert out.strip()
    assert "Traceback" not in err
    shown = json.loads(sightline(cli_env, "history", "show", "1", "--json").stdout)
    answer = shown["messages"][1]
    assert answer["status"] == "partial"
    assert answer["text"].strip() == out.strip()


def test_the_terminal_never_sees_llama_cpp_logs(
    cli_env: dict[str, str], vlm_b: Any, photo: Path, sightline_home: Path
) -> None:
    r = sightline(cli_env, "describe", photo, *model_args(vlm_b), "--max-tokens", "4")
    assert r.returncode == 0
    assert r.stderr == ""
    log = (sightline_home / "logs" / "sightline.log").read_text()
    assert "llama" in log or "clip" in log


def test_a_bad_file_mid_chat_is_reported_and_the_conversation_goes_on(
    cli_env: dict[str, str], vlm_a: Any, photo: Path, tmp_path: Path
) -> None:
    lines = "\n".join(
        [
            "First question?",
            json.dumps({"text": "And this?", "files": [str(tmp_path / "missing.png")]}),
            "Still there?",
        ]
    )
    r = sightline(
        cli_env,
        "chat",
        photo,
        *model_args(vlm_a),
        "--json",
        "--max-tokens",
        "4",
        stdin=lines + "\n",
    )
    assert r.returncode == 0, r.stderr
    first, failed, third = (json.loads(line) for line in r.stdout.splitlines())
    assert "missing.png: no such file" in failed["error"]
    assert third["conversation_id"] == first["conversation_id"]
    assert third["cached_tokens"] >= first["prompt_tokens"]
    assert "missing.png" in r.stderr


def test_a_command_name_wins_over_a_file_of_that_name(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "presets").write_text("not a command")
    r = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "presets"],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "caption" in r.stdout


def _commands(parser: Any) -> set[str]:
    import argparse

    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_every_registered_command_is_known_to_the_window_check() -> None:
    from desktop.cli.main import _COMMAND_MODULES, build_parser

    assert _commands(build_parser()) == set(_COMMAND_MODULES)


def test_each_command_is_registered_by_the_module_it_is_mapped_to() -> None:
    from desktop.cli.main import _COMMAND_MODULES, build_parser

    for command in _COMMAND_MODULES:
        assert command in _commands(build_parser(command)), command
    assert _commands(build_parser("batch")) == {"batch"}
    assert _commands(build_parser("no-such-command")) == set(_COMMAND_MODULES)


def test_one_command_parses_and_helps_without_the_others_and_help_lists_all(
    cli_env: dict[str, str],
) -> None:
    from desktop.cli.main import _COMMAND_MODULES

    r = sightline(cli_env, "batch", "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: sightline batch ")
    assert "--jobs N" in r.stdout
    listed = sightline(cli_env, "models", "list")
    assert listed.returncode == 0, listed.stderr
    for top in (sightline(cli_env, "--help"), sightline(cli_env, "-h", "batch")):
        assert top.returncode == 0, top.stderr
        listed_commands = set(re.findall(r"^    (\S+)", top.stdout, re.MULTILINE))
        assert listed_commands >= set(_COMMAND_MODULES), top.stdout
    unknown = sightline(cli_env, "no-such-command")
    assert unknown.returncode == 2
    assert "invalid choice: 'no-such-command'" in unknown.stderr
    assert "batch" in unknown.stderr


def test_running_batch_does_not_load_the_other_commands(cli_env: dict[str, str]) -> None:
    script = """
import sys
from desktop.cli.main import main
try:
    main(["batch", "--help"])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("desktop.cli.cmd_")))
"""
    r = subprocess.run(
        [sys.executable, "-c", script], env=cli_env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert r.stdout.splitlines()[-1] == "['desktop.cli.cmd_batch']", r.stdout + r.stderr


def test_describe_says_which_image_it_is_encoding_when_a_person_watches(
    cli_env: dict[str, str], vlm_a: Any, photo: Path, photo2: Path
) -> None:
    watcher, terminal = pty.openpty()
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "desktop.cli",
                "describe",
                photo,
                photo2,
                *model_args(vlm_a),
                "--max-tokens",
                "4",
            ],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        seen = b""
        while chunk := _read_ready(watcher):
            seen += chunk
    finally:
        os.close(watcher)
    assert r.returncode == 0
    assert r.stdout.strip()
    assert b"encoding images 1/2" in seen
    assert b"encoding images 2/2" in seen


def _read_ready(fd: int) -> bytes:
    if not select.select([fd], [], [], 0.5)[0]:
        return b""
    try:
        return os.read(fd, 4096)
    except OSError:  # the other end is closed: Linux says EIO
        return b""
