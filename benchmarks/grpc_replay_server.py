"""A loopback gRPC server replaying one long generation as vLLM's native API streams it.

Why: the gRPC client's cost per token must be measured without a model in the way, on the same
output as the HTTP replay (``sse_replay_server.py``). This is a ``VllmEngine`` servicer on
grpc.aio, as vLLM's is: it streams the recorded token IDs one per ``chunk`` message, then the
``complete`` message repeating the last delta, as the real servicer does. It answers
GetModelInfo, GetServerInfo and GetTokenizer (the tiny model's tokenizer files as a zip) like
the real server, so clients set up unchanged. The messages are built once and sent as fast as
grpcio sends them; that is about as fast as grpcio's client takes them (tens of microseconds of
CPU a message on either side), so a client receives them one by one, as from a real server,
not in large reads as from the SSE replay.

Run it alone with ``python benchmarks/grpc_replay_server.py --tokens 2000``: it prints its base
URL (``grpc://127.0.0.1:PORT``) on one line, then serves until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from replay import (
    MODEL,
    PROMPT_TOKENS,
    REASONING_PARSER,
    Generation,
    model_dir,
    recorded_generation,
    replay_server_arguments,
)
from smg_grpc_proto import vllm_engine_pb2 as pb
from smg_grpc_proto import vllm_engine_pb2_grpc as pb_grpc

# What the real servicer puts in its GetTokenizer zip (smg_grpc_servicer.tokenizer_bundle).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "config.json",
    "generation_config.json",
)
TOKENIZER_GLOBS = ("*.jinja",)
ZIP_CHUNK_BYTES = 64 * 1024


def generate_responses(generation: Generation) -> list[Any]:
    """The streamed reply: one chunk per token, then ``complete`` repeating the last delta."""
    chunks = [
        pb.GenerateResponse(
            chunk=pb.GenerateStreamChunk(
                token_ids=[token_id], prompt_tokens=PROMPT_TOKENS, completion_tokens=1
            )
        )
        for token_id in generation.token_ids
    ]
    complete = pb.GenerateComplete(
        output_ids=generation.token_ids[-1:],
        finish_reason="stop",
        prompt_tokens=PROMPT_TOKENS,
        completion_tokens=1,
    )
    return [*chunks, pb.GenerateResponse(complete=complete)]


def tokenizer_zip(directory: Path) -> bytes:
    """The tokenizer files as the real servicer zips them."""
    names = [n for n in TOKENIZER_FILES if (directory / n).is_file()]
    names += sorted(p.name for pattern in TOKENIZER_GLOBS for p in directory.glob(pattern))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(directory / name, name)
    return buffer.getvalue()


class ReplayServicer(pb_grpc.VllmEngineServicer):  # type: ignore[misc]
    """Answers the set-up calls once and replays the generation to every streamed request."""

    def __init__(self, generation: Generation, directory: Path, pace_us: int = 0) -> None:
        self._responses = generate_responses(generation)
        self._pace_s = pace_us / 1e6
        self._eos = generation.eos_token_id
        self._zip = tokenizer_zip(directory)

    async def Generate(self, request: Any, context: Any) -> AsyncIterator[Any]:
        if not request.stream:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "only streamed requests")
        for response in self._responses:
            yield response
            if self._pace_s:
                await asyncio.sleep(self._pace_s)

    async def GetModelInfo(self, request: Any, context: Any) -> Any:
        return pb.GetModelInfoResponse(
            served_model_name=MODEL,
            is_generation=True,
            max_context_length=32768,
            eos_token_ids=[self._eos],
        )

    async def GetServerInfo(self, request: Any, context: Any) -> Any:
        return pb.GetServerInfoResponse(engine_reasoning_parser=REASONING_PARSER)

    async def GetTokenizer(self, request: Any, context: Any) -> AsyncIterator[Any]:
        digest = hashlib.sha256(self._zip).hexdigest()
        for start in range(0, len(self._zip), ZIP_CHUNK_BYTES):
            end = start + ZIP_CHUNK_BYTES
            last = end >= len(self._zip)
            yield pb.common__pb2.GetTokenizerChunk(
                data=self._zip[start:end], sha256=digest if last else ""
            )


async def serve(generation: Generation, directory: Path, port: int = 0, pace_us: int = 0) -> None:
    """Serve on 127.0.0.1 (port 0: a free one), print the base URL, then serve until killed."""
    server = grpc.aio.server(options=[("grpc.max_send_message_length", -1)])
    servicer = ReplayServicer(generation, directory, pace_us)
    pb_grpc.add_VllmEngineServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"grpc://127.0.0.1:{bound}", flush=True)
    await server.wait_for_termination()


def main() -> None:
    args = replay_server_arguments(__doc__.splitlines()[0] if __doc__ else None)
    directory = model_dir(args.model_dir)
    generation = recorded_generation(directory, args.tokens)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(generation, directory, args.port, args.pace_us))


if __name__ == "__main__":
    main()
