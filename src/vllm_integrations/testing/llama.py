"""The Llama 3.1 variant of the scripted tiny model: bare JSON tool calls for vLLM's
``llama3_json`` parser, on a Llama architecture with a Llama-3-style template.

Four scripts (one call, two parallel calls, the answer to a tool result, a plain answer) are what
the family's format needs, and a tiny model learns them in minutes.
"""

from __future__ import annotations

import dataclasses
import json

from vllm_integrations.testing.script import Script, script
from vllm_integrations.testing.spec import ModelSpec, TokenizerOptions, Training

BEGIN_OF_TEXT = "<|begin_of_text|>"
END_OF_TEXT = "<|end_of_text|>"
EOT = "<|eot_id|>"
PYTHON_TAG = "<|python_tag|>"
"""Never written by these scripts, but vLLM refuses ``llama3_json`` without it in the vocabulary."""
LLAMA_SPECIALS = (
    END_OF_TEXT,
    BEGIN_OF_TEXT,
    "<|start_header_id|>",
    "<|end_header_id|>",
    EOT,
    "<|eom_id|>",
    PYTHON_TAG,
)
# Llama 3's pre-tokenizer split (digits in groups of up to three).
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SERVED_LLAMA_NAME = "vllm-integrations-tiny-llama"


def llama_json(s: Script) -> str:
    """The reply as a Llama 3.1 model writes it: its calls as bare JSON joined by "; ", else
    the answer."""
    calls = (
        json.dumps({"name": call.name, "parameters": call.arguments}, ensure_ascii=False)
        for call in s.tool_calls
    )
    return "; ".join(calls) or s.content


def _without_reasoning(s: Script) -> Script:
    return dataclasses.replace(s, reasoning=None)


LLAMA_SCRIPTS = tuple(
    _without_reasoning(script(name))
    for name in ("weather_tool", "parallel_tools", "weather_answer", "capital")
)
"""The first model's conversations, answered without reasoning (the family has none)."""

LLAMA = ModelSpec(
    name="tiny-llama",
    served_model_name=SERVED_LLAMA_NAME,
    scripts=LLAMA_SCRIPTS,
    tokenizer=TokenizerOptions(
        special_tokens=LLAMA_SPECIALS, eos=EOT, bos=BEGIN_OF_TEXT, split=LLAMA3_SPLIT
    ),
    completion=llama_json,
    template="llama_chat_template.jinja",
    training=Training(architecture="llama"),
    reasoning_parser=None,
    tool_call_parser="llama3_json",
)
