"""LlamaIndex VLLM structured outputs on the real server: structured_predict and its streamed and
async forms, and as_structured_llm, on vLLM's own constrained decoding (no tool call); regex,
choice and grammar through the ``structured_outputs`` keyword or field."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.instrumentation.events.llm import LLMChatStartEvent
from llama_index.core.program.utils import FlexibleModel
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from vllm_integrations.llama_index import VLLM
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.testing import SERVED_MODEL_NAME, script

if TYPE_CHECKING:
    from tests.integration.llamaindex.conftest import EventLog


class Joke(BaseModel):  # no docstring: LlamaIndex's tool for it is recorded without one
    setup: str
    punchline: str


PROMPT = PromptTemplate("Tell me a joke about {topic}.")
CAT_JOKE = Joke(**script("llama_index_function_program").tool_calls[0].arguments)
CODE = r"[A-Z]{3}-\d{2}"


def chat_starts(events: EventLog) -> list[LLMChatStartEvent]:
    return [e for e in events.events if isinstance(e, LLMChatStartEvent)]


def test_structured_predict_constrains_the_reply_to_the_schema(llm: VLLM, events: EventLog) -> None:
    assert llm.structured_predict(Joke, PROMPT, topic="cats") == CAT_JOKE
    (start,) = chat_starts(events)
    sent = start.additional_kwargs
    assert sent["structured_outputs"] == StructuredOutputs(json_schema=Joke.model_json_schema())
    assert "tools" not in sent
    assert events.names("LLMStructuredPredict") == [
        "LLMStructuredPredictStartEvent",
        "LLMStructuredPredictEndEvent",
    ]


async def test_astructured_predict(llm: VLLM) -> None:
    assert await llm.astructured_predict(Joke, PROMPT, topic="cats") == CAT_JOKE


def test_stream_structured_predict_yields_partial_objects(llm: VLLM, events: EventLog) -> None:
    partials = list(llm.stream_structured_predict(Joke, PROMPT, topic="cats"))
    assert len(partials) > 2
    assert isinstance(partials[0], FlexibleModel)
    assert partials[-1] == CAT_JOKE
    assert events.names("LLMStructuredPredict").count("LLMStructuredPredictInProgressEvent") == len(
        partials
    )


async def test_astream_structured_predict(llm: VLLM) -> None:
    partials = [p async for p in await llm.astream_structured_predict(Joke, PROMPT, topic="cats")]
    assert len(partials) > 2
    assert partials[-1] == CAT_JOKE


def test_as_structured_llm_answers_with_the_object(llm: VLLM) -> None:
    structured = llm.as_structured_llm(Joke)
    messages = [ChatMessage(role=MessageRole.USER, content="Tell me a joke about cats.")]
    response = structured.chat(messages)
    assert response.raw == CAT_JOKE
    assert Joke.model_validate_json(response.message.content or "") == CAT_JOKE


def test_function_program_mode_forces_a_tool_call_instead(
    base_url: str, events: EventLog, unreported: dict[str, Any], transport: str
) -> None:
    llm = VLLM(
        model=SERVED_MODEL_NAME,
        base_url=base_url,
        temperature=0,
        pydantic_program_mode=PydanticProgramMode.FUNCTION,
        **unreported,
    )
    if transport == "gateway":
        # smg forces the named tool in a JSON form of its own (tests/integration/smg.py), which
        # the tiny model never completes: LlamaIndex finds no call. The request is the same.
        with pytest.raises(ValueError, match="Expected at least one tool call"):
            llm.structured_predict(Joke, PROMPT, topic="cats")
    else:
        assert llm.structured_predict(Joke, PROMPT, topic="cats") == CAT_JOKE
    (start,) = chat_starts(events)
    assert [tool["function"]["name"] for tool in start.additional_kwargs["tools"]] == ["Joke"]
    assert "structured_outputs" not in start.additional_kwargs


def test_regex_choice_and_grammar_per_call(llm: VLLM) -> None:
    code = llm.chat(
        [ChatMessage(role=MessageRole.USER, content="Give me a code.")],
        structured_outputs=StructuredOutputs(regex=CODE),
    )
    assert re.fullmatch(CODE, code.message.content or "")
    answer = llm.complete(
        "Is it sunny?", structured_outputs=StructuredOutputs(choice=["yes", "no"])
    )
    assert answer.text in ("yes", "no")
    grammar = StructuredOutputs(grammar='root ::= "red" | "green" | "blue"')
    picked = "".join(
        c.delta or "" for c in llm.stream_complete("Pick one.", structured_outputs=grammar)
    )
    assert picked in ("red", "green", "blue")


def test_the_field_constrains_every_call_and_a_call_may_override_it(base_url: str) -> None:
    llm = VLLM(
        model=SERVED_MODEL_NAME,
        base_url=base_url,
        temperature=0,
        structured_outputs=StructuredOutputs(choice=["yes", "no"]),
    )
    assert llm.complete("Is it sunny?").text in ("yes", "no")
    code = llm.complete("Give me a code.", structured_outputs=StructuredOutputs(regex=CODE))
    assert re.fullmatch(CODE, code.text)
