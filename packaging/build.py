"""Build Sightline's release artifacts: ``packaging/build.py linux|windows|macos --out DIR``.

The one entry point for CI and for people. Every OS freezes the app with the same
PyInstaller spec (one folder), then packages it the way that OS expects:

* linux: a ``.deb`` (app in /opt/sightline, /usr/bin/sightline, the .desktop file,
  hicolor icons, MIME associations) and a ``.tar.gz`` of the bundle;
* windows: a per-user NSIS installer (no admin rights, %LOCALAPPDATA%\\Programs\\Sightline);
* macos: ``Sightline.app`` and a DMG, signed and notarized when the secrets are set.

Tools: PyInstaller (``pip install -e ".[packaging]"``) and the OS's packager; a missing
one is named together with what provides it. ``--bundle DIR`` packages an already
frozen folder instead of freezing again (used by the installer tests).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.integrate import linux, windows  # noqa: E402  (the plans are the source of truth)
from desktop.integrate.icon import SVG  # noqa: E402
from desktop.integrate.plan import MIME_TYPES, RegistryKey, ShortcutItem  # noqa: E402

NAME = "Sightline"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# Where each missing tool comes from, so the error says what to install.
TOOLS = {
    "dpkg": "the Debian package dpkg (apt-get install dpkg)",
    "dpkg-deb": "the Debian package dpkg (apt-get install dpkg)",
    "makensis": "NSIS (apt-get install nsis, or choco install nsis on Windows)",
    "codesign": "Xcode's command line tools (xcode-select --install)",
    "hdiutil": "macOS itself",
}
# What the frozen bundle leaves to the system: glibc, the graphics stack and the X/Wayland
# client libraries Qt's platform plugins load (PyInstaller never bundles these).
DEB_DEPENDS = (
    "libc6 (>= 2.35)",
    "libgl1",
    "libegl1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-image0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-randr0",
    "libxcb-xkb1",
)
SUMMARY = "local-first desktop assistant that sees images, screenshots and PDFs"


class BuildError(Exception):
    """A build step that cannot go on; the message says what to do."""


def version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BuildError(f"{tool} not found: it comes with {TOOLS[tool]}")
    return path


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=cwd, env=env)


def render_icons(out: Path) -> dict[int, Path]:
    """PNG renderings of the one SVG drawing, plus .ico and .icns for the other OSes."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # held while rendering
    assert app is not None
    out.mkdir(parents=True, exist_ok=True)
    (out / "sightline.svg").write_text(SVG, encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(SVG.encode()))
    pngs: dict[int, Path] = {}
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        pngs[size] = out / f"sightline-{size}.png"
        image.save(str(pngs[size]))
    from PIL import Image

    big = Image.open(pngs[512])
    big.save(out / "sightline.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    big.save(out / "sightline.icns")
    return pngs


def freeze(out: Path) -> Path:
    """Run the spec; the one-folder bundle (or .app on macOS) lands in ``out/bundle``."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError as exc:
        raise BuildError('PyInstaller not installed: pip install -e ".[packaging]"') from exc
    render_icons(ROOT / "packaging" / "build" / "icons")
    started = time.monotonic()
    run(
        sys.executable,
        "-m",
        "PyInstaller",
        ROOT / "packaging" / "sightline.spec",
        "--noconfirm",
        "--distpath",
        out / "bundle",
        "--workpath",
        out / "work",
    )
    print(f"froze in {time.monotonic() - started:.0f} s", flush=True)
    bundle = out / "bundle" / (f"{NAME}.app" if sys.platform == "darwin" else NAME)
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    print(f"bundle: {bundle} ({size / 2**20:.0f} MiB)", flush=True)
    return bundle


# -- Linux -------------------------------------------------------------------


def _deb_arch() -> str:
    return subprocess.run(
        [need("dpkg"), "--print-architecture"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def build_linux(bundle: Path, out: Path) -> list[Path]:
    need("dpkg-deb")
    ver, arch = version(), _deb_arch()
    stage = out / "deb-root"
    shutil.rmtree(stage, ignore_errors=True)
    app_dir = stage / "opt" / "sightline"
    shutil.copytree(bundle, app_dir, symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "sightline").symlink_to(f"/opt/sightline/{NAME}")
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / linux.DESKTOP_FILE).write_text(linux.desktop_entry(("/usr/bin/sightline",)))
    icons = render_icons(out / "icons")
    hicolor = stage / "usr" / "share" / "icons" / "hicolor"
    for size, png in icons.items():
        target = hicolor / f"{size}x{size}" / "apps" / "sightline.png"
        target.parent.mkdir(parents=True)
        shutil.copy2(png, target)
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    (hicolor / "scalable" / "apps" / "sightline.svg").write_text(SVG)
    # The MIME associations: "Open with" for every type the .desktop file lists.
    mime_defaults = stage / "usr" / "share" / "sightline" / "mimeapps.list"
    mime_defaults.parent.mkdir(parents=True)
    mime_defaults.write_text(
        "[Added Associations]\n" + "".join(f"{t}={linux.DESKTOP_FILE};\n" for t in MIME_TYPES)
    )
    debian = stage / "DEBIAN"
    debian.mkdir()
    installed_kib = sum(p.lstat().st_size for p in stage.rglob("*")) // 1024
    (debian / "control").write_text(
        "\n".join(
            [
                "Package: sightline",
                f"Version: {ver}",
                f"Architecture: {arch}",
                "Maintainer: Sightline <sightline@users.noreply.github.com>",
                f"Installed-Size: {installed_kib}",
                f"Depends: {', '.join(DEB_DEPENDS)}",
                "Recommends: poppler-utils",
                "Section: graphics",
                "Priority: optional",
                "Homepage: https://github.com/sightline-app/sightline",
                f"Description: {SUMMARY}",
                " Talk about photos, screenshots, scans and PDFs with a vision-language",
                " model running on your own machine (embedded llama.cpp or Ollama).",
                ' Adds "Describe with Sightline" to the file manager\'s right-click menu.',
                "",
            ]
        )
    )
    refresh = (
        "#!/bin/sh\nset -e\n"
        "command -v update-desktop-database >/dev/null && update-desktop-database -q || true\n"
        "command -v gtk-update-icon-cache >/dev/null && "
        "gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true\n"
    )
    for script in ("postinst", "postrm"):
        (debian / script).write_text(refresh)
        (debian / script).chmod(0o755)
    deb = out / f"sightline_{ver}_{arch}.deb"
    run(need("dpkg-deb"), "--root-owner-group", "-Zxz", "--build", stage, deb)
    tarball = out / f"sightline-{ver}-linux-{os.uname().machine}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(bundle, arcname=f"sightline-{ver}")
    shutil.rmtree(stage)
    return [deb, tarball]


# -- Windows -----------------------------------------------------------------

INSTDIR_EXE = rf"$INSTDIR\{NAME}.exe"


def nsis_integration(out: Path) -> Path:
    """The Explorer verbs and Send To shortcut as NSIS commands, from the same plan that
    ``sightline integrate install`` applies: the installer runs that command, and writes
    these identical keys itself only when the installed program fails to run."""
    plan = windows.build((INSTDIR_EXE,))
    install, uninstall = ["!macro SightlineIntegrate"], ["!macro SightlineUnintegrate"]
    for item in plan.items:
        if isinstance(item, RegistryKey):
            for name, value in item.values:
                install.append(f"  WriteRegStr HKCU '{item.key}' '{name}' '{value}'")
        elif isinstance(item, ShortcutItem):
            link = rf"$SENDTO\{Path(item.path.replace(chr(92), '/')).name}"
            install.append(
                f"  CreateShortcut '{link}' '{item.target}' '{item.arguments}' '{INSTDIR_EXE}' 0"
            )
            uninstall.append(f"  Delete '{link}'")
    verbs = {
        k.key for k in plan.items if isinstance(k, RegistryKey) and not k.key.endswith("command")
    }
    uninstall += [f"  DeleteRegKey HKCU '{key}'" for key in sorted(verbs)]
    path = out / "integration.nsh"
    path.write_text("\n".join([*install, "!macroend", "", *uninstall, "!macroend", ""]))
    return path


def build_windows(bundle: Path, out: Path) -> list[Path]:
    makensis = need("makensis")
    include = nsis_integration(out)
    setup = out / f"Sightline-{version()}-windows-x64-setup.exe"
    icon = ROOT / "packaging" / "build" / "icons" / "sightline.ico"
    if not icon.exists():
        render_icons(icon.parent)
    define = "/D" if sys.platform == "win32" else "-D"
    run(
        makensis,
        f"{define}VERSION={version()}",
        f"{define}PAYLOAD={bundle}",
        f"{define}OUTFILE={setup}",
        f"{define}INTEGRATION={include}",
        f"{define}ICON={icon}",
        ROOT / "packaging" / "windows" / "sightline.nsi",
    )
    return [setup]


# -- macOS -------------------------------------------------------------------

SIGNING_VARS = ("MACOS_SIGN_IDENTITY", "APPLE_ID", "APPLE_TEAM_ID", "APPLE_APP_PASSWORD")


def sign_and_notarize(app: Path, dmg: Path | None) -> None:
    missing = [v for v in SIGNING_VARS if not os.environ.get(v)]
    if missing:
        print(f"notice: not signing or notarizing ({', '.join(missing)} not set)", flush=True)
        return
    identity = os.environ["MACOS_SIGN_IDENTITY"]
    if dmg is None:
        entitlements = ROOT / "packaging" / "macos" / "entitlements.plist"
        run(
            need("codesign"),
            "--force",
            "--deep",
            "--options",
            "runtime",
            "--timestamp",
            "--entitlements",
            entitlements,
            "--sign",
            identity,
            app,
        )
        return
    run(need("codesign"), "--force", "--timestamp", "--sign", identity, dmg)
    run(
        "xcrun",
        "notarytool",
        "submit",
        dmg,
        "--apple-id",
        os.environ["APPLE_ID"],
        "--team-id",
        os.environ["APPLE_TEAM_ID"],
        "--password",
        os.environ["APPLE_APP_PASSWORD"],
        "--wait",
    )
    run("xcrun", "stapler", "staple", dmg)


def build_macos(app: Path, out: Path) -> list[Path]:
    need("hdiutil")
    try:
        import dmgbuild
    except ImportError as exc:
        raise BuildError('dmgbuild not installed: pip install -e ".[packaging]"') from exc
    sign_and_notarize(app, None)
    arch = os.uname().machine
    dmg = out / f"Sightline-{version()}-macos-{arch}.dmg"
    dmgbuild.build_dmg(
        str(dmg),
        NAME,
        settings={
            "files": [str(app)],
            "symlinks": {"Applications": "/Applications"},
            "icon_locations": {app.name: (140, 120), "Applications": (500, 120)},
            "window_rect": ((100, 100), (640, 280)),
            "format": "UDZO",
        },
    )
    sign_and_notarize(app, dmg)
    return [dmg]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", choices=("linux", "windows", "macos"))
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--bundle", type=Path, metavar="DIR", help="package this frozen folder")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        bundle = args.bundle.resolve() if args.bundle else freeze(out)
        builders = {"linux": build_linux, "windows": build_windows, "macos": build_macos}
        artifacts = builders[args.platform](bundle, out)
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"build.py: {exc.cmd[0]} failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    for artifact in artifacts:
        print(f"built {artifact} ({artifact.stat().st_size / 2**20:.1f} MiB)")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
