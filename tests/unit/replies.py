"""Neutral replies for adapter tests, with only the fields a test cares about spelled out."""

from __future__ import annotations

from typing import Any

from vllm_integrations.types import ChatReply, ResponseInfo


def chat_reply(**fields: Any) -> ChatReply:
    """A finished reply: empty text, no tools, usage or logprobs, unless ``fields`` say."""
    defaults: dict[str, Any] = {
        "content": "",
        "reasoning": "",
        "tool_calls": (),
        "finish_reason": "stop",
        "logprobs": None,
        "usage": None,
        "info": ResponseInfo(),
    }
    return ChatReply(**{**defaults, **fields})
