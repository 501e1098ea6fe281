"""Streaming reasoning splitters matching vLLM's ``--reasoning-parser`` for ``<think>`` models.

vLLM's gRPC server returns tokens only, so the client splits reasoning from content itself. The
parsers here work on decoded text, one small state machine per stream: each state names its
output channel (reasoning or content) and the tags it reacts to. Only a suffix that could still
grow into a tag is held back between deltas (at most the longest tag length minus one), so each
delta costs time proportional to its own length and the whole text is never rescanned.

Behaviour follows vLLM 0.32's non-streaming path (``extract_reasoning`` on the whole output,
which is what its HTTP server applies to complete replies); a whole reply is one ``feed`` then
``finish``, so streamed and one-shot results are equal by construction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

THINK_START = "<think>"
THINK_END = "</think>"
TOOL_CALL_START = "<tool_call>"

REASONING_PARSERS: dict[str, type[ReasoningParser]] = {}
"""Concrete parsers by vLLM CLI name; subclasses add themselves with ``name=...``."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What a tag does in a state: where the stream goes next, and whether the tag is kept."""

    next_state: str
    keep: bool = False  # keep the tag text, in the next state's channel


class State:
    """One parser state: its output channel and the tags that act in it."""

    __slots__ = ("longest", "pattern", "prefixes", "reasoning", "rules")

    def __init__(self, *, reasoning: bool, rules: Mapping[str, Rule] | None = None) -> None:
        self.reasoning = reasoning
        self.rules: Mapping[str, Rule] = rules or {}
        # Longest first, so the alternation never prefers a tag that is a prefix of another.
        tags = sorted(self.rules, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, tags))) if tags else None
        self.prefixes = frozenset(tag[:i] for tag in tags for i in range(1, len(tag)))
        self.longest = max(map(len, tags), default=0)

    def holdback(self, text: str, start: int) -> int:
        """Length of the longest suffix of ``text[start:]`` that is a proper prefix of a tag."""
        for size in range(min(self.longest - 1, len(text) - start), 0, -1):
            if text[-size:] in self.prefixes:
                return size
        return 0


class ReasoningParser:
    """Splits one stream's text into (reasoning, content) deltas; create one per stream."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, *, name: str = "", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
            REASONING_PARSERS[name] = cls

    def __init__(self, *, thinking: bool = True) -> None:
        self.thinking = thinking
        self._states = self.states(thinking)
        self._state = next(iter(self._states))
        self._tail = ""  # a possible tag prefix, held until the next delta decides it

    def states(self, thinking: bool) -> dict[str, State]:
        """The state machine, initial state first. Subclasses describe their format here."""
        raise NotImplementedError

    @property
    def in_reasoning(self) -> bool:
        """Whether text fed now counts as reasoning (for counting reasoning tokens)."""
        return self._states[self._state].reasoning

    def feed(self, delta_text: str) -> tuple[str, str]:
        """Consume one delta; return the (reasoning, content) text it settles."""
        text = self._tail + delta_text
        reasoning: list[str] = []
        content: list[str] = []
        pos = 0
        state = self._states[self._state]
        while state.pattern is not None and (match := state.pattern.search(text, pos)):
            (reasoning if state.reasoning else content).append(text[pos : match.start()])
            rule = state.rules[match.group()]
            self._state = rule.next_state
            state = self._states[rule.next_state]
            if rule.keep:
                (reasoning if state.reasoning else content).append(match.group())
            pos = match.end()
        end = len(text) - state.holdback(text, pos)
        (reasoning if state.reasoning else content).append(text[pos:end])
        self._tail = text[end:]
        return "".join(reasoning), "".join(content)

    def finish(self) -> tuple[str, str]:
        """End of stream: the held-back text was no tag after all, so release it."""
        tail, self._tail = self._tail, ""
        return (tail, "") if self._states[self._state].reasoning else ("", tail)


_ALL_CONTENT = {"content": State(reasoning=False)}


class Qwen3ReasoningParser(ReasoningParser, name="qwen3"):
    """vLLM's ``qwen3`` parser (``vllm/parser/qwen3.py``, run with tool parsing switched off).

    - thinking on: the output starts inside reasoning (``initial_state=REASONING``), since the
      chat template opened ``<think>`` in the prompt;
    - ``<think>`` inside reasoning is dropped (``(REASONING, THINK_START)`` has no events), so a
      model that repeats the opening tag loses nothing;
    - ``</think>`` ends reasoning and is dropped; a later ``</think>`` in content is dropped too
      (``(CONTENT, THINK_END)`` absorbs it);
    - ``<tool_call>`` inside reasoning ends it implicitly and stays, as content, for the tool
      parser (``(REASONING, TOOL_START)`` with ``skip_tool_parsing``);
    - whitespace around the tags is kept (``strip_trailing_reasoning_whitespace=False``);
    - thinking off: everything is content, verbatim (``Qwen3Parser.extract_reasoning``).
    """

    def states(self, thinking: bool) -> dict[str, State]:
        if not thinking:
            return dict(_ALL_CONTENT)
        return {
            "reasoning": State(
                reasoning=True,
                rules={
                    THINK_START: Rule("reasoning"),
                    THINK_END: Rule("content"),
                    TOOL_CALL_START: Rule("content", keep=True),
                },
            ),
            "content": State(reasoning=False, rules={THINK_END: Rule("content")}),
        }


class DeepSeekR1ReasoningParser(ReasoningParser, name="deepseek_r1"):
    """vLLM's ``deepseek_r1`` parser (``BaseThinkingReasoningParser`` with ``<think>`` tags).

    - the output starts inside reasoning even without ``<think>``: R1 templates open it in the
      prompt ("assume the reasoning content is always at the start");
    - the first ``<think>`` is dropped (``partition(start_token)``); later ones stay as text;
    - the first ``</think>`` ends reasoning and is dropped; everything after it is content
      verbatim, further tags included (``partition(end_token)``);
    - nothing is stripped;
    - thinking off: everything is content, as vLLM's streaming path decides when the prompt
      already closed the think block (``is_reasoning_end(prompt_token_ids)``).

    One deliberate difference: text before a first ``<think>`` that is not at the start stays
    reasoning, as vLLM streams it; vLLM's one-shot path would drop it, which no streaming parser
    can do without holding back all reasoning.
    """

    def states(self, thinking: bool) -> dict[str, State]:
        if not thinking:
            return dict(_ALL_CONTENT)
        return {
            "before_start": State(
                reasoning=True,
                rules={THINK_START: Rule("reasoning"), THINK_END: Rule("content")},
            ),
            "reasoning": State(reasoning=True, rules={THINK_END: Rule("content")}),
            "content": State(reasoning=False),
        }
