"""Engine events to reasoning, content and tool-call deltas, streamed and one-shot.

A port of vLLM 0.32's ``ParserEngine`` (``vllm/parser/engine/parser_engine.py``, Apache 2.0)
and its reasoning/tool adapters, which is what vLLM's serving layer drives for these families.
One deliberate difference keeps streams linear: vLLM re-converts a call's whole argument text on
every delta (to stream converted arguments); here a converted call's arguments are sent when the
call closes. The assembled call is the same, only the arguments arrive in one piece.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, new_tool_call_id
from vllm_integrations.transports.grpc.parsers.engine import (
    EngineConfig,
    Ev,
    Event,
    State,
    StreamingEngine,
)
from vllm_integrations.transports.grpc.parsers.schema import has_tool, typed_arguments
from vllm_integrations.types import ToolCallDelta

_NAME = re.compile(r'"name"\s*:\s*"([^"]*)"')


class Slot:
    __slots__ = ("args", "id", "name", "name_sent", "streamed")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.args: list[str] = []
        self.name_sent = False
        self.streamed = ""


class EngineParser:
    """One stream's state over a :class:`StreamingEngine` (vLLM's ``ParserEngine``)."""

    def __init__(self, config: EngineConfig, facts: Any, tools: Sequence[Mapping[str, Any]]):
        self.config = config
        self.facts = facts
        self.tools = tools
        self.engine = StreamingEngine(config, facts)
        self._has_reasoning = config.has_reasoning
        self._start_id = facts.vocab_id(config.token_id_terminals.get("THINK_START", "\0"))
        self._end_id = facts.vocab_id(config.token_id_terminals.get("THINK_END", "\0"))
        self._boundary_ids = frozenset(
            i for t in config.turn_boundary_tokens if (i := facts.vocab_id(t)) is not None
        )
        self.end_ids = self._reasoning_end_ids()
        self.suppress_tool_calls = False
        self._streaming = False
        self.reset()

    def reset(self, initial_state: State | None = None) -> None:
        self.engine.reset(initial_state)
        self.reasoning_ended = not self._has_reasoning
        self.slots: list[Slot] = []
        self._deferred = ""
        self._deferred_reasoning = ""
        self._content_nonblank = False

    def start_streaming(self, initial_state: State | None = None) -> None:
        if not self._streaming:
            self._streaming = True
            self.reset(initial_state)

    # -- streaming ---------------------------------------------------------------------------

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        return self._strip_reasoning(self.to_delta(self.engine.feed(text, token_ids)))

    def finish_streaming(self) -> ParsedDelta | None:
        events = self.engine.finish()
        if events or self._deferred:
            return self.to_delta(events, finished=True)
        return None

    def _strip_reasoning(self, delta: ParsedDelta | None) -> ParsedDelta | None:
        """Trailing reasoning whitespace waits until more reasoning shows it is inside."""
        if not self.config.strip_trailing_reasoning_whitespace:
            return delta
        if delta is not None and delta.reasoning:
            combined = self._deferred_reasoning + delta.reasoning
            delta.reasoning = combined.rstrip()
            self._deferred_reasoning = combined[len(delta.reasoning) :]
            if not delta:
                return None
        elif self._deferred_reasoning and self.reasoning_ended:
            self._deferred_reasoning = ""
        return delta

    def to_delta(self, events: list[Event], *, finished: bool = False) -> ParsedDelta | None:
        if not events and not self._deferred:
            return None
        calls: list[ToolCallDelta] = []
        content: list[str] = []
        reasoning: list[str] = []
        carried = self._deferred
        seen_tool = False
        for event in events:
            kind = event.kind
            if kind is Ev.TEXT:
                if seen_tool:
                    self._deferred += event.value
                else:
                    content.append(event.value)
            elif kind is Ev.REASONING:
                reasoning.append(event.value)
            elif kind is Ev.REASONING_END:
                self.reasoning_ended = True
            elif not self.suppress_tool_calls:  # a tool event (start, name, args, end)
                seen_tool = True
                self._on_tool_event(event, calls)
        calls = _coalesce(calls)
        if self._deferred and (not seen_tool or not calls):
            now = self._deferred[len(carried) :]
            content = [carried, *content, now]
            self._deferred = ""
        text = "".join(content)
        if not self._content_nonblank and text:
            if text.strip():
                self._content_nonblank = True
            elif self.slots:
                if self.config.drop_whitespace_only_content_before_tools:
                    text = ""
            elif not finished:
                self._deferred, text = text, ""
        delta = ParsedDelta("".join(reasoning), text, calls)
        return delta if delta else None

    def _on_tool_event(self, event: Event, calls: list[ToolCallDelta]) -> None:
        while len(self.slots) <= event.index:
            self.slots.append(Slot())
        if event.kind is Ev.NAME:
            self.slots[event.index].name += event.value
        elif event.kind is Ev.ARGS:
            self._on_args(event, calls)
        elif event.kind is Ev.CALL_END:
            self._on_call_end(event.index, calls)

    def accept_name(self, name: str) -> bool:
        if not name:
            return False
        return not (self.config.validate_tool_names and self.tools) or has_tool(self.tools, name)

    def clean_name(self, index: int, name: str) -> tuple[str, str | None]:
        """Hook: the name a slot's raw name text gives, and the call id it implies."""
        return name, None

    def before_call_end(self, index: int) -> None:
        """Hook: a family may settle the slot's name when its call closes."""

    def _send_name(self, index: int, name: str | None, calls: list[ToolCallDelta]) -> bool:
        if name is None:
            return False
        name, call_id = self.clean_name(index, name)
        slot = self.slots[index]
        if call_id is not None:
            slot.id = call_id
        if not self.accept_name(name):
            return False
        slot.name, slot.name_sent = name, True
        slot.id = slot.id or self.new_id()
        calls.append(ToolCallDelta(index=index, id=slot.id, name=name))
        return True

    def _on_args(self, event: Event, calls: list[ToolCallDelta]) -> None:
        slot = self.slots[event.index]
        if event.value:
            slot.args.append(event.value)
        if not slot.name_sent:
            name = slot.name or (self.name_from_args(slot) if event.value else None)
            if self._send_name(event.index, name, calls):
                self.after_name_sent(event, calls)
        elif event.value and self.config.arg_converter is None:
            calls.append(ToolCallDelta(index=event.index, arguments=event.value))

    def after_name_sent(self, event: Event, calls: list[ToolCallDelta]) -> None:
        """Hook: a family may also send the args piece that revealed the name (Kimi K2)."""

    def new_id(self) -> str:
        """Hook: the id of a call the format does not name."""
        return new_tool_call_id()

    def name_from_args(self, slot: Slot) -> str | None:
        """Hook: a name read from the arguments of a call whose name text is empty."""
        match = _NAME.search("".join(slot.args))
        return match.group(1) or None if match else None

    def _on_call_end(self, index: int, calls: list[ToolCallDelta]) -> None:
        if index >= len(self.slots):
            return
        self.before_call_end(index)
        remaining = self._converted_rest(index)
        slot = self.slots[index]
        if not slot.name_sent:
            name = slot.name or self.name_from_args(slot) or ""
            if self.accept_name(name):  # as written: no family clean-up on this path
                slot.name, slot.name_sent = name, True
                slot.id = slot.id or self.new_id()
                calls.append(ToolCallDelta(index, slot.id, name, remaining or ""))
                remaining = None
        if remaining and slot.name_sent:
            calls.append(ToolCallDelta(index=index, arguments=remaining))

    def _converted_rest(self, index: int) -> str | None:
        converter = self.config.arg_converter
        if converter is None:
            return None
        slot = self.slots[index]
        try:
            final = converter("".join(slot.args), False)
        except (ValueError, TypeError):
            return None
        if final:
            final = typed_arguments(final, slot.name, self.tools)
        if final and len(final) > len(slot.streamed):
            if slot.streamed and not final.startswith(slot.streamed):
                return None
            rest, slot.streamed = final[len(slot.streamed) :], final
            return rest
        return None

    # -- one-shot ----------------------------------------------------------------------------

    def single_pass(
        self, text: str, initial_state: State | None = None
    ) -> tuple[str, str | None, list[tuple[str, str, str]]]:
        """(reasoning, content, calls as (id, name, arguments)) of a whole text."""
        self.reset(initial_state)
        events = self.engine.feed(text, ())
        events.extend(self.engine.finish())
        delta = self.to_delta(events, finished=True)
        calls = self.built_calls()
        reasoning = delta.reasoning if delta else ""
        if reasoning and self.config.strip_trailing_reasoning_whitespace:
            reasoning = reasoning.rstrip()
        content = delta.content if delta else ""
        return reasoning, self.strip_content(content, bool(calls)), calls

    def strip_content(self, content: str, called: bool) -> str | None:
        if called:
            if self.config.strip_content_whitespace_with_tools:
                content = content.strip()
            elif self.config.drop_whitespace_only_content_before_tools and not content.strip():
                content = ""
        return content or None

    def built_calls(self) -> list[tuple[str, str, str]]:
        calls = []
        for slot in self.slots:
            body = "".join(slot.args)
            if not slot.name and not body:
                continue
            name = slot.name.strip()
            if not name and body.strip():
                name, args = self.name_and_args(body)
            elif body.strip():
                args = self._whole_args(body, name)
            else:
                args = "{}"
            if self.accept_name(name):
                slot.id = slot.id or self.new_id()
                calls.append((slot.id, name, typed_arguments(args, name, self.tools)))
        return calls

    def _whole_args(self, body: str, name: str) -> str:
        converter = self.config.arg_converter
        if converter is not None:
            try:
                return converter(body, False)
            except (ValueError, TypeError):
                pass
        return self.args_json(body)

    def name_and_args(self, body: str) -> tuple[str, str]:
        """Hook: (name, arguments) of a call body with no name text."""
        return _name_and_args(body)

    def args_json(self, body: str) -> str:
        return _name_and_args(body)[1] if body.strip() else "{}"

    # -- reasoning boundaries on token IDs ---------------------------------------------------

    def _reasoning_end_ids(self) -> frozenset[int]:
        ends: dict[str, State] = {}
        for (state, terminal), go in self.config.transitions.items():
            if state is not State.REASONING:
                continue
            if Ev.REASONING_END in go.events:
                ends.setdefault(terminal, go.state)
            elif go.state is not State.REASONING:
                return frozenset()
        ids: set[int] = set()
        for terminal, next_state in ends.items():
            text = self.config.token_id_terminals.get(terminal)
            token_id = self.facts.vocab_id(text) if text is not None else None
            if token_id is not None:
                ids.add(token_id)
            elif next_state is State.CONTENT:
                return frozenset()
        return frozenset(ids)

    def _waits(self) -> bool:
        wait = self.config.wait_for_reasoning
        return self.config.initial_state is State.REASONING if wait is None else wait

    def is_reasoning_end(self, token_ids: Sequence[int]) -> bool:
        go = self.config.transitions.get((self.config.initial_state, "THINK_START"))
        start_opens = go is not None and go.state is State.REASONING
        for token_id in reversed(token_ids):
            if token_id in self.end_ids:
                return True
            if token_id == self._start_id:
                if start_opens:
                    return False
                break
            if token_id in self._boundary_ids:
                break
        return not self._waits()

    def content_ids(self, token_ids: Sequence[int]) -> list[int]:
        ids = list(token_ids)
        if not self._waits():
            return ids
        if self._end_id is not None and self._end_id in ids:
            return ids[len(ids) - ids[::-1].index(self._end_id) :]
        if self.end_ids:
            start = 0
            for i in range(len(ids) - 1, -1, -1):
                if ids[i] in self._boundary_ids:
                    start = i + 1
                    break
            for i in range(start, len(ids)):
                if ids[i] in self.end_ids:
                    return ids[i:]
        return ids


def _name_and_args(body: str) -> tuple[str, str]:
    body = body.strip()
    try:
        parsed = json.loads(body)
    except ValueError:
        return "", body
    if not isinstance(parsed, dict):
        return "", body
    name = parsed.get("name", "")
    for key in ("arguments", "parameters"):
        if key in parsed:
            value = parsed[key]
            return name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    rest = {k: v for k, v in parsed.items() if k != "name"}
    return name, json.dumps(rest, ensure_ascii=False)


def _coalesce(calls: list[ToolCallDelta]) -> list[ToolCallDelta]:
    """One delta per index, as vLLM merges the parts of a call found in one step."""
    if len({c.index for c in calls}) == len(calls):
        return calls
    merged: dict[int, ToolCallDelta] = {}
    for call in calls:
        first = merged.get(call.index)
        if first is None:
            merged[call.index] = call
            continue
        merged[call.index] = ToolCallDelta(
            call.index,
            first.id or call.id,
            first.name or call.name,
            first.arguments + call.arguments,
        )
    return list(merged.values())
