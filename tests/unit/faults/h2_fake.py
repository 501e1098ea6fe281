"""A raw gRPC-over-HTTP/2 server on loopback, written on the ``h2`` state machine, for what a
gRPC server library will not do on demand: PING the client at will and time its answers, say
GOAWAY mid-call and keep serving the calls below it, send a message prefix announcing 200 MiB,
close a connection before TLS or HTTP/2 begin, or refuse to agree on ALPN.

Why by hand: grpcio's server hides its HTTP/2 frames. Each call runs ``handler(connection,
call)`` in a thread of its own; the handler writes frames through ``ServerConnection``. The
client side (``connect``, ``request``) is the gRPC transport's own ``Connection``.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events

from vllm_integrations.settings import Timeouts
from vllm_integrations.transports import TransportOptions
from vllm_integrations.transports.grpc import wire
from vllm_integrations.transports.grpc.connection import Connection

HOST = "127.0.0.1"


@dataclass
class ServerCall:
    stream_id: int
    path: str
    metadata: dict[str, str]
    body: bytes = b""


@dataclass
class ServerConnection:
    """One accepted connection; every method is safe from any thread."""

    sock: socket.socket
    h2: h2.connection.H2Connection
    lock: threading.Lock = field(default_factory=threading.Lock)
    pings: dict[bytes, float] = field(default_factory=dict)
    """When each of our PINGs was sent, by its payload."""
    acks: dict[bytes, float] = field(default_factory=dict)
    """When the client answered each."""
    resets: list[int] = field(default_factory=list)
    calls: list[ServerCall] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)

    def _send(self, act: Callable[[], None]) -> None:
        with self.lock:
            act()
            data = self.h2.data_to_send()
        with suppress(OSError):
            self.sock.sendall(data)

    def headers(self, stream_id: int) -> None:
        headers = [(":status", "200"), ("content-type", "application/grpc")]
        self._send(lambda: self.h2.send_headers(stream_id, headers))

    def message(self, stream_id: int, payload: bytes) -> None:
        framed = b"\x00" + len(payload).to_bytes(4, "big") + payload
        self.raw(stream_id, framed)

    def raw(self, stream_id: int, data: bytes) -> None:
        """Bytes on the stream as they are (a bare length prefix, a cut message)."""
        self._send(lambda: self.h2.send_data(stream_id, data))

    def status(self, stream_id: int, code: int = 0, message: str = "") -> None:
        trailers = [("grpc-status", str(code))]
        if message:
            trailers.append(("grpc-message", message))
        self._send(lambda: self.h2.send_headers(stream_id, trailers, end_stream=True))

    def ping(self) -> bytes:
        payload = f"{len(self.pings):08d}".encode()
        self.pings[payload] = time.monotonic()
        self._send(lambda: self.h2.ping(payload))
        return payload

    def goaway(self, last_stream_id: int) -> None:
        """Say GOAWAY and go on serving the streams up to ``last_stream_id``, as a server that
        drains does (h2 closes its side at once; its state is put back to go on)."""

        def say_goodbye() -> None:
            self.h2.close_connection(last_stream_id=last_stream_id)
            self.h2.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN

        self._send(say_goodbye)

    def answer_times(self) -> list[float | None]:
        """How long the client took to answer each PING sent (None: never answered)."""
        return [
            round(self.acks[payload] - sent, 3) if payload in self.acks else None
            for payload, sent in self.pings.items()
        ]


Handler = Callable[[ServerConnection, ServerCall], None]


def finish(message: bytes = b"") -> Handler:
    """A handler that answers one message (if any) and OK."""

    def handle(connection: ServerConnection, call: ServerCall) -> None:
        connection.headers(call.stream_id)
        if message:
            connection.message(call.stream_id, message)
        connection.status(call.stream_id)

    return handle


class RawH2Server:
    """Accepts connections on loopback; ``on_accept`` may take a socket over first (close it,
    say) by returning False. TLS when given a context (its ALPN list is the test's choice)."""

    def __init__(
        self,
        handler: Handler,
        tls: ssl.SSLContext | None = None,
        on_accept: Callable[[socket.socket], bool] | None = None,
    ) -> None:
        self.handler = handler
        self._tls = tls
        self._on_accept = on_accept
        self._listener = socket.socket()
        self._listener.bind((HOST, 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.connections: list[ServerConnection] = []
        self.accepted = 0
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        for connection in self.connections:
            with suppress(OSError):
                connection.sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self._on_accept is not None and not self._on_accept(sock):
                continue
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                return
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        connection = ServerConnection(sock, h2.connection.H2Connection(config))
        self.connections.append(connection)
        connection._send(connection.h2.initiate_connection)
        try:
            self._read(connection)
        finally:
            sock.close()
            connection.closed.set()

    def _read(self, connection: ServerConnection) -> None:
        calls: dict[int, ServerCall] = {}
        while not self._stopped.is_set():
            try:
                data = connection.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            with connection.lock:
                events = connection.h2.receive_data(data)
            for event in events:
                self._on_event(connection, calls, event)
            connection._send(lambda: None)  # ACKs and window updates h2 queued

    def _on_event(
        self, connection: ServerConnection, calls: dict[int, ServerCall], event: h2.events.Event
    ) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers: dict[Any, Any] = dict(event.headers or [])  # str: header_encoding
            calls[event.stream_id] = ServerCall(
                event.stream_id,
                str(headers.get(":path", "")),
                {k: str(v) for k, v in headers.items()},
            )
        elif isinstance(event, h2.events.DataReceived):
            calls[event.stream_id].body += event.data
            with connection.lock:
                connection.h2.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id in calls:
            call = calls[event.stream_id]
            connection.calls.append(call)
            threading.Thread(target=self.handler, args=(connection, call), daemon=True).start()
        elif isinstance(event, h2.events.PingAckReceived):
            connection.acks[bytes(event.ping_data)] = time.monotonic()
        elif isinstance(event, h2.events.StreamReset):
            connection.resets.append(event.stream_id)


@contextmanager
def raw_server(
    handler: Handler,
    tls: ssl.SSLContext | None = None,
    on_accept: Callable[[socket.socket], bool] | None = None,
) -> Iterator[RawH2Server]:
    server = RawH2Server(handler, tls, on_accept)
    try:
        yield server
    finally:
        server.close()


# -- calling it, as the gRPC transport does -------------------------------------------------------


def response(text: str) -> bytes:
    """A GenerateResponse whose chunk carries ``text``'s code points as token IDs."""
    chunk = wire.pb().GenerateStreamChunk(token_ids=[ord(c) for c in text])
    return bytes(wire.pb().GenerateResponse(chunk=chunk).SerializeToString())


def texts(responses: list[Any]) -> list[str]:
    return ["".join(map(chr, r.chunk.token_ids)) for r in responses]


def request() -> Any:
    return wire.pb().GenerateRequest(request_id="r-1", stream=True)


def connect(port: int, *, tls: bytes | None = None, **options: Any) -> Connection:
    scheme = "grpcs" if tls else "grpc"
    options.setdefault("timeouts", Timeouts(read=10))  # a failing test ends, never hangs
    retries = options.pop("retries", 0)
    settings = TransportOptions(ca_certificates=tls, max_retries=retries, **options)
    return Connection(f"{scheme}://{HOST}:{port}", settings)
