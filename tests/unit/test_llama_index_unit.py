"""LlamaIndex VLLM pieces that need no server: settings, what events report, message conversion,
and replies no real model gives on demand (two tool calls in one stream step, broken JSON)."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from tests.unit.replies import chat_reply
from vllm_integrations.llama_index import VLLM
from vllm_integrations.llama_index._messages import (
    StreamFollower,
    chat_response,
    to_openai_messages,
)
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.types import ChatDelta, ResponseInfo, ToolCallDelta, Usage

URL = "http://127.0.0.1:9/v1"


def test_environment_supplies_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_BASE_URL", "grpc://vllm.internal:50051")
    monkeypatch.setenv("VLLM_API_KEY", "from-env")
    llm = VLLM(model="m")
    assert llm.base_url == "grpc://vllm.internal:50051"
    assert llm.api_key.get_secret_value() == "from-env"


def test_unknown_constructor_argument_is_an_error() -> None:
    with pytest.raises(ValueError, match="guided_regex"):
        VLLM(model="m", base_url=URL, guided_regex="[a-z]+")


def test_events_report_settings_but_never_the_key_or_headers() -> None:
    llm = VLLM(
        model="m",
        base_url=URL,
        api_key="top-secret",
        default_headers={"Authorization": "Bearer top-secret"},
        temperature=0.2,
    )
    payload = llm.to_payload()  # no server at URL: reporting must not ask it anything
    assert payload["model_name"] == "m"
    assert payload["temperature"] == 0.2
    assert payload["class_name"] == "vllm_integrations.VLLM"
    assert "top-secret" not in repr(payload)


def test_json_round_trip_keeps_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = VLLM(model="m", base_url=URL, api_key="top-secret", max_tokens=7)
    text = llm.to_json()
    assert "top-secret" not in text
    monkeypatch.setenv("VLLM_API_KEY", "from-env")
    restored = VLLM.from_json(text)
    assert (restored.model_name, restored.max_tokens) == ("m", 7)
    assert restored.api_key.get_secret_value() == "from-env"


def test_thinking_and_tool_calls_go_back_as_vllm_fields() -> None:
    history = [
        ChatMessage(role=MessageRole.USER, content="What is the weather in Paris?"),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[
                ThinkingBlock(content="I should call get_weather."),
                TextBlock(text=""),
                ToolCallBlock(
                    tool_call_id="c1", tool_name="get_weather", tool_kwargs={"city": "Paris"}
                ),
            ],
        ),
        ChatMessage(
            role=MessageRole.TOOL, content="Sunny", additional_kwargs={"tool_call_id": "c1"}
        ),
    ]
    assert to_openai_messages(history) == [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning": "I should call get_weather.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "Sunny", "tool_call_id": "c1"},
    ]


def test_a_block_vllm_chat_cannot_carry_fails_by_name() -> None:
    message = ChatMessage(role=MessageRole.USER, blocks=[ImageBlock(url="http://x/cat.png")])
    with pytest.raises(ValueError, match="ImageBlock"):
        to_openai_messages([message])


def test_two_tool_calls_in_one_stream_step_are_both_kept() -> None:
    follower = StreamFollower()
    steps = [
        ChatDelta(
            tool_calls=(
                ToolCallDelta(0, id="a", name="get_weather", arguments='{"city": '),
                ToolCallDelta(1, id="b", name="get_time", arguments='{"city": "Tokyo"}'),
            ),
            info=ResponseInfo("chatcmpl-1", "m"),
        ),
        ChatDelta(tool_calls=(ToolCallDelta(0, arguments='"Paris"}'),), finish_reason="tool_calls"),
    ]
    responses = [follower.response(step) for step in steps]
    last = responses[-1]
    assert last is not None
    calls = VLLM(model="m", base_url=URL).get_tool_calls_from_response(last)
    assert [(c.tool_id, c.tool_name, c.tool_kwargs) for c in calls] == [
        ("a", "get_weather", {"city": "Paris"}),
        ("b", "get_time", {"city": "Tokyo"}),
    ]


def test_raw_has_the_stop_reason_of_a_reply_a_stop_string_ended() -> None:
    reply = chat_reply(content="Hi", info=ResponseInfo("chatcmpl-1", "m"), stop_reason="END")
    follower = StreamFollower()
    steps = [
        ChatDelta(content="Hi", info=reply.info),
        ChatDelta(finish_reason="stop", stop_reason="END"),
        ChatDelta(usage=Usage(3, 1, 4)),  # the usage step that follows keeps the reply's facts
    ]
    raws = [chat_response(reply).raw] + [getattr(follower.response(s), "raw", None) for s in steps]
    assert [raw and raw.get("stop_reason") for raw in raws] == ["END", None, "END", "END"]


def _tool_response(arguments: str, finish_reason: str | None) -> ChatResponse:
    call = ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs=arguments)
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text=""), call]),
        raw={"id": "chatcmpl-1", "model": "m", "finish_reason": finish_reason},
    )


def test_broken_arguments_of_a_whole_reply_fail_with_the_models_text() -> None:
    llm = VLLM(model="m", base_url=URL)
    with pytest.raises(ValueError, match=r"get_weather.*\{\"city\": \"Par"):
        llm.get_tool_calls_from_response(_tool_response('{"city": "Par', "length"))


def test_without_errors_broken_arguments_are_read_leniently_as_openai_does() -> None:
    llm = VLLM(model="m", base_url=URL)
    calls = llm.get_tool_calls_from_response(
        _tool_response("not json", "stop"), error_on_no_tool_call=False
    )
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("get_weather", {})]


def test_arguments_still_streaming_are_read_as_far_as_they_go() -> None:
    llm = VLLM(model="m", base_url=URL)
    calls = llm.get_tool_calls_from_response(_tool_response('{"city": "Paris", "un', None))
    assert calls[0].tool_kwargs == {"city": "Paris"}


def test_no_tool_call_is_an_error_only_when_asked() -> None:
    llm = VLLM(model="m", base_url=URL)
    answer = ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content="Hi"))
    with pytest.raises(ValueError, match="at least one tool call"):
        llm.get_tool_calls_from_response(answer)
    assert llm.get_tool_calls_from_response(answer, error_on_no_tool_call=False) == []


class Answer(BaseModel):
    text: str


def test_structured_predict_refuses_a_second_constraint() -> None:
    llm = VLLM(model="m", base_url=URL)
    with pytest.raises(ValueError, match="structured_outputs"):
        llm.structured_predict(
            Answer,
            PromptTemplate("Say something."),
            llm_kwargs={"structured_outputs": StructuredOutputs(regex="[a-z]+")},
        )
