"""Parser selection and the decoding around the parsers (their results against vLLM's own are
in tests/unit/parsers/, the differential tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.parsers import family_tokenizers
from vllm_integrations.transports.grpc.parsers import (
    REASONING,
    TOOLS,
    RequestFacts,
    check_parser_names,
    compose,
    skip_special_tokens,
)
from vllm_integrations.transports.grpc.session import ChoiceState, ModelSetup, ToolPolicy
from vllm_integrations.types import assemble_tool_calls

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
QWEN3_TAGS = ("<think>", "</think>", "<tool_call>", "</tool_call>")


def test_the_registry_knows_vllm_names() -> None:
    assert {
        "qwen3", "deepseek_r1", "deepseek_v3", "glm45", "kimi_k2", "granite", "mistral",
        "openai_gptoss",
    } <= set(REASONING)  # fmt: skip
    assert {
        "hermes", "qwen3_coder", "qwen3_xml", "glm45", "kimi_k2", "granite", "llama3_json",
        "llama4_json", "pythonic", "llama4_pythonic", "mistral", "deepseek_v3", "deepseek_v31",
        "openai",
    } <= set(TOOLS)  # fmt: skip


def test_unknown_names_fail_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'nope'.*deepseek_r1.*qwen3"):
        check_parser_names("nope", None)
    with pytest.raises(ValueError, match=r"'nope'.*hermes"):
        check_parser_names(None, "nope")


def test_adapters_reject_unknown_names_at_construction_without_a_server() -> None:
    from vllm_integrations.grpc import VLLMGrpcClient
    from vllm_integrations.langchain import ChatVLLM
    from vllm_integrations.llama_index import VLLM

    for make in (
        lambda: ChatVLLM(model="m", base_url="grpc://127.0.0.1:9", tool_call_parser="nope"),
        lambda: VLLM(model="m", base_url="grpc://127.0.0.1:9", reasoning_parser="nope"),
        lambda: VLLMGrpcClient(host="127.0.0.1", port=9, tool_call_parser="nope"),
    ):
        with pytest.raises(ValueError, match=r"unknown .* parser 'nope'; known: "):
            make()


@pytest.mark.parametrize(
    ("reasoning", "tools", "request_", "kept"),
    [
        (None, None, RequestFacts(tools=[WEATHER]), False),
        (None, "hermes", RequestFacts(), False),  # no tools: tool_choice "none"
        (None, "hermes", RequestFacts(tools=[WEATHER]), True),
        (None, "hermes", RequestFacts(tools=[WEATHER], tool_choice="none"), False),
        ("qwen3", None, RequestFacts(), True),  # engine parsers keep special tokens
        ("deepseek_r1", None, RequestFacts(), False),
        ("deepseek_r1", "qwen3_coder", RequestFacts(), True),
        (None, "kimi_k2", RequestFacts(tools=[WEATHER], tool_choice="none"), False),
        (None, "llama3_json", RequestFacts(tools=[WEATHER]), False),  # <|python_tag|> dropped
        (None, "pythonic", RequestFacts(tools=[WEATHER]), False),
        (None, "deepseek_v31", RequestFacts(tools=[WEATHER]), False),
        (None, "mistral", RequestFacts(tools=[WEATHER]), True),
        (None, "mistral", RequestFacts(tools=[WEATHER], tool_choice="none"), False),
        ("mistral", None, RequestFacts(), True),
        ("granite", None, RequestFacts(), False),
    ],
)
def test_special_tokens_are_kept_when_vllm_adjust_request_keeps_them(
    reasoning: str | None, tools: str | None, request_: RequestFacts, kept: bool
) -> None:
    assert skip_special_tokens(reasoning, tools, request_, True) is not kept


@pytest.fixture(scope="module")
def special_qwen3(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from transformers import AutoTokenizer

    corpus = ["The weather in Paris.", '{"name": "get_weather", "arguments": {"city": "Paris"}}']
    path: Path = family_tokenizers.build(
        tmp_path_factory.mktemp("qwen3"), QWEN3_TAGS, "special", corpus, "<|im_end|>"
    )
    return AutoTokenizer.from_pretrained(str(path))


@pytest.mark.parametrize("stream", [True, False])
def test_tags_that_are_special_tokens_still_split_reasoning_and_calls(
    special_qwen3: Any, stream: bool
) -> None:
    """The issue's case: a Qwen3-style tokenizer whose tags are special tokens."""
    text = (
        "Let me see.</think>It is sunny."
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    )
    ids = special_qwen3.encode(text, add_special_tokens=False)
    assert special_qwen3.convert_tokens_to_ids("</think>") in ids
    setup = ModelSetup(special_qwen3, "m", 4096, (), 1.0, "qwen3", "hermes")
    policy = ToolPolicy(request=RequestFacts(tools=[WEATHER]))
    choice = ChoiceState(setup, {}, prompt_ids=(), tools=policy, stream=stream)
    parts = [choice.step([i]) for i in ids] if stream else [choice.step(ids)]
    reasoning, content, calls = choice.finish()
    reasoning = "".join(p[0] for p in parts) + reasoning
    content = "".join(p[1] for p in parts) + content
    every_call = [c for p in parts for c in p[2]] + calls
    assert (reasoning, content) == ("Let me see.", "It is sunny.")
    [call] = assemble_tool_calls(every_call)
    assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (("[INST]",), "could not locate the tool call token"),
        (("[TOOL_CALLS]",), r"v11\+ tokenizer \(with \[ARGS\]\)"),
    ],
)
def test_mistral_tokenizers_the_client_cannot_read_as_vllm_fail_clearly(
    tmp_path: Path, tags: tuple[str, ...], message: str
) -> None:
    """No [TOOL_CALLS]: vLLM refuses the parser too; no [ARGS] (before v11): vLLM reads the
    calls with ijson in a path the client does not follow, so it refuses rather than differ."""
    from transformers import AutoTokenizer

    path = family_tokenizers.build(tmp_path, tags, "special", ["Hello there.", *tags], "</s>")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    with pytest.raises(ValueError, match=message):
        compose(None, "mistral", tokenizer, RequestFacts(tools=[WEATHER]), ())
