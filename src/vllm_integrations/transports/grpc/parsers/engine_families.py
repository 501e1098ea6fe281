"""The engine-based families registered under vLLM's names."""

from __future__ import annotations

from collections.abc import Callable

from vllm_integrations.transports.grpc.parsers.base import RequestFacts, TokenizerFacts
from vllm_integrations.transports.grpc.parsers.engine import EngineConfig
from vllm_integrations.transports.grpc.parsers.engine_parser import EngineParser
from vllm_integrations.transports.grpc.parsers.engine_parts import EngineReasoning, EngineTools
from vllm_integrations.transports.grpc.parsers.glm import GlmParser, glm_config
from vllm_integrations.transports.grpc.parsers.granite import granite_config
from vllm_integrations.transports.grpc.parsers.kimi import KimiParser, kimi_config
from vllm_integrations.transports.grpc.parsers.mistral import (
    MistralParser,
    check_tokenizer,
    mistral_config,
)
from vllm_integrations.transports.grpc.parsers.qwen3 import qwen3_config
from vllm_integrations.transports.grpc.parsers.registry import (
    REASONING,
    TOOLS,
    ReasoningSpec,
    ToolSpec,
    thinking_flag,
    tools_called,
)

Family = Callable[[TokenizerFacts, RequestFacts], tuple[EngineParser, bool]]
"""(tokenizer facts, request) -> a fresh engine parser, and whether thinking is on."""


def _qwen3(facts: TokenizerFacts, request: RequestFacts) -> tuple[EngineParser, bool]:
    thinking = bool(request.chat_template_kwargs.get("enable_thinking", True))
    return EngineParser(qwen3_config(thinking), facts, request.tools), thinking


def _glm(facts: TokenizerFacts, request: RequestFacts) -> tuple[EngineParser, bool]:
    thinking = thinking_flag(request.chat_template_kwargs)
    return GlmParser(glm_config(thinking), facts, request.tools), thinking


def _kimi(facts: TokenizerFacts, request: RequestFacts) -> tuple[EngineParser, bool]:
    thinking = thinking_flag(request.chat_template_kwargs)
    parser = KimiParser(kimi_config(thinking), facts, request.tools)
    parser.thinking = thinking
    return parser, thinking


def _granite(facts: TokenizerFacts, request: RequestFacts) -> tuple[EngineParser, bool]:
    config: EngineConfig = granite_config()
    return EngineParser(config, facts, request.tools), True


def _mistral(facts: TokenizerFacts, request: RequestFacts) -> tuple[EngineParser, bool]:
    thinking = check_tokenizer(facts)
    return MistralParser(mistral_config(thinking), facts, request.tools), thinking


def _reasoning(family: Family) -> ReasoningSpec:
    def make(facts: TokenizerFacts, request: RequestFacts) -> EngineReasoning:
        parser, thinking = family(facts, request)
        return EngineReasoning(parser, thinking=thinking)

    return ReasoningSpec(make, keeps_special_tokens=True)


def _tools(
    family: Family,
    structural_tag: str | None,
    keeps: Callable[[RequestFacts], bool] = lambda request: True,
    strict_level: int = 0,
    forced_schema: str = "parameters",
) -> ToolSpec:
    def make(facts: TokenizerFacts, request: RequestFacts, reasoning: bool) -> EngineTools:
        return EngineTools(family(facts, request)[0], request, reasoning=reasoning)

    return ToolSpec(
        make,
        keeps,
        structural_tag=structural_tag,
        strict_level=strict_level,
        forced_schema=forced_schema,
    )


REASONING["qwen3"] = _reasoning(_qwen3)
REASONING["glm45"] = REASONING["glm47"] = _reasoning(_glm)
REASONING["kimi_k2"] = _reasoning(_kimi)
TOOLS["qwen3_coder"] = TOOLS["qwen3_xml"] = _tools(_qwen3, "qwen_3_coder")
TOOLS["glm45"] = TOOLS["glm47"] = _tools(_glm, "glm_4_7", strict_level=1)
TOOLS["kimi_k2"] = _tools(_kimi, "kimi", tools_called)
TOOLS["granite"] = _tools(_granite, None)
REASONING["mistral"] = _reasoning(_mistral)
TOOLS["mistral"] = _tools(_mistral, None, forced_schema="arguments")
