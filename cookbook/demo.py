"""A real vLLM on this machine, answering one question over HTTP and over native gRPC, streamed.

`make demo` runs it: it builds the scripted tiny model (cached), starts both servers and streams
the reply from each. Give --http-url and --grpc-url to use servers that already run instead.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

from vllm_integrations.server import LocalVLLMServer, Protocol
from vllm_integrations.testing import SERVED_MODEL_NAME, ensure_model, script, tiny_model_server
from vllm_integrations.testing.raw_grpc import stream_chat

QUESTION = script("capital")


def http_reply(base_url: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces from vLLM's OpenAI-compatible API; vLLM splits off the reasoning."""
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY")
    stream = client.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=QUESTION.chat_messages(),
        temperature=0,
        stream=True,
    )
    for chunk in stream:
        for choice in chunk.choices:
            yield "thinking", getattr(choice.delta, "reasoning", None) or ""
            yield "answer", choice.delta.content or ""


def grpc_reply(base_url: str, tokenizer: Path) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces from vLLM's gRPC API, which sends token IDs: decoded here."""
    kind = "thinking"
    for delta in stream_chat(base_url, tokenizer, QUESTION.chat_messages()):
        before, closed, after = delta.text.partition("</think>")
        yield kind, before
        if closed:
            kind = "answer"
            yield kind, after


def show(title: str, pieces: Iterator[tuple[str, str]]) -> None:
    print(f"\n== {title} ==\nuser: {QUESTION.messages[-1]['content']}", flush=True)
    current = None
    for kind, text in pieces:
        if not text:
            continue
        if kind != current:
            print(f"\n{kind}: ", end="", flush=True)
            current = kind
        print(text, end="", flush=True)
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http-url", help="a running vLLM HTTP server (http://HOST:PORT/v1)")
    parser.add_argument("--grpc-url", help="a running vLLM gRPC server (grpc://HOST:PORT)")
    parser.add_argument("--tokenizer", type=Path, help="tokenizer directory for the gRPC path")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        servers: list[LocalVLLMServer] = []
        if not (args.http_url and args.grpc_url):
            print("Building the tiny model (cached after the first run)...", flush=True)
            model = ensure_model()
            protocols: tuple[Protocol, ...] = ("http", "grpc")
            servers = [tiny_model_server(protocol, model) for protocol in protocols]
            print("Starting vLLM over HTTP and over gRPC (about a minute on a CPU)...", flush=True)
            with ThreadPoolExecutor(len(servers)) as pool:
                started = list(pool.map(lambda s: stack.enter_context(s), servers))
            args.http_url = args.http_url or started[0].base_url
            args.grpc_url = args.grpc_url or started[1].base_url
        tokenizer = args.tokenizer or ensure_model()
        show(f"vLLM over HTTP at {args.http_url}", http_reply(args.http_url))
        show(f"vLLM over gRPC at {args.grpc_url}", grpc_reply(args.grpc_url, tokenizer))


if __name__ == "__main__":
    main()
