"""Whether a request may go to a cloud model: off unless the user said yes.

This module is the one place that decides, and it is asked on every request,
not once per loaded model: the window's turns, the right-click popup, the
command line and a batch runner all build a ``CloudOptIn`` saying what their
user agreed to and call ``check_request`` before anything is sent. A warm
cloud backend kept by ``ModelHost`` is handed back only after the same check,
so one caller's consent never lets another caller's request through.

In the window, a conversation uses the cloud only when the user picked a
cloud model for it and agreed to what will be sent, or switched on "fall back
to cloud when no local model can answer" for it (remembered per
conversation). On the command line every cloud call needs ``--allow-cloud``
or ``allow_cloud = true`` in the config; the popup has no dialog of its own
and needs that setting too. The decision is made before any cloud module is
loaded, so a refusal sends nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.backend import BackendKind
from models.errors import ModelError

CLOUD_BACKENDS: frozenset[str] = frozenset({"openai", "anthropic", "gemini"})

Caller = Literal["cli", "window", "popup"]
"""Who is asking; a refusal tells each one how to opt in in its own terms."""

_HOW_TO_OPT_IN: dict[Caller, str] = {
    "cli": "pass --allow-cloud, or set allow_cloud = true in the config file",
    "window": "pick the cloud model for this conversation, or switch on its cloud fallback",
    "popup": (
        "pick a local model in the Sightline window, or tick \u201cAllow cloud models\u201d "
        "in Settings (allow_cloud = true)"
    ),
}


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


@dataclass(frozen=True, slots=True)
class CloudOptIn:
    """What the user agreed to for one request, and who asks (for the refusal's wording).

    A batch runner builds one from its flags and settings and passes it with
    each request; the window builds one per turn from the conversation's
    consent or fallback switch.
    """

    caller: Caller
    cli_allow_cloud: bool = False
    settings_allow_cloud: bool = False
    picked_for_conversation: bool = False
    conversation_fallback: bool = False

    def allows(self, backend: BackendKind | str) -> bool:
        return may_use_cloud(
            backend,
            cli_allow_cloud=self.cli_allow_cloud,
            settings_allow_cloud=self.settings_allow_cloud,
            picked_for_conversation=self.picked_for_conversation,
            conversation_fallback=self.conversation_fallback,
        )


def check_request(model_label: str, backend: BackendKind | str, opt_in: CloudOptIn) -> None:
    """Raise the refusal unless this request may go where ``backend`` sends it.

    Cheap and import-free: call it before every request, warm model or not.
    """
    if not opt_in.allows(backend):
        raise cloud_refused(model_label, caller=opt_in.caller)


def cloud_refused(model_label: str, *, caller: Caller) -> ModelError:
    """The error shown when a cloud model was asked for without opt-in."""
    return ModelError(
        f"{model_label} is a cloud model and cloud use is off, so nothing was sent — "
        f"to send this conversation to it, {_HOW_TO_OPT_IN[caller]}"
    )
