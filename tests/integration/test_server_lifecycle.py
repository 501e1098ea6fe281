"""LocalVLLMServer against real vLLM processes: readiness, whole-tree shutdown, clear failures."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from vllm_integrations import ServerStartError
from vllm_integrations.errors import AuthenticationError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.server import LocalVLLMServer
from vllm_integrations.testing import SERVED_MODEL_NAME, tiny_model_server

STARTUP_FAILURE_BOUND_S = 120


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_keyed_server_checks_keys_and_stops_without_leftovers(
    vllm_tiny_model: Path, vllm_server_python: str
) -> None:
    server = tiny_model_server(
        "http", vllm_tiny_model, python=vllm_server_python, api_key="the-right-key"
    )
    server.start()
    try:
        assert server.running
        headers = {"Authorization": "Bearer the-right-key"}
        models = httpx.get(f"{server.base_url}/models", headers=headers).json()
        assert [m["id"] for m in models["data"]] == [SERVED_MODEL_NAME]
        keyed = ChatVLLM(base_url=server.base_url, api_key="the-right-key", temperature=0)
        assert keyed.invoke("What is the capital of France?").content
        with pytest.raises(AuthenticationError):
            ChatVLLM(base_url=server.base_url, api_key="wrong", model=SERVED_MODEL_NAME).invoke(
                "Hi"
            )
        assert server.pid is not None
        tree = [server.pid, *(p.pid for p in psutil.Process(server.pid).children(recursive=True))]
        assert len(tree) >= 2  # the API server and at least one engine process
        # The key reached vLLM through its environment: no command line shows it in `ps`.
        command_lines = [" ".join(psutil.Process(pid).cmdline()) for pid in _alive(tree)]
        assert not [line for line in command_lines if "the-right-key" in line]
    finally:
        server.stop()
    assert not server.running
    assert _alive(tree) == []
    server.stop()  # idempotent


def test_unknown_flag_fails_fast_with_the_servers_message(
    vllm_tiny_model: Path, vllm_server_python: str
) -> None:
    server = tiny_model_server(
        "http", vllm_tiny_model, python=vllm_server_python, extra_args=["--no-such-flag"]
    )
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        server.start()
    assert time.monotonic() - started < STARTUP_FAILURE_BOUND_S
    assert "exited with code" in str(caught.value)
    assert "--no-such-flag" in caught.value.log_tail
    assert not server.running


def test_a_directory_that_is_not_a_model_fails_with_the_log_tail(
    tmp_path: Path, vllm_server_python: str
) -> None:
    server = LocalVLLMServer(tmp_path, protocol="grpc", python=vllm_server_python)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        server.start()
    assert time.monotonic() - started < STARTUP_FAILURE_BOUND_S
    assert caught.value.log_tail  # vLLM's own words about the missing config
    assert not server.running


def test_missing_model_directory_fails_before_launching(tmp_path: Path) -> None:
    server = LocalVLLMServer(tmp_path / "nowhere")
    with pytest.raises(ServerStartError, match="does not exist"):
        server.start()
    assert server.pid is None


def test_port_in_use_fails_before_launching(vllm_tiny_model: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LocalVLLMServer(vllm_tiny_model, port=port)
        with pytest.raises(ServerStartError, match=f"port {port} .* already in use"):
            server.start()
    assert server.pid is None
