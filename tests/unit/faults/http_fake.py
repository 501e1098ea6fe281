"""A fake of vLLM's OpenAI-compatible HTTP API on loopback, scripted per path: whole JSON
replies or SSE streams, paced, stalled, cut short, with any status and headers; optionally TLS.

Why a fake: a real vLLM never ends a stream early, stalls on demand or sends a 100 MiB event.
The server records every request, so a test can say what reached it (or that nothing did).
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
DONE = b"[DONE]"


@dataclass(frozen=True)
class Reply:
    """One answer. ``events`` (SSE data payloads) answer a request that asked to stream, and
    any request when there is no ``body``; ``body`` is sent whole. ``stall`` seconds pass
    before anything is sent (a server that thinks forever), ``pace`` before each event,
    ``hang`` after the last one (the connection kept open)."""

    status: int = 200
    body: bytes = b""
    events: Sequence[bytes] = ()
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0
    pace: float = 0.0
    hang: float = 0.0


@dataclass(frozen=True)
class Seen:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class FakeHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _Handler)
        self.scripts: dict[str, list[Reply]] = defaultdict(list)
        self.requests: list[Seen] = []
        self.released = threading.Event()
        """Set at the end of a test: every stall and hang ends at once."""
        self.tls: ssl.SSLContext | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{HOST}:{self.server_port}/v1"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``/v1{path}`` with ``replies`` in turn (the last one
        again for any further request)."""
        self.scripts[f"/v1{path}"] = list(replies)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == f"/v1{path}"]

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.tls is not None:  # the handshake happens in the request's thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that refused our certificate, or left: what the tests make happen

    def next_reply(self, path: str) -> Reply:
        replies = self.scripts.get(path) or [Reply(404, json.dumps(_error("no route")).encode())]
        return replies.pop(0) if len(replies) > 1 else replies[0]


class _Handler(BaseHTTPRequestHandler):
    server: FakeHttpServer
    protocol_version = "HTTP/1.1"  # whole replies keep the connection, as vLLM's server does

    def do_GET(self) -> None:
        self._answer({})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self._answer(json.loads(self.rfile.read(length) or b"{}"))

    def _answer(self, body: dict[str, Any]) -> None:
        server = self.server
        server.requests.append(Seen(self.path, body, dict(self.headers.items())))
        reply = server.next_reply(self.path)
        if reply.stall and server.released.wait(reply.stall):
            return
        streamed = bool(reply.events) and (body.get("stream") or not reply.body)
        with suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self._send(reply, streamed=streamed)  # a client that left: what some tests want

    def _send(self, reply: Reply, *, streamed: bool) -> None:
        self.send_response(reply.status)
        kind = "text/event-stream" if streamed else "application/json"
        self.send_header("content-type", reply.headers.get("content-type", kind))
        for name, value in reply.headers.items():
            if name != "content-type":
                self.send_header(name, value)
        if streamed:  # the stream ends when the connection closes
            self.send_header("connection", "close")
            self.close_connection = True
        else:
            self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        if not streamed:
            self.wfile.write(reply.body)
            return
        for event in reply.events:
            if reply.pace and self.server.released.wait(reply.pace):
                return
            for part in (b"data: ", event, b"\n\n"):  # never a copy of a huge event
                self.wfile.write(part)
            self.wfile.flush()
        if reply.hang:
            self.server.released.wait(reply.hang)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def running(tls: ssl.SSLContext | None = None) -> Iterator[FakeHttpServer]:
    server = FakeHttpServer()
    server.tls = tls
    server.script("/models", Reply(body=json.dumps(models("m")).encode()))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()


# -- what vLLM sends ------------------------------------------------------------------------


def _error(message: str, code: int = 404) -> dict[str, Any]:
    return {"error": {"message": message, "type": "BadRequestError", "code": code}}


def error_body(message: str, code: int) -> bytes:
    return json.dumps(_error(message, code)).encode()


def models(*names: str) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": n, "max_model_len": 1024} for n in names]}


def chat_chunk(
    content: str = "", *, reasoning: str = "", finish: str | None = None, index: int = 0
) -> bytes:
    delta: dict[str, Any] = {"content": content}
    if reasoning:
        delta["reasoning"] = reasoning
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "chatcmpl-1", "model": "m", "choices": [choice]}).encode()


def completion_chunk(text: str, *, finish: str | None = None) -> bytes:
    choice = {"index": 0, "text": text, "finish_reason": finish}
    return json.dumps({"id": "cmpl-1", "model": "m", "choices": [choice]}).encode()


def chat_body(content: str, *, finish: str | None = "stop", reasoning: str = "") -> bytes:
    message = {"role": "assistant", "content": content, "reasoning": reasoning or None}
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return json.dumps({"id": "chatcmpl-1", "model": "m", "choices": [choice]}).encode()


def completion_body(text: str, *, finish: str | None = "stop") -> bytes:
    choice = {"index": 0, "text": text, "finish_reason": finish}
    return json.dumps({"id": "cmpl-1", "model": "m", "choices": [choice]}).encode()


def chat_stream(*pieces: str, finish: str | None = "stop", done: bool = True) -> list[bytes]:
    """The events of a streamed chat reply: one per piece, the finish reason (None: left out)
    on a last empty chunk, then ``[DONE]``."""
    events = [chat_chunk(piece) for piece in pieces]
    if finish is not None:
        events.append(chat_chunk(finish=finish))
    return [*events, DONE] if done else events
