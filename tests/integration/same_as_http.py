"""Differential end-to-end checks with vLLM's HTTP server as the oracle: the same conversations
sent to it with the openai SDK and through each client of this package on each transport, then
compared on what a user reads: content, reasoning, tool calls, finish reason and token counts.

The requests of one kind run concurrently: vLLM batches them, so a hundred conversations take
seconds on a CPU. Greedy decoding makes the outputs comparable.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import json
import operator
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ContentBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from vllm_integrations.grpc import AsyncVLLMGrpcClient
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.llama_index import VLLM
from vllm_integrations.testing import ModelSpec, Script

Outcome = dict[str, Any]
Call = Callable[["Case", bool], Awaitable[Outcome]]
ROUTES = [
    ("grpc_client", "grpc"),
    ("chat_vllm", "http"),
    ("chat_vllm", "grpc"),
    ("llama_index", "http"),
    ("llama_index", "grpc"),
]
"""Each client of this package on each transport it speaks (the gRPC client: gRPC only)."""
CONCURRENCY = 32


@dataclass(frozen=True)
class Case:
    """One request: a conversation, its tools and how they may be called."""

    name: str
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | None = None
    """``"required"``, or the name of the tool that must be called."""
    parallel_tool_calls: bool | None = None
    thinking: bool | None = None
    """``enable_thinking`` for the template; None: the template's default."""
    max_tokens: int = 512


def scripted(spec: ModelSpec, s: Script) -> Case:
    """The script's conversation, its tools in the OpenAI spelling, thinking as scripted."""
    thinking = None if s.thinking or spec.reasoning_parser is None else False
    return Case(s.name, s.messages, tuple(s.openai_tools()), thinking=thinking)


def forced(spec: ModelSpec) -> list[Case]:
    """Calls that vLLM's grammar forces (tool_choice "required" or a named tool, also one the
    prompt does not ask for) or limits to one (parallel_tool_calls=False), on the scripted
    prompts for one call and for two."""
    one = scripted(spec, spec.script("weather_tool"))
    two = scripted(spec, spec.script("parallel_tools"))
    return [
        dataclasses.replace(one, name="required", tool_choice="required"),
        dataclasses.replace(two, name="required_parallel", tool_choice="required"),
        dataclasses.replace(one, name="named", tool_choice="get_weather"),
        dataclasses.replace(one, name="named_other_tool", tool_choice="get_time"),
        dataclasses.replace(two, name="single_call", parallel_tool_calls=False),
    ]


def every_case(spec: ModelSpec) -> list[Case]:
    """The model's scripts, then the ``forced`` calls."""
    return [*(scripted(spec, s) for s in spec.scripts), *forced(spec)]


FORCED_CALLS = {
    "required": ["get_weather"],
    "required_parallel": ["get_weather", "get_time"],
    "named": ["get_weather"],
    "named_other_tool": ["get_time"],
    "single_call": ["get_weather"],
}
"""The tools each ``forced`` case calls (the arguments of ``get_time`` are the model's own)."""


def expected(s: Script) -> Outcome:
    """What a user reads when the model answers ``s`` as scripted (as ``user_view`` shows it)."""
    return {
        "content": s.content,
        "reasoning": s.reasoning,
        "tool_calls": [(call.name, call.arguments) for call in s.tool_calls],
        "finish_reason": "tool_calls" if s.tool_calls else "stop",
    }


class Differential:
    """The outcome of every case for each client, transport and way of reading (whole or
    streamed), each kind asked once and all its cases at once."""

    def __init__(self, spec: ModelSpec, urls: Mapping[str, str], cases: Sequence[Case]) -> None:
        self.spec = spec
        self.urls = dict(urls)
        self.cases = list(cases)
        self._done: dict[tuple[str, str, bool], dict[str, Outcome]] = {}

    async def outcomes(self, client: str, transport: str, stream: bool) -> dict[str, Outcome]:
        key = (client, transport, stream)
        if key not in self._done:
            self._done[key] = await self._run(client, transport, stream)
        return self._done[key]

    async def differences(self, client: str, transport: str, stream: bool) -> dict[str, Any]:
        """Per case, the fields where ``client`` over ``transport`` differs from vLLM's HTTP
        server read with the openai SDK: (ours, vLLM's). The gRPC client must match the SDK's
        results exactly; the framework adapters as their users read them."""
        oracle = await self.outcomes("openai", "http", stream)
        ours = await self.outcomes(client, transport, stream)
        if client != "grpc_client":
            oracle = {name: user_view(outcome) for name, outcome in oracle.items()}
        found = {}
        for name, want in oracle.items():
            have = ours[name]
            fields = {k: (have.get(k), want.get(k)) for k in want.keys() | have.keys()}
            if unequal := {k: pair for k, pair in fields.items() if pair[0] != pair[1]}:
                found[name] = unequal
        return found

    async def _run(self, client: str, transport: str, stream: bool) -> dict[str, Outcome]:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with self._client(client, transport) as call:

            async def one(case: Case) -> Outcome:
                async with gate:
                    try:
                        return await call(case, stream)
                    except Exception as error:  # one failing case must not hide the others
                        return {"error": f"{type(error).__name__}: {error}"}

            results = await asyncio.gather(*(one(case) for case in self.cases))
        return {case.name: result for case, result in zip(self.cases, results, strict=True)}

    @asynccontextmanager
    async def _client(self, client: str, transport: str) -> AsyncIterator[Call]:
        url = self.urls[transport]
        model = self.spec.served_model_name
        parser = {"tool_call_parser": self.spec.tool_call_parser} if transport == "grpc" else {}
        if client == "openai":
            async with openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0) as sdk:
                yield functools.partial(_openai, sdk, model)
        elif client == "grpc_client":
            parser_name = self.spec.tool_call_parser
            async with AsyncVLLMGrpcClient(
                base_url=url, tool_call_parser=parser_name
            ) as grpc_client:
                yield functools.partial(_grpc_client, grpc_client)
        elif client == "chat_vllm":
            async with ChatVLLM(model=model, base_url=url, temperature=0, **parser) as chat:
                yield functools.partial(_chat_vllm, chat)
        else:
            async with VLLM(model=model, base_url=url, temperature=0, **parser) as llm:
                yield functools.partial(_llama_index, llm)


async def http_as_scripted(
    differential: Differential, forced_calls: Mapping[str, list[str]] = FORCED_CALLS
) -> tuple[Outcome, Outcome]:
    """What vLLM's HTTP server answered (whole) to each script and which tools it called in
    each forced case, then what the scripts and ``forced_calls`` say: equal when the model and
    vLLM's parsers do their part, so that the comparisons with them mean something."""
    outcomes = await differential.outcomes("openai", "http", stream=False)
    scripts = differential.spec.scripts
    seen: Outcome = {s.name: user_view(outcomes[s.name]) for s in scripts}
    for view in seen.values():
        view.pop("usage", None)
    seen.update({name: [call[0] for call in outcomes[name]["tool_calls"]] for name in forced_calls})
    return seen, {**{s.name: expected(s) for s in scripts}, **forced_calls}


# -- the oracle and the gRPC client: the openai SDK's shapes ------------------------------------


def _request(case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAI request parameters, and the vLLM-only ones (``extra_body`` for the SDK)."""
    params: dict[str, Any] = {
        "messages": copy.deepcopy(list(case.messages)),
        "temperature": 0,
        "max_tokens": case.max_tokens,
    }
    if case.tools:
        params["tools"] = copy.deepcopy(list(case.tools))
    if case.tool_choice is not None:
        params["tool_choice"] = _tool_choice(case.tool_choice)
    if case.parallel_tool_calls is not None:
        params["parallel_tool_calls"] = case.parallel_tool_calls
    vllm = {"chat_template_kwargs": {"enable_thinking": case.thinking}}
    return params, vllm if case.thinking is not None else {}


def _tool_choice(choice: str) -> Any:
    return choice if choice == "required" else {"type": "function", "function": {"name": choice}}


async def _openai(sdk: openai.AsyncOpenAI, model: str, case: Case, stream: bool) -> Outcome:
    params, vllm = _request(case)
    if not stream:
        return completion_outcome(
            await sdk.chat.completions.create(model=model, **params, extra_body=vllm)
        )
    chunks = await sdk.chat.completions.create(
        model=model, stream=True, stream_options={"include_usage": True}, **params, extra_body=vllm
    )
    return chunks_outcome([chunk async for chunk in chunks])


async def _grpc_client(client: AsyncVLLMGrpcClient, case: Case, stream: bool) -> Outcome:
    params, vllm = _request(case)
    if not stream:
        return completion_outcome(await client.chat.completions.create(**params, **vllm))
    chunks = await client.chat.completions.create(
        stream=True, stream_options={"include_usage": True}, **params, **vllm
    )
    return chunks_outcome([chunk async for chunk in chunks])


def completion_outcome(reply: ChatCompletion) -> Outcome:
    choice = reply.choices[0]
    message = choice.message
    return {
        "content": message.content,
        "reasoning": getattr(message, "reasoning", None),
        "tool_calls": [
            (call.function.name, call.function.arguments)
            for call in message.tool_calls or ()
            if call.type == "function"
        ],
        "finish_reason": choice.finish_reason,
        "usage": _token_counts(reply.usage),
    }


def chunks_outcome(chunks: Sequence[ChatCompletionChunk]) -> Outcome:
    """A stream read as a user assembles it: texts joined, each call's name and arguments joined
    by index (a name sent twice shows as doubled)."""
    content, reasoning, finish_reason, usage = "", "", None, None
    calls: dict[int, list[str]] = {}
    for chunk in chunks:
        usage = _token_counts(chunk.usage) or usage
        for choice in chunk.choices:
            content += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning", None) or ""
            for call in choice.delta.tool_calls or ():
                name_and_arguments = calls.setdefault(call.index, ["", ""])
                if call.function is not None:
                    name_and_arguments[0] += call.function.name or ""
                    name_and_arguments[1] += call.function.arguments or ""
            finish_reason = choice.finish_reason or finish_reason
    return {
        "content": content,
        "reasoning": reasoning or None,
        "tool_calls": [(name, arguments) for _, (name, arguments) in sorted(calls.items())],
        "finish_reason": finish_reason,
        "usage": usage,
    }


def _token_counts(usage: CompletionUsage | None) -> tuple[int, int] | None:
    return (usage.prompt_tokens, usage.completion_tokens) if usage else None


def user_view(outcome: Outcome) -> Outcome:
    """An SDK outcome as the framework adapters show it: no content is empty text, no
    reasoning is None, arguments are parsed."""
    if "error" in outcome:
        return outcome
    return {
        **outcome,
        "content": outcome["content"] or "",
        "reasoning": outcome["reasoning"] or None,
        "tool_calls": [(name, _parsed(arguments)) for name, arguments in outcome["tool_calls"]],
    }


def _parsed(arguments: Any) -> Any:
    """Arguments as JSON data, or as the text itself when it is not JSON (a cut-off call)."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments


# -- LangChain -------------------------------------------------------------------------------


async def _chat_vllm(chat: ChatVLLM, case: Case, stream: bool) -> Outcome:
    model: Any = chat
    if case.tools:
        model = chat.bind_tools(
            list(case.tools),
            tool_choice=case.tool_choice,
            parallel_tool_calls=case.parallel_tool_calls,
        )
    messages = langchain_messages(case.messages)
    options: dict[str, Any] = {"max_tokens": case.max_tokens}
    if case.thinking is not None:
        options["reasoning"] = case.thinking
    if stream:
        chunks = [chunk async for chunk in model.astream(messages, **options)]
        reply = functools.reduce(operator.add, chunks)
    else:
        reply = await model.ainvoke(messages, **options)
    assert isinstance(reply, AIMessage)
    usage = reply.usage_metadata
    return {
        "content": reply.content,
        "reasoning": reply.additional_kwargs.get("reasoning_content") or None,
        "tool_calls": [(call["name"], call["args"]) for call in reply.tool_calls],
        "finish_reason": reply.response_metadata.get("finish_reason"),
        "usage": (usage["input_tokens"], usage["output_tokens"]) if usage else None,
    }


def langchain_messages(messages: Sequence[Mapping[str, Any]]) -> list[BaseMessage]:
    """OpenAI chat messages as LangChain messages (ChatVLLM sends them back unchanged)."""
    converted: list[BaseMessage] = []
    for message in messages:
        role, content = message["role"], message.get("content") or ""
        if role == "system":
            converted.append(SystemMessage(content))
        elif role == "user":
            converted.append(HumanMessage(content, name=message.get("name")))
        elif role == "tool":
            converted.append(
                ToolMessage(content, tool_call_id=message["tool_call_id"], name=message.get("name"))
            )
        else:
            calls = [
                {
                    "name": call["function"]["name"],
                    "args": json.loads(call["function"]["arguments"]),
                    "id": call["id"],
                    "type": "tool_call",
                }
                for call in message.get("tool_calls") or ()
            ]
            reasoning = message.get("reasoning")
            extra = {"reasoning_content": reasoning} if reasoning else {}
            converted.append(AIMessage(content, tool_calls=calls, additional_kwargs=extra))
    return converted


# -- LlamaIndex ------------------------------------------------------------------------------

_ROLES = {
    "system": MessageRole.SYSTEM,
    "user": MessageRole.USER,
    "assistant": MessageRole.ASSISTANT,
    "tool": MessageRole.TOOL,
}


async def _llama_index(llm: VLLM, case: Case, stream: bool) -> Outcome:
    messages = llama_index_messages(case.messages)
    options: dict[str, Any] = {"max_tokens": case.max_tokens}
    if case.tools:
        options.update(tools=list(case.tools), tool_choice=case.tool_choice)
        options["parallel_tool_calls"] = case.parallel_tool_calls
    if case.thinking is not None:
        options["reasoning"] = case.thinking
    if stream:
        response = [r async for r in await llm.astream_chat(messages, **options)][-1]
    else:
        response = await llm.achat(messages, **options)
    blocks = response.message.blocks
    raw = response.raw if isinstance(response.raw, dict) else {}
    usage = raw.get("usage")
    return {
        "content": "".join(b.text for b in blocks if isinstance(b, TextBlock)),
        "reasoning": "".join(b.content or "" for b in blocks if isinstance(b, ThinkingBlock))
        or None,
        "tool_calls": [
            (b.tool_name, _parsed(b.tool_kwargs)) for b in blocks if isinstance(b, ToolCallBlock)
        ],
        "finish_reason": raw.get("finish_reason"),
        "usage": (usage["prompt_tokens"], usage["completion_tokens"]) if usage else None,
    }


def llama_index_messages(messages: Sequence[Mapping[str, Any]]) -> list[ChatMessage]:
    """OpenAI chat messages as LlamaIndex ones (the VLLM adapter sends them back unchanged)."""
    converted = []
    for message in messages:
        blocks: list[ContentBlock] = []
        if message.get("reasoning"):
            blocks.append(ThinkingBlock(content=message["reasoning"]))
        blocks.append(TextBlock(text=message.get("content") or ""))
        blocks.extend(
            ToolCallBlock(
                tool_call_id=call["id"],
                tool_name=call["function"]["name"],
                tool_kwargs=call["function"]["arguments"],
            )
            for call in message.get("tool_calls") or ()
        )
        extra = {"tool_call_id": message["tool_call_id"]} if "tool_call_id" in message else {}
        converted.append(
            ChatMessage(role=_ROLES[message["role"]], blocks=blocks, additional_kwargs=extra)
        )
    return converted
