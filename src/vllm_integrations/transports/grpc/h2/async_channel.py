"""``Http2Connection`` for asyncio: connections fed by the event loop, shared by calls (a stream
each, as gRPC clients do), kept per event loop.

Why per loop: a connection belongs to the loop that opened it. A channel used from
``asyncio.run`` again and again, or from threads with loops of their own, opens connections on
each loop; the connections of a loop that closed are closed at their socket (nothing else can
reach them any more). Works on any asyncio loop, uvloop (uvicorn's default) included: the
socket is connected here and handed to the loop, and nothing assumes asyncio's own classes.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vllm_integrations.transports.grpc.h2.channel import (
    KEEPALIVE_TIME,
    KEEPALIVE_TIMEOUT,
    Endpoint,
    StreamRequest,
    check_alpn,
)
from vllm_integrations.transports.grpc.h2.connection import (
    Call,
    CallError,
    cancelled,
    deadline_exceeded,
    keepalive_failed,
    read_timed_out,
)

T = TypeVar("T")


class StreamProtocol(asyncio.Protocol):
    """One connection shared by calls: bytes go to the connection as they arrive and wake the
    calls they moved; each call's reader waits in ``take``. While calls are open, a silent
    connection is PINGed, and closed when the PING goes unanswered."""

    def __init__(self, endpoint: Endpoint, loop: asyncio.AbstractEventLoop, sock: socket.socket):
        self.wire = endpoint.connection()
        self.sock = sock
        self.transport: Any = None  # asyncio's or uvloop's transport
        self._loop = loop
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._last_read = loop.time()
        self._ping_sent = 0.0
        self._keepalive: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.flush()

    def data_received(self, data: bytes) -> None:
        self._last_read = self._loop.time()
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

    def start(self, request: StreamRequest[Any]) -> Call:
        call = request.start(self.wire)
        self.flush()
        if self._keepalive is None:
            self._keepalive = self._loop.call_later(KEEPALIVE_TIME, self._check_alive)
        return call

    def fail(self, call: Call, error: CallError) -> None:
        self.wire.fail(call, error)
        self.flush()
        self._wake(call)

    async def take(self, call: Call) -> list[bytes]:
        """The call's messages since the last take, waiting for some if there are none."""
        if not call.messages and not call.done:
            waiter = self._loop.create_future()
            self._waiters[call.stream_id] = waiter
            try:
                await waiter
            finally:
                self._waiters.pop(call.stream_id, None)
        messages = self.wire.take(call)
        self.flush()  # flow-control credit for what was taken, when due
        return messages

    def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        if self.transport is not None:
            self.transport.close()

    def _check_alive(self) -> None:
        self._keepalive = None
        if not self.wire.calls:
            return  # idle: the loop still reads, so the server's PINGs are answered
        now = self._loop.time()
        if self.wire.ping_outstanding:
            if now < self._ping_sent + KEEPALIVE_TIMEOUT:
                self._keepalive = self._loop.call_at(
                    self._ping_sent + KEEPALIVE_TIMEOUT, self._check_alive
                )
                return
            for call in self.wire.connection_lost(keepalive_failed(KEEPALIVE_TIMEOUT)):
                self._wake(call)
            self.close()
            return
        if now >= self._last_read + KEEPALIVE_TIME:
            self.wire.ping()
            self._ping_sent = now
            self.flush()
            self._keepalive = self._loop.call_later(KEEPALIVE_TIMEOUT, self._check_alive)
        else:
            self._keepalive = self._loop.call_at(
                self._last_read + KEEPALIVE_TIME, self._check_alive
            )

    def _wake(self, call: Call) -> None:
        waiter = self._waiters.get(call.stream_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


@dataclass
class _LoopConnections:
    connections: list[StreamProtocol] = field(default_factory=list)
    opening: asyncio.Future[None] | None = None


class AsyncHttp2Channel:
    """HTTP/2 connections to ``endpoint`` for asyncio calls, a set per event loop; calls on a
    loop share a connection while the server's stream limit allows."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._loops: dict[asyncio.AbstractEventLoop, _LoopConnections] = {}
        self._lock = threading.Lock()

    async def stream(self, request: StreamRequest[T]) -> AsyncGenerator[T, None]:
        """As ``Http2Channel.stream``; a cancelled task or ``aclose()`` cancels the call."""
        loop = asyncio.get_running_loop()
        deadline = None if request.total is None else loop.time() + request.total
        connection = await self._connection(loop, deadline)
        call = connection.start(request)
        timers = _CallTimers(loop, connection, call, request.read, deadline)
        try:
            while True:
                done = call.done  # read before taking: messages that came with the end count
                messages = await connection.take(call)
                if messages:
                    timers.message_came()
                for message in messages:
                    yield request.parsed(message)
                if done:
                    break
            if call.error is not None:
                raise call.error
        finally:
            timers.cancel()
            if not call.done:
                connection.fail(call, cancelled())

    async def aclose(self) -> None:
        """Close this loop's connections (calls still on them fail as UNAVAILABLE)."""
        with self._lock:
            mine = self._loops.pop(asyncio.get_running_loop(), _LoopConnections())
        for connection in mine.connections:
            connection.close()

    def close(self) -> None:
        """Close the connections of loops that have closed (no loop can reach them now)."""
        with self._lock:
            closed = [loop for loop in self._loops if loop.is_closed()]
            gone = [self._loops.pop(loop) for loop in closed]
        for connections in gone:
            for connection in connections.connections:
                connection.sock.close()

    async def _connection(
        self, loop: asyncio.AbstractEventLoop, deadline: float | None
    ) -> StreamProtocol:
        """A connection with room for one more call: a current one, or a new one (calls that
        arrive while it opens wait for it rather than each opening their own)."""
        self.close()
        with self._lock:
            mine = self._loops.setdefault(loop, _LoopConnections())
        while True:
            for connection in mine.connections:
                if connection.wire.has_room:
                    return connection
            if mine.opening is None:
                return await self._open(loop, mine, deadline)
            await asyncio.shield(mine.opening)

    async def _open(
        self, loop: asyncio.AbstractEventLoop, mine: _LoopConnections, deadline: float | None
    ) -> StreamProtocol:
        mine.opening = opening = loop.create_future()
        endpoint = self._endpoint
        timeout = endpoint.connect_timeout
        if deadline is not None:
            timeout = min(timeout, max(deadline - loop.time(), 0.001))
        try:
            async with asyncio.timeout(timeout):
                connection = await _connect(loop, endpoint)
        except TimeoutError:
            raise deadline_exceeded() from None
        except OSError as error:
            raise endpoint.unreachable(error) from None
        finally:
            mine.opening = None
            opening.set_result(None)
        # Connections that take no more calls and carry none are done with.
        for old in mine.connections:
            if not old.wire.reusable and not old.wire.calls:
                old.close()
        mine.connections = [c for c in mine.connections if c.wire.reusable or c.wire.calls]
        mine.connections.append(connection)
        return connection


async def _connect(loop: asyncio.AbstractEventLoop, endpoint: Endpoint) -> StreamProtocol:
    """A TCP (and TLS) connection made here, so that this channel holds its socket."""
    infos = await loop.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    failure: OSError = OSError(f"no address for {endpoint.host}")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as error:
            sock.close()
            failure = error
            continue
        except BaseException:
            sock.close()
            raise
        break
    else:
        raise failure
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        _, connection = await loop.create_connection(
            lambda: StreamProtocol(endpoint, loop, sock),
            sock=sock,
            ssl=endpoint.tls,
            server_hostname=endpoint.host if endpoint.tls else None,
        )
    except BaseException:
        sock.close()
        raise
    if endpoint.tls is not None:
        try:
            check_alpn(connection.transport.get_extra_info("ssl_object"), endpoint)
        except CallError:
            # The loop's transport holds the socket now: closing the socket alone would leave
            # its file descriptor registered with the loop, and the next connection given the
            # same number would be refused ("File descriptor ... is used by transport").
            connection.transport.abort()
            raise
    return connection


class _CallTimers:
    """The call's deadline and read timeout, each one timer (the read timer is moved only when
    it fires, so a message costs a float store, not a new timer)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connection: StreamProtocol,
        call: Call,
        read: float | None,
        deadline: float | None,
    ) -> None:
        self._loop, self._connection, self._call, self._read = loop, connection, call, read
        self._last_message = loop.time()
        self._deadline = (
            None
            if deadline is None
            else loop.call_at(deadline, connection.fail, call, deadline_exceeded())
        )
        self._reader = None if read is None else loop.call_later(read, self._read_due)

    def message_came(self) -> None:
        self._last_message = self._loop.time()

    def _read_due(self) -> None:
        assert self._read is not None
        due = self._last_message + self._read
        if self._loop.time() >= due:
            self._reader = None
            self._connection.fail(self._call, read_timed_out(self._read))
        else:
            self._reader = self._loop.call_at(due, self._read_due)

    def cancel(self) -> None:
        for timer in (self._deadline, self._reader):
            if timer is not None:
                timer.cancel()
