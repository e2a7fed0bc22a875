"""Every number in an experiment file has a documented range (docs/config.md); values outside it,
NaN, infinities, booleans and fractions where a count is meant are refused with the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from insider.errors import InsiderError
from insider.experiment.config import load_experiment

BASE = {"name": "ranges", "models": ["mockllm/model"], "grid": [{"conditions": ["blackmail_none-none_none"]}]}
DOCS = Path(__file__).parent.parent / "docs" / "config.md"


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(BASE) + text)
    return load_experiment(path)


@pytest.mark.parametrize(
    "text, key",
    [
        ("samples: 1.0e+29\n", "samples"),  # the example: ended in a MemoryError
        ("samples: 10001\n", "samples"),
        ("samples: 0\n", "samples"),
        ("samples: true\n", "samples"),
        ("samples: 2.5\n", "samples"),
        ("temperature: 99\n", "temperature"),
        ("temperature: .inf\n", "temperature"),
        ("temperature: .nan\n", "temperature"),
        ("temperature: -0.1\n", "temperature"),
        ("max_tokens: 0\n", "max_tokens"),
        ("max_tokens: 1.0e+12\n", "max_tokens"),
        ("seed: -1\n", "seed"),
        ("run: {budget_usd: .inf}\n", "run.budget_usd"),
        ("run: {budget_usd: -1}\n", "run.budget_usd"),
        ("run: {budget_usd: .nan}\n", "run.budget_usd"),
        ("run: {budget_usd: 1.0e+7}\n", "run.budget_usd"),
        ("run: {max_connections: 0}\n", "run.max_connections"),
        ("run: {max_connections: 1.0e+9}\n", "run.max_connections"),
        ("run: {retry_on_error: 1000}\n", "run.retry_on_error"),
        ("run: {timeout: 0}\n", "run.timeout"),
        ("run: {attempt_timeout: .inf}\n", "run.attempt_timeout"),
        ("run: {message_limit: 1}\n", "run.message_limit"),
        ("run: {token_limit: -5}\n", "run.token_limit"),
        ("run: {expected_output_tokens: 0}\n", "run.expected_output_tokens"),
        ("run: {log_buffer: 0}\n", "run.log_buffer"),
        ("run: {batch: 0}\n", "run.batch"),
        ("run: {prices: {mockllm/model: {input: .inf, output: 1}}}\n", "run.prices"),
        ("run: {prices: {mockllm/model: {input: -1, output: 1}}}\n", "run.prices"),
        ("judge: {model: rules, max_attempts: 0}\n", "judge.max_attempts"),
        ("judge: {model: rules, max_attempts: 11}\n", "judge.max_attempts"),
        ("model_args: {mockllm/model: {n_ctx: .nan}}\n", "model_args"),
    ],
)
def test_out_of_range_numbers_are_refused_with_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(InsiderError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'exp.yaml'}: {key}"), message


@pytest.mark.parametrize(
    "text",
    [
        "samples: 10000\n",
        "temperature: 0\n",
        "temperature: 2\n",
        "temperature: null\n",
        "run: {budget_usd: 0}\n",
        "run: {budget_usd: 1000000}\n",
        "run: {batch: true}\n",
        "run: {batch: 500}\n",
        "run: {prices: {mockllm/model: {input: 2, output: 8.5, cache_read: 0.5}}}\n",
        "seed: 42\n",
    ],
)
def test_numbers_at_the_edges_of_their_range_are_accepted(tmp_path: Path, text: str) -> None:
    load(tmp_path, text)


def test_every_numeric_key_documents_its_range() -> None:
    """docs/config.md gives a range for each numeric key the schema bounds."""
    docs = DOCS.read_text()
    for key in ("samples", "temperature", "max_tokens", "seed", "max_connections", "budget_usd", "retry_on_error",
                "retry_attempts", "timeout", "attempt_timeout", "max_retries", "message_limit", "token_limit",
                "expected_output_tokens", "log_buffer", "max_attempts", "batch", "prices"):
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, key
        assert re.search(r"\d[\d,]* *(–|to) *[\d,]+", row), f"no range documented for {key}: {row}"
