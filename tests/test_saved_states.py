"""Going back to an earlier conversation, or reopening one after a restart, resumes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.conversation import Message
from models.llamacpp import LlamaCppBackend
from tests.images import image_part
from tests.test_llamacpp_backend import run, user

MB = 1 << 20


def backend(vlm: Any, folder: Path | None = None, ram: int = 256 * MB) -> LlamaCppBackend:
    return LlamaCppBackend(
        vlm.model,
        vlm.mmproj,
        n_ctx=2048,
        n_threads=2,
        saved_states_ram=ram,
        saved_states_dir=folder,
        saved_states_disk=256 * MB,
    )


def conversation_a() -> list[Message]:
    return [user("Describe this photo in detail, please.", image_part((200, 30, 30)))]


def conversation_b() -> list[Message]:
    return [user("What colour is this one?", image_part((30, 30, 200), (48, 64)))]


def test_a_b_a_resumes_a_without_encoding_its_image_again(vlm_b: Any) -> None:
    b = backend(vlm_b)
    try:
        a_history = conversation_a()
        answer, first = run(b, a_history)
        a_history += [Message.text("assistant", answer.strip()), user("Why?")]
        run(b, conversation_b())
        resumed_text, resumed = run(b, a_history)
        assert b.stats.image_encodes == 2, "A's image once, B's once"
        assert b.stats.state_restores == 1
        assert resumed.cached_tokens >= first.prompt_tokens
    finally:
        b.close()
    straight = backend(vlm_b, ram=0)
    try:
        answer, _ = run(straight, conversation_a())
        assert answer.strip() == a_history[1].joined_text
        straight_text, _ = run(straight, a_history)
        assert resumed_text == straight_text, "the restored state is the state it was"
    finally:
        straight.close()


def test_a_conversation_reopened_after_a_restart_encodes_nothing_again(
    vlm_b: Any, tmp_path: Path
) -> None:
    first = backend(vlm_b, tmp_path)
    history = conversation_a()
    answer, turn1 = run(first, history)
    first.close()
    assert list(tmp_path.rglob("*.kvstate"))

    second = backend(vlm_b, tmp_path)
    try:
        history += [Message.text("assistant", answer.strip()), user("And the background?")]
        text, turn2 = run(second, history)
        assert text.strip()
        assert second.stats.image_encodes == 0
        assert second.stats.state_restores == 1
        assert turn2.cached_tokens >= turn1.prompt_tokens
    finally:
        second.close()


def test_unreadable_or_refused_saved_states_are_removed_and_ignored(
    vlm_b: Any, tmp_path: Path
) -> None:
    first = backend(vlm_b, tmp_path)
    history = conversation_a()
    answer, _ = run(first, history)
    first.close()
    (saved,) = tmp_path.rglob("*.kvstate")
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])  # truncated: llama.cpp refuses it
    junk = saved.parent / "junk.kvstate"
    junk.write_bytes(b"not a state at all")

    second = backend(vlm_b, tmp_path)
    try:
        assert not junk.exists()
        history += [Message.text("assistant", answer.strip()), user("And the background?")]
        text, _ = run(second, history)
        assert text.strip()
        assert second.stats.state_restores == 0
        assert second.stats.image_encodes == 1
        assert not saved.exists()
    finally:
        second.close()


def test_the_windows_model_host_keeps_conversations_and_cache_clear_removes_them(
    vlm_b: Any, cli_env: dict[str, str]
) -> None:
    from desktop.model_choice import ModelChoice
    from desktop.model_host import ModelHost
    from desktop.paths import app_paths
    from desktop.settings import Settings
    from tests.cli_runner import sightline

    host = ModelHost()
    choice = ModelChoice("tiny", "embedded", vlm_b.model, vlm_b.mmproj)
    run(host.backend(choice, Settings()), conversation_a())
    host.close()
    saved = list(app_paths().states_dir.rglob("*.kvstate"))
    assert saved

    cleared = sightline(cli_env, "cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert "saved conversation states" in cleared.stderr
    assert not any(p.exists() for p in saved)
