"""Client CPU per streamed token, gRPC vs HTTP, at 100 and 10,000 generated tokens.

Why: over gRPC the client decodes token IDs, matches stop strings and splits the reasoning
itself; that must still cost no more CPU per token than HTTP, where the server does it, and the
cost must not grow with the stream. Both replay servers (``grpc_replay_server.py``,
``sse_replay_server.py``) carry the same reply and run in child processes, so
``time.process_time()`` here counts the client alone. Variants: the bare loops of the gRPC
readers (this package's HTTP/2 reader, which ChatVLLM uses for Generate, and grpcio's stub) and
of the openai SDK (the floor of each wire), ChatVLLM over grpc:// and http://, and ChatOpenAI.
Each gets a warm-up run, then the variants take turns for ``--repeats`` samples (so load from
others spreads evenly) and the median is reported. Short streams are timed in batches of at
least ``--sample-tokens`` tokens, so a sample is long enough to time.

At line rate (the default) the SSE replay's stream arrives in a few large reads, while grpcio's
server hands out messages about as fast as its client takes them, one by one. ``--pace-us 500``
sends one token every 500 us on both wires, as a model does, so both clients wake per token.

    .venv/bin/python benchmarks/stream_cpu_per_token.py [--tokens 100 10000] [--repeats 5] [--json]
    .venv/bin/python benchmarks/stream_cpu_per_token.py --tokens 1000 --pace-us 500
    .venv/bin/python benchmarks/stream_cpu_per_token.py --tokens 10000 --profile "ChatVLLM grpc://"
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import pstats
import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.experimental
import openai
from langchain_core.messages import BaseMessageChunk
from langchain_openai import ChatOpenAI
from pydantic import SecretStr
from replay import (
    MODEL,
    PACE_HELP,
    Generation,
    model_dir,
    recorded_generation,
    replay_server,
    whole_message,
)
from smg_grpc_proto import vllm_engine_pb2 as pb
from smg_grpc_proto import vllm_engine_pb2_grpc as pb_grpc

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.transports import TransportOptions
from vllm_integrations.transports.grpc.connection import Connection

PROMPT = "hi"
STOP = ["Observation:"]  # a typical agent stop string; it never occurs, so every token is scanned
VARIANTS = (
    "HTTP/2 reader loop",
    "grpcio loop",
    "openai SDK loop",
    "ChatVLLM grpc://",
    "ChatVLLM http://",
    "ChatOpenAI http://",
)


@dataclass
class Variant:
    """One way of consuming the stream: ``consume`` is timed, ``check`` is not."""

    name: str
    consume: Callable[[], Any]
    check: Callable[[Any], None]


def _expect(label: str, got: object, want: object) -> None:
    if got != want:
        raise AssertionError(f"{label}: got {str(got)[:60]!r}..., want {str(want)[:60]!r}...")


def _generate_request() -> Any:
    return pb.GenerateRequest(
        request_id=uuid.uuid4().hex,
        tokenized=pb.TokenizedInput(original_text=PROMPT, input_ids=[1, 2, 3]),  # ignored
        sampling_params=pb.SamplingParams(temperature=0.0, stop=STOP),
        stream=True,
    )


def _token_ids(responses: Iterable[Any]) -> list[int]:
    ids: list[int] = []
    for response in responses:
        if response.HasField("chunk"):
            ids.extend(response.chunk.token_ids)
    return ids


def reader_loop(url: str, generation: Generation) -> Variant:
    """The floor of the gRPC wire as ChatVLLM reads it: this package's HTTP/2 reader, token
    IDs collected, nothing decoded."""
    connection = Connection(url, TransportOptions())

    def consume() -> list[int]:
        return _token_ids(connection.generate(_generate_request()))

    def check(ids: list[int]) -> None:
        _expect("HTTP/2 reader token IDs", tuple(ids), generation.token_ids)

    return Variant("HTTP/2 reader loop", consume, check)


def grpcio_loop(url: str, generation: Generation) -> Variant:
    """The same loop on grpcio's stub (with the channel option that reads streams in the
    caller's thread, its cheapest), to show why ChatVLLM does not use it for Generate."""
    options = [(grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)]
    channel = grpc.insecure_channel(url.removeprefix("grpc://"), options)
    stub = pb_grpc.VllmEngineStub(channel)

    def check(ids: list[int]) -> None:
        _expect("grpcio token IDs", tuple(ids), generation.token_ids)

    return Variant("grpcio loop", lambda: _token_ids(stub.Generate(_generate_request())), check)


def sdk_loop(url: str, generation: Generation) -> Variant:
    """The floor of the HTTP wire: the openai SDK's own stream, text deltas collected."""
    client = openai.OpenAI(base_url=url, api_key="EMPTY")

    def consume() -> tuple[list[str], list[str]]:
        thoughts: list[str] = []
        texts: list[str] = []
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": PROMPT}],
            stop=STOP,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.choices:
                delta = chunk.choices[0].delta
                thought = getattr(delta, "reasoning", None)  # vLLM's extra field
                if thought:
                    thoughts.append(thought)
                if delta.content:
                    texts.append(delta.content)
        return thoughts, texts

    def check(result: tuple[list[str], list[str]]) -> None:
        _expect("SDK reasoning", "".join(result[0]), generation.reasoning)
        _expect("SDK content", "".join(result[1]), generation.content)

    return Variant("openai SDK loop", consume, check)


def chat_vllm(url: str, generation: Generation) -> Variant:
    """ChatVLLM.stream, whichever transport the URL names; reasoning, text and usage checked."""
    chat = ChatVLLM(model=MODEL, base_url=url, stop=STOP)

    def check(pieces: list[BaseMessageChunk]) -> None:
        message = whole_message(pieces)
        reasoning = message.additional_kwargs.get("reasoning_content")
        _expect("reasoning", reasoning, generation.reasoning)
        _expect("content", message.text, generation.content)
        usage = message.usage_metadata
        _expect("output tokens", usage and usage["output_tokens"], len(generation.token_ids))

    scheme = url.split(":", 1)[0]
    return Variant(f"ChatVLLM {scheme}://", lambda: list(chat.stream(PROMPT)), check)


def chat_openai(url: str, generation: Generation) -> Variant:
    """LangChain's ChatOpenAI (drops vLLM's reasoning: only the content is checked)."""
    chat = ChatOpenAI(
        model=MODEL, base_url=url, api_key=SecretStr("EMPTY"), stream_usage=True, stop=STOP
    )

    def check(pieces: list[BaseMessageChunk]) -> None:
        _expect("ChatOpenAI content", "".join(c.text for c in pieces), generation.content)

    return Variant("ChatOpenAI http://", lambda: list(chat.stream(PROMPT)), check)


def variants(grpc_url: str, http_url: str, generation: Generation) -> list[Variant]:
    """Every variant, each made once (connections are reused across runs, as in real use)."""
    return [
        reader_loop(grpc_url, generation),
        grpcio_loop(grpc_url, generation),
        sdk_loop(http_url, generation),
        chat_vllm(grpc_url, generation),
        chat_vllm(http_url, generation),
        chat_openai(http_url, generation),
    ]


def cpu_seconds(variant: Variant, streams: int) -> float:
    """Client CPU time of ``streams`` full streams; results are checked outside the timed span."""
    gc.collect()
    start = time.process_time()
    results = [variant.consume() for _ in range(streams)]
    elapsed = time.process_time() - start
    for result in results:
        variant.check(result)
    return elapsed


def measure(
    grpc_url: str, http_url: str, generation: Generation, repeats: int, sample_tokens: int
) -> list[dict[str, Any]]:
    """Median client CPU per generated token of each variant."""
    tokens = len(generation.token_ids)
    streams = math.ceil(sample_tokens / tokens)
    chosen = variants(grpc_url, http_url, generation)
    for variant in chosen:
        cpu_seconds(variant, 1)  # warm-up: imports, connection, tokenizer download, caches
    runs: dict[str, list[float]] = {v.name: [] for v in chosen}
    for _ in range(repeats):
        for variant in chosen:
            per_token = cpu_seconds(variant, streams) / (streams * tokens) * 1e6
            runs[variant.name].append(per_token)
    return [
        {"tokens": tokens, "variant": name, "us_per_token": statistics.median(r), "runs": r}
        for name, r in runs.items()
    ]


def profile(grpc_url: str, http_url: str, generation: Generation, name: str) -> None:
    """cProfile of one variant's stream (after a warm-up), top functions by own CPU time
    (the process's: what grpcio's own threads spend lands on the call that waits for them)."""
    variant = next(v for v in variants(grpc_url, http_url, generation) if v.name == name)
    variant.consume()
    profiler = cProfile.Profile(time.process_time)
    result = profiler.runcall(variant.consume)
    variant.check(result)
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(30)


def print_table(rows: list[dict[str, Any]], lengths: list[int], repeats: int) -> None:
    print(f"client CPU per generated token (us), median of {repeats}")
    print(f"{'variant':<20}" + "".join(f"{f'{n} tok':>12}" for n in lengths))
    by_key = {(row["variant"], row["tokens"]): row["us_per_token"] for row in rows}
    for name in VARIANTS:
        print(f"{name:<20}" + "".join(f"{by_key[name, n]:>12.1f}" for n in lengths))
    ratios = [by_key["ChatVLLM grpc://", n] / by_key["ChatVLLM http://", n] for n in lengths]
    print(f"{'ChatVLLM grpc/http':<20}" + "".join(f"{r:>11.2f}x" for r in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--repeats", type=int, default=5, help="timed samples per variant")
    parser.add_argument("--sample-tokens", type=int, default=2000, help="tokens per sample, min")
    parser.add_argument("--pace-us", type=int, default=0, help=PACE_HELP)
    parser.add_argument("--model-dir", help="tiny model directory (default: the built cache)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", choices=VARIANTS, help="cProfile this variant instead")
    args = parser.parse_args()
    directory = model_dir(args.model_dir)
    rows: list[dict[str, Any]] = []
    urls: dict[str, str] = {}
    for tokens in args.tokens:
        generation = recorded_generation(directory, tokens)
        with ExitStack() as servers:
            for kind in ("grpc", "http"):
                urls[kind] = servers.enter_context(
                    replay_server(kind, tokens, directory, args.pace_us)
                )
            if args.profile:
                profile(urls["grpc"], urls["http"], generation, args.profile)
                continue
            rows += measure(
                urls["grpc"], urls["http"], generation, args.repeats, args.sample_tokens
            )
    if args.profile:
        return
    if args.json:
        meta = {"repeats": args.repeats, "pace_us": args.pace_us}
        print(json.dumps({**meta, "results": rows}, indent=2))
    else:
        print_table(rows, args.tokens, args.repeats)


if __name__ == "__main__":
    main()
