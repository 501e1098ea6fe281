"""LangChain's standard integration suite for ChatVLLM on the special-tags model: it passes over
gRPC as it does over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.standard import test_chat_integration as standard
from vllm_integrations.testing import SPECIAL_TAGS


class TestSpecialTagsHttp(standard.TestChatVLLMIntegration):
    @pytest.fixture(autouse=True)
    def _server(self, vllm_special_tags_http_base_url: str) -> None:
        type(self).base_url = vllm_special_tags_http_base_url

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "model": SPECIAL_TAGS.served_model_name}


class TestSpecialTagsGrpc(TestSpecialTagsHttp):
    @pytest.fixture(autouse=True)
    def _server(self, vllm_special_tags_grpc_base_url: str) -> None:
        type(self).base_url = vllm_special_tags_grpc_base_url
