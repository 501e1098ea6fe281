"""Our HTTP/2 reader's connections that never carry a call, or outlive their event loop: a
connect to a black hole is bounded by the connect timeout, a connection closed before ALPN (or
the HTTP/2 preface) is a connection error at once, and no socket is left open when ALPN fails
or when the event loop that opened a connection closes."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import pytest
import trustme

from tests.unit.faults import net
from tests.unit.faults.h2_fake import connect, finish, raw_server, request, response, texts
from vllm_integrations.errors import APIConnectionError, APITimeoutError
from vllm_integrations.settings import Timeouts

# A thread of ours that dies fails the test that saw it die.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

HOST = net.HOST
SLACK = 1.0


def test_connect_timeout_to_a_black_hole() -> None:
    with net.black_hole() as port:
        grpc = connect(port, timeouts=Timeouts(read=10, connect=0.5))
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            list(grpc.generate(request()))

        async def once() -> None:
            with pytest.raises(APITimeoutError):
                _ = [m async for m in grpc.agenerate(request())]

        asyncio.run(once())
        assert time.monotonic() - started < 2 * 0.5 + 2 * SLACK
        grpc.close()


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def server_tls(authority: trustme.CA, alpn: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(HOST).configure_cert(context)
    context.set_alpn_protocols(alpn)
    return context


def close_at_once(sock: Any) -> bool:
    sock.close()
    return False


@pytest.mark.parametrize("secure", [True, False], ids=["grpcs", "grpc"])
def test_a_connection_closed_before_alpn_or_preface(authority: trustme.CA, secure: bool) -> None:
    roots = authority.cert_pem.bytes() if secure else None
    with raw_server(finish(), on_accept=close_at_once) as server:
        grpc = connect(server.port, tls=roots)
        started = time.monotonic()
        with pytest.raises(APIConnectionError):
            list(grpc.generate(request()))
        assert time.monotonic() - started < SLACK

        async def once() -> None:
            with pytest.raises(APIConnectionError):
                _ = [m async for m in grpc.agenerate(request())]

        asyncio.run(once())
        assert time.monotonic() - started < 2 * SLACK
        grpc.close()


def test_sockets_closed_when_alpn_fails(authority: trustme.CA) -> None:
    roots = authority.cert_pem.bytes()
    tls = server_tls(authority, ["http/1.1"])
    with raw_server(finish(), tls=tls) as server:
        grpc = connect(server.port, tls=roots)
        for _ in range(5):
            with pytest.raises(APIConnectionError, match="HTTP/2"):
                list(grpc.generate(request()))

        async def attempts() -> None:
            for _ in range(5):
                with pytest.raises(APIConnectionError, match="HTTP/2"):
                    _ = [m async for m in grpc.agenerate(request())]

        asyncio.run(attempts())
        assert net.sockets_to(server.port) == 0
        grpc.close()


def test_no_socket_of_a_closed_event_loop_is_left_open() -> None:
    with raw_server(finish(response("done"))) as server:
        grpc = connect(server.port)

        async def once() -> list[str]:
            return texts([m async for m in grpc.agenerate(request())])

        for run in range(5):
            assert asyncio.run(once()) == ["done"]
            # At most the connection of the loop that just closed is still open: each new
            # loop closes those of the loops before it.
            assert net.sockets_to(server.port) <= 1, run
            older = server.connections[:-1]
            assert all(c.closed.wait(2) for c in older), run  # the server saw them close
        grpc.close()  # closes the last closed loop's connection too
        assert net.sockets_to(server.port) == 0
        assert all(c.closed.wait(5) for c in server.connections)
        assert server.accepted == 5
