"""Streamed pythonic tool calls (vLLM 0.32's ``extract_tool_calls_streaming`` of
``pythonic`` / ``llama4_pythonic``), linear in the common case.

vLLM closes the open brackets of the whole text, parses it and diffs each call's
``json.dumps`` arguments on every delta. That is done here too (exactly, with ``ast``), except
while the text grows inside a string argument of the last call, the longest part of a call:
then vLLM's result is that call's arguments up to the string's content so far (less trailing
whitespace, as vLLM strips the text), so the new content is rendered without parsing. Anything
else (a quote, a line break, a rare escape) goes back to vLLM's full re-parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta
from vllm_integrations.transports.grpc.parsers.partial_json import render_char
from vllm_integrations.transports.grpc.parsers.pythonic import (
    PYTHON_END,
    PYTHON_START,
    extract,
    make_valid_python,
    open_brackets,
    parse_calls,
    tool_delta,
)
from vllm_integrations.types import ToolCallDelta

_SIMPLE = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v",
}  # fmt: skip
_HEX_SIZES = {"x": 2, "u": 4, "U": 8}
_VLLM_ERRORS = (SyntaxError, ValueError, IndexError, RecursionError, TypeError)


class _Rejected(Exception):
    """Text the string growth does not follow: vLLM's full re-parse reads it."""


@dataclass(slots=True)
class _Unit:
    """One character of a string's content: its source and its ``json.dumps`` form."""

    raw: str
    rendered: str


def _decode(raw: str, pending: str) -> tuple[list[_Unit], str]:
    """The units of a string literal's source (after ``pending``, an open escape), and the
    escape still open at its end."""
    units: list[_Unit] = []
    for ch in raw:
        if ch in "\n\r\0":
            raise _Rejected(ch)
        if not pending:
            if ch == "\\":
                pending = ch
            else:
                units.append(_Unit(ch, render_char(ch)))
            continue
        pending += ch
        kind = pending[1]
        if len(pending) == 2 and kind in _SIMPLE:
            units.append(_Unit(pending, render_char(_SIMPLE[kind])))
        elif kind in _HEX_SIZES:
            size = _HEX_SIZES[kind]
            if ch not in "0123456789abcdefABCDEF" and len(pending) > 2:
                raise _Rejected(pending)
            if len(pending) < size + 2:
                continue
            code = int(pending[2:], 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise _Rejected(pending)
            units.append(_Unit(pending, render_char(chr(code))))
        elif kind in "01234567N":
            raise _Rejected(pending)  # octal and named escapes: rare, re-parsed
        else:  # an unknown escape keeps its backslash
            units.append(_Unit(pending, render_char("\\") + render_char(kind)))
        pending = ""
    return units, pending


class _StringGrowth:
    """The text ends inside a string argument of the last call; its arguments, as vLLM sends
    them, are ``prefix`` + the string's rendered content."""

    def __init__(self, quote: str, index: int, prefix: str, name: str) -> None:
        self.quote, self.index, self.prefix, self.name = quote, index, prefix, name
        self.solid = ""  # rendered content up to the last unit that is not plain whitespace
        self.last: _Unit | None = None  # that unit
        self.spaces: list[_Unit] = []  # plain whitespace after it
        self.pending = ""

    def add(self, units: list[_Unit], pending: str) -> None:
        pieces: list[str] = []
        for unit in units:
            if unit.raw.isspace() and len(unit.raw) == 1:
                self.spaces.append(unit)
                continue
            pieces.extend(u.rendered for u in self.spaces)
            pieces.append(unit.rendered)
            self.spaces, self.last = [], unit
        if pieces:
            solid, self.solid = self.solid, ""  # the only reference: CPython grows it in place
            solid += "".join(pieces)
            self.solid = solid
        self.pending = pending

    def arguments(self) -> str | None:
        """vLLM's arguments less the held-back end, or None where its parse fails: an escape
        still open, or the stripped text ending with "=", ":" or an escape's comma or space."""
        if self.pending:
            return None
        last = self.last
        if last is not None and (last.raw[-1] in "=:" or last.raw[-1].isspace()):
            return None
        if last is not None and last.raw[-1] == ",":
            if len(last.raw) > 1:
                return None
            return self.prefix + self.solid[:-1]
        return self.prefix + self.solid


class PythonicTools:
    engine_based = False

    def __init__(self, llama4: bool) -> None:
        self._llama4 = llama4
        self._text = ""
        self._index = 0  # vLLM's current_tool_index
        self._streamed: list[str] = []
        self._any_sent = False  # vLLM's placeholder prev_tool_call_arr
        self._growth: _StringGrowth | None = None

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        return extract(content, self._llama4)

    def finish_streaming(self) -> ParsedDelta | None:
        return None

    def remaining_arguments(self) -> str:
        """vLLM's ``get_remaining_unstreamed_args`` over its placeholder ``{"arguments": {}}``."""
        if not self._any_sent:
            return ""
        sent = self._streamed[0] if self._streamed else ""
        return "{}"[len(sent) :] if "{}".startswith(sent) else ""

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        whole, self._text = self._text, ""  # the only reference: CPython extends it in place
        whole += text
        self._text = whole
        starts = ("[", PYTHON_START) if self._llama4 else ("[",)
        if not whole.startswith(starts):
            return ParsedDelta(content=text) if text else None
        try:
            calls = self._grow(text) if self._growth is not None else None
        except _Rejected:
            calls = None
            self._growth = None
        if self._growth is None:
            calls = self._reparse()
        return ParsedDelta(tool_calls=calls) if calls else None

    def _grow(self, text: str) -> list[ToolCallDelta]:
        growth = self._growth
        assert growth is not None
        if growth.quote in text or (self._llama4 and self._text.endswith(PYTHON_END)):
            raise _Rejected("the string may close")
        units, pending = _decode(text, growth.pending)
        growth.add(units, pending)
        arguments = growth.arguments()
        if arguments is None:
            return []
        return self._send(growth.index, growth.name, arguments)

    def _reparse(self) -> list[ToolCallDelta]:
        text = self._text
        if self._llama4:
            text = text.removeprefix(PYTHON_START)
            if text.endswith(PYTHON_END):
                text = text[: text.rfind(PYTHON_END)]
        try:
            return self._step(text)
        except _VLLM_ERRORS:
            return []

    def _send(self, index: int, name: str, arguments: str) -> list[ToolCallDelta]:
        delta = tool_delta(self._streamed[index], name, arguments, index, "")
        if delta is None:
            return []
        self._streamed[index] += delta.arguments
        self._any_sent = True
        return [delta]

    def _step(self, text: str) -> list[ToolCallDelta]:
        """vLLM's ``extract_tool_calls_streaming`` past its start check."""
        closed = make_valid_python(text)
        if closed is None:
            return []
        valid, added = closed
        calls = parse_calls(valid)
        deltas: list[ToolCallDelta] = []
        for index, (name, arguments) in enumerate(calls):
            if index < self._index:
                continue
            self._index = index
            if len(self._streamed) == index:
                self._streamed.append("")
            complete = index < len(calls) - 1 or ")]" not in added
            if complete:
                self._index += 1
            withheld = added[:-2] if not complete else ""
            if not complete and added[-2] == ")":
                withheld += "}"  # the call is open: its arguments' brace too
            withheld = withheld.replace("'", '"')
            delta = tool_delta(self._streamed[index], name, arguments, index, withheld)
            if delta is not None:
                deltas.append(delta)
                self._streamed[index] += delta.arguments
            if not complete:
                self._growth = _growth_at(text, index, name, arguments, withheld)
        self._any_sent = self._any_sent or bool(deltas)
        return deltas


def _growth_at(
    text: str, index: int, name: str, arguments: str, withheld: str
) -> _StringGrowth | None:
    """The string growth state when ``text`` ends inside a string whose content ends the last
    call's arguments (else None: the next delta is re-parsed too)."""
    stack = open_brackets(text)
    if not stack or stack[-1][0] not in "'\"":
        return None
    quote, at = stack[-1]
    if text[at - 1 : at] in ("'", '"') or text[at - 1 : at].isalpha():
        return None  # triple quotes or a prefixed (raw, byte, f) string
    try:
        units, pending = _decode(text[at + 1 :], "")
    except _Rejected:
        return None
    growth = _StringGrowth(quote, index, "", name)
    growth.add(units, pending)
    content = growth.arguments()
    if content is None or not arguments.endswith(content + withheld):
        return None
    growth.prefix = arguments[: len(arguments) - len(content) - len(withheld)]
    return growth
