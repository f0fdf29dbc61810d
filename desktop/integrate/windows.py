"""Windows: Explorer verbs under HKCU (no admin rights) and a "Send to ▸ Sightline" shortcut.

``SystemFileAssociations\\image`` covers every image type whatever program owns it,
``.pdf`` adds PDFs. ``MultiSelectModel=Player`` makes Explorer start one process per
selected file (the first instance gathers the rest); Send To passes all files in one
call. Windows 11's top-level menu needs a signed sparse package with an
IExplorerCommand handler, which this does not provide: the verbs show under
"Show more options".
"""

from __future__ import annotations

import os
from pathlib import PureWindowsPath

from desktop.integrate.plan import DESCRIBE_LABEL, OPEN_LABEL, Item, Plan, RegistryKey, ShortcutItem

CLASSES = r"Software\Classes\SystemFileAssociations"
ASSOCIATIONS = ("image", ".pdf")
DESCRIBE_VERB = "Sightline.Describe"
OPEN_VERB = "Sightline.Open"


def _quoted(command: tuple[str, ...]) -> str:
    """The program quoted (it lives under a folder that may hold spaces), its options not."""
    return " ".join([f'"{command[0]}"', *command[1:]])


def send_to_folder() -> PureWindowsPath:
    appdata = os.environ.get("APPDATA") or str(PureWindowsPath("C:/Users/Default/AppData/Roaming"))
    return PureWindowsPath(appdata, "Microsoft", "Windows", "SendTo")


def build(command: tuple[str, ...]) -> Plan:
    exe = _quoted(command)
    icon = f"{command[0]},0"
    items: list[Item] = []
    for association in ASSOCIATIONS:
        shell = rf"{CLASSES}\{association}\shell"
        items += [
            RegistryKey(
                "explorer",
                rf"{shell}\{DESCRIBE_VERB}",
                (("MUIVerb", DESCRIBE_LABEL), ("Icon", icon), ("MultiSelectModel", "Player")),
            ),
            RegistryKey(
                "explorer",
                rf"{shell}\{DESCRIBE_VERB}\command",
                (("", f'{exe} describe --popup "%1"'),),
            ),
            RegistryKey(
                "explorer",
                rf"{shell}\{OPEN_VERB}",
                (("MUIVerb", OPEN_LABEL), ("Icon", icon), ("MultiSelectModel", "Player")),
            ),
            RegistryKey("explorer", rf"{shell}\{OPEN_VERB}\command", (("", f'{exe} "%1"'),)),
        ]
    args = " ".join([*command[1:], "describe", "--popup"])
    items.append(
        ShortcutItem("send-to", str(send_to_folder() / "Sightline.lnk"), command[0], args, icon)
    )
    return Plan(platform="windows", command=command, items=tuple(items))
