"""Stand-ins for an OS keychain service, for tests (the real ones need a desktop session).

``MemoryKeychain`` lives in one process; ``FileKeychain`` keeps its secrets in
a file named by ``SIGHTLINE_TEST_KEYCHAIN`` (outside ``SIGHTLINE_HOME``, as
a real keychain is) so CLI subprocesses share it, loaded through keyring's
own ``PYTHON_KEYRING_BACKEND``. Both declare the priority of a real OS
backend.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeychain(KeyringBackend):
    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class FileKeychain(KeyringBackend):
    priority = 5  # type: ignore[assignment]

    @property
    def _file(self) -> Path:
        return Path(os.environ["SIGHTLINE_TEST_KEYCHAIN"])

    def _load(self) -> dict[str, str]:
        return json.loads(self._file.read_text()) if self._file.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        items = self._load()
        items[f"{service}/{username}"] = password
        self._file.write_text(json.dumps(items))

    def delete_password(self, service: str, username: str) -> None:
        items = self._load()
        if items.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._file.write_text(json.dumps(items))
