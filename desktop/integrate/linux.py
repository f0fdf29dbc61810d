"""Linux: a .desktop entry plus the per-file-manager actions for Nautilus, Dolphin, Nemo,
Thunar and Caja, all below the user's XDG folders (no root, nothing system-wide).

Each file manager has its own extension format; they all run the same command,
``sightline describe --popup FILE...``, with every selected file in one call.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from platformdirs.unix import Unix

from desktop.integrate.icon import SVG
from desktop.integrate.plan import (
    DESCRIBE_LABEL,
    EXTENSIONS,
    MARKER,
    MIME_TYPES,
    FileItem,
    Item,
    Plan,
    XmlActionItem,
)

DESKTOP_FILE = "sightline.desktop"
THUNAR_ID = "sightline-describe"
COMMENT = "Talk about images, screenshots and PDFs with a vision model on your machine"
_HEADER = f"# Written by `{MARKER} install`; `{MARKER} uninstall` removes it."
# Characters that force quoting in a desktop entry's Exec key (Desktop Entry spec, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_arg(arg: str) -> str:
    """One Exec argument: quoted when the spec requires it, ``%`` doubled."""
    arg = arg.replace("%", "%%")
    if not any(c in _RESERVED for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    # The value is also a desktop-entry string, whose own escape doubles each backslash.
    return '"' + escaped.replace("\\", "\\\\") + '"'


def exec_line(command: tuple[str, ...], *args: str) -> str:
    return " ".join([*(_exec_arg(a) for a in command), *args])


def desktop_entry(command: tuple[str, ...]) -> str:
    """The application entry: menu item, "Open with" for images/PDFs, and a Describe action."""
    return "\n".join(
        [
            "[Desktop Entry]",
            _HEADER,
            "Type=Application",
            "Name=Sightline",
            "GenericName=Vision assistant",
            f"Comment={COMMENT}",
            f"Exec={exec_line(command, '%F')}",
            "Icon=sightline",
            "Terminal=false",
            "Categories=Graphics;Viewer;",
            "Keywords=image;photo;screenshot;pdf;ocr;alt text;describe;",
            f"MimeType={';'.join(MIME_TYPES)};",
            "StartupWMClass=sightline",
            "Actions=describe;",
            "",
            "[Desktop Action describe]",
            f"Name={DESCRIBE_LABEL}",
            "Icon=sightline",
            f"Exec={exec_line(command, 'describe', '--popup', '%F')}",
            "",
        ]
    )


def _shell_script(command: tuple[str, ...]) -> str:
    # Nautilus and Caja pass the selected local files as arguments.
    line = shlex.join([*command, "describe", "--popup"])
    return f'#!/bin/sh\n{_HEADER}\nexec {line} "$@"\n'


def _service_menu(command: tuple[str, ...]) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            _HEADER,
            "Type=Service",
            f"MimeType={';'.join(MIME_TYPES)};",
            "Actions=describe;",
            "X-KDE-ServiceTypes=KonqPopupMenu/Plugin",
            "X-KDE-Priority=TopLevel",
            "",
            "[Desktop Action describe]",
            f"Name={DESCRIBE_LABEL}",
            "Icon=sightline",
            f"Exec={exec_line(command, 'describe', '--popup', '%F')}",
            "",
        ]
    )


def _nemo_action(command: tuple[str, ...]) -> str:
    return "\n".join(
        [
            "[Nemo Action]",
            _HEADER,
            f"Name={DESCRIBE_LABEL}",
            f"Comment={COMMENT}",
            f"Exec={exec_line(command, 'describe', '--popup', '%F')}",
            "Icon-Name=sightline",
            "Selection=notnone",
            f"Mimetypes={';'.join(MIME_TYPES)};",
            "",
        ]
    )


def _thunar_fields(command: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    patterns = (
        ";".join(f"*.{e}" for e in EXTENSIONS)
        + ";"
        + ";".join(f"*.{e.upper()}" for e in EXTENSIONS)
    )
    return (
        ("icon", "sightline"),
        ("name", DESCRIBE_LABEL),
        ("submenu", ""),
        ("unique-id", THUNAR_ID),
        ("command", shlex.join([*command, "describe", "--popup"]) + " %F"),
        ("description", f"{COMMENT} ({MARKER})"),
        ("range", "*"),
        ("patterns", patterns),
        ("image-files", None),
        ("other-files", None),
    )


def data_home() -> Path:
    return Path(Unix().user_data_dir)


def config_home() -> Path:
    return Path(Unix().user_config_dir)


def build(command: tuple[str, ...]) -> Plan:
    data, config = data_home(), config_home()
    script = _shell_script(command)
    service = _service_menu(command)
    items: list[Item] = [
        FileItem(
            "desktop-entry", str(data / "applications" / DESKTOP_FILE), desktop_entry(command)
        ),
        FileItem("icon", str(data / "icons/hicolor/scalable/apps/sightline.svg"), SVG),
        FileItem("nautilus", str(data / "nautilus/scripts" / DESCRIBE_LABEL), script, True),
        # KF6 and KF5 >= 5.85 read kio/servicemenus (and want the file executable);
        # older KF5 reads kservices5/ServiceMenus.
        FileItem(
            "dolphin", str(data / "kio/servicemenus/sightline-describe.desktop"), service, True
        ),
        FileItem(
            "dolphin", str(data / "kservices5/ServiceMenus/sightline-describe.desktop"), service
        ),
        FileItem(
            "nemo", str(data / "nemo/actions/sightline-describe.nemo_action"), _nemo_action(command)
        ),
        XmlActionItem("thunar", str(config / "Thunar/uca.xml"), THUNAR_ID, _thunar_fields(command)),
        FileItem("caja", str(config / "caja/scripts" / DESCRIBE_LABEL), script, True),
    ]
    return Plan(
        platform="linux",
        command=command,
        items=tuple(items),
        roots=(str(data), str(config)),
        refresh=(("update-desktop-database", str(data / "applications")),),
    )
