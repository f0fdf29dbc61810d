"""What a cloud turn costs, from the price table and the provider's own token counts."""

from __future__ import annotations

import pytest

from models.backend import Usage
from models.cloud.pricing import context_length, cost_usd, image_tokens, price_for


def test_a_turn_costs_its_prompt_and_answer_tokens_at_list_price() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=100_000)
    # gpt-4.1: $2.00 in, $8.00 out per million.
    assert cost_usd("openai:gpt-4.1", usage) == pytest.approx(2.00 + 0.80)


def test_prompt_tokens_served_from_the_providers_cache_cost_less() -> None:
    usage = Usage(prompt_tokens=1_000_000, cached_tokens=600_000, completion_tokens=0)
    # claude-haiku-4-5: $1.00 in, $0.10 cached.
    assert cost_usd("anthropic:claude-haiku-4-5", usage) == pytest.approx(0.40 + 0.06)


def test_a_dated_snapshot_is_priced_as_its_family() -> None:
    assert price_for("anthropic:claude-haiku-4-5-20251001") == price_for(
        "anthropic:claude-haiku-4-5"
    )
    assert price_for("openai:gpt-4o-mini-2024-07-18") == price_for("openai:gpt-4o-mini")
    assert price_for("openai:gpt-4o-2024-08-06") == price_for("openai:gpt-4o")


def test_a_model_missing_from_the_table_has_no_price_rather_than_a_wrong_one() -> None:
    assert cost_usd("openai:some-future-model", Usage(prompt_tokens=10)) is None
    assert context_length("openai:some-future-model") == 128_000


def test_a_stream_that_died_before_reporting_usage_is_estimated_from_its_images() -> None:
    usage = Usage(prompt_tokens=0, completion_tokens=0, finish_reason="error")
    # gpt-4o, 1024x1024 at high detail: 4 tiles, 765 tokens at $2.50 per million.
    assert cost_usd("openai:gpt-4o", usage, [(1024, 1024)]) == pytest.approx(765 * 2.5e-6)


@pytest.mark.parametrize(
    ("model", "size", "tokens"),
    [
        ("openai:gpt-4o", (1024, 1024), 765),  # the documented worked examples
        ("openai:gpt-4o", (2048, 4096), 1105),
        ("openai:gpt-4.1-mini", (1024, 1024), 1659),  # 1024 patches x 1.62
        ("anthropic:claude-haiku-4-5", (1000, 1000), 1334),  # w*h/750
        ("gemini:gemini-2.5-flash", (384, 300), 258),
        ("gemini:gemini-2.5-flash", (1000, 700), 516),  # 2x1 tiles of 768
    ],
)
def test_image_token_rules_follow_the_providers_documentation(
    model: str, size: tuple[int, int], tokens: int
) -> None:
    price = price_for(model)
    assert price is not None
    assert image_tokens(price.image_rule, *size) == tokens
