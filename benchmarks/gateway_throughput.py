"""Tokens/s and time to first token through four front doors of one tiny model, alternating.

Why: smg puts the OpenAI API (SSE) in front of vLLM's gRPC workers, so any OpenAI client can use
them; this measures what that costs or saves against vLLM's own HTTP server, and against this
package's own client talking gRPC straight to the worker. The four targets, all up at once and
measured in turn (a, b, c, d, a, b, ...) so the machine's drift touches each alike:

    (a) vLLM's HTTP server, read as raw SSE            (any OpenAI client)
    (b) smg over one vLLM gRPC worker, raw SSE         (any OpenAI client)
    (c) ChatVLLM over grpc:// straight to that worker  (this package's client)
    (d) ChatVLLM over http:// to smg

A round is ``C`` concurrent streams of the scripted long story (reasoning then about 400
tokens, greedy); its tokens/s is all output tokens over the round's wall time. TTFT is from
sending the request to the first reasoning or answer text; p50 and p99 over every stream of
every round. Every reply is checked against the script. The raw SSE client is httpx with
httpx-sse (JSON per event, nothing else), so (a) and (b) measure the servers, not a client
library. The servers run from another Python (``--python``, default ``$VLLM_SERVER_PYTHON``).
Slow (two vLLM servers start, about a minute each) and CPU-heavy: run it on a quiet machine.

    .venv/bin/python benchmarks/gateway_throughput.py [--python PY] [--concurrency 1 32 128]
        [--repeats 3] [--json]
    .venv/bin/python benchmarks/gateway_throughput.py --concurrency 1 4 --repeats 1 \
        --max-tokens 32   # a quick check that it runs
    ... --http-url URL --grpc-url URL --gateway-url URL   # servers already running
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SERVED_MODEL_NAME, script, tiny_model_server
from vllm_integrations.testing.servers import tiny_model_gateway

SCRIPT = script("long_story")
MESSAGES = [dict(message) for message in SCRIPT.messages]


@dataclass(frozen=True)
class Stream:
    """One reply: its output tokens, seconds to its first text, and whether it is the script's."""

    tokens: int
    ttft: float
    exact: bool


Target = Callable[[], Awaitable[Stream]]


def raw_sse(client: httpx.AsyncClient, base_url: str, max_tokens: int | None) -> Target:
    """A stream read as raw SSE: what any OpenAI client receives, minus that client's cost."""
    body: dict[str, Any] = {
        "model": SERVED_MODEL_NAME,
        "messages": MESSAGES,
        "temperature": 0,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    async def stream() -> Stream:
        started, first = time.perf_counter(), None
        text, reasoning, tokens = [], [], 0
        url = f"{base_url}/chat/completions"
        async with aconnect_sse(client, "POST", url, json=body) as events:
            events.response.raise_for_status()
            async for event in events.aiter_sse():
                if event.data == "[DONE]":
                    break
                chunk = json.loads(event.data)
                for choice in chunk["choices"]:
                    delta = choice["delta"]
                    # vLLM says `reasoning`, smg `reasoning_content`
                    thought = delta.get("reasoning") or delta.get("reasoning_content") or ""
                    if first is None and (thought or delta.get("content")):
                        first = time.perf_counter()
                    reasoning.append(thought)
                    text.append(delta.get("content") or "")
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
        exact = "".join(text) == SCRIPT.content and "".join(reasoning) == SCRIPT.reasoning
        return Stream(tokens, (first or time.perf_counter()) - started, exact)

    return stream


def chat_vllm(base_url: str, max_tokens: int | None) -> Target:
    """A stream through ChatVLLM.astream, as a LangChain user runs it."""
    chat = ChatVLLM(
        model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, max_tokens=max_tokens
    )

    async def stream() -> Stream:
        started, first = time.perf_counter(), None
        text, reasoning, tokens = [], [], 0
        async for chunk in chat.astream(MESSAGES):
            thought = chunk.additional_kwargs.get("reasoning_content", "")
            if first is None and (thought or chunk.text):
                first = time.perf_counter()
            reasoning.append(thought)
            text.append(chunk.text)
            if chunk.usage_metadata:
                tokens = chunk.usage_metadata["output_tokens"]
        exact = "".join(text) == SCRIPT.content and "".join(reasoning) == SCRIPT.reasoning
        return Stream(tokens, (first or time.perf_counter()) - started, exact)

    return stream


async def one_round(target: Target, streams: int) -> dict[str, Any]:
    wall = time.perf_counter()
    results = await asyncio.gather(*(target() for _ in range(streams)), return_exceptions=True)
    wall = time.perf_counter() - wall
    replies = [r for r in results if isinstance(r, Stream)]
    errors = [repr(r) for r in results if not isinstance(r, Stream)]
    tokens = sum(r.tokens for r in replies)
    return {
        "tokens_per_s": tokens / wall,
        "ttft_s": [r.ttft for r in replies],
        "exact_replies": sum(r.exact for r in replies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def percentile(values: list[float], share: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[share - 1]


async def measure(
    targets: dict[str, Target], concurrency: list[int], repeats: int
) -> list[dict[str, Any]]:
    """Each target at each concurrency, the targets taking turns round by round."""
    for target in targets.values():  # warm-up: connections, caches, the first compile
        await target()
    rows = []
    for streams in concurrency:
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for _ in range(repeats):
            for name, target in targets.items():
                rounds[name].append(await one_round(target, streams))
        for name, done in rounds.items():
            ttft = [t for r in done for t in r["ttft_s"]]
            rows.append(
                {
                    "target": name,
                    "streams": streams,
                    "tokens_per_s": statistics.median(r["tokens_per_s"] for r in done),
                    "ttft_p50_s": percentile(ttft, 50),
                    "ttft_p99_s": percentile(ttft, 99),
                    "exact_replies": sum(r["exact_replies"] for r in done),
                    "replies": streams * repeats,
                    "errors": sum(r["errors"] for r in done),
                    "first_error": next((r["first_error"] for r in done if r["errors"]), None),
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]], repeats: int) -> None:
    line = "{:<28} {:>7} {:>9} {:>9} {:>9} {:>7} {:>6}"
    print(f"median tokens/s of {repeats} rounds; TTFT over every stream (ms)")
    print(line.format("target", "streams", "tokens/s", "TTFT p50", "TTFT p99", "exact", "errors"))
    for row in rows:
        ms = [
            "-" if row[key] is None else f"{row[key] * 1000:.0f}"
            for key in ("ttft_p50_s", "ttft_p99_s")
        ]
        exact = f"{row['exact_replies']}/{row['replies']}"
        tokens = f"{row['tokens_per_s']:.0f}"
        print(line.format(row["target"], row["streams"], tokens, *ms, exact, row["errors"]))


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        if args.http_url and args.grpc_url and args.gateway_url:  # servers already running
            urls = (args.http_url, args.grpc_url, args.gateway_url)
        else:
            http = tiny_model_server("http", python=args.python).launch()
            stack.callback(http.stop)
            worker = tiny_model_server("grpc", python=args.python)
            gateway = stack.enter_context(tiny_model_gateway(worker))  # loads beside the HTTP one
            http.wait_until_ready()
            urls = (http.base_url, worker.base_url, gateway.base_url)
        return await measure_at(*urls, args)


async def measure_at(
    http_url: str, grpc_url: str, gateway_url: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        targets = {
            "(a) vLLM HTTP, raw SSE": raw_sse(client, http_url, args.max_tokens),
            "(b) smg -> gRPC, raw SSE": raw_sse(client, gateway_url, args.max_tokens),
            "(c) ChatVLLM grpc://": chat_vllm(grpc_url, args.max_tokens),
            "(d) ChatVLLM http:// smg": chat_vllm(gateway_url, args.max_tokens),
        }
        return await measure(targets, args.concurrency, args.repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--python", default=os.environ.get("VLLM_SERVER_PYTHON"), help="Python with vLLM"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per concurrency")
    parser.add_argument("--max-tokens", type=int, help="cut replies short (quick checks)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--http-url", help="a running vLLM HTTP server of the tiny model")
    parser.add_argument("--grpc-url", help="a running vLLM gRPC worker of the tiny model")
    parser.add_argument("--gateway-url", help="a running smg in front of that worker")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    if args.json:
        report = {"repeats": args.repeats, "max_tokens": args.max_tokens, "results": rows}
        print(json.dumps(report, indent=2))
    else:
        print_table(rows, args.repeats)


if __name__ == "__main__":
    main()
