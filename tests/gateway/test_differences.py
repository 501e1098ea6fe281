"""Where smg (1.13, over vLLM's gRPC worker) answers other than vLLM's HTTP server, as the README
lists it: pinned here on the raw OpenAI API, so an smg upgrade that changes one shows up. The
integration tests of ChatVLLM and LlamaIndex's VLLM over the gateway name the same differences
where they meet them (tests/integration/smg.py)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.integration.smg import assert_forced_as_a_json_list
from vllm_integrations.testing import SERVED_MODEL_NAME, script

WEATHER = script("weather_tool")


def ask(base_url: str, **options: Any) -> Any:
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    return client.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=WEATHER.chat_messages(),
        temperature=0,
        max_tokens=256,
        **options,
    )


def test_ids_stop_reason_and_usage_details(
    vllm_http_base_url: str, vllm_gateway_base_url: str
) -> None:
    vllm, smg = (
        ask(url, tools=WEATHER.openai_tools())
        for url in (vllm_http_base_url, vllm_gateway_base_url)
    )
    assert smg.id.startswith("chatcmpl-")
    assert [call.id[:5] for call in smg.choices[0].message.tool_calls] == ["call_"]
    assert "stop_reason" in (vllm.choices[0].model_extra or {})
    assert "stop_reason" not in (smg.choices[0].model_extra or {})
    assert vllm.usage.prompt_tokens_details is None
    assert smg.usage.prompt_tokens_details.cached_tokens is not None
    counts = [(r.usage.prompt_tokens, r.usage.completion_tokens) for r in (vllm, smg)]
    assert counts[0] == counts[1]


def test_tool_choice_none_leaves_the_tools_out_of_the_prompt(
    vllm_http_base_url: str, vllm_gateway_base_url: str
) -> None:
    tools = WEATHER.openai_tools()
    smg = ask(vllm_gateway_base_url, tools=tools, tool_choice="none")
    vllm = ask(vllm_http_base_url, tools=tools, tool_choice="none")
    without_tools = ask(vllm_http_base_url)
    assert smg.usage.prompt_tokens == without_tools.usage.prompt_tokens
    assert vllm.usage.prompt_tokens > without_tools.usage.prompt_tokens  # vLLM keeps them
    assert smg.choices[0].message.content == without_tools.choices[0].message.content
    assert smg.choices[0].message.tool_calls is None


@pytest.mark.parametrize("forced", ["required", "get_time"])
def test_forced_calls_are_constrained_as_json(
    vllm_http_base_url: str, vllm_gateway_base_url: str, forced: str
) -> None:
    choice: Any = (
        forced if forced == "required" else {"type": "function", "function": {"name": forced}}
    )
    tools = WEATHER.openai_tools()
    smg = ask(vllm_gateway_base_url, tools=tools, tool_choice=choice).choices[0]
    vllm = ask(vllm_http_base_url, tools=tools, tool_choice=choice).choices[0]
    if forced == "required":
        assert_forced_as_a_json_list(smg.message.content or "", ["get_weather", "get_time"])
        assert vllm.finish_reason == "tool_calls"
    else:
        assert [call.function.name for call in smg.message.tool_calls] == [forced]
        assert (smg.finish_reason, vllm.finish_reason) == ("tool_calls", "stop")
    assert [call.function.name for call in vllm.message.tool_calls] in (["get_weather"], [forced])
