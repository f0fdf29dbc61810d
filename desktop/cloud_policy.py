"""Whether a turn may go to a cloud model: off unless the user said yes.

In the window, a conversation uses the cloud only when the user picked a
cloud model for it, or switched on "fall back to cloud when no local model
can answer" for it (remembered per conversation). On the command line every
cloud call needs ``--allow-cloud`` or ``allow_cloud = true`` in the config.
The decision is made before any cloud module is loaded, so a refusal sends
nothing at all.
"""

from __future__ import annotations

from models.backend import BackendKind
from models.errors import ModelError

CLOUD_BACKENDS: frozenset[str] = frozenset({"openai", "anthropic", "gemini"})


def is_cloud(backend: BackendKind | str) -> bool:
    return backend in CLOUD_BACKENDS


def may_use_cloud(
    backend: BackendKind | str,
    *,
    cli_allow_cloud: bool = False,
    settings_allow_cloud: bool = False,
    picked_for_conversation: bool = False,
    conversation_fallback: bool = False,
) -> bool:
    """``True`` for every local backend; for a cloud one, only with an explicit opt-in.

    The CLI passes its flag and the config setting; the window passes whether
    the user picked this cloud model for the conversation, or switched on its
    cloud fallback.
    """
    if not is_cloud(backend):
        return True
    return (
        cli_allow_cloud or settings_allow_cloud or picked_for_conversation or conversation_fallback
    )


def cloud_refused(model_label: str, *, cli: bool) -> ModelError:
    """The error shown when a cloud model was asked for without opt-in."""
    how = (
        "pass --allow-cloud, or set allow_cloud = true in the config file"
        if cli
        else "pick the cloud model for this conversation, or switch on its cloud fallback"
    )
    return ModelError(
        f"{model_label} is a cloud model and cloud use is off, so nothing was sent — "
        f"to send this conversation to it, {how}"
    )
