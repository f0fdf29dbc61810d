"""Cloud API keys: the OS keychain, or this session's memory, or the environment.

Keys are stored only through ``keyring`` and only in a real OS keychain
(macOS Keychain, Windows Credential Locker, Secret Service, KWallet): a
backend must be one ``keyring`` itself recommends (priority >= 1) and must
not be a file, null or failing backend, whatever a keyring config file
says. Where there is none (a headless Linux box) a key set here lives in
this process's memory until it exits, and the caller is told so. There is
no plaintext fallback. ``PROVIDER_API_KEY`` variables are read at call time
when neither has a key and are never written anywhere. Every key read or
set is registered with ``desktop.redact`` so no log can carry it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import keyring
import keyring.core
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from desktop.redact import register_secret
from models.cloud.limits import PROVIDERS, TITLES, Provider
from models.errors import InputError, StorageError

SERVICE = "sightline"
ENV_VARS: dict[Provider, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
}
KeySource = Literal["keychain", "session", "environment"]

SESSION_ONLY_NOTICE = (
    "no OS keychain is available here, so the key is kept in memory for this session only "
    "and forgotten when Sightline exits; set {env} in your environment to keep using it"
)
_REFUSED_MODULES = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")

_session: dict[Provider, str] = {}


@dataclass(frozen=True, slots=True)
class StoredKey:
    source: KeySource
    notice: str | None = None
    """Said to the user when the key will not outlive this session."""


def provider_named(name: str) -> Provider:
    for p in PROVIDERS:
        if p == name.strip().lower():
            return p
    raise InputError(f"unknown provider {name!r} (choose from: {', '.join(PROVIDERS)})")


def is_os_keychain(backend: KeyringBackend) -> bool:
    """A backend that keeps secrets in the operating system's keychain, not in a file."""
    module = type(backend).__module__
    if isinstance(backend, ChainerBackend) or module.startswith(_REFUSED_MODULES):
        return False
    if "plaintext" in type(backend).__name__.lower():
        return False
    try:
        return bool(keyring.core.recommended(backend))
    except Exception:
        return False


def os_keychain() -> KeyringBackend | None:
    """The keychain in use if it is a real one; a chain's first real member otherwise."""
    try:
        current = keyring.get_keyring()
    except Exception:
        return None
    members = list(current.backends) if isinstance(current, ChainerBackend) else [current]
    return next((b for b in members if is_os_keychain(b)), None)


def _keychain_error(action: str, provider: Provider, exc: Exception) -> StorageError:
    # The keyring's own message is left out: some backends quote what they were given.
    return StorageError(
        f"the OS keychain could not {action} the {TITLES[provider]} key ({type(exc).__name__})"
    )


def set_key(provider: Provider, key: str) -> StoredKey:
    key = key.strip()
    if not key:
        raise InputError(f"no key given for {TITLES[provider]}")
    register_secret(key)
    chain = os_keychain()
    if chain is None:
        _session[provider] = key
        return StoredKey("session", SESSION_ONLY_NOTICE.format(env=ENV_VARS[provider]))
    try:
        chain.set_password(SERVICE, provider, key)
    except keyring.errors.KeyringError as exc:
        raise _keychain_error("store", provider, exc) from None
    _session.pop(provider, None)
    return StoredKey("keychain")


def delete_key(provider: Provider) -> bool:
    """Forget the stored key; ``False`` when there was none (the environment is untouched)."""
    found = _session.pop(provider, None) is not None
    chain = os_keychain()
    if chain is not None:
        try:
            if chain.get_password(SERVICE, provider) is not None:
                chain.delete_password(SERVICE, provider)
                found = True
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise _keychain_error("delete", provider, exc) from None
    return found


def _lookup(provider: Provider) -> tuple[str, KeySource] | None:
    chain = os_keychain()
    if chain is not None:
        try:
            stored = chain.get_password(SERVICE, provider)
        except keyring.errors.KeyringError as exc:
            raise _keychain_error("read", provider, exc) from None
        if stored:
            return stored, "keychain"
    if provider in _session:
        return _session[provider], "session"
    env = os.environ.get(ENV_VARS[provider], "").strip()
    if env:
        return env, "environment"
    return None


def get_key(provider: Provider) -> str | None:
    found = _lookup(provider)
    if found is None:
        return None
    register_secret(found[0])
    return found[0]


def key_source(provider: Provider) -> KeySource | None:
    """Where a provider's key would come from; never the key itself."""
    found = _lookup(provider)
    if found is None:
        return None
    register_secret(found[0])
    return found[1]


def key_status() -> dict[Provider, KeySource | None]:
    return {p: key_source(p) for p in PROVIDERS}


def missing_key_message(provider: Provider) -> str:
    return (
        f"no API key for {TITLES[provider]} — set one with `sightline keys set {provider}` "
        f"or in {ENV_VARS[provider]}"
    )
