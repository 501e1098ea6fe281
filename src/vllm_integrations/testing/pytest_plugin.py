"""pytest fixtures: real vLLM servers (HTTP and gRPC) serving the scripted tiny model.

Opt-in (``pytest -p vllm_integrations.testing``, or ``pytest_plugins =
["vllm_integrations.testing"]`` in a top-level conftest.py): a project that installs
``vllm-integrations[testing]`` can then request ``vllm_http_base_url`` or ``vllm_grpc_base_url``
and test its own chains against a real vLLM on CPU. Each server starts once per session, on
first use.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from vllm_integrations.server import LocalVLLMServer, Protocol
from vllm_integrations.testing.model import ensure_model
from vllm_integrations.testing.servers import tiny_model_server


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (a CI time limit, ``timeout``) ends Python without any cleanup, which would
    leave the vLLM servers running: turn it into an interrupt, which tears fixtures down."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vllm", "vLLM test servers")
    group.addoption(
        "--vllm-python",
        default=None,
        help="Python with vllm (and torch) installed: builds the tiny model and runs the "
        "servers. Default: $VLLM_SERVER_PYTHON, else this interpreter.",
    )


@pytest.fixture(scope="session")
def vllm_server_python(request: pytest.FixtureRequest) -> str:
    """The interpreter that runs vLLM."""
    chosen = request.config.getoption("--vllm-python")
    return str(chosen or os.environ.get("VLLM_SERVER_PYTHON") or sys.executable)


@pytest.fixture(scope="session")
def vllm_tiny_model(vllm_server_python: str) -> Path:
    """Directory of the scripted tiny model (built and cached on first use)."""
    return ensure_model(vllm_server_python)


def _serve(
    protocol: Protocol, model: Path, python: str, logs: pytest.TempPathFactory
) -> Iterator[LocalVLLMServer]:
    log_path = logs.mktemp("vllm") / f"{protocol}.log"
    with tiny_model_server(protocol, model, python=python, log_path=log_path) as server:
        yield server


@pytest.fixture(scope="session")
def vllm_http_server(
    vllm_tiny_model: Path, vllm_server_python: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalVLLMServer]:
    """vLLM's OpenAI-compatible server, with the qwen3 reasoning and hermes tool parsers."""
    yield from _serve("http", vllm_tiny_model, vllm_server_python, tmp_path_factory)


@pytest.fixture(scope="session")
def vllm_grpc_server(
    vllm_tiny_model: Path, vllm_server_python: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalVLLMServer]:
    """vLLM's native gRPC server (the VllmEngine service) on the same model."""
    yield from _serve("grpc", vllm_tiny_model, vllm_server_python, tmp_path_factory)


@pytest.fixture(scope="session")
def vllm_http_base_url(vllm_http_server: LocalVLLMServer) -> str:
    """``http://127.0.0.1:PORT/v1``."""
    return vllm_http_server.base_url


@pytest.fixture(scope="session")
def vllm_grpc_base_url(vllm_grpc_server: LocalVLLMServer) -> str:
    """``grpc://127.0.0.1:PORT``."""
    return vllm_grpc_server.base_url
