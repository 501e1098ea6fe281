"""Timeouts that mean the same on both transports and never allow a hang: ``timeout`` is the
longest wait for the next message of a stream or for a whole unary reply, ``connect_timeout``
the longest wait for a connection, ``total_timeout`` a deadline for the whole call. A stalled
server fails within them as ``APITimeoutError`` (with what arrived), and a call that timed out
is not tried again."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.unit.faults import callers, grpc_fake, http_fake, net
from tests.unit.faults.callers import Caller, Outcome
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.errors import APITimeoutError, InternalServerError
from vllm_integrations.grpc import AsyncVLLMGrpcClient, VLLMGrpcClient
from vllm_integrations.langchain import ChatVLLM

READ = 0.5  # seconds: the read timeout of these tests
SLACK = 1.5  # seconds a timeout may take past its limit on a busy 2-core machine
PACED = tuple(f"p{n} " for n in range(6))  # sent half a read timeout apart


def assert_timed_out(outcome: Outcome, limit: float, *, arrived: str = "") -> APITimeoutError:
    """Failed as a timeout, after ``limit`` and not long after, keeping what arrived."""
    error = outcome.error
    assert isinstance(error, APITimeoutError), error
    assert limit * 0.8 <= outcome.seconds < limit + SLACK, outcome.seconds
    if arrived:
        assert error.partial is not None
        assert getattr(error.partial, "content", None) == arrived
        assert arrived.startswith(outcome.received)
    return error


# -- HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", callers.WHOLE_CHAT)
def test_http_stalled_whole_reply_times_out_once(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(stall=30, body=http_fake.chat_body("late")))
    assert_timed_out(caller(http.base_url, timeout=READ, max_retries=2), READ)
    assert len(http.seen("/chat/completions")) == 1  # not 3 x the read timeout


@pytest.mark.parametrize("caller", callers.STREAMED_CHAT)
def test_http_stream_stalled_mid_reply(http: FakeHttpServer, caller: Caller) -> None:
    events = http_fake.chat_stream("Hel", "lo", finish=None, done=False)
    http.script("/chat/completions", Reply(events=events, hang=30))
    outcome = caller(http.base_url, timeout=READ, max_retries=2)
    assert_timed_out(outcome, READ, arrived="Hello")
    assert outcome.received == "Hello"
    assert len(http.seen("/chat/completions")) == 1


def test_http_streams_beyond_a_hundred_wait_for_a_connection_not_for_connect_timeout(
    http: FakeHttpServer,
) -> None:
    """More concurrent streams than httpx's default pool (100), each longer than
    connect_timeout: every one gets its reply (waiting for a free connection is not
    connecting)."""
    events = http_fake.chat_stream(*PACED)
    http.script("/chat/completions", Reply(events=events, pace=0.5))  # 3 s a stream
    chat = ChatVLLM(model="m", base_url=http.base_url, connect_timeout=2, timeout=10)

    async def one() -> str:
        return "".join([chunk.text async for chunk in chat.astream("hi")])

    async def all_of_them() -> list[str | BaseException]:
        return await asyncio.gather(*(one() for _ in range(120)), return_exceptions=True)

    assert asyncio.run(all_of_them()) == ["".join(PACED)] * 120


@pytest.mark.parametrize("caller", callers.STREAMED_CHAT)
def test_http_stream_stalled_before_its_headers(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(stall=30, events=http_fake.chat_stream("x")))
    assert_timed_out(caller(http.base_url, timeout=READ, max_retries=2), READ)
    assert len(http.seen("/chat/completions")) == 1


# The case, `timeout=1` on a stream paced over 3 s, for the sync callers; the async
# ones the same at a smaller scale (the gaps, not the length, are what the timeout limits).
PER_MESSAGE = [
    pytest.param(callers.chat_stream, 1.0, id="chat_stream"),
    pytest.param(callers.chat_astream, 0.4, id="chat_astream"),
]


@pytest.mark.parametrize(("caller", "timeout"), PER_MESSAGE)
def test_http_read_timeout_is_per_message(
    http: FakeHttpServer, caller: Caller, timeout: float
) -> None:
    reply = Reply(events=http_fake.chat_stream(*PACED), pace=timeout / 2)
    http.script("/chat/completions", reply)
    outcome = caller(http.base_url, timeout=timeout)
    assert outcome.error is None
    assert outcome.received == "".join(PACED)
    assert outcome.seconds >= 3 * timeout  # three times the timeout in all


@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_http_total_timeout_bounds_a_stream(http: FakeHttpServer, caller: Caller) -> None:
    pieces = [f"p{n} " for n in range(20)]
    http.script("/chat/completions", Reply(events=http_fake.chat_stream(*pieces), pace=0.3))
    outcome = caller(http.base_url, timeout=1, total_timeout=1.2)
    error = assert_timed_out(outcome, 1.2)
    assert error.partial is not None
    assert getattr(error.partial, "content", None) == outcome.received  # all that arrived
    assert 2 <= len(outcome.received.split()) <= 5


@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_http_total_timeout_counts_the_wait_for_the_stream_to_open(
    http: FakeHttpServer, caller: Caller
) -> None:
    pieces = [f"p{n} " for n in range(20)]
    reply = Reply(stall=1.5, events=http_fake.chat_stream(*pieces), pace=0.3)
    http.script("/chat/completions", reply)
    outcome = caller(http.base_url, timeout=3, total_timeout=1.8)
    assert_timed_out(outcome, 1.8)
    # One deadline for the whole call; a deadline per phase would end it at 1.5 + 1.8 s.
    assert outcome.seconds < 1.8 + 0.9


@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_ainvoke])
def test_http_total_timeout_bounds_a_whole_reply(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(stall=30, body=http_fake.chat_body("late")))
    assert_timed_out(caller(http.base_url, timeout=20, total_timeout=0.8), 0.8)


def test_http_total_timeout_bounds_the_retries(http: FakeHttpServer) -> None:
    http.script("/chat/completions", Reply(503, http_fake.error_body("busy", 503)))
    outcome = callers.chat_invoke(http.base_url, max_retries=10, total_timeout=1.5)
    assert isinstance(outcome.error, InternalServerError | APITimeoutError), outcome.error
    assert outcome.seconds < 1.5 + SLACK
    assert 2 <= len(http.seen("/chat/completions")) <= 4


@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_astream])
def test_http_connect_timeout_to_a_black_hole(caller: Caller) -> None:
    with net.black_hole() as port:
        url = f"http://{net.HOST}:{port}/v1"
        assert_timed_out(caller(url, connect_timeout=0.5, max_retries=2), 0.5)


# -- gRPC -----------------------------------------------------------------------------------

READERS = ["h2", "grpcio"]


@pytest.mark.parametrize(
    ("caller", "method"),
    [
        (callers.chat_invoke, "GetModelInfo"),
        (callers.chat_invoke, "GetServerInfo"),
        (callers.chat_invoke, "GetTokenizer"),
        (callers.chat_astream, "GetModelInfo"),
        (callers.chat_astream, "GetTokenizer"),
    ],
)
def test_grpc_stalled_setup_call_times_out(
    grpc_server: FakeVllmGrpc, caller: Caller, method: str
) -> None:
    grpc_server.stall.add(method)
    assert_timed_out(caller(grpc_server.base_url, timeout=READ, max_retries=2), READ)
    assert grpc_server.calls[method] == 1  # a timed-out call is not tried again


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_grpc_generate_stalled_mid_stream(
    grpc_server: FakeVllmGrpc, caller: Caller, reader: str
) -> None:
    hold = grpc_fake.held(grpc_server)
    grpc_server.script = grpc_fake.say(grpc_server.tokenizer, "Hello", then=hold)
    outcome = caller(grpc_server.base_url, timeout=READ, max_retries=2, grpc_reader=reader)
    assert_timed_out(outcome, READ, arrived="Hello")
    assert grpc_server.cancelled.wait(5)  # the server saw the call end
    assert grpc_server.calls["Generate"] == 1


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_ainvoke])
def test_grpc_generate_stalled_before_its_first_message(
    grpc_server: FakeVllmGrpc, caller: Caller, reader: str
) -> None:
    hold = grpc_fake.held(grpc_server)
    grpc_server.script = grpc_fake.say(grpc_server.tokenizer, "late", then=hold)
    outcome = caller(grpc_server.base_url, timeout=READ, max_retries=2, grpc_reader=reader)
    assert_timed_out(outcome, READ)
    assert grpc_server.calls["Generate"] == 1


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("caller", "timeout"), PER_MESSAGE)
def test_grpc_read_timeout_is_per_message(
    grpc_server: FakeVllmGrpc, caller: Caller, timeout: float, reader: str
) -> None:
    grpc_server.script = grpc_fake.say(grpc_server.tokenizer, PACED, pace=timeout / 2)
    outcome = caller(grpc_server.base_url, timeout=timeout, grpc_reader=reader)
    assert outcome.error is None  # the same `timeout` as over HTTP: it completes
    assert outcome.received == "".join(PACED)
    assert outcome.seconds >= 3 * timeout


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_grpc_total_timeout_bounds_a_stream(
    grpc_server: FakeVllmGrpc, caller: Caller, reader: str
) -> None:
    pieces = [f"p{n} " for n in range(20)]
    grpc_server.script = grpc_fake.say(grpc_server.tokenizer, pieces, pace=0.3)
    outcome = caller(grpc_server.base_url, timeout=1, total_timeout=1.5, grpc_reader=reader)
    error = assert_timed_out(outcome, 1.5)
    assert error.partial is not None
    assert getattr(error.partial, "content", None) == outcome.received
    assert 2 <= len(outcome.received.split()) <= 5
    assert grpc_server.cancelled.wait(5)


@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_ainvoke])
def test_grpc_total_timeout_bounds_a_stalled_setup(
    grpc_server: FakeVllmGrpc, caller: Caller
) -> None:
    grpc_server.stall.add("GetServerInfo")
    assert_timed_out(caller(grpc_server.base_url, timeout=20, total_timeout=0.8), 0.8)


@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_ainvoke])
def test_grpc_connect_timeout_to_a_black_hole(caller: Caller) -> None:
    with net.black_hole() as port:
        url = f"grpc://{net.HOST}:{port}"
        outcome = caller(url, connect_timeout=0.5, timeout=20, max_retries=0)
        assert_timed_out(outcome, 0.5)


def test_grpc_client_stalled_management_calls(grpc_server: FakeVllmGrpc) -> None:
    grpc_server.stall.update({"Check", "GetModelInfo"})
    with VLLMGrpcClient(base_url=grpc_server.base_url, timeout=READ) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.health.check()
        with pytest.raises(APITimeoutError):
            client.models.retrieve()
        assert time.monotonic() - started < 2 * READ + SLACK


async def test_async_grpc_client_stalled_management_calls(grpc_server: FakeVllmGrpc) -> None:
    grpc_server.stall.update({"Check", "GetServerInfo"})
    async with AsyncVLLMGrpcClient(base_url=grpc_server.base_url, timeout=READ) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.health.check()
        with pytest.raises(APITimeoutError):
            await client.health.server_info()
        assert time.monotonic() - started < 2 * READ + SLACK
