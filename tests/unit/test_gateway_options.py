"""LocalGateway's smg command line and argument checks, without starting anything."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from vllm_integrations.errors import MissingExtraError
from vllm_integrations.server import LocalGateway, LocalVLLMServer


def grpc_worker(port: int, **options: object) -> LocalVLLMServer:
    settings: dict[str, object] = {"served_model_name": "m", "reasoning_parser": "qwen3"}
    settings.update(options)
    return LocalVLLMServer("/models/m", protocol="grpc", port=port, **settings)  # type: ignore[arg-type]


def test_command_routes_to_every_worker_with_the_models_tokenizer() -> None:
    gateway = LocalGateway(
        [grpc_worker(50051), "grpc://10.0.0.7:50052"],
        port=8080,
        metrics_port=29001,
        tool_call_parser="qwen",
        extra_args=["--policy", "round_robin"],
    )
    command = gateway.command()
    assert command[:6] == [sys.executable, "-m", "smg", "launch", "--backend", "vllm"]
    urls = command[command.index("--worker-urls") + 1 : command.index("--model-path")]
    assert urls == ["grpc://127.0.0.1:50051", "grpc://10.0.0.7:50052"]

    def value(flag: str) -> str:
        return command[command.index(flag) + 1]

    assert value("--model-path") == "/models/m"
    assert value("--port") == "8080"
    assert value("--prometheus-port") == "29001"  # never smg's fixed default, 29000
    assert value("--reasoning-parser") == "qwen3"  # the workers' own, unless given
    assert value("--tool-call-parser") == "qwen"
    assert command[-2:] == ["--policy", "round_robin"]
    assert gateway.base_url == "http://127.0.0.1:8080/v1"
    assert gateway.served_model_name == "m"


def test_workers_given_by_url_need_the_model_for_the_tokenizer() -> None:
    with pytest.raises(ValueError, match="model="):
        LocalGateway("grpc://127.0.0.1:50051")
    gateway = LocalGateway("grpc://127.0.0.1:50051", model="/models/m")
    assert gateway.model == "/models/m"
    assert gateway.served_model_name is None  # whatever the worker serves


@pytest.mark.parametrize(
    ("workers", "message"),
    [
        ([], "at least one worker"),
        ([LocalVLLMServer("/models/m", protocol="http")], "grpc"),
        (["http://127.0.0.1:8000/v1"], "grpc"),
        ([grpc_worker(1), grpc_worker(2, served_model_name="other")], "one model"),
    ],
)
def test_workers_a_router_cannot_serve_are_refused(workers: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalGateway(workers)  # type: ignore[arg-type]


def test_base_url_needs_a_port() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = LocalGateway(grpc_worker(50051)).base_url


def test_without_smg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fakes what no real server can show: smg missing from this environment.
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "smg" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setitem(sys.modules, "smg", ModuleType("smg"))  # find_spec decides, not this
    with pytest.raises(MissingExtraError, match=r"pip install 'vllm-integrations\[gateway\]'"):
        LocalGateway(grpc_worker(50051))
