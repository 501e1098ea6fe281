"""Train a tiny model (Qwen2 or Llama architecture) until greedy decoding reproduces every script.

Runs where torch is installed (the vLLM server's environment). Loss is on the completion only;
training stops once every completion token is the argmax by a safe margin, so numerical noise
in vLLM's CPU kernels cannot flip a greedy choice.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vllm_integrations.testing.script import Script
from vllm_integrations.testing.spec import ModelSpec, Training
from vllm_integrations.testing.tokenizer import build_tokenizer, training_corpus
from vllm_integrations.transports.grpc.templates import render_chat

_ARCHITECTURES = {
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
}
_WEIGHT_FILES = ("config.json", "generation_config.json", "model.safetensors")


@dataclass(frozen=True)
class Example:
    name: str
    prompt_ids: list[int]
    completion_ids: list[int]


def render_examples(tokenizer: Any, spec: ModelSpec) -> list[Example]:
    """Every script as token IDs, rendered with the tokenizer's own template, as vLLM does."""
    examples = []
    for script in spec.scripts:
        for spelling in script.spellings:
            examples.append(_example(tokenizer, spec, script, spelling))
    return examples


def _example(tokenizer: Any, spec: ModelSpec, script: Script, spelling: str) -> Example:
    _, prompt_ids = render_chat(
        tokenizer,
        script.chat_messages(),
        tools=script.openai_tools(spelling),
        chat_template_kwargs=script.chat_template_kwargs(),
    )
    return Example(
        name=f"{script.name}[{spelling}]",
        prompt_ids=prompt_ids,
        completion_ids=tokenizer.encode(
            spec.completion(script) + spec.tokenizer.eos, add_special_tokens=False
        ),
    )


def build_model(
    out_dir: Path, spec: ModelSpec, *, weights: Path | None = None, log: Any = print
) -> None:
    """Build tokenizer and weights into ``out_dir`` (an empty directory); with ``weights``, the
    built model of ``spec.weights_from``, take its weights instead of training."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig

    torch.manual_seed(spec.training.seed)
    template = spec.chat_template()
    corpus = training_corpus(spec.scripts, template, spec.completion)
    build_tokenizer(corpus, spec.tokenizer, template).save_pretrained(out_dir)
    # Train on the prompts exactly as vLLM will tokenize them: with the tokenizer as loaded.
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    examples = render_examples(tokenizer, spec)
    if weights is not None:
        _reuse_weights(spec, examples, weights, out_dir)
        return
    model = _new_model(spec, tokenizer)
    _train(model, examples, spec.training, log)
    model.generation_config = GenerationConfig(
        bos_token_id=model.config.bos_token_id if spec.tokenizer.bos else None,
        eos_token_id=model.config.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out_dir, safe_serialization=True)


def _new_model(spec: ModelSpec, tokenizer: Any) -> Any:
    """A randomly initialised model of the spec's architecture and shape."""
    import transformers

    config_name, model_name = _ARCHITECTURES[spec.training.architecture]
    shape = spec.training
    eos_id = int(tokenizer.convert_tokens_to_ids(spec.tokenizer.eos))
    bos = spec.tokenizer.bos
    config = getattr(transformers, config_name)(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        intermediate_size=shape.hidden * 3,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        max_position_embeddings=shape.max_positions,
        tie_word_embeddings=True,
        bos_token_id=int(tokenizer.convert_tokens_to_ids(bos)) if bos else eos_id,
        eos_token_id=eos_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    return getattr(transformers, model_name)(config)


def _reuse_weights(spec: ModelSpec, examples: list[Example], weights: Path, out_dir: Path) -> None:
    """Copy the weights of ``spec.weights_from`` once every example is the same token IDs under
    both tokenizers (what makes the weights fit)."""
    from transformers import AutoTokenizer

    assert spec.weights_from is not None
    base = render_examples(AutoTokenizer.from_pretrained(weights), spec.weights_from)
    if base != examples:
        raise RuntimeError(
            f"{spec.name} tokenizes its scripts unlike {spec.weights_from.name}: "
            "its weights do not fit, train it instead"
        )
    for name in _WEIGHT_FILES:
        shutil.copy2(weights / name, out_dir / name)


def _batches(examples: list[Example], pad_id: int, budget: int) -> list[tuple[Any, Any, Any]]:
    """Length-sorted batches under a token budget: one full-batch gradient, less padding."""
    import torch

    ordered = sorted(examples, key=lambda e: len(e.prompt_ids) + len(e.completion_ids))
    groups: list[list[Example]] = [[]]
    for example in ordered:
        length = len(example.prompt_ids) + len(example.completion_ids)
        if groups[-1] and length * (len(groups[-1]) + 1) > budget:
            groups.append([])
        groups[-1].append(example)
    batches = []
    for group in groups:
        width = max(len(e.prompt_ids) + len(e.completion_ids) for e in group)
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        labels = torch.full((len(group), width), -100, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, e in enumerate(group):
            sequence = e.prompt_ids + e.completion_ids
            ids[row, : len(sequence)] = torch.tensor(sequence)
            labels[row, len(e.prompt_ids) : len(sequence)] = torch.tensor(e.completion_ids)
            mask[row, : len(sequence)] = 1
        batches.append((ids, labels, mask))
    return batches


def _train(model: Any, examples: list[Example], training: Training, log: Any) -> None:
    import torch

    batches = _batches(examples, model.config.pad_token_id, training.max_batch_tokens)
    label_count = sum(int((labels != -100).sum()) for _, labels, _ in batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=training.learning_rate, weight_decay=0.0)
    steps = training.max_steps
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    for step in range(1, steps + 1):
        model.train()
        optimizer.zero_grad()
        total = 0.0
        for ids, labels, mask in batches:
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1), reduction="sum"
            )
            (loss / label_count).backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % training.check_every == 0:
            margin = _min_margin(model, batches)
            log(f"step {step}: loss {total / label_count:.4f}, min margin {margin:.2f}")
            if margin >= training.min_margin:
                return
    raise RuntimeError(f"the tiny model did not learn its scripts in {steps} steps")


def _min_margin(model: Any, batches: list[tuple[Any, Any, Any]]) -> float:
    """Smallest gap, over every scripted token, between its logit and the best other logit."""
    import torch

    model.eval()
    worst = math.inf
    with torch.no_grad():
        for ids, labels, mask in batches:
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            target = labels[:, 1:]
            keep = target != -100
            picked = logits[keep]
            wanted = target[keep]
            right = picked.gather(1, wanted[:, None]).squeeze(1)
            picked = picked.scatter(1, wanted[:, None], -math.inf)
            worst = min(worst, float((right - picked.max(dim=1).values).min()))
    return worst
