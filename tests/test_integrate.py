"""``sightline integrate``: the right-click action in every Linux file manager, under a temp
HOME, and the Windows and macOS plans as data (computed by the code install uses)."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop.integrate import linux
from desktop.integrate.plan import FileItem
from tests.cli_runner import sightline

FOREIGN_ACTION = """<?xml version="1.0" encoding="UTF-8"?>
<actions>
<action>
\t<icon>utilities-terminal</icon>
\t<name>Open Terminal Here</name>
\t<unique-id>1305730937236178-1</unique-id>
\t<command>exo-open --working-directory %f --launch TerminalEmulator</command>
\t<description>Example for a custom action</description>
\t<patterns>*</patterns>
\t<startup-notify/>
\t<directories/>
</action>
</actions>
"""


@pytest.fixture
def user_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A user with an empty home and their own XDG folders."""
    home = tmp_path / "user"
    env = dict(cli_env)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    (home / "data").mkdir(parents=True)
    (home / "config").mkdir()
    return env


def _ok(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = sightline(env, "integrate", *args)
    assert result.returncode == 0, result.stderr
    return result


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "mimeinfo.cache"  # update-desktop-database's own cache
    }


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_dry_run_lists_every_path_and_writes_nothing(user_env: dict[str, str]) -> None:
    home = Path(user_env["HOME"])
    out = json.loads(_ok(user_env, "install", "--dry-run", "--json").stdout)
    paths = [item["path"] for item in out["items"]]
    assert out["dry_run"] is True
    assert all(item["changed"] for item in out["items"])
    assert {item["manager"] for item in out["items"]} >= {
        "desktop-entry",
        "nautilus",
        "dolphin",
        "nemo",
        "thunar",
        "caja",
    }
    assert all(Path(p).is_relative_to(home) for p in paths)
    assert _tree(home) == {}


def test_install_writes_every_file_manager_and_twice_changes_nothing(
    user_env: dict[str, str],
) -> None:
    data, config = Path(user_env["XDG_DATA_HOME"]), Path(user_env["XDG_CONFIG_HOME"])
    _ok(user_env, "install")
    desktop = data / "applications/sightline.desktop"
    text = desktop.read_text()
    assert "MimeType=image/png;image/jpeg;image/webp;image/gif;image/bmp;image/tiff;" in text
    assert "image/heic;application/pdf;" in text
    assert "Actions=describe;" in text
    assert "Name=Describe with Sightline" in text
    executables = [
        data / "nautilus/scripts/Describe with Sightline",
        data / "kio/servicemenus/sightline-describe.desktop",
        config / "caja/scripts/Describe with Sightline",
    ]
    for path in executables:
        assert os.access(path, os.X_OK), path
        assert "describe --popup" in path.read_text()
    assert (data / "kservices5/ServiceMenus/sightline-describe.desktop").exists()
    assert (
        "describe --popup %F" in (data / "nemo/actions/sightline-describe.nemo_action").read_text()
    )
    assert (data / "icons/hicolor/scalable/apps/sightline.svg").exists()

    before = _snapshot(Path(user_env["HOME"]))
    second = json.loads(_ok(user_env, "install", "--json").stdout)
    assert not any(item["changed"] for item in second["items"])
    assert second["refreshed"] == []
    assert _snapshot(Path(user_env["HOME"])) == before


def test_the_nautilus_script_runs_describe_popup_with_every_file(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    """The script really passes the selection on: a stand-in program records its argv."""
    recorder = tmp_path / "bin" / "sightline"
    recorder.parent.mkdir()
    log = tmp_path / "argv.json"
    recorder.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"json.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n"
    )
    recorder.chmod(0o755)
    script = tmp_path / "script"
    (item,) = [i for i in linux.build((str(recorder),)).items if i.manager == "nautilus"]
    assert isinstance(item, FileItem)
    script.write_text(item.content)
    script.chmod(0o755)
    subprocess.run([str(script), "a b.png", "c.pdf"], check=True, timeout=30)
    assert json.loads(log.read_text()) == ["describe", "--popup", "a b.png", "c.pdf"]


def test_desktop_entry_passes_desktop_file_validate(user_env: dict[str, str]) -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed (Debian package desktop-file-utils)")
    _ok(user_env, "install")
    desktop = Path(user_env["XDG_DATA_HOME"]) / "applications/sightline.desktop"
    result = subprocess.run(
        ["desktop-file-validate", str(desktop)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""  # not even a hint


def test_exec_lines_quote_a_program_path_with_spaces() -> None:
    entry = linux.desktop_entry(("/opt/My Apps/sightline",))
    assert 'Exec="/opt/My Apps/sightline" describe --popup %F' in entry
    assert 'Exec="/opt/My Apps/sightline" %F' in entry


def test_thunar_merge_keeps_the_users_own_actions(user_env: dict[str, str]) -> None:
    uca = Path(user_env["XDG_CONFIG_HOME"]) / "Thunar/uca.xml"
    uca.parent.mkdir()
    uca.write_text(FOREIGN_ACTION)

    def actions() -> dict[str, list[tuple[str, str]]]:
        root = ET.parse(uca).getroot()
        return {
            a.findtext("unique-id", ""): [(c.tag, (c.text or "").strip()) for c in a]
            for a in root.findall("action")
        }

    theirs = actions()["1305730937236178-1"]
    _ok(user_env, "install")
    merged = actions()
    assert merged["1305730937236178-1"] == theirs
    assert "describe --popup" in dict(merged["sightline-describe"])["command"]
    _ok(user_env, "install")
    assert list(actions()) == [
        "1305730937236178-1",
        "sightline-describe",
    ]  # merged, not added twice

    _ok(user_env, "uninstall")
    assert actions() == {"1305730937236178-1": theirs}


def test_uninstall_removes_exactly_what_install_wrote(user_env: dict[str, str]) -> None:
    home = Path(user_env["HOME"])
    own = Path(user_env["XDG_DATA_HOME"]) / "nemo/actions/mine.nemo_action"
    own.parent.mkdir(parents=True)
    own.write_text("[Nemo Action]\nName=Mine\nExec=true\n")
    before = _tree(home)
    _ok(user_env, "install")
    listed = _ok(user_env, "uninstall", "--dry-run").stdout
    assert listed.count("would remove") == 8
    assert _tree(home) != before  # a dry run removes nothing
    _ok(user_env, "uninstall")
    assert _tree(home) == before
    assert {p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_dir()} <= {
        "data",
        "config",
        "data/nemo",
        "data/nemo/actions",
        "data/applications",
    }


def test_uninstall_keeps_a_users_file_of_the_same_name(user_env: dict[str, str]) -> None:
    script = Path(user_env["XDG_DATA_HOME"]) / "nautilus/scripts/Describe with Sightline"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\necho my own\n")
    _ok(user_env, "uninstall")
    assert script.read_text() == "#!/bin/sh\necho my own\n"


def test_status_says_what_is_installed_and_whether_it_is_current(
    user_env: dict[str, str],
) -> None:
    def status() -> dict[str, dict[str, object]]:
        out = json.loads(_ok(user_env, "status", "--json").stdout)
        return {m["manager"]: m for m in out["file_managers"]}

    assert not any(m["installed"] for m in status().values())
    _ok(user_env, "install")
    assert all(m["installed"] and m["current"] for m in status().values())
    script = Path(user_env["XDG_DATA_HOME"]) / "nemo/actions/sightline-describe.nemo_action"
    script.write_text(script.read_text().replace("describe --popup", "/elsewhere describe"))
    states = status()
    assert states["nemo"]["installed"]
    assert not states["nemo"]["current"]
    assert states["nautilus"]["current"]
    assert "not installed" not in _ok(user_env, "status").stdout


def test_linux_plan_is_what_install_writes(user_env: dict[str, str]) -> None:
    plan = json.loads(_ok(user_env, "plan", "--platform", "linux", "--json").stdout)
    _ok(user_env, "install")
    for item in plan["items"]:
        if item["kind"] == "file":
            assert Path(item["path"]).read_text() == item["content"]


def test_windows_plan_has_the_explorer_verbs_and_send_to(user_env: dict[str, str]) -> None:
    user_env["LOCALAPPDATA"] = r"C:\Users\ada\AppData\Local"
    user_env["APPDATA"] = r"C:\Users\ada\AppData\Roaming"
    plan = json.loads(_ok(user_env, "plan", "--platform", "windows", "--json").stdout)
    exe = r"C:\Users\ada\AppData\Local\Programs\Sightline\Sightline.exe"
    keys = {item["key"]: item["values"] for item in plan["items"] if item["kind"] == "registry"}
    base = r"Software\Classes\SystemFileAssociations"
    for association in ("image", ".pdf"):
        verb = keys[rf"{base}\{association}\shell\Sightline.Describe"]
        assert verb == {
            "MUIVerb": "Describe with Sightline",
            "Icon": f"{exe},0",
            "MultiSelectModel": "Player",
        }
        command = keys[rf"{base}\{association}\shell\Sightline.Describe\command"]
        assert command == {"": f'"{exe}" describe --popup "%1"'}
        assert (
            keys[rf"{base}\{association}\shell\Sightline.Open"]["MUIVerb"] == "Open with Sightline"
        )
        assert keys[rf"{base}\{association}\shell\Sightline.Open\command"] == {"": f'"{exe}" "%1"'}
    assert all(k.startswith(base) for k in keys)
    (shortcut,) = [item for item in plan["items"] if item["kind"] == "shortcut"]
    assert (
        shortcut["path"] == r"C:\Users\ada\AppData\Roaming\Microsoft\Windows\SendTo\Sightline.lnk"
    )
    assert (shortcut["target"], shortcut["arguments"]) == (exe, "describe --popup")


def test_macos_plan_is_a_quick_action_for_images_and_pdfs(user_env: dict[str, str]) -> None:
    plan = json.loads(_ok(user_env, "plan", "--platform", "macos", "--json").stdout)
    files = {Path(item["path"]).name: item for item in plan["items"]}
    workflow = Path(user_env["HOME"]) / "Library/Services/Describe with Sightline.workflow"
    assert Path(files["Info.plist"]["path"]) == workflow / "Contents/Info.plist"
    info = plistlib.loads(files["Info.plist"]["content"].encode())
    (service,) = info["NSServices"]
    assert service["NSSendFileTypes"] == ["public.image", "com.adobe.pdf"]
    assert service["NSMenuItem"]["default"] == "Describe with Sightline"
    wflow = plistlib.loads(files["document.wflow"]["content"].encode())
    (action,) = wflow["actions"]
    script = action["action"]["ActionParameters"]["COMMAND_STRING"]
    assert (
        script
        == 'exec /Applications/Sightline.app/Contents/MacOS/Sightline describe --popup "$@"\n'
    )
    assert wflow["workflowMetaData"]["workflowTypeIdentifier"] == "com.apple.Automator.servicesMenu"
    assert plan["refresh"] == [["/System/Library/CoreServices/pbs", "-update"]]


def test_a_broken_uca_xml_is_named_and_left_alone(user_env: dict[str, str]) -> None:
    uca = Path(user_env["XDG_CONFIG_HOME"]) / "Thunar/uca.xml"
    uca.parent.mkdir()
    uca.write_text("<actions><action>")
    result = sightline(user_env, "integrate", "install")
    assert result.returncode == 2
    assert str(uca) in result.stderr
    assert "not valid XML" in result.stderr
    assert uca.read_text() == "<actions><action>"
    assert not (Path(user_env["XDG_DATA_HOME"]) / "applications").exists()  # nothing half-done
