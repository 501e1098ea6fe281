"""pytest fixtures: real vLLM servers (HTTP and gRPC) serving the scripted tiny model.

Opt-in (``pytest -p vllm_integrations.testing``, or ``pytest_plugins =
["vllm_integrations.testing"]`` in a top-level conftest.py): a project that installs
``vllm-integrations[testing]`` can then request ``vllm_http_base_url`` or ``vllm_grpc_base_url``
and test its own chains against a real vLLM on CPU. Each server starts once per session, on
first use. ``vllm_gateway_base_url`` is smg (``vllm-integrations[gateway]``) in front of that gRPC
server: the OpenAI API with SSE over vLLM's gRPC worker, for any OpenAI client.

The variants' servers (``vllm_special_tags_*``: think and tool tags that are special tokens;
``vllm_llama_*``: Llama 3.1 JSON tool calls) and the embedding model's (``vllm_embed_*``:
all-MiniLM-L6-v2, for embeddings and reranking) are package-scoped, so they stop when the tests that
need them are done. pytest scopes a plugin's fixture to the package whose conftest.py holds it:
import them into the conftest.py of the test package that uses them (elsewhere they last the
session).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from vllm_integrations.server import LocalGateway, LocalVLLMServer, Protocol
from vllm_integrations.testing.embedding import embedding_model_dir, embedding_model_server
from vllm_integrations.testing.llama import LLAMA
from vllm_integrations.testing.model import ensure_model
from vllm_integrations.testing.servers import tiny_model_gateway, tiny_model_server
from vllm_integrations.testing.spec import ModelSpec
from vllm_integrations.testing.variants import SPECIAL_TAGS


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


@pytest.fixture(scope="session")
def vllm_gateway(
    vllm_grpc_server: LocalVLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalGateway]:
    """smg in front of ``vllm_grpc_server`` (shared: one worker less to load), with smg's
    qwen3 reasoning and qwen (hermes-style) tool parsers."""
    log_dir = tmp_path_factory.mktemp("smg")
    with tiny_model_gateway(vllm_grpc_server, log_dir=log_dir) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def vllm_gateway_base_url(vllm_gateway: LocalGateway) -> str:
    """``http://127.0.0.1:PORT/v1``: the OpenAI API, served by smg over vLLM's gRPC worker."""
    return vllm_gateway.base_url


def _serve_both(
    spec: ModelSpec, model: Path, python: str, logs: pytest.TempPathFactory
) -> Iterator[dict[Protocol, LocalVLLMServer]]:
    """A variant's HTTP and gRPC servers, launched together so that they load side by side."""
    log_dir = logs.mktemp("vllm")
    servers: dict[Protocol, LocalVLLMServer] = {
        protocol: tiny_model_server(
            protocol, model, spec=spec, python=python, log_path=log_dir / f"{protocol}.log"
        )
        for protocol in ("http", "grpc")
    }
    yield from _together(servers)


def _together(
    servers: dict[Protocol, LocalVLLMServer],
) -> Iterator[dict[Protocol, LocalVLLMServer]]:
    """Servers launched together, so that they load side by side, and stopped together."""
    try:
        for server in servers.values():
            server.launch()
        for server in servers.values():
            server.wait_until_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def vllm_special_tags_model(vllm_server_python: str) -> Path:
    """Directory of the tiny model whose think and tool tags are special tokens."""
    return ensure_model(vllm_server_python, SPECIAL_TAGS)


@pytest.fixture(scope="package")
def vllm_special_tags_servers(
    vllm_special_tags_model: Path, vllm_server_python: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Protocol, LocalVLLMServer]]:
    """vLLM's HTTP server (qwen3 and hermes parsers) and gRPC server on the special-tags model."""
    yield from _serve_both(
        SPECIAL_TAGS, vllm_special_tags_model, vllm_server_python, tmp_path_factory
    )


@pytest.fixture(scope="package")
def vllm_special_tags_http_base_url(
    vllm_special_tags_servers: dict[Protocol, LocalVLLMServer],
) -> str:
    return vllm_special_tags_servers["http"].base_url


@pytest.fixture(scope="package")
def vllm_special_tags_grpc_base_url(
    vllm_special_tags_servers: dict[Protocol, LocalVLLMServer],
) -> str:
    return vllm_special_tags_servers["grpc"].base_url


@pytest.fixture(scope="session")
def vllm_llama_model(vllm_server_python: str) -> Path:
    """Directory of the tiny Llama 3.1 style model (JSON tool calls)."""
    return ensure_model(vllm_server_python, LLAMA)


@pytest.fixture(scope="package")
def vllm_llama_servers(
    vllm_llama_model: Path, vllm_server_python: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Protocol, LocalVLLMServer]]:
    """vLLM's HTTP server (llama3_json tool parser) and gRPC server on the Llama model."""
    yield from _serve_both(LLAMA, vllm_llama_model, vllm_server_python, tmp_path_factory)


@pytest.fixture(scope="package")
def vllm_llama_http_base_url(vllm_llama_servers: dict[Protocol, LocalVLLMServer]) -> str:
    return vllm_llama_servers["http"].base_url


@pytest.fixture(scope="package")
def vllm_llama_grpc_base_url(vllm_llama_servers: dict[Protocol, LocalVLLMServer]) -> str:
    return vllm_llama_servers["grpc"].base_url


@pytest.fixture(scope="session")
def vllm_embedding_model(vllm_server_python: str) -> Path:
    """Directory of the embedding model (all-MiniLM-L6-v2, from the server's Python)."""
    return embedding_model_dir(vllm_server_python)


@pytest.fixture(scope="package")
def vllm_embed_servers(
    vllm_embedding_model: Path, vllm_server_python: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Protocol, LocalVLLMServer]]:
    """vLLM's HTTP and gRPC servers on the embedding model (served as ``all-MiniLM-L6-v2``)."""
    log_dir = tmp_path_factory.mktemp("vllm")
    servers: dict[Protocol, LocalVLLMServer] = {
        protocol: embedding_model_server(
            protocol,
            vllm_embedding_model,
            python=vllm_server_python,
            log_path=log_dir / f"embedding-{protocol}.log",
        )
        for protocol in ("http", "grpc")
    }
    yield from _together(servers)


@pytest.fixture(scope="package")
def vllm_embed_http_base_url(vllm_embed_servers: dict[Protocol, LocalVLLMServer]) -> str:
    """``http://127.0.0.1:PORT/v1`` on the embedding model: embeddings and reranking."""
    return vllm_embed_servers["http"].base_url


@pytest.fixture(scope="package")
def vllm_embed_grpc_base_url(vllm_embed_servers: dict[Protocol, LocalVLLMServer]) -> str:
    """``grpc://127.0.0.1:PORT`` on the embedding model: the Embed call."""
    return vllm_embed_servers["grpc"].base_url
