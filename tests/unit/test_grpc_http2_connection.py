"""The HTTP/2 side of gRPC calls, byte by byte: the server here is h2's own server-side state
machine, so every frame the client reads is one a real HTTP/2 peer would write, including
the ones a healthy vLLM never sends (resets, goodbyes, compressed or truncated messages)."""

from __future__ import annotations

import grpc
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vllm_integrations.transports.grpc.h2.connection import (
    Call,
    CallError,
    Http2Connection,
    cancelled,
)

PATH = "/vllm.grpc.engine.VllmEngine/Generate"


def framed(message: bytes, *, compressed: bool = False) -> bytes:
    return bytes([compressed]) + len(message).to_bytes(4, "big") + message


class Peer:
    """h2's server side wired to a client ``Http2Connection``; bytes move only when asked.
    ``call`` is the client's latest call; ``to_client`` returns its new messages."""

    def __init__(self, settings: dict[h2.settings.SettingCodes | int, int] | None = None) -> None:
        self.wire = Http2Connection("localhost:1", secure=False)
        self.call = Call(0, b"", 4 * 1024 * 1024)
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.h2.initiate_connection()
        if settings:
            self.h2.update_settings(settings)
        self.events: list[h2.events.Event] = []
        self.to_client()
        self.to_server()

    def to_server(self) -> None:
        self.events += self.h2.receive_data(self.wire.outgoing())

    def to_client(self) -> list[bytes]:
        self.wire.feed(self.h2.data_to_send())
        return self.wire.take(self.call)

    def start(self, message: bytes = b"request", **kwargs: object) -> int:
        self.call = self.wire.start(PATH, message, **kwargs)  # type: ignore[arg-type]
        self.to_server()
        return self.call.stream_id

    def request_headers(self) -> dict[bytes, bytes]:
        received = next(e for e in self.events if isinstance(e, h2.events.RequestReceived))
        return dict(received.headers)

    def request_body(self) -> bytes:
        return b"".join(e.data for e in self.events if isinstance(e, h2.events.DataReceived))

    def answer(self, stream_id: int, body: bytes, status: int = 0, message: str = "") -> None:
        self.h2.send_headers(
            stream_id, [(b":status", b"200"), (b"content-type", b"application/grpc")]
        )
        if body:
            self.h2.send_data(stream_id, body)
        trailers = [(b"grpc-status", str(status).encode())]
        if message:
            trailers.append((b"grpc-message", message.encode()))
        self.h2.send_headers(stream_id, trailers, end_stream=True)


def test_messages_then_ok() -> None:
    peer = Peer()
    stream_id = peer.start(b"ask", timeout=2.5, metadata={"x-api-key": "k"})
    headers = peer.request_headers()
    assert headers[b":path"] == PATH.encode()
    assert headers[b"content-type"] == b"application/grpc"
    assert headers[b"te"] == b"trailers"
    assert headers[b"grpc-timeout"] == b"2500m"
    assert headers[b"x-api-key"] == b"k"
    assert peer.request_body() == framed(b"ask")
    peer.answer(stream_id, framed(b"one") + framed(b"") + framed(b"three"))
    assert peer.to_client() == [b"one", b"", b"three"]
    assert peer.call.done
    assert peer.call.error is None
    assert peer.wire.reusable


@given(st.lists(st.binary(max_size=40), max_size=8), st.lists(st.integers(1, 60), max_size=20))
def test_any_split_of_the_bytes_gives_the_same_messages(
    messages: list[bytes], cuts: list[int]
) -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.answer(stream_id, b"".join(framed(m) for m in messages))
    wire, got, at = peer.h2.data_to_send(), [], 0
    for cut in cuts:
        peer.wire.feed(wire[at : at + cut])
        got += peer.wire.take(peer.call)
        at += cut
    peer.wire.feed(wire[at:])
    got += peer.wire.take(peer.call)
    assert got == messages
    assert peer.call.done
    assert peer.call.error is None


def test_trailers_only_error_keeps_the_servers_message() -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.h2.send_headers(
        stream_id,
        [
            (b":status", b"200"),
            (b"content-type", b"application/grpc"),
            (b"grpc-status", b"3"),
            (b"grpc-message", b"bad regex: 100%25 sure %E2%9C%93"),
        ],
        end_stream=True,
    )
    assert peer.to_client() == []
    assert isinstance(peer.call.error, CallError)
    assert peer.call.error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert peer.call.error.details() == "bad regex: 100% sure \u2713"
    assert peer.wire.reusable


def test_error_after_messages_keeps_the_messages() -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.answer(stream_id, framed(b"kept"), status=13, message="engine died")
    assert peer.to_client() == [b"kept"]
    assert peer.call.error is not None
    assert peer.call.error.code() is grpc.StatusCode.INTERNAL


@pytest.mark.parametrize(
    ("http_status", "code"),
    [(b"503", grpc.StatusCode.UNAVAILABLE), (b"404", grpc.StatusCode.UNIMPLEMENTED)],
)
def test_http_error_status(http_status: bytes, code: grpc.StatusCode) -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.h2.send_headers(stream_id, [(b":status", http_status)], end_stream=True)
    peer.to_client()
    assert peer.call.error is not None
    assert peer.call.error.code() is code


@pytest.mark.parametrize(
    ("body", "trailers", "details"),
    [
        (framed(b"x", compressed=True), True, "compressed"),
        (framed(b"whole")[:-2], True, "inside a message"),
        (framed(b"whole"), False, "without a gRPC status"),
    ],
)
def test_broken_streams_are_internal_errors(body: bytes, trailers: bool, details: str) -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.h2.send_headers(stream_id, [(b":status", b"200"), (b"content-type", b"application/grpc")])
    peer.h2.send_data(stream_id, body, end_stream=not trailers)
    if trailers:
        peer.h2.send_headers(stream_id, [(b"grpc-status", b"0")], end_stream=True)
    peer.to_client()
    assert peer.call.error is not None
    assert peer.call.error.code() is grpc.StatusCode.INTERNAL
    assert details in peer.call.error.details()
    assert not peer.wire.reusable


def test_reset_by_the_server() -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.h2.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
    peer.to_client()
    assert peer.call.error is not None
    assert peer.call.error.code() is grpc.StatusCode.UNAVAILABLE
    assert peer.wire.reusable


def test_goaway_before_our_stream_fails_it_and_retires_the_connection() -> None:
    peer = Peer()
    peer.start()
    peer.h2.close_connection(last_stream_id=0)
    peer.to_client()
    assert peer.call.error is not None
    assert peer.call.error.code() is grpc.StatusCode.UNAVAILABLE
    assert not peer.wire.reusable


def test_goaway_after_a_finished_call_only_retires_the_connection() -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.answer(stream_id, framed(b"done"))
    peer.to_client()
    peer.h2.close_connection(last_stream_id=stream_id)
    peer.to_client()
    assert peer.call.error is None
    assert not peer.wire.reusable


def test_leaving_early_resets_the_stream_and_keeps_the_connection() -> None:
    peer = Peer()
    stream_id = peer.start()
    peer.h2.send_headers(stream_id, [(b":status", b"200"), (b"content-type", b"application/grpc")])
    peer.h2.send_data(stream_id, framed(b"in flight"))
    peer.wire.fail(peer.call, cancelled())
    assert peer.to_client() == []  # what the server had sent for that stream is dropped
    peer.to_server()
    reset = [e for e in peer.events if isinstance(e, h2.events.StreamReset)]
    assert [(r.stream_id, r.error_code) for r in reset] == [
        (stream_id, h2.errors.ErrorCodes.CANCEL)
    ]
    assert peer.call.error is not None
    assert peer.call.error.code() is grpc.StatusCode.CANCELLED
    assert peer.wire.reusable
    peer.events.clear()
    next_id = peer.start()
    peer.answer(next_id, framed(b"fresh"))
    assert peer.to_client() == [b"fresh"]


def test_a_request_larger_than_the_servers_window_waits_for_window_updates() -> None:
    peer = Peer({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1000})
    body = bytes(range(256)) * 20  # 5,125 bytes framed, against a 1,000-byte window
    stream_id = peer.start(body)
    assert len(peer.request_body()) == 1000
    acked = 0
    for _ in range(10):
        received = len(peer.request_body())
        if received == len(framed(body)):
            break
        peer.h2.acknowledge_received_data(received - acked, stream_id)  # the server reads it
        acked = received
        peer.to_client()
        peer.to_server()
    assert peer.request_body() == framed(body)


def test_long_deadlines_fit_the_header() -> None:
    peer = Peer()
    peer.start(timeout=10**6)
    assert peer.request_headers()[b"grpc-timeout"] == b"1000000S"


def test_calls_share_the_connection_and_credit_follows_each_reader() -> None:
    peer = Peer()
    first_id = peer.start(b"a")
    first = peer.call
    second_id = peer.start(b"b")
    second = peer.call
    for stream_id, body in ((first_id, framed(b"x" * 60_000)), (second_id, framed(b"y"))):
        peer.h2.send_headers(
            stream_id, [(b":status", b"200"), (b"content-type", b"application/grpc")]
        )
        for start in range(0, len(body), 16_384):  # frames of at most the default size
            peer.h2.send_data(stream_id, body[start : start + 16_384])
    peer.wire.feed(peer.h2.data_to_send())
    assert peer.wire.take(second) == [b"y"]
    peer.to_server()
    # The first call's reader has not taken its message yet: its stream gets no credit.
    assert peer.h2.local_flow_control_window(first_id) == 65_535 - len(framed(b"x" * 60_000))
    assert peer.wire.take(first) == [b"x" * 60_000]
    peer.to_server()
    assert peer.h2.local_flow_control_window(first_id) == 65_535
    assert not first.done
    assert not second.done
