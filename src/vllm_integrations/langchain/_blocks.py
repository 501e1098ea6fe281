"""Standard content blocks for vLLM replies, registered with LangChain for provider "vllm".

LangChain's fallback would give a reasoning block and the first tool-call chunk the same
stream index (0), so ``output_version="v1"`` streams would merge them into one block. Here each
tool-call chunk is indexed by its own call (``"tool_call_N"``), apart from text and reasoning.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator

from vllm_integrations.langchain._messages import PROVIDER, REASONING_KEY


def _reasoning_and_text(message: AIMessage) -> list[types.ContentBlock]:
    if isinstance(message.content, list):  # already standard blocks (v1 output)
        return cast("list[types.ContentBlock]", message.content)
    blocks: list[types.ContentBlock] = []
    reasoning = message.additional_kwargs.get(REASONING_KEY)
    if reasoning:
        blocks.append({"type": "reasoning", "reasoning": reasoning})
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    return blocks


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    blocks = _reasoning_and_text(message)
    if isinstance(message.content, list):
        return blocks
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_call", "id": call["id"], "name": call["name"], "args": call["args"]}
        )
    for invalid in message.invalid_tool_calls:
        block: dict[str, Any] = {"type": "invalid_tool_call", **invalid}
        blocks.append(cast("types.InvalidToolCall", block))
    return blocks


def translate_content_chunk(chunk: AIMessageChunk) -> list[types.ContentBlock]:
    if chunk.chunk_position == "last" or isinstance(chunk.content, list):
        return translate_content(chunk)  # aggregated: whole tool calls
    blocks = _reasoning_and_text(chunk)
    for piece in chunk.tool_call_chunks:
        blocks.append(
            {
                "type": "tool_call_chunk",
                "id": piece.get("id"),
                "name": piece.get("name"),
                "args": piece.get("args"),
                "index": f"tool_call_{piece.get('index') or 0}",
            }
        )
    return blocks


register_translator(PROVIDER, translate_content, translate_content_chunk)
