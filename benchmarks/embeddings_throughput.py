"""Texts/s through VLLMEmbeddings over HTTP and over gRPC, beside the openai SDK's
``embeddings.create`` with the same batch size, against a real vLLM serving all-MiniLM-L6-v2.

Why: the embedding path is all client overhead around the engine (batching, base64 decoding,
tokenizing for gRPC), and client and server share the machine's CPU, so what a user sees is
texts/s end to end. The SDK and ``VLLMEmbeddings`` over HTTP take turns against the same HTTP
server; the gRPC rows run against a gRPC server on the same model, started after the HTTP one
stops (one server at a time, so the two never share the CPU). Each row is the median of
``--repeats`` rounds after a warm-up, the variants interleaved round by round; every round's
vectors are checked: the SDK's and ours over HTTP equal, gRPC's within cosine 0.9999.

    .venv/bin/python benchmarks/embeddings_throughput.py [--python PY] [--texts 2000]
        [--batch-size 64] [--repeats 5] [--json]
    .venv/bin/python benchmarks/embeddings_throughput.py --http-url URL --grpc-url URL \
        --texts 100 --repeats 1 --json   # against servers already running (a quick check)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai

from vllm_integrations.langchain import VLLMEmbeddings
from vllm_integrations.server import Protocol
from vllm_integrations.testing import EMBEDDING_MODEL_NAME, embedding_model_server

Embed = Callable[[list[str]], list[list[float]]]


def short_texts(count: int) -> list[str]:
    """Distinct sentences of 8 to 12 words, like notes or chunks' titles."""
    subjects = ("The river", "A small bakery", "Our new library", "The old bridge", "This recipe")
    verbs = ("opens", "closes", "changes", "starts", "ends")
    return [
        f"{subjects[i % 5]} {verbs[i // 5 % 5]} at {7 + i % 12} o'clock on day {i} of the year."
        for i in range(count)
    ]


def sdk_embed(url: str, batch_size: int) -> Embed:
    """The openai SDK as users call it against vLLM: one batch after another, its default
    encoding (base64, decoded with numpy when installed)."""
    client = openai.OpenAI(base_url=url, api_key="EMPTY")

    def embed(texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            reply = client.embeddings.create(
                model=EMBEDDING_MODEL_NAME, input=texts[start : start + batch_size]
            )
            vectors += [item.embedding for item in reply.data]
        return vectors

    return embed


def ours(url: str, batch_size: int, *, run_async: bool) -> Embed:
    embeddings = VLLMEmbeddings(base_url=url, model=EMBEDDING_MODEL_NAME, batch_size=batch_size)
    if run_async:
        return lambda texts: asyncio.run(_aembed(embeddings, texts))
    return embeddings.embed_documents


async def _aembed(embeddings: VLLMEmbeddings, texts: list[str]) -> list[list[float]]:
    async with embeddings:  # the event loop's connections close with the loop
        return await embeddings.aembed_documents(texts)


def variants(protocol: Protocol, url: str, batch_size: int) -> dict[str, Embed]:
    rows = {
        f"VLLMEmbeddings {protocol}:// embed_documents": ours(url, batch_size, run_async=False),
        f"VLLMEmbeddings {protocol}:// aembed_documents": ours(url, batch_size, run_async=True),
    }
    if protocol == "http":
        rows = {"openai SDK embeddings.create": sdk_embed(url, batch_size), **rows}
    return rows


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def measure(
    embedders: dict[str, Embed], texts: list[str], repeats: int, reference: list[list[float]]
) -> list[dict[str, Any]]:
    """Median texts/s of each variant; ``reference`` (filled by the first variant if empty) is
    what every round's vectors are checked against."""
    for embed in embedders.values():
        embed(texts[:64])  # warm-up: connections, tokenizer, the engine's first batches
    rates: dict[str, list[float]] = {name: [] for name in embedders}
    agreement: dict[str, float] = dict.fromkeys(embedders, 1.0)
    for _ in range(repeats):
        for name, embed in embedders.items():
            started = time.perf_counter()
            vectors = embed(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
            if not reference:
                reference += vectors
            lowest = min(cosine(a, b) for a, b in zip(vectors, reference, strict=True))
            agreement[name] = min(agreement[name], lowest)
    return [
        {
            "variant": name,
            "texts_per_s": statistics.median(rates[name]),
            "rounds": rates[name],
            "min_cosine_to_sdk": agreement[name],
        }
        for name in embedders
    ]


@contextlib.contextmanager
def server_url(protocol: Protocol, given: str | None, python: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with embedding_model_server(protocol, python=python) as server:
        yield server.base_url


def print_table(rows: list[dict[str, Any]], texts: int, batch_size: int, repeats: int) -> None:
    print(f"{texts} short texts, batch size {batch_size}, median of {repeats} rounds")
    line = "{:<46} {:>9} {:>12}"
    print(line.format("variant", "texts/s", "min cosine"))
    for row in rows:
        cosine_text = f"{row['min_cosine_to_sdk']:.6f}"
        print(line.format(row["variant"], f"{row['texts_per_s']:.0f}", cosine_text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--python", default=os.environ.get("VLLM_SERVER_PYTHON"))
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--http-url", help="a running embedding server (else one is started)")
    parser.add_argument("--grpc-url", help="a running gRPC embedding server")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    texts = short_texts(args.texts)
    reference: list[list[float]] = []  # the SDK's vectors, filled by the first HTTP round
    rows: list[dict[str, Any]] = []
    given_urls: dict[Protocol, str | None] = {"http": args.http_url, "grpc": args.grpc_url}
    for protocol, given in given_urls.items():
        with server_url(protocol, given, args.python) as url:
            rows += measure(
                variants(protocol, url, args.batch_size), texts, args.repeats, reference
            )
    if args.json:
        settings = {"texts": args.texts, "batch_size": args.batch_size, "repeats": args.repeats}
        print(json.dumps({**settings, "results": rows}, indent=2))
    else:
        print_table(rows, args.texts, args.batch_size, args.repeats)


if __name__ == "__main__":
    main()
