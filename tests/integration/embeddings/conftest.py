"""The embedding model's servers (all-MiniLM-L6-v2 over HTTP and gRPC) for this package only:
imported here, the plugin's package-scoped fixtures start on first use and stop when the last
test of this package is done, so the ~2.5 GB each holds is not kept for the whole session."""

from __future__ import annotations

import pytest

from vllm_integrations.langchain import VLLMEmbeddings
from vllm_integrations.testing import EMBEDDING_MODEL_NAME
from vllm_integrations.testing.pytest_plugin import (
    vllm_embed_grpc_base_url,
    vllm_embed_http_base_url,
    vllm_embed_servers,
)

__all__ = ["vllm_embed_grpc_base_url", "vllm_embed_http_base_url", "vllm_embed_servers"]


@pytest.fixture(params=["http", "grpc"])
def embed_base_url(request: pytest.FixtureRequest) -> str:
    """The embedding server's base URL on each transport."""
    return str(request.getfixturevalue(f"vllm_embed_{request.param}_base_url"))


@pytest.fixture(params=["http", "grpc"])
def chat_base_url(request: pytest.FixtureRequest) -> str:
    """The tiny chat model's server on each transport (the session's: it serves no embeddings)."""
    return str(request.getfixturevalue(f"vllm_{request.param}_base_url"))


@pytest.fixture
def embeddings(embed_base_url: str) -> VLLMEmbeddings:
    return VLLMEmbeddings(model=EMBEDDING_MODEL_NAME, base_url=embed_base_url)
