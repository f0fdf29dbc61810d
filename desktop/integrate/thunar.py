"""Thunar's custom actions file (``uca.xml``): merge one action by its unique id.

The file also holds the user's own actions, so it is parsed and written as XML
(never text-replaced) and every other ``<action>`` is kept exactly as it was.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from desktop.integrate.plan import XmlActionItem
from models.errors import InputError


def _load(path: Path) -> ET.ElementTree[ET.Element] | None:
    if not path.exists():
        return None
    try:
        return ET.parse(path)
    except ET.ParseError as exc:
        raise InputError(f"{path}: not valid XML ({exc}); fix or move it and try again") from exc


def _element(item: XmlActionItem) -> ET.Element:
    action = ET.Element("action")
    for tag, text in item.fields:
        child = ET.SubElement(action, tag)
        child.text = text
    return action


def _signature(action: ET.Element) -> list[tuple[str, str]]:
    return [(child.tag, (child.text or "").strip()) for child in action]


def _find(root: ET.Element, unique_id: str) -> tuple[int, ET.Element] | None:
    for index, action in enumerate(root):
        if action.tag == "action" and (action.findtext("unique-id") or "").strip() == unique_id:
            return index, action
    return None


def _write(tree: ET.ElementTree[ET.Element], path: Path) -> None:
    ET.indent(tree, space="\t")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tree.write(tmp, encoding="UTF-8", xml_declaration=True)
    tmp.replace(path)


def state(item: XmlActionItem) -> tuple[bool, bool]:
    """(installed, current): our action is present, and it is exactly the planned one."""
    tree = _load(Path(item.path))
    found = None if tree is None else _find(tree.getroot(), item.unique_id)
    if found is None:
        return False, False
    return True, _signature(found[1]) == _signature(_element(item))


def merge(item: XmlActionItem, dry_run: bool) -> bool:
    """Put the action in (replacing an older copy in place); True when the file changes."""
    path = Path(item.path)
    tree = _load(path)
    if tree is None:
        tree = ET.ElementTree(ET.Element("actions"))
    root = tree.getroot()
    wanted = _element(item)
    found = _find(root, item.unique_id)
    if found is not None and _signature(found[1]) == _signature(wanted):
        return False
    if not dry_run:
        if found is None:
            root.append(wanted)
        else:
            root[found[0]] = wanted
        _write(tree, path)
    return True


def remove(item: XmlActionItem, dry_run: bool) -> bool:
    """Take our action out, keeping the user's; True when the file changes."""
    path = Path(item.path)
    tree = _load(path)
    found = None if tree is None else _find(tree.getroot(), item.unique_id)
    if tree is None or found is None:
        return False
    if not dry_run:
        root = tree.getroot()
        root.remove(found[1])
        if len(root) == 0:
            path.unlink()  # only ours was in it
        else:
            _write(tree, path)
    return True
