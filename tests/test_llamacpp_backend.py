"""The embedded llama.cpp backend, on real tiny random-weight models."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.backend import Backend, GenParams, Progress, Usage
from models.conversation import ImagePart, Message, TextPart
from models.errors import ContextOverflowError, ModelError
from models.llamacpp import LlamaCppBackend
from tests.images import image_part


def run(backend: Backend, messages: list[Message], **params: Any) -> tuple[str, Usage]:
    text = ""
    usage: Usage | None = None
    for event in backend.stream(messages, GenParams(**{"max_tokens": 12, **params})):
        if isinstance(event, Usage):
            usage = event
        elif isinstance(event, str):
            text += event
    assert usage is not None
    return text, usage


def user(text: str, *images: ImagePart) -> Message:
    return Message("user", (*images, TextPart(text)))


@pytest.fixture(params=["vlm_a", "vlm_b"])
def backend(request: pytest.FixtureRequest) -> Iterator[LlamaCppBackend]:
    vlm = request.getfixturevalue(request.param)
    b = LlamaCppBackend(vlm.model, vlm.mmproj, n_ctx=2048, n_threads=2)
    yield b
    b.close()


def test_describing_an_image_streams_printable_text(backend: LlamaCppBackend) -> None:
    text, usage = run(backend, [user("What is this?", image_part((200, 30, 30)))])
    assert text.strip()
    assert text.isprintable()
    assert usage.finish_reason == "length"
    assert usage.completion_tokens == 12
    assert usage.prompt_tokens > usage.cached_tokens == 0
    assert usage.ttft_ms > 0
    assert usage.tokens_per_s > 0
    assert backend.capabilities.vision
    assert backend.stats.image_encodes == 1


def test_a_follow_up_question_reuses_the_image_and_the_history(backend: LlamaCppBackend) -> None:
    photo = image_part((10, 120, 200))
    history = [user("Describe the picture.", photo)]
    answer, first = run(backend, history)
    history += [Message.text("assistant", answer.lstrip()), user("Why?")]
    evaluated_before = backend.stats.prompt_tokens_evaluated
    _, second = run(backend, history)
    assert second.cached_tokens >= first.prompt_tokens + 1
    evaluated = backend.stats.prompt_tokens_evaluated - evaluated_before
    assert evaluated == second.prompt_tokens - second.cached_tokens
    assert evaluated < 20, "only the new question: the 12 answer tokens stay in the cache"
    history += [Message.text("assistant", "blue"), user("Anything else?")]
    _, third = run(backend, history)
    assert third.cached_tokens >= second.prompt_tokens
    assert backend.stats.image_encodes == 1


def test_every_turn_evaluates_only_what_is_new_with_images_in_several_turns(
    backend: LlamaCppBackend,
) -> None:
    history = [user("What is this?", image_part((200, 10, 10)))]
    usages: list[Usage] = []
    for follow_up in (
        user("And this one?", image_part((10, 200, 10), (48, 64))),
        user("Compare them."),
        user("Which is brighter?"),
        None,
    ):
        answer, usage = run(backend, history, max_tokens=6)
        usages.append(usage)
        if follow_up is not None:
            history += [Message.text("assistant", answer.strip()), follow_up]
    for before, after in itertools.pairwise(usages):
        assert after.cached_tokens >= before.prompt_tokens
    assert backend.stats.image_encodes == 2


def test_each_new_image_is_announced_before_it_is_encoded(backend: LlamaCppBackend) -> None:
    first, second = image_part((10, 200, 10)), image_part((200, 10, 200))
    history = [user("Compare these.", first, second)]
    events = list(backend.stream(history, GenParams(max_tokens=4)))
    progress = [e for e in events if isinstance(e, Progress)]
    assert [str(p) for p in progress] == ["encoding image 1 of 2", "encoding image 2 of 2"]
    text_at = next((i for i, e in enumerate(events) if isinstance(e, str)), len(events))
    assert all(events.index(p) < text_at for p in progress)
    answer = "".join(e for e in events if isinstance(e, str))
    history += [Message.text("assistant", answer), user("And this one?", image_part((1, 2, 3)))]
    again = [
        str(e) for e in backend.stream(history, GenParams(max_tokens=4)) if isinstance(e, Progress)
    ]
    assert again == ["encoding image 1 of 1"]  # the first two are in the cache


def test_editing_an_earlier_question_keeps_only_the_shared_prefix(backend: LlamaCppBackend) -> None:
    photo = image_part((90, 90, 20))
    answer, _ = run(backend, [user("First question about it.", photo)])
    run(
        backend,
        [user("First question about it.", photo), Message.text("assistant", answer), user("More?")],
    )
    _, edited = run(backend, [user("A different first question.", photo)])
    assert 0 < edited.cached_tokens < edited.prompt_tokens
    assert backend.stats.image_encodes == 1, "the image comes before the edit, so it is kept"
    run(backend, [user("A different first question.", image_part((1, 2, 3)))])
    assert backend.stats.image_encodes == 2, "a new image is encoded"


def test_the_same_question_gets_the_same_answer(backend: LlamaCppBackend) -> None:
    photo = image_part((5, 5, 5))
    a, _ = run(backend, [user("Say something.", photo)])
    b, _ = run(backend, [user("Something else first.")])
    c, _ = run(backend, [user("Say something.", photo)])
    assert a == c
    assert b


def test_cancel_stops_within_a_token_keeps_the_partial_and_the_backend_usable(
    backend: LlamaCppBackend,
) -> None:
    cancel = threading.Event()
    chunks: list[str] = []
    usage = None
    history = [user("Go on at length.", image_part((0, 0, 0)))]
    for event in backend.stream(history, GenParams(max_tokens=500), cancel):
        if isinstance(event, Usage):
            usage = event
        elif isinstance(event, str):
            chunks.append(event)
            if len(chunks) == 3:
                cancel.set()
    assert usage is not None
    assert usage.finish_reason == "cancelled"
    assert usage.completion_tokens in (3, 4)
    history += [Message.text("assistant", "".join(chunks)), user("And then?")]
    text, after = run(backend, history)
    assert text
    assert after.cached_tokens > 0
    assert backend.stats.image_encodes == 1


def test_closing_the_stream_midway_leaves_the_backend_usable(backend: LlamaCppBackend) -> None:
    history = [user("Talk.", image_part((50, 50, 50)))]
    stream = backend.stream(history, GenParams(max_tokens=100))
    next(stream)
    stream.close()
    text, usage = run(backend, history)
    assert text
    assert usage.cached_tokens > 0


def test_an_empty_answer_is_an_answer(vlm_empty: Any) -> None:
    b = LlamaCppBackend(vlm_empty.model, vlm_empty.mmproj, n_ctx=512, n_threads=1)
    try:
        text, usage = run(b, [user("Anything?", image_part((1, 1, 1)))])
    finally:
        b.close()
    assert text == ""
    assert usage.finish_reason == "stop"
    assert usage.completion_tokens == 0


def test_a_text_only_model_refuses_images_clearly(vlm_text_only: Any) -> None:
    b = LlamaCppBackend(vlm_text_only.model, None, n_ctx=512, n_threads=1)
    try:
        assert not b.capabilities.vision
        with pytest.raises(ModelError, match="cannot see images"):
            run(b, [user("What is this?", image_part((3, 3, 3)))])
        text, _ = run(b, [user("Just text.")])
        assert text
    finally:
        b.close()


def test_a_prompt_longer_than_the_context_is_refused_before_evaluation(vlm_a: Any) -> None:
    b = LlamaCppBackend(vlm_a.model, vlm_a.mmproj, n_ctx=64, n_threads=1)
    try:
        with pytest.raises(ContextOverflowError, match=r"needs [\d,]+ tokens .* context of \d+"):
            run(b, [user("word " * 200, image_part((9, 9, 9)))])
        assert b.stats.prompt_tokens_evaluated == 0
        assert b.stats.image_encodes == 0
    finally:
        b.close()


def test_json_fields_force_a_valid_object(backend: LlamaCppBackend) -> None:
    text, _ = run(
        backend,
        [user("Extract.", image_part((200, 200, 200)))],
        max_tokens=400,
        json_fields=("title", "total amount"),
    )
    data = json.loads(text)
    assert list(data) == ["title", "total amount"]


def test_stop_strings_end_the_answer_without_showing_them(backend: LlamaCppBackend) -> None:
    full, _ = run(backend, [user("Speak.", image_part((7, 70, 7)))], max_tokens=30)
    stop = full[10:13]
    assert stop.strip()
    cut, usage = run(backend, [user("Speak.", image_part((7, 70, 7)))], max_tokens=30, stop=(stop,))
    assert cut == full[: full.index(stop)]
    assert usage.finish_reason == "stop"


def test_llama_cpp_prints_nothing_on_the_terminal(
    vlm_a: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    b = LlamaCppBackend(vlm_a.model, vlm_a.mmproj, n_ctx=512, n_threads=1)
    try:
        run(b, [user("Quiet please.", image_part((4, 4, 4)))])
    finally:
        b.close()
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_bad_model_files_are_named_with_the_reason(tmp_path: Path, vlm_a: Any, vlm_b: Any) -> None:
    from tests.tinyvlm import write_not_gguf, write_truncated_copy

    not_gguf = tmp_path / "photo.gguf"
    write_not_gguf(not_gguf)
    with pytest.raises(ModelError, match=r"photo\.gguf: not a GGUF"):
        LlamaCppBackend(not_gguf, None)

    truncated = tmp_path / "cut.gguf"
    write_truncated_copy(vlm_a.model, truncated)
    with pytest.raises(ModelError, match=r"cut\.gguf: the GGUF file is truncated"):
        LlamaCppBackend(truncated, vlm_a.mmproj)

    with pytest.raises(ModelError, match="does not match the text model's embedding size"):
        LlamaCppBackend(vlm_a.model, vlm_b.mmproj)

    with pytest.raises(ModelError, match="not a CLIP vision projector"):
        LlamaCppBackend(vlm_a.model, vlm_b.model)

    with pytest.raises(ModelError, match=r"vision projector .mmproj., not a text model"):
        LlamaCppBackend(vlm_a.mmproj, None)


@pytest.mark.parametrize("name", ["vlm_a", "vlm_b"])
def test_images_prepared_once_give_the_same_prompt_as_mtmd_over_the_whole_text(
    request: pytest.FixtureRequest, name: str
) -> None:
    from models.llamacpp.sequence import ImageUnit
    from tests.reference_path import ImageChunk, Reference

    vlm = request.getfixturevalue(name)
    backend = LlamaCppBackend(vlm.model, vlm.mmproj, n_ctx=2048, n_threads=2)
    reference = Reference(vlm.model, vlm.mmproj)
    try:
        a, b = image_part((200, 10, 10)), image_part((10, 200, 10), (48, 64))
        messages = [
            user("What is this?", a),
            Message.text("assistant", "A red thing."),
            user("And these two?", b, a),
        ]
        whole = reference.tokenize(backend.chat_template.render(messages), [a, b, a]).units
        expected = [
            ImageUnit(u.digest, u.n_tokens, u.n_pos) if isinstance(u, ImageChunk) else u
            for u in whole
        ]
        assert backend.prompt_units(messages) == expected
    finally:
        reference.close()
        backend.close()


def test_each_image_is_prepared_once_however_many_turns_hold_it(backend: LlamaCppBackend) -> None:
    history = [user("What is this?", image_part((1, 2, 3)), image_part((3, 2, 1)))]
    for question in ("Why?", "Where?", "When?"):
        answer, _ = run(backend, history, max_tokens=4)
        history += [Message.text("assistant", answer.strip()), user(question)]
    assert backend.stats.image_preparations == 2


def test_regenerate_and_edit_keep_every_image_of_the_shared_prefix(
    backend: LlamaCppBackend,
) -> None:
    history = [user("What is this?", image_part((200, 10, 10)))]
    answer, _ = run(backend, history, max_tokens=6)
    history += [Message.text("assistant", answer.strip()), user("And this?", image_part((9, 9, 9)))]
    answer, second = run(backend, history, max_tokens=6)
    history += [Message.text("assistant", answer.strip()), user("Compare them.")]
    _, third = run(backend, history, max_tokens=6)
    _, regenerated = run(backend, history, max_tokens=6, temperature=0.8, seed=7)
    assert regenerated.cached_tokens >= third.cached_tokens
    edited = [*history[:-1], user("Which one is darker?")]
    _, edit = run(backend, edited, max_tokens=6)
    assert edit.cached_tokens >= second.prompt_tokens
    assert backend.stats.image_encodes == 2
