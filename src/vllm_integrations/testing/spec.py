"""What makes one scripted tiny model differ from another, as data: its scripts and how a reply
is written, its tokenizer, chat template, architecture and training, and the parsers vLLM serves
it with. One set of build, cache and server code then serves every variant.

Each variant is cached under its own fingerprint, which hashes how it differs from the first
model: that model's fingerprint (and cache) predates the variants and stays what it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from vllm_integrations.testing.script import Script


@dataclass(frozen=True)
class TokenizerOptions:
    """A byte-level BPE learnt from the scripts, with the family's control tokens."""

    special_tokens: tuple[str, ...]
    """Control tokens, first in the vocabulary (the first is the padding token)."""
    eos: str
    tags: tuple[str, ...] = ()
    """Think and tool tags, added after the BPE: one token each."""
    tags_special: bool = False
    """Whether the tags are special tokens (decoders that skip special tokens drop them)."""
    bos: str | None = None
    split: str = ""
    """The pre-tokenizer's split regex (the family's own)."""
    tokenizer_class: str = "PreTrainedTokenizerFast"
    vocab_size: int = 1024

    @property
    def pad(self) -> str:
        return self.special_tokens[0]


@dataclass(frozen=True)
class Training:
    """The transformer's shape and the full-batch AdamW run that teaches it the scripts."""

    architecture: str = "qwen2"
    """``qwen2`` or ``llama`` (the transformers config the weights are saved with)."""
    seed: int = 1234
    hidden: int = 256
    layers: int = 2
    heads: int = 4  # head_dim 64: vLLM's CPU attention rejects smaller heads
    kv_heads: int = 2
    max_positions: int = 2048
    learning_rate: float = 3e-3
    max_steps: int = 1200
    check_every: int = 25
    min_margin: float = 3.0  # logit gap between the scripted token and the runner-up
    max_batch_tokens: int = 6000

    def settings(self) -> dict[str, int | float]:
        """The numeric settings under the names the fingerprint has always used for them."""
        return {
            f.name.upper(): getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), int | float)
        }


@dataclass(frozen=True)
class ModelSpec:
    """One scripted tiny model: everything its build, its cache and its servers depend on."""

    name: str
    """Cache directory prefix and ``python -m vllm_integrations.testing --model`` name."""
    served_model_name: str
    scripts: tuple[Script, ...]
    tokenizer: TokenizerOptions
    reasoning_parser: str | None
    """vLLM's ``--reasoning-parser`` for the model (None: it does not reason)."""
    tool_call_parser: str
    """vLLM's ``--tool-call-parser`` for the model."""
    completion: Callable[[Script], str] = Script.completion
    """What the model writes for a script, without the end-of-sequence token."""
    template: str = "chat_template.jinja"
    training: Training = field(default_factory=Training)
    weights_from: ModelSpec | None = None
    """A variant whose token IDs equal this spec's for every script (only the tokenizer's
    metadata differs) takes that spec's trained weights instead of training the same again."""

    def chat_template(self) -> str:
        return resources.files(__package__).joinpath(self.template).read_text("utf-8")

    def script(self, name: str) -> Script:
        """The script called ``name``."""
        for candidate in self.scripts:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no script named {name!r}")

    def description(self) -> dict[str, Any]:
        """What shapes the model files beyond the scripts, template, vocabulary size, split
        and training settings (which every fingerprint holds), as plain JSON data."""
        options = {
            f.name: getattr(self.tokenizer, f.name)
            for f in dataclasses.fields(self.tokenizer)
            if f.name not in ("vocab_size", "split")
        }
        return {
            "name": self.name,
            "tokenizer": options,
            "architecture": self.training.architecture,
            "weights_from": self.weights_from.name if self.weights_from else None,
        }
