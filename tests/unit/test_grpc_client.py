"""The gRPC client's pure parts: where it connects, how create() arguments become requests, and
that results are the openai SDK's classes all the way down. The behaviour against a real server
is in tests/integration/test_grpc_client.py."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionMessageToolCall
from pydantic import ValidationError

from vllm_integrations.grpc import AsyncVLLMGrpcClient, StructuredOutputs, VLLMGrpcClient, convert
from vllm_integrations.grpc.params import chat_request, completion_request
from vllm_integrations.grpc.results import ChatCompletion, ChatCompletionMessage, Choice
from vllm_integrations.types import ChatReply, ResponseInfo, ToolCall, Usage

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def no_grpc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VLLM_GRPC_HOST", "VLLM_GRPC_PORT", "VLLM_GRPC_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


# -- address ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "base_url"),
    [
        ({}, "grpc://localhost:50051"),
        ({"host": "10.0.0.7", "port": 9000}, "grpc://10.0.0.7:9000"),
        ({"host": "::1"}, "grpc://[::1]:50051"),
        ({"secure": True}, "grpcs://localhost:50051"),
        ({"root_certificates": b"PEM"}, "grpcs://localhost:50051"),
        ({"base_url": "grpcs://vllm.internal:443"}, "grpcs://vllm.internal:443"),
    ],
)
def test_address(options: dict[str, Any], base_url: str) -> None:
    assert VLLMGrpcClient(**options).base_url == base_url
    assert AsyncVLLMGrpcClient(**options).base_url == base_url


def test_address_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_GRPC_HOST", "gpu-box")
    monkeypatch.setenv("VLLM_GRPC_PORT", "8000")
    assert VLLMGrpcClient().base_url == "grpc://gpu-box:8000"
    assert VLLMGrpcClient(port=9).base_url == "grpc://gpu-box:9"  # arguments win


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "grpc://h:1", "port": 2}, "not both"),
        ({"base_url": "grpc://h:1", "secure": True}, "grpcs://"),
        ({"base_url": "http://h:1/v1"}, "grpc://HOST:PORT"),
    ],
)
def test_contradictory_addresses(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VLLMGrpcClient(**options)


@pytest.mark.parametrize(
    ("name", "value"),
    [("VLLM_GRPC_PORT", "http"), ("VLLM_GRPC_PORT", "70000"), ("VLLM_GRPC_TIMEOUT", "soon")],
)
def test_bad_environment_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        VLLMGrpcClient()


# -- arguments -------------------------------------------------------------------------------


def test_arguments_become_a_neutral_request() -> None:
    request = chat_request(
        HI,
        {
            "temperature": 0,
            "top_k": None,  # None means unset, as in the openai SDK
            "stop": "END",
            "max_completion_tokens": 5,
            "stream_options": {"include_usage": True},
            "chat_template_kwargs": {"enable_thinking": False},
        },
        stream=True,
    )
    assert request.model == ""  # filled in with the served model by the client
    assert request.sampling == {"temperature": 0, "stop": ["END"], "max_tokens": 5}
    assert request.stream_usage is True
    assert request.chat_template_kwargs == {"enable_thinking": False}


@pytest.mark.parametrize(
    ("response_format", "structured"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, StructuredOutputs(json_object=True)),
        (
            {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}},
            StructuredOutputs(json_schema={"type": "object"}),
        ),
    ],
)
def test_response_format_is_structured_outputs(
    response_format: dict[str, Any], structured: StructuredOutputs | None
) -> None:
    request = chat_request(HI, {"response_format": response_format}, stream=False)
    assert request.structured_outputs == structured


@pytest.mark.parametrize(
    ("params", "stream", "message"),
    [
        ({"max_tokens": 1, "max_completion_tokens": 1}, False, "not both"),
        ({"top_logprobs": 2}, False, "logprobs=True"),
        ({"stream_options": {"include_usage": True}}, False, "stream=True"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, False, "schema"),
        ({"response_format": {"type": "yaml"}}, False, "yaml"),
        ({"tool_choice": "required"}, False, "without any tools"),
        ({"n": 0}, False, "n"),
        ({"stop_token_ids": [-1]}, False, "stop_token_ids"),
    ],
)
def test_bad_chat_arguments(params: dict[str, Any], stream: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chat_request(HI, params, stream=stream)


def test_unknown_arguments_are_type_errors_naming_them() -> None:
    with pytest.raises(TypeError, match=r"'best_of', 'echo'"):
        completion_request("Hi", {"echo": True, "best_of": 2, "temperature": 0}, stream=False)


def test_one_prompt_per_request() -> None:
    with pytest.raises(ValidationError):
        completion_request(["one", "two"], {}, stream=False)  # type: ignore[list-item]


# -- results ---------------------------------------------------------------------------------


def test_results_are_the_sdk_classes_with_vllm_fields() -> None:
    reply = ChatReply(
        content="",
        reasoning="Think.",
        tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Paris"}'),),
        finish_reason="abort",
        logprobs=None,
        usage=Usage(3, 4, 7, reasoning_tokens=2),
        info=ResponseInfo("chatcmpl-1", "m"),
        token_ids=(5, 6, 7, 2),
    )
    result = convert.chat_completion([reply], created=1)
    assert isinstance(result, ChatCompletion)
    choice = result.choices[0]
    assert isinstance(choice, Choice)
    assert isinstance(choice.message, ChatCompletionMessage)
    assert choice.finish_reason == "abort"  # vLLM's reason, kept as the SDK keeps it over HTTP
    assert choice.token_ids == [5, 6, 7, 2]
    assert choice.message.content is None  # as vLLM's HTTP server: no text, no content
    assert choice.message.reasoning_content == "Think."
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageToolCall)
    assert (call.id, call.function.name) == ("call_1", "get_weather")
    assert result.usage is not None
    assert result.usage.completion_tokens_details is not None
    assert result.usage.completion_tokens_details.reasoning_tokens == 2
