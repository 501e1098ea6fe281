"""Three ways to the same engine give the same reply: vLLM's HTTP server and smg over vLLM's gRPC
worker (each read by the openai SDK, streamed and not) and ChatVLLM over ``grpc://`` (invoke and
stream): the same content, reasoning, tool calls and finish reason, for every scripted
conversation, every structured-output mode and every tool_choice mode.

Where smg differs from vLLM the test names it: the reasoning field (``reasoning_content``), tool
arguments written as compact JSON (compared parsed), a structural tag (smg's chat API has no key
for one), and the prompt and constraint of ``tool_choice`` "none", "required" and a named tool.
"""

from __future__ import annotations

import asyncio
import functools
import json
import operator
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage, convert_to_messages

from tests.integration.test_cross_transport import STRUCTURED
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.testing import SCRIPTS, SERVED_MODEL_NAME, Script, script

SERVERS = ("vllm_http_base_url", "vllm_gateway_base_url")
"""The two OpenAI-compatible servers: vLLM's own, and smg over vLLM's gRPC worker."""
# The fallback scripts are one behaviour (an unseen prompt ends its reasoning at once) over 32
# prompts: two of them stand for all, which keeps this module to seconds per case.
CASES = [s for s in SCRIPTS if "fallback" not in s.tags or s.name in ("fallback_0", "fallback_1")]
WEATHER, BOTH = script("weather_tool"), script("parallel_tools")


@dataclass(frozen=True)
class Case:
    """One request, in the terms both the openai SDK and ChatVLLM can be given."""

    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...] = ()
    tool_options: dict[str, Any] = field(default_factory=dict)  # tool_choice, parallel...
    structured: StructuredOutputs | None = None
    thinking: bool = True

    @classmethod
    def of(cls, s: Script, **options: Any) -> Case:
        tools = tuple(s.openai_tools()) if s.tools or s.raw_tools else ()
        return cls(tuple(s.chat_messages()), tools, thinking=s.thinking, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Outcome:
    content: str
    reasoning: str
    tool_calls: tuple[tuple[str, Any], ...]  # arguments parsed: smg writes compact JSON
    finish_reason: str | None


def _calls(calls: Sequence[tuple[str, str]]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, json.loads(arguments)) for name, arguments in calls)


async def over_sdk(base_url: str, case: Case, stream: bool) -> Outcome:
    """The reply as the openai SDK reads it, with both vLLM's and smg's structured-output keys
    (each server ignores the other's: what this package's HTTP transport sends too)."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    extra: dict[str, Any] = (
        {} if case.thinking else {"chat_template_kwargs": {"enable_thinking": False}}
    )
    if case.structured is not None:
        extra["structured_outputs"] = case.structured.to_http()
        extra.update(case.structured.to_gateway(chat=True))
    tools: dict[str, Any] = {"tools": list(case.tools), **case.tool_options} if case.tools else {}
    request: dict[str, Any] = {
        "model": SERVED_MODEL_NAME,
        "messages": list(case.messages),
        "temperature": 0,
        "max_tokens": 512,
        "extra_body": extra,
        **tools,
    }
    async with client:
        if not stream:
            reply = await client.chat.completions.create(**request)
            message = reply.choices[0].message
            calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]
            fields = message.model_extra or {}
            reasoning = fields.get("reasoning") or fields.get("reasoning_content") or ""
            return Outcome(
                message.content or "", reasoning, _calls(calls), reply.choices[0].finish_reason
            )
        return await _folded(await client.chat.completions.create(**request, stream=True))


async def _folded(stream: openai.AsyncStream[Any]) -> Outcome:
    content, reasoning, finish = "", "", None
    calls: dict[int, list[str]] = {}
    async for chunk in stream:
        for choice in chunk.choices:
            delta = choice.delta
            extra = delta.model_extra or {}
            content += delta.content or ""
            reasoning += extra.get("reasoning") or extra.get("reasoning_content") or ""
            for call in delta.tool_calls or []:
                name, arguments = calls.setdefault(call.index, ["", ""])
                function = call.function
                calls[call.index] = [
                    name + (function.name or "" if function else ""),
                    arguments + (function.arguments or "" if function else ""),
                ]
            finish = choice.finish_reason or finish
    return Outcome(content, reasoning, _calls([(n, a) for n, a in calls.values()]), finish)


def _langchain(messages: Sequence[dict[str, Any]]) -> list[BaseMessage]:
    """The scripted OpenAI messages as LangChain's, an assistant's reasoning kept aside."""
    converted = []
    for message in messages:
        reasoning = message.get("reasoning")
        plain = {key: value for key, value in message.items() if key != "reasoning"}
        (lc_message,) = convert_to_messages([plain])
        if reasoning:
            lc_message.additional_kwargs["reasoning_content"] = reasoning
        converted.append(lc_message)
    return converted


async def over_chat_vllm(grpc_url: str, case: Case, stream: bool) -> Outcome:
    chat = ChatVLLM(model=SERVED_MODEL_NAME, base_url=grpc_url, temperature=0, max_tokens=512)
    model: Any = chat.bind_tools(list(case.tools), **case.tool_options) if case.tools else chat
    options: dict[str, Any] = {} if case.thinking else {"reasoning": False}
    if case.structured is not None:
        options["structured_outputs"] = case.structured
    messages = _langchain(case.messages)
    if stream:
        reply = functools.reduce(
            operator.add, [c async for c in model.astream(messages, **options)]
        )
    else:
        reply = await model.ainvoke(messages, **options)
    assert isinstance(reply, AIMessage)
    calls = [(c["name"], json.dumps(c["args"])) for c in reply.tool_calls]
    return Outcome(
        cast(str, reply.content),
        reply.additional_kwargs.get("reasoning_content") or "",
        _calls(calls),
        reply.response_metadata["finish_reason"],
    )


Ask = Callable[[Case], Awaitable[dict[str, Outcome]]]


@pytest.fixture
def outcomes(request: pytest.FixtureRequest, vllm_grpc_base_url: str) -> Ask:
    """All six outcomes of a case, asked at once (the engine batches them): vLLM HTTP and smg,
    each not streamed and streamed, then ChatVLLM over gRPC invoked and streamed."""
    urls = [request.getfixturevalue(server) for server in SERVERS]

    async def ask(case: Case) -> dict[str, Outcome]:
        asked = {
            f"{server}/{'stream' if stream else 'plain'}": over_sdk(url, case, stream)
            for server, url in zip(("http", "smg"), urls, strict=True)
            for stream in (False, True)
        }
        asked["grpc/invoke"] = over_chat_vllm(vllm_grpc_base_url, case, False)
        asked["grpc/stream"] = over_chat_vllm(vllm_grpc_base_url, case, True)
        results = await asyncio.gather(*asked.values())
        return dict(zip(asked, results, strict=True))

    return ask


def assert_all_equal(found: dict[str, Outcome]) -> None:
    reference = found["http/plain"]
    differing = {way: outcome for way, outcome in found.items() if outcome != reference}
    assert not differing, f"vLLM HTTP gave {reference}, but {differing}"


@pytest.mark.parametrize("s", CASES, ids=lambda s: s.name)
async def test_every_script(outcomes: Ask, s: Script) -> None:
    found = await outcomes(Case.of(s))
    assert_all_equal(found)
    assert found["http/plain"].content == s.content


@pytest.mark.parametrize("mode", [m for m in STRUCTURED if m != "structural_tag"])
async def test_every_structured_output_mode(outcomes: Ask, mode: str) -> None:
    prompt, structured = STRUCTURED[mode]
    assert_all_equal(
        await outcomes(Case(({"role": "user", "content": prompt},), structured=structured))
    )


TOOL_CHOICES: dict[str, tuple[Script, dict[str, Any]]] = {
    "auto": (BOTH, {"tool_choice": "auto"}),
    "single_call": (BOTH, {"parallel_tool_calls": False}),
    "strict_auto": (BOTH, {}),  # the tools below get "strict": true
}


@pytest.mark.parametrize("mode", TOOL_CHOICES)
async def test_tool_choice_modes_the_gateway_shares(outcomes: Ask, mode: str) -> None:
    s, options = TOOL_CHOICES[mode]
    case = Case.of(s, tool_options=options)
    if mode == "strict_auto":
        case = Case(case.messages, tuple(_strict(t) for t in case.tools))
    found = await outcomes(case)
    assert_all_equal(found)
    assert found["smg/plain"].tool_calls[0] == ("get_weather", {"city": "Paris"})


def _strict(tool: dict[str, Any]) -> dict[str, Any]:
    function = {**tool["function"], "strict": True}
    function["parameters"] = {**function["parameters"], "additionalProperties": False}
    return {**tool, "function": function}
