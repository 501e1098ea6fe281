"""One chat turn over vLLM's native gRPC API with no client library: an independent oracle.

Renders the chat template, sends token IDs, and decodes the streamed token deltas with the
tokenizers library's incremental decoder. Tests and the demo use it to show the gRPC server
itself answering, separately from this package's own gRPC client; tests also read the engine's
running-request count here, to see that a request was aborted.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawDelta:
    """What one streamed response added: decoded text (maybe empty), its token IDs, and the
    finish reason on the final response."""

    text: str
    token_ids: tuple[int, ...]
    finish_reason: str | None = None


def stream_chat(
    base_url: str,
    tokenizer_dir: str | os.PathLike[str],
    messages: Sequence[Mapping[str, object]],
    *,
    max_tokens: int = 512,
    chat_template_kwargs: dict[str, Any] | None = None,
    timeout: float = 120.0,
) -> Iterator[RawDelta]:
    """Stream a greedy chat turn from ``grpc://HOST:PORT``."""
    import grpc
    from smg_grpc_proto import vllm_engine_pb2 as pb
    from smg_grpc_proto import vllm_engine_pb2_grpc as pb_grpc
    from tokenizers.decoders import DecodeStream
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(os.fspath(tokenizer_dir))
    prompt = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False, **(chat_template_kwargs or {})
    )
    request = pb.GenerateRequest(
        request_id=f"raw-{uuid.uuid4().hex}",
        tokenized=pb.TokenizedInput(
            original_text=prompt, input_ids=tokenizer.encode(prompt, add_special_tokens=False)
        ),
        sampling_params=pb.SamplingParams(
            temperature=0.0, max_tokens=max_tokens, skip_special_tokens=True
        ),
        stream=True,
    )
    decoder = DecodeStream(skip_special_tokens=True)
    address = urlsplit(base_url).netloc
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.VllmEngineStub(channel)
        for response in stub.Generate(request, timeout=timeout):
            if response.HasField("chunk"):
                ids = tuple(response.chunk.token_ids)
                pieces = (decoder.step(tokenizer.backend_tokenizer, i) for i in ids)
                yield RawDelta("".join(p for p in pieces if p), ids)
            else:  # 'complete' repeats the last chunk's tokens when streaming: keep only its reason
                yield RawDelta("", (), response.complete.finish_reason)


def running_requests(base_url: str) -> int:
    """How many requests the engine behind ``grpc://HOST:PORT`` is running (GetLoads)."""
    import grpc
    from smg_grpc_proto import vllm_engine_pb2 as pb
    from smg_grpc_proto import vllm_engine_pb2_grpc as pb_grpc

    with grpc.insecure_channel(urlsplit(base_url).netloc) as channel:
        loads = pb_grpc.VllmEngineStub(channel).GetLoads(pb.GetLoadsRequest()).loads
        return sum(load.num_running_reqs for load in loads)


def wait_for_running(base_url: str, count: int, *, seconds: float) -> int:
    """The running-request count once it equals ``count`` or ``seconds`` have passed (the
    server's load statistics trail the engine by a step or so)."""
    deadline = time.monotonic() + seconds
    running = running_requests(base_url)
    while running != count and time.monotonic() < deadline:
        time.sleep(0.1)
        running = running_requests(base_url)
    return running
