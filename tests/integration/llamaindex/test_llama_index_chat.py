"""LlamaIndex VLLM against the real server: chat and completion, sync and async, streamed or not.

Reasoning is a ThinkingBlock before the TextBlock (streamed: ``thinking_delta``, with ``delta``
the answer text only); usage and logprobs come back; metadata is read from the server;
per-call settings win and unknown ones fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)

from vllm_integrations.errors import NotFoundError
from vllm_integrations.llama_index import VLLM
from vllm_integrations.testing import SERVED_MODEL_NAME, STOP_WORD, Script, script
from vllm_integrations.testing.servers import MAX_MODEL_LEN

if TYPE_CHECKING:
    from tests.integration.llamaindex.conftest import EventLog


def user(s: Script) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=s.messages[0]["content"])]


def raw(response: ChatResponse | CompletionResponse) -> dict[str, Any]:
    """The response's own facts (id, model, finish reason, usage)."""
    assert isinstance(response.raw, dict)
    return response.raw


def assert_scripted(response: ChatResponse, s: Script) -> None:
    """The reply is the script's, with usage and the response's facts in ``raw``."""
    blocks = response.message.blocks
    assert [type(b) for b in blocks] == ([ThinkingBlock] if s.reasoning else []) + [TextBlock]
    if s.reasoning:
        assert isinstance(blocks[0], ThinkingBlock)
        assert blocks[0].content == s.reasoning
    assert response.message.content == s.content
    assert raw(response)["finish_reason"] == "stop"
    assert raw(response)["model"] == SERVED_MODEL_NAME
    counts = response.additional_kwargs
    assert counts["prompt_tokens"] > 0
    assert counts["completion_tokens"] > 0
    assert counts["total_tokens"] == counts["prompt_tokens"] + counts["completion_tokens"]
    assert raw(response)["usage"]["total_tokens"] == counts["total_tokens"]


def deltas(chunks: list[ChatResponse]) -> tuple[str, str]:
    """The streamed answer and thinking, joined from the per-chunk deltas."""
    answer = "".join(c.delta or "" for c in chunks)
    thinking = "".join(c.additional_kwargs["thinking_delta"] or "" for c in chunks)
    return answer, thinking


@pytest.mark.parametrize("name", ["capital", "unicode", "long_story"])
def test_chat_and_stream_chat_reproduce_the_script(llm: VLLM, name: str) -> None:
    s = script(name)
    response = llm.chat(user(s))
    assert_scripted(response, s)

    chunks = list(llm.stream_chat(user(s)))
    assert len(chunks) > 3
    assert deltas(chunks) == (s.content, s.reasoning)
    assert_scripted(chunks[-1], s)
    assert chunks[-1].message.blocks == response.message.blocks
    assert (
        chunks[-1].additional_kwargs["total_tokens"] == response.additional_kwargs["total_tokens"]
    )


async def test_achat_and_astream_chat(llm: VLLM, events: EventLog) -> None:
    s = script("unicode")
    assert_scripted(await llm.achat(user(s)), s)
    chunks = [chunk async for chunk in await llm.astream_chat(user(s))]
    assert deltas(chunks) == (s.content, s.reasoning)
    assert_scripted(chunks[-1], s)
    in_progress = ["LLMChatInProgressEvent"] * len(chunks)
    assert events.names("LLMChat") == [
        *("LLMChatStartEvent", "LLMChatEndEvent"),
        *("LLMChatStartEvent", *in_progress, "LLMChatEndEvent"),
    ]


def test_events_fire_for_chat_and_completion(llm: VLLM, events: EventLog) -> None:
    s = script("capital")
    chunks = list(llm.stream_chat(user(s)))
    assert events.names("LLM") == [
        "LLMChatStartEvent",
        *["LLMChatInProgressEvent"] * len(chunks),
        "LLMChatEndEvent",
    ]
    events.events.clear()
    llm.complete(s.messages[0]["content"])
    assert events.names("LLM") == ["LLMCompletionStartEvent", "LLMCompletionEndEvent"]


def test_reasoning_false_turns_thinking_off(llm: VLLM, base_url: str) -> None:
    s = script("capital_no_thinking")
    assert_scripted(llm.chat(user(s), reasoning=False), s)
    off = VLLM(model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, reasoning=False)
    chunks = list(off.stream_chat(user(s)))
    assert all(c.additional_kwargs["thinking_delta"] is None for c in chunks)
    assert_scripted(chunks[-1], s)


def test_complete_and_stream_complete_send_the_prompt_as_a_user_turn(llm: VLLM) -> None:
    s = script("capital")
    prompt = s.messages[0]["content"]
    completion = llm.complete(prompt)
    assert completion.text == s.content
    assert completion.additional_kwargs["completion_tokens"] > 0
    streamed = list(llm.stream_complete(prompt))
    assert "".join(c.delta or "" for c in streamed) == s.content
    assert "".join(c.additional_kwargs["thinking_delta"] or "" for c in streamed) == s.reasoning
    assert streamed[-1].text == s.content


async def test_acomplete_and_astream_complete(llm: VLLM) -> None:
    s = script("capital")
    prompt = s.messages[0]["content"]
    assert (await llm.acomplete(prompt)).text == s.content
    streamed = [c async for c in await llm.astream_complete(prompt)]
    assert "".join(c.delta or "" for c in streamed) == s.content
    assert raw(streamed[-1])["usage"]["completion_tokens"] > 0


def test_metadata_and_model_come_from_the_server(base_url: str, unreported: dict[str, Any]) -> None:
    if unreported:  # smg: VLLM says what to give it
        with pytest.raises(ValueError, match="context_window"):
            _ = VLLM(base_url=base_url).metadata
    llm = VLLM(base_url=base_url, temperature=0, max_tokens=300, **unreported)  # no model given
    metadata = llm.metadata
    assert metadata.model_name == SERVED_MODEL_NAME
    assert metadata.context_window == MAX_MODEL_LEN
    assert metadata.num_output == 300
    assert metadata.is_chat_model
    assert metadata.is_function_calling_model
    s = script("capital")
    assert llm.chat(user(s)).message.content == s.content
    assert VLLM(base_url=base_url, context_window=1000).metadata.context_window == 1000


def test_metadata_of_a_model_the_server_does_not_serve_fails_naming_it(base_url: str) -> None:
    with pytest.raises(NotFoundError, match="not-served"):
        _ = VLLM(model="not-served", base_url=base_url).metadata


async def test_model_is_read_from_the_server_in_async_calls_too(base_url: str) -> None:
    llm = VLLM(base_url=base_url, temperature=0)
    s = script("capital")
    assert raw(await llm.achat(user(s)))["model"] == SERVED_MODEL_NAME


def test_per_call_settings_win_over_the_instance(base_url: str, transport: str) -> None:
    llm = VLLM(
        model=SERVED_MODEL_NAME,
        base_url=base_url,
        temperature=0,
        max_tokens=2,
        stop=["zzz"],
        reasoning=False,
    )
    s = script("stop_word_no_thinking")
    assert raw(llm.chat(user(s)))["finish_reason"] == "length"
    cut = llm.chat(user(s), max_tokens=512, stop=[STOP_WORD])
    assert cut.message.content == s.content.split(STOP_WORD)[0]
    # smg does not say which stop string ended a reply
    assert raw(cut).get("stop_reason") == (None if transport == "gateway" else STOP_WORD)
    capital = script("capital")
    assert_scripted(llm.chat(user(capital), max_tokens=512, reasoning=True), capital)


async def test_unknown_keywords_fail_naming_them(llm: VLLM) -> None:
    messages = user(script("capital"))
    with pytest.raises(TypeError, match="guided_regex"):
        llm.chat(messages, guided_regex="[a-z]+")
    with pytest.raises(TypeError, match="guided_regex"):
        llm.stream_chat(messages, guided_regex="[a-z]+")
    with pytest.raises(TypeError, match="top_k_typo"):
        await llm.astream_chat(messages, top_k_typo=3)
    with pytest.raises(TypeError, match=r"argument\(s\): n\."):
        await llm.acomplete("Hi", n=2)


def test_logprobs_give_each_sampled_token_first(llm: VLLM, transport: str) -> None:
    s = script("capital")
    response = llm.chat(user(s), logprobs=True, top_logprobs=2)
    positions = response.logprobs
    assert positions is not None
    for position in positions:
        assert 1 <= len(position) <= 3
        assert all(position[0].logprob >= other.logprob for other in position[1:])  # greedy
    text = "".join(position[0].token for position in positions)
    if transport == "gateway":  # smg scores the answer only: not the reasoning, not the end
        assert text == s.content
    else:
        assert len(positions) == response.additional_kwargs["completion_tokens"]
        assert s.reasoning
        assert s.reasoning in text
        assert s.content in text

    chunks = list(llm.stream_chat(user(s), logprobs=True, top_logprobs=2))
    streamed = [position for c in chunks for position in c.logprobs or []]
    if transport == "gateway":  # streamed, smg scores the reasoning too
        streamed_text = "".join(p[0].token for p in streamed)
        assert streamed_text.startswith(s.reasoning or "")
        assert s.content in streamed_text
    else:
        assert [p[0].token for p in streamed] == [p[0].token for p in positions]
