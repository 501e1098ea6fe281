"""What every parser shares: the delta they return, the tokenizer facts they look tags up in
(computed once per tokenizer, not per request), the request facts vLLM's parsers read, and the
tool-call ids vLLM makes."""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vllm_integrations.types import ToolCallDelta


@dataclass(slots=True)
class ParsedDelta:
    """What one step of the output adds: reasoning, content and tool-call parts."""

    reasoning: str = ""
    content: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)

    def add(self, other: ParsedDelta | None) -> ParsedDelta:
        if other is not None:
            self.reasoning += other.reasoning
            self.content += other.content
            self.tool_calls.extend(other.tool_calls)
        return self

    def __bool__(self) -> bool:
        return bool(self.reasoning or self.content or self.tool_calls)


@dataclass(frozen=True)
class RequestFacts:
    """The parts of a chat request vLLM's parsers read."""

    tools: Sequence[Mapping[str, Any]] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    parallel_tool_calls: bool | None = None

    @property
    def effective_tool_choice(self) -> str | Mapping[str, Any]:
        """vLLM's default: "auto" with tools, "none" without."""
        if self.tool_choice is not None:
            return self.tool_choice
        return "auto" if self.tools else "none"

    @property
    def named_tool(self) -> str | None:
        choice = self.tool_choice
        if isinstance(choice, Mapping):
            return str(choice.get("function", {}).get("name", "")) or None
        return None


def new_tool_call_id() -> str:
    """vLLM's random tool-call id (``make_tool_call_id``)."""
    return f"chatcmpl-tool-{uuid.uuid4().hex[:16]}"


class TokenizerFacts:
    """Vocabulary look-ups and single-token texts of one tokenizer, shared by all its parsers:
    ``get_vocab()`` walks the whole vocabulary, too slow to repeat per request."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._vocab: dict[str, int] = dict(tokenizer.get_vocab())
        try:
            tokens, ids = tokenizer.all_special_tokens, tokenizer.all_special_ids
        except (AttributeError, NotImplementedError):
            tokens, ids = [], []
        self.special_tokens: dict[int, str] = dict(zip(ids, tokens, strict=False))
        self._texts: dict[int, str] = {}

    def vocab_id(self, text: str) -> int | None:
        return self._vocab.get(text)

    def token_text(self, token_id: int) -> str:
        text = self._texts.get(token_id)
        if text is None:
            decoded = self.tokenizer.decode([token_id])
            text = self._texts[token_id] = decoded if isinstance(decoded, str) else ""
        return text

    def decode(self, token_ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(token_ids)))


_FACTS: weakref.WeakKeyDictionary[Any, TokenizerFacts] = weakref.WeakKeyDictionary()
_FACTS_LOCK = threading.Lock()


def tokenizer_facts(tokenizer: Any) -> TokenizerFacts:
    """The facts of ``tokenizer``, computed on its first use."""
    with _FACTS_LOCK:
        facts = _FACTS.get(tokenizer)
        if facts is None:
            facts = _FACTS[tokenizer] = TokenizerFacts(tokenizer)
        return facts
