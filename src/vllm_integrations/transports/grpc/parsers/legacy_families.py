"""The hand-written (non-engine) vLLM parsers registered under vLLM's names."""

from __future__ import annotations

from vllm_integrations.transports.grpc.parsers.base import RequestFacts, TokenizerFacts
from vllm_integrations.transports.grpc.parsers.deepseek import DeepSeekTools
from vllm_integrations.transports.grpc.parsers.granite_reasoning import GraniteReasoning
from vllm_integrations.transports.grpc.parsers.hermes import HermesTools
from vllm_integrations.transports.grpc.parsers.llama import BOT, Llama3JsonTools
from vllm_integrations.transports.grpc.parsers.pythonic_stream import PythonicTools
from vllm_integrations.transports.grpc.parsers.registry import (
    REASONING,
    TOOLS,
    ReasoningSpec,
    ToolSpec,
    tools_called,
)
from vllm_integrations.transports.grpc.parsers.thinking import deepseek_r1, deepseek_v3


def _hermes(facts: TokenizerFacts, request: RequestFacts, reasoning: bool) -> HermesTools:
    return HermesTools()


def _llama3_json(facts: TokenizerFacts, request: RequestFacts, reasoning: bool) -> Llama3JsonTools:
    if facts.vocab_id(BOT) is None:  # as vLLM refuses to start
        raise ValueError(
            f"Llama3JsonToolParser could not locate the bot token {BOT!r} in the tokenizer"
        )
    return Llama3JsonTools()


def _pythonic(facts: TokenizerFacts, request: RequestFacts, reasoning: bool) -> PythonicTools:
    return PythonicTools(llama4=False)


def _llama4_pythonic(
    facts: TokenizerFacts, request: RequestFacts, reasoning: bool
) -> PythonicTools:
    return PythonicTools(llama4=True)


def _deepseek_v3(facts: TokenizerFacts, request: RequestFacts, reasoning: bool) -> DeepSeekTools:
    return DeepSeekTools(facts, v31=False)


def _deepseek_v31(facts: TokenizerFacts, request: RequestFacts, reasoning: bool) -> DeepSeekTools:
    return DeepSeekTools(facts, v31=True)


REASONING["deepseek_r1"] = ReasoningSpec(deepseek_r1)
REASONING["deepseek_v3"] = ReasoningSpec(deepseek_v3)
REASONING["granite"] = ReasoningSpec(lambda facts, request: GraniteReasoning())
HERMES = ToolSpec(_hermes, tools_called, structural_tag="hermes")
TOOLS["hermes"] = TOOLS["qwen3_json"] = HERMES
# Its adjust_request leaves skip_special_tokens alone: <|python_tag|> is usually decoded away.
TOOLS["llama3_json"] = TOOLS["llama4_json"] = ToolSpec(
    _llama3_json, lambda request: False, structural_tag="llama"
)

TOOLS["deepseek_v3"] = ToolSpec(_deepseek_v3, lambda request: False, structural_tag="deepseek_r1")
TOOLS["deepseek_v31"] = ToolSpec(
    _deepseek_v31, lambda request: False, structural_tag="deepseek_v3_1"
)
# No structural tag: vLLM forces calls with a JSON schema and reads them as JSON.
TOOLS["pythonic"] = ToolSpec(_pythonic, lambda request: False)
TOOLS["llama4_pythonic"] = ToolSpec(_llama4_pythonic, lambda request: False)

# gpt-oss: the names select the harmony parser in registry.compose; the specs say what vLLM's
# adjust_request does for them (nothing to skip_special_tokens) and how calls are forced.
REASONING["openai_gptoss"] = ReasoningSpec(None)
TOOLS["openai"] = ToolSpec(None, lambda request: False, structural_tag="harmony")
