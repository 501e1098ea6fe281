"""The scripted tiny models the tests run on, by name.

- ``tiny-model``: Qwen3-style (ChatML, reasoning, hermes tool calls), its think and tool tags
  plain added tokens, as Qwen3's tokenizer has them.
- ``tiny-model-special-tags``: the same model with those tags marked special, as some tokenizers
  have them: decoders that skip special tokens drop them, so parsers must find them by ID.
- ``tiny-llama``: Llama 3.1 JSON tool calls (``llama3_json``).
"""

from __future__ import annotations

import dataclasses

from vllm_integrations.testing.llama import LLAMA
from vllm_integrations.testing.script import SCRIPTS, SERVED_MODEL_NAME
from vllm_integrations.testing.spec import ModelSpec
from vllm_integrations.testing.tokenizer import QWEN_TOKENIZER

__all__ = ["LLAMA", "SPECIAL_TAGS", "TINY", "VARIANTS", "variant"]

TINY = ModelSpec(
    name="tiny-model",
    served_model_name=SERVED_MODEL_NAME,
    scripts=SCRIPTS,
    tokenizer=QWEN_TOKENIZER,
    reasoning_parser="qwen3",
    tool_call_parser="hermes",
)
SPECIAL_TAGS = dataclasses.replace(
    TINY,
    name="tiny-model-special-tags",
    served_model_name=f"{SERVED_MODEL_NAME}-special-tags",
    tokenizer=dataclasses.replace(QWEN_TOKENIZER, tags_special=True),
    # Marking a tag special changes no token ID, so the weights trained for TINY fit as they are.
    weights_from=TINY,
)
VARIANTS = {spec.name: spec for spec in (TINY, SPECIAL_TAGS, LLAMA)}


def variant(name: str) -> ModelSpec:
    """The model spec called ``name``."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise KeyError(f"no tiny model {name!r}; known: {', '.join(VARIANTS)}") from None
