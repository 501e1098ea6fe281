"""Greedy results over gRPC equal those over HTTP: text, reasoning, tool calls, finish reason
and token counts, for every scripted conversation, every structured-output mode and every
tool_choice, in invoke and stream, sync and async, with either reader of gRPC streams (this
package's HTTP/2 reader and grpcio's)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import Any, cast

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from transformers import AutoTokenizer

from tests.integration.test_langchain_structured import CODE, CODE_TAG, EBNF, JOKE_PROMPT, LARK
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.settings import GrpcReader
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.testing import SCRIPTS, SERVED_MODEL_NAME, STOP_WORD, Script, script
from vllm_integrations.testing.raw_grpc import wait_for_running

CASES = [s for s in SCRIPTS if not s.raw_tools and len(s.messages) == 1]
CALLS = ("invoke", "stream", "ainvoke", "astream")
JOKE_SCHEMA = {
    "type": "object",
    "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
    "required": ["setup", "punchline"],
}
STRUCTURED = {
    "json_schema": (JOKE_PROMPT, StructuredOutputs(json_schema=JOKE_SCHEMA)),
    "json_object": (JOKE_PROMPT, StructuredOutputs(json_object=True)),
    "regex": ("Give me a code.", StructuredOutputs(regex=CODE)),
    "choice": ("Is it sunny?", StructuredOutputs(choice=["yes", "no"])),
    "grammar_ebnf": ("Pick one.", StructuredOutputs(grammar=EBNF)),
    "grammar_lark": ("Pick one.", StructuredOutputs(grammar=LARK)),
    "structural_tag": ("Give me a code.", StructuredOutputs(structural_tag=CODE_TAG)),
}
WEATHER = script("weather_tool").messages[0]["content"]
BOTH = script("parallel_tools").messages[0]["content"]
TOOL_CHOICES: dict[str, tuple[str, dict[str, Any]]] = {
    "named": (WEATHER, {"tool_choice": "get_weather"}),
    "required": (WEATHER, {"tool_choice": "required"}),
    "named_other_tool": (WEATHER, {"tool_choice": "get_time"}),
    "single_call": (BOTH, {"parallel_tool_calls": False}),
    "strict_auto": (BOTH, {"strict": True}),
    "none": (WEATHER, {"tool_choice": "none"}),
}


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "Sunny, 22 °C"


def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "09:00"


Model = Runnable[LanguageModelInput, BaseMessage]
Same = Callable[..., Awaitable[None]]


READERS: tuple[GrpcReader, ...] = ("h2", "grpcio")


def _chat(base_url: str, reader: GrpcReader = "h2") -> ChatVLLM:
    return ChatVLLM(
        model=SERVED_MODEL_NAME,
        base_url=base_url,
        temperature=0,
        max_tokens=512,
        grpc_reader=reader,
    )


async def _reply(model: Model, prompt: str, call: str, options: dict[str, Any]) -> AIMessage:
    if call == "invoke":
        reply = model.invoke(prompt, **options)
    elif call == "ainvoke":
        reply = await model.ainvoke(prompt, **options)
    elif call == "stream":
        reply = functools.reduce(operator.add, model.stream(prompt, **options))
    else:
        reply = functools.reduce(operator.add, [c async for c in model.astream(prompt, **options)])
    assert isinstance(reply, AIMessage)
    return reply


async def outcome(
    chat: ChatVLLM, build: Callable[[ChatVLLM], Model], prompt: str, call: str, **options: Any
) -> dict[str, Any]:
    reply = await _reply(build(chat), prompt, call, options)
    return {
        "content": reply.content,
        "reasoning": reply.additional_kwargs.get("reasoning_content"),
        "tool_calls": [(c["name"], c["args"]) for c in reply.tool_calls],
        "finish_reason": reply.response_metadata["finish_reason"],
        "stop_reason": reply.response_metadata.get("stop_reason"),
        "usage": reply.usage_metadata,
    }


@pytest.fixture
def assert_same(vllm_http_base_url: str, vllm_grpc_base_url: str) -> Same:
    """Asserts equal outcomes over both transports (gRPC with each reader), for each of the
    four ways to call."""

    async def check(build: Callable[[ChatVLLM], Model], prompt: str, **options: Any) -> None:
        for call in CALLS:
            over_http = await outcome(_chat(vllm_http_base_url), build, prompt, call, **options)
            for reader in READERS:
                chat = _chat(vllm_grpc_base_url, reader)
                over_grpc = await outcome(chat, build, prompt, call, **options)
                assert over_grpc == over_http, (call, reader)

    return check


@pytest.mark.parametrize("s", CASES, ids=lambda s: s.name)
async def test_scripts(assert_same: Same, s: Script) -> None:
    def build(chat: ChatVLLM) -> Model:
        return chat.bind_tools([get_weather, get_time]) if s.tools else chat

    options: dict[str, Any] = {} if s.thinking else {"reasoning": False}
    await assert_same(build, s.messages[0]["content"], **options)


@pytest.mark.parametrize("mode", STRUCTURED)
async def test_structured_outputs(assert_same: Same, mode: str) -> None:
    prompt, structured = STRUCTURED[mode]
    await assert_same(lambda chat: chat, prompt, structured_outputs=structured)


@pytest.mark.parametrize("mode", TOOL_CHOICES)
async def test_tool_choice(assert_same: Same, mode: str) -> None:
    prompt, binding = TOOL_CHOICES[mode]

    def build(chat: ChatVLLM) -> Model:
        return chat.bind_tools([get_weather, get_time], **binding)

    await assert_same(build, prompt)


@pytest.mark.parametrize("stop", ["string", "token"])
async def test_stops(
    assert_same: Same, vllm_grpc_base_url: str, vllm_tiny_model: Path, stop: str
) -> None:
    s = script("stop_word_no_thinking")
    prompt = s.messages[0]["content"]
    if stop == "string":
        options: dict[str, Any] = {"stop": [STOP_WORD]}
        expected: str | int = STOP_WORD
    else:  # the answer's third token
        expected = AutoTokenizer.from_pretrained(vllm_tiny_model).encode(s.content)[2]
        options = {"stop_token_ids": [expected]}
    await assert_same(lambda chat: chat, prompt, reasoning=False, **options)
    reply = await _chat(vllm_grpc_base_url).ainvoke(prompt, reasoning=False, **options)
    assert reply.response_metadata["stop_reason"] == expected


def test_leaving_a_stream_early_aborts_it_on_the_server(vllm_grpc_base_url: str) -> None:
    endless = ChatVLLM(
        model=SERVED_MODEL_NAME,
        base_url=vllm_grpc_base_url,
        temperature=0,
        max_tokens=2000,
        ignore_eos=True,  # six to eight seconds of decoding here unless aborted
    )
    # An attempt proves nothing when the request ends on its own before it is seen running:
    # this machine can stall a process for seconds. Only that precondition is retried.
    for _attempt in range(3):
        stream = cast(Generator[Any, None, None], endless.stream("Tell me a long story."))
        for _, _chunk in zip(range(3), stream, strict=False):
            pass
        seen_running = wait_for_running(vllm_grpc_base_url, 1, seconds=5) == 1
        stream.close()
        if seen_running:
            break
    assert seen_running, "the request was never seen running"
    assert wait_for_running(vllm_grpc_base_url, 0, seconds=3) == 0
