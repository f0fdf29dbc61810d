"""Every model family the catalog offers works in the embedded engine, as llama.cpp itself answers.

Each test runs on the tiny pair of every family (``family_vlm``): LLaVA 1.5
and 1.6, Qwen2.5-VL, Gemma 3, SmolVLM2, MiniCPM-V 2.6 and Moondream2. Images
are wider than tall so the families that slice or tile really produce several
chunks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import llama_cpp
import pytest
from PIL import Image

from desktop.session import ChatSession
from models.backend import GenParams, Usage
from models.conversation import ImagePart, Message, TextPart
from models.errors import ContextOverflowError
from models.llamacpp import LlamaCppBackend
from models.llamacpp.chat_template import LLAVA_15_TEMPLATE, MEDIA_MARKER, ChatTemplate
from tests.cli_runner import sightline
from tests.conftest import Vlm
from tests.images import image_part
from tests.reference_path import Item, Prompt, Reference, reused_sequence, whole
from tests.tiny_families import MOONDREAM2_CT_VICUNA, write_spec

N_CTX = 2048
MAX_TOKENS = 8
NOISE_MARGIN = 0.05
"""Logit gap under which the top-1 token may flip with float rounding alone.

Evaluating a prompt in one pass or as a cached prefix plus the rest splits the
matrix products differently, so logits agree only to float precision; where the
best two tokens are this close, a different pick is noise, not a bug."""


def model_args(vlm: Vlm) -> list[str]:
    return ["--model-path", str(vlm.model), "--mmproj", str(vlm.mmproj)]


def user(text: str, *images: ImagePart) -> Message:
    return Message("user", (*images, TextPart(text)))


def wide(color: tuple[int, int, int]) -> ImagePart:
    """2:1, so LLaVA 1.6, SmolVLM2 and MiniCPM-V split it into an overview and two slices."""
    return image_part(color, (120, 60))


@pytest.fixture
def backend(family_vlm: Vlm) -> Iterator[LlamaCppBackend]:
    b = LlamaCppBackend(family_vlm.model, family_vlm.mmproj, n_ctx=N_CTX, n_threads=2)
    yield b
    b.close()


@pytest.fixture
def reference(family_vlm: Vlm) -> Iterator[Reference]:
    assert family_vlm.mmproj is not None
    ref = Reference(family_vlm.model, family_vlm.mmproj, n_ctx=N_CTX)
    yield ref
    ref.close()


def render(ref: Reference, messages: Sequence[Message]) -> str:
    """The prompt text the engine builds: the GGUF's own template (LLaVA 1.5's where it
    carries none, as Moondream2's does), the vocabulary's BOS/EOS."""
    template = ref.llm.metadata.get("tokenizer.chat_template") or LLAVA_15_TEMPLATE
    bos = ref.piece(llama_cpp.llama_vocab_bos(ref.vocab)).decode()
    eos = ref.piece(llama_cpp.llama_vocab_eos(ref.vocab)).decode()
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(ref.vocab))
    return ChatTemplate(
        template, bos_token=bos, eos_token=eos, add_bos=add_bos, model_name="reference"
    ).render(messages)


def tokenize(ref: Reference, messages: Sequence[Message]) -> Prompt:
    return ref.tokenize(render(ref, messages), [i for m in messages for i in m.images])


def answer(backend: LlamaCppBackend, messages: Sequence[Message]) -> tuple[str, Usage]:
    text = ""
    usage: Usage | None = None
    for event in backend.stream(messages, GenParams(max_tokens=MAX_TOKENS)):
        if isinstance(event, Usage):
            usage = event
        elif isinstance(event, str):
            text += event
    assert usage is not None
    return text, usage


def assert_same_greedy(ref: Reference, expected: list[int], got: str, what: str) -> None:
    """The engine's text equals the reference's tokens, or differs only after a near tie."""
    want = ref.text(expected)
    if got == want:
        return
    for i in range(len(expected)):
        if not got.startswith(ref.text(expected[: i + 1])):
            margin = ref.margins[i]
            assert margin < NOISE_MARGIN, (
                f"{what}: token {i} differs with a top-1 margin of {margin:.3f} "
                f"(engine {got!r}, llama.cpp {want!r})"
            )
            return
    pytest.fail(f"{what}: engine {got!r} is longer than llama.cpp's {want!r}")


# -- the generators make what each family really makes -------------------------------------


def test_each_family_makes_its_own_chunks_and_answers_in_llama_cpp_itself(
    family_vlm: Vlm, reference: Reference
) -> None:
    """The generator's pair is real: mtmd slices it as the family does and llama.cpp answers."""
    prompt = reference.tokenize(f"{MEDIA_MARKER}\nWhat is this?", [wide((200, 30, 30))])
    images = prompt.image_chunks
    assert images
    assert all(i.n_tokens > 0 for i in images)
    assert len({i.digest for i in images}) == 1, "slices and tiles carry their image's id"
    if family_vlm.family in ("llava-1.6", "smolvlm2", "minicpm-v-2.6"):
        assert len(images) == 3, "an overview and two slices or tiles"
    else:
        assert len(images) == 1
    if family_vlm.family == "qwen2.5-vl":
        assert images[0].n_pos < images[0].n_tokens, "M-RoPE: fewer positions than KV cells"
    else:
        assert all(i.n_pos == i.n_tokens for i in images)
    if family_vlm.family in ("smolvlm2", "minicpm-v-2.6"):
        between = prompt.units.index(images[1]) - prompt.units.index(images[0])
        assert between > 1, "text tokens separate the overview from the slices"
    answer = reference.text(reference.greedy(prompt, MAX_TOKENS))
    assert answer.strip()
    assert answer.isprintable()


# -- answering ----------------------------------------------------------------------------


def test_describe_answers_with_every_family(
    family_vlm: Vlm, cli_env: dict[str, str], tmp_path: Path
) -> None:
    photo = tmp_path / "wide.png"
    Image.new("RGB", (240, 120), (30, 160, 60)).save(photo)
    r = sightline(cli_env, "describe", photo, *model_args(family_vlm), "--max-tokens", "8")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_turn_one_is_what_llama_cpp_itself_answers(
    backend: LlamaCppBackend, reference: Reference
) -> None:
    messages = [user("What is in this picture?", wide((200, 30, 30)))]
    text, usage = answer(backend, messages)
    prompt = tokenize(reference, messages)
    expected = reference.greedy(prompt, MAX_TOKENS)
    assert expected, "the reference answers something"
    assert usage.prompt_tokens == prompt.n_tokens
    assert text == reference.text(expected), "the same chunks in the same batches: bit-exact"


def test_follow_ups_with_reuse_equal_one_pass_over_the_cached_sequence(
    backend: LlamaCppBackend, reference: Reference
) -> None:
    """Turn 2 adds a second image; turns 2 and 3 must be what a fresh context gives for
    exactly the sequence a correct cache holds (this catches position and ordering bugs)."""
    first, second = wide((200, 30, 30)), wide((20, 60, 220))
    turns = [
        user("What is in this picture?", first),
        user("And in this one?", second),
        user("Compare them."),
    ]
    history: list[Message] = []
    cached: list[Item] = []
    previous: Prompt | None = None
    generated: list[int] = []
    for n, question in enumerate(turns, start=1):
        history.append(question)
        text, _ = answer(backend, history)
        prompt = tokenize(reference, history)
        if previous is None:
            sequence: list[Item] | None = whole(prompt)
        else:
            sequence = reused_sequence(cached, previous, generated, prompt, reference.piece)
        assert sequence is not None, f"turn {n}'s prompt does not continue turn {n - 1}'s"
        expected = reference.greedy_units(sequence, MAX_TOKENS)
        assert_same_greedy(reference, expected, text, f"turn {n}")
        cached, previous, generated = sequence, prompt, expected
        history.append(Message.text("assistant", reference.text(expected).lstrip()))


def test_moondream2_as_the_catalog_ships_it_answers(tmp_path: Path) -> None:
    """Its template is a name llama.cpp resolves (``USER: ...\nASSISTANT:``), not Jinja."""
    model, mmproj = write_spec(MOONDREAM2_CT_VICUNA, tmp_path)
    backend = LlamaCppBackend(model, mmproj, n_ctx=N_CTX, n_threads=2)
    try:
        text, _ = answer(backend, [user("What is in this picture?", wide((200, 30, 30)))])
    finally:
        backend.close()
    assert text.strip()


# -- the cache --------------------------------------------------------------------------


def test_a_four_turn_chat_with_a_second_image_evaluates_only_what_is_new(
    family_vlm: Vlm, cli_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (240, 120), (200, 40, 40)).save(a)
    Image.new("RGB", (240, 120), (20, 40, 240)).save(b)
    lines = [
        "what is this?",
        json.dumps({"text": "and this one?", "files": [str(b)]}),
        "compare them",
        "which is brighter?",
    ]
    r = sightline(
        cli_env,
        "chat",
        a,
        *model_args(family_vlm),
        "--json",
        "--max-tokens",
        "6",
        stdin="\n".join(lines) + "\n",
    )
    assert r.returncode == 0, r.stderr
    turns = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(turns) == 4
    assert all(t.get("text", "").strip() for t in turns), turns
    for n in (1, 2, 3):
        assert turns[n]["cached_tokens"] >= turns[n - 1]["prompt_tokens"], (
            f"turn {n + 1} evaluated again what turn {n} had cached: "
            + ", ".join(f"{t['cached_tokens']}/{t['prompt_tokens']}" for t in turns)
        )


def test_each_image_is_encoded_once_in_a_conversation(backend: LlamaCppBackend) -> None:
    session = ChatSession(backend, model_label="tiny")
    params = GenParams(max_tokens=6)
    encodes = []
    questions: list[tuple[str, tuple[ImagePart, ...]]] = [
        ("what is this?", (wide((200, 30, 30)),)),
        ("and this one?", (wide((20, 60, 220)),)),
        ("compare them", ()),
        ("which is brighter?", ()),
    ]
    usages: list[Usage] = []
    for text, images in questions:
        usage = [e for e in session.ask(text, images, params) if isinstance(e, Usage)]
        usages += usage
        encodes.append(backend.stats.image_encodes)
    assert 0 < encodes[0] < encodes[1], "each new image is encoded when it arrives"
    assert encodes[1] - encodes[0] == encodes[0], "the same kind of image, the same chunks"
    assert encodes[3] == encodes[2] == encodes[1], f"an image encoded again: {encodes}"
    for n in (2, 3):
        assert usages[n].cached_tokens >= usages[n - 1].prompt_tokens


# -- the context ------------------------------------------------------------------------


def big(color: tuple[int, int, int]) -> ImagePart:
    """576 KV cells on Qwen2.5-VL (24 x 24 tokens) but only 24 positions."""
    return ImagePart.from_rgb(672, 672, bytes(color) * (672 * 672))


def test_qwen_images_that_overflow_the_context_are_refused_before_any_evaluation(
    vlm_qwen25vl: Vlm,
) -> None:
    backend = LlamaCppBackend(vlm_qwen25vl.model, vlm_qwen25vl.mmproj, n_ctx=N_CTX, n_threads=2)
    try:
        photos = [big((60 * i, 90, 200 - 40 * i)) for i in range(4)]  # 2,304 cells, ~130 positions
        with pytest.raises(ContextOverflowError, match="context"):
            answer(backend, [user("Compare these photos.", *photos)])
        assert backend.stats.image_encodes == 0
        assert backend.stats.prompt_tokens_evaluated == 0
    finally:
        backend.close()


def test_the_cli_says_the_qwen_conversation_does_not_fit(
    vlm_qwen25vl: Vlm, cli_env: dict[str, str], tmp_path: Path
) -> None:
    files = []
    for i in range(8):  # 8 x 576 cells > the 4,096 default context, in about 200 positions
        path = tmp_path / f"page-{i}.png"
        Image.new("RGB", (672, 672), (30 * i, 120, 200 - 20 * i)).save(path)
        files.append(path)
    r = sightline(cli_env, "describe", *files, *model_args(vlm_qwen25vl), "--max-tokens", "4")
    assert r.returncode == 2, r.stderr
    assert "context" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
