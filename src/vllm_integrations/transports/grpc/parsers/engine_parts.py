"""An engine family as the reasoning part and the tool part of a composed parser (vLLM's
``ParserEngineReasoningAdapter`` / ``ParserEngineToolAdapter``): each part runs its own
engine, the reasoning one with tool tags left as text for the tool part to read."""

from __future__ import annotations

from collections.abc import Sequence

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, RequestFacts
from vllm_integrations.transports.grpc.parsers.engine import Ev, State
from vllm_integrations.transports.grpc.parsers.engine_parser import EngineParser
from vllm_integrations.types import ToolCallDelta


class EngineReasoning:
    engine_based = True

    def __init__(self, parser: EngineParser, *, thinking: bool = True) -> None:
        self._parser = parser
        self._thinking = thinking
        parser.engine.skip_tool_parsing = True

    def is_reasoning_end(self, token_ids: Sequence[int]) -> bool:
        return self._parser.is_reasoning_end(token_ids)

    def adjust_initial_state_from_prompt(self, prompt_ids: Sequence[int]) -> None:
        return None

    def extract_reasoning(self, text: str) -> tuple[str, str | None]:
        if not self._thinking:  # the families' extract_reasoning: thinking off, all content
            return "", text
        parser = self._parser
        parser.reset()
        events = parser.engine.feed(text, ())
        events.extend(parser.engine.finish())
        reasoning = "".join(e.value for e in events if e.kind is Ev.REASONING)
        content = "".join(e.value for e in events if e.kind is Ev.TEXT)
        if parser.config.strip_trailing_reasoning_whitespace:
            reasoning = reasoning.rstrip()
        return reasoning, content or None

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        self._parser.start_streaming()
        return self._parser.stream(text, token_ids)

    def ended(self, delta_ids: Sequence[int]) -> bool:
        return self._parser.reasoning_ended

    def content_ids(self, delta_ids: Sequence[int]) -> list[int]:
        return self._parser.content_ids(delta_ids)

    def finish_streaming(self) -> ParsedDelta | None:
        return self._parser.finish_streaming()


class EngineTools:
    engine_based = True

    def __init__(self, parser: EngineParser, request: RequestFacts, *, reasoning: bool) -> None:
        self._parser = parser
        parser.engine.skip_reasoning_parsing = not reasoning
        # tool_choice "none" with tools: the markup is read but no call is kept
        parser.suppress_tool_calls = bool(request.tools) and request.tool_choice == "none"

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        reasoning, parsed, calls = self._parser.single_pass(content, State.CONTENT)
        del reasoning
        deltas = [ToolCallDelta(i, id_, name, args) for i, (id_, name, args) in enumerate(calls)]
        return deltas or None, parsed

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        self._parser.start_streaming(State.CONTENT)
        return self._parser.stream(text, token_ids)

    def finish_streaming(self) -> ParsedDelta | None:
        return self._parser.finish_streaming()

    def remaining_arguments(self) -> str:
        return ""
