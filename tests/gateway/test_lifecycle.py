"""LocalGateway against real processes: two gateways side by side, everything it started stopped,
and clear failures (the router's or a worker's, quoting its log) with nothing left running."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from vllm_integrations.errors import ServerStartError
from vllm_integrations.server import LocalGateway, LocalVLLMServer
from vllm_integrations.testing import SERVED_MODEL_NAME
from vllm_integrations.testing.raw_grpc import running_requests
from vllm_integrations.testing.servers import tiny_model_gateway

STARTUP_FAILURE_BOUND_S = 120


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_second_gateway_runs_beside_the_first_and_stops_whole(
    vllm_gateway: LocalGateway, vllm_grpc_base_url: str, vllm_tiny_model: Path
) -> None:
    second = tiny_model_gateway(vllm_grpc_base_url, model=vllm_tiny_model)  # the worker, shared
    with second:
        assert second.metrics_port != vllm_gateway.metrics_port  # never smg's fixed 29000 twice
        assert second.port != vllm_gateway.port
        metrics = httpx.get(f"http://127.0.0.1:{second.metrics_port}/metrics", timeout=10)
        assert "smg_" in metrics.text
        models = httpx.get(f"{second.base_url}/models", timeout=10).json()
        assert [m["id"] for m in models["data"]] == [SERVED_MODEL_NAME]
        assert second.pid is not None
        router = psutil.Process(second.pid)
        ports = (second.port, second.metrics_port)
    assert not second.running
    assert not router.is_running() or router.status() == psutil.STATUS_ZOMBIE
    assert all(_refused(port) for port in ports if port is not None)
    assert running_requests(vllm_grpc_base_url) == 0  # the shared worker still serves
    assert httpx.get(f"{vllm_gateway.base_url}/models", timeout=10).status_code == 200
    second.stop()  # idempotent


def test_a_router_that_cannot_start_fails_with_its_log(
    vllm_grpc_base_url: str, vllm_tiny_model: Path
) -> None:
    gateway = tiny_model_gateway(
        vllm_grpc_base_url, model=vllm_tiny_model, extra_args=["--no-such-flag"]
    )
    with pytest.raises(ServerStartError, match=r"smg router .* exited with code") as caught:
        gateway.start()
    assert "--no-such-flag" in caught.value.log_tail
    assert not gateway.running


def test_a_worker_that_cannot_start_fails_with_its_log_and_starts_nothing_else(
    tmp_path: Path, vllm_server_python: str
) -> None:
    not_a_model = LocalVLLMServer(tmp_path, protocol="grpc", python=vllm_server_python)
    gateway = LocalGateway(not_a_model)
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="vLLM grpc server") as caught:
        gateway.start()
    assert time.monotonic() - started < STARTUP_FAILURE_BOUND_S
    assert caught.value.log_tail  # vLLM's own words about the missing config
    assert not not_a_model.running
    assert gateway.pid is None  # the router never started


def test_a_taken_port_fails_before_the_router_starts(
    vllm_grpc_base_url: str, vllm_tiny_model: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = tiny_model_gateway(vllm_grpc_base_url, model=vllm_tiny_model, port=port)
        with pytest.raises(ServerStartError, match=f"port {port} .* already in use"):
            gateway.start()
    assert gateway.pid is None
