"""Turn a conversation into the prompt text the model was trained on.

The template comes from the GGUF itself (``tokenizer.chat_template``), so a
model is prompted the way its authors intended. Each image becomes the mtmd
media marker inside its message's text, where the template puts the content;
mtmd later splits the prompt there and inserts the image's embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from models.conversation import ImagePart, Message, TextPart
from models.errors import ModelError
from models.llamacpp.builtin_templates import apply_builtin, builtin_names
from models.llamacpp.prepared_images import MEDIA_MARKER

LLAVA_15_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n"
    "{% elif message['role'] == 'user' %}USER: {{ message['content'] }}\n"
    "{% else %}ASSISTANT: {{ message['content'] }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
"""Used when a GGUF carries no template: the LLaVA-1.5 convention most vision GGUFs follow."""


Content = str | list[dict[str, str]]
"""A message's content as a template sees it: one string, or a list of typed parts."""


def message_content(message: Message, *, typed: bool) -> Content:
    """The message as a template expects it; each image is the media marker.

    As one string, each marker stands on its own line. As typed parts (what
    templates that iterate ``message['content']`` need), each image is a text
    part holding the marker, as llama.cpp's server renders them.
    """
    if typed:
        return [
            {"type": "text", "text": MEDIA_MARKER if isinstance(p, ImagePart) else p.text}
            for p in message.parts
        ]
    pieces: list[str] = []
    for part in message.parts:
        if isinstance(part, ImagePart):
            pieces.append(MEDIA_MARKER + "\n")
        elif isinstance(part, TextPart):
            pieces.append(part.text)
    return "".join(pieces)


_PROBE_TEXTS = ("qzx probe question", "qzx probe answer", "qzx probe again")


def _probe(typed: bool) -> list[dict[str, Any]]:
    """A short conversation with an image, to see which content shape a template renders."""
    question, answer, again = _PROBE_TEXTS
    first: Content = (
        [{"type": "text", "text": MEDIA_MARKER}, {"type": "text", "text": question}]
        if typed
        else f"{MEDIA_MARKER}\n{question}"
    )
    return [
        {"role": "user", "content": first},
        {"role": "assistant", "content": [{"type": "text", "text": answer}] if typed else answer},
        {"role": "user", "content": [{"type": "text", "text": again}] if typed else again},
    ]


def _raise(message: str) -> NoReturn:
    raise jinja2.TemplateError(message)


class ChatTemplate:
    def __init__(
        self, source: str, *, bos_token: str, eos_token: str, add_bos: bool, model_name: str
    ) -> None:
        self._builtin = source.strip() if source.strip() in builtin_names() else None
        """A llama.cpp template name (``vicuna``) in place of Jinja."""
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
        )
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise ModelError(f"the chat template of {model_name} is invalid: {exc}") from exc
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self._add_bos = add_bos
        self._model_name = model_name
        self.typed_content = not self._keeps_probe(typed=False) and self._keeps_probe(typed=True)
        """Whether this template iterates content as typed parts (SmolVLM2's does)."""

    def _keeps_probe(self, *, typed: bool) -> bool:
        try:
            text = self._render_dicts(_probe(typed))
        except jinja2.TemplateError:
            return False
        return MEDIA_MARKER in text and all(t in text for t in _PROBE_TEXTS)

    def _render_dicts(self, messages: list[dict[str, Any]]) -> str:
        if self._builtin is not None:
            if any(not isinstance(m["content"], str) for m in messages):
                raise jinja2.TemplateError("llama.cpp's named templates take text content")
            return apply_builtin(self._builtin, [(m["role"], m["content"]) for m in messages])
        return self._template.render(
            messages=messages,
            add_generation_prompt=True,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            raise_exception=_raise,
            strftime_now=lambda fmt: datetime.now().strftime(fmt),
        )

    def render(self, messages: Sequence[Message]) -> str:
        """Prompt text ending with the assistant's cue, holding every image and question.

        A leading BOS is left to the tokenizer, but only where the vocabulary
        adds one: otherwise the template's first token (SmolLM's
        ``<|im_start|>``) would be lost.
        """
        shaped = [
            {"role": m.role, "content": message_content(m, typed=self.typed_content)}
            for m in messages
        ]
        try:
            text = self._render_dicts(shaped)
        except jinja2.TemplateError as exc:
            raise ModelError(f"the chat template of {self._model_name} failed: {exc}") from exc
        self._check_complete(messages, text)
        if self._add_bos and self.bos_token and text.startswith(self.bos_token):
            text = text[len(self.bos_token) :]
        return text

    def _check_complete(self, messages: Sequence[Message], text: str) -> None:
        """Never a silent empty prompt: every image and every question must be in it."""
        images = sum(len(m.images) for m in messages)
        if text.count(MEDIA_MARKER) != images:
            raise ModelError(
                f"the chat template of {self._model_name} dropped or repeated an image "
                f"({text.count(MEDIA_MARKER)} markers for {images} images)"
            )
        for m in messages:
            asked = m.joined_text.strip()
            if m.role == "user" and asked and asked not in text:
                raise ModelError(
                    f"the chat template of {self._model_name} dropped a message "
                    f"({asked[:40]!r} is not in the prompt)"
                )
