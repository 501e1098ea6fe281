"""Our HTTP/2 reader of gRPC streams on the wire's edge cases, against a raw h2 server: it
answers the server's PINGs while the consumer is slow and while a pooled connection sits idle,
finds a half-open connection by its own PINGs, drains calls below a GOAWAY and opens a new
connection for the next, and refuses an oversized message from its 5-byte prefix. Errors are
checked as users meet them, through the gRPC transport's ``Connection``."""

from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc

import pytest

from tests.unit.faults import grpc_fake, net
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.h2_fake import (
    Handler,
    ServerCall,
    ServerConnection,
    connect,
    finish,
    raw_server,
    request,
    response,
    texts,
)
from vllm_integrations.errors import (
    APIConnectionError,
    IncompleteResponseError,
    MessageTooLargeError,
)
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.settings import Timeouts
from vllm_integrations.transports.grpc.connection import GENERATE
from vllm_integrations.transports.grpc.h2 import async_channel, channel, keeper

# A thread of ours that dies (the keeper, say) fails the test that saw it die.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

HOST = net.HOST
SLACK = 1.0


def hold(connection: ServerConnection, seconds: float = 30.0) -> None:
    connection.closed.wait(seconds)


# -- PINGs from the server -------------------------------------------------------------------

PING_EVERY = 0.25
PINGING = 2.5  # seconds of PINGs: longer than the keeper's interval, twice over
ANSWER_WITHIN = keeper.INTERVAL + 1.0  # sync: the keeper takes in what nobody reads


def assert_answered(connection: ServerConnection, within: float) -> None:
    """The server sent PINGs, and the client answered every one within ``within`` seconds
    (waiting, if need be, until that long after the last one)."""
    assert connection.pings, "no PING was sent"
    due = max(connection.pings.values()) + within
    while None in connection.answer_times() and time.monotonic() < due:
        time.sleep(0.05)
    times = connection.answer_times()
    assert all(t is not None and t <= within for t in times), " ".join(map(str, times))


def ping_for(connection: ServerConnection, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        connection.ping()
        time.sleep(PING_EVERY)


def pings_between_messages(connection: ServerConnection, call: ServerCall) -> None:
    connection.headers(call.stream_id)
    connection.message(call.stream_id, response("one"))
    ping_for(connection, PINGING)
    connection.message(call.stream_id, response("two"))
    connection.status(call.stream_id)


def test_server_pings_answered_while_the_sync_consumer_is_slow() -> None:
    with raw_server(pings_between_messages) as server:
        grpc = connect(server.port)
        responses = grpc.generate(request())
        first = next(responses)
        time.sleep(PINGING + 0.5)  # a slow consumer: reads nothing meanwhile
        rest = list(responses)
        assert texts([first, *rest]) == ["one", "two"]
        (connection,) = server.connections
        assert_answered(connection, ANSWER_WITHIN)
        grpc.close()


async def test_server_pings_answered_while_the_async_consumer_is_slow() -> None:
    with raw_server(pings_between_messages) as server:
        grpc = connect(server.port)
        got = []
        async for message in grpc.agenerate(request()):
            got.append(message)
            await asyncio.sleep(PINGING + 0.5 if len(got) == 1 else 0)
        assert texts(got) == ["one", "two"]
        (connection,) = server.connections
        assert_answered(connection, 0.5)
        await grpc.aclose()


def answer_then_ping_while_idle() -> Handler:
    pinged = threading.Event()

    def handle(connection: ServerConnection, call: ServerCall) -> None:
        finish(response("done"))(connection, call)
        if not pinged.is_set():
            pinged.set()
            ping_for(connection, PINGING)

    return handle


def test_server_pings_answered_on_an_idle_pooled_connection() -> None:
    with raw_server(answer_then_ping_while_idle()) as server:
        grpc = connect(server.port)
        assert texts(list(grpc.generate(request()))) == ["done"]
        time.sleep(PINGING + 0.5)  # the connection waits in the pool; nobody reads it
        (connection,) = server.connections
        assert_answered(connection, ANSWER_WITHIN)
        assert texts(list(grpc.generate(request()))) == ["done"]
        assert server.accepted == 1  # the pooled connection stayed good and was used again
        grpc.close()


async def test_server_pings_answered_on_an_idle_async_connection() -> None:
    with raw_server(answer_then_ping_while_idle()) as server:
        grpc = connect(server.port)
        assert texts([m async for m in grpc.agenerate(request())]) == ["done"]
        await asyncio.sleep(PINGING + 0.5)
        (connection,) = server.connections
        assert_answered(connection, 0.5)
        assert texts([m async for m in grpc.agenerate(request())]) == ["done"]
        assert server.accepted == 1
        await grpc.aclose()


# -- a half-open connection ------------------------------------------------------------------

KEEPALIVE = 0.5


@pytest.fixture
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (channel, async_channel):
        monkeypatch.setattr(module, "KEEPALIVE_TIME", KEEPALIVE)
        monkeypatch.setattr(module, "KEEPALIVE_TIMEOUT", KEEPALIVE)


def one_then_hold(connection: ServerConnection, call: ServerCall) -> None:
    connection.headers(call.stream_id)
    connection.message(call.stream_id, response("one"))
    hold(connection)


@pytest.mark.usefixtures("quick_keepalive")
def test_a_half_open_connection_fails_within_the_keepalive_sync() -> None:
    with raw_server(one_then_hold) as server, net.freezing_proxy(server.port) as proxy:
        grpc = connect(proxy.port, timeouts=Timeouts(read=30))
        responses = grpc.generate(request())
        assert texts([next(responses)]) == ["one"]
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(APIConnectionError, match="keepalive") as caught:
            next(responses)
        assert not isinstance(caught.value, IncompleteResponseError)  # the wire's own error
        assert time.monotonic() - started < 2 * KEEPALIVE + SLACK
        grpc.close()


@pytest.mark.usefixtures("quick_keepalive")
async def test_a_half_open_connection_fails_within_the_keepalive_async() -> None:
    with raw_server(one_then_hold) as server, net.freezing_proxy(server.port) as proxy:
        grpc = connect(proxy.port, timeouts=Timeouts(read=30))
        responses = grpc.agenerate(request())
        assert texts([await anext(responses)]) == ["one"]
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(APIConnectionError, match="keepalive"):
            await anext(responses)
        assert time.monotonic() - started < 2 * KEEPALIVE + SLACK
        await grpc.aclose()


# -- GOAWAY ------------------------------------------------------------------------------------


def drain_after_goaway(second_seen: threading.Event | None = None) -> Handler:
    """On the first connection, the first call gets a message, then GOAWAY naming it the last
    stream served (once the second call reached the server, when one is awaited), then the
    rest of its reply; a later call there is never answered. Later connections answer at once."""
    first: list[ServerConnection] = []

    def handle(connection: ServerConnection, call: ServerCall) -> None:
        first.append(connection)
        if connection is not first[0]:
            finish(response("fresh"))(connection, call)
        elif connection.calls[0] is not call:
            if second_seen is not None:
                second_seen.set()
        else:
            connection.headers(call.stream_id)
            connection.message(call.stream_id, response("one"))
            if second_seen is not None:
                second_seen.wait(10)
            connection.goaway(last_stream_id=call.stream_id)
            time.sleep(0.2)
            connection.message(call.stream_id, response("two"))
            connection.status(call.stream_id)

    return handle


def test_goaway_drains_the_call_in_flight_and_the_next_call_reconnects() -> None:
    with raw_server(drain_after_goaway()) as server:
        grpc = connect(server.port)
        assert texts(list(grpc.generate(request()))) == ["one", "two"]
        assert texts(list(grpc.generate(request()))) == ["fresh"]
        assert server.accepted == 2
        grpc.close()


async def test_goaway_drains_calls_below_it_and_retries_those_above_async() -> None:
    second_seen = threading.Event()
    with raw_server(drain_after_goaway(second_seen)) as server:
        grpc = connect(server.port, retries=2)

        async def read() -> list[str]:
            return texts([m async for m in grpc.agenerate(request())])

        first = asyncio.create_task(read())
        await asyncio.sleep(0.2)  # the first call is on the wire before the second
        second = asyncio.create_task(read())
        assert await asyncio.wait_for(first, 10) == ["one", "two"]
        # The server never began the call above its last stream: it is safe to send again,
        # and it goes over a new connection.
        assert await asyncio.wait_for(second, 10) == ["fresh"]
        assert server.accepted == 2
        await grpc.aclose()


# -- oversize messages -------------------------------------------------------------------------

ANNOUNCED = 200 * 1024 * 1024


def announce_a_huge_message(connection: ServerConnection, call: ServerCall) -> None:
    connection.headers(call.stream_id)
    connection.raw(call.stream_id, b"\x00" + ANNOUNCED.to_bytes(4, "big") + b"x" * 16_000)
    hold(connection)


def test_an_oversized_message_fails_from_its_prefix_sync() -> None:
    with raw_server(announce_a_huge_message) as server:
        grpc = connect(server.port)
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(MessageTooLargeError, match=str(ANNOUNCED)):
                list(grpc.generate(request()))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.monotonic() - started < SLACK
        assert peak < 4 * 1024 * 1024  # nothing near the announced size was buffered
        (connection,) = server.connections
        deadline = time.monotonic() + 5
        while not connection.resets and time.monotonic() < deadline:
            time.sleep(0.01)
        assert connection.resets  # the server was told to stop sending
        grpc.close()


async def test_an_oversized_message_fails_from_its_prefix_async() -> None:
    with raw_server(announce_a_huge_message) as server:
        grpc = connect(server.port)
        started = time.monotonic()
        with pytest.raises(MessageTooLargeError):
            _ = [m async for m in grpc.agenerate(request())]
        assert time.monotonic() - started < SLACK
        await grpc.aclose()


def test_a_message_over_a_small_max_message_size() -> None:
    with raw_server(finish(response("x" * 2000))) as server:
        grpc = connect(server.port, max_message_size=1024)
        with pytest.raises(MessageTooLargeError, match="max_message_size"):
            list(grpc.generate(request()))
        grpc.close()
        roomy = connect(server.port, max_message_size=64 * 1024)
        assert texts(list(roomy.generate(request()))) == ["x" * 2000]
        roomy.close()


# -- the same, as a user meets it ----------------------------------------------------------------


@pytest.mark.usefixtures("quick_keepalive")
@pytest.mark.parametrize("streamed", ["stream", "astream"])
def test_a_model_over_a_half_open_connection_fails_with_what_arrived(
    grpc_server: FakeVllmGrpc, streamed: str
) -> None:
    hold = grpc_fake.held(grpc_server)
    grpc_server.script = grpc_fake.say(grpc_server.tokenizer, ["Hello", " there"], then=hold)
    with net.freezing_proxy(grpc_server.port) as proxy:
        chat = ChatVLLM(model="m", base_url=f"grpc://{HOST}:{proxy.port}", timeout=30)
        received: list[str] = []

        def read_sync() -> None:
            for chunk in chat.stream("Hi"):
                received.append(chunk.text)
                if chunk.text == " there":
                    proxy.freeze()

        async def read_async() -> None:
            async for chunk in chat.astream("Hi"):
                received.append(chunk.text)
                if chunk.text == " there":
                    proxy.freeze()

        read = read_sync if streamed == "stream" else lambda: asyncio.run(read_async())
        started = time.monotonic()
        with pytest.raises(IncompleteResponseError, match="keepalive") as caught:
            read()
        assert time.monotonic() - started < 2 * KEEPALIVE + 2 * SLACK
        assert "".join(received) == "Hello there"
        assert caught.value.partial is not None
        assert getattr(caught.value.partial, "content", None) == "Hello there"


def test_the_keeper_outlives_a_connection_closed_under_it() -> None:
    """A connection closed while the keeper holds it in its list (its owner closes it between
    the keeper's snapshot and its visit) must not stop the keeper: other idle connections
    still get their PINGs answered."""
    with (
        raw_server(finish(response("done"))) as first,
        raw_server(answer_then_ping_while_idle()) as second,
    ):
        doomed = channel.Http2Channel(channel.Endpoint(HOST, first.port))
        assert list(doomed.stream(channel.StreamRequest(GENERATE, b"", bytes))) != []
        (pooled,) = doomed._idle  # white box: the race, made certain
        pooled.sock.close()  # closed, and still watched
        grpc = connect(second.port)
        assert texts(list(grpc.generate(request()))) == ["done"]
        time.sleep(PINGING + 0.5)
        (connection,) = second.connections
        assert_answered(connection, ANSWER_WITHIN)
        grpc.close()
