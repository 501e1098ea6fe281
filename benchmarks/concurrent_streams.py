"""Many concurrent ``ChatVLLM.astream`` calls on one event loop, over grpc:// and http://.

Why: an async app serves many users from one loop, and every stream must complete with the
right reply however many share it (over gRPC they all share one HTTP/2 connection; over HTTP
each has its own). The replay servers (child processes) carry the same reply on both wires, so
the wall time, client CPU and error count are the client's. Each stream's reasoning, content
and usage are checked: a wrong reply counts as an error, as does an exception.

    .venv/bin/python benchmarks/concurrent_streams.py [--streams 256] [--tokens 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from replay import MODEL, Generation, model_dir, recorded_generation, replay_server, whole_message

from vllm_integrations.langchain import ChatVLLM

PROMPT = "hi"


async def one_stream(chat: ChatVLLM, generation: Generation) -> int:
    """One whole stream, checked; returns its output tokens."""
    message = whole_message([chunk async for chunk in chat.astream(PROMPT)])
    usage = message.usage_metadata
    if (
        message.additional_kwargs.get("reasoning_content") != generation.reasoning
        or message.text != generation.content
        or usage is None
        or usage["output_tokens"] != len(generation.token_ids)
    ):
        raise AssertionError("the reply differs from the recorded one")
    return usage["output_tokens"]


async def one_round(chat: ChatVLLM, generation: Generation, streams: int) -> dict[str, Any]:
    """``streams`` streams at once on this loop: wall time, client CPU, errors, tokens."""
    wall, cpu = time.perf_counter(), time.process_time()
    tasks = [one_stream(chat, generation) for _ in range(streams)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tokens = sum(r for r in results if isinstance(r, int))
    errors = [r for r in results if isinstance(r, BaseException)]
    first_error = f"{type(errors[0]).__name__}: {errors[0]}" if errors else None
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "tokens": tokens,
        "errors": len(errors),
        "first_error": first_error,
    }


async def measure(url: str, generation: Generation, streams: int, repeats: int) -> dict[str, Any]:
    """Median of ``repeats`` rounds, after one warm-up stream (setup, tokenizer, connection)."""
    chat = ChatVLLM(model=MODEL, base_url=url)
    await one_stream(chat, generation)
    rounds = [await one_round(chat, generation, streams) for _ in range(repeats)]
    wall = statistics.median(r["wall_s"] for r in rounds)
    return {
        "transport": url.split(":", 1)[0],
        "streams": streams,
        "wall_s": wall,
        "cpu_s": statistics.median(r["cpu_s"] for r in rounds),
        "tokens": rounds[0]["tokens"],
        "tokens_per_s": statistics.median(r["tokens"] / r["wall_s"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "first_error": next((r["first_error"] for r in rounds if r["first_error"]), None),
        "rounds": rounds,
    }


def run(directory: Path, streams: int, tokens: int, repeats: int) -> list[dict[str, Any]]:
    generation = recorded_generation(directory, tokens)
    rows = []
    for kind in ("grpc", "http"):  # one server at a time
        with replay_server(kind, tokens, directory) as url:
            rows.append(asyncio.run(measure(url, generation, streams, repeats)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=256, help="concurrent streams per round")
    parser.add_argument("--tokens", type=int, default=200, help="generated tokens per stream")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per transport")
    parser.add_argument("--model-dir", help="tiny model directory (default: the built cache)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows = run(model_dir(args.model_dir), args.streams, args.tokens, args.repeats)
    if args.json:
        print(json.dumps({"repeats": args.repeats, "results": rows}, indent=2))
        return
    print(f"{args.streams} concurrent streams of {args.tokens} tokens, median of {args.repeats}")
    print(
        f"{'transport':<10} {'wall s':>8} {'CPU s':>8} {'tokens':>8} {'tokens/s':>9} {'errors':>6}"
    )
    for row in rows:
        print(
            f"{row['transport']:<10} {row['wall_s']:>8.2f} {row['cpu_s']:>8.2f} "
            f"{row['tokens']:>8} {row['tokens_per_s']:>9.0f} {row['errors']:>6}"
        )
        if row["first_error"]:
            print(f"  first error: {row['first_error']}")


if __name__ == "__main__":
    main()
