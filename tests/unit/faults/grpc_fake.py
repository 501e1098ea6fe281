"""A fake of vLLM's gRPC server (``vllm.grpc.engine.VllmEngine`` and ``grpc.health.v1``) on
grpcio's own server, with real protobuf messages: the set-up calls answer like vLLM's, and each
test scripts Generate (paced, cut short, stalled, failed) and may stall any unary call.

Why a fake: vLLM's server does none of these on demand. GetTokenizer serves a zip of a small
tokenizer built with the test bed's ``build_tokenizer`` (the tiny model's chat template), so
the client's whole path (template, tokens, decoding, stop strings) runs as against vLLM.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from smg_grpc_proto import vllm_engine_pb2 as pb

HOST = "127.0.0.1"
MODEL = "m"
SERVICE = "vllm.grpc.engine.VllmEngine"

Script = Callable[[Any, grpc.ServicerContext], Iterator[Any]]
"""What Generate answers: the request and the call's context in, GenerateResponses out."""


@dataclass(frozen=True)
class Tokenizer:
    """The tokenizer the fake serves: loaded here to make token IDs, and as the zip vLLM's
    GetTokenizer sends (with its sha256)."""

    tokenizer: Any
    archive: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.archive).hexdigest()

    def ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    @property
    def eos(self) -> int:
        return int(self.tokenizer.eos_token_id)


def make_tokenizer() -> Tokenizer:
    from vllm_integrations.testing.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, path.name)
    return Tokenizer(tokenizer, buffer.getvalue())


@dataclass
class FakeVllmGrpc:
    """The servicer's state: its tokenizer, the Generate script, the unary calls to stall,
    and what it saw (every call's method and metadata, Generate requests, cancellations)."""

    tokenizer: Tokenizer
    script: Script | None = None
    stall: set[str] = field(default_factory=set)
    """Methods that answer nothing until the call is cancelled or the test ends."""
    unavailable: int = 0
    """Generate calls to fail with UNAVAILABLE before any message, then serve normally."""
    sha256: str | None = None
    """The fingerprint GetTokenizer claims (default: the archive's true one)."""
    chunk_size: int = 4096
    calls: Counter[str] = field(default_factory=Counter)
    metadata: list[dict[str, str]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"grpc://{HOST}:{self.port}"

    def _seen(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls[method] += 1
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
        if method in self.stall:
            context.add_callback(self.cancelled.set)
            while context.is_active() and not self.released.wait(0.01):
                pass
            context.abort(grpc.StatusCode.UNAVAILABLE, "the fake was stopped")

    def model_info(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("GetModelInfo", context)
        return pb.GetModelInfoResponse(
            model_path="/models/m",
            is_generation=True,
            max_context_length=1024,
            served_model_name=MODEL,
            eos_token_ids=[self.tokenizer.eos],
            default_sampling_params_json="{}",
        )

    def server_info(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("GetServerInfo", context)
        return pb.GetServerInfoResponse(server_type="vllm-grpc")

    def health_check(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("HealthCheck", context)
        return pb.HealthCheckResponse(healthy=True, message="ok")

    def abort(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("Abort", context)
        return pb.AbortResponse()

    def check(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("Check", context)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    def get_tokenizer(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self._seen("GetTokenizer", context)
        data = self.tokenizer.archive
        pieces = [data[i : i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]
        for number, piece in enumerate(pieces, 1):
            last = number == len(pieces)
            sha = (self.sha256 or self.tokenizer.sha256) if last else ""
            yield pb.common__pb2.GetTokenizerChunk(data=piece, sha256=sha)

    def generate(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self._seen("Generate", context)
        self.requests.append(request)
        context.add_callback(self.cancelled.set)
        if self.unavailable > 0:
            self.unavailable -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "the engine is restarting")
        script = self.script or say(self.tokenizer, "Hello there!")
        yield from script(request, context)

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        unary = grpc.unary_unary_rpc_method_handler
        engine = {
            "Generate": grpc.unary_stream_rpc_method_handler(
                self.generate, pb.GenerateRequest.FromString, _serialize
            ),
            "GetTokenizer": grpc.unary_stream_rpc_method_handler(
                self.get_tokenizer, pb.common__pb2.GetTokenizerRequest.FromString, _serialize
            ),
            "GetModelInfo": unary(self.model_info, pb.GetModelInfoRequest.FromString, _serialize),
            "GetServerInfo": unary(
                self.server_info, pb.GetServerInfoRequest.FromString, _serialize
            ),
            "HealthCheck": unary(self.health_check, pb.HealthCheckRequest.FromString, _serialize),
            "Abort": unary(self.abort, pb.AbortRequest.FromString, _serialize),
        }
        health = {"Check": unary(self.check, health_pb2.HealthCheckRequest.FromString, _serialize)}
        return [
            grpc.method_handlers_generic_handler(SERVICE, engine),
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", health),
        ]


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


# Like vLLM's server: keepalive PINGs are welcome (the tests make them frequent).
SERVER_OPTIONS = [
    ("grpc.http2.min_ping_interval_without_data_ms", 10),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 0),
]


@contextmanager
def serving(
    fake: FakeVllmGrpc, credentials: grpc.ServerCredentials | None = None, port: int = 0
) -> Iterator[FakeVllmGrpc]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=SERVER_OPTIONS)
    server.add_generic_rpc_handlers(fake.handlers())
    address = f"{HOST}:{port}"
    if credentials is None:
        fake.port = server.add_insecure_port(address)
    else:
        fake.port = server.add_secure_port(address, credentials)
    server.start()
    try:
        yield fake
    finally:
        fake.released.set()
        server.stop(grace=None).wait()


# -- Generate scripts ---------------------------------------------------------------------


def chunk(ids: Sequence[int], index: int = 0) -> Any:
    return pb.GenerateResponse(
        chunk=pb.GenerateStreamChunk(
            token_ids=list(ids), prompt_tokens=3, completion_tokens=len(ids), index=index
        )
    )


def complete(ids: Sequence[int], finish: str = "stop", index: int = 0) -> Any:
    return pb.GenerateResponse(
        complete=pb.GenerateComplete(
            output_ids=list(ids), finish_reason=finish, prompt_tokens=3, index=index
        )
    )


def say(
    tokenizer: Tokenizer,
    text: str | Sequence[str],
    *,
    finish: str | None = "stop",
    pace: float = 0.0,
    then: Callable[[grpc.ServicerContext], None] | None = None,
) -> Script:
    """A reply of ``text`` as vLLM sends it: a chunk per piece (per token for a string) when
    streamed, ``pace`` seconds apart; then the ``complete`` with ``finish`` (None: the stream
    ends OK without it, a reply cut short), after ``then`` (e.g. a stall) if given."""
    pieces = (
        [[i] for i in tokenizer.ids(text)]
        if isinstance(text, str)
        else [tokenizer.ids(piece) for piece in text]
    )
    every = [i for piece in pieces for i in piece]

    def script(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        if request.stream:
            for piece in pieces:
                if pace:
                    time.sleep(pace)
                yield chunk(piece)
        if then is not None:
            then(context)
        if finish is not None:
            yield complete(pieces[-1] if request.stream else every, finish)

    return script


def held(fake: FakeVllmGrpc, limit: float = 30.0) -> Callable[[grpc.ServicerContext], None]:
    """A ``then`` that holds the stream open, sending nothing, until the client leaves."""

    def hold(context: grpc.ServicerContext) -> None:
        deadline = time.monotonic() + limit
        while context.is_active() and time.monotonic() < deadline:
            if fake.released.wait(0.01):
                return

    return hold
