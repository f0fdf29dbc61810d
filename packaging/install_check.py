"""Install a built package as a user would, time it, check the right-click, remove it.

    python3 packaging/install_check.py linux|windows|macos DIST

DIST is build.py's ``--out`` folder. Prints one Markdown table row per package —
its size, the installed app's size on disk, install and uninstall times, and
whether ``integrate status`` finds the right-click action pointing at the
installed program — and appends the table to ``$GITHUB_STEP_SUMMARY`` when set,
so each release runner reports its own OS's figures (docs/benchmarks.md keeps
them). Files and settings go to a temporary HOME; on Windows the installer runs
silently into a temporary folder and writes the current user's registry keys,
which its uninstaller removes again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEADER = (
    "| OS | package | package MiB | installed MiB | install s | right-click | uninstall s |\n"
    "|---|---|---:|---:|---:|---|---:|"
)


DESCRIBE_KEY = r"HKCU\Software\Classes\SystemFileAssociations\image\shell\Sightline.Describe"


class CheckError(Exception):
    """The package did not install, integrate or uninstall as it should."""


@dataclass(frozen=True, slots=True)
class Figures:
    package: Path
    installed_bytes: int
    install_s: float
    uninstall_s: float

    def row(self, platform: str) -> str:
        return (
            f"| {platform} | {self.package.name} | {self.package.stat().st_size / 2**20:.0f} | "
            f"{self.installed_bytes / 2**20:.0f} | {self.install_s:.1f} | installed, current | "
            f"{self.uninstall_s:.1f} |"
        )


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    if len(found) != 1:
        raise CheckError(f"expected one {pattern} in {dist}, found {len(found)}")
    return found[0]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _timed(step: Callable[[], object]) -> float:
    started = time.monotonic()
    step()
    return time.monotonic() - started


def _run(*command: str | Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(c) for c in command], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise CheckError(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _integration(program: Path, env: dict[str, str]) -> tuple[bool, bool]:
    """(any piece installed, every piece installed and pointing at ``program``)."""
    status = json.loads(_run(program, "integrate", "status", "--json", env=env))
    managers = status["file_managers"]
    return any(m["installed"] for m in managers), all(m["current"] for m in managers)


def _require(program: Path, env: dict[str, str], installed: bool) -> None:
    some, current = _integration(program, env)
    if installed and not current:
        raise CheckError(f"the right-click action is missing or stale after installing {program}")
    if not installed and some:
        raise CheckError("the right-click action is still there after uninstalling")


def check_linux(dist: Path, tmp: Path, env: dict[str, str]) -> Figures:
    """The .deb unpacked as dpkg would (the bulk of ``apt install``), then ``integrate``."""
    deb = _one(dist, "sightline_*.deb")
    root = tmp / "root"
    program = root / "opt" / "sightline" / "Sightline"

    def install() -> None:
        _run("dpkg-deb", "-x", deb, root, env=env)
        _run(program, "integrate", "install", env=env)

    install_s = _timed(install)
    _require(program, env, installed=True)
    installed = _size(root)
    uninstall_s = _timed(lambda: _run(program, "integrate", "uninstall", env=env))
    _require(program, env, installed=False)
    return Figures(deb, installed, install_s, uninstall_s)


def check_windows(dist: Path, tmp: Path, env: dict[str, str]) -> Figures:
    """The NSIS installer silently into a temporary folder; it runs ``integrate install``."""
    setup = _one(dist, "*-setup.exe")
    target = tmp / "Sightline"
    cli = target / "sightline-cli.exe"
    install_s = _timed(lambda: _run(setup, "/S", f"/D={target}", env=env))
    _require(cli, env, installed=True)
    installed = _size(target)

    def uninstall() -> None:
        _run(target / "Uninstall.exe", "/S", env=env)
        deadline = time.monotonic() + 300  # it finishes in a copy of itself
        while (target / "Sightline.exe").exists():
            if time.monotonic() > deadline:
                raise CheckError(f"the uninstaller left {target}")
            time.sleep(0.1)

    uninstall_s = _timed(uninstall)
    # The program is gone with its folder, so the registry is asked directly.
    left = subprocess.run(["reg", "query", DESCRIBE_KEY], capture_output=True, check=False)
    if left.returncode == 0:
        raise CheckError(f"the uninstaller left {DESCRIBE_KEY}")
    return Figures(setup, installed, install_s, uninstall_s)


def check_macos(dist: Path, tmp: Path, env: dict[str, str]) -> Figures:
    """The app copied out of the DMG (what dragging it to Applications does), then
    ``integrate install`` for the Finder Quick Action."""
    dmg = _one(dist, "*.dmg")
    mount, apps = tmp / "mount", tmp / "Applications"
    app = apps / "Sightline.app"
    program = app / "Contents" / "MacOS" / "Sightline"

    def install() -> None:
        _run("hdiutil", "attach", "-nobrowse", "-readonly", "-mountpoint", mount, dmg, env=env)
        try:
            apps.mkdir()
            _run("ditto", mount / "Sightline.app", app, env=env)
        finally:
            _run("hdiutil", "detach", mount, env=env)
        _run(program, "integrate", "install", env=env)

    install_s = _timed(install)
    _require(program, env, installed=True)
    installed = _size(app)

    def uninstall() -> None:
        _run(program, "integrate", "uninstall", env=env)
        _require(program, env, installed=False)
        shutil.rmtree(app)

    return Figures(dmg, installed, install_s, _timed(uninstall))


CHECKS = {"linux": check_linux, "windows": check_windows, "macos": check_macos}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in CHECKS:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    platform, dist = args[0], Path(args[1]).resolve()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        home = tmp / "home"
        env = dict(
            os.environ,
            HOME=str(home),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CONFIG_HOME=str(home / ".config"),
            SIGHTLINE_HOME=str(tmp / "sightline"),
        )
        try:
            figures = CHECKS[platform](dist, tmp, env)
        except CheckError as exc:
            print(f"install_check.py: {exc}", file=sys.stderr)
            return 1
    table = f"{HEADER}\n{figures.row(platform)}\n"
    print(table, end="")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(f"\n### Install check ({platform})\n\n{table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
