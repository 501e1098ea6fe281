"""The structural tags that enforce tool_choice over gRPC are the ones vLLM 0.32's HTTP server
builds for the hermes format (expected values as its ``get_model_structural_tag`` dumps them,
less the fields left at xgrammar's defaults)."""

from __future__ import annotations

from typing import Any

import pytest

from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.transports.grpc.parsers import HermesToolCallParser
from vllm_integrations.transports.grpc.tool_constraint import constrain_tool_calls
from vllm_integrations.types import assemble_tool_calls

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": CITY}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": CITY, "strict": True}}
REGEX = StructuredOutputs(regex=r"\d+")


def tags(name: str, schema: Any) -> list[dict[str, Any]]:
    head = f'{{"name": "{name}", "arguments": '
    content = {"type": "json_schema", "json_schema": schema}
    return [
        {
            "type": "tag",
            "begin": f"<tool_call>\n{head}",
            "content": content,
            "end": "}\n</tool_call>",
        },
        {"type": "tag", "begin": f"<tool_call>{head}", "content": content, "end": "}</tool_call>"},
    ]


def tag_format(tools: list[dict[str, Any]], choice: Any, **options: Any) -> Any:
    structured = constrain_tool_calls(HermesToolCallParser, tools, choice, **options)
    assert structured is not None
    assert isinstance(structured.structural_tag, dict)
    assert structured.structural_tag["type"] == "structural_tag"
    return structured.structural_tag["format"]


def test_required_allows_any_tool_and_pins_only_strict_arguments() -> None:
    assert tag_format([WEATHER, TIME], "required", parallel_tool_calls=None, structured=None) == {
        "type": "tags_with_separator",
        "tags": [*tags("get_weather", True), *tags("get_time", CITY)],
        "separator": "",
        "at_least_one": True,
        "stop_after_first": False,
    }


def test_a_named_tool_is_the_only_one_and_called_once() -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert tag_format([WEATHER, TIME], named, parallel_tool_calls=None, structured=None) == {
        "type": "tags_with_separator",
        "tags": tags("get_weather", True),
        "separator": "",
        "at_least_one": True,
        "stop_after_first": True,
    }


def test_auto_is_unconstrained_unless_a_tool_is_strict_or_calls_are_limited() -> None:
    assert (
        constrain_tool_calls(
            HermesToolCallParser, [WEATHER], "auto", parallel_tool_calls=None, structured=REGEX
        )
        is REGEX
    )
    triggered = {
        "type": "triggered_tags",
        "triggers": ["<tool_call>"],
        "tags": [*tags("get_weather", True), *tags("get_time", CITY)],
        "stop_after_first": False,
    }
    assert tag_format([WEATHER, TIME], None, parallel_tool_calls=None, structured=None) == (
        triggered
    )
    one_call = tag_format([WEATHER], "auto", parallel_tool_calls=False, structured=None)
    assert one_call["type"] == "triggered_tags"
    assert one_call["stop_after_first"] is True


def test_auto_with_structured_outputs_offers_calls_or_the_structured_output() -> None:
    either = tag_format([TIME], "auto", parallel_tool_calls=None, structured=REGEX)
    assert either["type"] == "or"
    assert either["elements"][0]["type"] == "tags_with_separator"
    assert either["elements"][1] == {"type": "regex", "pattern": r"\d+"}


def test_a_forced_call_overrides_structured_outputs_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="structured outputs are ignored"):
        forced = tag_format([WEATHER], "required", parallel_tool_calls=None, structured=REGEX)
    assert forced["type"] == "tags_with_separator"


def test_none_and_no_tools_leave_the_request_alone() -> None:
    assert (
        constrain_tool_calls(
            HermesToolCallParser, [WEATHER], "none", parallel_tool_calls=False, structured=REGEX
        )
        is REGEX
    )
    assert (
        constrain_tool_calls(
            HermesToolCallParser, [], None, parallel_tool_calls=False, structured=None
        )
        is None
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
            HermesToolCallParser, [WEATHER], choice, parallel_tool_calls=None, structured=None
        )


@pytest.mark.parametrize(("begin", "end"), HermesToolCallParser.call_envelopes("get_weather"))
def test_the_parser_reads_every_call_the_tag_allows(begin: str, end: str) -> None:
    parser = HermesToolCallParser()
    content, deltas = parser.feed(begin + '{"city": "Paris"}' + end)
    rest, more = parser.finish()
    calls = assemble_tool_calls([*deltas, *more])
    assert content + rest == ""
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", '{"city": "Paris"}')]
