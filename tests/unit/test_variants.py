"""The tiny model variants as data: each its own cache, tokenizers that keep what the weights
learnt, and the Llama 3.1 reply format vLLM's ``llama3_json`` parser reads."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from vllm_integrations.testing import LLAMA, SPECIAL_TAGS, TINY, VARIANTS, ModelSpec
from vllm_integrations.testing.llama import EOT, PYTHON_TAG
from vllm_integrations.testing.model import fingerprint, model_dir
from vllm_integrations.testing.spec import Training
from vllm_integrations.testing.tokenizer import build_tokenizer, training_corpus


def tokenizer(spec: ModelSpec) -> Any:
    template = spec.chat_template()
    corpus = training_corpus(spec.scripts, template, spec.completion)
    return build_tokenizer(corpus, spec.tokenizer, template)


@pytest.fixture(scope="module")
def tiny_tokenizer() -> Any:
    return tokenizer(TINY)


def test_each_variant_has_its_own_cache() -> None:
    directories = {model_dir(spec) for spec in VARIANTS.values()}
    assert len(directories) == len(VARIANTS)
    assert all(model_dir(spec).name.startswith(f"{spec.name}-") for spec in VARIANTS.values())


def test_a_variant_taking_weights_is_rebuilt_when_they_change() -> None:
    retrained = dataclasses.replace(TINY, training=Training(seed=7))
    moved = dataclasses.replace(SPECIAL_TAGS, weights_from=retrained)
    assert fingerprint(moved) != fingerprint(SPECIAL_TAGS)


def test_special_tags_change_no_token_id(tiny_tokenizer: Any) -> None:
    """What lets the special-tags model take the first model's weights."""
    special = tokenizer(SPECIAL_TAGS)
    assert special.get_vocab() == tiny_tokenizer.get_vocab()
    for s in SPECIAL_TAGS.scripts:
        completion = s.completion()
        ids = special.encode(completion, add_special_tokens=False)
        assert ids == tiny_tokenizer.encode(completion, add_special_tokens=False)


def test_special_tags_are_dropped_by_a_decoder_that_skips_special_tokens(
    tiny_tokenizer: Any,
) -> None:
    special = tokenizer(SPECIAL_TAGS)
    completion = SPECIAL_TAGS.script("weather_tool").completion()
    ids = special.encode(completion, add_special_tokens=False)
    assert set(SPECIAL_TAGS.tokenizer.tags) <= set(special.all_special_tokens)
    untagged = completion
    for tag in SPECIAL_TAGS.tokenizer.tags:
        untagged = untagged.replace(tag, "")
    assert special.decode(ids, skip_special_tokens=True) == untagged
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == completion


def test_llama_replies_are_bare_json_calls_joined_by_semicolons() -> None:
    assert LLAMA.completion(LLAMA.script("parallel_tools")) == (
        '{"name": "get_weather", "parameters": {"city": "Paris"}}; '
        '{"name": "get_time", "parameters": {"city": "Tokyo"}}'
    )
    assert LLAMA.completion(LLAMA.script("capital")) == "The capital of France is Paris."
    assert all(s.reasoning is None for s in LLAMA.scripts)


def test_llama_tokenizer_has_what_vllm_asks_of_the_family() -> None:
    llama = tokenizer(LLAMA)
    assert PYTHON_TAG in llama.get_vocab()  # vLLM's llama3_json refuses to start without it
    assert llama.eos_token == EOT
    for s in LLAMA.scripts:
        ids = llama.encode(LLAMA.completion(s), add_special_tokens=False)
        assert llama.decode(ids) == LLAMA.completion(s)
