"""Token prices: a table in package data (`insider/data/prices.yaml`) that users can override."""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from importlib.resources import files
from typing import Mapping

import yaml
from inspect_ai.model import ModelUsage
from pydantic import BaseModel, ConfigDict, Field


class Price(BaseModel):
    """USD per million tokens (each at most 10,000)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    input: float = Field(strict=True, ge=0, le=10_000)
    output: float = Field(strict=True, ge=0, le=10_000)
    cache_read: float | None = Field(default=None, strict=True, ge=0, le=10_000)

    def cost(
        self, input_tokens: int, output_tokens: int, cache_read_tokens: int = 0, cache_write_tokens: int = 0
    ) -> float:
        """Dollars for one call.

        Token counts follow Inspect's `ModelUsage`: `input_tokens` excludes cached tokens;
        cache reads are billed at the cache-read rate, cache writes at the input rate.
        """
        cache_rate = self.input if self.cache_read is None else self.cache_read
        full_rate = (input_tokens + cache_write_tokens) * self.input
        return (full_rate + cache_read_tokens * cache_rate + output_tokens * self.output) / 1e6


class _Row(Price):
    pattern: str


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str
    batch_discount: dict[str, float]
    models: list[_Row]


@lru_cache(maxsize=1)
def default_table() -> PriceTable:
    text = files("insider").joinpath("data/prices.yaml").read_text(encoding="utf-8")
    return PriceTable.model_validate(yaml.safe_load(text))


def price_for(model: str, overrides: Mapping[str, Mapping[str, float]] | None = None) -> Price | None:
    """The price of an Inspect model name: overrides first (exact name, then pattern), then the table."""
    for key, value in (overrides or {}).items():
        if key == model or fnmatch.fnmatch(model.lower(), key.lower()):
            return Price.model_validate(dict(value))
    for row in default_table().models:
        if fnmatch.fnmatch(model.lower(), row.pattern.lower()):
            return Price(input=row.input, output=row.output, cache_read=row.cache_read)
    return None


def batch_discount(model: str) -> float:
    """Multiplier a provider's batch API applies (1.0 when it has none)."""
    provider = model.split("/", 1)[0]
    return default_table().batch_discount.get(provider, 1.0)


def cost_usd(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    *,
    batch: bool = False,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> float | None:
    """Dollars for a call, or None when the model has no known price.

    `input_tokens` excludes cached tokens, as in Inspect's `ModelUsage`.
    """
    price = price_for(model, overrides)
    if price is None:
        return None
    cost = price.cost(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
    return cost * batch_discount(model) if batch else cost


def usage_cost(model: str, usage: ModelUsage, *, batch: bool = False, overrides: Mapping[str, Mapping[str, float]] | None = None) -> float | None:
    """Dollars for an Inspect `ModelUsage` (None when the model has no known price)."""
    return cost_usd(
        model,
        usage.input_tokens,
        usage.output_tokens,
        usage.input_tokens_cache_read or 0,
        usage.input_tokens_cache_write or 0,
        batch=batch,
        overrides=overrides,
    )
