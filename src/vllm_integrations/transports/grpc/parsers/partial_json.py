"""A streamed JSON call object (``{"name": ..., "parameters": {...}}``) read one character at
a time, seen as ``partial_json_parser`` completes it.

vLLM's ``llama3_json`` streaming re-parses the whole output with ``partial_json_parser`` on
every delta and diffs ``json.dumps`` of the arguments it finds: quadratic in the call's length.
For text that is a valid JSON prefix, that re-parse keeps every complete key-value pair, a
string cut short (but for an escape still open), a number cut short (but for a trailing ``.``,
``e`` or sign), a literal cut short as the whole literal, and closes the open containers; a key
not followed by the start of its value is left out. This reader keeps the same ``json.dumps``
text of the arguments as an append-only text plus a short tail (the open atom and the closing
brackets), reading each character once. What it cannot follow exactly (malformed JSON, a
duplicated key, a surrogate escape, a non-string name, very deep nesting or long numbers) it
reports as unsupported, and the caller re-parses the way vLLM does. No library reads partial
JSON incrementally into ``json.dumps`` form, hence this module.
"""

from __future__ import annotations

import json
import re

from vllm_integrations.transports.grpc.parsers.args_text import ArgsText

NAME_KEY = "name"
ARGS_KEYS = ("parameters", "arguments")
MAX_DEPTH = 64
MAX_ATOM = 64
_WS = " \t\n\r"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"t": "true", "f": "false", "n": "null", "N": "NaN", "I": "Infinity"}
_PLAIN_RUN = re.compile(r'[^"\\\x00-\x1f]+')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_NUMBER_PREFIX = re.compile(
    r"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]*)?|\.|[eE][-+]?[0-9]*)?)?"
)
_FALSY = frozenset({"{}", "[]", '""', "0", "0.0", "-0.0", "false", "null"})

# Roles of a value: what reading it is for.
_PLAIN, _NAME, _ROOT, _MEMBER, _KEY = range(5)


class Unsupported(Exception):
    """The text is not a JSON prefix this reader follows exactly."""


def render_char(ch: str) -> str:
    """``json.dumps(ch, ensure_ascii=False)`` without its quotes."""
    return json.dumps(ch, ensure_ascii=False)[1:-1] if ch in '"\\' or ch < " " else ch


class _Frame:
    __slots__ = ("count", "key", "keys", "kind", "mark", "rendered")

    def __init__(self, kind: str, rendered: bool, keys: set[str] | None) -> None:
        self.kind = kind  # "{" or "["
        self.rendered = rendered  # inside the arguments: part of their json.dumps text
        self.count = 0  # members rendered so far
        self.key: str | None = None  # the key of the member being read (objects)
        self.keys = keys  # keys seen, where a duplicate would change the result
        self.mark = 0  # rendered length before the current member (to leave it out)


class CallReader:
    """One call object, fed character by character (``feed``), read as ``partial_json_parser``
    would complete it at any moment (``name``, ``arguments``)."""

    def __init__(self) -> None:
        self.rendered = ""  # json.dumps text of the arguments so far (append-only)
        self.done = False  # the object closed
        self.name: str | None = None  # the complete "name" string
        self._stack: list[_Frame] = []
        self._mode = "start"
        self._role = _PLAIN
        self._buffer: list[str] = []  # a name or key being read, or an atom (number, literal)
        self._escape = ""  # an escape sequence still open
        self._held = ""  # whitespace ending the string read so far
        self._header = ""  # a member's ", " and key, rendered when its value is kept
        self._literal = ""
        self._root = "absent"  # the arguments: "absent", "open" or "done"
        self._root_kind = ""
        self._out: list[str] = []  # rendered text of the current feed, appended at its end
        self._pending = 0

    # -- reading -----------------------------------------------------------------------------

    def feed(self, text: str) -> int:
        """Read ``text``; return how many characters belong to the object (all of them
        until it closes). Raises Unsupported."""
        i, size = 0, len(text)
        try:
            while i < size and not self.done:
                if self._mode == "string" and not self._escape:
                    run = _PLAIN_RUN.match(text, i)
                    if run is not None:
                        self._string_text(run.group())
                        i = run.end()
                        continue
                self._char(text[i])
                i += 1
        finally:
            if self._out:
                rendered, self.rendered = self.rendered, ""  # sole reference: grows in place
                rendered += "".join(self._out)
                self.rendered = rendered
                self._out, self._pending = [], 0
        return i

    def _emit(self, text: str) -> None:
        self._out.append(text)
        self._pending += len(text)

    def _char(self, ch: str) -> None:
        mode = self._mode
        if mode == "string":
            self._string_char(ch)
        elif mode == "number":
            self._number_char(ch)
        elif mode == "literal":
            self._literal_char(ch)
        elif ch in _WS and mode != "start":
            return
        elif mode in ("value", "first_element"):
            if mode == "first_element" and ch == "]":
                self._close(ch)
            else:
                self._value(ch)
        elif mode in ("key", "first_key"):
            if ch == '"':
                self._begin_string(_KEY)
            elif mode == "first_key" and ch == "}":
                self._close(ch)
            else:
                raise Unsupported(ch)
        elif mode == "colon":
            if ch != ":":
                raise Unsupported(ch)
            self._mode = "value"
        elif mode == "after":
            self._after(ch)
        elif mode == "start":
            if ch != "{":
                raise Unsupported(ch)
            self._stack.append(_Frame("{", False, set()))
            self._mode = "first_key"
        else:
            raise Unsupported(ch)

    def _context(self) -> int:
        frame = self._stack[-1]
        if frame.rendered:
            return _MEMBER
        if len(self._stack) == 1 and frame.key == NAME_KEY:
            return _NAME
        if len(self._stack) == 1 and frame.key in ARGS_KEYS:
            return _ROOT
        return _PLAIN

    def _member_header(self) -> str:
        frame = self._stack[-1]
        comma = ", " if frame.count else ""
        if frame.kind == "[":
            return comma
        return comma + json.dumps(frame.key, ensure_ascii=False) + ": "

    def _value(self, ch: str) -> None:
        role = self._context()
        if role == _NAME and ch != '"':
            raise Unsupported("a name that is not a string")
        self._role = role
        if role == _ROOT:
            self._root, self._root_kind = "open", ch
        if role == _MEMBER:
            self._stack[-1].mark = len(self.rendered) + self._pending
            self._header = self._member_header()
        if ch in "{[":
            self._open(ch, role)
        elif ch == '"':
            self._begin_string(role)
        elif ch in "-0123456789":
            self._mode, self._buffer = "number", [ch]
        elif ch in _LITERALS:
            self._mode, self._literal, self._buffer = "literal", _LITERALS[ch], [ch]
        else:
            raise Unsupported(ch)

    def _open(self, ch: str, role: int) -> None:
        if len(self._stack) >= MAX_DEPTH:
            raise Unsupported("too deep")
        rendered = role in (_ROOT, _MEMBER)
        if rendered:
            self._commit(self._header + ch)
        self._stack.append(_Frame(ch, rendered, set() if rendered else None))
        self._mode = "first_key" if ch == "{" else "first_element"

    def _commit(self, text: str) -> None:
        """A value kept from here on: its member header and its first text are rendered."""
        self._emit(text)
        if self._role == _MEMBER:
            self._stack[-1].count += 1
        self._header = ""

    def _after(self, ch: str) -> None:
        frame = self._stack[-1]
        if ch == ",":
            self._mode = "key" if frame.kind == "{" else "value"
        elif ch in "}]":
            self._close(ch)
        else:
            raise Unsupported(ch)

    def _close(self, ch: str) -> None:
        frame = self._stack.pop()
        if (frame.kind == "{") != (ch == "}"):
            raise Unsupported(ch)
        if frame.rendered:
            self._emit(ch)
        if frame.rendered and not any(f.rendered for f in self._stack):
            self._root = "done"
        self._mode = "after"
        if not self._stack:
            self.done = True

    # -- strings, numbers, literals ----------------------------------------------------------

    def _begin_string(self, role: int) -> None:
        self._role, self._mode, self._buffer = role, "string", []
        if role in (_ROOT, _MEMBER):
            self._commit(self._header + '"')

    def _string_text(self, text: str) -> None:
        """Raw string text: whitespace it ends with waits (the re-parse strips it while it
        ends the text)."""
        if self._role in (_ROOT, _MEMBER):
            body = text.rstrip()
            if body:
                self._emit(self._held + body)
                self._held = text[len(body) :]
            else:
                self._held += text
        elif self._role in (_NAME, _KEY):
            self._buffer.append(text)

    def _string_char(self, ch: str) -> None:
        if self._escape:
            self._escaped(ch)
        elif ch == "\\":
            self._escape = ch
            if self._held:  # no longer at the end of the text
                self._emit(self._held)
                self._held = ""
        elif ch == '"':
            self._end_string()
        else:
            raise Unsupported("a control character in a string")

    def _escaped(self, ch: str) -> None:
        self._escape += ch
        escape = self._escape
        if len(escape) == 2 and ch in _ESCAPES:
            decoded = _ESCAPES[ch]
        elif escape[1] == "u" and ch in "0123456789abcdefABCDEF" and len(escape) > 2:
            if len(escape) < 6:
                return
            decoded = chr(int(escape[2:], 16))
            if "\ud800" <= decoded <= "\udfff":
                raise Unsupported("a surrogate escape")
        elif escape == "\\u":
            return
        else:
            raise Unsupported("a bad escape")
        self._escape = ""
        if self._role in (_ROOT, _MEMBER):
            self._emit(render_char(decoded))
        elif self._role in (_NAME, _KEY):
            self._buffer.append(decoded)

    def _end_string(self) -> None:
        role, text = self._role, "".join(self._buffer)
        self._buffer = []
        if role == _KEY:
            self._key(text)
            return
        if role == _NAME:
            self.name = text
        elif role in (_ROOT, _MEMBER):
            self._emit(self._held + '"')
            self._held = ""
        self._end_value()

    def _key(self, key: str) -> None:
        frame = self._stack[-1]
        if frame.keys is not None:
            watched = frame.rendered or key in (NAME_KEY, *ARGS_KEYS)
            if watched and key in frame.keys:
                raise Unsupported("a duplicate key")
            if not frame.rendered and key in ARGS_KEYS and frame.keys.intersection(ARGS_KEYS):
                raise Unsupported("both parameters and arguments")
            frame.keys.add(key)
        frame.key = key
        self._mode = "colon"

    def _end_value(self) -> None:
        if self._role == _ROOT:
            self._root = "done"
        self._role = _PLAIN
        self._mode = "after"

    def _number_char(self, ch: str) -> None:
        if ch in "0123456789+-.eE":
            self._buffer.append(ch)
            text = "".join(self._buffer)
            if len(text) > MAX_ATOM or _NUMBER_PREFIX.fullmatch(text) is None:
                raise Unsupported("a malformed number")
            return
        text = "".join(self._buffer)
        if text == "-" and ch == "I":
            self._mode, self._literal, self._buffer = "literal", "-Infinity", ["-", ch]
            return
        if _NUMBER.fullmatch(text) is None:
            raise Unsupported("a malformed number")
        self._end_atom(_render_number(text))
        self._char(ch)

    def _literal_char(self, ch: str) -> None:
        self._buffer.append(ch)
        text = "".join(self._buffer)
        if not self._literal.startswith(text):
            raise Unsupported("a malformed literal")
        if text == self._literal:
            self._end_atom(self._literal)

    def _end_atom(self, rendered: str) -> None:
        if self._role in (_ROOT, _MEMBER):
            self._commit(self._header + rendered)
        self._buffer = []
        self._end_value()

    # -- what a re-parse of the text so far gives --------------------------------------------

    def arguments(self, strings: bool) -> ArgsText | None:
        """``json.dumps`` of the arguments a re-parse finds now; ``strings``: whether it keeps
        a string cut short (vLLM's flags before a call's name was sent leave it out)."""
        if self._root == "absent":
            return None
        if self._root == "done":
            return self._text(len(self.rendered), "")
        if self._root_kind not in "{[":
            return self._open_atom(strings)
        cut, tail = len(self.rendered), ""
        if self._mode == "string" and self._role == _MEMBER:
            if strings:
                tail = '"'
            else:
                cut = self._stack[-1].mark
        elif self._mode in ("number", "literal") and self._role == _MEMBER:
            atom = self._atom()
            tail = self._header + atom if atom else ""
        closers = (("}" if f.kind == "{" else "]") for f in reversed(self._stack) if f.rendered)
        return self._text(cut, tail + "".join(closers))

    def _open_atom(self, strings: bool) -> ArgsText | None:
        if self._mode == "string":
            return self._text(len(self.rendered), '"') if strings else None
        atom = self._atom()
        return ArgsText(None, 0, atom, atom not in _FALSY) if atom else None

    def _atom(self) -> str:
        """The open number or literal as the re-parse completes it ("" when left out)."""
        if self._mode == "literal":
            return self._literal
        text = "".join(self._buffer).rstrip(".-+eE")
        return _render_number(text) if text else ""

    def _text(self, cut: int, tail: str) -> ArgsText:
        size = cut + len(tail)
        truthy = size > 5 or (self.rendered[:cut] + tail) not in _FALSY
        return ArgsText(self, cut, tail, truthy)

    def root_string(self) -> bool:
        """The arguments are a JSON string (vLLM reads those as the arguments text)."""
        return self._root_kind == '"'


def _render_number(text: str) -> str:
    return json.dumps(json.loads(text))
