"""Conversations become the prompt text each model family's own template expects."""

from __future__ import annotations

import pytest

from models.conversation import Message, TextPart
from models.errors import ModelError
from models.llamacpp.chat_template import LLAVA_15_TEMPLATE, ChatTemplate
from models.llamacpp.prepared_images import MEDIA_MARKER
from tests.images import image_part
from tests.tinyvlm import CHATML_TEMPLATE

SMOLVLM2_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
"""SmolVLM2's template as its GGUF carries it: content is a list of typed parts."""


def template(source: str, *, bos: str = "<s>", add_bos: bool = True) -> ChatTemplate:
    return ChatTemplate(source, bos_token=bos, eos_token="</s>", add_bos=add_bos, model_name="m")


def conversation() -> list[Message]:
    return [
        Message("user", (image_part((1, 2, 3)), TextPart("What is in the picture?"))),
        Message.text("assistant", "A red square."),
        Message("user", (TextPart("And this one?"), image_part((9, 9, 9)))),
    ]


def test_a_template_that_iterates_typed_parts_gets_them() -> None:
    t = template(SMOLVLM2_TEMPLATE, bos="<|im_start|>", add_bos=False)
    assert t.typed_content
    text = t.render(conversation())
    assert text == (
        f"<|im_start|>User: {MEDIA_MARKER}What is in the picture?<end_of_utterance>\n"
        "Assistant: A red square.<end_of_utterance>\n"
        f"User: And this one?{MEDIA_MARKER}<end_of_utterance>\nAssistant:"
    )


def test_string_templates_keep_getting_strings() -> None:
    t = template(LLAVA_15_TEMPLATE)
    assert not t.typed_content
    text = t.render(conversation())
    assert f"USER: {MEDIA_MARKER}\nWhat is in the picture?" in text
    assert text.count(MEDIA_MARKER) == 2


def test_a_leading_bos_is_kept_where_the_vocabulary_adds_none() -> None:
    chatml = template(CHATML_TEMPLATE, bos="<|im_start|>", add_bos=False)
    assert chatml.render(conversation()).startswith("<|im_start|>system")
    adds_bos = template("{{ bos_token }}" + LLAVA_15_TEMPLATE, bos="<s>", add_bos=True)
    assert adds_bos.render(conversation()).startswith("USER:")


def test_a_template_that_loses_the_question_is_an_error_naming_the_model() -> None:
    lossy = (
        "{% for message in messages %}{{ message['role'] }}: "
        "{% if message['role'] != 'user' or loop.first %}{{ message['content'] }}{% endif %}\n"
        "{% endfor %}"
    )
    t = ChatTemplate(lossy, bos_token="", eos_token="", add_bos=False, model_name="Lossy 1B")
    with pytest.raises(ModelError, match=r"Lossy 1B.*dropped"):
        t.render(conversation())


def test_a_template_that_drops_images_is_an_error_naming_the_model() -> None:
    t = ChatTemplate(
        "{% for m in messages %}{{ m['role'] }}{% endfor %}",
        bos_token="",
        eos_token="",
        add_bos=False,
        model_name="Blind 2B",
    )
    with pytest.raises(ModelError, match=r"Blind 2B.*image"):
        t.render(conversation())


def test_a_template_that_is_a_llama_cpp_name_is_rendered_by_llama_cpp() -> None:
    t = template("vicuna", bos="<|endoftext|>", add_bos=False)
    assert t.render(conversation()) == (
        f"USER: {MEDIA_MARKER}\nWhat is in the picture?\nASSISTANT: A red square.</s>\n"
        f"USER: And this one?{MEDIA_MARKER}\n\nASSISTANT:"
    )
