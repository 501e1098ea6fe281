"""ChatVLLM and VLLM pieces that need no server: request building, conversion, serialization."""

from __future__ import annotations

import json

import pytest
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.unit.replies import chat_reply
from vllm_integrations.langchain import VLLM, ChatVLLM
from vllm_integrations.langchain._messages import (
    StreamTracker,
    message_from_reply,
    to_openai_messages,
)
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.transports.http.wire import chat_body
from vllm_integrations.types import ChatDelta, StopReason, ToolCall

URL = "http://127.0.0.1:9/v1"


def test_serialization_keeps_no_secret_and_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    chat = ChatVLLM(model="m", base_url=URL, api_key="top-secret", temperature=0.2)
    text = dumps(chat)
    assert "top-secret" not in text
    monkeypatch.setenv("VLLM_API_KEY", "top-secret")
    restored = loads(
        text,
        valid_namespaces=["vllm_integrations"],
        allowed_objects=[ChatVLLM],
        secrets_from_env=True,
    )
    assert isinstance(restored, ChatVLLM)
    assert restored.api_key.get_secret_value() == "top-secret"
    assert restored.temperature == 0.2
    assert "top-secret" not in repr(chat)


def test_environment_supplies_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_BASE_URL", "http://vllm.internal:8000/v1")
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    chat = ChatVLLM(model="m")
    assert chat.base_url == "http://vllm.internal:8000/v1"
    assert chat.api_key.get_secret_value() == "EMPTY"


def _request(chat: ChatVLLM, **options: object) -> dict[str, object]:
    request = chat._request([HumanMessage("hi")], None, "m", dict(options))
    return chat_body(request, stream=True)


def test_every_sampling_field_reaches_the_body() -> None:
    chat = ChatVLLM(model="m", base_url=URL, top_k=20, min_p=0.1, repetition_penalty=1.1, seed=7)
    body = _request(chat, temperature=0.3, stop_token_ids=[5])
    assert body["top_k"] == 20
    assert body["min_p"] == 0.1
    assert body["repetition_penalty"] == 1.1
    assert body["seed"] == 7
    assert body["temperature"] == 0.3  # per call wins
    assert body["stop_token_ids"] == [5]
    assert body["stream_options"] == {"include_usage": True}


def test_extra_body_deep_merges_and_per_call_wins() -> None:
    chat = ChatVLLM(
        model="m", base_url=URL, extra_body={"chat_template_kwargs": {"a": 1, "b": 1}, "x": 1}
    )
    body = _request(chat, extra_body={"chat_template_kwargs": {"b": 2}})
    assert body["chat_template_kwargs"] == {"a": 1, "b": 2}
    assert body["x"] == 1


def test_reasoning_switch_and_structured_outputs_in_the_body() -> None:
    chat = ChatVLLM(model="m", base_url=URL, reasoning=False)
    body = _request(chat, structured_outputs=StructuredOutputs(regex="[a-z]+"))
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["structured_outputs"] == {"regex": "[a-z]+"}
    assert not any(key.startswith("guided") for key in body)


def test_response_format_becomes_structured_outputs() -> None:
    chat = ChatVLLM(model="m", base_url=URL)
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = _request(
        chat, response_format={"type": "json_schema", "json_schema": {"schema": schema}}
    )
    assert body["structured_outputs"] == {"json": schema}
    # and the same schema where smg reads it (vLLM reads both, as one constraint)
    spec = {"name": "structured_output", "schema": schema}
    assert body["response_format"] == {"type": "json_schema", "json_schema": spec}


def test_tool_choice_without_tools_is_an_error() -> None:
    chat = ChatVLLM(model="m", base_url=URL)
    with pytest.raises(ValueError, match="without any tools"):
        _request(chat, tool_choice="required")


def test_reasoning_of_earlier_turns_is_sent_back_unless_turned_off() -> None:
    history = [
        HumanMessage("hi"),
        AIMessage(
            [
                {"type": "text", "text": "Hello."},
                {"type": "tool_call", "id": "1", "name": "f", "args": {}},
            ],
            additional_kwargs={"reasoning_content": "Greet."},
            tool_calls=[{"name": "f", "args": {}, "id": "1"}],
        ),
        ToolMessage("done", tool_call_id="1"),
    ]
    sent = to_openai_messages(history, send_reasoning=True)
    assert sent[1]["reasoning"] == "Greet."
    assert sent[1]["content"] == "Hello."  # no content blocks vLLM would reject
    assert sent[1]["tool_calls"][0]["function"]["name"] == "f"
    assert "reasoning" not in to_openai_messages(history, send_reasoning=False)[1]


def test_bad_tool_arguments_become_invalid_tool_calls() -> None:
    reply = chat_reply(
        tool_calls=(
            ToolCall("1", "f", '{"a": '),
            ToolCall("2", "g", '["x"]'),
            ToolCall("3", "h", ""),
        ),
        finish_reason="tool_calls",
    )
    message = message_from_reply(reply)
    assert [c["name"] for c in message.invalid_tool_calls] == ["f", "g"]
    assert message.tool_calls == [{"name": "h", "args": {}, "id": "3", "type": "tool_call"}]


@pytest.mark.parametrize("stop_reason", ["END", 42, None])
def test_stop_reason_is_in_the_metadata_when_a_stop_ended_the_reply(
    stop_reason: StopReason,
) -> None:
    reply = chat_reply(content="Hi", stop_reason=stop_reason)
    tracker = StreamTracker()
    tracker.chunk(ChatDelta(content="Hi"))
    tracker.chunk(ChatDelta(finish_reason="stop", stop_reason=stop_reason))
    whole, streamed = message_from_reply(reply), tracker.terminal_chunk()
    for metadata in (whole.response_metadata, streamed.response_metadata):
        assert metadata.get("stop_reason") == stop_reason
        assert ("stop_reason" in metadata) == (stop_reason is not None)


def test_llm_rejects_unknown_keywords() -> None:
    llm = VLLM(model="m", base_url=URL)
    with pytest.raises(TypeError, match="best_of"):
        llm._request("p", None, "m", {"best_of": 2})
    assert json.loads(json.dumps(llm._get_ls_params()))["ls_provider"] == "vllm"


def test_streaming_several_choices_is_refused() -> None:
    chat = ChatVLLM(model="m", base_url=URL)
    with pytest.raises(ValueError, match="n > 1"):
        chat._request([HumanMessage("hi")], None, "m", {"n": 2}, streaming=True)


def test_two_structure_options_at_once_are_refused() -> None:
    chat = ChatVLLM(model="m", base_url=URL)
    with pytest.raises(ValueError, match="not both"):
        _request(
            chat,
            structured_outputs={"regex": "a+"},
            response_format={"type": "json_object"},
        )
