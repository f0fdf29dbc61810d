"""One conversation with one model: what the CLI's chat and the window's chat both run.

The user's turn is committed to history before the model starts, and the
answer is saved as it streams, so a crash, a Stop or an error never loses
what was said. Messages are also kept in memory in the form the backend
needs, so each follow-up sends the whole conversation and the backend's
cache decides what is actually new.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from desktop.cloud_policy import CLOUD_BACKENDS
from desktop.history.store import HistoryStore
from models.backend import Backend, Event, GenParams, Progress, Usage
from models.conversation import ImagePart, Message, Part, TextPart


@dataclass(slots=True)
class TurnResult:
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    conversation_id: int | None = None


def turn_cost(backend: str, usage: Usage) -> float | None:
    """What a turn cost in US dollars: 0 on this machine, ``None`` when a cloud price is unknown."""
    if backend not in CLOUD_BACKENDS:
        return 0.0
    return usage.cost_usd


class ChatSession:
    def __init__(
        self,
        backend: Backend,
        *,
        model_label: str,
        store: HistoryStore | None = None,
        conversation_id: int | None = None,
        messages: Sequence[Message] = (),
    ) -> None:
        self.backend = backend
        self.model_label = model_label
        self.store = store
        self.conversation_id = conversation_id
        self.messages: list[Message] = list(messages)

    @classmethod
    def resume(
        cls, store: HistoryStore, conversation_id: int, backend: Backend, *, model_label: str
    ) -> ChatSession:
        return cls(
            backend,
            model_label=model_label,
            store=store,
            conversation_id=conversation_id,
            messages=store.load_for_model(conversation_id),
        )

    def ask(
        self,
        text: str,
        images: Sequence[ImagePart] = (),
        params: GenParams | None = None,
        cancel: threading.Event | None = None,
        result: TurnResult | None = None,
    ) -> Iterator[Event]:
        """Stream one turn. ``result`` (if given) holds the text and usage as they arrive."""
        # Imported here: the ingest package (Pillow, the PDF renderer) is no part of the
        # window's start; a turn runs on a worker thread, so the first one pays, off the GUI.
        from desktop.ingest.video import with_frame_labels

        result = result if result is not None else TurnResult()
        parts: tuple[Part, ...] = (*with_frame_labels(images), TextPart(text))
        user = Message("user", parts)
        writer = None
        if self.store is not None:
            if self.conversation_id is None:
                self.conversation_id = self.store.create_conversation(model=self.model_label)
            self.store.add_user_message(self.conversation_id, text, images)
            writer = self.store.start_answer(
                self.conversation_id, self.model_label, self.backend.capabilities.backend
            )
        result.conversation_id = self.conversation_id
        self.messages.append(user)
        chunks: list[str] = []
        try:
            for event in self.backend.stream(self.messages, params or GenParams(), cancel):
                if isinstance(event, Usage):
                    result.usage = event
                    yield event
                    continue
                if isinstance(event, Progress):
                    yield event
                    continue
                # Models often open with a space ("▁The"); nobody wants to see it.
                text = event if chunks else event.lstrip()
                if not text:
                    continue
                chunks.append(text)
                result.text += text
                if writer is not None:
                    writer.append(text)
                yield text
        except BaseException as exc:
            if not chunks:
                self.messages.pop()
            else:
                self.messages.append(Message.text("assistant", "".join(chunks)))
            if writer is not None:
                stopped = isinstance(exc, KeyboardInterrupt | GeneratorExit)
                writer.finish(
                    Usage(
                        finish_reason="cancelled" if stopped else "error",
                        error=str(exc) or type(exc).__name__,
                    )
                )
            raise
        self.messages.append(Message.text("assistant", result.text))
        if writer is not None:
            writer.finish(result.usage)
            cost = turn_cost(self.backend.capabilities.backend, result.usage)
            if cost:
                writer.set_cost(cost)
