"""Client-side reasoning and tool-call parsers, by the names vLLM's CLI gives them.

vLLM's gRPC server returns only tokens; these parsers give the gRPC client the reasoning,
content and tool calls vLLM's HTTP server returns with ``--reasoning-parser NAME`` and
``--tool-call-parser NAME --enable-auto-tool-choice``, streamed and not, for any tokenizer.
A family is one module registering itself in ``registry``; importing this package loads them.
"""

from __future__ import annotations

from vllm_integrations.transports.grpc.parsers import engine_families as _engine_families
from vllm_integrations.transports.grpc.parsers import legacy_families as _legacy_families
from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, RequestFacts
from vllm_integrations.transports.grpc.parsers.delegating import ComposedParser
from vllm_integrations.transports.grpc.parsers.harmony import HarmonyParser
from vllm_integrations.transports.grpc.parsers.registry import (
    REASONING,
    TOOLS,
    check_parser_names,
    compose,
    skip_special_tokens,
)

del _engine_families, _legacy_families

__all__ = [
    "REASONING",
    "TOOLS",
    "ComposedParser",
    "HarmonyParser",
    "ParsedDelta",
    "RequestFacts",
    "check_parser_names",
    "compose",
    "skip_special_tokens",
]
