"""A reasoning parser and a tool-call parser composed the way vLLM's serving layer composes
them (``DelegatingParser`` in ``vllm/parser/abstract_parser.py``, vLLM 0.32, Apache 2.0):
reasoning first; when it ends, the rest of that delta and all later ones go to the tool
parser. Streamed (``feed`` per delta, then ``finish``) and one-shot (``parse``) follow vLLM's
``parse_delta`` and ``parse``, which do not always agree: each parser's docstring says where.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, RequestFacts
from vllm_integrations.transports.grpc.parsers.forced import ForcedJsonTools
from vllm_integrations.types import ToolCallDelta


class ReasoningPart(Protocol):
    """vLLM's ``ReasoningParser`` interface, as the composition uses it."""

    engine_based: bool

    def is_reasoning_end(self, token_ids: Sequence[int]) -> bool: ...
    def adjust_initial_state_from_prompt(self, prompt_ids: Sequence[int]) -> None: ...
    def extract_reasoning(self, text: str) -> tuple[str, str | None]: ...
    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None: ...
    def ended(self, delta_ids: Sequence[int]) -> bool:
        """Whether reasoning ended with this delta (engine-confirmed or by token ID)."""
        ...

    def content_ids(self, delta_ids: Sequence[int]) -> list[int]: ...
    def finish_streaming(self) -> ParsedDelta | None: ...


class ToolPart(Protocol):
    """vLLM's ``ToolParser`` interface, as the composition uses it (tool_choice "auto")."""

    engine_based: bool

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        """(calls, content) of a whole content text; calls None when no call was found."""
        ...

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None: ...
    def finish_streaming(self) -> ParsedDelta | None: ...
    def remaining_arguments(self) -> str: ...


class ComposedParser:
    """One choice's reasoning and tool-call parsing (either part may be absent)."""

    def __init__(
        self,
        reasoning: ReasoningPart | None,
        tools: ToolPart | None,
        request: RequestFacts,
        prompt_ids: Sequence[int],
    ) -> None:
        self._reasoning = reasoning
        self._tools = tools
        self._none = request.effective_tool_choice == "none"
        self._forced = request.tool_choice == "required" or request.named_tool is not None
        self._engine_based = (reasoning is None or reasoning.engine_based) and (
            tools is None or tools.engine_based
        )
        self.reasoning_ended = reasoning is None or reasoning.is_reasoning_end(prompt_ids)
        if reasoning is not None and not self.reasoning_ended:
            reasoning.adjust_initial_state_from_prompt(prompt_ids)
        self._last_calls: list[ToolCallDelta] = []

    @property
    def in_reasoning(self) -> bool:
        return not self.reasoning_ended

    def feed(self, text: str, token_ids: Sequence[int]) -> ParsedDelta:
        """One streamed delta (vLLM's ``parse_delta``)."""
        delta: ParsedDelta | None = None
        transitioned = False
        if self._reasoning is not None and not self.reasoning_ended:
            delta = self._reasoning.stream(text, token_ids)
            if self._reasoning.ended(token_ids):
                self.reasoning_ended = transitioned = True
                token_ids = self._reasoning.content_ids(token_ids)
                flushed = (
                    self._reasoning.finish_streaming() if self._reasoning.engine_based else None
                )
                text = (delta.content if delta else "") + (flushed.content if flushed else "")
                if self._engine_based and self._tools is not None:
                    if delta is not None:
                        delta.content = ""
                elif self._engine_based and text:
                    delta = delta or ParsedDelta()
                    delta.content = text
        if self._tools is not None and self.reasoning_ended:
            reasoning = delta.reasoning if delta else ""
            delta = self._tool_delta(text, token_ids)
            if reasoning:
                delta = delta or ParsedDelta()
                delta.reasoning = delta.reasoning or reasoning
        if delta is None and not transitioned and self.reasoning_ended and self._tools is None:
            delta = ParsedDelta(content=text)
        delta = delta or ParsedDelta()
        self._last_calls = delta.tool_calls
        return delta

    def _tool_delta(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        assert self._tools is not None
        if self._none and not self._engine_based:
            return ParsedDelta(content=text) if text else None
        delta = self._tools.stream(text, token_ids)
        if self._none and delta is not None:
            delta.tool_calls = []
        return delta

    def finish(self) -> ParsedDelta:
        """End of the stream: what vLLM adds to the last delta (``finalize_generation`` and
        the engine flush)."""
        delta = ParsedDelta()
        if self._tools is not None and self._last_calls:
            rest = self._tools.remaining_arguments()
            if rest:
                delta.tool_calls.append(ToolCallDelta(self._last_calls[-1].index, arguments=rest))
        for part in (self._reasoning, self._tools):
            if part is None or not part.engine_based:
                continue
            if part is self._reasoning and self.reasoning_ended:
                continue
            flushed = part.finish_streaming()
            if flushed is not None and part is self._tools and self._none:
                # vLLM's flush can add the pieces of a call left open to a tool_choice="none"
                # stream; a call is never returned for "none" here.
                flushed.tool_calls = []
            delta.add(flushed)
        return delta

    def parse(self, text: str, token_ids: Sequence[int] = ()) -> ParsedDelta:
        """A whole output at once (vLLM's ``parse``; these parts read its text only)."""
        if self._reasoning is None:
            reasoning, content = "", text
        else:
            reasoning, maybe_content = self._reasoning.extract_reasoning(text)
            content = maybe_content or ""
        if self._tools is None or (self._none and not self._engine_based):
            return ParsedDelta(reasoning, content)
        calls, rest = self._tools.extract(content)
        if self._none:
            return ParsedDelta(reasoning, rest or "")
        if isinstance(self._tools, ForcedJsonTools):
            return ParsedDelta(reasoning, "", calls or [])
        if calls is not None:  # called, maybe with no call found (DeepSeek)
            return ParsedDelta(reasoning, "" if rest is None or not rest.strip() else rest, calls)
        if self._forced and not content.strip():  # vLLM: no content for a forced call
            return ParsedDelta(reasoning, "")
        return ParsedDelta(reasoning, (rest or "") if self._engine_based else content)
