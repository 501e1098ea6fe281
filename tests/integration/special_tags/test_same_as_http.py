"""A tokenizer that marks ``<think>``, ``</think>``, ``<tool_call>`` and ``</tool_call>`` as
special tokens: every scripted conversation, and every forced tool call, over gRPC equals vLLM's
HTTP server (content, reasoning, tool calls, finish reason, token counts) for the gRPC client,
ChatVLLM and the LlamaIndex VLLM, whole and streamed.

A decoder that skips special tokens drops these tags, so only parsers that find them by token ID
(as vLLM's do) split the reasoning and find the calls."""

from __future__ import annotations

import pytest

from tests.integration.same_as_http import (
    FORCED_CALLS,
    ROUTES,
    Differential,
    every_case,
    http_as_scripted,
)
from vllm_integrations.testing import SPECIAL_TAGS

HERMES_FORCED_CALLS = {**FORCED_CALLS, "required_parallel": ["get_weather"]}
"""vLLM's hermes grammar for "required" puts nothing between two calls, where the model learnt a
newline: it ends after the first."""


@pytest.fixture(scope="module")
def differential(
    vllm_special_tags_http_base_url: str, vllm_special_tags_grpc_base_url: str
) -> Differential:
    urls = {"http": vllm_special_tags_http_base_url, "grpc": vllm_special_tags_grpc_base_url}
    return Differential(SPECIAL_TAGS, urls, every_case(SPECIAL_TAGS))


async def test_vllm_http_answers_as_scripted(differential: Differential) -> None:
    """The oracle is sound: vLLM's HTTP server splits and parses this model's replies as
    scripted, though its tokenizer calls the tags special, and its grammar makes the model call
    what tool_choice asks for."""
    seen, scripted_replies = await http_as_scripted(differential, HERMES_FORCED_CALLS)
    assert seen == scripted_replies


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(("client", "transport"), ROUTES, ids=["-".join(r) for r in ROUTES])
async def test_every_case_as_vllm_http_returns_it(
    differential: Differential, client: str, transport: str, stream: bool
) -> None:
    assert await differential.differences(client, transport, stream) == {}
