"""Client CPU per streamed chunk: raw openai SDK loop vs ChatOpenAI vs ChatVLLM.

Why: streaming through ChatVLLM must cost the client no more CPU per chunk than the plain SDK
loop over the same stream. The replay server (``sse_replay_server.py``) runs in its own process,
so ``time.process_time()`` here counts the client alone. Each variant gets a warm-up run, then
the median of ``--repeats`` runs is reported, per data event of the stream.

    .venv/bin/python benchmarks/stream_cpu_per_chunk.py [--chunks 2000] [--repeats 5] [--json]
    .venv/bin/python benchmarks/stream_cpu_per_chunk.py --profile ChatVLLM
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from langchain_core.messages import AIMessageChunk, BaseMessageChunk
from langchain_openai import ChatOpenAI
from pydantic import SecretStr
from sse_replay_server import MODEL, event_count, expected_texts

from vllm_integrations.langchain import ChatVLLM

SERVER_SCRIPT = Path(__file__).with_name("sse_replay_server.py")
PROMPT = "hi"


@dataclass
class Variant:
    """One way of consuming the stream: ``consume`` is timed, ``check`` is not."""

    name: str
    consume: Callable[[], Any]
    check: Callable[[Any], None]


@contextmanager
def replay_server(chunks: int) -> Iterator[str]:
    """The replay server in a child process; yields its base URL and stops it afterwards."""
    cmd = [sys.executable, str(SERVER_SCRIPT), "--chunks", str(chunks)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"replay server did not start (printed {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _expect(label: str, got: str, want: str) -> None:
    if got != want:
        raise AssertionError(f"{label}: got {len(got)} chars {got[:40]!r}..., want {len(want)}")


def variants(url: str, chunks: int) -> list[Variant]:
    """The three clients, each made once (connections are pooled across runs, as in real use)."""
    reasoning, content = expected_texts(chunks)
    client = openai.OpenAI(base_url=url, api_key="EMPTY")
    chat_openai = ChatOpenAI(
        model=MODEL, base_url=url, api_key=SecretStr("EMPTY"), stream_usage=True
    )
    chat_vllm = ChatVLLM(model=MODEL, base_url=url)

    def raw_sdk() -> tuple[list[str], list[str]]:
        thoughts: list[str] = []
        texts: list[str] = []
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": PROMPT}],
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

    def check_raw(result: tuple[list[str], list[str]]) -> None:
        _expect("raw SDK reasoning", "".join(result[0]), reasoning)
        _expect("raw SDK content", "".join(result[1]), content)

    def check_openai(pieces: list[BaseMessageChunk]) -> None:
        _expect("ChatOpenAI content", "".join(c.text for c in pieces), content)

    def check_vllm(pieces: list[BaseMessageChunk]) -> None:
        first, rest = pieces[0], pieces[1:]
        assert isinstance(first, AIMessageChunk)
        message = first + [c for c in rest if isinstance(c, AIMessageChunk)]
        _expect("ChatVLLM reasoning", message.additional_kwargs["reasoning_content"], reasoning)
        _expect("ChatVLLM content", message.text, content)
        assert message.usage_metadata is not None
        assert message.usage_metadata["output_tokens"] == chunks

    return [
        Variant("raw openai SDK", raw_sdk, check_raw),
        Variant("ChatOpenAI", lambda: list(chat_openai.stream(PROMPT)), check_openai),
        Variant("ChatVLLM", lambda: list(chat_vllm.stream(PROMPT)), check_vllm),
    ]


def cpu_seconds(variant: Variant) -> float:
    """Client CPU time of one full stream; the result is checked outside the timed span."""
    gc.collect()
    start = time.process_time()
    result = variant.consume()
    elapsed = time.process_time() - start
    variant.check(result)
    return elapsed


def measure(url: str, chunks: int, repeats: int) -> list[dict[str, Any]]:
    events = event_count(chunks)
    rows: list[dict[str, Any]] = []
    for variant in variants(url, chunks):
        cpu_seconds(variant)  # warm-up: imports, connection, caches
        runs = [cpu_seconds(variant) / events * 1e6 for _ in range(repeats)]
        median = statistics.median(runs)
        rows.append({"variant": variant.name, "us_per_chunk": median, "runs": runs})
    base = rows[0]["us_per_chunk"]
    for row in rows:
        row["ratio_vs_raw_sdk"] = row["us_per_chunk"] / base
    return rows


def profile(url: str, chunks: int, name: str, top: int = 25) -> None:
    """cProfile of one variant's stream (after a warm-up), top functions by own time."""
    variant = next(v for v in variants(url, chunks) if v.name == name)
    variant.consume()
    profiler = cProfile.Profile()
    result = profiler.runcall(variant.consume)
    variant.check(result)
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=2000, help="token chunks per stream")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--profile",
        choices=["raw openai SDK", "ChatOpenAI", "ChatVLLM"],
        help="print a cProfile of this variant instead of timing",
    )
    args = parser.parse_args()
    with replay_server(args.chunks) as url:
        if args.profile:
            profile(url, args.chunks, args.profile)
            return
        rows = measure(url, args.chunks, args.repeats)
    if args.json:
        meta = {"chunks": args.chunks, "events": event_count(args.chunks), "repeats": args.repeats}
        print(json.dumps({**meta, "results": rows}, indent=2))
        return
    print(f"{event_count(args.chunks)} events per stream, median of {args.repeats} runs")
    print(f"{'variant':<16} {'us/chunk':>9} {'vs raw SDK':>10}")
    for row in rows:
        print(f"{row['variant']:<16} {row['us_per_chunk']:>9.1f} {row['ratio_vs_raw_sdk']:>9.2f}x")


if __name__ == "__main__":
    main()
