"""HKEY_CURRENT_USER reads and writes with ``winreg``, and the Send To shortcut.

Only ever called on Windows (a plan for another OS is data only); elsewhere each
function raises, so the module imports everywhere and is type-checked as Windows code
only where ``winreg`` exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NoReturn

from desktop.integrate.plan import MARKER, RegistryKey, ShortcutItem

if sys.platform == "win32":
    import winreg

    def read(key: RegistryKey) -> dict[str, str] | None:
        """The key's string values, or None when the key does not exist."""
        try:
            handle = winreg.OpenKey(winreg.HKEY_CURRENT_USER, key.key)
        except FileNotFoundError:
            return None
        values: dict[str, str] = {}
        with handle:
            for name, _ in key.values:
                try:
                    values[name] = str(winreg.QueryValueEx(handle, name)[0])
                except FileNotFoundError:
                    continue
        return values

    def write(key: RegistryKey) -> None:
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key.key, 0, winreg.KEY_SET_VALUE) as h:
            for name, value in key.values:
                winreg.SetValueEx(h, name, 0, winreg.REG_SZ, value)

    def delete(key: RegistryKey) -> bool:
        """Delete one key (the caller deletes subkeys first); True if it existed."""
        try:
            winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key.key)
        except FileNotFoundError:
            return False
        return True

    def create_shortcut(item: ShortcutItem) -> None:
        """Write the .lnk through the shell's own COM object (values passed by environment)."""
        script = (
            "$s = (New-Object -ComObject WScript.Shell).CreateShortcut($env:SL_PATH);"
            "$s.TargetPath = $env:SL_TARGET; $s.Arguments = $env:SL_ARGS;"
            "$s.IconLocation = $env:SL_ICON; $s.Description = $env:SL_DESC; $s.Save()"
        )
        env = dict(os.environ)
        env.update(
            SL_PATH=item.path,
            SL_TARGET=item.target,
            SL_ARGS=item.arguments,
            SL_ICON=item.icon,
            SL_DESC=f"Describe with Sightline ({MARKER})",
        )
        subprocess.run(
            ["powershell", "-NoProfile", "-NonInteractive", "-Command", script],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )

else:

    def _unavailable(*_: object) -> NoReturn:
        raise OSError("the Windows registry exists only on Windows")

    read = write = delete = create_shortcut = _unavailable
