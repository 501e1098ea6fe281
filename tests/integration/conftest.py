"""Shared fixtures for the real-server tests: each behaviour runs on every transport."""

from __future__ import annotations

import pytest

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SERVED_MODEL_NAME

TRANSPORTS = ["http", "grpc", "gateway"]
"""vLLM's HTTP server, its gRPC server, and smg (the OpenAI API) over that gRPC server."""


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Which way to the server a test runs on, for the tests that name where smg differs."""
    return str(request.param)


@pytest.fixture
def base_url(transport: str, request: pytest.FixtureRequest) -> str:
    """The base URL of the test server for each transport."""
    return str(request.getfixturevalue(f"vllm_{transport}_base_url"))


@pytest.fixture
def chat(base_url: str) -> ChatVLLM:
    """Greedy ChatVLLM on the scripted tiny model."""
    return ChatVLLM(model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, max_tokens=512)
