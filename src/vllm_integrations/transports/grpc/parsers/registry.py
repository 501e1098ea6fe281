"""Parsers by the names of vLLM's ``--reasoning-parser`` and ``--tool-call-parser``, and what
vLLM's serving layer does with the pair: compose them per choice, and decode with special
tokens kept when the parsers' ``adjust_request`` says so."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vllm_integrations.transports.grpc.parsers.base import (
    RequestFacts,
    TokenizerFacts,
    tokenizer_facts,
)
from vllm_integrations.transports.grpc.parsers.delegating import (
    ComposedParser,
    ReasoningPart,
    ToolPart,
)
from vllm_integrations.transports.grpc.parsers.forced import forced_json
from vllm_integrations.transports.grpc.parsers.harmony import HarmonyParser


@dataclass(frozen=True)
class ReasoningSpec:
    make: Callable[[TokenizerFacts, RequestFacts], ReasoningPart] | None
    """None for harmony, which ``compose`` builds whole."""
    keeps_special_tokens: bool = False
    """Its ``adjust_request`` turns ``skip_special_tokens`` off (engine-based parsers)."""


@dataclass(frozen=True)
class ToolSpec:
    make: Callable[[TokenizerFacts, RequestFacts, bool], ToolPart] | None
    """(tokenizer facts, request, whether a reasoning parser runs too) -> the tool part; None
    for harmony, which ``compose`` builds whole."""
    keeps_special_tokens: Callable[[RequestFacts], bool]
    structural_tag: str | None = None
    """vLLM's ``structural_tag_model``: how a forced call is constrained."""
    strict_level: int = 0
    """vLLM's ``default_tool_strict_level`` (0 auto, 1 function, 2 parameter)."""
    forced_schema: str = "parameters"
    """Without a structural tag, the JSON a forced call is constrained to: vLLM's
    ``{"name", "parameters"}`` calls, Mistral's ``{"name", "arguments"}``, or "none"."""

    @property
    def supports_required_and_named(self) -> bool:
        """vLLM reads forced calls as its JSON (not with the parser) only for parsers without
        a structural tag (``VLLM_ENFORCE_STRICT_TOOL_CALLING``, default on) that keep vLLM's
        JSON fallback."""
        return self.structural_tag is None and self.forced_schema == "parameters"


REASONING: dict[str, ReasoningSpec] = {}
TOOLS: dict[str, ToolSpec] = {}
HARMONY_NAMES = ("openai_gptoss", "openai")
"""gpt-oss's reasoning and tool parser names: both select the harmony parser."""


def check_parser_names(reasoning: str | None, tools: str | None) -> None:
    """ValueError, listing the known names, for a name vLLM's CLI would not take here."""
    if reasoning is not None and reasoning not in REASONING:
        known = ", ".join(sorted(REASONING))
        raise ValueError(f"unknown reasoning parser {reasoning!r}; known: {known}")
    if tools is not None and tools not in TOOLS:
        raise ValueError(f"unknown tool call parser {tools!r}; known: {', '.join(sorted(TOOLS))}")


def tools_called(request: RequestFacts) -> bool:
    """Tools are given and may be called (when hermes and Kimi K2 keep special tokens)."""
    return bool(request.tools) and request.effective_tool_choice != "none"


def thinking_flag(kwargs: Mapping[str, Any]) -> bool:
    """GLM's and Kimi's reading of the template switches: on unless one is given false."""
    thinking, enable = kwargs.get("thinking"), kwargs.get("enable_thinking")
    return True if thinking is None and enable is None else bool(thinking) or bool(enable)


def skip_special_tokens(
    reasoning: str | None, tools: str | None, request: RequestFacts, requested: bool
) -> bool:
    """``skip_special_tokens`` after vLLM's renderer applied the parsers' ``adjust_request``
    (which it does when a reasoning parser runs or tool_choice is not "none"): off where a
    parser needs its tags, which some tokenizers mark special, in the text."""
    if reasoning is None and tools is None:
        return requested
    if reasoning is None and request.effective_tool_choice == "none":
        return requested
    if reasoning is not None and REASONING[reasoning].keeps_special_tokens:
        return False
    if tools is not None and TOOLS[tools].keeps_special_tokens(request):
        return False
    return requested


def compose(
    reasoning: str | None,
    tools: str | None,
    tokenizer: Any,
    request: RequestFacts,
    prompt_ids: Sequence[int],
) -> ComposedParser | HarmonyParser:
    """A fresh parser for one choice of one request."""
    check_parser_names(reasoning, tools)  # the server's own reasoning parser may be unknown
    if reasoning in HARMONY_NAMES or tools in HARMONY_NAMES:
        return _harmony(reasoning, tools, tokenizer, request)
    facts = tokenizer_facts(tokenizer)
    reasoning_part = tool_part = None
    if reasoning is not None and (make_reasoning := REASONING[reasoning].make) is not None:
        reasoning_part = make_reasoning(facts, request)
    if tools is not None and (make_tools := TOOLS[tools].make) is not None:
        tool_part = make_tools(facts, request, reasoning is not None)
        if TOOLS[tools].supports_required_and_named:
            tool_part = forced_json(tool_part, request)
    return ComposedParser(reasoning_part, tool_part, request, prompt_ids)


def _harmony(
    reasoning: str | None, tools: str | None, tokenizer: Any, request: RequestFacts
) -> HarmonyParser:
    """gpt-oss: one harmony parser for both parts (vLLM's ``HarmonyParser``), which takes
    no other family's parser beside it."""
    for name in (reasoning, tools):
        if name is not None and name not in HARMONY_NAMES:
            raise ValueError(f"harmony (gpt-oss) parsing cannot be combined with {name!r}")
    calls = tools is not None and request.effective_tool_choice != "none"
    return HarmonyParser(reasoning=reasoning is not None, tools=calls, decode=tokenizer.decode)
