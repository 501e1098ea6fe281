"""LangChain messages to and from the neutral types: small pure functions, one per direction.

Reasoning travels as ``additional_kwargs["reasoning_content"]`` (the key LangChain's core turns
into a reasoning content block) and goes back to vLLM as ``reasoning`` on assistant messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    InvalidToolCall,
    ToolCall,
    UsageMetadata,
    convert_to_openai_messages,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    Message,
    ResponseInfo,
    StopReason,
    Usage,
    merge_tool_call_deltas,
)

PROVIDER = "vllm"
REASONING_KEY = "reasoning_content"


def to_openai_messages(messages: Sequence[BaseMessage], *, send_reasoning: bool) -> list[Message]:
    """The conversation in the OpenAI chat format vLLM reads, reasoning included if asked.

    An assistant turn keeps only its text as content: its tool calls travel as ``tool_calls``
    and its reasoning as ``reasoning``, never as content blocks vLLM would reject.
    """
    converted = convert_to_openai_messages(list(messages), text_format="string")
    for source, target in zip(messages, converted, strict=True):
        if not isinstance(source, AIMessage):
            continue
        if isinstance(source.content, list):
            target["content"] = source.text
        reasoning = source.additional_kwargs.get(REASONING_KEY)
        if send_reasoning and isinstance(reasoning, str) and reasoning:
            target["reasoning"] = reasoning
    return converted


def usage_metadata(usage: Usage) -> UsageMetadata:
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = {"reasoning": usage.reasoning_tokens}
    if usage.cached_tokens is not None:
        metadata["input_token_details"] = {"cache_read": usage.cached_tokens}
    return metadata


def response_metadata(
    info: ResponseInfo | None, finish_reason: str | None, stop_reason: StopReason = None
) -> dict[str, Any]:
    """Metadata for the one message (or the one terminal chunk) that carries it; vLLM's
    ``stop_reason`` only when a stop string or stop token ended the reply."""
    metadata: dict[str, Any] = {"model_provider": PROVIDER, "finish_reason": finish_reason}
    if stop_reason is not None:
        metadata["stop_reason"] = stop_reason
    if info is not None:
        metadata["model_name"] = info.model
        metadata["id"] = info.id
        if info.system_fingerprint:
            metadata["system_fingerprint"] = info.system_fingerprint
    return metadata


def _parse_tool_calls(reply: ChatReply) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in reply.tool_calls:
        try:
            args = json.loads(call.arguments) if call.arguments else {}
        except json.JSONDecodeError as exc:
            invalid.append(
                invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=str(exc))
            )
            continue
        if isinstance(args, dict):
            calls.append(tool_call(name=call.name, args=args, id=call.id))
        else:
            error = f"arguments must be a JSON object, not {type(args).__name__}"
            invalid.append(
                invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=error)
            )
    return calls, invalid


def message_from_reply(reply: ChatReply) -> AIMessage:
    """A whole reply as an AIMessage: text, reasoning, tool calls, usage and metadata."""
    calls, invalid = _parse_tool_calls(reply)
    metadata = response_metadata(reply.info, reply.finish_reason, reply.stop_reason)
    if reply.logprobs is not None:
        metadata["logprobs"] = {"content": reply.logprobs}
    return AIMessage(
        content=reply.content,
        additional_kwargs={REASONING_KEY: reply.reasoning} if reply.reasoning else {},
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(reply.usage) if reply.usage else None,
        response_metadata=metadata,
    )


def chunk_from_delta(delta: ChatDelta) -> AIMessageChunk:
    """One streamed step as a chunk. Response-level metadata is left for the terminal chunk."""
    metadata: dict[str, Any] = {"model_provider": PROVIDER}
    if delta.logprobs is not None:
        metadata["logprobs"] = {"content": delta.logprobs}
    return AIMessageChunk(
        content=delta.content,
        additional_kwargs={REASONING_KEY: delta.reasoning} if delta.reasoning else {},
        tool_call_chunks=[
            tool_call_chunk(name=call.name, args=call.arguments, id=call.id, index=call.index)
            for call in merge_tool_call_deltas(delta.tool_calls)
        ],
        response_metadata=metadata,
    )


class StreamTracker:
    """Follows one streamed reply, so finish reason, model, id and usage are emitted exactly once,
    on a terminal chunk (LangChain concatenates string metadata when chunks are added)."""

    __slots__ = ("finish_reason", "info", "stop_reason", "usage")

    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self.stop_reason: StopReason = None
        self.info: ResponseInfo | None = None
        self.usage: Usage | None = None

    def chunk(self, delta: ChatDelta) -> AIMessageChunk | None:
        """The chunk for a delta, or None when it carries only response-level facts."""
        if delta.info is not None:
            self.info = delta.info
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
            self.stop_reason = delta.stop_reason
        if delta.content or delta.reasoning or delta.tool_calls or delta.logprobs:
            return chunk_from_delta(delta)
        return None

    def terminal_chunk(self) -> AIMessageChunk:
        return AIMessageChunk(
            content="",
            usage_metadata=usage_metadata(self.usage) if self.usage else None,
            response_metadata=response_metadata(self.info, self.finish_reason, self.stop_reason),
            chunk_position="last",
        )
