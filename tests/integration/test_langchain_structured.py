"""ChatVLLM structured outputs against the real server: vLLM's grammar engine enforces each mode."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from vllm_integrations.errors import BadRequestError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.structured import StructuredOutputs

CODE = r"[A-Z]{3}-\d{2}"
EBNF = 'root ::= "yes" | "no" | "maybe"'
LARK = 'start: "red" | "green" | "blue"'
CODE_TAG = {
    "type": "structural_tag",
    "format": {
        "type": "tag",
        "begin": "<code>",
        "content": {"type": "regex", "pattern": CODE},
        "end": "</code>",
    },
}


def test_regex(chat: ChatVLLM) -> None:
    answer = chat.with_structured_output(CODE, method="regex").invoke("Give me a code.")
    assert isinstance(answer, str)
    assert re.fullmatch(CODE, answer)


def test_choice(chat: ChatVLLM) -> None:
    answer = chat.with_structured_output(["yes", "no"], method="choice").invoke("Is it sunny?")
    assert answer in ("yes", "no")


@pytest.mark.parametrize(
    ("grammar", "language"), [(EBNF, ("yes", "no", "maybe")), (LARK, ("red", "green", "blue"))]
)
def test_grammar_ebnf_and_lark(chat: ChatVLLM, grammar: str, language: tuple[str, ...]) -> None:
    answer = chat.with_structured_output(grammar, method="grammar").invoke("Pick one.")
    assert answer in language


def test_streamed_regex_output(chat: ChatVLLM) -> None:
    pieces = list(chat.with_structured_output(CODE, method="regex").stream("Give me a code."))
    assert re.fullmatch(CODE, "".join(pieces))


def test_include_raw_keeps_the_message(chat: ChatVLLM) -> None:
    result = chat.with_structured_output(CODE, method="regex", include_raw=True).invoke("Code?")
    assert isinstance(result["raw"], AIMessage)
    assert result["parsing_error"] is None
    assert re.fullmatch(CODE, result["parsed"])
    assert result["raw"].additional_kwargs.get("reasoning_content")  # reasoning kept aside


async def test_async_choice(chat: ChatVLLM) -> None:
    answer = await chat.with_structured_output(["up", "down"], method="choice").ainvoke("Which?")
    assert answer in ("up", "down")


def test_bad_arguments_fail_at_once(chat: ChatVLLM) -> None:
    with pytest.raises(ValueError, match="list of strings"):
        chat.with_structured_output("yes", method="choice")
    with pytest.raises(ValueError, match="unknown method"):
        chat.with_structured_output(CODE, method="guided_regex")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected"):
        chat.with_structured_output(CODE, method="regex", guided=True)


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


JOKE_PROMPT = "Tell me a joke about cats."


def test_pydantic_schema(chat: ChatVLLM) -> None:
    joke = chat.with_structured_output(Joke).invoke(JOKE_PROMPT)
    assert isinstance(joke, Joke)
    assert joke.setup
    assert joke.punchline


def test_function_calling(chat: ChatVLLM) -> None:
    joke = chat.with_structured_output(Joke, method="function_calling").invoke(JOKE_PROMPT)
    assert isinstance(joke, Joke)
    assert joke.setup


def test_json_schema_streams_partial_objects(chat: ChatVLLM) -> None:
    schema = Joke.model_json_schema()
    partials = list(chat.with_structured_output(schema).stream(JOKE_PROMPT))
    assert len(partials) > 1
    assert all(isinstance(p, dict) for p in partials)
    assert set(partials[-1]) == {"setup", "punchline"}


def test_json_mode(chat: ChatVLLM) -> None:
    answer = chat.with_structured_output(method="json_mode").invoke(JOKE_PROMPT)
    assert isinstance(answer, dict)


def test_structural_tag(chat: ChatVLLM, transport: str) -> None:
    structured = StructuredOutputs(structural_tag=CODE_TAG)
    if transport == "gateway":  # smg's chat API has no structural tags: it says so
        with pytest.raises(BadRequestError, match="structural_tag"):
            chat.invoke("Give me a code.", structured_outputs=structured)
        return
    reply = chat.invoke("Give me a code.", structured_outputs=structured)
    assert isinstance(reply.content, str)
    assert re.fullmatch(f"<code>{CODE}</code>", reply.content)
