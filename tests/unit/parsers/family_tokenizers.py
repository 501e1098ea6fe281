"""Small byte-level BPE tokenizers per model family, built here (no model hub), with the
family's tags as special tokens, as added tokens that are not special, or as plain text.

What the parsers must get right is where the tags are: vLLM finds them by token ID where its
parsers do, and decodes with special tokens kept or dropped as ``adjust_request`` says; the
same tags in the three spellings exercise every path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

TagKind = Literal["special", "added", "plain"]
END_OF_TEXT = "<|endoftext|>"


def build(
    directory: Path, tags: Iterable[str], kind: TagKind, corpus: Iterable[str], eos: str
) -> Path:
    """Train a byte-level BPE on ``corpus``, add ``tags`` as ``kind``, save it in ``directory``
    as a transformers fast tokenizer whose EOS (always special) is ``eos``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=[eos, END_OF_TEXT] if eos != END_OF_TEXT else [eos],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(corpus), trainer)
    if kind != "plain":
        added = [AddedToken(t, special=kind == "special", normalized=False) for t in tags]
        if kind == "special":
            core.add_special_tokens(added)
        else:
            core.add_tokens(added)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=eos, pad_token=END_OF_TEXT, model_max_length=4096
    )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))
    return directory
