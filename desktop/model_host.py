"""The one loaded model, kept warm between turns and conversations.

Loading a 4 GB model takes seconds; keeping it means a second question, a
new chat or a right-click "describe" answers at once. Only the thread that
runs model work touches it.

Keeping a model warm must not keep its permission warm: every caller passes
its own opt-in and ``cloud_policy`` is asked again before the backend is
handed back, so a cloud model the window's conversation agreed to is never
used by the popup (or anything else) that did not.
"""

from __future__ import annotations

from desktop.cloud_policy import CloudOptIn, check_request
from desktop.model_choice import ModelChoice, open_backend
from desktop.settings import Settings
from models.backend import Backend


class ModelHost:
    def __init__(self) -> None:
        self._backend: Backend | None = None
        self._label: str | None = None

    @property
    def label(self) -> str | None:
        return self._label

    def backend(
        self,
        choice: ModelChoice,
        settings: Settings,
        *,
        cloud_allowed: bool = False,
        opt_in: CloudOptIn | None = None,
    ) -> Backend:
        """The model for ``choice``, if this request may use it.

        The window passes ``cloud_allowed=True`` once the conversation's
        consent (or fallback switch) has been checked; other callers pass
        their own ``opt_in``.
        """
        if opt_in is None:
            opt_in = CloudOptIn("window", picked_for_conversation=cloud_allowed)
        check_request(choice.label, choice.backend, opt_in)
        if self._backend is None or self._label != choice.label:
            self.close()
            self._backend = open_backend(choice, settings, opt_in, resumable=True)
            self._label = choice.label
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self._backend = None
        self._label = None
