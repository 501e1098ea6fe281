"""Sockets for ``Http2Connection``: HTTP/2 connections to one server for sync callers (plain
sockets read in the caller's thread) and for asyncio (a protocol fed by the event loop).

Why: this is the hot path of every streamed generation. A sync connection is lent to one call
at a time and comes back to a pool when the call ends, even when it was left early (its stream
is reset, the connection stays good), so no thread hands messages to another. Asyncio calls
share connections, a stream each, as gRPC clients do. Both keep a connection honest: a call
waits at most ``read`` seconds for its next message, a connection silent for
``KEEPALIVE_TIME`` while a call waits on it gets a PING and is dead without an answer within
``KEEPALIVE_TIMEOUT``, and the server's own PINGs are answered even while the caller is slow
to read or the connection sits idle in the pool (``keeper``).
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc

from vllm_integrations.transports.grpc.h2 import keeper
from vllm_integrations.transports.grpc.h2.connection import (
    Call,
    CallError,
    Http2Connection,
    cancelled,
    deadline_exceeded,
    keepalive_failed,
    read_timed_out,
    unavailable,
)

T = TypeVar("T")
_READ_SIZE = 256 * 1024
KEEPALIVE_TIME = 30.0
"""Seconds a connection may be silent while a call waits on it before it is PINGed (vLLM's
server takes PINGs every 10 s; gRPC servers commonly allow 30 s)."""
KEEPALIVE_TIMEOUT = 20.0
"""Seconds to wait for any answer to that PING before the connection counts as dead."""


@dataclass(frozen=True)
class StreamRequest(Generic[T]):
    """One server-streaming call: the method's ``path``, the serialized request, how to read
    each response, the longest wait for each message (``read``), the whole call's deadline in
    seconds from its start (``total``), and the metadata."""

    path: str
    message: bytes
    parse: Callable[[bytes], T]
    read: float | None = None
    total: float | None = None
    metadata: Mapping[str, str] | None = None

    def start(self, wire: Http2Connection) -> Call:
        return wire.start(self.path, self.message, metadata=self.metadata, timeout=self.total)

    def parsed(self, message: bytes) -> T:
        try:
            return self.parse(message)
        except Exception as error:  # a corrupt message: the call's error, not the caller's
            raise CallError(
                grpc.StatusCode.INTERNAL, f"a message the client cannot decode: {error}"
            ) from None


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens, how to reach it (TLS when the URL was ``grpcs://``, the connect
    timeout) and the largest message taken from it."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    connect_timeout: float = 10.0
    max_message_size: int = 4 * 1024 * 1024

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def unreachable(self, error: BaseException) -> CallError:
        return unavailable(f"could not connect to {self.authority}: {error}")

    def connection(self) -> Http2Connection:
        return Http2Connection(
            self.authority, secure=self.tls is not None, max_message_size=self.max_message_size
        )


def tls_context(root_certificates: bytes | None) -> ssl.SSLContext:
    """TLS verified against ``root_certificates`` (PEM) or the system's roots, speaking h2."""
    context = ssl.create_default_context(
        cadata=root_certificates.decode() if root_certificates else None
    )
    context.set_alpn_protocols(["h2"])
    return context


def check_alpn(ssl_object: Any, endpoint: Endpoint) -> None:
    if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
        raise unavailable(f"{endpoint.authority} did not agree to speak HTTP/2 over TLS")


class SyncConnection:
    """A socket and the connection on it, used by one call at a time. ``lock`` is held while
    the connection is read or written: by the caller, or by the keeper while the caller is away."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.wire = endpoint.connection()
        self.last_read = time.monotonic()
        self._ping_sent = 0.0
        self.sock.sendall(self.wire.outgoing())
        keeper.watch(self)

    @classmethod
    def open(cls, endpoint: Endpoint, deadline: float | None) -> SyncConnection:
        timeout = endpoint.connect_timeout
        if deadline is not None:
            timeout = min(timeout, max(deadline - time.monotonic(), 0.001))
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        except TimeoutError:
            raise deadline_exceeded() from None
        except OSError as error:
            raise endpoint.unreachable(error) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if endpoint.tls is not None:
                sock = endpoint.tls.wrap_socket(sock, server_hostname=endpoint.host)
                check_alpn(sock, endpoint)
            return cls(sock, endpoint)
        except CallError:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            raise endpoint.unreachable(error) from None

    def responses(self, request: StreamRequest[T], deadline: float | None) -> Iterator[T]:
        """The call's responses, read from the socket as the caller asks for them."""
        with self.lock:
            call = request.start(self.wire)
            self._flush()
        last_message = time.monotonic()
        try:
            while True:
                with self.lock:
                    done = call.done  # read before taking: messages that came with the end count
                    messages = self.wire.take(call)
                if messages:
                    last_message = time.monotonic()
                for message in messages:
                    yield request.parsed(message)
                if done:
                    break
                self._wait(call, request.read, last_message, deadline)
            if call.error is not None:
                raise call.error
        finally:
            if not call.done:  # left early: closed, or an exception in the caller
                with self.lock:
                    self.wire.fail(call, cancelled())
                    self._flush()

    def _wait(
        self, call: Call, read: float | None, last_message: float, deadline: float | None
    ) -> None:
        """Block until bytes arrive for ``call``, or fail it when a limit passes."""
        with self.lock:
            if call.done or call.messages:  # the keeper read them while the caller was away
                return
            now = time.monotonic()
            limits = [(deadline, deadline_exceeded)]
            if read is not None:
                limits.append((last_message + read, lambda: read_timed_out(read)))
            for at, error in limits:
                if at is not None and now >= at:
                    self.wire.fail(call, error())
                    self._flush()
                    return
            wake = min([at for at, _ in limits if at is not None] + [self._keepalive(now)])
            self._flush()
            if call.done:  # the keepalive found the connection dead
                return
            self.sock.settimeout(max(wake - now, 0.001))
            try:
                data = self.sock.recv(_READ_SIZE)
            except TimeoutError:
                return  # a limit or the keepalive is due: the next wait acts on it
            except OSError:
                data = b""
            self._take_in(data)

    def _keepalive(self, now: float) -> float:
        """PING a connection silent too long; declare it dead when the PING goes unanswered.
        Returns when the keepalive next needs the caller's attention."""
        if self.wire.ping_outstanding:
            if now >= self._ping_sent + KEEPALIVE_TIMEOUT:
                self.wire.connection_lost(keepalive_failed(KEEPALIVE_TIMEOUT))
                return now
            return self._ping_sent + KEEPALIVE_TIMEOUT
        if now >= self.last_read + KEEPALIVE_TIME:
            self.wire.ping()
            self._ping_sent = now
            return now + KEEPALIVE_TIMEOUT
        return self.last_read + KEEPALIVE_TIME

    def _take_in(self, data: bytes) -> None:
        if data:
            self.last_read = time.monotonic()
            self.wire.feed(data)
            self._flush()
        else:
            self.wire.connection_lost()

    def _flush(self) -> None:
        data = self.wire.outgoing()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.wire.connection_lost()

    def service(self) -> None:
        """Take in what the server sent while nobody read (PINGs answered, a goodbye, messages
        kept for their call). Call with ``lock`` held."""
        if self.sock.fileno() < 0:
            return  # closed (the keeper may visit a connection closed since it listed them)
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return
        self.sock.settimeout(0)
        try:
            data: bytes | None = self.sock.recv(_READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError):
            data = None
        except OSError:
            data = b""
        finally:
            self.sock.settimeout(None)
        if data is not None:
            self._take_in(data)

    def usable(self) -> bool:
        """Whether the pooled connection can take a call (the server's news taken in first)."""
        with self.lock:
            self.service()
            return self.wire.reusable

    def close(self) -> None:
        keeper.forget(self)
        with self.lock:  # never under the keeper's read
            self.sock.close()


class Http2Channel:
    """HTTP/2 connections to ``endpoint`` for sync calls, opened on demand and reused."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._idle: list[SyncConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def stream(self, request: StreamRequest[T]) -> Generator[T, None, None]:
        """The call's responses; closing the generator early cancels the call on the server.
        A non-OK status (or a limit passed) raises ``CallError``."""
        total = request.total
        deadline = None if total is None else time.monotonic() + total
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
            connection.close()

    def _checkout(self, deadline: float | None) -> SyncConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return SyncConnection.open(self._endpoint, deadline)
            if connection.usable():
                return connection
            connection.close()

    def _checkin(self, connection: SyncConnection) -> None:
        with self._lock:
            if connection.wire.reusable and not self._closed:
                self._idle.append(connection)
                return
        connection.close()
