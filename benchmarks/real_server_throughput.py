"""Aggregate tokens/s through ChatVLLM from a real vLLM, gRPC vs HTTP, at 1 and 32 streams.

Why: the replay benchmarks measure the client alone; this one measures what a user sees end to
end, the client's decoding and parsing included, with a real engine producing the tokens. It
serves the scripted tiny model (``script("long_story")``: a 423-token greedy reply, reasoning
then the story) from one server at a time, so the two never share the CPU, and reports the
median of repeated rounds; a round is ``C`` concurrent ``ChatVLLM.astream`` calls, and its
tokens/s is all their output tokens over the round's wall time. The server runs from another
Python (``--python``, default ``$VLLM_SERVER_PYTHON``): vLLM lives in its own environment.
Slow and CPU-heavy (each server takes about a minute to start): run it on a quiet machine.

    .venv/bin/python benchmarks/real_server_throughput.py [--python PY] [--concurrency 1 32]
        [--repeats 5] [--json]
    .venv/bin/python benchmarks/real_server_throughput.py --concurrency 1 2 --repeats 1 \
        --max-tokens 32   # a quick check that it runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from replay import whole_message

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SERVED_MODEL_NAME, script, tiny_model_server

SCRIPT = script("long_story")
MESSAGES = [dict(message) for message in SCRIPT.messages]


async def one_stream(chat: ChatVLLM) -> tuple[int, bool]:
    """One reply: its output tokens, and whether it is exactly the scripted one."""
    message = whole_message([c async for c in chat.astream(MESSAGES)])
    exact = (
        message.additional_kwargs.get("reasoning_content") == SCRIPT.reasoning
        and message.text == SCRIPT.content
    )
    usage = message.usage_metadata
    return (usage["output_tokens"] if usage else 0), exact


async def one_round(chat: ChatVLLM, streams: int) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    results = await asyncio.gather(
        *(one_stream(chat) for _ in range(streams)), return_exceptions=True
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    replies = [r for r in results if isinstance(r, tuple)]
    tokens = sum(tokens for tokens, _ in replies)
    return {
        "wall_s": wall,
        "tokens": tokens,
        "tokens_per_s": tokens / wall,
        "client_us_per_token": cpu / tokens * 1e6 if tokens else None,
        "exact_replies": sum(exact for _, exact in replies),
        "errors": len(results) - len(replies),
    }


async def measure(
    url: str, concurrency: list[int], repeats: int, max_tokens: int | None
) -> list[dict[str, Any]]:
    """Median tokens/s at each concurrency, after a warm-up stream."""
    chat = ChatVLLM(model=SERVED_MODEL_NAME, base_url=url, temperature=0, max_tokens=max_tokens)
    await one_stream(chat)
    rows = []
    for streams in concurrency:
        rounds = [await one_round(chat, streams) for _ in range(repeats)]
        cpu = [r["client_us_per_token"] for r in rounds if r["client_us_per_token"] is not None]
        rows.append(
            {
                "transport": url.split(":", 1)[0],
                "streams": streams,
                "tokens_per_s": statistics.median(r["tokens_per_s"] for r in rounds),
                "client_us_per_token": statistics.median(cpu) if cpu else None,
                "tokens_per_round": statistics.median(r["tokens"] for r in rounds),
                "exact_replies": sum(r["exact_replies"] for r in rounds),
                "errors": sum(r["errors"] for r in rounds),
                "rounds": rounds,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], repeats: int) -> None:
    line = "{:<10} {:>7} {:>9} {:>13} {:>6} {:>6}"
    print(f"tokens/s through ChatVLLM from a real vLLM, median of {repeats} rounds")
    print(line.format("transport", "streams", "tokens/s", "client us/tok", "exact", "errors"))
    for row in rows:
        cpu = row["client_us_per_token"]
        print(
            line.format(
                row["transport"],
                row["streams"],
                f"{row['tokens_per_s']:.1f}",
                "-" if cpu is None else f"{cpu:.0f}",
                row["exact_replies"],
                row["errors"],
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--python", default=os.environ.get("VLLM_SERVER_PYTHON"), help="Python with vLLM"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per concurrency")
    parser.add_argument("--max-tokens", type=int, help="cut replies short (quick checks)")
    parser.add_argument(
        "--transports", nargs="+", default=["grpc", "http"], choices=["grpc", "http"]
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for protocol in args.transports:  # one server at a time: they would share the CPU
        with tiny_model_server(protocol, python=args.python) as server:
            rows += asyncio.run(
                measure(server.base_url, args.concurrency, args.repeats, args.max_tokens)
            )
    if args.json:
        report = {"repeats": args.repeats, "max_tokens": args.max_tokens, "results": rows}
        print(json.dumps(report, indent=2))
    else:
        print_table(rows, args.repeats)


if __name__ == "__main__":
    main()
