"""LocalVLLMServer when the free port it picked is taken before vLLM binds it: vLLM exits with
"address already in use" and the server starts again on another port. A stand-in interpreter
plays vLLM here: a real one binds its port only after loading the model, so the race cannot be
staged with it."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vllm_integrations.errors import ServerStartError
from vllm_integrations.server import LocalVLLMServer
from vllm_integrations.server.processes import port_for

LAUNCHER = "vllm_integrations.server.vllm"

STAND_IN = """
import http.server, json, sys

port = int(sys.argv[sys.argv.index("--port") + 1])


class Models(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": "stand-in"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


try:
    server = http.server.HTTPServer(("127.0.0.1", port), Models)
except OSError:  # as uvicorn reports it in vLLM's log
    print(f"ERROR: [Errno 98] error while attempting to bind on address ('127.0.0.1', {port}): "
          "address already in use", flush=True)
    sys.exit(1)
server.serve_forever()
"""


@pytest.fixture
def stand_in_python(tmp_path: Path) -> str:
    """An "interpreter" that runs the stand-in whatever module it is asked to run."""
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    python.chmod(0o755)
    return str(python)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port bound but not listening: no server can bind it, and a probe is refused at once."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        yield taken.getsockname()[1]


def test_a_picked_port_taken_before_the_server_binds_it_is_replaced(
    tmp_path: Path, stand_in_python: str, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = iter([busy_port])
    monkeypatch.setattr(
        f"{LAUNCHER}.port_for", lambda host, port: next(picks, None) or port_for(host, port)
    )
    with LocalVLLMServer(tmp_path, python=stand_in_python, startup_timeout=30) as server:
        assert server.port != busy_port
        assert httpx.get(f"{server.base_url}/models").json()["data"][0]["id"] == "stand-in"
        assert "address already in use" in server.log_tail()


def test_a_port_the_caller_chose_is_never_replaced(
    tmp_path: Path, stand_in_python: str, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(f"{LAUNCHER}.port_for", lambda host, port: port)  # taken after the check
    server = LocalVLLMServer(tmp_path, port=busy_port, python=stand_in_python, startup_timeout=30)
    with pytest.raises(ServerStartError, match="address already in use"):
        server.start()
    assert server.port == busy_port
    assert not server.running
