"""``<think>`` reasoning by token ID (``deepseek_r1``, ``deepseek_v3``), vLLM 0.32's
``BaseThinkingReasoningParser`` and ``DeepSeekR1ReasoningParser``.

Streamed, vLLM decides by the token IDs of the tags and cuts the delta's text where the tag's
text is (``find``): with special tags decoded away (these parsers keep
``skip_special_tokens``), the cut falls one character short, as in vLLM. One-shot, vLLM splits
the whole text at the tags' text: output whose tags were decoded away is all reasoning there.
Both are what vLLM's HTTP server returns, so both are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, RequestFacts, TokenizerFacts

START, END = "<think>", "</think>"


class ThinkReasoning:
    engine_based = False

    def __init__(self, facts: TokenizerFacts) -> None:
        start, end = facts.vocab_id(START), facts.vocab_id(END)
        if start is None or end is None:
            raise ValueError(
                "the reasoning parser could not locate think start/end tokens in the tokenizer "
                "(as vLLM refuses to start)"
            )
        self._start, self._end = start, end
        self._seen_start = self._seen_end = False

    def is_reasoning_end(self, token_ids: Sequence[int]) -> bool:
        for token_id in reversed(token_ids):
            if token_id == self._start:
                return False
            if token_id == self._end:
                return True
        return False

    def adjust_initial_state_from_prompt(self, prompt_ids: Sequence[int]) -> None:
        return None

    def extract_reasoning(self, text: str) -> tuple[str, str | None]:
        before, tag, after = text.partition(START)
        text = after if tag else before
        if END not in text:
            return text, None
        reasoning, _, content = text.partition(END)
        return reasoning, content or None

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        had_start, had_end = self._seen_start, self._seen_end
        has_start, has_end = self._start in token_ids, self._end in token_ids
        self._seen_start = had_start or has_start
        self._seen_end = had_end or has_end
        if len(token_ids) == 1 and token_ids[0] in (self._start, self._end):
            return None
        if had_start or has_start:
            if has_end:
                begin = text.find(START) + len(START) if not had_start else 0
                cut = text.find(END)
                return ParsedDelta(text[begin:cut], text[cut + len(END) :])
            return ParsedDelta(content=text) if had_end else ParsedDelta(reasoning=text)
        # No <think> yet: R1's template opened it in the prompt.
        if has_end:
            cut = text.find(END)
            return ParsedDelta(text[:cut], text[cut + len(END) :])
        return ParsedDelta(content=text) if had_end else ParsedDelta(reasoning=text)

    def ended(self, delta_ids: Sequence[int]) -> bool:
        return self._end in delta_ids

    def content_ids(self, delta_ids: Sequence[int]) -> list[int]:
        ids = list(delta_ids)
        if self._end not in ids[:-1]:
            return []
        return ids[ids.index(self._end) + 1 :]

    def finish_streaming(self) -> ParsedDelta | None:
        return None


class NoReasoning:
    """vLLM's ``IdentityReasoningParser``: all content (DeepSeek V3 with thinking off)."""

    engine_based = False

    def is_reasoning_end(self, token_ids: Sequence[int]) -> bool:
        return True

    def adjust_initial_state_from_prompt(self, prompt_ids: Sequence[int]) -> None:
        return None

    def extract_reasoning(self, text: str) -> tuple[str, str | None]:
        return "", text

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        return ParsedDelta(content=text) if text else None

    def ended(self, delta_ids: Sequence[int]) -> bool:
        return True

    def content_ids(self, delta_ids: Sequence[int]) -> list[int]:
        return list(delta_ids)

    def finish_streaming(self) -> ParsedDelta | None:
        return None


def deepseek_r1(facts: TokenizerFacts, request: RequestFacts) -> ThinkReasoning:
    return ThinkReasoning(facts)


def deepseek_v3(facts: TokenizerFacts, request: RequestFacts) -> ThinkReasoning | NoReasoning:
    """R1's parser when the template's ``thinking`` (or ``enable_thinking``) is on, else none."""
    kwargs = request.chat_template_kwargs
    if kwargs.get("thinking") or kwargs.get("enable_thinking"):
        return ThinkReasoning(facts)
    return NoReasoning()
