"""A small byte-level BPE tokenizer for a tiny model: by default the first model's, with ChatML
specials and think/tool tags; other families give their own ``TokenizerOptions``.

Byte-level, so any prompt (accents, CJK, emoji) tokenizes; the vocabulary is learnt from the
scripts and the template, so the scripted answers are short in tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any

from vllm_integrations.testing.script import SCRIPTS, TOOL_SPELLINGS, Script
from vllm_integrations.testing.spec import TokenizerOptions

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
QWEN_TOKENIZER = TokenizerOptions(
    special_tokens=SPECIAL_TOKENS,
    eos=IM_END,
    tags=TAG_TOKENS,
    split=QWEN2_SPLIT,
    tokenizer_class="Qwen2Tokenizer",
    vocab_size=VOCAB_SIZE,
)


def chat_template() -> str:
    return resources.files(__package__).joinpath("chat_template.jinja").read_text("utf-8")


def training_corpus(
    scripts: Sequence[Script] = SCRIPTS,
    template: str | None = None,
    completion: Callable[[Script], str] = Script.completion,
) -> list[str]:
    """Texts the BPE merges are learnt from: the template, every prompt, answer and tool
    spelling (by default the first model's)."""
    texts = [chat_template() if template is None else template]
    for script in scripts:
        texts.append(completion(script))
        texts.extend(str(m.get("content") or "") for m in script.messages)
        for spelling in TOOL_SPELLINGS:
            texts.extend(json.dumps(t, ensure_ascii=False) for t in script.openai_tools(spelling))
    return texts


def build_tokenizer(
    texts: Iterable[str] | None = None,
    options: TokenizerOptions = QWEN_TOKENIZER,
    template: str | None = None,
) -> Any:
    """A transformers fast tokenizer carrying the chat template, ready for ``save_pretrained``
    (by default the first model's)."""
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
            pre_tokenizers.Split(Regex(options.split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=options.vocab_size,
        special_tokens=list(options.special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(texts if texts is not None else training_corpus()), trainer)
    tags = [AddedToken(tag, special=options.tags_special, normalized=False) for tag in options.tags]
    core.add_tokens(tags)
    bos = {"bos_token": options.bos} if options.bos else {}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=options.eos,
        pad_token=options.pad,
        model_max_length=2048,
        tokenizer_class=options.tokenizer_class,
        **bos,
    )
    if options.tags_special:  # listed by transformers as special too, as such tokenizers do
        tokenizer.add_special_tokens({"additional_special_tokens": list(options.tags)})
    tokenizer.chat_template = chat_template() if template is None else template
    return tokenizer
