"""Apply, remove and check a plan on this machine: idempotent, and only ever our own files.

A second ``install`` writes nothing (each item is compared first), ``uninstall``
removes only what carries Sightline's marker (or Thunar's action by its id, or our
registry keys) and prunes the folders that became empty, never the XDG bases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.integrate import registry, thunar
from desktop.integrate.plan import (
    MARKER,
    FileItem,
    Item,
    Plan,
    RegistryKey,
    ShortcutItem,
    XmlActionItem,
)


@dataclass(frozen=True, slots=True)
class Change:
    manager: str
    path: str
    changed: bool  # written (install) or removed (uninstall); False: already so, or not ours

    def to_json(self) -> dict[str, Any]:
        return {"manager": self.manager, "path": self.path, "changed": self.changed}


@dataclass(frozen=True, slots=True)
class ManagerStatus:
    manager: str
    installed: bool  # every piece is there
    current: bool  # and each is exactly what this Sightline would write (same executable)
    paths: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "manager": self.manager,
            "installed": self.installed,
            "current": self.current,
            "paths": list(self.paths),
        }


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def _mode(item: FileItem) -> int:
    return 0o755 if item.executable else 0o644


def _file_current(item: FileItem) -> bool:
    path = Path(item.path)
    return _read(path) == item.content and (not item.executable or os.access(path, os.X_OK))


def _write_file(item: FileItem) -> None:
    path = Path(item.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(item.content, encoding="utf-8")
    tmp.chmod(_mode(item))
    tmp.replace(path)


def _prune(path: Path, roots: tuple[str, ...]) -> None:
    """Remove the folders above ``path`` that are now empty, stopping at a root."""
    stops = {Path(r) for r in roots}
    parent = path.parent
    while parent not in stops and any(r in parent.parents for r in stops):
        try:
            parent.rmdir()
        except OSError:
            return  # not empty
        parent = parent.parent


def _install_item(item: Item, dry_run: bool) -> bool:
    if isinstance(item, FileItem):
        if _file_current(item):
            return False
        if not dry_run:
            _write_file(item)
        return True
    if isinstance(item, XmlActionItem):
        return thunar.merge(item, dry_run)
    if isinstance(item, RegistryKey):
        if registry.read(item) == dict(item.values):
            return False
        if not dry_run:
            registry.write(item)
        return True
    if Path(item.path).exists():
        return False
    if not dry_run:
        Path(item.path).parent.mkdir(parents=True, exist_ok=True)
        registry.create_shortcut(item)
    return True


def _uninstall_item(item: Item, plan: Plan, dry_run: bool) -> bool:
    if isinstance(item, FileItem):
        path = Path(item.path)
        text = _read(path)
        if text is None or MARKER not in text:
            return False  # absent, or the user's own file of that name
        if not dry_run:
            path.unlink()
            _prune(path, plan.roots)
        return True
    if isinstance(item, XmlActionItem):
        changed = thunar.remove(item, dry_run)
        if changed and not Path(item.path).exists():
            _prune(Path(item.path), plan.roots)
        return changed
    if isinstance(item, RegistryKey):
        if registry.read(item) is None:
            return False
        return dry_run or registry.delete(item)
    path = Path(item.path)
    if not path.exists():
        return False
    if not dry_run:
        path.unlink()
    return True


def _refresh(plan: Plan) -> list[list[str]]:
    """Run the OS's cache refreshers that exist here; the commands run are returned."""
    ran: list[list[str]] = []
    for command in plan.refresh:
        if shutil.which(command[0]) is None:
            continue
        subprocess.run(list(command), check=False, capture_output=True, timeout=60)
        ran.append(list(command))
    return ran


def install(plan: Plan, dry_run: bool = False) -> tuple[list[Change], list[list[str]]]:
    for item in plan.items:  # a file we cannot merge into fails before anything is written
        if isinstance(item, XmlActionItem):
            thunar.state(item)
    changes = [Change(i.manager, i.path, _install_item(i, dry_run)) for i in plan.items]
    ran = [] if dry_run or not any(c.changed for c in changes) else _refresh(plan)
    return changes, ran


def uninstall(plan: Plan, dry_run: bool = False) -> tuple[list[Change], list[list[str]]]:
    # Subkeys before their parents: the registry deletes one empty key at a time.
    changes = [
        Change(i.manager, i.path, _uninstall_item(i, plan, dry_run)) for i in reversed(plan.items)
    ]
    changes.reverse()
    ran = [] if dry_run or not any(c.changed for c in changes) else _refresh(plan)
    return changes, ran


def _item_state(item: Item) -> tuple[bool, bool]:
    if isinstance(item, FileItem):
        text = _read(Path(item.path))
        installed = text is not None and MARKER in text
        return installed, installed and _file_current(item)
    if isinstance(item, XmlActionItem):
        return thunar.state(item)
    if isinstance(item, RegistryKey):
        values: dict[str, str] | None = registry.read(item)
        return values is not None, values == dict(item.values)
    assert isinstance(item, ShortcutItem)
    exists = Path(item.path).exists()
    return exists, exists


def status(plan: Plan) -> list[ManagerStatus]:
    result = []
    for manager in plan.managers():
        items = [i for i in plan.items if i.manager == manager]
        states = [_item_state(i) for i in items]
        result.append(
            ManagerStatus(
                manager,
                installed=all(s[0] for s in states),
                current=all(s[1] for s in states),
                paths=tuple(i.path for i in items),
            )
        )
    return result
