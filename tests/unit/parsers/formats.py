"""Model outputs in each family's real format, generated with hypothesis: reasoning, text before
and after calls, parallel calls with unicode and nested JSON arguments, and the broken shapes
models produce (cut short, malformed bodies, stray tags)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "filters": {"type": "object"},
                    "exact": {"type": "boolean"},
                },
            },
        },
    },
]
NAMES = ["get_weather", "search", "unknown_tool"]

words = st.sampled_from(
    [
        "Paris",
        "the",
        "weather",
        " ",
        "\n",
        "Tokyo",
        "é",
        "日本",
        "🌧",
        "{",
        "}",
        '"',
        ":",
        ",",
        "<",
        ">",
    ]
)
prose = st.lists(words, max_size=12).map("".join)
scalars = st.one_of(
    st.integers(-5, 500), st.booleans(), st.none(), prose, st.sampled_from(["3", "true", "1.5"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "ключ", "x y"]), inner, max_size=3),
    ),
    max_leaves=6,
)
arguments = st.dictionaries(
    st.sampled_from(["city", "days", "query", "filters", "exact", "note"]), json_values, max_size=3
)


@dataclass(frozen=True)
class Format:
    """How one family writes reasoning and calls."""

    think: Callable[[str, bool], str]
    """(reasoning, closed) -> the reasoning block."""
    calls: Callable[[list[tuple[str, dict[str, Any]]]], str]
    noise: tuple[str, ...]
    """Tags and fragments that appear where they should not."""
    bare_calls: bool = False
    """Calls usually make the whole output (no text before them), as with Llama's JSON."""


def _think(reasoning: str, closed: bool) -> str:
    return "<think>" + reasoning + ("</think>" if closed else "")


def hermes_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        f"<tool_call>\n{json.dumps({'name': n, 'arguments': a}, ensure_ascii=False)}\n</tool_call>"
        for n, a in calls
    )


def _xml_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def qwen3_xml_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        "<tool_call>\n<function="
        + n
        + ">\n"
        + "".join(f"<parameter={k}>\n{_xml_value(v)}\n</parameter>\n" for k, v in a.items())
        + "</function>\n</tool_call>"
        for n, a in calls
    )


def glm_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        f"<tool_call>{n}\n"
        + "".join(
            f"<arg_key>{k}</arg_key>\n<arg_value>{_xml_value(v)}</arg_value>\n"
            for k, v in a.items()
        )
        + "</tool_call>"
        for n, a in calls
    )


def kimi_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    body = "".join(
        f"<|tool_call_begin|>functions.{n}:{i}<|tool_call_argument_begin|>"
        f"{json.dumps(a, ensure_ascii=False)}<|tool_call_end|>"
        for i, (n, a) in enumerate(calls)
    )
    return f"<|tool_calls_section_begin|>{body}<|tool_calls_section_end|>"


def granite_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    payload = [{"name": n, "arguments": a} for n, a in calls]
    return "<|tool_call|>" + json.dumps(payload, ensure_ascii=False)


def _granite_think(reasoning: str, closed: bool) -> str:
    """Granite 3.x's plain-text phrases ("Here's" or "Here is", varied by the text)."""
    here = "Here's" if len(reasoning) % 2 else "Here is"
    return f"{here} my thought process:{reasoning}" + (f"{here} my response:" if closed else "")


def mistral_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    """Mistral v11+: each call after its own [TOOL_CALLS], name then [ARGS] (or the name glued
    to its arguments' brace, which vLLM also reads)."""
    return "".join(
        f"[TOOL_CALLS]{n}{'[ARGS]' if i % 2 == 0 else ''}{json.dumps(a, ensure_ascii=False)}"
        for i, (n, a) in enumerate(calls)
    )


def llama_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    """Llama 3.1 JSON calls joined by "; ", after <|python_tag|> for built-in-style calls;
    the arguments key and the JSON spacing vary with the call, as models vary them."""
    objects = []
    for name, args in calls:
        key = "parameters" if len(args) % 2 == 0 else "arguments"
        separators = (",", ":") if name == "search" else (", ", ": ")
        objects.append(
            json.dumps({"name": name, key: args}, ensure_ascii=False, separators=separators)
        )
    tag = "<|python_tag|>" if len(calls) == 1 else ""
    return tag + "; ".join(objects)


def _python_value(value: Any) -> str:
    """A Python literal, JSON's spelling of true/false/null now and then (models mix them)."""
    if isinstance(value, bool) or value is None:
        return repr(value) if value is False else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_python_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_python_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def pythonic_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return (
        "["
        + ", ".join(
            f"{n}(" + ", ".join(f"{k}={_python_value(v)}" for k, v in a.items()) + ")"
            for n, a in calls
        )
        + "]"
    )


def llama4_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    wrapped = len(calls) % 2 == 1
    text = pythonic_calls(calls)
    return f"<|python_start|>{text}<|python_end|>" if wrapped else text


def _deepseek(words: str) -> str:
    return "<\uff5c" + words.replace(" ", "\u2581") + "\uff5c>"


DEEPSEEK_TAGS = tuple(
    _deepseek(w)
    for w in ("tool calls begin", "tool calls end", "tool call begin", "tool call end", "tool sep")
)
_DS_CALLS_BEGIN, _DS_CALLS_END, _DS_CALL_BEGIN, _DS_CALL_END, _DS_SEP = DEEPSEEK_TAGS


def deepseek_v3_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    """R1 / V3: a fenced JSON block per call; pretty-printed arguments now and then."""
    body = "\n".join(
        f"{_DS_CALL_BEGIN}function{_DS_SEP}{n}\n```json\n"
        + json.dumps(a, ensure_ascii=False, indent=2 if len(a) == 2 else None)
        + f"\n```{_DS_CALL_END}"
        for n, a in calls
    )
    return _DS_CALLS_BEGIN + body + _DS_CALLS_END


def deepseek_v31_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    body = "".join(
        f"{_DS_CALL_BEGIN}{n}{_DS_SEP}{json.dumps(a, ensure_ascii=False)}{_DS_CALL_END}"
        for n, a in calls
    )
    return _DS_CALLS_BEGIN + body + _DS_CALLS_END


_PYTHON_NOISE = ("[", "]", "(", ")", "'", '"', ", ", "=", "x=")

FORMATS = {
    "hermes": Format(_think, hermes_calls, ("<tool_call>", "</tool_call>", "</think>", "{")),
    "qwen3_xml": Format(
        _think, qwen3_xml_calls, ("<tool_call>", "</function>", "<parameter=x>", "</think>", ">")
    ),
    "glm": Format(_think, glm_calls, ("<tool_call>", "</arg_value>", "<arg_key>", "</think>")),
    "kimi": Format(
        _think,
        kimi_calls,
        ("<|tool_call_begin|>", "<|tool_calls_section_end|>", "</think>", "functions.x:1"),
    ),
    "granite": Format(lambda r, c: r, granite_calls, ("<|tool_call|>", "]", "[", "<tool_call>")),
    "granite_reasoning": Format(
        _granite_think,
        granite_calls,
        ("Here", ":", "Here is my response:", "Here's my thought process:", "<|tool_call|>"),
    ),
    "mistral": Format(
        lambda r, c: "[THINK]" + r + ("[/THINK]" if c else ""),
        mistral_calls,
        ("[TOOL_CALLS]", "[ARGS]", "[/THINK]", "{", "}"),
    ),
    "llama3_json": Format(
        lambda r, c: r,
        llama_calls,
        ("<|python_tag|>", "; ", "{", "}", '"name": ', ";"),
        bare_calls=True,
    ),
    "deepseek_v3": Format(
        _think, deepseek_v3_calls, (_DS_CALL_END, _DS_SEP, "\n", '"}', "</think>", "`")
    ),
    "deepseek_v31": Format(_think, deepseek_v31_calls, (_DS_CALL_END, _DS_SEP, '"}', "</think>")),
    "pythonic": Format(lambda r, c: r, pythonic_calls, _PYTHON_NOISE, bare_calls=True),
    "llama4_pythonic": Format(
        lambda r, c: r, llama4_calls, (*_PYTHON_NOISE, "<|python_end|>"), bare_calls=True
    ),
}


@st.composite
def outputs(draw: st.DrawFn, fmt: Format) -> str:
    """One model output: maybe reasoning, text, calls, more text; maybe cut or corrupted."""
    parts = []
    if not (fmt.bare_calls and draw(st.booleans())):
        if draw(st.booleans()):
            parts.append(fmt.think(draw(prose), draw(st.booleans())))
        parts.append(draw(prose))
    calls = draw(st.lists(st.tuples(st.sampled_from(NAMES), arguments), max_size=3))
    if calls:
        parts.append(fmt.calls(calls))
    parts.append(draw(prose))
    text = "".join(parts)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(fmt.noise)) + text[at:]
    if draw(st.integers(0, 4)) == 0:  # cut short, as by max_tokens
        text = text[: draw(st.integers(0, len(text)))]
    return text


def split(draw: st.DrawFn, ids: list[int]) -> list[list[int]]:
    """The token IDs in chunks of random sizes (one token each, mostly, as vLLM streams)."""
    if not ids:
        return [[]]
    cuts = sorted(draw(st.sets(st.integers(1, max(len(ids) - 1, 1)), max_size=len(ids))))
    if draw(st.booleans()):
        cuts = list(range(1, len(ids)))
    bounds = [0, *[c for c in cuts if c < len(ids)], len(ids)]
    return [ids[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@st.composite
def forced_outputs(draw: st.DrawFn, named: bool) -> str:
    """What a JSON schema forces for tool_choice "required" (a JSON array of calls) or a
    named tool (its arguments object), with JSON spacing varied; maybe cut or corrupted."""
    separators = draw(st.sampled_from([(", ", ": "), (",", ":")]))
    if named:
        text = json.dumps(draw(arguments), ensure_ascii=False, separators=separators)
    else:
        calls = draw(st.lists(st.tuples(st.sampled_from(NAMES), arguments), min_size=1, max_size=3))
        text = json.dumps(
            [{"name": n, "parameters": a} for n, a in calls],
            ensure_ascii=False,
            separators=separators,
            indent=draw(st.sampled_from([None, None, 2])),
        )
    for _ in range(draw(st.integers(0, 1))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', "}", ",", " ", "x"])) + text[at:]
    if draw(st.integers(0, 4)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text
