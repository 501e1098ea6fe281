"""Llama 3.1 JSON tool calls (vLLM's ``llama3_json`` parser): every script and every forced
call over gRPC equals vLLM's HTTP server (content, tool calls, finish reason, token counts) for
the gRPC client, ChatVLLM and the LlamaIndex VLLM, whole and streamed: one call, parallel
calls joined by "; ", the answer after a tool result, a plain answer, tool_choice "required"
and a named tool."""

from __future__ import annotations

import pytest

from tests.integration.same_as_http import (
    ROUTES,
    Differential,
    every_case,
    http_as_scripted,
)
from vllm_integrations.testing import LLAMA


@pytest.fixture(scope="module")
def differential(vllm_llama_http_base_url: str, vllm_llama_grpc_base_url: str) -> Differential:
    urls = {"http": vllm_llama_http_base_url, "grpc": vllm_llama_grpc_base_url}
    return Differential(LLAMA, urls, every_case(LLAMA))


async def test_vllm_http_answers_as_scripted(differential: Differential) -> None:
    """The oracle is sound: vLLM's HTTP server reads this model's replies as scripted, and its
    grammar makes the model call what tool_choice asks for, as often as allowed."""
    seen, scripted_replies = await http_as_scripted(differential)
    assert seen == scripted_replies


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(("client", "transport"), ROUTES, ids=["-".join(r) for r in ROUTES])
async def test_every_case_as_vllm_http_returns_it(
    differential: Differential, client: str, transport: str, stream: bool
) -> None:
    assert await differential.differences(client, transport, stream) == {}
