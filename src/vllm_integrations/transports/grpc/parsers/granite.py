"""Granite 3.x tool calls (``granite``): a JSON array of ``{"name", "arguments"}`` after
``<|tool_call|>`` (a special token, 3.0) or ``<tool_call>`` (text, 3.1), vLLM 0.32's
``vllm/parser/granite.py`` on the ported engine. The array's ``]`` ends the calls; text around
it is content. Granite has no reasoning tags (its reasoning parser is text-based).
"""

from __future__ import annotations

from functools import cache

from vllm_integrations.transports.grpc.parsers.engine import EngineConfig, Go, State

_JSON_SPACE = " \t\r\n"


def _object_end(raw: str, start: int) -> int | None:
    depth, in_string, escape = 0, False, False
    for i in range(start, len(raw)):
        ch = raw[i]
        if escape:
            escape = False
        elif in_string:
            escape, in_string = ch == "\\", ch != '"'
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def member_object(raw: str, key: str) -> str | None:
    """The verbatim text of the top-level object member ``key`` of a ``{...}`` (maybe cut
    short); ``None`` before it starts; ValueError when it is not an object."""
    depth, in_string, escape, start, last = 0, False, False, -1, None
    for i, ch in enumerate(raw):
        if escape:
            escape = False
        elif in_string:
            if ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
                last = raw[start + 1 : i] if depth == 1 else last
        elif ch == '"':
            in_string, start = True, i
        elif ch == ":" and depth == 1 and last == key:
            value = i + 1
            while value < len(raw) and raw[value] in _JSON_SPACE:
                value += 1
            if value >= len(raw):
                return None
            if raw[value] != "{":
                raise ValueError(f"member {key!r} must be a JSON object")
            end = _object_end(raw, value)
            return raw[value:] if end is None else raw[value:end]
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return None


def granite_arguments(raw: str, partial: bool) -> str:
    span = member_object(raw, "arguments")
    return ("" if partial else "{}") if span is None else span


@cache
def granite_config() -> EngineConfig:
    return EngineConfig(
        terminals={"TOOL_TOKEN": "<|tool_call|>", "TOOL_STRING": "<tool_call>"},
        token_id_terminals={"TOOL_TOKEN": "<|tool_call|>"},
        transitions={
            (State.CONTENT, "TOOL_TOKEN"): Go(State.TOOL_ARGS),
            (State.CONTENT, "TOOL_STRING"): Go(State.TOOL_ARGS),
        },
        arg_converter=granite_arguments,
        tool_call_body_array=True,
    )
