"""llama.cpp's own named chat templates, for GGUFs whose template is a name, not Jinja.

Some published GGUFs set ``tokenizer.chat_template`` to the name of one of
llama.cpp's built-in formats (ggml-org's Moondream2 file says ``vicuna``).
Rendered as Jinja that name is just the text "vicuna": no question and no
image. llama.cpp resolves such names itself, so they are rendered with its
own ``llama_chat_apply_template``, exactly as its tools render them.
"""

from __future__ import annotations

import ctypes
from functools import cache

import llama_cpp


@cache
def builtin_names() -> frozenset[str]:
    count = llama_cpp.llama_chat_builtin_templates(None, 0)
    names = (ctypes.c_char_p * max(1, count))()
    llama_cpp.llama_chat_builtin_templates(names, count)
    return frozenset(n.decode() for n in names[:count] if n)


def apply_builtin(name: str, messages: list[tuple[str, str]]) -> str:
    """Render ``(role, content)`` pairs with llama.cpp's template ``name``, ending on the cue."""
    chat = (llama_cpp.llama_chat_message * max(1, len(messages)))()
    keep = [(role.encode(), content.encode()) for role, content in messages]
    for slot, (role, content) in zip(chat, keep, strict=False):
        slot.role, slot.content = role, content
    size = 256 + sum(len(c) + len(r) for r, c in keep) * 2
    for _ in range(2):
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_chat_apply_template(name.encode(), chat, len(keep), True, buf, size)
        if n < 0:
            raise ValueError(f"llama.cpp does not know the chat template {name!r}")
        if n <= size:
            return buf.raw[:n].decode("utf-8", errors="replace")
        size = n + 1
    raise ValueError(f"llama.cpp's template {name!r} kept growing")
