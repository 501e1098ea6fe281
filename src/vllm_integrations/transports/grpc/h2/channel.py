"""Sockets for ``Http2Connection``: HTTP/2 connections to one server for sync callers (plain
sockets read in the caller's thread) and for asyncio (a protocol fed by the event loop).

Why: this is the hot path of every streamed generation. A sync connection is lent to one call
at a time and comes back to a pool when the call ends, even when it was left early (its stream
is reset, the connection stays good), so no thread hands messages to another. Asyncio calls
share connections, a stream each, as gRPC clients do.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vllm_integrations.transports.grpc.h2.connection import (
    Call,
    CallError,
    Http2Connection,
    cancelled,
    deadline_exceeded,
    unavailable,
)

T = TypeVar("T")
_READ_SIZE = 256 * 1024


@dataclass(frozen=True)
class StreamRequest(Generic[T]):
    """One server-streaming call: the method's ``path``, the serialized request, how to read
    each response, the deadline in seconds and the metadata."""

    path: str
    message: bytes
    parse: Callable[[bytes], T]
    timeout: float | None = None
    metadata: Mapping[str, str] | None = None

    def start(self, wire: Http2Connection) -> Call:
        return wire.start(self.path, self.message, metadata=self.metadata, timeout=self.timeout)


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens, and the TLS context when the URL was ``grpcs://``."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def unreachable(self, error: BaseException) -> CallError:
        return unavailable(f"could not connect to {self.authority}: {error}")


def tls_context(root_certificates: bytes | None) -> ssl.SSLContext:
    """TLS verified against ``root_certificates`` (PEM) or the system's roots, speaking h2."""
    context = ssl.create_default_context(
        cadata=root_certificates.decode() if root_certificates else None
    )
    context.set_alpn_protocols(["h2"])
    return context


def _check_alpn(ssl_object: Any, endpoint: Endpoint) -> None:
    if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
        raise unavailable(f"{endpoint.authority} did not agree to speak HTTP/2 over TLS")


class _SyncConnection:
    """A socket and the connection on it, used by one call at a time."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self.sock = sock
        self.wire = Http2Connection(endpoint.authority, secure=endpoint.tls is not None)
        self.sock.sendall(self.wire.outgoing())

    @classmethod
    def open(cls, endpoint: Endpoint, deadline: float | None) -> _SyncConnection:
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if endpoint.tls is not None:
                sock = endpoint.tls.wrap_socket(sock, server_hostname=endpoint.host)
                _check_alpn(sock, endpoint)
            return cls(sock, endpoint)
        except TimeoutError:
            raise deadline_exceeded() from None
        except OSError as error:
            raise endpoint.unreachable(error) from None

    def responses(self, request: StreamRequest[T], deadline: float | None) -> Iterator[T]:
        """The call's responses, read from the socket as the caller asks for them."""
        call = request.start(self.wire)
        try:
            self.sock.settimeout(None)
            while True:
                done = call.done  # read before taking: messages that came with the end count
                for response in self.wire.take(call):
                    yield request.parse(response)
                if done:
                    break
                self.read(call, deadline)
            if call.error is not None:
                raise call.error
        finally:
            if not call.done:  # left early: closed, or an exception in the caller
                self.wire.fail(call, cancelled())
                self.flush()

    def read(self, call: Call, deadline: float | None) -> None:
        """Send what is due (flow-control credit for what the caller took, ping answers), then
        block for the next bytes (until ``deadline``) and feed them to the connection."""
        self.flush()
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._expire(call)
            self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(_READ_SIZE)
        except TimeoutError:
            return self._expire(call)
        except OSError:
            data = b""
        if data:
            self.wire.feed(data)
        else:
            self.wire.connection_lost()
        return None

    def _expire(self, call: Call) -> None:
        self.wire.fail(call, deadline_exceeded())
        self.flush()  # the reset tells the server at once

    def flush(self) -> None:
        data = self.wire.outgoing()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.wire.connection_lost()

    def still_open(self) -> bool:
        """Take in what the server sent while the connection was idle (pings, a goodbye)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if readable:
            self.sock.settimeout(0)
            try:
                data = self.sock.recv(_READ_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                return False
            if data:
                self.wire.feed(data)
            self.sock.settimeout(None)
            self.flush()
        return self.wire.reusable


class Http2Channel:
    """HTTP/2 connections to ``endpoint`` for sync calls, opened on demand and reused."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._idle: list[_SyncConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def stream(self, request: StreamRequest[T]) -> Generator[T, None, None]:
        """The call's responses; closing the generator early cancels the call on the server.
        A non-OK status raises ``CallError``."""
        timeout = request.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        connection = self._checkout(deadline)
        try:
            yield from connection.responses(request, deadline)
        finally:
            self._checkin(connection)

    def close(self) -> None:
        """Close the idle connections now, and those in use when their calls end."""
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.sock.close()

    def _checkout(self, deadline: float | None) -> _SyncConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return _SyncConnection.open(self._endpoint, deadline)
            if connection.still_open():
                return connection
            connection.sock.close()

    def _checkin(self, connection: _SyncConnection) -> None:
        with self._lock:
            if connection.wire.reusable and not self._closed:
                self._idle.append(connection)
                return
        connection.sock.close()


class _StreamProtocol(asyncio.Protocol):
    """One asyncio connection shared by calls: bytes go to the connection as they arrive and
    wake the calls they moved; each call's reader waits in ``take``."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.wire = Http2Connection(endpoint.authority, secure=endpoint.tls is not None)
        self.transport: asyncio.Transport | None = None
        self._waiters: dict[int, asyncio.Future[None]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.flush()

    def data_received(self, data: bytes) -> None:
        moved = self.wire.feed(data)
        self.flush()
        for call in moved:
            self._wake(call)

    def connection_lost(self, exc: Exception | None) -> None:
        for call in self.wire.connection_lost():
            self._wake(call)

    def flush(self) -> None:
        data = self.wire.outgoing()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def fail(self, call: Call, error: CallError) -> None:
        self.wire.fail(call, error)
        self.flush()
        self._wake(call)

    async def take(self, call: Call) -> list[bytes]:
        """The call's messages since the last take, waiting for some if there are none."""
        if not call.messages and not call.done:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[call.stream_id] = waiter
            try:
                await waiter
            finally:
                self._waiters.pop(call.stream_id, None)
        messages = self.wire.take(call)
        self.flush()  # flow-control credit for what was taken, when due
        return messages

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _wake(self, call: Call) -> None:
        waiter = self._waiters.get(call.stream_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class AsyncHttp2Channel:
    """HTTP/2 connections to ``endpoint`` for asyncio calls, on the loop that opened them;
    calls share a connection while the server's stream limit allows."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._connections: list[_StreamProtocol] = []
        self._opening: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def stream(self, request: StreamRequest[T]) -> AsyncGenerator[T, None]:
        """As ``Http2Channel.stream``; a cancelled task or ``aclose()`` cancels the call."""
        loop = asyncio.get_running_loop()
        timeout = request.timeout
        deadline = None if timeout is None else loop.time() + timeout
        connection = await self._connection(loop, deadline)
        call = request.start(connection.wire)
        connection.flush()
        expiry = (
            None
            if deadline is None
            else loop.call_at(deadline, connection.fail, call, deadline_exceeded())
        )
        try:
            while True:
                done = call.done  # read before taking: messages that came with the end count
                for response in await connection.take(call):
                    yield request.parse(response)
                if done:
                    break
            if call.error is not None:
                raise call.error
        finally:
            if expiry is not None:
                expiry.cancel()
            if not call.done:
                connection.fail(call, cancelled())

    async def aclose(self) -> None:
        """Close every connection (calls still on them fail as UNAVAILABLE)."""
        connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    async def _connection(
        self, loop: asyncio.AbstractEventLoop, deadline: float | None
    ) -> _StreamProtocol:
        """A connection with room for one more call: a current one, or a new one (calls that
        arrive while it opens wait for it rather than each opening their own)."""
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._loop, self._connections, self._opening = loop, [], None
        while True:
            for connection in self._connections:
                if connection.wire.has_room:
                    return connection
            if self._opening is None:
                return await self._open(loop, deadline)
            await asyncio.shield(self._opening)

    async def _open(
        self, loop: asyncio.AbstractEventLoop, deadline: float | None
    ) -> _StreamProtocol:
        self._opening = opening = loop.create_future()
        endpoint = self._endpoint
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: _StreamProtocol(endpoint),
                    endpoint.host,
                    endpoint.port,
                    ssl=endpoint.tls,
                    server_hostname=endpoint.host if endpoint.tls else None,
                )
            if connection.transport is not None:
                _check_alpn(connection.transport.get_extra_info("ssl_object"), endpoint)
        except TimeoutError:
            raise deadline_exceeded() from None
        except OSError as error:
            raise endpoint.unreachable(error) from None
        finally:
            self._opening = None
            opening.set_result(None)
        # Connections that take no more calls and carry none are done with.
        for old in self._connections:
            if not old.wire.reusable and not old.wire.calls:
                old.close()
        self._connections = [c for c in self._connections if c.wire.reusable or c.wire.calls]
        self._connections.append(connection)
        return connection
