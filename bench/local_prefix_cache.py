"""How much the 2nd..Nth sample of a condition costs on the embedded model, next to the 1st.

Renders real conditions of the paper pack and sends their system + user messages through
Inspect's `get_model("insider-local/smollm2")`, the way `insider run` does in text mode.
With several conditions the samples go epoch by epoch (every condition once, then every
condition again), which is the order Inspect schedules a task's samples in.

    .venv/bin/python bench/local_prefix_cache.py
    .venv/bin/python bench/local_prefix_cache.py --samples 3 --also blackmail_none-none_replacement
    .venv/bin/python bench/local_prefix_cache.py --no-prefix-cache   # live context reuse only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time

import insider  # noqa: F401  (tiktoken offline before Inspect loads)
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model

from insider.conditions import parse_condition_id
from insider.scenarios import get_pack


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--condition", default="blackmail_explicit-america_replacement")
    parser.add_argument("--also", nargs="*", default=[], help="more conditions, interleaved epoch by epoch")
    parser.add_argument("--samples", type=int, default=4, help="samples per condition")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--no-prefix-cache", action="store_true", help="no saved states (cache_prompt=false)")
    parser.add_argument("--no-flash-attn", action="store_true")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    load_at_start = os.getloadavg()[0]
    pack = get_pack("paper")
    condition_ids = [args.condition, *args.also]
    prompts = {}
    for condition_id in condition_ids:
        rendered = pack.render(parse_condition_id(condition_id))
        prompts[condition_id] = [ChatMessageSystem(content=rendered.system), ChatMessageUser(content=rendered.user)]

    started = time.monotonic()
    model = get_model("insider-local/smollm2", flash_attn=not args.no_flash_attn)
    print(f"model loaded in {time.monotonic() - started:.2f} s "
          f"(n_ctx {model.api.local.n_ctx}, threads {model.api.local.llama.n_threads})")
    config = GenerateConfig(max_tokens=args.max_tokens, temperature=1.0, cache_prompt=not args.no_prefix_cache)

    wall: dict[str, list[float]] = {condition_id: [] for condition_id in condition_ids}
    cpu: dict[str, list[float]] = {condition_id: [] for condition_id in condition_ids}
    for epoch in range(1, args.samples + 1):
        for condition_id, messages in prompts.items():
            started, cpu_started = time.monotonic(), time.process_time()
            output = await model.generate(messages, config=config)
            wall[condition_id].append(time.monotonic() - started)
            cpu[condition_id].append(time.process_time() - cpu_started)
            usage = output.usage
            assert usage is not None and output.metadata is not None
            print(f"{condition_id} sample {epoch}: {wall[condition_id][-1]:6.2f} s ({cpu[condition_id][-1]:6.2f} s CPU)  "
                  f"prompt {output.input_context_tokens} (computed {usage.input_tokens}, reused "
                  f"{usage.input_tokens_cache_read} from {output.metadata['prefix_source']})  output {usage.output_tokens}")

    print()
    for condition_id in condition_ids:
        for label, seconds in (("wall", wall[condition_id]), ("CPU", cpu[condition_id])):
            first, later = seconds[0], statistics.mean(seconds[1:]) if len(seconds) > 1 else float("nan")
            print(f"{condition_id} ({label}): first {first:.2f} s, later {later:.2f} s (mean of "
                  f"{len(seconds) - 1}), ratio {later / first:.3f} (target <= 0.3)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}, "
          f"Python {platform.python_version()}; load average at start {load_at_start:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


if __name__ == "__main__":
    asyncio.run(main())
