"""DeepSeek tool calls (``deepseek_v3``, ``deepseek_v31``), vLLM 0.32's
``vllm/tool_parsers/deepseekv3{,1}_tool_parser.py`` (Apache 2.0), written with DeepSeek's
tool tokens (full-width bars, words joined by U+2581; written here by their role)::

    CALLS_BEGIN CALL_BEGIN function SEP get_weather      (V3, R1: three lines per call)
    ```json
    {"city": "Paris"}
    ``` CALL_END CALLS_END

    CALLS_BEGIN CALL_BEGIN get_weather SEP {"city": "Paris"} CALL_END CALLS_END    (V3.1)

The arguments are the model's text, not re-serialized. Streamed, vLLM counts the call tokens
by ID and reads the open call with line-bound patterns (a call's name and arguments end at a
line break), re-reading the whole call on every delta; here the positions in the open call are
kept, so a delta costs its own length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import regex

from vllm_integrations.transports.grpc.parsers.base import (
    ParsedDelta,
    TokenizerFacts,
    new_tool_call_id,
)
from vllm_integrations.types import ToolCallDelta


def _token(words: str) -> str:
    """DeepSeek's special tokens: full-width bars, words joined by U+2581."""
    return "<\uff5c" + words.replace(" ", "\u2581") + "\uff5c>"


CALLS_BEGIN, CALLS_END = _token("tool calls begin"), _token("tool calls end")
CALL_BEGIN, CALL_END, SEP = _token("tool call begin"), _token("tool call end"), _token("tool sep")
_FENCE = "\n```json\n"
_B, _E, _S = (regex.escape(t) for t in (CALL_BEGIN, CALL_END, SEP))
# vLLM's patterns (no DOTALL: every ".*" stays on one line).
_V3_CALL = regex.compile(_B + r"(.*)" + _S + r"(.*)\n```json\n(.*)\n```" + _E)
_V3_PORTION = regex.compile(r"(?P<type>.*)" + _S + r"(?P<name>.*)\n```json\n(?P<args>.*[^\n`])")
_V3_NAME = regex.compile(r"(?P<type>.*)" + _S + r"(?P<name>.*)\n")
_V31_CALL = regex.compile(_B + r"(.*?)" + _S + r"(.*?)" + _E)
_V31_PORTION = regex.compile(r"(?P<name>.*)" + _S + r"(?P<args>.*)")


@dataclass(frozen=True, slots=True)
class Span:
    """Text of the stream between two offsets (it only grows, so a span stays readable)."""

    start: int
    end: int


Args = str | Span


def extract(text: str, v31: bool) -> tuple[list[ToolCallDelta] | None, str | None]:
    """vLLM's ``extract_tool_calls``: found calls, and the text before the calls as content."""
    if CALLS_BEGIN not in text:
        return None, text
    calls: list[ToolCallDelta] = []
    for match in (_V31_CALL if v31 else _V3_CALL).findall(text):
        if v31:
            name, arguments = match
        else:
            kind, name, arguments = match
            if kind != "function":  # vLLM's ToolCall takes no other type
                return None, text
        calls.append(ToolCallDelta(len(calls), new_tool_call_id(), name, arguments))
    return calls, text[: text.find(CALLS_BEGIN)] or None


def read_portion(portion: str, v31: bool) -> tuple[str, str] | None:
    """(name, arguments) vLLM's patterns read in an open call's text, or None."""
    if v31:
        match = _V31_PORTION.match(portion)
        return None if match is None else (match["name"], match["args"])
    match = _V3_PORTION.match(portion)
    if match is not None:
        return match["name"], match["args"]
    match = _V3_NAME.match(portion)
    return None if match is None else (match["name"], "")


class OpenCall:
    """Offsets in the text after the last call-begin tag, found as the text grows: the end of
    its first line, the last separator on it and, for V3, its arguments line."""

    def __init__(self, v31: bool, start: int) -> None:
        self._v31 = v31
        self.start = start
        self._scanned = start
        self._line_end: int | None = None
        self._sep: int | None = None
        self._args_end: int | None = None  # V3: after the last char of line 3 not a backtick
        self._args_closed = False

    def read(self, text: str) -> None:
        begin = self._scanned
        if self._line_end is None:
            newline = text.find("\n", begin)
            stop = len(text) if newline < 0 else newline
            found = text.rfind(SEP, max(self.start, begin - len(SEP) + 1), stop)
            if found >= 0:
                self._sep = found
            if newline >= 0:
                self._line_end = newline
        if not self._v31 and self._line_end is not None and not self._args_closed:
            self._read_args(text, max(begin, self._line_end + len(_FENCE)))
        self._scanned = len(text)

    def _read_args(self, text: str, begin: int) -> None:
        newline = text.find("\n", begin)
        stop = len(text) if newline < 0 else newline
        for i in range(stop - 1, begin - 1, -1):
            if text[i] != "`":
                self._args_end = i + 1
                break
        self._args_closed = newline >= 0

    def view(self, text: str) -> tuple[str, Args] | None:
        """What ``read_portion`` gives for ``text[self.start:]``, arguments as a span."""
        if self._sep is None:
            return None
        after = self._sep + len(SEP)
        if self._v31:
            name = text[self.start : self._sep]
            return name, Span(after, len(text) if self._line_end is None else self._line_end)
        if self._line_end is None:
            return None
        name = text[after : self._line_end]
        fenced = text.startswith(_FENCE, self._line_end)
        args_start = self._line_end + len(_FENCE)
        if fenced and self._args_end is not None and self._args_end > args_start:
            return name, Span(args_start, self._args_end)
        return name, ""


class DeepSeekTools:
    engine_based = False

    def __init__(self, facts: TokenizerFacts, v31: bool) -> None:
        calls_begin, calls_end = facts.vocab_id(CALLS_BEGIN), facts.vocab_id(CALLS_END)
        if calls_begin is None or calls_end is None:
            raise ValueError(  # as vLLM refuses to start
                "DeepSeek-V3 Tool parser could not locate tool call start/end tokens in the "
                "tokenizer!"
            )
        self._v31 = v31
        self._calls_begin = calls_begin
        self._begin_id, self._end_id = facts.vocab_id(CALL_BEGIN), facts.vocab_id(CALL_END)
        self._text = ""
        self._in_calls = False  # the calls-begin token came
        self._begins = self._ends = 0  # call begin / end tokens so far
        self._call = OpenCall(v31, 0)
        self._current = -1
        self._name_sent = False
        self._streamed: list[Args] = []
        self._prev: list[dict[str, Args]] = []

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        return extract(content, self._v31)

    def finish_streaming(self) -> ParsedDelta | None:
        return None

    def _str(self, value: Args) -> str:
        return self._text[value.start : value.end] if isinstance(value, Span) else value

    def remaining_arguments(self) -> str:
        """vLLM's ``get_remaining_unstreamed_args``."""
        if not self._prev:
            return ""
        index = len(self._prev) - 1
        expected = self._str(self._prev[index].get("arguments", "{}"))
        sent = self._str(self._streamed[index]) if index < len(self._streamed) else ""
        return expected[len(sent) :] if expected.startswith(sent) else ""

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        scanned = len(self._text)
        whole, self._text = self._text, ""  # the only reference: CPython extends it in place
        whole += text
        self._text = whole
        prev_begins, prev_ends = self._begins, self._ends
        self._begins += sum(1 for i in token_ids if i == self._begin_id)
        self._ends += sum(1 for i in token_ids if i == self._end_id)
        self._in_calls = self._in_calls or self._calls_begin in token_ids
        self._follow_call(scanned)
        if not self._in_calls:
            return ParsedDelta(content=text) if text else None
        try:
            return self._step(text, len(token_ids), prev_begins, prev_ends)
        except (IndexError, AttributeError, TypeError, ValueError):
            return None

    def _follow_call(self, scanned: int) -> None:
        """Keep ``self._call`` on the text after the last call-begin tag."""
        found = self._text.rfind(CALL_BEGIN, max(0, scanned - len(CALL_BEGIN) + 1))
        if found >= 0:
            self._call = OpenCall(self._v31, found + len(CALL_BEGIN))
        self._call.read(self._text)

    def _step(self, delta: str, size: int, prev_begins: int, prev_ends: int) -> ParsedDelta | None:
        """vLLM's ``extract_tool_calls_streaming`` past its first check."""
        delta = delta.replace(CALLS_BEGIN, "").replace(CALLS_END, "")
        begins, ends = self._begins, self._ends
        if begins == ends and prev_ends == ends and CALL_END not in delta:
            return ParsedDelta(content=delta) if delta else None
        portion: str | None = None
        if CALL_END in delta:  # vLLM reads the text with this delta once more after it
            at = delta.rfind(CALL_BEGIN)
            tail = delta[at + len(CALL_BEGIN) :] if at >= 0 else self._open_text() + delta
            portion = tail.split(CALL_END)[0].rstrip()
            delta = delta.split(CALL_END)[0].rstrip()
        call: tuple[str, Args] | None = None
        if begins > ends and begins > prev_begins:
            portion = self._open_text() if size > 1 else None
            self._current += 1
            self._name_sent = False
            self._streamed.append("")
        elif begins > ends and begins == prev_begins:
            if len(self._text) > self._call.start:
                call = self._call.view(self._text)
                if call is None:
                    return None
            return self._send(call, False)
        elif begins == ends and ends >= prev_ends:
            closed = self._close(delta)
            if closed is not None:
                return closed
        else:
            text = delta.replace(CALL_BEGIN, "").replace(CALL_END, "")
            return ParsedDelta(content=text) if text else None
        if portion:
            call = read_portion(portion, self._v31)
            if call is None:
                return None
        return self._send(call, portion is None)

    def _open_text(self) -> str:
        """vLLM's ``current_text.split(CALL_BEGIN)[-1]``."""
        return self._text[self._call.start :]

    def _send(self, call: tuple[str, Args] | None, no_portion: bool) -> ParsedDelta | None:
        """The name once, then what is new of the arguments (vLLM compares the whole
        arguments text with the last one; spans of the same call compare by their ends)."""
        if not self._name_sent:
            if call is None or not call[0]:
                return None
            self._name_sent = True
            return ParsedDelta(
                tool_calls=[ToolCallDelta(self._current, new_tool_call_id(), call[0])]
            )
        if no_portion:
            return None
        if len(self._prev) <= self._current:
            self._prev.append({})
        previous = self._prev[self._current].get("arguments")
        current = call[1] if call is not None else None
        piece = None
        if current and not previous:
            piece = self._str(current)
            self._streamed[self._current] = current
        elif current and previous:
            piece = self._grown(previous, current)
            if piece is not None:
                self._streamed[self._current] = current
        entry: dict[str, Args] = {} if call is None else {"name": call[0], "arguments": call[1]}
        if self._current == len(self._prev) - 1:
            self._prev[self._current] = entry
        else:
            self._prev.append(entry)
        return (
            ParsedDelta(tool_calls=[ToolCallDelta(self._current, arguments=piece)])
            if piece
            else None
        )

    def _grown(self, previous: Args, current: Args) -> str | None:
        """What ``current`` adds to ``previous`` when it extends it, else None."""
        if (
            isinstance(previous, Span)
            and isinstance(current, Span)
            and previous.start == current.start
        ):
            grown = current.end > previous.end
            return self._text[previous.end : current.end] if grown else None
        old, new = self._str(previous), self._str(current)
        return new[len(old) :] if len(new) > len(old) and new.startswith(old) else None

    def _close(self, delta: str) -> ParsedDelta | None:
        """The open call closed: the end of its arguments, up to their last ``"}``."""
        if not self._prev:
            raise IndexError("no call to close")  # vLLM returns nothing here
        if not self._prev[self._current].get("arguments"):
            return None
        if '"}' not in delta:
            raise ValueError("no end of arguments")
        piece = delta[: delta.rindex('"}')] + '"}'
        self._streamed[self._current] = self._str(self._streamed[self._current]) + piece
        return ParsedDelta(tool_calls=[ToolCallDelta(self._current, arguments=piece)])
