"""Cloud is off unless chosen, goes only where configured, and never leaks the key."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desktop.cloud_models import open_cloud_backend
from desktop.cloud_policy import may_use_cloud
from desktop.history.export import export_json, export_markdown
from desktop.history.store import HistoryStore
from desktop.keys import get_key
from desktop.logs import configure_logging
from desktop.messages import describe_error
from desktop.settings import Settings
from models.backend import GenParams, Usage
from models.cloud.limits import split_cloud_name
from models.errors import ModelError
from tests.cli_runner import sightline
from tests.cloud_helpers import files_containing
from tests.cloud_standins import Fault, Standin
from tests.images import image_part
from tests.keychain_standin import MemoryKeychain

CANARY = "sk-canary-7f3a9c1e5b2d4806"


@pytest.mark.parametrize("backend", ["embedded", "ollama", "openai-compat"])
def test_local_models_need_no_opt_in(backend: str) -> None:
    assert may_use_cloud(backend)


@pytest.mark.parametrize("backend", ["openai", "anthropic", "gemini"])
def test_cloud_models_need_an_explicit_opt_in(backend: str) -> None:
    assert not may_use_cloud(backend)
    assert may_use_cloud(backend, cli_allow_cloud=True)
    assert may_use_cloud(backend, settings_allow_cloud=True)
    assert may_use_cloud(backend, picked_for_conversation=True)
    assert may_use_cloud(backend, conversation_fallback=True)


def test_cloud_names_are_provider_and_model() -> None:
    assert split_cloud_name("openai:gpt-4.1") == ("openai", "gpt-4.1")
    assert split_cloud_name("gemini:gemini-2.5-flash") == ("gemini", "gemini-2.5-flash")
    assert split_cloud_name("ollama:llava:7b") is None
    assert split_cloud_name("llava") is None


def test_choosing_a_local_model_by_name_leaves_the_keychain_unloaded() -> None:
    """Telling a cloud name from a local one is string work: no keyring for a batch on Ollama."""
    script = (
        "import sys\n"
        "from desktop.model_choice import resolve_model\n"
        "from desktop.settings import Settings\n"
        "print(resolve_model(Settings(), 'ollama:llava:7b').label)\n"
        "print(sorted(m for m in ('keyring', 'desktop.keys') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["ollama:llava:7b", "[]"], done.stderr


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_without_opt_in_nothing_is_sent_and_the_user_is_told_how(
    provider: str,
    start_standin: Callable[..., Standin],
    connections: list[Any],
    keychain: MemoryKeychain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    standin = start_standin(provider)
    keychain.set_password("sightline", provider, standin.key)
    settings = Settings(**{f"{provider}_base_url": standin.url})
    connections.clear()

    with pytest.raises(ModelError) as err:
        open_cloud_backend(f"{provider}:some-model", settings, allowed=False, cli=True)

    assert "cloud use is off, so nothing was sent" in str(err.value)
    assert "--allow-cloud" in str(err.value)
    assert connections == []
    assert standin.received == []


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_with_opt_in_only_the_configured_host_is_contacted(
    provider: str,
    start_standin: Callable[..., Standin],
    connections: list[Any],
    keychain: MemoryKeychain,
) -> None:
    standin = start_standin(provider)
    keychain.set_password("sightline", provider, standin.key)
    settings = Settings(**{f"{provider}_base_url": standin.url})
    connections.clear()

    backend = open_cloud_backend(
        f"{provider}:model-x",
        settings,
        allowed=may_use_cloud(provider, cli_allow_cloud=True),
        cli=True,
    )
    events = list(backend.stream([_question()], GenParams()))

    assert isinstance(events[-1], Usage)
    assert events[-1].finish_reason == "stop"
    assert {tuple(a[:2]) for a in connections} == {standin.host_port}


def test_a_cloud_model_without_a_key_says_how_to_set_one(keychain: MemoryKeychain) -> None:
    with pytest.raises(
        ModelError,
        match=r"no API key for Anthropic — set one with `sightline keys set anthropic` "
        r"or in ANTHROPIC_API_KEY",
    ):
        open_cloud_backend("anthropic:claude-haiku-4-5", Settings(), allowed=True, cli=True)


def _question(text: str = "What colour is it?") -> Any:
    from models.conversation import Message, TextPart

    return Message("user", (image_part((220, 20, 20)), TextPart(text)))


def test_a_canary_key_never_lands_in_files_logs_or_exports(
    start_standin: Callable[..., Standin],
    keychain_env: dict[str, str],
    sightline_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Set the key with the CLI, talk, export, break a turn, log carelessly; then search."""
    standin = start_standin("openai", key=CANARY)
    done = sightline(keychain_env, "keys", "set", "openai", stdin=CANARY + "\n")
    assert done.returncode == 0, done.stderr
    status = sightline(keychain_env, "keys", "status")
    assert CANARY not in done.stdout + done.stderr + status.stdout + status.stderr

    # The same OS keychain, in this process.
    monkeypatch.setenv("SIGHTLINE_TEST_KEYCHAIN", keychain_env["SIGHTLINE_TEST_KEYCHAIN"])
    from keyring import get_keyring, set_keyring

    from tests.keychain_standin import FileKeychain

    previous = get_keyring()
    set_keyring(FileKeychain())
    try:
        configure_logging()
        assert get_key("openai") == CANARY
        settings = Settings(openai_base_url=standin.url, allow_cloud=True)
        backend = open_cloud_backend(
            "openai:gpt-4o",
            settings,
            allowed=may_use_cloud("openai", settings_allow_cloud=True),
            cli=True,
        )
        from desktop.session import ChatSession

        store = HistoryStore.open()
        chat = ChatSession(backend, model_label="openai:gpt-4o", store=store)
        for text in ("What colour is it?", "And the shape?"):
            events = list(chat.ask(text, [image_part((220, 20, 20))] if text[0] == "W" else []))
            assert isinstance(events[-1], Usage)

        standin.faults = [Fault(400)]
        with pytest.raises(ModelError) as err:
            list(chat.ask("Once more?"))
        logging.getLogger("sightline.test").error("turn failed: %s", err.value, exc_info=True)
        logging.getLogger("sightline.test").warning("a careless line with %s in it", CANARY)
        try:
            raise RuntimeError(f"an unexpected bug holding {CANARY}")
        except RuntimeError as bug:
            shown = describe_error(bug)
        assert CANARY not in shown.text

        assert chat.conversation_id is not None
        export_markdown(store, chat.conversation_id, sightline_home / "exports" / "chat.md")
        export_json(store, chat.conversation_id, sightline_home / "exports" / "chat.json")
        store.close()
        backend.close()
    finally:
        set_keyring(previous)
        for handler in logging.getLogger().handlers:
            handler.flush()

    assert standin.received[0].headers["authorization"] == f"Bearer {CANARY}"
    log = (sightline_home / "logs" / "sightline.log").read_text()
    assert "a careless line with [redacted] in it" in log
    assert "unexpected bug holding [redacted]" in log
    exported = json.loads((sightline_home / "exports" / "chat.json").read_text())
    assert exported
    assert files_containing(sightline_home, CANARY.encode()) == []
    assert files_containing(tmp_path, CANARY.encode()) == []
