"""Granite 3.x reasoning (``granite``): "Here is my thought process: ... Here is my response:
...", written as plain text, vLLM 0.32's ``vllm/reasoning/granite_reasoning_parser.py``
(Apache 2.0).

One-shot, both phrases are searched anywhere in the text. Streamed, reasoning counts only when
the text starts with the first phrase, and vLLM's parser never reports reasoning as ended (it
has no end token), so a tool-call parser after it only ever reads whole replies. vLLM re-scans
the whole text on every delta; here the scan positions are kept, so a delta costs its length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta

THINK_STARTS = ("Here's my thought process:", "Here is my thought process:")
RESPONSE_STARTS = ("Here's my response:", "Here is my response:")
_REASONING = re.compile(
    r"(?:Here's|Here is) my thought process:(.*?)(?:Here's|Here is) my response:(.*)", re.S
)
_BOUNDARY = "Here"
_LONGEST = max(map(len, THINK_STARTS + RESPONSE_STARTS))


def _starts_one_of(text: str, phrases: Sequence[str]) -> bool:
    """``text`` is a beginning of one of ``phrases`` (vLLM's ``_is_*_start_substr``)."""
    return len(text) <= _LONGEST and any(p.startswith(text) for p in phrases)


class GraniteReasoning:
    engine_based = False

    def __init__(self) -> None:
        self._text = ""
        self._colons = 0  # text scanned for ":"
        self._heres: list[int] = []  # where "Here" occurs, in order
        self._here_scanned = 0
        self._reasoning_at: int | None = None  # after the thought-process phrase
        self._first_colon_seen = False
        self._response: tuple[int, int] | None = None  # (its colon, the phrase's length)

    def is_reasoning_end(self, token_ids: Sequence[int]) -> bool:
        return False

    def adjust_initial_state_from_prompt(self, prompt_ids: Sequence[int]) -> None:
        return None

    def ended(self, delta_ids: Sequence[int]) -> bool:
        return False

    def content_ids(self, delta_ids: Sequence[int]) -> list[int]:
        return list(delta_ids)

    def finish_streaming(self) -> ParsedDelta | None:
        return None

    def extract_reasoning(self, text: str) -> tuple[str, str | None]:
        found = _REASONING.findall(text)
        if not found:
            return "", text
        reasoning, content = found[0]
        return reasoning, content or None

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        previous_length = len(self._text)
        whole, self._text = self._text, ""  # the only reference: CPython extends it in place
        whole += text
        self._text = whole
        last_here = self._last_here_within(previous_length)
        self._scan()
        reasoning, content = self._sections()
        if not reasoning:
            delta = self._before_reasoning(text, previous_length)
        elif not content:
            delta = self._in_reasoning(text, last_here)
        else:
            delta = self._with_response(text, reasoning, content)
        return delta if delta else None

    def _sections(self) -> tuple[int, int]:
        """Lengths of vLLM's reasoning and content sections of the text so far."""
        start = self._reasoning_at
        if start is None:
            return 0, 0
        if self._response is None:
            return len(self._text) - start, 0
        colon, phrase = self._response
        return max(colon - phrase - start, 0), len(self._text) - colon - 1

    def _scan(self) -> None:
        """Find the phrases in the new text, as vLLM's ``_get_content_sections`` would."""
        text = self._text
        start = max(0, self._here_scanned - len(_BOUNDARY) + 1)
        at = text.find(_BOUNDARY, start)
        while at >= 0:
            if not self._heres or at > self._heres[-1]:
                self._heres.append(at)
            at = text.find(_BOUNDARY, at + 1)
        self._here_scanned = len(text)
        colon = text.find(":", self._colons)
        while colon >= 0 and self._response is None:
            self._at_colon(colon)
            colon = text.find(":", colon + 1)
        self._colons = len(text)

    def _at_colon(self, colon: int) -> None:
        text = self._text
        if not self._first_colon_seen:
            self._first_colon_seen = True
            if text[:colon] in (t[:-1] for t in THINK_STARTS):
                self._reasoning_at = colon + 1
            return
        if self._reasoning_at is None:
            return
        for phrase in RESPONSE_STARTS:
            head = phrase[:-1]
            begin = colon - len(head)
            if begin >= self._reasoning_at and text[begin:colon] == head:
                self._response = (colon, len(phrase))
                return

    def _last_here_within(self, end: int) -> int:
        """The last "Here" wholly inside ``text[:end]`` (-1 when none)."""
        for at in reversed(self._heres):
            if at + len(_BOUNDARY) <= end:
                return at
        return -1

    def _before_reasoning(self, delta: str, previous_length: int) -> ParsedDelta:
        """vLLM's ``_get_delta_message_with_no_reasoning_bounds``."""
        text = self._text
        now = _starts_one_of(text, THINK_STARTS)
        before = _starts_one_of(text[: min(previous_length, _LONGEST + 1)], THINK_STARTS)
        if before and not now:
            return ParsedDelta(content=text)
        return ParsedDelta() if now else ParsedDelta(content=delta)

    def _in_reasoning(self, delta: str, last_here: int) -> ParsedDelta:
        """vLLM's ``_get_delta_message_with_no_response_bounds``; its "previous text" is the
        reasoning less this delta's length (none for an empty delta)."""
        text = self._text
        if text.endswith(RESPONSE_STARTS):
            return ParsedDelta()
        start = self._reasoning_at or 0
        previous_end = len(text) - len(delta) if delta else start
        previous_end = max(previous_end, start)
        at = last_here if last_here >= start and last_here + 4 <= previous_end else -1
        tail = text[at:previous_end] if at >= 0 else ""
        was = at >= 0 and _starts_one_of(tail, RESPONSE_STARTS)
        if at >= 0 and _starts_one_of(text[at : at + _LONGEST + 1], RESPONSE_STARTS):
            return ParsedDelta()
        delta_at = delta.rfind(_BOUNDARY)
        new = delta_at >= 0 and _starts_one_of(delta[delta_at:], RESPONSE_STARTS)
        piece = delta[:delta_at] if new else delta
        return ParsedDelta(reasoning=tail + piece if was else piece)

    def _with_response(self, delta: str, reasoning: int, content: int) -> ParsedDelta:
        """vLLM's ``_get_delta_message_with_both_bounds``."""
        assert self._response is not None
        phrase = self._response[1]
        piece = delta[-content:]
        end = len(delta) - (content + phrase)
        if end < 0:
            return ParsedDelta(content=piece)
        start = reasoning + phrase + content - 1 - (len(self._text) - len(delta))
        return ParsedDelta(reasoning=delta[max(start, 0) : end], content=piece)
