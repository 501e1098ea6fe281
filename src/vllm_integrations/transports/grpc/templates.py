"""The chat template, rendered on the client as vLLM's HTTP server renders it.

vLLM's gRPC server takes token IDs only, so the prompt is built here: messages are normalized
the way vLLM hands them to the template, rendered with the tokenizer's own template, then
tokenized without special tokens (the template already wrote them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def vllm_view(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as vLLM passes them to a string-content template: text parts joined with
    newlines, tool-call arguments parsed from their JSON text."""
    viewed = []
    for source in messages:
        message = dict(source)
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") != "text":
                    raise ValueError(
                        f"a {message.get('role')} message has a {part.get('type')!r} part: "
                        "over gRPC only text is sent for now (multimodal input needs the "
                        "server's processor); use the HTTP transport for it"
                    )
            message["content"] = "\n".join(p["text"] for p in content)
        calls = message.get("tool_calls")
        if calls:
            message["tool_calls"] = [_parsed_call(call) for call in calls]
        viewed.append(message)
    return viewed


def _parsed_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = dict(call["function"])
    if isinstance(function.get("arguments"), str):
        function["arguments"] = json.loads(function["arguments"] or "{}")
    return {**call, "function": function}


def render_chat(
    tokenizer: Any,
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> tuple[str, list[int]]:
    """The prompt text and its token IDs for one chat turn."""
    text = tokenizer.apply_chat_template(
        vllm_view(messages),
        tools=list(tools) if tools else None,
        add_generation_prompt=True,
        tokenize=False,
        **dict(chat_template_kwargs or {}),
    )
    return str(text), list(tokenizer.encode(text, add_special_tokens=False))
