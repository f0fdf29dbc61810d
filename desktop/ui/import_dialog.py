"""Asking for a GGUF text model, its projector and a name: the one dialog both importers use."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget


def ask_model_files(parent: QWidget) -> tuple[Path, Path | None, str] | None:
    """The text model, its mmproj (None for a text-only model) and a name; None if cancelled."""
    text, _ = QFileDialog.getOpenFileName(
        parent, "Text model (GGUF)", str(Path.home()), "GGUF (*.gguf)"
    )
    if not text:
        return None
    mmproj, _ = QFileDialog.getOpenFileName(
        parent, "Vision projector (mmproj GGUF)", str(Path(text).parent), "GGUF (*.gguf)"
    )
    name, ok = QInputDialog.getText(
        parent, "Name the model", "Name in the model list:", text=Path(text).stem
    )
    if not ok or not name.strip():
        return None
    return Path(text), Path(mmproj) if mmproj else None, name.strip()
