"""``max_message_size`` on both transports: a gRPC message, an SSE event or a whole HTTP reply
larger than it fails as ``MessageTooLargeError`` as the bytes arrive, before they are buffered:
the client's memory and time stay small whatever the server sends."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from tests.unit.faults import callers, grpc_fake, http_fake
from tests.unit.faults.callers import Caller, Outcome
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.errors import MessageTooLargeError

LIMIT = 256 * 1024
HUGE = 24 * 1024 * 1024


def measured(call: Callable[[], Outcome]) -> tuple[Outcome, int]:
    """The call's outcome and the peak of memory allocated while it ran."""
    tracemalloc.start()
    try:
        outcome = call()
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_refused_early(outcome: Outcome, peak: int) -> None:
    assert isinstance(outcome.error, MessageTooLargeError), repr(outcome.error)
    assert "max_message_size" in str(outcome.error)
    assert outcome.seconds < 3
    assert peak < HUGE // 4, peak  # nowhere near the message was held


@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_http_sse_event_too_large(http: FakeHttpServer, caller: Caller) -> None:
    huge = b'{"choices": [{"index": 0, "delta": {"content": "' + b"x" * HUGE + b'"}}]}'
    http.script("/chat/completions", Reply(events=[http_fake.chat_chunk("Hel"), huge]))
    outcome, peak = measured(lambda: caller(http.base_url, max_message_size=LIMIT))
    assert_refused_early(outcome, peak)
    assert outcome.error is not None
    assert getattr(outcome.error, "partial", None) is not None  # what came before it is kept


def test_http_many_small_events_are_fine(http: FakeHttpServer) -> None:
    pieces = ["y" * 1000] * 600  # 600 kB in all, each event far below the limit
    http.script("/chat/completions", Reply(events=http_fake.chat_stream(*pieces)))
    outcome = callers.chat_stream(http.base_url, max_message_size=LIMIT)
    assert outcome.error is None
    assert outcome.received == "".join(pieces)


@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_ainvoke])
def test_http_whole_reply_too_large(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(body=http_fake.chat_body("z" * HUGE)))
    outcome, peak = measured(lambda: caller(http.base_url, max_message_size=LIMIT))
    assert_refused_early(outcome, peak)
    assert len(http.seen("/chat/completions")) == 1  # not retried


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_ainvoke])
def test_grpc_message_too_large(grpc_server: FakeVllmGrpc, caller: Caller, reader: str) -> None:
    ids = grpc_server.tokenizer.ids("Hello")
    huge = grpc_fake.chunk(ids * (LIMIT // len(ids)))  # several bytes per ID: past the limit

    def script(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        yield huge
        yield grpc_fake.complete(ids)

    grpc_server.script = script
    outcome = caller(grpc_server.base_url, max_message_size=LIMIT, grpc_reader=reader)
    assert isinstance(outcome.error, MessageTooLargeError), repr(outcome.error)
    assert "max_message_size" in str(outcome.error)
    assert grpc_server.calls["Generate"] == 1


def test_grpc_default_limit_is_4_mib(grpc_server: FakeVllmGrpc) -> None:
    ids = grpc_server.tokenizer.ids("Hello")
    huge = grpc_fake.chunk(ids * (5 * 1024 * 1024 // len(ids)))

    def script(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        yield huge

    grpc_server.script = script
    started = time.monotonic()
    outcome = callers.chat_stream(grpc_server.base_url)
    assert isinstance(outcome.error, MessageTooLargeError), repr(outcome.error)
    assert str(4 * 1024 * 1024) in str(outcome.error)
    assert time.monotonic() - started < 10
