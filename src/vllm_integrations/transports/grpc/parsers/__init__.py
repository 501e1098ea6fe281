"""Client-side reasoning and tool-call parsers, by the names vLLM's CLI gives them.

vLLM's gRPC server returns only tokens; these parsers give the gRPC client the same reasoning,
content and tool calls that vLLM's HTTP server returns with ``--reasoning-parser NAME`` and
``--tool-call-parser NAME``. A parser class registers itself under its vLLM name by subclassing
with ``name=...``, so a new family is one module, imported here.
"""

from __future__ import annotations

from vllm_integrations.transports.grpc.parsers.reasoning import (
    REASONING_PARSERS,
    DeepSeekR1ReasoningParser,
    Qwen3ReasoningParser,
    ReasoningParser,
)
from vllm_integrations.transports.grpc.parsers.tool_calls import (
    TOOL_CALL_PARSERS,
    HermesToolCallParser,
    ToolCallParser,
)

__all__ = [
    "DeepSeekR1ReasoningParser",
    "HermesToolCallParser",
    "Qwen3ReasoningParser",
    "ReasoningParser",
    "ToolCallParser",
    "reasoning_parser",
    "tool_call_parser",
    "tool_call_parser_class",
]


def reasoning_parser(name: str, *, thinking: bool = True) -> ReasoningParser:
    """A fresh reasoning parser for one stream; ``thinking`` mirrors ``enable_thinking``."""
    cls = REASONING_PARSERS.get(name)
    if cls is None:
        known = ", ".join(sorted(REASONING_PARSERS))
        raise ValueError(f"unknown reasoning parser {name!r}; known: {known}")
    return cls(thinking=thinking)


def tool_call_parser(name: str) -> ToolCallParser:
    """A fresh tool-call parser for one stream."""
    return tool_call_parser_class(name)()


def tool_call_parser_class(name: str) -> type[ToolCallParser]:
    """The tool-call parser vLLM's CLI calls ``name``."""
    cls = TOOL_CALL_PARSERS.get(name)
    if cls is None:
        known = ", ".join(sorted(TOOL_CALL_PARSERS))
        raise ValueError(f"unknown tool call parser {name!r}; known: {known}")
    return cls
