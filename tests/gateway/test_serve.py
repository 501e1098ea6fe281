"""`make serve` (cookbook/serve.py): the gateway's URL and a curl example that works, printed, and
the chat page on the gateway; it runs until interrupted, then stops what it started. Here it
routes to the session's gRPC worker (``--worker-url``), so no second worker loads."""

from __future__ import annotations

import importlib.util
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx

from tests.gateway.examples import SERVE_URL, block, run_curl, sse_events
from vllm_integrations.server.processes import free_port
from vllm_integrations.testing import SERVED_MODEL_NAME, script
from vllm_integrations.testing.raw_grpc import running_requests

SERVE = Path(__file__).parents[2] / "cookbook" / "serve.py"
READY_LINE = "Ctrl-C stops it."


def serve_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serve", SERVE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_curl_is_the_one_make_serve_prints() -> None:
    serve = serve_module()
    assert f"http://127.0.0.1:{serve.DEFAULT_PORT}/v1" == SERVE_URL
    assert block("bash", "curl -N").strip() == serve.curl_example(SERVE_URL)


def test_serve_prints_a_working_curl_and_stops_on_ctrl_c(
    vllm_grpc_base_url: str, vllm_server_python: str
) -> None:
    port, page_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    command = [sys.executable, str(SERVE), "--worker-url", vllm_grpc_base_url]
    serve = subprocess.Popen(
        [*command, "--port", str(port), "--page-port", str(page_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "VLLM_SERVER_PYTHON": vllm_server_python, "PYTHONFAULTHANDLER": "1"},
    )
    try:
        printed = _read_until(serve, READY_LINE, seconds=120)
        url = f"http://127.0.0.1:{port}/v1"
        assert f"Gateway (OpenAI API, SSE): {url}\n" in printed
        curl = printed.split("Try:\n", 1)[1].split(READY_LINE)[0]
        chunks = sse_events(run_curl(curl, url))
        text = "".join(c["delta"].get("content") or "" for e in chunks for c in e["choices"])
        assert text == script("capital").content
        page = f"http://127.0.0.1:{page_port}/"
        assert f"Chat page (ChatVLLM over the gateway): {page}\n" in printed
        assert "<textarea" in httpx.get(page).text
        assert httpx.get(f"{page}models").json()["models"] == [SERVED_MODEL_NAME]
    finally:
        serve.send_signal(signal.SIGINT)
        code = _wait_or_dump(serve, seconds=60)
    assert code == 0, serve.stdout.read().decode() if serve.stdout else ""
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the router is gone
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", page_port)) != 0  # and the page
    assert running_requests(vllm_grpc_base_url) == 0  # the shared worker still serves


def _wait_or_dump(process: subprocess.Popen[bytes], *, seconds: float) -> int:
    """The exit code; a process still running after ``seconds`` is aborted, so that
    faulthandler prints where each of its threads waits, and the test fails with that."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.wait()
        printed = process.stdout.read().decode() if process.stdout else ""
        raise AssertionError(f"serve did not stop {seconds} s after Ctrl-C:\n{printed}") from None


def _read_until(process: subprocess.Popen[bytes], line: str, *, seconds: float) -> str:
    """What the process printed up to and including ``line``; fails after ``seconds``. Reads
    the pipe's bytes as they come (a buffered readline would sit on lines already read)."""
    assert process.stdout is not None
    printed = b""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while line.encode() not in printed:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"serve printed, then nothing for {seconds} s:\n{printed!r}"
            assert process.poll() is None, f"serve exited:\n{printed!r}"
            if selector.select(timeout=remaining):
                printed += os.read(process.stdout.fileno(), 65536)
    return printed.decode()
