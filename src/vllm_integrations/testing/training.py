"""Train the tiny Qwen2-architecture model until greedy decoding reproduces every script.

Runs where torch is installed (the vLLM server's environment). Loss is on the completion only;
training stops once every completion token is the argmax by a safe margin, so numerical noise
in vLLM's CPU kernels cannot flip a greedy choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vllm_integrations.testing.script import SCRIPTS, Script
from vllm_integrations.testing.tokenizer import IM_END, build_tokenizer
from vllm_integrations.transports.grpc.templates import render_chat

SEED = 1234
HIDDEN = 256
LAYERS = 2
HEADS = 4  # head_dim 64: vLLM's CPU attention rejects smaller heads
KV_HEADS = 2
MAX_POSITIONS = 2048
LEARNING_RATE = 3e-3
MAX_STEPS = 1200
CHECK_EVERY = 25
MIN_MARGIN = 3.0  # logit gap between the scripted token and the runner-up
MAX_BATCH_TOKENS = 6000


@dataclass(frozen=True)
class Example:
    name: str
    prompt_ids: list[int]
    completion_ids: list[int]


def render_examples(tokenizer: Any) -> list[Example]:
    """Every script as token IDs, rendered with the tokenizer's own template, as vLLM does."""
    examples = []
    for script in SCRIPTS:
        for spelling in script.spellings:
            examples.append(_example(tokenizer, script, spelling))
    return examples


def _example(tokenizer: Any, script: Script, spelling: str) -> Example:
    _, prompt_ids = render_chat(
        tokenizer,
        script.chat_messages(),
        tools=script.openai_tools(spelling),
        chat_template_kwargs=script.chat_template_kwargs(),
    )
    return Example(
        name=f"{script.name}[{spelling}]",
        prompt_ids=prompt_ids,
        completion_ids=tokenizer.encode(script.completion() + IM_END, add_special_tokens=False),
    )


def build_model(out_dir: Path, *, log: Any = print) -> None:
    """Build tokenizer and weights into ``out_dir`` (an empty directory)."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(SEED)
    build_tokenizer().save_pretrained(out_dir)
    # Train on the prompts exactly as vLLM will tokenize them: with the tokenizer as loaded.
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    examples = render_examples(tokenizer)
    eos_id = int(tokenizer.convert_tokens_to_ids(IM_END))
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=HIDDEN * 3,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    model = Qwen2ForCausalLM(config)
    _train(model, examples, log)
    model.generation_config = GenerationConfig(
        eos_token_id=eos_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(out_dir, safe_serialization=True)


def _batches(examples: list[Example], pad_id: int) -> list[tuple[Any, Any, Any]]:
    """Length-sorted batches under a token budget: one full-batch gradient, less padding."""
    import torch

    ordered = sorted(examples, key=lambda e: len(e.prompt_ids) + len(e.completion_ids))
    groups: list[list[Example]] = [[]]
    for example in ordered:
        length = len(example.prompt_ids) + len(example.completion_ids)
        if groups[-1] and length * (len(groups[-1]) + 1) > MAX_BATCH_TOKENS:
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


def _train(model: Any, examples: list[Example], log: Any) -> None:
    import torch

    batches = _batches(examples, model.config.pad_token_id)
    label_count = sum(int((labels != -100).sum()) for _, labels, _ in batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / MAX_STEPS))
    )
    for step in range(1, MAX_STEPS + 1):
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
        if step % CHECK_EVERY == 0:
            margin = _min_margin(model, batches)
            log(f"step {step}: loss {total / label_count:.4f}, min margin {margin:.2f}")
            if margin >= MIN_MARGIN:
                return
    raise RuntimeError(f"the tiny model did not learn its scripts in {MAX_STEPS} steps")


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
