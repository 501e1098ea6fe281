"""Neutral replies and deltas as the client's openai-shaped results: pure functions.

Each builds the JSON vLLM's HTTP server would send for the same output, then lets the openai
SDK's ``model_construct`` (recursive, unvalidated: how the SDK reads every HTTP response) turn
it into the result classes of ``results``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vllm_integrations.grpc.results import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    Model,
    ServerInfo,
)
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    CompletionDelta,
    CompletionReply,
    ResponseInfo,
    ToolCallDelta,
    Usage,
)


def chat_completion(
    replies: Sequence[ChatReply], created: int, *, forced_call: bool = False
) -> ChatCompletion:
    """One ChatCompletion from the replies of every choice (in index order). No content is
    null, but "" when the request forced a call (tool_choice "required" or a named tool), as
    vLLM's HTTP server writes it."""
    head = replies[0]
    no_content = "" if forced_call else None
    choices = [
        {
            "index": index,
            "message": {
                "role": "assistant",
                "content": reply.content or no_content,
                "reasoning": reply.reasoning or None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in reply.tool_calls
                ]
                or None,
            },
            "finish_reason": reply.finish_reason,
            "stop_reason": reply.stop_reason,
            "logprobs": None if reply.logprobs is None else {"content": reply.logprobs},
            "token_ids": list(reply.token_ids),
        }
        for index, reply in enumerate(replies)
    ]
    return ChatCompletion.model_construct(
        **_body(head.info, "chat.completion", created, choices, head.usage)
    )


class ChatChunks:
    """Chunks of one streamed chat: the first chunk of each choice names the role, as vLLM's."""

    def __init__(self, created: int) -> None:
        self._created = created
        self._started: set[int] = set()

    def __call__(self, delta: ChatDelta) -> ChatCompletionChunk:
        if delta.usage is not None:  # the usage-only chunk that ends the stream
            return ChatCompletionChunk.model_construct(
                **_body(delta.info, "chat.completion.chunk", self._created, [], delta.usage)
            )
        first = delta.index not in self._started
        self._started.add(delta.index)
        message = {
            "role": "assistant" if first else None,
            "content": delta.content or None,
            "reasoning": delta.reasoning or None,
            "tool_calls": [_tool_call_delta(call) for call in delta.tool_calls] or None,
        }
        choice = {
            "index": delta.index,
            "delta": message,
            "finish_reason": delta.finish_reason,
            "stop_reason": delta.stop_reason,
            "logprobs": None if delta.logprobs is None else {"content": delta.logprobs},
            "token_ids": list(delta.token_ids),
        }
        return ChatCompletionChunk.model_construct(
            **_body(delta.info, "chat.completion.chunk", self._created, [choice])
        )


def _tool_call_delta(call: ToolCallDelta) -> dict[str, Any]:
    return {
        "index": call.index,
        "id": call.id,
        "type": "function" if call.id is not None else None,
        "function": {"name": call.name, "arguments": call.arguments},
    }


def completion(replies: Sequence[CompletionReply], created: int) -> Completion:
    head = replies[0]
    choices = [
        {
            "index": index,
            "text": reply.text,
            "finish_reason": reply.finish_reason,
            "stop_reason": reply.stop_reason,
            "logprobs": reply.logprobs,
            "token_ids": list(reply.token_ids),
        }
        for index, reply in enumerate(replies)
    ]
    return Completion.model_construct(
        **_body(head.info, "text_completion", created, choices, head.usage)
    )


def completion_chunk(delta: CompletionDelta, created: int) -> Completion:
    if delta.usage is not None:
        return Completion.model_construct(
            **_body(delta.info, "text_completion", created, [], delta.usage)
        )
    choice = {
        "index": delta.index,
        "text": delta.text,
        "finish_reason": delta.finish_reason,
        "stop_reason": delta.stop_reason,
        "logprobs": delta.logprobs,
        "token_ids": list(delta.token_ids),
    }
    return Completion.model_construct(**_body(delta.info, "text_completion", created, [choice]))


def _body(
    info: ResponseInfo | None,
    kind: str,
    created: int,
    choices: list[dict[str, Any]],
    total: Usage | None = None,
) -> dict[str, Any]:
    info = info or ResponseInfo()
    return {
        "id": info.id,
        "object": kind,
        "created": created,
        "model": info.model,
        "choices": choices,
        "usage": None if total is None else total.to_openai(),
    }


def model(model_info: Any, created: int) -> Model:
    """A GetModelInfo answer as the entry vLLM's HTTP server lists under /v1/models."""
    return Model.model_construct(
        id=model_info.served_model_name,
        object="model",
        created=created,
        owned_by="vllm",
        root=model_info.model_path,
        max_model_len=model_info.max_context_length,
    )


def server_info(message: Any) -> ServerInfo:
    """A GetServerInfo answer, every field of it (fields a newer server adds included)."""
    fields = {field.name: getattr(message, field.name) for field in message.DESCRIPTOR.fields}
    return ServerInfo.model_validate(fields)
