"""The one loaded model, kept warm between turns and conversations.

Loading a 4 GB model takes seconds; keeping it means a second question, a
new chat or a right-click "describe" answers at once. Only the thread that
runs model work touches it.
"""

from __future__ import annotations

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
        self, choice: ModelChoice, settings: Settings, *, cloud_allowed: bool = False
    ) -> Backend:
        if self._backend is None or self._label != choice.label:
            self.close()
            self._backend = open_backend(
                choice, settings, cloud_allowed=cloud_allowed, resumable=True
            )
            self._label = choice.label
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self._backend = None
        self._label = None
