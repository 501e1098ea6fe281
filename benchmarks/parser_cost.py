"""Per-token cost of each client-side parser, streamed one token per delta, for a short and a
long reply: flat per-token cost means the parser's work does not grow with the stream.

Each reply is reasoning, then text, then one tool call whose arguments carry the rest of the
tokens (the longest thing a parser must follow), in the family's own format; a word-level
tokenizer with the family's tags as special tokens stands in for the model's (for gpt-oss,
harmony's own encoding, in which each word is one token too).

    python benchmarks/parser_cost.py [--tokens 100 10000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from vllm_integrations.transports.grpc.parsers import RequestFacts, compose
from vllm_integrations.transports.grpc.parsers.harmony import encoding

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
WORDS = (
    " the", " cat", " dog", " sun", " rain", " city", " road", " tree", " blue", " red",
    " green", " stone", " water", " fire", " wind", " cloud", " light", " night", " day", " river",
)  # fmt: skip
"""One token each in every tokenizer here, harmony's included."""
HARMONY_CALL = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"


def _hermes(words: list[str]) -> list[str]:
    return [
        "<tool_call>",
        '{"name": "get_weather", "arguments": {"note": "',
        *words,
        '"}}',
        "</tool_call>",
    ]


def _qwen3_xml(words: list[str]) -> list[str]:
    return [
        "<tool_call>",
        "<function=get_weather>",
        "<parameter=note>",
        *words,
        "</parameter>",
        "</function>",
        "</tool_call>",
    ]


def _glm(words: list[str]) -> list[str]:
    return [
        "<tool_call>",
        "get_weather",
        "<arg_key>",
        "note",
        "</arg_key>",
        "<arg_value>",
        *words,
        "</arg_value>",
        "</tool_call>",
    ]


def _kimi(words: list[str]) -> list[str]:
    return [
        "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "functions.get_weather:0",
        "<|tool_call_argument_begin|>", '{"note": "', *words, '"}', "<|tool_call_end|>",
        "<|tool_calls_section_end|>",
    ]  # fmt: skip


def _granite(words: list[str]) -> list[str]:
    return ["<|tool_call|>", '[{"name": "get_weather", "arguments": {"note": "', *words, '"}}]']


def _llama3_json(words: list[str]) -> list[str]:
    return ["<|python_tag|>", '{"name": "get_weather", "parameters": {"note": "', *words, '"}}']


def _pythonic(words: list[str]) -> list[str]:
    return ["[get_weather(note='", *words, "')]"]


def _llama4_pythonic(words: list[str]) -> list[str]:
    return ["<|python_start|>", *_pythonic(words), "<|python_end|>"]


def _harmony(words: list[str]) -> list[str]:
    return ["<|end|>", "<|start|>assistant", HARMONY_CALL, '{"note": "', *words, '"}', "<|call|>"]


def _deepseek_v3(words: list[str]) -> list[str]:
    return [
        DS["calls begin"], DS["call begin"], "function", DS["sep"], "get_weather", "\n```json\n",
        '{"note": "', *words, '"}', "\n```", DS["call end"], DS["calls end"],
    ]  # fmt: skip


def _deepseek_v31(words: list[str]) -> list[str]:
    return [
        DS["calls begin"], DS["call begin"], "get_weather", DS["sep"], '{"note": "', *words, '"}',
        DS["call end"], DS["calls end"],
    ]  # fmt: skip


def _mistral(words: list[str]) -> list[str]:
    return ["[TOOL_CALLS]", "get_weather", "[ARGS]", '{"note": "', *words, '"}']


DS = {
    words: "<\uff5c" + words.replace(" ", "\u2581") + "\uff5c>"
    for words in ("tool calls begin", "tool calls end", "tool call begin", "tool call end")
} | {"sep": "<\uff5ctool\u2581sep\uff5c>"}
DS = {key.removeprefix("tool "): value for key, value in DS.items()}

CASES: dict[str, tuple[str | None, str | None, Callable[[list[str]], list[str]]]] = {
    "qwen3 + hermes": ("qwen3", "hermes", _hermes),
    "deepseek_r1 + hermes": ("deepseek_r1", "hermes", _hermes),
    "qwen3 + qwen3_coder": ("qwen3", "qwen3_coder", _qwen3_xml),
    "glm45 + glm45": ("glm45", "glm45", _glm),
    "kimi_k2 + kimi_k2": ("kimi_k2", "kimi_k2", _kimi),
    "granite": (None, "granite", _granite),
    "granite + granite": ("granite", "granite", _granite),
    "llama3_json": (None, "llama3_json", _llama3_json),
    "pythonic": (None, "pythonic", _pythonic),
    "llama4_pythonic": (None, "llama4_pythonic", _llama4_pythonic),
    "deepseek_r1 + deepseek_v3": ("deepseek_r1", "deepseek_v3", _deepseek_v3),
    "deepseek_v3 + deepseek_v31": ("deepseek_v3", "deepseek_v31", _deepseek_v31),
    "mistral + mistral": ("mistral", "mistral", _mistral),
    "openai_gptoss + openai": ("openai_gptoss", "openai", _harmony),
}
THINK = {
    "granite": ("Here is my thought process:", "Here is my response:"),
    "openai_gptoss": (
        "<|channel|>analysis<|message|>",
        "<|end|><|start|>assistant<|channel|>final<|message|>",
    ),
}
BARE_CALLS = ("llama3_json", "pythonic", "llama4_pythonic")
MISTRAL_THINK = ("[THINK]", "[/THINK]")
TAGS = (
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>",
    "</arg_value>", "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>",
    "<|tool_call_begin|>", "<|tool_call_end|>", "<|tool_call_argument_begin|>", "<|tool_call|>",
    "<|python_tag|>", "<|python_start|>", "<|python_end|>", "[TOOL_CALLS]", "[ARGS]", "[THINK]",
    "[/THINK]", *DS.values(),
)  # fmt: skip


def word_tokenizer(pieces: list[str]) -> Any:
    """Each distinct piece one token; the tags special."""
    from tokenizers import AddedToken, Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(["[UNK]", *pieces]))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.add_special_tokens([AddedToken(tag, special=True) for tag in TAGS])
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")


def reply(name: str, tokens: int) -> list[str]:
    """About ``tokens`` pieces in the same mix at every length: a quarter reasoning, a quarter
    text, half the arguments of one call (no text before a call the format reads only at the
    start of the reply, as Llama's and pythonic calls)."""
    reasoning, tools, build = CASES[name]
    thinking = [WORDS[i % len(WORDS)] for i in range(tokens // 4)]
    text = [WORDS[i % len(WORDS)] for i in range(tokens // 4)]
    call = build([WORDS[i % len(WORDS)] for i in range(tokens // 2)])
    if reasoning is None and tools in BARE_CALLS:
        return call
    begin, end = THINK.get(reasoning or "", MISTRAL_THINK if reasoning == "mistral" else TAGS[:2])
    if reasoning is None:
        return [*thinking, *text, *call]
    return [begin, *thinking, end, *text, *call]


class HarmonyTokenizer:
    """gpt-oss's tokenizer: harmony's own encoding."""

    def decode(self, token_ids: list[int]) -> str:
        return str(encoding().decode(token_ids))


def deltas_for(name: str, tokens: int) -> tuple[Any, list[tuple[str, list[int]]]]:
    """The tokenizer, and the reply as one (text, [token ID]) delta per token."""
    pieces = reply(name, tokens)
    if CASES[name][1] == "openai":
        ids = encoding().encode("".join(pieces), allowed_special="all")
        return HarmonyTokenizer(), [("", [i]) for i in ids]
    tokenizer = word_tokenizer(pieces)
    vocab = tokenizer.get_vocab()
    return tokenizer, [(piece, [vocab.get(piece, 0)]) for piece in pieces]


def per_token_us(name: str, tokens: int, repeats: int) -> float:
    reasoning, tools, _ = CASES[name]
    tokenizer, deltas = deltas_for(name, tokens)
    request = RequestFacts(tools=[WEATHER])
    best = float("inf")
    for _ in range(repeats):
        parser = compose(reasoning, tools, tokenizer, request, ())
        started = time.perf_counter()
        for text, ids in deltas:
            parser.feed(text, ids)
        parser.finish()
        best = min(best, time.perf_counter() - started)
    return best / len(deltas) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = [
        {"parser": name, "tokens": tokens, "us_per_token": per_token_us(name, tokens, args.repeats)}
        for name in CASES
        for tokens in args.tokens
    ]
    if args.json:
        json.dump({"results": results}, sys.stdout)
        return
    print(f"{'parsers':<24}" + "".join(f"{t:>12} tok" for t in args.tokens) + "   (µs/token)")
    for name in CASES:
        row = [r["us_per_token"] for r in results if r["parser"] == name]
        print(f"{name:<24}" + "".join(f"{us:>16.1f}" for us in row))


if __name__ == "__main__":
    main()
