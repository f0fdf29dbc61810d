"""Opening a cloud model by name (``openai:gpt-4.1``), after the opt-in check.

Checking comes first and imports nothing from ``models.cloud``: without
opt-in no SDK is loaded and no socket is opened. The key comes from
``desktop.keys`` at the moment the backend is opened, and the base URL from
settings, else the provider's environment variable, else the public API.
"""

from __future__ import annotations

from desktop.cloud_policy import cloud_refused
from desktop.keys import get_key, missing_key_message
from desktop.settings import Settings
from models.backend import Backend
from models.cloud.limits import split_cloud_name
from models.entry import ModelEntry
from models.errors import ModelError


def open_cloud_backend(name: str, settings: Settings, *, allowed: bool, cli: bool) -> Backend:
    """A backend for ``provider:model``; ``allowed`` is ``cloud_policy.may_use_cloud``'s answer."""
    split = split_cloud_name(name)
    if split is None:
        raise ModelError(f"{name!r} is not a cloud model (use openai:, anthropic: or gemini:)")
    if not allowed:
        raise cloud_refused(name, caller="cli" if cli else "window")
    provider, model = split
    key = get_key(provider)
    if key is None:
        raise ModelError(missing_key_message(provider))
    # A base URL in settings wins; otherwise the backend reads the provider's variable.
    url: str | None = getattr(settings, f"{provider}_base_url")
    if provider == "openai":
        from models.cloud.openai_backend import OpenAIBackend

        return OpenAIBackend(model, key, url)
    if provider == "anthropic":
        from models.cloud.anthropic_backend import AnthropicBackend

        return AnthropicBackend(model, key, url)
    from models.cloud.gemini_backend import GeminiBackend

    return GeminiBackend(model, key, url)


def keyed_cloud_models() -> list[ModelEntry]:
    """Cloud models the user can pick: those of providers with a key, priced in our table.

    Listing them loads no SDK and contacts nobody; a key is only looked up.
    """
    from models.cloud.pricing import context_length, priced_models

    entries = []
    for name in priced_models():
        split = split_cloud_name(name)
        if split is None or get_key(split[0]) is None:
            continue
        entries.append(
            ModelEntry(
                name=split[1], backend=split[0], vision=True, context_length=context_length(name)
            )
        )
    return entries
