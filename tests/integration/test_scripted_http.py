"""The tiny model through vLLM's HTTP server: every script reproduced exactly, parsed by vLLM.

Reasoning is split by vLLM's qwen3 reasoning parser and tool calls by its hermes parser; the
tool scripts are asked with the tool schema spelled as each client library sends it.
"""

from __future__ import annotations

import json
from typing import cast

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionToolParam

from vllm_integrations.testing import (
    SCRIPTS,
    SERVED_MODEL_NAME,
    STOP_WORD,
    TOOL_SPELLINGS,
    Script,
    script,
)

CASES = [(s, spelling) for s in SCRIPTS for spelling in (TOOL_SPELLINGS if s.tools else ("-",))]


@pytest.fixture(scope="module")
def client(vllm_http_base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=vllm_http_base_url, api_key="EMPTY")


def ask(
    client: openai.OpenAI, s: Script, spelling: str = "openai", stop: list[str] | None = None
) -> ChatCompletion:
    tools = cast("list[ChatCompletionToolParam]", s.openai_tools(spelling))
    return client.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=s.chat_messages(),
        tools=tools or openai.omit,
        stop=stop or openai.omit,
        temperature=0,
        max_tokens=512,
        extra_body={"chat_template_kwargs": s.chat_template_kwargs()},
    )


@pytest.mark.parametrize(
    ("s", "spelling"), CASES, ids=[f"{s.name}-{spelling}" for s, spelling in CASES]
)
def test_every_script_is_reproduced_exactly(
    client: openai.OpenAI, s: Script, spelling: str
) -> None:
    choice = ask(client, s, spelling if s.tools else "openai").choices[0]
    message = choice.message
    assert getattr(message, "reasoning", None) == s.reasoning
    assert (message.content or "") == s.content
    calls = [
        (call.function.name, json.loads(call.function.arguments))  # type: ignore[union-attr]
        for call in message.tool_calls or []
    ]
    assert calls == [(call.name, call.arguments) for call in s.tool_calls]
    assert choice.finish_reason == ("tool_calls" if s.tool_calls else "stop")


def test_long_answer_is_at_least_200_tokens(client: openai.OpenAI) -> None:
    reply = ask(client, script("long_story_no_thinking"))
    assert reply.usage is not None
    assert reply.usage.completion_tokens >= 200
    assert reply.choices[0].message.content == script("long_story").content


def test_stop_word_cuts_the_answer(client: openai.OpenAI) -> None:
    s = script("stop_word_no_thinking")
    choice = ask(client, s, stop=[STOP_WORD]).choices[0]
    assert choice.message.content == s.content.split(STOP_WORD)[0]
    assert choice.finish_reason == "stop"


def test_streamed_multibyte_text_arrives_intact(client: openai.OpenAI) -> None:
    s = script("unicode")
    stream = client.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=s.chat_messages(),
        temperature=0,
        max_tokens=128,
        stream=True,
    )
    reasoning, content, chunks = [], [], 0
    for chunk in stream:
        chunks += 1
        for choice in chunk.choices:
            reasoning.append(getattr(choice.delta, "reasoning", None) or "")
            content.append(choice.delta.content or "")
    assert chunks > 5
    assert "".join(reasoning) == s.reasoning
    assert "".join(content) == s.content
    assert "\ufffd" not in "".join(content)


def test_an_unseen_prompt_still_ends_its_reasoning(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=[{"role": "user", "content": "Where do penguins live, and what do they eat?"}],
        temperature=0,
        max_tokens=128,
    )
    message = reply.choices[0].message
    assert getattr(message, "reasoning", None)
    assert message.content
    assert reply.choices[0].finish_reason == "stop"
