"""LangChain's standard integration suite for VLLMEmbeddings, against the real embedding model:
once over HTTP and once over vLLM's native gRPC API."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from vllm_integrations.langchain import VLLMEmbeddings
from vllm_integrations.testing import EMBEDDING_MODEL_NAME


class TestVLLMEmbeddingsIntegration(EmbeddingsIntegrationTests):
    base_url = ""

    @pytest.fixture(autouse=True)
    def _server(self, vllm_embed_http_base_url: str) -> None:
        type(self).base_url = vllm_embed_http_base_url

    @property
    def embeddings_class(self) -> type[VLLMEmbeddings]:
        return VLLMEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": EMBEDDING_MODEL_NAME, "base_url": self.base_url}


class TestVLLMEmbeddingsIntegrationGrpc(TestVLLMEmbeddingsIntegration):
    @pytest.fixture(autouse=True)
    def _server(self, vllm_embed_grpc_base_url: str) -> None:
        type(self).base_url = vllm_embed_grpc_base_url
