"""What enforces tool_choice, parallel_tool_calls and strict tools over gRPC equals what vLLM
0.32's HTTP server puts in the request after its parser's ``adjust_request`` (the oracle): the
same structural tag (as xgrammar reads both), the same JSON schema, or the request's own
structured outputs left alone."""

from __future__ import annotations

import itertools
import json
import warnings
from typing import Any

import pytest

from tests.unit.parsers import family_tokenizers
from tests.unit.parsers.formats import DEEPSEEK_TAGS
from tests.unit.parsers.harness import Oracle, shared_oracle
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.transports.grpc.parsers import RequestFacts, compose
from vllm_integrations.transports.grpc.tool_constraint import (
    constrain_tool_calls,
    request_constraint,
)
from vllm_integrations.types import assemble_tool_calls

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
DEFS = {
    "type": "object",
    "properties": {"place": {"$ref": "#/$defs/Place"}},
    "$defs": {"Place": {"type": "object", "properties": {"name": {"type": "string"}}}},
}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": CITY}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": CITY, "strict": True}}
PLACE = {"type": "function", "function": {"name": "find_place", "parameters": DEFS}}
KINDS = {
    "type": "object",
    "properties": {
        "mode": {"enum": ["fast", 2]},
        "level": {"type": ["integer", "string"]},
        "ratio": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
SET = {"type": "function", "function": {"name": "set_mode", "parameters": KINDS}}
ANY_OF = {"type": "object", "properties": {"x": {"type": "string"}}, "anyOf": [{"required": ["x"]}]}
RUN = {"type": "function", "function": {"name": "run", "parameters": ANY_OF}}
PING = {"type": "function", "function": {"name": "ping"}}
TOOL_SETS = [[WEATHER], [WEATHER, TIME], [PLACE, TIME], [TIME], [SET, RUN, PING]]
CHOICES: list[Any] = [None, "auto", "required", "none", {"type": "function", "function": {}}]
STRUCTURED = [None, StructuredOutputs(regex=r"\d+"), StructuredOutputs(json_schema=CITY)]
PARSERS = [
    "hermes", "llama3_json", "kimi_k2", "granite", "glm45", "qwen3_coder", "pythonic",
    "llama4_pythonic", "deepseek_v3", "deepseek_v31", "mistral", "openai",
]  # fmt: skip
TAGS = (
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<|python_tag|>", "<|tool_call|>",
    "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>",
    "<|tool_call_end|>", "<|tool_call_argument_begin|>", "<arg_key>", "</arg_key>",
    "<arg_value>", "</arg_value>", "[TOOL_CALLS]", "[ARGS]", "[THINK]", "[/THINK]",
    *DEEPSEEK_TAGS,
)  # fmt: skip


@pytest.fixture(scope="module")
def oracle(vllm_server_python: str) -> Oracle:
    """The parser tests' vLLM process (one for the session)."""
    return shared_oracle(vllm_server_python)


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One tokenizer with every family's tags, so vLLM's parsers accept it."""
    corpus = ["The weather in Paris.", '{"name": "get_weather", "parameters": {}}', *TAGS]
    directory = tmp_path_factory.mktemp("all-tags")
    return str(family_tokenizers.build(directory, TAGS, "special", corpus, "<|im_end|>"))


def _named(choice: Any, tools: list[dict[str, Any]]) -> Any:
    if isinstance(choice, dict):
        return {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
    return choice


def _vllms(
    oracle: Oracle,
    path: str,
    parser: str | None,
    case: dict[str, Any],
    reasoning: str | None = None,
) -> Any:
    structured = case["structured"]
    return oracle.ask(
        {
            "tokenizer": path,
            "reasoning": reasoning,
            "tool": parser,
            "prompt_ids": [],
            "chunks": None,
            "eos": False,
            "tools": case["tools"],
            "tool_choice": case["choice"],
            "parallel_tool_calls": case["parallel"],
            "structured_outputs": structured.to_http() if structured else None,
        }
    )


def _ours(parser: str, case: dict[str, Any]) -> StructuredOutputs | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return constrain_tool_calls(
            parser,
            case["tools"],
            case["choice"],
            parallel_tool_calls=case["parallel"],
            structured=case["structured"],
        )


@pytest.mark.parametrize("parser", PARSERS)
def test_constraints_equal_vllms(oracle: Oracle, tokenizer_path: str, parser: str) -> None:
    combos = itertools.product(TOOL_SETS, CHOICES, [None, False], STRUCTURED)
    for tools, choice, parallel, structured in combos:
        case = {
            "tools": tools,
            "choice": _named(choice, tools),
            "parallel": parallel,
            "structured": structured,
        }
        answer = _vllms(oracle, tokenizer_path, parser, case)
        if "error" in answer:
            assert "not both" in answer["error"], answer
            with pytest.raises(ValueError, match="not both"):
                _ours(parser, case)
            continue
        _assert_same(oracle, _ours(parser, case), answer["structured_outputs"], case)


def _assert_same(
    oracle: Oracle, ours: StructuredOutputs | None, expected: Any, case: dict[str, Any]
) -> None:
    """Our structured outputs equal vLLM's, a structural tag as xgrammar reads both."""
    vllm_tag = (expected or {}).get("structural_tag")
    if vllm_tag is not None:
        assert ours is not None, case
        assert isinstance(ours.structural_tag, dict), case
        normalized = [
            oracle.ask({"normalize_tag": tag})["normalized"]
            for tag in (ours.structural_tag, json.loads(vllm_tag))
        ]
        assert normalized[0] == normalized[1], case
    else:
        assert (ours.to_http() if ours else None) == expected, case


EVERY_KIND = [
    StructuredOutputs(json_schema=CITY),
    StructuredOutputs(json_object=True),
    StructuredOutputs(regex=r"\d+"),
    StructuredOutputs(choice=["yes", "no"]),
    StructuredOutputs(grammar='root ::= "yes" | "no"'),
    StructuredOutputs(structural_tag={"type": "structural_tag", "format": {"type": "any_text"}}),
]


@pytest.mark.parametrize(
    ("reasoning", "parser"),
    [
        ("openai_gptoss", None),
        ("openai_gptoss", "openai"),
        (None, "openai"),
        (None, "hermes"),
        (None, None),
    ],
)
def test_structured_outputs_without_tool_calls_equal_vllms(
    oracle: Oracle, tokenizer_path: str, reasoning: str | None, parser: str | None
) -> None:
    """gpt-oss's renderer moves them into harmony's final channel on every request, with no
    tools too; other families' leave them alone."""
    for structured, tools in itertools.product(EVERY_KIND, [[], [WEATHER]]):
        choice = "none" if tools else None
        case = {
            "tools": tools or None,
            "choice": choice,
            "parallel": None,
            "structured": structured,
        }
        answer = _vllms(oracle, tokenizer_path, parser, case, reasoning)
        ours = request_constraint(
            reasoning, parser, tools, choice, parallel_tool_calls=None, structured=structured
        )
        _assert_same(oracle, ours, answer["structured_outputs"], case)
        moved = reasoning == "openai_gptoss" or parser == "openai"
        assert (ours != structured) == moved, case


def test_a_forced_call_overrides_structured_outputs_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="structured outputs are ignored"):
        constrain_tool_calls(
            "llama3_json",
            [WEATHER],
            "required",
            parallel_tool_calls=None,
            structured=StructuredOutputs(regex=r"\d+"),
        )


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"type": "function", "function": {"name": "get_forecast"}}, "get_forecast"),
        ("any", "tool_choice must be"),
        ({"type": "function"}, "tool_choice must be"),
    ],
)
def test_bad_tool_choices_fail_at_once(choice: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        constrain_tool_calls(
            "llama3_json", [WEATHER], choice, parallel_tool_calls=None, structured=None
        )


def _call_tags(node: Any) -> list[dict[str, Any]]:
    """The tags of a structural tag format that hold one call's JSON arguments."""
    if isinstance(node, list):
        return [t for item in node for t in _call_tags(item)]
    if not isinstance(node, dict):
        return []
    content = node.get("content")
    leaf = node.get("type") == "tag" and isinstance(content, dict)
    found = [node] if leaf and node["content"].get("type") == "json_schema" else []
    return found + [t for value in node.values() for t in _call_tags(value)]


@pytest.mark.parametrize("parser", ["hermes", "llama3_json", "deepseek_v3", "deepseek_v31"])
@pytest.mark.parametrize("tool", [WEATHER, TIME])
def test_the_parser_reads_every_call_the_tag_allows(
    parser: str, tool: dict[str, Any], tokenizer_path: str
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    name = tool["function"]["name"]
    named = {"type": "function", "function": {"name": name}}
    forced = constrain_tool_calls(
        parser, [WEATHER, TIME], named, parallel_tool_calls=None, structured=None
    )
    assert forced is not None
    assert isinstance(forced.structural_tag, dict)
    tags = _call_tags(forced.structural_tag["format"])
    assert tags
    for tag in tags:
        request = RequestFacts(tools=[WEATHER, TIME], tool_choice=named)
        reply = compose(None, parser, tokenizer, request, ())
        parsed = reply.parse(tag["begin"] + '{"city": "Paris"}' + tag["end"])
        [call] = assemble_tool_calls(parsed.tool_calls)
        assert (parsed.content, call.name, call.arguments) == ("", name, '{"city": "Paris"}')


def _tags_calling(node: Any, name: str) -> list[dict[str, Any]]:
    """The tags of a structural tag format that open a call to ``name``."""
    if isinstance(node, list):
        return [t for item in node for t in _tags_calling(item, name)]
    if not isinstance(node, dict):
        return []
    calls = node.get("type") == "tag" and name in node["begin"]
    return [node] * calls + [t for value in node.values() for t in _tags_calling(value, name)]


CALL_BODIES = {
    "glm45": ("<arg_key>city</arg_key><arg_value>Paris</arg_value>", None),
    "qwen3_coder": ("<parameter=city>\nParis\n</parameter>", None),
    "openai": ('{"city": "Paris"}', "<|call|>"),
}
"""A call's arguments as each family writes them, and its end where the tag's is not text."""


@pytest.mark.parametrize("parser", sorted(CALL_BODIES))
@pytest.mark.parametrize("choice", ["required", "named"])
@pytest.mark.parametrize("tool", [WEATHER, TIME])
def test_the_family_parser_reads_every_xml_and_harmony_call_the_tag_allows(
    parser: str, choice: str, tool: dict[str, Any], tokenizer_path: str
) -> None:
    """vLLM reads these forced replies with the family's parser, as under "auto"."""
    from transformers import AutoTokenizer

    from vllm_integrations.transports.grpc.parsers.harmony import encoding

    name = tool["function"]["name"]
    tool_choice: Any = {"type": "function", "function": {"name": name}}
    tool_choice = tool_choice if choice == "named" else "required"
    forced = constrain_tool_calls(
        parser, [WEATHER, TIME], tool_choice, parallel_tool_calls=None, structured=None
    )
    assert forced is not None
    assert isinstance(forced.structural_tag, dict)
    tags = _tags_calling(forced.structural_tag["format"], name)
    assert tags
    harmony = parser == "openai"
    tokenizer = encoding() if harmony else AutoTokenizer.from_pretrained(tokenizer_path)
    body, end = CALL_BODIES[parser]
    for tag in tags:
        text = tag["begin"] + body + (end or tag["end"])
        ids = encoding().encode(text, allowed_special="all") if harmony else tokenizer.encode(text)
        request = RequestFacts(tools=[WEATHER, TIME], tool_choice=tool_choice)
        parsed = compose(None, parser, tokenizer, request, ()).parse(text, ids)
        [call] = assemble_tool_calls(parsed.tool_calls)
        assert (parsed.content, call.name) == ("", name), text
        assert json.loads(call.arguments) == {"city": "Paris"}, text
