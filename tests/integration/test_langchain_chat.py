"""ChatVLLM against the real server: every scripted conversation, invoke == stream, sync and async.

Reasoning arrives in additional_kwargs and as a reasoning content block; metadata and usage
are reported once, so aggregated chunks equal the invoked message.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.prompts import ChatPromptTemplate

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SCRIPTS, SERVED_MODEL_NAME, STOP_WORD, Script, script

PLAIN = [s for s in SCRIPTS if not s.tools and not s.raw_tools and len(s.messages) == 1]


def prompt(s: Script) -> list[BaseMessage]:
    assert len(s.messages) == 1
    return [HumanMessage(s.messages[0]["content"])]


def thinking(s: Script) -> dict[str, Any]:
    return {} if s.thinking else {"reasoning": False}


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged: AIMessageChunk = reduce(operator.add, chunks)
    return merged


def assert_scripted(message: AIMessage, s: Script) -> None:
    assert message.content == s.content
    assert message.additional_kwargs.get("reasoning_content") == s.reasoning
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == SERVED_MODEL_NAME
    assert message.response_metadata["id"].startswith("chatcmpl-")
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


@pytest.mark.parametrize("s", PLAIN, ids=lambda s: s.name)
def test_invoke_and_stream_reproduce_every_script(chat: ChatVLLM, s: Script) -> None:
    invoked = chat.invoke(prompt(s), **thinking(s))
    assert_scripted(invoked, s)
    streamed = aggregate(list(chat.stream(prompt(s), **thinking(s))))
    assert_scripted(streamed, s)
    assert streamed.usage_metadata == invoked.usage_metadata


async def test_ainvoke_and_astream_match_invoke(chat: ChatVLLM) -> None:
    s = script("unicode")
    invoked = await chat.ainvoke(prompt(s))
    assert_scripted(invoked, s)
    chunks = [chunk async for chunk in chat.astream(prompt(s))]
    assert len(chunks) > 5
    assert_scripted(aggregate(chunks), s)


def test_batch_and_abatch(chat: ChatVLLM) -> None:
    names = ["capital", "unicode", "stop_word"]
    replies = chat.batch([prompt(script(n)) for n in names])
    assert [r.content for r in replies] == [script(n).content for n in names]


async def test_abatch(chat: ChatVLLM) -> None:
    names = ["capital", "unicode"]
    replies = await chat.abatch([prompt(script(n)) for n in names])
    assert [r.content for r in replies] == [script(n).content for n in names]


def test_reasoning_is_a_content_block(chat: ChatVLLM) -> None:
    s = script("capital")
    blocks = chat.invoke(prompt(s)).content_blocks
    assert blocks == [
        {"type": "reasoning", "reasoning": s.reasoning},
        {"type": "text", "text": s.content},
    ]


def test_multibyte_text_streams_intact(chat: ChatVLLM) -> None:
    s = script("unicode")
    chunks = list(chat.stream(prompt(s)))
    text = "".join(str(c.content) for c in chunks)
    assert text == s.content
    assert "\ufffd" not in text


@pytest.mark.parametrize("streaming", [False, True])
def test_stop_sequence_cuts_the_answer(chat: ChatVLLM, streaming: bool) -> None:
    s = script("stop_word_no_thinking")
    expected = s.content.split(STOP_WORD)[0]
    if streaming:
        reply: AIMessage = aggregate(
            list(chat.stream(prompt(s), stop=[STOP_WORD], reasoning=False))
        )
    else:
        reply = chat.invoke(prompt(s), stop=[STOP_WORD], reasoning=False)
    assert reply.content == expected
    configured = chat.model_copy(update={"stop": [STOP_WORD], "reasoning": False})
    assert configured.invoke(prompt(s)).content == expected


def test_reasoning_off_gives_the_answer_alone(chat: ChatVLLM) -> None:
    s = script("capital_no_thinking")
    off = chat.model_copy(update={"reasoning": False})
    reply = off.invoke(prompt(s))
    assert reply.content == s.content
    assert "reasoning_content" not in reply.additional_kwargs


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.reasoning: list[str] = []
        self.tokens: list[str] = []

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.tokens.append(str(token))
        if isinstance(chunk, ChatGenerationChunk):
            self.reasoning.append(chunk.message.additional_kwargs.get("reasoning_content", ""))


def test_streamed_reasoning_reaches_callbacks(chat: ChatVLLM) -> None:
    s = script("capital")
    recorder = _Recorder()
    list(chat.stream(prompt(s), config={"callbacks": [recorder]}))
    assert "".join(recorder.reasoning) == s.reasoning
    assert "".join(recorder.tokens) == s.content


async def test_streamed_reasoning_reaches_astream_events(chat: ChatVLLM) -> None:
    s = script("capital")
    reasoning = ""
    async for event in chat.astream_events(prompt(s), version="v2"):
        if event["event"] == "on_chat_model_stream":
            reasoning += event["data"]["chunk"].additional_kwargs.get("reasoning_content", "")
    assert reasoning == s.reasoning


def test_logprobs_cover_every_token(chat: ChatVLLM, transport: str) -> None:
    s = script("capital_no_thinking")
    scored = chat.model_copy(update={"logprobs": True, "top_logprobs": 2, "reasoning": False})
    invoked = scored.invoke(prompt(s))
    entries = invoked.response_metadata["logprobs"]["content"]
    assert invoked.usage_metadata is not None
    # smg scores the answer's text only: not the final end-of-turn token
    uncovered = 1 if transport == "gateway" else 0
    assert len(entries) == invoked.usage_metadata["output_tokens"] - uncovered
    assert all(len(e["top_logprobs"]) == 2 for e in entries)
    streamed = aggregate(list(scored.stream(prompt(s))))
    assert streamed.response_metadata["logprobs"]["content"] == entries


def test_model_is_read_from_the_server(base_url: str) -> None:
    chat = ChatVLLM(base_url=base_url, temperature=0)
    s = script("capital")
    assert chat.invoke(prompt(s)).content == s.content


def test_reasoning_of_earlier_turns_is_accepted_by_the_server(chat: ChatVLLM) -> None:
    history: list[BaseMessage] = [
        HumanMessage("Hi"),
        AIMessage("Here is a short answer.", additional_kwargs={"reasoning_content": "Brief."}),
        HumanMessage(script("capital").messages[0]["content"]),
    ]
    assert chat.invoke(history).response_metadata["finish_reason"] == "stop"


def test_unknown_keyword_fails_at_once(chat: ChatVLLM) -> None:
    with pytest.raises(TypeError, match="guided_regex"):
        chat.invoke("Hi", guided_regex="[a-z]+")
    with pytest.raises(ValueError, match="extra"):
        ChatVLLM(model="m", temprature=0.5)


def test_lcel_chain_with_an_output_parser(chat: ChatVLLM) -> None:
    chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | chat | StrOutputParser()
    assert chain.invoke({"question": "What is the capital of France?"}) == script("capital").content
