"""The release builds: the .deb's layout, the NSIS installer (compiled, and installed
under wine where it exists) and, opt-in, the frozen Linux bundle answering for real.

Freezing takes minutes, so the bundle test runs when ``SIGHTLINE_TEST_BUNDLE=1``
(``.ci/run`` sets it when packaging/ or the dependencies changed); otherwise it
reports itself as skipped, with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import REPO

# Freezing alone takes minutes on a small machine: the frozen tests get more than the default.
FROZEN_TIMEOUT = pytest.mark.timeout(2400)
BUILD = [sys.executable, str(REPO / "packaging" / "build.py")]
HKCU_DESCRIBE = r"HKCU\Software\Classes\SystemFileAssociations\image\shell\Sightline.Describe"


def _build(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*BUILD, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (Debian package {package})")


@pytest.fixture
def stand_in_bundle(tmp_path: Path) -> Path:
    """A folder shaped like PyInstaller's output, for the packaging steps alone."""
    bundle = tmp_path / "Sightline"
    (bundle / "_internal").mkdir(parents=True)
    program = bundle / "Sightline"
    program.write_text("#!/bin/sh\necho stand-in\n")
    program.chmod(0o755)
    (bundle / "Sightline.exe").write_bytes(b"MZ stand-in")
    (bundle / "_internal" / "libllama.so").write_bytes(b"\0")
    return bundle


def _unpack_deb(deb: Path, into: Path) -> dict[str, str]:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)


def test_deb_layout_from_a_bundle(stand_in_bundle: Path, tmp_path: Path) -> None:
    _need("dpkg-deb", "dpkg")
    out = tmp_path / "out"
    _build("linux", "--out", out, "--bundle", stand_in_bundle)
    (deb,) = out.glob("sightline_*.deb")
    assert list(out.glob("sightline-*-linux-*.tar.gz"))
    root = tmp_path / "root"
    control = _unpack_deb(deb, root)
    assert control["Package"] == "sightline"
    assert control["Recommends"] == "poppler-utils"
    assert "libxcb-cursor0" in control["Depends"]
    assert "python" not in control["Depends"]  # the bundle carries its own
    assert os.readlink(root / "usr/bin/sightline") == "/opt/sightline/Sightline"
    assert (root / "opt/sightline/_internal/libllama.so").exists()
    desktop = root / "usr/share/applications/sightline.desktop"
    assert "Exec=/usr/bin/sightline describe --popup %F" in desktop.read_text()
    for size in (16, 32, 48, 128, 256, 512):
        assert (root / f"usr/share/icons/hicolor/{size}x{size}/apps/sightline.png").exists()
    assert (root / "usr/share/icons/hicolor/scalable/apps/sightline.svg").exists()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(desktop)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout


def test_a_missing_packager_is_named_with_its_package(
    stand_in_bundle: Path, tmp_path: Path
) -> None:
    env = dict(os.environ, PATH=str(tmp_path / "empty"))
    result = subprocess.run(
        [*BUILD, "windows", "--out", str(tmp_path / "o"), "--bundle", str(stand_in_bundle)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert "makensis not found" in result.stderr
    assert "nsis" in result.stderr


# A stand-in for the frozen ``sightline-cli.exe``: a real Windows program (built with
# makensis itself) that notes how it was started and fails the way a program that cannot
# run does, so the installer must both call it and fall back to writing the verbs itself.
STAND_IN_CLI = r"""
Unicode true
Target amd64-unicode
OutFile "${OUT}"
SilentInstall silent
RequestExecutionLevel user
Section
  FileOpen $0 "$LOCALAPPDATA\stand-in-calls.txt" a
  FileSeek $0 0 END
  FileWrite $0 "$CMDLINE$\r$\n"
  FileClose $0
  SetErrorLevel 3
SectionEnd
"""


@pytest.fixture
def nsis_installer(stand_in_bundle: Path, tmp_path: Path) -> Path:
    _need("makensis", "nsis")
    script = tmp_path / "stand-in-cli.nsi"
    script.write_text(STAND_IN_CLI)
    cli = stand_in_bundle / "sightline-cli.exe"
    subprocess.run(
        ["makensis", "-V1", f"-DOUT={cli}", str(script)], check=True, capture_output=True
    )
    out = tmp_path / "nsis"
    _build("windows", "--out", out, "--bundle", stand_in_bundle)
    (setup,) = out.glob("Sightline-*-windows-x64-setup.exe")
    return setup


def test_nsis_script_compiles_against_a_stand_in_payload(nsis_installer: Path) -> None:
    assert nsis_installer.read_bytes()[:2] == b"MZ"
    include = (nsis_installer.parent / "integration.nsh").read_text()
    assert r"Sightline.Describe\command' '' '\"$INSTDIR\Sightline.exe\" describe" not in include
    assert '\'"$INSTDIR\\Sightline.exe" describe --popup "%1"\'' in include
    assert "MultiSelectModel' 'Player'" in include


def _wine(prefix: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml="
    )
    return subprocess.run(
        ["wine", *args], env=env, capture_output=True, text=True, timeout=180, check=check
    )


def test_silent_install_writes_the_verb_and_uninstall_removes_it(
    nsis_installer: Path, tmp_path: Path
) -> None:
    _need("wine", "wine")
    prefix = tmp_path / "wine"
    _wine(prefix, str(nsis_installer), "/S")
    users = prefix / "drive_c" / "users"
    (user,) = [u for u in users.iterdir() if u.name != "Public"]
    installed = user / "AppData/Local/Programs/Sightline"
    assert (installed / "Sightline.exe").exists()
    assert (installed / "Uninstall.exe").exists()
    assert (user / "AppData/Roaming/Microsoft/Windows/SendTo/Sightline.lnk").exists()
    query = _wine(prefix, "reg", "query", HKCU_DESCRIBE + r"\command").stdout
    assert 'Sightline\\Sightline.exe" describe --popup "%1"' in query
    assert "Player" in _wine(prefix, "reg", "query", HKCU_DESCRIBE).stdout
    calls = user / "AppData/Local/stand-in-calls.txt"
    assert calls.read_text().splitlines()[0].endswith('sightline-cli.exe" integrate install')
    data = user / "AppData/Local/sightline"
    data.mkdir(parents=True)
    (data / "config.toml").write_text("theme = 'dark'\n")

    _wine(prefix, str(installed / "Uninstall.exe").replace(str(prefix / "drive_c"), "C:"), "/S")
    wait = ["wineserver", "-w"]  # the uninstaller finishes in a copy of itself
    subprocess.run(wait, env=dict(os.environ, WINEPREFIX=str(prefix)), timeout=120, check=True)
    assert _wine(prefix, "reg", "query", HKCU_DESCRIBE, check=False).returncode != 0
    assert calls.read_text().splitlines()[1].endswith('sightline-cli.exe" integrate uninstall')
    assert not installed.exists()
    assert not (user / "AppData/Roaming/Microsoft/Windows/SendTo/Sightline.lnk").exists()
    assert (data / "config.toml").exists()  # the user's data stays unless asked


def _frozen_env(tmp_path: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SIGHTLINE_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }


@pytest.fixture(scope="module")
def frozen_deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("SIGHTLINE_TEST_BUNDLE") != "1":
        pytest.skip(
            "frozen bundle not built: set SIGHTLINE_TEST_BUNDLE=1 (.ci/run does when "
            "packaging/ or the dependencies changed)"
        )
    _need("dpkg-deb", "dpkg")
    out = tmp_path_factory.mktemp("release")
    _build("linux", "--out", out, timeout=1800)
    (deb,) = out.glob("sightline_*.deb")
    root = out / "root"
    _unpack_deb(deb, root)
    return root


@FROZEN_TIMEOUT
def test_frozen_describe_json_answers_with_the_tiny_model(
    frozen_deb: Path, vlm_a: Any, tmp_path: Path, sightline_home: Path
) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(photo)
    program = frozen_deb / "opt/sightline/Sightline"
    result = subprocess.run(
        [str(program), "describe", str(photo), "--model-path", str(vlm_a.model),
         "--mmproj", str(vlm_a.mmproj), "--max-tokens", "8", "--json"],
        env=_frozen_env(tmp_path, sightline_home),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["completion_tokens"] > 0
    assert answer["files"] == [str(photo)]


@FROZEN_TIMEOUT
def test_frozen_window_starts_offscreen(
    frozen_deb: Path, tmp_path: Path, sightline_home: Path
) -> None:
    program = frozen_deb / "opt/sightline/Sightline"
    window = subprocess.Popen(
        [str(program)], env=_frozen_env(tmp_path, sightline_home),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        exited = window.wait(timeout=10)
    except subprocess.TimeoutExpired:
        exited = None  # still showing the window: it started
    finally:
        window.terminate()
        _, err = window.communicate(timeout=30)
    assert exited is None, err


@FROZEN_TIMEOUT
def test_frozen_integrate_points_at_the_frozen_program(
    frozen_deb: Path, tmp_path: Path, sightline_home: Path
) -> None:
    program = frozen_deb / "opt/sightline/Sightline"
    result = subprocess.run(
        [str(program), "integrate", "status", "--json"], env=_frozen_env(tmp_path, sightline_home),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["command"] == [str(program.resolve())]


def _install_check(dist: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    check = [sys.executable, str(REPO / "packaging" / "install_check.py"), "linux", str(dist)]
    return subprocess.run(check, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_install_check_installs_the_deb_checks_the_right_click_and_removes_it(
    tmp_path: Path,
) -> None:
    """The release runners' install check, on a .deb whose program is this source tree."""
    _need("dpkg-deb", "dpkg")
    bundle = tmp_path / "Sightline"
    (bundle / "_internal").mkdir(parents=True)
    program = bundle / "Sightline"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m desktop.cli "$@"\n')
    program.chmod(0o755)
    out = tmp_path / "dist"
    _build("linux", "--out", out, "--bundle", bundle)
    summary = tmp_path / "summary.md"
    env = dict(os.environ, PYTHONPATH=str(REPO), GITHUB_STEP_SUMMARY=str(summary))
    result = _install_check(out, env)
    assert result.returncode == 0, result.stderr
    header, rule, row = result.stdout.splitlines()
    assert header.startswith("| OS | package |")
    assert rule.startswith("|---|")
    assert row.startswith("| linux | sightline_")
    assert "| installed, current |" in row
    assert row in summary.read_text()


def test_install_check_names_what_is_missing(tmp_path: Path) -> None:
    result = _install_check(tmp_path, dict(os.environ))
    assert result.returncode == 1
    assert "expected one sightline_*.deb" in result.stderr


def test_the_release_workflow_builds_checks_and_installs_on_every_os() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())
    build = workflow["jobs"]["build"]
    runners = {
        (m["os"], m["platform"], m["variant"]) for m in build["strategy"]["matrix"]["include"]
    }
    assert {r[0] for r in runners} == {"ubuntu-22.04", "windows-2022", "macos-14", "macos-15-intel"}
    assert ("windows-2022", "windows", "vulkan") in runners
    assert ("macos-14", "macos", "metal") in runners
    assert all("-DGGML_NATIVE=OFF" in m["cmake"] for m in build["strategy"]["matrix"]["include"])
    commands = "\n".join(step.get("run", "") for step in build["steps"])
    order = ["pytest", "packaging/build.py", "packaging/smoke.py", "packaging/install_check.py"]
    assert [commands.index(c) for c in order] == sorted(commands.index(c) for c in order)
