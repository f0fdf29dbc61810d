"""How much of the KV cache a new prompt keeps: the rules, without a model."""

from __future__ import annotations

from models.llamacpp.sequence import (
    ImageUnit,
    n_positions,
    n_tokens,
    respelled_prefix,
    reusable_prefix,
)

PIECES = {1: b"<s>", 2: b"USER:", 3: b" a", 4: b" cat", 5: b" ca", 6: b"t", 7: b"</s>", 8: b"?"}
IMG = ImageUnit("abc", n_tokens=16, n_pos=16)


def piece(token: int) -> bytes:
    return PIECES[token]


def test_an_image_counts_all_its_positions() -> None:
    assert n_positions([1, IMG, 2]) == 18
    assert n_tokens([1, IMG, 2]) == 18
    assert n_positions([ImageUnit("q", 100, 4)]) == 4


def test_the_last_prompt_unit_is_always_evaluated() -> None:
    assert reusable_prefix([1, IMG, 2], [1, IMG, 2]) == 2
    assert reusable_prefix([], [1]) == 0


def test_a_different_image_ends_the_shared_prefix() -> None:
    assert reusable_prefix([1, IMG, 2, 3], [1, ImageUnit("other", 16, 16), 2, 3]) == 1


def test_a_generated_answer_spelled_differently_is_still_reused() -> None:
    cached = [1, IMG, 2, 3, 5, 6]  # the model generated " ca" + "t"
    prompt = [1, IMG, 2, 3, 4, 7, 2, 8]  # the next prompt spells " cat", then more
    assert reusable_prefix(cached, prompt) == 4
    assert respelled_prefix(cached, prompt, piece) == (6, 5)


def test_respelling_stops_where_the_text_differs() -> None:
    cached = [1, 2, 3, 5]
    prompt = [1, 2, 3, 4, 8]
    assert respelled_prefix(cached, prompt, piece) == (3, 3)


def test_the_templates_space_after_the_role_tag_is_allowed() -> None:
    pieces = {**PIECES, 10: b":", 11: b"cat", 12: b" cat", 13: b" ca"}
    cached = [1, 10, 11]  # generated "cat" right after "ASSISTANT:"
    prompt = [1, 10, 12, 7, 8]  # the template wrote ": cat</s>?"
    assert respelled_prefix(cached, prompt, pieces.__getitem__) == (3, 3)
    assert respelled_prefix([1, 10, 13], prompt, pieces.__getitem__) == (2, 2)


def test_a_trimmed_leading_space_is_allowed_too() -> None:
    pieces = {**PIECES, 10: b"\n", 11: b"cat", 12: b" cat"}
    cached = [1, 10, 12, 3]  # generated " cat a"
    prompt = [1, 10, 11, 3, 7, 8]  # stored trimmed: "cat a</s>?"
    assert respelled_prefix(cached, prompt, pieces.__getitem__) == (4, 4)


def test_matching_resumes_after_an_image_that_follows_a_respelled_answer() -> None:
    img_b = ImageUnit("def", n_tokens=9, n_pos=3)
    # Turn 3 of a conversation whose second image came in turn 2: both earlier answers
    # were generated as " ca" + "t" and are now spelled " cat" by the template.
    cached = [1, IMG, 2, 3, 5, 6, 2, img_b, 2, 3, 5, 6]
    prompt = [1, IMG, 2, 3, 4, 2, img_b, 2, 3, 4, 2, 8]
    assert respelled_prefix(cached, prompt, piece) == (12, 10)


def test_a_different_image_after_a_respelled_answer_ends_the_match() -> None:
    cached = [1, IMG, 2, 3, 5, 6, 2, ImageUnit("old", 9, 3), 2]
    prompt = [1, IMG, 2, 3, 4, 2, ImageUnit("new", 9, 3), 2, 8]
    assert respelled_prefix(cached, prompt, piece) == (7, 6)


def test_text_that_differs_before_the_next_image_ends_the_match() -> None:
    cached = [1, IMG, 2, 3, 5, 6, 8, IMG, 2]
    prompt = [1, IMG, 2, 3, 4, 2, IMG, 2, 8]
    assert respelled_prefix(cached, prompt, piece) == (6, 5)
