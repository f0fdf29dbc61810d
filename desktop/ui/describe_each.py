"""File ▸ Describe each…: one question per picture, in the batch view.

Several files (or a folder) each get a fresh conversation with the alt-text
preset on the window's model, which stays loaded; the batch view shows each
answer as it comes, lets the user edit it, and saves sidecars, metadata, a
CSV or the clipboard. A cloud model is refused here unless the settings opt
in: the batch view asks no per-conversation consent.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtWidgets import QFileDialog

from desktop.batch.inputs import BatchItem, collect
from desktop.batch.runner import BatchRunner
from desktop.cloud_policy import CloudOptIn, check_request
from desktop.ingest import ingest_file
from desktop.model_choice import choice_for
from desktop.ui.batch_view import BatchView
from models.backend import GenParams
from models.conversation import ImagePart

MainWindow = Any
"""The window (not imported: it imports this module; chrome.py does the same)."""

PRESET = "alt-text"


def ask_files(window: MainWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(
        window, "Describe each", "", "Pictures, PDFs and videos (*)"
    )
    if files:
        describe_each(window, files)


def describe_each(window: MainWindow, paths: list[str]) -> BatchView | None:
    entry = window.current_entry()
    if entry is None:
        window.banner.show_message("Pick a model first, then Describe each.", "notice")
        return None
    items, rejected = collect(paths)
    for bad in rejected:
        window.banner.show_message(f"{bad.name}: {bad.reason}", "error")
    if not items:
        return None
    choice = choice_for(entry)
    settings, host, preset = window.settings, window.host, window.presets[PRESET]
    opt_in = CloudOptIn("window", settings_allow_cloud=settings.allow_cloud)
    max_side = choice.max_image_side(settings)

    def prepare(item: BatchItem, cancel: threading.Event) -> list[ImagePart]:
        pages = str(item.page) if item.page is not None else None
        return list(ingest_file(item.path, max_side=max_side, pages=pages, cancel=cancel))

    def make_runner() -> BatchRunner:
        return BatchRunner(
            host.backend(choice, settings, opt_in=opt_in),
            preset.prompt,
            GenParams(max_tokens=preset.max_tokens),
            prepare,
            jobs=1 if choice.backend == "embedded" else settings.batch_jobs,  # one context
            before_request=lambda: check_request(choice.label, choice.backend, opt_in),
        )

    view = BatchView(items, make_runner, window.model_pool, model_label=choice.label, preset=PRESET)
    window.batch_views.append(view)
    view.show()
    view.start()
    return view
