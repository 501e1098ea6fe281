"""Forced tool calls read as JSON: tool_choice "required" or a named tool, for the tool parsers
vLLM 0.32 constrains with a JSON schema rather than a structural tag (``pythonic``,
``granite``...). vLLM then reads the output without the tool parser: the named tool's
arguments are the whole text; "required" output is a JSON array of ``{"name", "parameters"}``
(``DelegatingParser._extract_tool_calls`` one-shot, ``extract_named_tool_call_streaming`` and
``extract_required_tool_call_streaming`` streamed). vLLM re-scans the whole array on every
delta; here the scan state is kept, so a delta costs its own length.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from vllm_integrations.transports.grpc.parsers.base import (
    ParsedDelta,
    RequestFacts,
    new_tool_call_id,
)
from vllm_integrations.types import ToolCallDelta


class _Definition(BaseModel):
    """vLLM's ``FunctionDefinition``, validated the same way (pydantic, extra keys allowed)."""

    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    defer_loading: bool | None = None


_CALLS = TypeAdapter(list[_Definition])


class _Part(Protocol):
    engine_based: bool


P = TypeVar("P", bound=_Part)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class ForcedJsonTools:
    """The tool part for a forced call read as JSON; what vLLM still asks of the tool parser
    it does not feed (its flush and unsent arguments) is nothing."""

    def __init__(self, engine_based: bool) -> None:
        self.engine_based = engine_based

    def finish_streaming(self) -> ParsedDelta | None:
        return None

    def remaining_arguments(self) -> str:
        return ""


class NamedJsonTools(ForcedJsonTools):
    """The named tool's arguments are the whole text."""

    def __init__(self, name: str, engine_based: bool) -> None:
        super().__init__(engine_based)
        self._name = name
        self._sent = False

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        if not content.strip():
            return [], None
        return [ToolCallDelta(0, new_tool_call_id(), self._name, content)], None

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        if self._sent:
            return ParsedDelta(tool_calls=[ToolCallDelta(0, arguments=text)])
        self._sent = True
        return ParsedDelta(tool_calls=[ToolCallDelta(0, new_tool_call_id(), self._name, text)])


class RequiredJsonTools(ForcedJsonTools):
    """A JSON array of ``{"name": ..., "parameters": ...}`` calls. After an engine-based tool
    parser (``granite``), vLLM streams each delta as if it were the whole text (its stream
    state keeps no text for them), so only a call whole within one delta is found."""

    def __init__(self, engine_based: bool) -> None:
        super().__init__(engine_based)
        self._text = ""
        self._scan = _CallScan()
        self._first_open = 0  # spans before it were sent whole

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        try:
            calls = _CALLS.validate_json(content)
        except ValidationError:
            calls = []
        return [
            ToolCallDelta(i, new_tool_call_id(), call.name, _dumps(call.parameters))
            for i, call in enumerate(calls)
        ], None

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        if self.engine_based:  # vLLM keeps no text between deltas for these parsers
            self._text, self._scan, self._first_open = "", _CallScan(), 0
        sent = len(self._text)
        whole, self._text = self._text, ""  # the only reference: CPython extends it in place
        whole += text
        self._text = whole
        self._scan.read(whole, sent)
        calls: list[ToolCallDelta] = []
        spans = self._scan.spans
        for index in range(self._first_open, len(spans)):
            span = spans[index]
            if span.name is None or span.args_start is None:
                break  # calls come in order: nothing later is ready
            end = span.args_end if span.args_end is not None else len(whole)
            if span.ready_at(sent):
                if end > sent:
                    calls.append(ToolCallDelta(index, arguments=whole[max(sent, 0) : end]))
            else:
                arguments = whole[span.args_start : end]
                calls.append(ToolCallDelta(index, new_tool_call_id(), span.name, arguments))
        while self._first_open < len(spans) and spans[self._first_open].sent_whole():
            self._first_open += 1
        return ParsedDelta(tool_calls=calls) if calls else None


class _Span:
    """Where one call of the array sits in the text (vLLM's ``_RequiredToolCallSpan``)."""

    __slots__ = ("args_end", "args_start", "closed", "name", "name_end")

    def __init__(self) -> None:
        self.closed = False  # its object closed: it no longer changes
        self.name: Any = None
        self.name_end: int | None = None
        self.args_start: int | None = None
        self.args_end: int | None = None

    def ready_at(self, length: int) -> bool:
        return (
            self.name is not None
            and self.name_end is not None
            and self.name_end <= length
            and self.args_start is not None
            and self.args_start < length
        )

    def sent_whole(self) -> bool:
        """Its arguments were all sent: it can be skipped from now on."""
        ready = self.name is not None and self.args_start is not None
        return self.closed and ready and self.args_end is not None


# What the scan expects next inside one call object.
_KEY, _COLON, _VALUE, _STRING, _CONTAINER, _SCALAR, _AFTER = range(7)


class _CallScan:
    """vLLM's ``_scan_required_tool_calls``, resumable: the same spans for every prefix."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self._depth = 0
        self._in_string = self._escaped = self._stopped = False
        self._string_start = self._value_start = 0
        self._current: _Span | None = None
        self._expect = _KEY
        self._key: str | None = None

    def read(self, text: str, start: int) -> None:
        for i in range(start, len(text)):
            if self._stopped:
                return
            self._char(text, i, text[i])

    def _char(self, text: str, i: int, ch: str) -> None:
        if self._in_string:
            self._string_char(text, i, ch)
        elif ch == '"':
            self._in_string, self._string_start = True, i
            if self._depth == 2 and self._current is not None and self._expect == _VALUE:
                self._start_value(i, _STRING)
        elif ch in "{[":
            self._open(i, ch)
        elif ch in "}]":
            self._close(i)
        elif self._depth == 2 and self._current is not None:
            self._member_char(i, ch)

    def _string_char(self, text: str, i: int, ch: str) -> None:
        if self._escaped:
            self._escaped = False
        elif ch == "\\":
            self._escaped = True
        elif ch == '"':
            self._in_string = False
            if self._depth == 2 and self._current is not None:
                if self._expect == _KEY:
                    self._key, self._expect = text[self._string_start + 1 : i], _COLON
                elif self._expect == _STRING:
                    self._end_value(text, i + 1)

    def _open(self, i: int, ch: str) -> None:
        if (self._depth == 0 and ch != "[") or (self._depth == 1 and ch != "{"):
            self._stopped = True
            return
        if self._depth == 1:
            self._current = _Span()
            self.spans.append(self._current)
            self._expect, self._key = _KEY, None
        elif self._depth == 2 and self._current is not None and self._expect == _VALUE:
            self._start_value(i, _CONTAINER)
        self._depth += 1

    def _close(self, i: int) -> None:
        if self._depth == 2 and self._current is not None and self._expect == _SCALAR:
            self._end_value(None, i)
        self._depth -= 1
        if self._depth == 2 and self._current is not None and self._expect == _CONTAINER:
            self._end_value(None, i + 1)
        elif self._depth == 1:
            if self._current is not None:
                self._current.closed = True
            self._current = None
        elif self._depth <= 0:
            self._stopped = True

    def _member_char(self, i: int, ch: str) -> None:
        if ch == ":":
            if self._expect == _COLON:
                self._expect = _VALUE
        elif ch == ",":
            if self._expect == _SCALAR:
                self._end_value(None, i)
            self._expect, self._key = _KEY, None
        elif ch.isspace():
            if self._expect == _SCALAR:
                self._end_value(None, i)
        elif self._expect == _VALUE:
            self._start_value(i, _SCALAR)

    def _start_value(self, i: int, state: int) -> None:
        assert self._current is not None
        self._value_start = i
        if self._key == "parameters":
            self._current.args_start = i
        self._expect = state

    def _end_value(self, text: str | None, end: int) -> None:
        span = self._current
        assert span is not None
        if self._key == "parameters":
            span.args_end = end
        elif self._key == "name" and self._expect == _STRING and text is not None:
            try:
                span.name, span.name_end = json.loads(text[self._value_start : end]), end
            except json.JSONDecodeError:
                span.name = None
        self._expect = _AFTER


def forced_json(part: P, request: RequestFacts) -> P | NamedJsonTools | RequiredJsonTools:
    """``part``, or the JSON reading vLLM uses instead of it for a forced call."""
    if request.named_tool is not None:
        return NamedJsonTools(request.named_tool, part.engine_based)
    if request.tool_choice == "required":
        return RequiredJsonTools(part.engine_based)
    return part
