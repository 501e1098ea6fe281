"""VLLM (text completion) against the real server: the chat template rendered by hand as a raw
prompt gives the scripted completion exactly, in invoke, stream and async."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from vllm_integrations.langchain import VLLM
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.testing import SERVED_MODEL_NAME, script


@pytest.fixture
def llm(base_url: str) -> VLLM:
    return VLLM(model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, max_tokens=128)


def _rendered(model: Path, **template_kwargs: bool) -> str:
    tokenizer = AutoTokenizer.from_pretrained(str(model))
    messages = script("capital").chat_messages()
    return str(
        tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False, **template_kwargs
        )
    )


@pytest.fixture(scope="module")
def capital_prompt(vllm_tiny_model: Path) -> str:
    return _rendered(vllm_tiny_model)


@pytest.fixture(scope="module")
def answer_prompt(vllm_tiny_model: Path) -> str:
    """A prompt past the reasoning: a server with a reasoning parser constrains only the answer."""
    return _rendered(vllm_tiny_model, enable_thinking=False)


def test_invoke_and_stream_give_the_scripted_completion(llm: VLLM, capital_prompt: str) -> None:
    expected = script("capital").completion()
    assert llm.invoke(capital_prompt) == expected
    assert "".join(llm.stream(capital_prompt)) == expected


async def test_async(llm: VLLM, capital_prompt: str) -> None:
    expected = script("capital").completion()
    assert await llm.ainvoke(capital_prompt) == expected
    assert "".join([piece async for piece in llm.astream(capital_prompt)]) == expected


def test_generation_info_usage_and_logprobs(llm: VLLM, capital_prompt: str, transport: str) -> None:
    result = llm.model_copy(update={"logprobs": 2}).generate([capital_prompt])
    generation = result.generations[0][0]
    info = generation.generation_info or {}
    assert info["finish_reason"] == "stop"
    assert info["model_name"] == SERVED_MODEL_NAME
    if transport == "gateway":
        assert "logprobs" not in info  # smg's completions API returns none
    else:
        assert len(info["logprobs"]["tokens"]) == info["usage_metadata"]["output_tokens"]
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["completion_tokens"] > 0


def test_structured_outputs_bind_per_call(llm: VLLM, answer_prompt: str) -> None:
    constrained = llm.bind(structured_outputs=StructuredOutputs(regex=r"[a-z]{4}"))
    assert re.fullmatch(r"[a-z]{4}", constrained.invoke(answer_prompt))
    chosen = llm.bind(structured_outputs={"choice": ["left", "right"]}).invoke(answer_prompt)
    assert chosen in ("left", "right")


def test_a_stop_string_cuts_the_text_and_is_the_stop_reason(
    llm: VLLM, capital_prompt: str, transport: str
) -> None:
    completion = script("capital").completion()
    word = script("capital").content.split()[1]
    stop_reason = None if transport == "gateway" else word  # smg does not say what stopped
    generation = llm.generate([capital_prompt], stop=[word]).generations[0][0]
    assert generation.text == completion.split(word)[0]
    assert (generation.generation_info or {}).get("stop_reason") == stop_reason
    *_, last = llm._stream(capital_prompt, stop=[word])
    assert (last.generation_info or {}).get("stop_reason") == stop_reason
