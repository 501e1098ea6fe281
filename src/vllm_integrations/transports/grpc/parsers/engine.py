"""The declarative parser engine: a model's output format as tags, states and transitions,
driven one delta at a time into reasoning, content and tool-call events.

A port of vLLM 0.32's ``vllm/parser/engine/{parser_engine_config,streaming_parser_engine}.py``
(Apache 2.0), for the families vLLM describes this way (Qwen3, GLM, Kimi K2, Granite): their
results must equal vLLM's for any tokenizer, tags found by token ID when they are single tokens.
Per delta the work is proportional to the delta (arguments are scanned once, char by char).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from vllm_integrations.transports.grpc.parsers.lexer import (
    CONTENT,
    DROP,
    IncrementalLexer,
    Item,
    Lexeme,
    LexerShape,
    Tag,
    Text,
    TokenIdScanner,
)


class State(Enum):
    CONTENT = auto()
    REASONING = auto()
    TOOL_PREAMBLE = auto()
    TOOL_NAME = auto()
    TOOL_ARGS = auto()
    TOOL_BETWEEN = auto()


class Ev(Enum):
    TEXT = auto()
    REASONING_START = auto()
    REASONING = auto()
    REASONING_END = auto()
    CALL_START = auto()
    NAME = auto()
    ARGS = auto()
    CALL_END = auto()


@dataclass(slots=True)
class Event:
    kind: Ev
    value: str = ""
    index: int = -1
    token_count: int = 0


@dataclass(frozen=True, slots=True)
class Go:
    """A transition: the next state and the events it emits."""

    state: State
    events: tuple[Ev, ...] = ()


TOOL_STATES = frozenset({State.TOOL_PREAMBLE, State.TOOL_NAME, State.TOOL_ARGS, State.TOOL_BETWEEN})
PLAIN_STATES = frozenset({State.CONTENT, State.REASONING})
_CONTENT_EVENTS = {
    State.CONTENT: Ev.TEXT,
    State.REASONING: Ev.REASONING,
    State.TOOL_NAME: Ev.NAME,
    State.TOOL_ARGS: Ev.ARGS,
}


@dataclass(frozen=True)
class EngineConfig:
    """One family's format (vLLM's ``ParserEngineConfig``, the options our families use)."""

    terminals: Mapping[str, str]
    token_id_terminals: Mapping[str, str]
    transitions: Mapping[tuple[State, str], Go]
    initial_state: State = State.CONTENT
    wait_for_reasoning: bool | None = None
    arg_converter: Callable[[str, bool], str] | None = None
    tool_args_json: bool = True
    tool_call_body_array: bool = False
    turn_boundary_tokens: frozenset[str] = frozenset()
    strip_trailing_reasoning_whitespace: bool = True
    drop_whitespace_only_content_before_tools: bool = True
    strip_content_whitespace_with_tools: bool = True
    validate_tool_names: bool = False
    literals: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        literals: dict[str, str] = {}
        for name, text in sorted(self.terminals.items(), key=lambda item: -len(item[1])):
            literals.setdefault(text, name)
        object.__setattr__(self, "literals", literals)

    @property
    def has_reasoning(self) -> bool:
        return (
            "THINK_END" in self.token_id_terminals
            or "THINK_START" in self.terminals
            or "THINK_END" in self.terminals
            or self.initial_state is State.REASONING
        )


class StreamingEngine:
    """Deltas of text and token IDs in, events out (vLLM's ``StreamingParserEngine``)."""

    def __init__(self, config: EngineConfig, facts: Any) -> None:
        self.config = config
        terminals = {
            token_id: name
            for name, text in config.token_id_terminals.items()
            if (token_id := facts.vocab_id(text)) is not None
        }
        literals = dict(config.literals)
        configured = set(config.token_id_terminals.values()) | set(config.literals)
        drops = {i: t for i, t in facts.special_tokens.items() if t not in configured}
        for token_id, text in drops.items():  # other special tokens vanish from the output
            terminals[token_id] = DROP
            literals.setdefault(text, DROP)
        self._has_drops = bool(drops)
        self._terminals = terminals
        self._id_terminal_names = frozenset(terminals.values())
        self._scanner = TokenIdScanner(terminals, facts.token_text)
        self._lexer = IncrementalLexer(LexerShape(literals))
        transitions = config.transitions.items()
        self._tool_terminals = frozenset(
            t for (s, t), go in transitions if go.state in TOOL_STATES or s in TOOL_STATES
        )
        self._tool_exits = frozenset(
            t for (s, t), go in transitions if s in TOOL_STATES and go.state not in TOOL_STATES
        )
        self._reasoning_markup = self._reasoning_markup_terminals()
        self.skip_tool_parsing = False
        self.skip_reasoning_parsing = False
        self.reset()

    def _reasoning_markup_terminals(self) -> frozenset[str]:
        """Tags that only open or close reasoning (what ``skip_reasoning_parsing`` ignores)."""
        transitions = self.config.transitions.items()
        markers = frozenset(
            t
            for (s, t), go in transitions
            if State.REASONING in (s, go.state) and go.state not in TOOL_STATES
        )
        reasoning_events = {Ev.REASONING_START, Ev.REASONING_END}
        for (s, t), go in transitions:
            if t in markers and (
                s not in PLAIN_STATES
                or go.state not in PLAIN_STATES
                or not reasoning_events.issuperset(go.events)
            ):
                return frozenset()
        return markers

    def reset(self, initial_state: State | None = None) -> None:
        self.state = initial_state or self.config.initial_state
        self.tool_index = -1
        self._had_token_ids = False
        self.reasoning_tokens = 0
        self._scanner.reset()
        self._lexer.reset()
        self._in_skipped_tool_span = False
        self._reset_args()
        self._array_started = self._array_in_element = False

    def _reset_args(self) -> None:
        self._args = ""
        self._depth = 0
        self._in_string = self._escape = False

    def feed(self, text: str, token_ids: Sequence[int]) -> list[Event]:
        if token_ids:
            self._had_token_ids = True
        events = self._items(self._scanner.scan(text, token_ids))
        self._count(events)
        return events

    def finish(self) -> list[Event]:
        events = self._items(self._scanner.flush())
        events.extend(self._lexemes(self._lexer.flush()))
        if self._args:
            events.append(Event(Ev.ARGS, self._args, self.tool_index))
            self._args = ""
        if self.state in TOOL_STATES:
            open_call = self._array_in_element if self.config.tool_call_body_array else True
            if open_call and self.tool_index >= 0:
                events.append(Event(Ev.CALL_END, index=self.tool_index))
        elif self.state is State.REASONING:
            events.append(Event(Ev.REASONING_END, index=self.tool_index))
        self.state = State.CONTENT
        self._count(events)
        return events

    def _count(self, events: list[Event]) -> None:
        self.reasoning_tokens += sum(e.token_count for e in events if e.kind is Ev.REASONING)

    def _items(self, items: Sequence[Item]) -> list[Event]:
        events: list[Event] = []
        for item in items:
            if isinstance(item, Tag):
                events.extend(self._lexemes(self._lexer.flush()))
                events.extend(self._on_terminal(item.terminal, item.text))
            elif isinstance(item, Text):
                if not item.text and item.token_count:
                    events.extend(self._emit("", item.token_count))
                else:
                    lexed = self._lexer.feed(item.text, item.token_texts, item.token_count)
                    events.extend(self._lexemes(lexed))
        return events

    def _lexemes(self, lexemes: list[Lexeme]) -> list[Event]:
        events: list[Event] = []
        # Once token IDs arrive, an ID-matched tag's text found in plain text is plain text.
        strict = self._id_terminal_names if self._had_token_ids else frozenset()
        for lexeme in lexemes:
            if lexeme.terminal == CONTENT or lexeme.terminal in strict:
                if lexeme.value:
                    events.extend(self._emit(lexeme.value, lexeme.token_count))
            else:
                events.extend(self._on_terminal(lexeme.terminal, lexeme.value, lexeme.token_count))
        return events

    def _on_terminal(self, terminal: str, value: str, count: int = 0) -> list[Event]:
        go = self.config.transitions.get((self.state, terminal))
        if go is None:
            if self._has_drops and terminal == DROP:
                return []
            if self.skip_tool_parsing and terminal in self._tool_exits:
                self._in_skipped_tool_span = False
            return self._emit(value, count)
        if self.skip_reasoning_parsing and terminal in self._reasoning_markup:
            return self._emit(value, count)
        if self.skip_tool_parsing and terminal in self._tool_terminals:
            skipped = self._skip_tool_terminal(terminal, go, value)
            if skipped is not None:
                return skipped
        return self._apply(go, value, count)

    def _skip_tool_terminal(self, terminal: str, go: Go, value: str) -> list[Event] | None:
        """A tool tag seen by the reasoning pass: kept as text (``skip_tool_parsing``)."""
        opener = go.state in TOOL_STATES
        exit_ = terminal in self._tool_exits
        if exit_ and not opener and not self._in_skipped_tool_span:
            return None  # a plain closer outside a forwarded span: its normal transition
        if opener:
            self._in_skipped_tool_span = True
        elif exit_:
            self._in_skipped_tool_span = False
        if Ev.REASONING_END in go.events:
            self.state = State.CONTENT
            return [Event(Ev.REASONING_END, value, self.tool_index), Event(Ev.TEXT, value)]
        kind = _CONTENT_EVENTS.get(self.state)
        return [Event(kind, value, self.tool_index)] if kind is not None else []

    def _emit(self, text: str, count: int = 0) -> list[Event]:
        if self.state is State.TOOL_ARGS:
            if self.config.tool_call_body_array:
                return self._array_text(text)
            if self.config.tool_args_json:
                return [e for ch in text for e in self._args_char(ch)]
            return [Event(Ev.ARGS, text, self.tool_index, count)]
        kind = _CONTENT_EVENTS.get(self.state)
        return [Event(kind, text, self.tool_index, count)] if kind is not None else []

    def _apply(self, go: Go, value: str, count: int) -> list[Event]:
        events: list[Event] = []
        if self.state is State.TOOL_ARGS and go.state is not State.TOOL_ARGS and self._args:
            events.append(Event(Ev.ARGS, self._args, self.tool_index))
            self._args = ""
        self.state = go.state
        for kind in go.events:
            if kind is Ev.CALL_START:
                self.tool_index += 1
            if kind is Ev.TEXT and not value:
                continue
            events.append(Event(kind, value, self.tool_index, count))
        if self.state is State.TOOL_ARGS:
            self._depth = 0
            self._in_string = self._escape = False
            if self.config.tool_call_body_array:
                self._array_started = self._array_in_element = False
        return events

    def _args_char(self, ch: str) -> list[Event]:
        """Stream JSON arguments, holding back a top-level closing brace that may end them."""
        self._args += ch
        if self._escape:
            self._escape = False
        elif self._in_string:
            if ch == "\\":
                self._escape = True
            elif ch == '"':
                self._in_string = False
        elif ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            self._depth = max(self._depth - 1, 0)
            if self._depth == 0:
                return []
        out, self._args = self._args, ""
        return [Event(Ev.ARGS, out, self.tool_index)]

    # -- a JSON array of calls after one marker (Granite) ---------------------------------

    def _array_text(self, text: str) -> list[Event]:
        events: list[Event] = []
        for i, ch in enumerate(text):
            if self.state is not State.TOOL_ARGS:  # the array closed: the rest is content
                events.extend(self._emit(text[i:]))
                break
            events.extend(self._array_char(ch))
        return events

    def _array_char(self, ch: str) -> list[Event]:
        if self._array_in_element:
            events = self._args_char(ch)
            if ch == "}" and not self._in_string and not self._escape and self._depth == 0:
                self._array_in_element = False
                if self._args:
                    events.append(Event(Ev.ARGS, self._args, self.tool_index))
                    self._args = ""
                events.append(Event(Ev.CALL_END, index=self.tool_index))
            return events
        if ch in " \t\r\n" or (self._array_started and ch == ","):
            return []
        if not self._array_started and ch == "[":
            self._array_started = True
            return []
        if self._array_started and ch == "{":
            self.tool_index += 1
            self._reset_args()
            self._array_in_element = True
            return [Event(Ev.CALL_START, index=self.tool_index), *self._args_char(ch)]
        closed = self._array_started and ch == "]"
        self.state = State.CONTENT  # "]" ends the array; anything else means it was none
        self._array_started = False
        return [] if closed else self._emit(ch)
