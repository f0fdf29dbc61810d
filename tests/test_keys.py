"""API keys live in the OS keychain, or in memory for a session, never in a file we write."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import null
from keyring.backends.chainer import ChainerBackend

from desktop import keys
from desktop.keys import delete_key, get_key, is_os_keychain, key_status, os_keychain, set_key
from tests.cli_runner import sightline
from tests.cloud_helpers import files_containing
from tests.keychain_standin import MemoryKeychain

KEY = "sk-test-0123456789abcdef"


class PlaintextKeyring(KeyringBackend):
    """Shaped like ``keyrings.alt.file.PlaintextKeyring``: a file, claiming a usable priority."""

    priority = 1.5  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("a plaintext keyring must never be written")

    def delete_password(self, service: str, username: str) -> None:
        pass


PlaintextKeyring.__module__ = "keyrings.alt.file"


class EncryptedFileKeyring(PlaintextKeyring):
    pass


EncryptedFileKeyring.__module__ = "keyrings.alt.file"


def test_a_key_set_in_the_keychain_is_found_and_can_be_deleted(keychain: MemoryKeychain) -> None:
    stored = set_key("openai", KEY)

    assert stored.source == "keychain"
    assert stored.notice is None
    assert keychain.items == {("sightline", "openai"): KEY}
    assert get_key("openai") == KEY
    assert key_status() == {"openai": "keychain", "anthropic": None, "gemini": None}
    assert delete_key("openai") is True
    assert get_key("openai") is None
    assert delete_key("openai") is False


@pytest.mark.parametrize(
    "backend", [PlaintextKeyring(), EncryptedFileKeyring(), null.Keyring()], ids=type
)
def test_file_and_null_keyrings_are_refused_even_when_configured(
    backend: KeyringBackend, no_keychain: None
) -> None:
    keyring.set_keyring(backend)

    assert not is_os_keychain(backend)
    stored = set_key("anthropic", KEY)

    assert stored.source == "session"
    assert get_key("anthropic") == KEY


def test_a_chain_uses_its_os_member_and_skips_a_plaintext_one(
    keychain: MemoryKeychain, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = ChainerBackend()
    monkeypatch.setattr(ChainerBackend, "backends", [PlaintextKeyring(), keychain])
    keyring.set_keyring(chain)

    assert os_keychain() is keychain
    set_key("gemini", KEY)
    assert keychain.items[("sightline", "gemini")] == KEY


def test_without_an_os_keychain_the_key_lives_in_memory_and_the_user_is_told(
    no_keychain: None, sightline_home: Path
) -> None:
    assert os_keychain() is None

    stored = set_key("openai", KEY)

    assert stored.source == "session"
    assert stored.notice is not None
    assert "this session only" in stored.notice
    assert "OPENAI_API_KEY" in stored.notice
    assert get_key("openai") == KEY
    assert files_containing(sightline_home, KEY.encode()) == []
    keys._session.clear()
    assert get_key("openai") is None


def test_an_environment_key_is_used_when_the_keychain_has_none_and_never_copied(
    keychain: MemoryKeychain, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_key("gemini") is None
    monkeypatch.setenv("GEMINI_API_KEY", KEY)

    assert get_key("gemini") == KEY
    assert key_status()["gemini"] == "environment"
    assert keychain.items == {}

    set_key("gemini", "sk-from-keychain-987654321")
    assert get_key("gemini") == "sk-from-keychain-987654321"


def test_keys_set_reads_a_piped_key_and_status_never_shows_it(
    keychain_env: dict[str, str], sightline_home: Path
) -> None:
    done = sightline(keychain_env, "keys", "set", "anthropic", stdin=KEY + "\n")
    assert done.returncode == 0, done.stderr
    assert "stored in the OS keychain" in done.stderr

    status = sightline(keychain_env, "keys", "status")
    as_json = sightline(keychain_env, "keys", "status", "--json")

    assert status.returncode == 0
    assert "anthropic  in the OS keychain" in status.stdout
    assert "openai     no key" in status.stdout
    assert json.loads(as_json.stdout)["anthropic"] == {"has_key": True, "source": "keychain"}
    for out in (done, status, as_json):
        assert KEY not in out.stdout + out.stderr
    assert files_containing(sightline_home, KEY.encode()) == []
    assert KEY in Path(keychain_env["SIGHTLINE_TEST_KEYCHAIN"]).read_text()

    deleted = sightline(keychain_env, "keys", "delete", "anthropic")
    assert deleted.returncode == 0
    assert "deleted" in deleted.stderr
    assert KEY not in Path(keychain_env["SIGHTLINE_TEST_KEYCHAIN"]).read_text()


def test_a_key_on_the_command_line_is_refused(keychain_env: dict[str, str]) -> None:
    done = sightline(keychain_env, "keys", "set", "openai", KEY)

    assert done.returncode == 2
    assert not Path(keychain_env["SIGHTLINE_TEST_KEYCHAIN"]).exists()


def test_an_empty_key_and_an_unknown_provider_are_clear_errors(
    keychain_env: dict[str, str],
) -> None:
    empty = sightline(keychain_env, "keys", "set", "openai", stdin="\n")
    unknown = sightline(keychain_env, "keys", "set", "mistral", stdin=KEY)

    assert empty.returncode == 2
    assert "no key given for OpenAI" in empty.stderr
    assert unknown.returncode == 2
    assert "unknown provider 'mistral'" in unknown.stderr
    assert KEY not in unknown.stderr


def test_on_a_headless_machine_the_cli_says_the_key_is_for_this_session_only(
    cli_env: dict[str, str],
) -> None:
    env = dict(cli_env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")

    done = sightline(env, "keys", "set", "openai", stdin=KEY)

    assert done.returncode == 0
    assert "no OS keychain is available here" in done.stderr
