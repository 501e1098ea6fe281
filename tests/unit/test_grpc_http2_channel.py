"""Our HTTP/2 channels against grpcio's own server, for what vLLM does not do on demand: stall
mid-stream, fail with a chosen status, send or take very large messages, restart between
calls, or speak TLS. Each test checks what the server saw as well as what the client got."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import trustme

from vllm_integrations.transports.grpc.h2.async_channel import AsyncHttp2Channel
from vllm_integrations.transports.grpc.h2.channel import (
    Endpoint,
    Http2Channel,
    StreamRequest,
    tls_context,
)
from vllm_integrations.transports.grpc.h2.connection import CallError

PATH = "/vllm.grpc.engine.VllmEngine/Generate"
HOST = "127.0.0.1"
BIG = 300_000  # bytes: many HTTP/2 frames, past the default flow-control window


def call(
    message: bytes, timeout: float | None = None, read: float | None = None
) -> StreamRequest[bytes]:
    """A call of the Generate path whose responses are left as bytes; ``timeout`` is the whole
    call's deadline, ``read`` the longest wait for each message."""
    return StreamRequest(PATH, message, bytes, read=read, total=timeout)


@dataclass
class Seen:
    """What the server saw: the peer of each call, and the calls it saw cancelled."""

    peers: list[str] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)


def _generate(seen: Seen) -> Any:
    def generate(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        seen.peers.append(context.peer())
        kind, _, argument = request.partition(b":")
        if kind == b"count":
            yield from (str(n).encode() for n in range(int(argument)))
        elif kind == b"echo-size":
            yield str(len(request)).encode()
            yield b"x" * BIG
        elif kind == b"fail":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad regex: 100% sure \u2713")
        elif kind == b"stall":
            # grpcio runs this when the call ends; a stalled call ends only if it is cancelled
            # (it may never resume the generator then, so a check after the loop could miss it).
            context.add_callback(seen.cancelled.set)
            yield b"first"
            deadline = time.monotonic() + 30
            while context.is_active() and time.monotonic() < deadline:
                time.sleep(0.01)

    return grpc.unary_stream_rpc_method_handler(generate)


@contextmanager
def grpc_server(
    port: int = 0, credentials: grpc.ServerCredentials | None = None
) -> Iterator[tuple[int, Seen]]:
    seen = Seen()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    service = grpc.method_handlers_generic_handler(
        "vllm.grpc.engine.VllmEngine", {"Generate": _generate(seen)}
    )
    server.add_generic_rpc_handlers((service,))
    address = f"{HOST}:{port}"
    bound = (
        server.add_secure_port(address, credentials)
        if credentials
        else server.add_insecure_port(address)
    )
    server.start()
    try:
        yield bound, seen
    finally:
        server.stop(grace=None).wait()


@pytest.fixture
def server() -> Iterator[tuple[int, Seen]]:
    with grpc_server() as running:
        yield running


def test_messages_in_order_and_the_connection_is_reused(server: tuple[int, Seen]) -> None:
    port, seen = server
    channel = Http2Channel(Endpoint(HOST, port))
    assert list(channel.stream(call(b"count:50"))) == [str(n).encode() for n in range(50)]
    assert list(channel.stream(call(b"count:3"))) == [b"0", b"1", b"2"]
    assert len(seen.peers) == 2
    assert seen.peers[0] == seen.peers[1]
    channel.close()


def test_large_messages_both_ways(server: tuple[int, Seen]) -> None:
    port, _ = server
    channel = Http2Channel(Endpoint(HOST, port))
    request = b"echo-size:" + b"y" * (4 * BIG)
    size, big = list(channel.stream(call(request)))
    assert int(size) == len(request)
    assert big == b"x" * BIG
    channel.close()


def test_error_status_with_the_servers_message(server: tuple[int, Seen]) -> None:
    port, _ = server
    channel = Http2Channel(Endpoint(HOST, port))
    with pytest.raises(CallError) as caught:
        list(channel.stream(call(b"fail")))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "bad regex: 100% sure \u2713"
    assert list(channel.stream(call(b"count:1"))) == [b"0"]
    channel.close()


def test_deadline_ends_a_stalled_stream_and_the_server_sees_it(server: tuple[int, Seen]) -> None:
    port, seen = server
    channel = Http2Channel(Endpoint(HOST, port))
    started = time.monotonic()
    with pytest.raises(CallError) as caught:
        list(channel.stream(call(b"stall", timeout=0.5)))
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 5
    assert seen.cancelled.wait(10)
    channel.close()


def test_leaving_early_cancels_on_the_server_and_keeps_the_connection(
    server: tuple[int, Seen],
) -> None:
    port, seen = server
    channel = Http2Channel(Endpoint(HOST, port))
    responses = channel.stream(call(b"stall"))
    assert next(responses) == b"first"
    responses.close()
    assert seen.cancelled.wait(10)
    assert list(channel.stream(call(b"count:2"))) == [b"0", b"1"]
    assert seen.peers[0] == seen.peers[1]
    channel.close()


def test_a_restarted_server_gets_a_new_connection() -> None:
    with grpc_server() as (port, _):
        channel = Http2Channel(Endpoint(HOST, port))
        assert list(channel.stream(call(b"count:1"))) == [b"0"]
    with grpc_server(port) as (_, seen):
        assert list(channel.stream(call(b"count:1"))) == [b"0"]
        assert len(seen.peers) == 1
    channel.close()


def test_nobody_listening_is_unavailable() -> None:
    with grpc_server() as (port, _):
        pass
    channel = Http2Channel(Endpoint(HOST, port))
    with pytest.raises(CallError) as caught:
        list(channel.stream(call(b"count:1")))
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert f"{HOST}:{port}" in caught.value.details()


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(authority: trustme.CA) -> Iterator[tuple[int, Seen]]:
    cert = authority.issue_cert(HOST)
    credentials = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())]
    )
    with grpc_server(credentials=credentials) as running:
        yield running


def test_tls_with_the_servers_root_certificate(
    tls_server: tuple[int, Seen], authority: trustme.CA
) -> None:
    port, _ = tls_server
    channel = Http2Channel(Endpoint(HOST, port, tls_context(authority.cert_pem.bytes())))
    assert list(channel.stream(call(b"count:2"))) == [b"0", b"1"]
    channel.close()


def test_tls_refuses_an_unknown_certificate(tls_server: tuple[int, Seen]) -> None:
    port, seen = tls_server
    channel = Http2Channel(Endpoint(HOST, port, tls_context(None)))
    with pytest.raises(CallError) as caught:
        list(channel.stream(call(b"count:2")))
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "certificate" in caught.value.details().lower()
    assert seen.peers == []


async def test_async_streams_errors_and_reuse(server: tuple[int, Seen]) -> None:
    port, seen = server
    channel = AsyncHttp2Channel(Endpoint(HOST, port))
    got = [m async for m in channel.stream(call(b"count:20"))]
    assert got == [str(n).encode() for n in range(20)]
    with pytest.raises(CallError) as caught:
        _ = [m async for m in channel.stream(call(b"fail"))]
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    request = b"echo-size:" + b"y" * (4 * BIG)
    size, big = [m async for m in channel.stream(call(request))]
    assert int(size) == len(request)
    assert big == b"x" * BIG
    assert len(set(seen.peers)) == 1
    await channel.aclose()


async def test_async_deadline_and_task_cancel_reach_the_server(
    authority: trustme.CA, tls_server: tuple[int, Seen]
) -> None:
    port, seen = tls_server
    channel = AsyncHttp2Channel(Endpoint(HOST, port, tls_context(authority.cert_pem.bytes())))
    with pytest.raises(CallError) as caught:
        _ = [m async for m in channel.stream(call(b"stall", timeout=0.5))]
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert await asyncio.to_thread(seen.cancelled.wait, 10)
    seen.cancelled.clear()

    first = asyncio.Event()

    async def read_all() -> None:
        async for _ in channel.stream(call(b"stall")):
            first.set()

    task = asyncio.create_task(read_all())
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(seen.cancelled.wait, 10)
    await channel.aclose()


async def test_many_concurrent_async_streams_share_one_connection(
    server: tuple[int, Seen],
) -> None:
    port, seen = server
    channel = AsyncHttp2Channel(Endpoint(HOST, port))

    async def one(n: int) -> list[bytes]:
        return [m async for m in channel.stream(call(f"count:{n}".encode()))]

    results = await asyncio.gather(*(one(n % 7 + 1) for n in range(64)))
    assert results == [[str(k).encode() for k in range(n % 7 + 1)] for n in range(64)]
    assert len(set(seen.peers)) == 1  # one connection, a stream per call
    await channel.aclose()
