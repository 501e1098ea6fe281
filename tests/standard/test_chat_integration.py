"""LangChain's standard integration suite for ChatVLLM, against the real vLLM test servers: once
over HTTP and once over vLLM's native gRPC API."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SERVED_MODEL_NAME


class TestChatVLLMIntegration(ChatModelIntegrationTests):
    base_url = ""

    @pytest.fixture(autouse=True)
    def _server(self, vllm_http_base_url: str) -> None:
        type(self).base_url = vllm_http_base_url

    @property
    def chat_model_class(self) -> type[ChatVLLM]:
        return ChatVLLM

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": SERVED_MODEL_NAME, "base_url": self.base_url, "temperature": 0}

    @property
    def supports_json_mode(self) -> bool:
        return True


class TestChatVLLMIntegrationGrpc(TestChatVLLMIntegration):
    @pytest.fixture(autouse=True)
    def _server(self, vllm_grpc_base_url: str) -> None:
        type(self).base_url = vllm_grpc_base_url
