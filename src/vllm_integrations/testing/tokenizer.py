"""A small byte-level BPE tokenizer for the tiny model, with ChatML specials and think/tool tags.

Byte-level, so any prompt (accents, CJK, emoji) tokenizes; the vocabulary is learnt from the
scripts and the template, so the scripted answers are short in tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from vllm_integrations.testing.script import SCRIPTS, TOOL_SPELLINGS

END_OF_TEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (END_OF_TEXT, IM_START, IM_END)
# Added but not special, like Qwen3: decoders keep them, so parsers can see them.
TAG_TOKENS = ("<think>", "</think>", "<tool_call>", "</tool_call>")
VOCAB_SIZE = 1024
# Qwen2's pre-tokenizer split (digits one by one). The model's config names the qwen2 family,
# so transformers loads a Qwen2Tokenizer, which imposes this split: training must use it too.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def chat_template() -> str:
    return resources.files(__package__).joinpath("chat_template.jinja").read_text("utf-8")


def training_corpus() -> list[str]:
    """Texts the BPE merges are learnt from: every prompt, answer and tool spelling."""
    texts = [chat_template()]
    for script in SCRIPTS:
        texts.append(script.completion())
        texts.extend(str(m.get("content") or "") for m in script.messages)
        for spelling in TOOL_SPELLINGS:
            texts.extend(json.dumps(t, ensure_ascii=False) for t in script.openai_tools(spelling))
    return texts


def build_tokenizer(texts: Iterable[str] | None = None) -> Any:
    """A transformers fast tokenizer carrying the chat template, ready for ``save_pretrained``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.normalizer = normalizers.NFC()
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(texts if texts is not None else training_corpus()), trainer)
    core.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAG_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        model_max_length=2048,
        tokenizer_class="Qwen2Tokenizer",
    )
    tokenizer.chat_template = chat_template()
    return tokenizer
