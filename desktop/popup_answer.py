"""The right-click's answer without Qt: which model, what it is asked, and starting it early.

The popup asks this whether the window was running or not. With nothing
running, the first instance starts the answer on a thread of its own
(``EarlyAnswer``) as soon as it knows it is first — before Qt or the window's
modules are imported — so encoding the image and reading the prompt overlap
Qt's start instead of following it. Qt waits for that thread's imports and for
its model to open (a short while at most): Python runs one thread's code at a
time, and both are mostly Python on the way to the first token, while
encoding the image runs in native code beside the popup being built. (Opening
a large model is mostly native too, which is why the wait is short: the popup
still shows while it reads.)
The popup then relays what that thread says, on the window's model thread:
while it does, nothing else there can touch the model (the host's one rule).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.cloud_policy import CloudOptIn, is_cloud
from desktop.model_choice import choice_for, installed_models, preferred_index, preload_backend
from desktop.model_host import ModelHost
from desktop.presets import Preset, load_presets
from desktop.settings import Settings
from models.entry import ModelEntry

PRESET = "alt-text"
_POLL_S = 0.05
"""How often a relay waiting for the next item looks whether its popup was closed."""
IMPORT_WAIT_S = 3.0
"""The longest the window's start waits for the early answer's imports."""
LOAD_WAIT_S = 0.5
"""The longest it then waits for the model to open, before showing the popup regardless."""


def popup_opt_in(settings: Settings) -> CloudOptIn:
    return CloudOptIn("popup", settings_allow_cloud=settings.allow_cloud)


def pick(
    current: ModelEntry | None, models: Sequence[ModelEntry], opt_in: CloudOptIn
) -> ModelEntry | None:
    """The window's model, unless it is a cloud one the popup may not use: then a local one.

    With no local model that can see, the window's model is returned and the
    request is refused (with the popup's own advice) before anything is sent.
    """
    if current is None or opt_in.allows(current.backend):
        return current
    local = (e for e in models if e.vision and not is_cloud(e.backend))
    return next(local, current)


@dataclass(frozen=True, slots=True)
class PopupRequest:
    """One right-clicked file, described with one model under the popup's opt-in."""

    path: Path
    entry: ModelEntry
    settings: Settings
    preset: Preset

    @property
    def label(self) -> str:
        return self.entry.qualified_name

    def preload(self) -> None:
        """Import what ``work`` will, on the thread that calls it (see the module's note)."""
        import desktop.ingest
        import desktop.session  # noqa: F401

        preload_backend(choice_for(self.entry))

    def work(
        self, host: ModelHost, cancel: threading.Event, opened: threading.Event | None = None
    ) -> Iterator[object]:
        """The images (one list), then the answer's pieces and its ``Usage``, as they come;
        ``opened`` is set once the model is open."""
        from desktop.ingest import ingest_file  # on the thread that reads: numpy, PIL
        from desktop.session import ChatSession
        from models.backend import GenParams

        choice = choice_for(self.entry)
        max_side = choice.max_image_side(self.settings)
        pages = "1" if self.path.suffix.lower() == ".pdf" else None
        images = list(ingest_file(self.path, max_side=max_side, pages=pages, cancel=cancel))
        yield images
        opt_in = popup_opt_in(self.settings)
        backend = host.backend(choice, self.settings, opt_in=opt_in)
        if opened is not None:
            opened.set()
        session = ChatSession(backend, model_label=choice.label)
        params = GenParams(max_tokens=self.preset.max_tokens)
        yield from session.ask(self.preset.prompt, images, params, cancel)


class _End:
    def __init__(self, failure: BaseException | None = None) -> None:
        self.failure = failure


class EarlyAnswer:
    """A popup's answer already running on its own thread, before any window exists."""

    def __init__(self, request: PopupRequest, host: ModelHost) -> None:
        self.request = request
        self.imported = threading.Event()
        self.opened = threading.Event()
        """Set once its model is open, or once it has ended without."""
        self._cancel = threading.Event()
        self._items: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, args=(host,), name="sightline-early-answer", daemon=True
        )
        self._thread.start()

    def _run(self, host: ModelHost) -> None:
        try:
            try:
                self.request.preload()
            finally:
                self.imported.set()
            for item in self.request.work(host, self._cancel, self.opened):
                self._items.put(item)
        except BaseException as exc:  # the popup turns it into words, like its own failures
            self._items.put(_End(exc))
        else:
            self._items.put(_End())
        finally:
            self.opened.set()

    def stop(self) -> None:
        """Stop it within a token, whether or not anyone relays it."""
        self._cancel.set()

    def relay(self, cancel: threading.Event) -> Iterator[object]:
        """Its items, in order, until it has ended; a set ``cancel`` stops it within a token.

        Returns only once the thread is done with the model, cancelled or not,
        so whoever runs this holds the model thread until then.
        """
        while True:
            if cancel.is_set():
                self.stop()
            try:
                item = self._items.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                if item.failure is not None:
                    raise item.failure
                return
            yield item


def start_early(path: Path, settings: Settings, host: ModelHost) -> EarlyAnswer | None:
    """Start describing ``path`` with the model the window will start with; None without one.

    The window lists installed models first (servers join when they answer),
    so that is what it starts with, and what this picks from. Returns once
    the answer's thread has its modules (at most ``IMPORT_WAIT_S``) and its
    model is open (at most ``LOAD_WAIT_S`` more), so that Qt, imported next,
    does not slow them down.
    """
    models = installed_models(settings)
    current = models[preferred_index(models, settings.default_model)] if models else None
    entry = pick(current, models, popup_opt_in(settings))
    if entry is None:
        return None
    request = PopupRequest(path, entry, settings, load_presets()[PRESET])
    early = EarlyAnswer(request, host)
    early.imported.wait(IMPORT_WAIT_S)
    early.opened.wait(LOAD_WAIT_S)
    return early
