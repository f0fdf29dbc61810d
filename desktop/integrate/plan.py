"""What an integration writes, as data: files, one merged XML action, registry keys, shortcuts.

A plan is computed once per OS and is the single source for ``install``, ``uninstall``,
``status`` and ``plan --json``, so what the dry run lists is exactly what gets written.
Paths are kept as strings because a Windows plan computed on Linux holds Windows paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every file Sightline writes for an integration carries this text, so ``uninstall``
# removes only files it wrote and never a user's own file that happens to share a name.
MARKER = "sightline integrate"

# What Sightline can read: the MIME types in the .desktop file and the file-manager actions.
MIME_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/heic",
    "application/pdf",
)
EXTENSIONS = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff", "heic", "pdf")

DESCRIBE_LABEL = "Describe with Sightline"
OPEN_LABEL = "Open with Sightline"


@dataclass(frozen=True, slots=True)
class FileItem:
    """A whole file Sightline owns (a .desktop file, a script, a plist)."""

    manager: str
    path: str
    content: str
    executable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "file",
            "manager": self.manager,
            "path": self.path,
            "content": self.content,
            "executable": self.executable,
        }


@dataclass(frozen=True, slots=True)
class XmlActionItem:
    """One ``<action>`` merged by its ``<unique-id>`` into a file the user also edits (Thunar)."""

    manager: str
    path: str
    unique_id: str
    fields: tuple[tuple[str, str | None], ...]  # child elements in order; None: an empty tag

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "xml-action",
            "manager": self.manager,
            "path": self.path,
            "unique_id": self.unique_id,
            "fields": [{"tag": tag, "text": text} for tag, text in self.fields],
        }


@dataclass(frozen=True, slots=True)
class RegistryKey:
    """A key below HKEY_CURRENT_USER and its string values ('' is the key's default value)."""

    manager: str
    key: str
    values: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return f"HKCU\\{self.key}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "registry",
            "manager": self.manager,
            "path": self.path,
            "key": self.key,
            "values": dict(self.values),
        }


@dataclass(frozen=True, slots=True)
class ShortcutItem:
    """A Windows ``.lnk`` (Send To): Explorer appends every selected file to ``arguments``."""

    manager: str
    path: str
    target: str
    arguments: str
    icon: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "shortcut",
            "manager": self.manager,
            "path": self.path,
            "target": self.target,
            "arguments": self.arguments,
            "icon": self.icon,
        }


Item = FileItem | XmlActionItem | RegistryKey | ShortcutItem


@dataclass(frozen=True, slots=True)
class Plan:
    platform: str
    command: tuple[str, ...]  # how this Sightline is started (argv prefix)
    items: tuple[Item, ...]
    # Folders never removed when pruning empty ones after an uninstall (the XDG bases).
    roots: tuple[str, ...] = ()
    # Run after a change when the program exists (update-desktop-database, pbs -update).
    refresh: tuple[tuple[str, ...], ...] = field(default=())

    def managers(self) -> list[str]:
        return list(dict.fromkeys(item.manager for item in self.items))

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "command": list(self.command),
            "items": [item.to_json() for item in self.items],
            "refresh": [list(c) for c in self.refresh],
        }
