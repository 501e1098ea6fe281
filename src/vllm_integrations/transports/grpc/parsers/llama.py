"""Llama 3.x / 4 JSON tool calls (``llama3_json``, ``llama4_json``), vLLM 0.32's
``vllm/tool_parsers/llama_tool_parser.py``: ``{"name": ..., "parameters": {...}}`` (or
``"arguments"``), parallel calls joined by ``"; "``, maybe after ``<|python_tag|>``.

One-shot, every ``{`` outside a call already read must start a JSON object with a ``name``
and arguments, else there are no calls and the whole text is content; with calls, the text
around them is dropped. Streamed, vLLM reads calls only when the text starts with the tag or
``{`` (else it is all content), re-parses the whole text with ``partial_json_parser`` on every
delta and sends ``json.dumps`` of each call's arguments as far as two successive re-parses
agree. Here a reader per call (``partial_json``) keeps those re-parses' results in one pass
over the text, so a delta costs its own length; text that reader cannot follow (malformed
calls) is re-parsed with ``partial_json_parser`` as vLLM does, which is exact but quadratic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

import partial_json_parser
from partial_json_parser.core.options import Allow

from vllm_integrations.transports.grpc.parsers.args_text import ArgsText, common_prefix_length
from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, new_tool_call_id
from vllm_integrations.transports.grpc.parsers.partial_json import CallReader, Unsupported
from vllm_integrations.types import ToolCallDelta

BOT = "<|python_tag|>"
_DECODER = json.JSONDecoder()
_WS = " \t\n\r"
_SEPARATOR_BREAKERS = '"[]{}'  # separator characters that change partial_json_parser's scan
_NO_STRINGS = Allow.ALL & ~Allow.STR
_VLLM_ERRORS = (
    AssertionError,
    AttributeError,
    IndexError,
    KeyError,
    RecursionError,
    TypeError,
    ValueError,
)
"""What vLLM's streaming step catches (``except Exception``) and answers with nothing."""


def extract(text: str) -> tuple[list[ToolCallDelta] | None, str | None]:
    """vLLM's ``extract_tool_calls``."""
    if BOT not in text and "{" not in text:
        return None, text
    calls: list[ToolCallDelta] = []
    end = -1
    start = text.find("{")
    while start >= 0:
        if start > end:
            try:
                call, end = _DECODER.raw_decode(text, start)
                name = call["name"]
                arguments = call["arguments"] if "arguments" in call else call["parameters"]
                if not isinstance(name, str):
                    return None, text
                dumped = json.dumps(arguments, ensure_ascii=False)
            except (KeyError, ValueError, RecursionError):
                return None, text
            calls.append(ToolCallDelta(len(calls), new_tool_call_id(), name, dumped))
        start = text.find("{", start + 1)
    return (calls, None) if calls else (None, text)


class CallView(Protocol):
    """One entry of vLLM's parsed call array, as its streaming step reads it."""

    @property
    def complete(self) -> bool: ...
    def name(self) -> Any: ...
    def arguments(self) -> ArgsText | None:
        """``json.dumps`` of ``obj.get("arguments")``; None when that is None."""
        ...

    def expected_arguments(self) -> str:
        """What ``get_remaining_unstreamed_args`` expects the arguments to end as."""
        ...


class _Parsed:
    """A call object from ``partial_json_parser`` (the exact, quadratic way)."""

    def __init__(self, value: Any, complete: bool) -> None:
        self.value = value
        self.complete = complete

    def name(self) -> Any:
        return self.value.get("name")

    def arguments(self) -> ArgsText | None:
        value = self.value.get("arguments")
        if value is None:
            return None
        return ArgsText(None, 0, json.dumps(value, ensure_ascii=False), bool(value))

    def expected_arguments(self) -> str:
        value = self.value.get("arguments", {})
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class _Read:
    """A call object from its reader, at the moment it is made."""

    def __init__(self, reader: CallReader, strings: bool) -> None:
        self.complete = reader.done
        self._name = reader.name
        self._arguments = reader.arguments(strings)
        self._string = reader.root_string()

    def name(self) -> Any:
        return self._name

    def arguments(self) -> ArgsText | None:
        return self._arguments

    def expected_arguments(self) -> str:
        if self._arguments is None:
            return "{}"
        text = self._arguments.text()
        return str(json.loads(text)) if self._string else text


class _Calls(Sequence[CallView]):
    """The readers' call array at one moment: closed calls read as they closed, the last
    one as it was then (O(1) to take, whatever the number of calls)."""

    def __init__(self, readers: list[CallReader], strings: bool) -> None:
        self._readers = readers
        self._size = len(readers)
        self._strings = strings
        self._last = _Read(readers[-1], strings) if readers else None

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, int):
            raise TypeError("an index")
        index = index + self._size if index < 0 else index
        if not 0 <= index < self._size:
            raise IndexError(index)
        return self._last if index == self._size - 1 else _Read(self._readers[index], True)


class _Regions:
    """Splits the text into call objects where vLLM's loop does (each object, then two
    characters skipped), reading each with a :class:`CallReader`; raises Unsupported where
    partial_json_parser could read the text differently."""

    def __init__(self, start: int) -> None:
        self.readers: list[CallReader] = []
        self._pos = start
        self._next = start  # where the next call object starts
        self._extra = False  # text other than whitespace came after the last object

    def read(self, text: str) -> None:
        while self._pos < len(text):
            if self.readers and not self.readers[-1].done:
                self._pos += self.readers[-1].feed(text[self._pos :])
                if self.readers[-1].done:
                    self._next, self._extra = self._pos + 2, False
                continue
            ch = text[self._pos]
            if self.readers and self._pos < self._next:  # the two skipped characters
                if ch in _SEPARATOR_BREAKERS:
                    raise Unsupported("a bracket or quote between calls")
                self._extra = self._extra or ch not in _WS
            elif ch in _WS and not self._extra and self.readers:
                pass  # whitespace after the last object: still that object
            elif self._pos > self._next or ch != "{":
                raise Unsupported("a call object not starting with {")
            else:
                self.readers.append(CallReader())
                continue
            self._pos += 1


def _partial_loads(text: str, flags: Allow) -> tuple[Any, int]:
    """vLLM's ``partial_json_loads``."""
    try:
        return partial_json_parser.loads(text, flags), len(text)
    except json.JSONDecodeError as error:
        if "Extra data" in error.msg:
            return _DECODER.raw_decode(text)
        raise


def reparse(text: str, start: int, strings: bool) -> list[_Parsed]:
    """vLLM's loop over the call objects of ``text`` (raises what it raises)."""
    flags = Allow.ALL if strings else _NO_STRINGS
    calls = []
    while start < len(text):
        value, end = _partial_loads(text[start:], flags)
        try:
            json.loads(text[start : start + end])
            complete = True
        except json.JSONDecodeError:
            complete = False
        start += end + 2
        if "parameters" in value:
            if "arguments" in value:
                raise AssertionError("model generated both parameters and arguments")
            value["arguments"] = value["parameters"]
        calls.append(_Parsed(value, complete))
    return calls


class Llama3JsonTools:
    engine_based = False

    def __init__(self) -> None:
        self._text = ""  # the text of the tool phase, once it starts with a call
        self._start: int | None = None  # where the first call object starts
        self._regions: _Regions | None = None  # None once re-parsing the way vLLM does
        self._current = -1  # vLLM's current_tool_id
        self._name_sent = False
        self._streamed: list[str] = []
        self._prev: Sequence[CallView] = []  # vLLM's prev_tool_call_arr
        self._prev_at = (0, False)  # (text length, strings) of the last re-parse kept

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        return extract(content)

    def finish_streaming(self) -> ParsedDelta | None:
        return None

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        if self._start is None:
            seen = self._text + text
            if not seen.startswith((BOT, "{")):
                self._text = seen[: len(BOT)]  # enough to tell whether the tag comes
                return ParsedDelta(content=text) if text else None
            self._start = len(BOT) if seen.startswith(BOT) else 0
            self._regions = _Regions(self._start)
            self._text, text = "", seen
        whole, self._text = self._text, ""  # the only reference: CPython extends it in place
        whole += text
        self._text = whole
        strings = self._name_sent  # vLLM's flags: strings cut short only once the name is out
        try:
            calls = self._step(self._calls(strings), strings)
        except _VLLM_ERRORS:
            return None
        return ParsedDelta(tool_calls=calls) if calls is not None else None

    def _calls(self, strings: bool) -> Sequence[CallView]:
        """vLLM's parsed call array for the text so far."""
        if self._regions is not None:
            try:
                self._regions.read(self._text)
                return _Calls(self._regions.readers, strings)
            except Unsupported:
                self._regions = None
                length, prev_strings = self._prev_at
                assert self._start is not None
                self._prev = reparse(self._text[:length], self._start, prev_strings)
        assert self._start is not None
        return reparse(self._text, self._start, strings)

    def _step(self, calls: Sequence[CallView], strings: bool) -> list[ToolCallDelta] | None:
        """vLLM's ``extract_tool_calls_streaming`` after the re-parse, on ``calls``."""
        current = calls[self._current] if calls else None
        if not calls:
            return None
        if len(calls) > self._current + 1:
            return self._next_call(current, len(calls))
        deltas = self._send_arguments(current) if strings else self._send_name(current)
        self._prev = calls
        self._prev_at = (len(self._text), strings)
        return deltas

    def _next_call(self, previous: CallView | None, count: int) -> list[ToolCallDelta] | None:
        """A new call started: first the rest of the previous one's arguments (vLLM keeps
        its parsed array as it was)."""
        deltas = None
        if self._current >= 0 and previous is not None:
            arguments = previous.arguments()
            if arguments is not None and arguments.truthy:
                rest = arguments.slice(len(self._streamed[self._current]), len(arguments))
                deltas = [ToolCallDelta(self._current, arguments=rest)]
                self._streamed[self._current] += rest
        self._current, self._name_sent = count - 1, False
        self._streamed.append("")
        return deltas

    def _send_name(self, current: CallView | None) -> list[ToolCallDelta] | None:
        name = current.name() if current is not None else None
        if not name:
            return None
        if not isinstance(name, str):
            raise TypeError("a tool name must be a string")  # vLLM's DeltaFunctionCall
        self._name_sent = True
        return [ToolCallDelta(self._current, new_tool_call_id(), name)]

    def _send_arguments(self, current: CallView | None) -> list[ToolCallDelta] | None:
        arguments = current.arguments() if current is not None else None
        if arguments is None or not arguments.truthy or current is None:
            return None
        sent = len(self._streamed[self._current])
        previous = self._prev[self._current].arguments()
        if current.complete:
            piece = arguments.slice(sent, len(arguments))
        elif previous is not None and previous.truthy:
            same = common_prefix_length(previous, arguments)
            if same == len(previous) == len(arguments):
                return None
            piece = arguments.slice(sent, same)
        else:
            return None
        self._streamed[self._current] += piece
        return [ToolCallDelta(self._current, arguments=piece)]

    def remaining_arguments(self) -> str:
        """vLLM's ``get_remaining_unstreamed_args``."""
        if not self._prev:
            return ""
        index = len(self._prev) - 1
        try:
            expected = self._prev[index].expected_arguments()
        except AttributeError:  # not a call object: vLLM's stream fails here
            return ""
        sent = self._streamed[index] if index < len(self._streamed) else ""
        return expected[len(sent) :] if expected.startswith(sent) else ""
