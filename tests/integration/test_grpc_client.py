"""VLLMGrpcClient and AsyncVLLMGrpcClient against the real gRPC server: results in the openai
SDK's shapes, equal to what the SDK reads from vLLM's HTTP server for the same request, with
the token IDs vLLM's ``return_token_ids`` reports."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk
from openai.types.chat import ChatCompletionMessageParam
from transformers import AutoTokenizer

from vllm_integrations.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    NotFoundError,
)
from vllm_integrations.grpc import (
    AsyncVLLMGrpcClient,
    StructuredOutputs,
    TokenDecoder,
    VLLMGrpcClient,
)
from vllm_integrations.grpc.results import ChatCompletion, ChatCompletionChunk, Completion
from vllm_integrations.testing import SERVED_MODEL_NAME, STOP_WORD, script
from vllm_integrations.testing.raw_grpc import wait_for_running
from vllm_integrations.testing.servers import MAX_MODEL_LEN, REASONING_PARSER

CODE = r"[A-Z]{3}-\d{2}"
JOKE = {
    "type": "object",
    "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
    "required": ["setup", "punchline"],
}
JOKE_PROMPT = "Tell me a joke about cats."
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
# vLLM's HTTP answers carry these too; the gRPC API has nothing to fill them with.
HTTP_ONLY_KEYS = {
    "prompt_logprobs",
    "prompt_token_ids",
    "prompt_text",
    "kv_transfer_params",
    "ec_transfer_params",
    "metrics",
}
HTTP_ONLY_CHOICE_KEYS = {"routed_experts"}


@pytest.fixture(scope="module")
def client(vllm_grpc_base_url: str) -> Iterator[VLLMGrpcClient]:
    with VLLMGrpcClient(base_url=vllm_grpc_base_url) as grpc_client:
        yield grpc_client


@pytest.fixture(scope="module")
async def aclient(vllm_grpc_base_url: str) -> AsyncIterator[AsyncVLLMGrpcClient]:
    async with AsyncVLLMGrpcClient(base_url=vllm_grpc_base_url) as grpc_client:
        yield grpc_client


@pytest.fixture(scope="module")
def http(vllm_http_base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=vllm_http_base_url, api_key="EMPTY")


@pytest.fixture(scope="module")
def tokenizer(vllm_tiny_model: Path) -> Any:
    return AutoTokenizer.from_pretrained(vllm_tiny_model)


def decode(tokenizer: Any, token_ids: list[int]) -> str:
    """What a caller holding only token IDs gets from the exported TokenDecoder."""
    return TokenDecoder(tokenizer, eos_token_ids=[tokenizer.eos_token_id]).decode(token_ids)


def no_thinking_prompt(tokenizer: Any, name: str) -> str:
    """A chat prompt rendered as text, its reasoning already closed."""
    return str(
        tokenizer.apply_chat_template(
            script(name).chat_messages(),
            add_generation_prompt=True,
            tokenize=False,
            enable_thinking=False,
        )
    )


# -- chat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["capital", "unicode", "capital_no_thinking"])
def test_chat_answers_as_scripted(client: VLLMGrpcClient, tokenizer: Any, name: str) -> None:
    s = script(name)
    reply = client.chat.completions.create(
        messages=s.chat_messages(), temperature=0, chat_template_kwargs=s.chat_template_kwargs()
    )
    assert isinstance(reply, OpenAIChatCompletion)
    choice = reply.choices[0]
    assert choice.message.content == s.content
    assert choice.message.reasoning == choice.message.reasoning_content == s.reasoning
    assert choice.finish_reason == "stop"
    assert reply.model == SERVED_MODEL_NAME
    # Every generated ID, the final EOS included (as vLLM's return_token_ids reports them).
    assert choice.token_ids[-1] == tokenizer.eos_token_id
    assert decode(tokenizer, choice.token_ids) == s.completion()
    assert reply.usage is not None
    assert reply.usage.completion_tokens == len(choice.token_ids)
    assert reply.usage.completion_tokens_details is not None
    assert bool(reply.usage.completion_tokens_details.reasoning_tokens) == s.thinking


@pytest.mark.parametrize("name", ["capital", "weather_tool"])
def test_chat_equals_the_openai_sdk_over_http(
    client: VLLMGrpcClient, http: openai.OpenAI, name: str
) -> None:
    s = script(name)
    options: dict[str, Any] = {"temperature": 0}
    if s.tools:
        options["tools"] = s.openai_tools()
    ours = client.chat.completions.create(messages=s.chat_messages(), **options)
    theirs = http.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=s.chat_messages(),
        extra_body={"return_token_ids": True},
        **options,
    )
    assert same_shape(ours.model_dump(), theirs.model_dump(), HTTP_ONLY_KEYS)
    assert same_shape(
        ours.choices[0].model_dump(), theirs.choices[0].model_dump(), HTTP_ONLY_CHOICE_KEYS
    )
    assert ours.usage == theirs.usage
    mine, other = ours.choices[0], theirs.choices[0]
    other_stop_reason = (other.model_extra or {})["stop_reason"]
    assert mine.token_ids == (other.model_extra or {})["token_ids"]
    assert (mine.finish_reason, mine.stop_reason) == (other.finish_reason, other_stop_reason)
    assert mine.message.content == other.message.content
    assert mine.message.reasoning == (other.message.model_extra or {})["reasoning"]
    assert calls(mine.message.tool_calls) == calls(other.message.tool_calls)


def same_shape(ours: dict[str, Any], theirs: dict[str, Any], theirs_only: set[str]) -> bool:
    """The same keys (but those only vLLM's HTTP server fills), and values of the same types
    wherever both are set."""
    assert set(ours) == set(theirs) - theirs_only
    for key, value in ours.items():
        if value is not None and theirs[key] is not None:
            assert type(value) is type(theirs[key]), key
    return True


def calls(tool_calls: Any) -> list[tuple[str, str, str]]:
    return [(c.type, c.function.name, c.function.arguments) for c in tool_calls or ()]


@pytest.mark.parametrize("name", ["capital", "parallel_tools"])
def test_streamed_chat_adds_up_to_the_reply(client: VLLMGrpcClient, name: str) -> None:
    s = script(name)
    options: dict[str, Any] = {"temperature": 0, "tools": s.openai_tools() or None}
    reply = client.chat.completions.create(messages=s.chat_messages(), **options)
    with client.chat.completions.create(
        messages=s.chat_messages(), stream=True, stream_options={"include_usage": True}, **options
    ) as stream:
        chunks = list(stream)
    assert all(isinstance(c, OpenAIChatCompletionChunk) for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    *body, usage_chunk = chunks
    assert usage_chunk.choices == []
    assert usage_chunk.usage == reply.usage
    deltas = [c.choices[0] for c in body]
    assert deltas[-1].finish_reason == reply.choices[0].finish_reason
    message = reply.choices[0].message
    assert "".join(d.delta.content or "" for d in deltas) == (message.content or "")
    assert "".join(d.delta.reasoning or "" for d in deltas) == message.reasoning
    assert [i for d in deltas for i in d.token_ids] == reply.choices[0].token_ids
    assert streamed_calls(body) == calls(message.tool_calls)


def streamed_calls(chunks: list[ChatCompletionChunk]) -> list[tuple[str, str, str]]:
    """Tool calls put together from their streamed parts, as an openai client does."""
    parts: dict[int, list[str]] = {}
    for chunk in chunks:
        for call in chunk.choices[0].delta.tool_calls or ():
            part = parts.setdefault(call.index, ["", "", ""])
            assert call.function is not None
            part[0] = call.type or part[0]
            part[1] += call.function.name or ""
            part[2] += call.function.arguments or ""
    return [(t, n, a) for t, n, a in (parts[i] for i in sorted(parts))]


async def test_async_chat_and_stream(aclient: AsyncVLLMGrpcClient) -> None:
    s = script("capital")
    reply = await aclient.chat.completions.create(messages=s.chat_messages(), temperature=0)
    assert isinstance(reply, ChatCompletion)
    assert reply.choices[0].message.content == s.content
    stream = await aclient.chat.completions.create(
        messages=s.chat_messages(), temperature=0, stream=True
    )
    async with stream:
        deltas = [chunk.choices[0] async for chunk in stream]
    assert "".join(d.delta.content or "" for d in deltas) == s.content
    assert [i for d in deltas for i in d.token_ids] == reply.choices[0].token_ids
    assert deltas[-1].finish_reason == "stop"


def test_stop_string_trims_the_text_not_the_token_ids(
    client: VLLMGrpcClient, http: openai.OpenAI
) -> None:
    s = script("stop_word_no_thinking")
    options: dict[str, Any] = {"temperature": 0, "stop": [STOP_WORD]}
    ours = client.chat.completions.create(
        messages=s.chat_messages(), chat_template_kwargs={"enable_thinking": False}, **options
    )
    theirs = http.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=s.chat_messages(),
        extra_body={"return_token_ids": True, "chat_template_kwargs": {"enable_thinking": False}},
        **options,
    )
    assert ours.choices[0].message.content == s.content.split(STOP_WORD)[0]
    assert ours.choices[0].message.content == theirs.choices[0].message.content
    # The tokens that spelled the stop string stay, as in vLLM's own report.
    assert ours.choices[0].token_ids == (theirs.choices[0].model_extra or {})["token_ids"]
    assert ours.choices[0].stop_reason == STOP_WORD
    assert (theirs.choices[0].model_extra or {})["stop_reason"] == STOP_WORD


def test_n_choices(client: VLLMGrpcClient) -> None:
    s = script("capital")
    reply = client.chat.completions.create(
        messages=s.chat_messages(), temperature=1.0, seed=7, n=2, max_tokens=5
    )
    assert [c.index for c in reply.choices] == [0, 1]
    with client.chat.completions.create(
        messages=s.chat_messages(), temperature=1.0, seed=7, n=2, max_tokens=5, stream=True
    ) as stream:
        finished = {c.choices[0].index: c.choices[0].finish_reason for c in stream}
    assert finished == {0: "length", 1: "length"}


# -- tools -----------------------------------------------------------------------------------


def test_tool_calls(client: VLLMGrpcClient) -> None:
    s = script("parallel_tools")
    tools: Any = s.openai_tools()
    reply = client.chat.completions.create(messages=s.chat_messages(), tools=tools, temperature=0)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    assert calls(choice.message.tool_calls) == [
        ("function", call.name, json.dumps(call.arguments)) for call in s.tool_calls
    ]
    assert all(call.id for call in choice.message.tool_calls)
    first_only = client.chat.completions.create(
        messages=s.chat_messages(), tools=tools, temperature=0, parallel_tool_calls=False
    )
    assert calls(first_only.choices[0].message.tool_calls) == calls(choice.message.tool_calls[:1])


# -- structured outputs ----------------------------------------------------------------------


STRUCTURED: dict[str, tuple[str, dict[str, Any]]] = {
    "regex": ("Give me a code.", {"structured_outputs": StructuredOutputs(regex=CODE)}),
    "choice": ("Is it sunny?", {"structured_outputs": StructuredOutputs(choice=["yes", "no"])}),
    "ebnf": ("Pick one.", {"structured_outputs": StructuredOutputs(grammar='root ::= "a" | "b"')}),
    "lark": ("Pick one.", {"structured_outputs": StructuredOutputs(grammar='start: "c" | "d"')}),
    "structural_tag": (
        "Give me a code.",
        {
            "structured_outputs": StructuredOutputs(
                structural_tag={
                    "type": "structural_tag",
                    "format": {"type": "regex", "pattern": CODE},
                }
            )
        },
    ),
    "json_schema": (JOKE_PROMPT, {"structured_outputs": StructuredOutputs(json_schema=JOKE)}),
    "response_format_json_schema": (
        JOKE_PROMPT,
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "joke", "schema": JOKE},
            }
        },
    ),
    "response_format_json_object": (JOKE_PROMPT, {"response_format": {"type": "json_object"}}),
}
EXPECTED = {
    "regex": CODE,
    "choice": "yes|no",
    "ebnf": "a|b",
    "lark": "c|d",
    "structural_tag": CODE,
    "json_schema": r'\{"setup": ".+", "punchline": ".+"\}',
    "response_format_json_schema": r'\{"setup": ".+", "punchline": ".+"\}',
    "response_format_json_object": r"\{.*\}",
}


@pytest.mark.parametrize("mode", STRUCTURED)
def test_structured_outputs(client: VLLMGrpcClient, mode: str) -> None:
    prompt, options = STRUCTURED[mode]
    reply = client.chat.completions.create(
        messages=[{"role": "user", "content": prompt}], temperature=0, **options
    )
    assert re.fullmatch(EXPECTED[mode], reply.choices[0].message.content or "", re.DOTALL)
    assert reply.choices[0].message.reasoning  # the constraint starts after the reasoning


def test_streamed_regex(client: VLLMGrpcClient) -> None:
    with client.chat.completions.create(
        messages=[{"role": "user", "content": "Give me a code."}],
        temperature=0,
        structured_outputs=StructuredOutputs(regex=CODE),
        stream=True,
    ) as stream:
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert re.fullmatch(CODE, text)


def test_completion_regex(client: VLLMGrpcClient, tokenizer: Any) -> None:
    """A server with a reasoning parser constrains completions after the reasoning too, so
    the prompt is one whose reasoning is closed."""
    prompt = no_thinking_prompt(tokenizer, "capital_no_thinking")
    reply = client.completions.create(
        prompt=tokenizer.encode(prompt, add_special_tokens=False),
        temperature=0,
        structured_outputs=StructuredOutputs(regex=CODE),
    )
    assert re.fullmatch(CODE, reply.choices[0].text)


# -- logprobs --------------------------------------------------------------------------------


def test_chat_logprobs_equal_http(client: VLLMGrpcClient, http: openai.OpenAI) -> None:
    s = script("capital")
    options: dict[str, Any] = {"temperature": 0, "logprobs": True, "top_logprobs": 2}
    ours = client.chat.completions.create(messages=s.chat_messages(), **options)
    theirs = http.chat.completions.create(
        model=SERVED_MODEL_NAME, messages=s.chat_messages(), **options
    )
    assert ours.choices[0].logprobs is not None
    assert theirs.choices[0].logprobs is not None
    mine, other = ours.choices[0].logprobs.content, theirs.choices[0].logprobs.content
    assert mine is not None
    assert other is not None
    assert len(mine) == len(ours.choices[0].token_ids)
    assert [e.token for e in mine] == [e.token for e in other]
    assert [len(e.top_logprobs) for e in mine] == [2] * len(mine)
    assert [e.logprob for e in mine] == pytest.approx([e.logprob for e in other], abs=1e-4)


def test_completion_logprobs(client: VLLMGrpcClient) -> None:
    reply = client.completions.create(
        prompt="Once upon a time", temperature=0, max_tokens=5, logprobs=2
    )
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.tokens is not None
    assert logprobs.top_logprobs is not None
    assert len(logprobs.tokens) == len(reply.choices[0].token_ids) == 5
    assert all(1 <= len(top) <= 2 for top in logprobs.top_logprobs)


# -- completions -----------------------------------------------------------------------------


def test_completion_of_token_ids(client: VLLMGrpcClient, tokenizer: Any) -> None:
    s = script("capital_no_thinking")
    text = no_thinking_prompt(tokenizer, s.name)
    prompt = tokenizer.encode(text, add_special_tokens=False)
    reply = client.completions.create(prompt=prompt, temperature=0)
    assert isinstance(reply, openai.types.Completion)
    choice = reply.choices[0]
    assert choice.text == s.content
    assert decode(tokenizer, choice.token_ids) == s.content
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == len(prompt)
    # The same prompt as text: the client tokenizes it (no BOS for this model) to the same IDs.
    as_text = client.completions.create(prompt=text, temperature=0)
    assert as_text.choices[0].token_ids == choice.token_ids


def test_completion_equals_the_openai_sdk_over_http(
    client: VLLMGrpcClient, http: openai.OpenAI
) -> None:
    options: dict[str, Any] = {"prompt": "Once upon a time", "temperature": 0, "max_tokens": 12}
    ours = client.completions.create(**options)
    theirs = http.completions.create(
        model=SERVED_MODEL_NAME, extra_body={"return_token_ids": True}, **options
    )
    # vLLM's completions answer also has a service_tier, which OpenAI's Completion lacks.
    assert same_shape(ours.model_dump(), theirs.model_dump(), HTTP_ONLY_KEYS | {"service_tier"})
    mine, other = ours.choices[0].model_dump(), theirs.choices[0].model_dump()
    assert same_shape(mine, other, HTTP_ONLY_CHOICE_KEYS | {"prompt_token_ids", "prompt_logprobs"})
    assert mine == {key: other[key] for key in mine}
    assert ours.usage == theirs.usage


def test_completion_logprobs_equal_the_openai_sdk_over_http(
    client: VLLMGrpcClient, http: openai.OpenAI
) -> None:
    options: dict[str, Any] = {
        "prompt": "Once upon a time",
        "temperature": 0,
        "max_tokens": 12,
        "logprobs": 2,
    }
    ours = client.completions.create(**options).choices[0].logprobs
    theirs = http.completions.create(model=SERVED_MODEL_NAME, **options).choices[0].logprobs
    assert ours is not None
    assert theirs is not None
    assert (ours.tokens, ours.text_offset) == (theirs.tokens, theirs.text_offset)
    assert ours.token_logprobs == pytest.approx(theirs.token_logprobs, abs=1e-4)
    with client.completions.create(stream=True, **options) as stream:
        steps = [c.choices[0].logprobs for c in stream if c.choices and c.choices[0].logprobs]
    streamed = http.completions.create(model=SERVED_MODEL_NAME, stream=True, **options)
    their_steps = [c.choices[0].logprobs for c in streamed if c.choices and c.choices[0].logprobs]

    # Streamed offsets continue from the tokens reported so far, as vLLM's do: the same as the
    # whole reply's, also where tokens hold bytes that never make a character.
    def flat(steps: list[Any]) -> tuple[list[str], list[int]]:
        tokens = [token for step in steps for token in step.tokens or ()]
        return tokens, [offset for step in steps for offset in step.text_offset or ()]

    assert flat(steps) == flat(their_steps) == (ours.tokens, ours.text_offset)


def test_streamed_completion(client: VLLMGrpcClient) -> None:
    whole = client.completions.create(prompt="Once upon a time", temperature=0, max_tokens=12)
    with client.completions.create(
        prompt="Once upon a time",
        temperature=0,
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        *chunks, usage_chunk = list(stream)
    assert all(isinstance(c, Completion) for c in chunks)
    assert "".join(c.choices[0].text for c in chunks) == whole.choices[0].text
    assert [i for c in chunks for i in c.choices[0].token_ids] == whole.choices[0].token_ids
    assert chunks[-1].choices[0].finish_reason == "length"
    assert usage_chunk.usage == whole.usage


async def test_async_completion(aclient: AsyncVLLMGrpcClient) -> None:
    options: dict[str, Any] = {"temperature": 0, "max_tokens": 6, "ignore_eos": True}
    whole = await aclient.completions.create(prompt=[5, 6, 7], **options)
    stream = await aclient.completions.create(prompt=[5, 6, 7], stream=True, **options)
    async with stream:
        pieces = [chunk.choices[0].text async for chunk in stream]
    assert "".join(pieces) == whole.choices[0].text
    assert len(whole.choices[0].token_ids) == 6


# -- models and health -----------------------------------------------------------------------


def test_models_and_health(client: VLLMGrpcClient, vllm_tiny_model: Path) -> None:
    model = client.models.retrieve()
    assert (model.id, model.object, model.owned_by) == (SERVED_MODEL_NAME, "model", "vllm")
    assert model.max_model_len == MAX_MODEL_LEN
    assert model.root == str(vllm_tiny_model)
    assert client.models.retrieve(SERVED_MODEL_NAME) == model
    assert client.models.list() == [model]
    with pytest.raises(NotFoundError, match="no-such-model"):
        client.models.retrieve("no-such-model")
    assert client.health.check() is True
    assert client.health.server_info().engine_reasoning_parser == REASONING_PARSER


async def test_async_models_and_health(aclient: AsyncVLLMGrpcClient) -> None:
    assert (await aclient.models.retrieve()).id == SERVED_MODEL_NAME
    assert [m.id for m in await aclient.models.list()] == [SERVED_MODEL_NAME]
    assert await aclient.health.check() is True
    assert (await aclient.health.server_info()).engine_reasoning_parser == REASONING_PARSER


# -- aborting --------------------------------------------------------------------------------


ENDLESS_CHOICES = 16
ENDLESS: dict[str, Any] = {  # keeps the engine busy for seconds even when the client is slow
    "messages": [{"role": "user", "content": "Tell me a long story."}],
    "n": ENDLESS_CHOICES,
    "temperature": 1.0,
    "seed": 1,
    "max_tokens": 2000,
    "ignore_eos": True,
}


def test_abort_ends_a_live_stream(client: VLLMGrpcClient) -> None:
    with client.chat.completions.create(stream=True, **ENDLESS) as stream:
        first = next(stream)
        client.health.abort(first.id)  # the response id is the server's request id
        finished = {
            chunk.choices[0].index: chunk.choices[0].finish_reason
            for chunk in stream
            if chunk.choices[0].finish_reason
        }
    assert finished == dict.fromkeys(range(ENDLESS_CHOICES), "abort")


def test_closing_a_stream_aborts_the_request(
    client: VLLMGrpcClient, vllm_grpc_base_url: str
) -> None:
    stream = client.chat.completions.create(stream=True, **ENDLESS)
    next(stream)
    assert wait_for_running(vllm_grpc_base_url, ENDLESS_CHOICES, seconds=5) == ENDLESS_CHOICES
    stream.close()
    assert wait_for_running(vllm_grpc_base_url, 0, seconds=3) == 0


async def test_cancelling_the_reading_task_aborts_the_request(
    aclient: AsyncVLLMGrpcClient, vllm_grpc_base_url: str
) -> None:
    started = asyncio.Event()

    async def read() -> None:
        async for _ in await aclient.chat.completions.create(stream=True, **ENDLESS):
            started.set()

    task = asyncio.create_task(read())
    await started.wait()
    running = await asyncio.to_thread(
        wait_for_running, vllm_grpc_base_url, ENDLESS_CHOICES, seconds=5
    )
    assert running == ENDLESS_CHOICES
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(wait_for_running, vllm_grpc_base_url, 0, seconds=3) == 0


# -- configuration ---------------------------------------------------------------------------


def test_address_and_timeout_from_the_environment(
    vllm_grpc_base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = vllm_grpc_base_url.removeprefix("grpc://").rsplit(":", 1)
    monkeypatch.setenv("VLLM_GRPC_HOST", host)
    monkeypatch.setenv("VLLM_GRPC_PORT", port)
    with VLLMGrpcClient() as from_env:
        assert from_env.base_url == vllm_grpc_base_url
        assert from_env.models.retrieve().id == SERVED_MODEL_NAME
    monkeypatch.setenv("VLLM_GRPC_TIMEOUT", "0.05")
    with VLLMGrpcClient() as hasty, pytest.raises(APITimeoutError):
        hasty.chat.completions.create(**ENDLESS)


def test_metadata_goes_with_every_call(vllm_grpc_base_url: str) -> None:
    """HTTP-style header names work: gRPC wants them lowercase, the client writes them so."""
    with VLLMGrpcClient(base_url=vllm_grpc_base_url, metadata={"X-Request-Tag": "t1"}) as tagged:
        assert tagged.health.check() is True


# -- errors ----------------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_bad_arguments_fail_before_anything_is_sent(closed_port: int) -> None:
    with VLLMGrpcClient(port=closed_port) as nowhere:
        with pytest.raises(TypeError, match="'guided_regex'"):
            nowhere.chat.completions.create(messages=HI, guided_regex=CODE)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="'echo'"):
            nowhere.completions.create(prompt="Hi", echo=True)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="temperature"):
            nowhere.chat.completions.create(messages=HI, temperature="hot")  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="not both"):
            nowhere.chat.completions.create(
                messages=HI,
                response_format={"type": "json_object"},
                structured_outputs=StructuredOutputs(regex=CODE),
            )


def test_server_down_is_a_connection_error(closed_port: int) -> None:
    with (
        VLLMGrpcClient(port=closed_port) as nowhere,
        pytest.raises(APIConnectionError, match=str(closed_port)),
    ):
        nowhere.chat.completions.create(messages=HI)


def test_server_rejections_are_bad_requests(client: VLLMGrpcClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.chat.completions.create(
            messages=HI, structured_outputs=StructuredOutputs(regex="[unclosed")
        )
    assert "[unclosed" in caught.value.message  # the server's own words
    with pytest.raises(BadRequestError, match=r"maximum context length|maximum model length"):
        client.completions.create(prompt=[5] * (MAX_MODEL_LEN + 1))
    with pytest.raises(NotFoundError, match="no-such-model"):
        client.chat.completions.create(messages=HI, model="no-such-model")
