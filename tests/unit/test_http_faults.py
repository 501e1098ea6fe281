"""Faults a healthy vLLM will not show on demand (5xx, an error event mid-stream), and retries,
from a small fake server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vllm_integrations.errors import APIStatusError, BadRequestError, InternalServerError
from vllm_integrations.langchain import ChatVLLM


class _Faulty(BaseHTTPRequestHandler):
    """Answers every POST with the status and body the test put on the server."""

    def do_POST(self) -> None:
        server = self.server
        assert isinstance(server, _FakeServer)
        server.requests += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(server.status)
        self.send_header("content-type", server.content_type)
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, *args: object) -> None:
        pass


class _FakeServer(ThreadingHTTPServer):
    status = 500
    content_type = "application/json"
    body = b""
    requests = 0


@pytest.fixture
def fake() -> Iterator[_FakeServer]:
    server = _FakeServer(("127.0.0.1", 0), _Faulty)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _chat(server: _FakeServer, retries: int = 0) -> ChatVLLM:
    return ChatVLLM(
        model="m", base_url=f"http://127.0.0.1:{server.server_port}/v1", max_retries=retries
    )


def test_server_error_is_retried_then_raised_with_its_message(fake: _FakeServer) -> None:
    fake.body = json.dumps({"error": {"message": "engine died", "code": 500}}).encode()
    with pytest.raises(InternalServerError, match="engine died"):
        _chat(fake, retries=2).invoke("Hi")
    assert fake.requests == 3


def test_bad_request_is_not_retried(fake: _FakeServer) -> None:
    fake.status = 400
    fake.body = json.dumps({"error": {"message": "bad top_k", "code": 400}}).encode()
    with pytest.raises(BadRequestError, match="bad top_k"):
        _chat(fake, retries=2).invoke("Hi")
    assert fake.requests == 1


def test_error_event_in_the_middle_of_a_stream(fake: _FakeServer) -> None:
    fake.status = 200
    fake.content_type = "text/event-stream"
    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    error = {"error": {"message": "the engine aborted", "code": 500}}
    fake.body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(error)}\n\n".encode()
    with pytest.raises(APIStatusError, match="the engine aborted"):
        list(_chat(fake).stream("Hi"))
