"""Client-side reasoning and tool-call parsers: vLLM 0.32's results, streamed or all at once."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vllm_integrations import types
from vllm_integrations.testing import SCRIPTS, Script, ToolCall
from vllm_integrations.transports.grpc.parsers import (
    HermesToolCallParser,
    ReasoningParser,
    reasoning_parser,
    tool_call_parser,
)
from vllm_integrations.types import ToolCallDelta, assemble_tool_calls

REASONING_NAMES = ("qwen3", "deepseek_r1")
WEATHER = ToolCall("get_weather", {"city": "Paris"})
TIME = ToolCall("get_time", {"city": "Tokyo"})
CAPITAL = "The user asks.</think>The capital is Paris."


def stream_reasoning(parser: ReasoningParser, pieces: list[str]) -> tuple[str, str]:
    reasoning, content = [], []
    for piece in [*pieces, None]:
        r, c = parser.finish() if piece is None else parser.feed(piece)
        reasoning.append(r)
        content.append(c)
    return "".join(reasoning), "".join(content)


def stream_tools(pieces: list[str]) -> tuple[str, list[ToolCallDelta]]:
    parser = tool_call_parser("hermes")
    content, deltas = [], []
    for piece in [*pieces, None]:
        c, d = parser.finish() if piece is None else parser.feed(piece)
        content.append(c)
        deltas.extend(d)
    return "".join(content), deltas


def parse_reasoning(name: str, text: str, *, thinking: bool = True) -> tuple[str, str]:
    """A whole output through a fresh parser, at once."""
    return stream_reasoning(reasoning_parser(name, thinking=thinking), [text])


def parse_tools(text: str) -> tuple[str, list[types.ToolCall]]:
    """A whole content text through a fresh parser, at once, its calls assembled."""
    content, deltas = stream_tools([text])
    return content, assemble_tool_calls(deltas)


def calls_of(text: str) -> tuple[str, list[tuple[str, Any]]]:
    content, calls = parse_tools(text)
    return content, [(call.name, json.loads(call.arguments)) for call in calls]


# ── Registry ─────────────────────────────────────────────────────────────────────────────────


def test_registry_knows_vllm_names() -> None:
    assert reasoning_parser("qwen3").name == "qwen3"
    assert reasoning_parser("deepseek_r1", thinking=False).thinking is False
    assert isinstance(tool_call_parser("hermes"), HermesToolCallParser)


def test_registry_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"'nope'.*deepseek_r1, qwen3"):
        reasoning_parser("nope")
    with pytest.raises(ValueError, match=r"'nope'.*hermes"):
        tool_call_parser("nope")


# ── Reasoning: exact vLLM results ────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The user asks.</think>The capital is Paris.",
            ("The user asks.", "The capital is Paris."),
        ),
        # An opening tag the model writes anyway is dropped; whitespace around tags is kept.
        ("<think>\nHmm.\n</think>\n\nParis.", ("\nHmm.\n", "\n\nParis.")),
        ("<think>a<think>b</think>c", ("ab", "c")),
        ("Still thinking", ("Still thinking", "")),
        ("a</think>", ("a", "")),
        # A later </think> is absorbed; a <think> in content is just text.
        ("a</think>b</think>c<think>d", ("a", "bc<think>d")),
        # A tool call ends reasoning implicitly and stays for the tool parser.
        ("a<tool_call>{}</tool_call>", ("a", "<tool_call>{}</tool_call>")),
        ("</th ink>", ("</th ink>", "")),
    ],
)
def test_qwen3_thinking(text: str, expected: tuple[str, str]) -> None:
    assert parse_reasoning("qwen3", text) == expected


@pytest.mark.parametrize("name", REASONING_NAMES)
def test_thinking_off_is_all_content(name: str) -> None:
    text = "<think>a</think>\n\nb</think>"
    assert parse_reasoning(name, text, thinking=False) == ("", text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The user asks.</think>The capital is Paris.",
            ("The user asks.", "The capital is Paris."),
        ),
        ("<think>\na\n</think>\nb", ("\na\n", "\nb")),
        # Only the first <think> and the first </think> are tags.
        ("<think>a<think>b</think>c</think><think>d", ("a<think>b", "c</think><think>d")),
        ("<think>no end", ("no end", "")),
    ],
)
def test_deepseek_r1(text: str, expected: tuple[str, str]) -> None:
    assert parse_reasoning("deepseek_r1", text) == expected


def test_tag_split_across_deltas() -> None:
    parser = reasoning_parser("qwen3")
    assert parser.feed("I think.</th") == ("I think.", "")
    assert parser.feed("ink>Par") == ("", "Par")
    assert parser.feed("is.<") == ("", "is.")  # "<" may start a later "</think>"
    assert parser.finish() == ("", "<")


def test_held_back_prefix_is_released_at_the_end() -> None:
    parser = reasoning_parser("qwen3")
    assert parser.feed("a</thi") == ("a", "")
    assert parser.finish() == ("</thi", "")


def test_parsers_of_two_streams_are_independent() -> None:
    parser = reasoning_parser("qwen3")
    assert parser.feed("a</th") == ("a", "")
    assert parse_reasoning("qwen3", "x</think>y") == ("x", "y")
    assert parser.feed("ink>b") == ("", "b")


# ── Hermes tool calls: exact vLLM results ────────────────────────────────────────────────────


def test_one_call() -> None:
    content, calls = parse_tools(WEATHER.hermes())
    assert content == ""
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", '{"city": "Paris"}')]
    assert calls[0].id.startswith("call_")
    assert len(calls[0].id) == len("call_") + 32


def test_two_calls_in_a_row() -> None:
    content, calls = parse_tools(f"{WEATHER.hermes()}\n{TIME.hermes()}")
    assert content == ""
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", '{"city": "Tokyo"}'),
    ]
    assert calls[0].id != calls[1].id


def test_content_then_call() -> None:
    text = f"Let me check.\n{WEATHER.hermes()}"
    assert calls_of(text) == ("Let me check.\n", [("get_weather", {"city": "Paris"})])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Whitespace-only content before calls is dropped; without calls it is kept.
        (f"\n\n{WEATHER.hermes()}", ("", [("get_weather", {"city": "Paris"})])),
        ("\n\n", ("\n\n", [])),
        ("Plain <tool answer", ("Plain <tool answer", [])),
        # Text between and after calls is dropped, as vLLM does.
        (
            f"A{WEATHER.hermes()}B{TIME.hermes()}C",
            ("A", [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Tokyo"})]),
        ),
        # An unterminated block at the end counts when it is whole JSON ...
        ('<tool_call> {"name": "f", "arguments": {}} ', ("", [("f", {})])),
        # ... and an incomplete one voids every call: all text is content.
        (
            f'{WEATHER.hermes()}<tool_call>{{"name": "f", "argu',
            (f'{WEATHER.hermes()}<tool_call>{{"name": "f", "argu', []),
        ),
        ("x<tool_call>{bad}</tool_call>", ("x<tool_call>{bad}</tool_call>", [])),
        ('<tool_call>{"name": 3, "arguments": {}}</tool_call>', None),
        ('<tool_call>{"name": "f"}</tool_call>', None),
        ("<tool_call>[1]</tool_call>", None),
        ("<tool_call></tool_call>", None),
        ("\n<tool_call>", None),
    ],
)
def test_hermes_edges(text: str, expected: tuple[str, list[tuple[str, Any]]] | None) -> None:
    assert calls_of(text) == (expected or (text, []))


def test_arguments_are_json_dumps_of_the_parsed_value() -> None:
    raw = '<tool_call>{"name":"f","arguments":{"b":[1,2.50,"ü"],"a":{"x":null}}}</tool_call>'
    _, calls = parse_tools(raw)
    assert calls[0].arguments == '{"b": [1, 2.5, "ü"], "a": {"x": null}}'
    _, calls = parse_tools('<tool_call>{"name":"f","arguments":"s"}')
    assert calls[0].arguments == '"s"'


def test_streamed_deltas_shape() -> None:
    content, deltas = stream_tools(["Hi ", "<tool", "_call>\n", WEATHER.hermes()[12:]])
    assert content == "Hi "
    first, second = deltas
    assert first == ToolCallDelta(index=0, id=first.id, name="get_weather")
    assert (first.id or "").startswith("call_")
    assert second == ToolCallDelta(index=0, arguments='{"city": "Paris"}')


def test_assemble_tool_calls() -> None:
    deltas = [
        ToolCallDelta(index=0, id="a", name="f"),
        ToolCallDelta(index=1, id="b", name="g", arguments="{"),
        ToolCallDelta(index=0, arguments='{"x"'),
        ToolCallDelta(index=0, arguments=": 1}"),
        ToolCallDelta(index=1, arguments="}"),
    ]
    assert [(c.id, c.name, c.arguments) for c in assemble_tool_calls(deltas)] == [
        ("a", "f", '{"x": 1}'),
        ("b", "g", "{}"),
    ]


# ── The scripted conversations ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", REASONING_NAMES)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_scripts(script: Script, name: str) -> None:
    text = script.completion()
    for pieces in ([text], list(text)):
        reasoning, content = stream_reasoning(
            reasoning_parser(name, thinking=script.thinking), pieces
        )
        assert reasoning == (script.reasoning or "")
        content, deltas = stream_tools(list(content))
        calls = assemble_tool_calls(deltas)
        assert content == script.content
        assert [(c.name, json.loads(c.arguments)) for c in calls] == [
            (call.name, call.arguments) for call in script.tool_calls
        ]


# ── Properties: streaming equals one-shot, holdback stays bounded ────────────────────────────

FRAGMENTS = (
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<",
    "</",
    "<th",
    "ink>",
    "<tool_",
    "call>",
    ">",
    "\n",
    " ",
    "a",
    "é👋",
    "{",
    "}",
    '"name"',
    WEATHER.hermes(),
    '{"name": "f", "arguments": {"x": [1, 2]}}',
    '{"name": 1, "arguments": {}}',
)
TEXTS = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=14).map("".join)


@st.composite
def split_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A text and a split of it into deltas, some of them empty."""
    text = draw(TEXTS)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=10)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=200, deadline=None)
@given(split_texts(), st.sampled_from(REASONING_NAMES), st.booleans())
def test_reasoning_streaming_equals_one_shot(
    split: tuple[str, list[str]], name: str, thinking: bool
) -> None:
    text, pieces = split
    parser = reasoning_parser(name, thinking=thinking)
    reasoning, content = [], []
    for piece in pieces:
        r, c = parser.feed(piece)
        reasoning.append(r)
        content.append(c)
        longest_tag = max(state.longest for state in parser._states.values())
        assert len(parser._tail) < max(longest_tag, 1)
    r, c = parser.finish()
    streamed = "".join(reasoning) + r, "".join(content) + c
    assert streamed == parse_reasoning(name, text, thinking=thinking)
    if not thinking:
        assert streamed == ("", text)


@settings(max_examples=200, deadline=None)
@given(split_texts())
def test_tool_streaming_equals_one_shot(split: tuple[str, list[str]]) -> None:
    text, pieces = split
    parser = HermesToolCallParser()
    content, deltas = [], []
    for piece in pieces:
        c, d = parser.feed(piece)
        content.append(c)
        deltas.extend(d)
        assert len(parser._tail) < len(HermesToolCallParser.START)
    c, d = parser.finish()
    streamed_calls = [(t.name, t.arguments) for t in assemble_tool_calls([*deltas, *d])]
    one_content, one_calls = parse_tools(text)
    assert "".join(content) + c == one_content
    assert streamed_calls == [(t.name, t.arguments) for t in one_calls]
    if "<tool_call>" not in text:
        assert (one_content, one_calls) == (text, [])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=8), st.dictionaries(st.text(max_size=5), JSON, max_size=4))
def test_any_arguments_round_trip(name: str, arguments: dict[str, Any]) -> None:
    _, calls = parse_tools(ToolCall(name, arguments).hermes())
    assert [(c.name, c.arguments) for c in calls] == [
        (name, json.dumps(arguments, ensure_ascii=False))
    ]
