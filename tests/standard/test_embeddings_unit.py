"""LangChain's standard unit suite for VLLMEmbeddings (construction, environment defaults), on
both transports' base URLs; nothing is sent."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import EmbeddingsUnitTests

from vllm_integrations.langchain import VLLMEmbeddings


class TestVLLMEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[VLLMEmbeddings]:
        return VLLMEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "all-MiniLM-L6-v2", "base_url": "http://127.0.0.1:8001/v1"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"VLLM_BASE_URL": "http://vllm.internal:8001/v1", "VLLM_API_KEY": "secret"}
        return (
            env,
            {"model": "all-MiniLM-L6-v2"},
            {"base_url": env["VLLM_BASE_URL"], "api_key": "secret"},
        )


class TestVLLMEmbeddingsUnitGrpc(TestVLLMEmbeddingsUnit):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "all-MiniLM-L6-v2", "base_url": "grpc://127.0.0.1:50052"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"VLLM_BASE_URL": "grpc://vllm.internal:50052"}
        return env, {"model": "all-MiniLM-L6-v2"}, {"base_url": env["VLLM_BASE_URL"]}
