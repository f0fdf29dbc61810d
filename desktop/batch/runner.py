"""The batch loop: a producer prepares images ahead while consumers ask the model.

One producer thread decodes and downscales the next files (PIL releases the
GIL while it decodes) and keeps a few ready in a bounded queue, so the model
never waits for a file and memory stays bounded however large the batch.
``jobs`` consumers take prepared files from that queue, each asking its own
fresh one-message conversation; the embedded model has one context, so it
runs with one consumer, while a server can be given several requests at once.
Results arrive in the order they finish.

``stop`` ends the batch after the answers in progress; ``cancel`` also cuts
those answers short (they are then not reported as done). A server that says
it is full lowers the number of requests in flight (``Concurrency``), and so
does a local server that ends answers unfinished while several are in
flight: that is how a server with a single model makes room (llama_cpp.server
cuts the answer it is on when another request arrives), and the file is
asked again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from desktop.batch.inputs import BatchItem
from desktop.cloud_policy import is_cloud
from desktop.ingest.video import with_frame_labels
from desktop.messages import answer_ending
from models.backend import Backend, GenParams, Usage
from models.cloud.retry import RetryPolicy
from models.conversation import ImagePart, Message, TextPart
from models.errors import InputError, ServerBusyError, SightlineError

Prepare = Callable[[BatchItem, threading.Event], list[ImagePart]]
"""Turns an item into model-ready images, or raises ``InputError`` naming the file."""

LOOKAHEAD = 2
"""Prepared files waiting per consumer: enough to hide decoding, little memory."""


@dataclass(frozen=True, slots=True)
class Started:
    item: BatchItem


@dataclass(slots=True)
class Finished:
    item: BatchItem
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    ms: float = 0.0
    """Wall time of the model's answer (not the file's preparation, done meanwhile)."""
    images_sent: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Aborted:
    """The model or backend became unusable; nothing more can be answered."""

    error: SightlineError


BatchEvent = Started | Finished | Aborted


@dataclass(frozen=True, slots=True)
class _Crash:
    """A bug on a worker thread: re-raised on the caller's thread, never swallowed."""

    exc: BaseException


_Prepared = tuple[BatchItem, list[ImagePart] | SightlineError]
_DONE = None
"""The end marker on both queues: the producer ended, or a consumer did."""


class Concurrency:
    """How many requests may be in flight; lowered when the server says it is full.

    A server that answers "busy" (429, 503, Ollama's full queue) accepted
    the requests already in flight but not this one, so the limit drops to
    one fewer than were in flight, never below one, and the refused request
    waits and is tried again. Threads wait here, never on the server.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self.retries = 0
        self._changed = threading.Condition()

    def acquire(self, stop: threading.Event) -> bool:
        with self._changed:
            while self.in_flight >= self.limit:
                if stop.is_set():
                    return False
                self._changed.wait(0.1)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return True

    def release(self) -> None:
        with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def busy(self) -> None:
        """The request holding a slot was refused for lack of room."""
        with self._changed:
            self.limit = max(1, min(self.limit, self.in_flight - 1))
            self.retries += 1


BUSY_RETRIES = RetryPolicy(max_tries=8, base_delay=0.2, max_delay=10.0)
"""How often, and how patiently, a request a full server refused is tried again."""


class BatchRunner:
    def __init__(
        self,
        backend: Backend,
        prompt: str,
        params: GenParams,
        prepare: Prepare,
        *,
        jobs: int = 1,
        before_request: Callable[[], None] | None = None,
    ) -> None:
        """``before_request`` runs before every request and raises to refuse it (cloud policy)."""
        self.backend = backend
        self.prompt = prompt
        self.params = params
        self.prepare = prepare
        self.jobs = max(1, jobs)
        self.before_request = before_request
        self.concurrency = Concurrency(self.jobs)

    def run(
        self,
        items: Sequence[BatchItem],
        stop: threading.Event,
        cancel: threading.Event | None = None,
    ) -> Iterator[BatchEvent]:
        """Yield a ``Started`` and a ``Finished`` per item answered (or failed), in finish order."""
        cancel = cancel if cancel is not None else threading.Event()
        ready: queue.Queue[_Prepared | None] = queue.Queue(maxsize=LOOKAHEAD * self.jobs)
        events: queue.Queue[BatchEvent | _Crash | None] = queue.Queue()
        threads = [
            threading.Thread(target=self._produce, args=(items, ready, events, stop), daemon=True)
        ]
        threads += [
            threading.Thread(target=self._consume, args=(ready, events, stop, cancel), daemon=True)
            for _ in range(self.jobs)
        ]
        for t in threads:
            t.start()
        running = self.jobs
        finished_normally = False
        try:
            while running:
                event = events.get()
                if event is _DONE:
                    running -= 1
                    continue
                if isinstance(event, _Crash):
                    raise event.exc
                if isinstance(event, Aborted):
                    stop.set()
                yield event
            finished_normally = True
        finally:
            stop.set()
            if not finished_normally:
                cancel.set()
            _drain(ready)
            for t in threads:
                t.join(timeout=5)

    # -- threads ---------------------------------------------------------------

    def _put(
        self, ready: queue.Queue[_Prepared | None], value: _Prepared, stop: threading.Event
    ) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(
        self,
        items: Sequence[BatchItem],
        ready: queue.Queue[_Prepared | None],
        events: queue.Queue[BatchEvent | _Crash | None],
        stop: threading.Event,
    ) -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                prepared: list[ImagePart] | SightlineError
                try:
                    prepared = self.prepare(item, stop)
                except SightlineError as exc:
                    prepared = exc
                if not self._put(ready, (item, prepared), stop):
                    break
        except Exception as exc:
            events.put(_Crash(exc))
            stop.set()
        finally:
            for _ in range(self.jobs):
                self._put_final(ready, stop)

    def _put_final(self, ready: queue.Queue[_Prepared | None], stop: threading.Event) -> None:
        """One end marker per consumer; once stopped, a full queue ends them anyway."""
        while True:
            try:
                ready.put(_DONE, timeout=0.1)
                return
            except queue.Full:
                if stop.is_set():
                    return

    def _consume(
        self,
        ready: queue.Queue[_Prepared | None],
        events: queue.Queue[BatchEvent | _Crash | None],
        stop: threading.Event,
        cancel: threading.Event,
    ) -> None:
        try:
            while True:
                got = ready.get()
                if got is _DONE or stop.is_set():
                    return
                item, prepared = got
                if isinstance(prepared, SightlineError):
                    events.put(Finished(item, error=str(prepared)))
                    continue
                events.put(Started(item))
                try:
                    result = self._ask_when_there_is_room(item, prepared, stop, cancel)
                except InputError as exc:
                    result = Finished(item, error=str(exc))
                except SightlineError as exc:
                    events.put(Aborted(exc))
                    return
                if result is None:  # stopped while waiting for room
                    return
                if result.usage.finish_reason == "cancelled":
                    return
                events.put(result)
        except Exception as exc:
            events.put(_Crash(exc))
        finally:
            events.put(_DONE)

    def _ask_when_there_is_room(
        self,
        item: BatchItem,
        images: list[ImagePart],
        stop: threading.Event,
        cancel: threading.Event,
    ) -> Finished | None:
        """Ask within the concurrency limit; a busy server lowers it and the ask is retried."""
        attempt = 0
        while True:
            if not self.concurrency.acquire(stop):
                return None
            try:
                return self._ask(item, images, cancel)
            except ServerBusyError as exc:
                self.concurrency.busy()
                attempt += 1
                if attempt >= BUSY_RETRIES.max_tries:
                    return Finished(item, error=f"{item.name}: {exc} ({attempt} tries)")
                wait = BUSY_RETRIES.delay(attempt, exc.retry_after)
            finally:
                self.concurrency.release()
            if cancel.wait(wait):
                return None

    def _ask(self, item: BatchItem, images: list[ImagePart], cancel: threading.Event) -> Finished:
        if self.before_request is not None:
            self.before_request()
        message = Message("user", (*with_frame_labels(images), TextPart(self.prompt)))
        result = Finished(item, images_sent=len(images))
        begun = time.perf_counter()
        chunks: list[str] = []
        for event in self.backend.stream([message], self.params, cancel):
            if isinstance(event, Usage):
                result.usage = event
            elif isinstance(event, str):
                chunks.append(event)
        result.ms = (time.perf_counter() - begun) * 1000
        # Models often open with a space ("▁The"); nobody wants it in a caption.
        result.text = "".join(chunks).strip()
        if result.usage.finish_reason == "error":
            if self.concurrency.in_flight > 1 and not is_cloud(self.backend.capabilities.backend):
                # A server with one model ends the answer in progress for the next request
                # (llama_cpp.server does so by default): too much in flight, not a failure.
                # A cloud answer that broke off was paid for, and stays a failure.
                raise ServerBusyError(f"{result.usage.error}, with others in flight")
            result.error = f"{item.name}: the answer {answer_ending('error', result.usage.error)}"
        return result


def _drain(q: queue.Queue[_Prepared | None]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
