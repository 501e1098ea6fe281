"""LlamaIndex messages and responses to and from the neutral types: small pure functions and one
stream follower.

Reasoning travels as a ThinkingBlock before the TextBlock (and, streamed, as
``additional_kwargs["thinking_delta"]``); it goes back to vLLM as ``reasoning`` on assistant
messages. Tool calls are ToolCallBlocks whose ``tool_kwargs`` is the JSON text the model wrote.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    ContentBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    LogprobEntry,
    Message,
    ResponseInfo,
    StopReason,
    ToolCall,
    ToolCallAssembler,
    Usage,
)

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",  # chat templates know system turns, not developer ones
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


def to_openai_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    """The conversation in the OpenAI chat format vLLM reads."""
    return [_to_openai_message(message) for message in messages]


def _to_openai_message(message: ChatMessage) -> Message:
    role = _ROLES[message.role]
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ThinkingBlock):
            if block.content:
                reasoning.append(block.content)
        elif isinstance(block, ToolCallBlock):
            calls.append(_openai_tool_call(block))
        elif not isinstance(block, CachePoint):  # a prompt-cache hint for other providers
            raise ValueError(
                f"vLLM chat messages carry text, thinking and tool calls; a {role} message "
                f"with a {type(block).__name__} cannot be sent"
            )
    converted: Message = {"role": role, "content": "\n".join(texts)}
    if role == "assistant" and reasoning:
        converted["reasoning"] = "\n".join(reasoning)
    if role == "assistant" and calls:
        converted["tool_calls"] = calls
    if role == "tool" and "tool_call_id" in message.additional_kwargs:
        converted["tool_call_id"] = message.additional_kwargs["tool_call_id"]
    return converted


def _openai_tool_call(block: ToolCallBlock) -> dict[str, Any]:
    arguments = block.tool_kwargs
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    function = {"name": block.tool_name, "arguments": arguments}
    return {"id": block.tool_call_id, "type": "function", "function": function}


def _blocks(reasoning: str, content: str, calls: Sequence[ToolCall]) -> list[ContentBlock]:
    """Thinking first, then the answer text (always there, maybe empty), then tool calls."""
    blocks: list[ContentBlock] = [ThinkingBlock(content=reasoning)] if reasoning else []
    blocks.append(TextBlock(text=content))
    blocks.extend(
        ToolCallBlock(tool_call_id=call.id, tool_name=call.name, tool_kwargs=call.arguments)
        for call in calls
    )
    return blocks


def _logprobs(entries: list[LogprobEntry] | None) -> list[list[LogProb]] | None:
    """Per generated token: the sampled token first, then the other most likely tokens."""
    if entries is None:
        return None
    return [_position(entry) for entry in entries]


def _position(entry: LogprobEntry) -> list[LogProb]:
    sampled = _logprob(entry)
    others = [
        _logprob(alt)
        for alt in entry.get("top_logprobs") or ()
        if (alt["token"], alt["logprob"]) != (sampled.token, sampled.logprob)
    ]
    return [sampled, *others]


def _logprob(entry: Mapping[str, Any]) -> LogProb:
    return LogProb(token=entry["token"], logprob=entry["logprob"], bytes=entry.get("bytes") or [])


def _token_counts(usage: Usage | None) -> dict[str, int]:
    """Usage as llama-index-llms-openai reports it in ``additional_kwargs``."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _raw(
    info: ResponseInfo | None,
    finish_reason: str | None,
    usage: Usage | None,
    stop_reason: StopReason = None,
) -> dict[str, Any]:
    """The response's own facts in OpenAI's key names: what ``raw`` readers (token counters,
    tracers) look for; vLLM's ``stop_reason`` when a stop string or stop token ended it."""
    raw: dict[str, Any] = {
        "id": info.id if info else None,
        "model": info.model if info else None,
        "finish_reason": finish_reason,
    }
    if stop_reason is not None:
        raw["stop_reason"] = stop_reason
    if info is not None and info.system_fingerprint:
        raw["system_fingerprint"] = info.system_fingerprint
    if usage is not None:
        raw["usage"] = usage.to_openai()
    return raw


def is_finished(response: ChatResponse) -> bool:
    """Whether a response is whole: not a streamed one whose reply is still coming."""
    return not isinstance(response.raw, dict) or response.raw.get("finish_reason") is not None


def chat_response(reply: ChatReply) -> ChatResponse:
    """A whole reply as a ChatResponse."""
    return ChatResponse(
        message=ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=_blocks(reply.reasoning, reply.content, reply.tool_calls),
        ),
        raw=_raw(reply.info, reply.finish_reason, reply.usage, reply.stop_reason),
        logprobs=_logprobs(reply.logprobs),
        additional_kwargs=_token_counts(reply.usage),
    )


class StreamFollower:
    """Follows one streamed reply: each delta becomes a ChatResponse carrying the message so
    far, the answer text of this step as ``delta`` and its reasoning as ``thinking_delta``."""

    def __init__(self) -> None:
        self._reasoning = ""
        self._content = ""
        self._calls = ToolCallAssembler()
        self._info: ResponseInfo | None = None
        self._finish_reason: str | None = None
        self._stop_reason: StopReason = None
        self._usage: Usage | None = None

    def response(self, delta: ChatDelta) -> ChatResponse | None:
        """The response for one delta, or None when it says nothing new (a role-only step)."""
        self._info = delta.info or self._info
        if delta.finish_reason is not None:
            self._finish_reason, self._stop_reason = delta.finish_reason, delta.stop_reason
        self._usage = delta.usage or self._usage
        self._reasoning += delta.reasoning
        self._content += delta.content
        self._calls.add(delta.tool_calls)
        if not (
            delta.content
            or delta.reasoning
            or delta.tool_calls
            or delta.logprobs
            or delta.finish_reason
            or delta.usage
        ):
            return None
        return ChatResponse(
            message=ChatMessage(
                role=MessageRole.ASSISTANT,
                blocks=_blocks(self._reasoning, self._content, self._calls.calls()),
            ),
            delta=delta.content,
            raw=_raw(self._info, self._finish_reason, self._usage, self._stop_reason),
            logprobs=_logprobs(delta.logprobs),
            additional_kwargs={
                **_token_counts(delta.usage),
                "thinking_delta": delta.reasoning or None,
            },
        )


def stream_responses(deltas: Iterator[ChatDelta]) -> ChatResponseGen:
    follower = StreamFollower()
    for delta in deltas:
        response = follower.response(delta)
        if response is not None:
            yield response


async def astream_responses(deltas: AsyncIterator[ChatDelta]) -> ChatResponseAsyncGen:
    follower = StreamFollower()
    async for delta in deltas:
        response = follower.response(delta)
        if response is not None:
            yield response


def completion_response(response: ChatResponse) -> CompletionResponse:
    """A chat response as a completion: the answer text, its delta, logprobs, usage and the
    streamed ``thinking_delta``; the reasoning itself stays in ``chat``'s ThinkingBlock."""
    return CompletionResponse(
        text=response.message.content or "",
        delta=response.delta,
        raw=response.raw,
        logprobs=response.logprobs,
        additional_kwargs=response.additional_kwargs,
    )
