"""LlamaIndex VLLM tool calling on the real server: ToolCallBlocks, parsed ToolSelections, the
tool options of FunctionCallingLLM, a round trip with the thinking sent back, and a FunctionAgent
that calls the tool and answers.

No `from __future__ import annotations` here: LlamaIndex reads the tools' real annotations.
"""

from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from tests.integration.smg import assert_forced_as_a_json_list
from vllm_integrations.llama_index import VLLM
from vllm_integrations.testing import script


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "Sunny, 22 °C"


def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "09:00"


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(get_time)]
WEATHER = script("weather_tool")
BOTH = script("parallel_tools")


def prompt(name: str) -> str:
    return str(script(name).messages[0]["content"])


def calls(llm: VLLM, response: ChatResponse) -> list[tuple[str, dict[str, Any]]]:
    return [(c.tool_name, c.tool_kwargs) for c in llm.get_tool_calls_from_response(response)]


def scripted_calls(name: str) -> list[tuple[str, dict[str, Any]]]:
    return [(call.name, call.arguments) for call in script(name).tool_calls]


def test_a_tool_call_comes_as_blocks_after_the_thinking(llm: VLLM) -> None:
    response = llm.chat_with_tools(TOOLS, user_msg=prompt("weather_tool"))
    thinking, text, call = response.message.blocks
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.content == WEATHER.reasoning
    assert isinstance(text, TextBlock)
    assert text.text == ""
    assert isinstance(call, ToolCallBlock)
    assert call.tool_call_id
    assert calls(llm, response) == scripted_calls("weather_tool")
    assert isinstance(response.raw, dict)
    assert response.raw["finish_reason"] == "tool_calls"

    chunks = list(llm.stream_chat_with_tools(TOOLS, user_msg=prompt("weather_tool")))
    assert calls(llm, chunks[-1]) == scripted_calls("weather_tool")
    assert "".join(c.additional_kwargs["thinking_delta"] or "" for c in chunks) == WEATHER.reasoning
    assert all(c.delta == "" for c in chunks)  # no answer text, only the call


def test_parallel_calls_are_all_kept_when_allowed(llm: VLLM) -> None:
    response = llm.chat_with_tools(
        TOOLS, user_msg=prompt("parallel_tools"), allow_parallel_tool_calls=True
    )
    assert calls(llm, response) == scripted_calls("parallel_tools")
    chunks = list(
        llm.stream_chat_with_tools(
            TOOLS, user_msg=prompt("parallel_tools"), allow_parallel_tool_calls=True
        )
    )
    assert calls(llm, chunks[-1]) == scripted_calls("parallel_tools")


async def test_async_tool_calls(llm: VLLM) -> None:
    response = await llm.achat_with_tools(
        TOOLS, user_msg=prompt("parallel_tools"), allow_parallel_tool_calls=True
    )
    assert calls(llm, response) == scripted_calls("parallel_tools")
    chunks = [
        chunk
        async for chunk in await llm.astream_chat_with_tools(
            TOOLS, user_msg=prompt("parallel_tools"), allow_parallel_tool_calls=True
        )
    ]
    assert calls(llm, chunks[-1]) == scripted_calls("parallel_tools")


def test_one_call_unless_parallel_calls_are_allowed(llm: VLLM) -> None:
    response = llm.chat_with_tools(TOOLS, user_msg=prompt("parallel_tools"))
    assert calls(llm, response) == scripted_calls("parallel_tools")[:1]


def test_tool_required_and_a_named_tool_choice(llm: VLLM, transport: str) -> None:
    required = llm.chat_with_tools(TOOLS, user_msg=prompt("weather_tool"), tool_required=True)
    if transport == "gateway":  # smg's own forced form (tests/integration/smg.py)
        names = [tool.metadata.get_name() for tool in TOOLS]
        assert_forced_as_a_json_list(required.message.content or "", names)
    else:
        assert calls(llm, required) == scripted_calls("weather_tool")
    named = llm.chat_with_tools(TOOLS, user_msg=prompt("weather_tool"), tool_choice="get_time")
    if transport == "gateway":  # any call smg let through is the named one; the tiny model may
        # not finish smg's arguments object before max_tokens, and then none comes
        found = llm.get_tool_calls_from_response(named, error_on_no_tool_call=False)
        assert {call.tool_name for call in found} <= {"get_time"}
    else:
        assert [name for name, _ in calls(llm, named)] == ["get_time"]


def test_tool_choice_is_never_sent_without_tools(llm: VLLM) -> None:
    capital = script("capital")
    response = llm.chat_with_tools([], user_msg=prompt("capital"), tool_required=True)
    assert response.message.content == capital.content
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="without any tools"):
        llm.chat([ChatMessage(role=MessageRole.USER, content="Hi")], tool_choice="required")


def test_tool_result_round_trip_with_the_thinking_sent_back(llm: VLLM) -> None:
    first = llm.chat_with_tools(TOOLS, user_msg=prompt("weather_tool"))
    (selection,) = llm.get_tool_calls_from_response(first)
    history = [
        ChatMessage(role=MessageRole.USER, content=prompt("weather_tool")),
        first.message,  # its ThinkingBlock goes back as the assistant turn's reasoning
        ChatMessage(
            role=MessageRole.TOOL,
            content=get_weather(**selection.tool_kwargs),
            additional_kwargs={"tool_call_id": selection.tool_id},
        ),
    ]
    answer = llm.chat_with_tools(TOOLS, chat_history=history)
    assert answer.message.content == script("weather_answer_after_reasoning").content
    assert llm.get_tool_calls_from_response(answer, error_on_no_tool_call=False) == []


def test_predict_and_call_runs_the_chosen_tool(llm: VLLM) -> None:
    result = llm.predict_and_call(TOOLS, user_msg=prompt("weather_tool"))
    assert result.response == "Sunny, 22 °C"
    assert [source.tool_name for source in result.sources] == ["get_weather"]


async def test_function_agent_calls_the_tool_and_answers(llm: VLLM) -> None:
    agent = FunctionAgent(tools=TOOLS, llm=llm)
    handler = agent.run(prompt("weather_tool"))
    results: list[tuple[str, dict[str, Any], str]] = []
    thinking = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append((event.tool_name, event.tool_kwargs, str(event.tool_output)))
        if isinstance(event, AgentStream) and event.thinking_delta:
            thinking.append(event.thinking_delta)
    output = await handler
    assert results == [("get_weather", {"city": "Paris"}, "Sunny, 22 °C")]
    answer = script("weather_answer_after_reasoning")
    assert "".join(thinking) == f"{WEATHER.reasoning}{answer.reasoning}"
    assert str(output) == answer.content
