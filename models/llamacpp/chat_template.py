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

MEDIA_MARKER = "<__media__>"

LLAVA_15_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n"
    "{% elif message['role'] == 'user' %}USER: {{ message['content'] }}\n"
    "{% else %}ASSISTANT: {{ message['content'] }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
"""Used when a GGUF carries no template: the LLaVA-1.5 convention most vision GGUFs follow."""


def message_content(message: Message) -> str:
    """The message as one string, each image as the media marker on its own line."""
    pieces: list[str] = []
    for part in message.parts:
        if isinstance(part, ImagePart):
            pieces.append(MEDIA_MARKER + "\n")
        elif isinstance(part, TextPart):
            pieces.append(part.text)
    return "".join(pieces)


def _raise(message: str) -> NoReturn:
    raise jinja2.TemplateError(message)


class ChatTemplate:
    def __init__(self, source: str, *, bos_token: str, eos_token: str) -> None:
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
        )
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise ModelError(f"the model's chat template is invalid: {exc}") from exc
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token

    def render(self, messages: Sequence[Message]) -> str:
        """Prompt text ending with the assistant's cue; a leading BOS is left to the tokenizer."""
        context: dict[str, Any] = {
            "messages": [{"role": m.role, "content": message_content(m)} for m in messages],
            "add_generation_prompt": True,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "raise_exception": _raise,
            "strftime_now": lambda fmt: datetime.now().strftime(fmt),
        }
        try:
            text = self._template.render(**context)
        except jinja2.TemplateError as exc:
            raise ModelError(f"the model's chat template failed: {exc}") from exc
        if self.bos_token and text.startswith(self.bos_token):
            text = text[len(self.bos_token) :]
        return text
