"""ChatVLLM tool calling on the real server: auto, forced, parallel, streamed, round-tripped."""

from __future__ import annotations

import operator
from functools import reduce
from typing import cast

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

from tests.integration.smg import assert_forced_as_a_json_list
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import script


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "Sunny, 22 °C"


def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "09:00"


TOOLS = [get_weather, get_time]


def calls(message: AIMessage) -> list[tuple[str, dict[str, object]]]:
    return [(call["name"], call["args"]) for call in message.tool_calls]


@pytest.mark.parametrize("name", ["weather_tool", "parallel_tools"])
def test_tool_calls_invoke_and_stream(chat: ChatVLLM, name: str) -> None:
    s = script(name)
    expected = [(call.name, call.arguments) for call in s.tool_calls]
    bound = chat.bind_tools(TOOLS)
    invoked = bound.invoke(s.messages[0]["content"])
    assert calls(invoked) == expected
    assert all(call["id"] for call in invoked.tool_calls)
    assert invoked.response_metadata["finish_reason"] == "tool_calls"
    assert invoked.additional_kwargs["reasoning_content"] == s.reasoning

    chunks = cast("list[AIMessageChunk]", list(bound.stream(s.messages[0]["content"])))
    assert any(chunk.tool_call_chunks for chunk in chunks)
    streamed: AIMessageChunk = reduce(operator.add, chunks)
    assert calls(streamed) == expected
    assert streamed.response_metadata["finish_reason"] == "tool_calls"


async def test_tool_calls_async(chat: ChatVLLM) -> None:
    s = script("parallel_tools")
    reply = await chat.bind_tools(TOOLS).ainvoke(s.messages[0]["content"])
    assert calls(reply) == [(c.name, c.arguments) for c in s.tool_calls]


@pytest.mark.parametrize("choice", ["get_weather", "any", "required", True])
def test_forced_tool_choice(chat: ChatVLLM, choice: str | bool, transport: str) -> None:
    reply = chat.bind_tools(TOOLS, tool_choice=choice).invoke("What is the weather in Paris?")
    if transport == "gateway":
        assert_forced_as_smg_forces(reply, "get_weather" if choice == "get_weather" else None)
    else:
        assert calls(reply) == [("get_weather", {"city": "Paris"})]


def assert_forced_as_smg_forces(reply: AIMessage, name: str | None) -> None:
    """A named tool's call with arguments in its schema; for "required", smg's JSON list."""
    if name is None:
        assert_forced_as_a_json_list(str(reply.content), [tool.__name__ for tool in TOOLS])
    else:
        assert [call["name"] for call in reply.tool_calls] == [name]
        assert isinstance(reply.tool_calls[0]["args"]["city"], str)


def test_parallel_tool_calls_false_keeps_one_call(chat: ChatVLLM) -> None:
    s = script("parallel_tools")
    bound = chat.bind_tools(TOOLS, parallel_tool_calls=False)
    reply = bound.invoke(s.messages[0]["content"])
    assert calls(reply) == [("get_weather", {"city": "Paris"})]
    chunks = cast("list[AIMessageChunk]", list(bound.stream(s.messages[0]["content"])))
    assert calls(reduce(operator.add, chunks)) == [("get_weather", {"city": "Paris"})]


def test_forcing_a_tool_the_model_would_not_call_still_calls_it(
    chat: ChatVLLM, transport: str
) -> None:
    reply = chat.bind_tools(TOOLS, tool_choice="get_time").invoke("What is the weather in Paris?")
    assert [call["name"] for call in reply.tool_calls] == ["get_time"]
    # OpenAI's rule, which vLLM keeps: "tool_calls" for auto or required, "stop" for a named
    # tool; smg says "tool_calls" for a named tool too (its "required": test_forced_tool_choice).
    if transport == "gateway":
        assert reply.response_metadata["finish_reason"] == "tool_calls"
        return
    assert reply.response_metadata["finish_reason"] == "stop"
    required = chat.bind_tools(TOOLS, tool_choice="required").invoke(
        "What is the weather in Paris?"
    )
    assert required.response_metadata["finish_reason"] == "tool_calls"


def test_tool_choice_none_answers_in_text(chat: ChatVLLM) -> None:
    reply = chat.bind_tools(TOOLS, tool_choice="none").invoke("What is the capital of France?")
    assert reply.tool_calls == []
    assert reply.content


def test_tool_choice_naming_no_tool_fails_at_once(chat: ChatVLLM) -> None:
    with pytest.raises(ValueError, match="get_forecast"):
        chat.bind_tools(TOOLS, tool_choice="get_forecast")


def test_tool_result_round_trip(chat: ChatVLLM) -> None:
    s = script("weather_answer")
    first = chat.bind_tools(TOOLS).invoke("What is the weather in Paris?")
    history = [
        HumanMessage("What is the weather in Paris?"),
        AIMessage("", tool_calls=first.tool_calls),
        ToolMessage(get_weather("Paris"), tool_call_id=first.tool_calls[0]["id"]),
    ]
    answer = chat.bind_tools(TOOLS).invoke(history)
    assert answer.content == s.content
    assert answer.tool_calls == []
