"""The JSON of vLLM's OpenAI-compatible API, to and from the neutral types: pure functions.

vLLM extras handled here: ``reasoning`` (older servers and smg: ``reasoning_content``) on messages
and deltas, ``structured_outputs`` in the body (with smg's spelling of the same constraint), and
every vLLM sampling parameter as a top-level key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
    ResponseInfo,
    ToolCall,
    ToolCallDelta,
    Usage,
    deep_merge,
)


def chat_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The /v1/chat/completions request body."""
    body: dict[str, Any] = {"model": request.model, "messages": request.messages}
    body.update(request.sampling)
    if request.tools:
        body["tools"] = request.tools
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.chat_template_kwargs:
        body["chat_template_kwargs"] = request.chat_template_kwargs
    return _finish_body(body, request, stream)


def completion_body(request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
    """The /v1/completions request body."""
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
    body.update(request.sampling)
    return _finish_body(body, request, stream)


def _finish_body(
    body: dict[str, Any], request: ChatRequest | CompletionRequest, stream: bool
) -> dict[str, Any]:
    """Structured outputs, streaming options, then the caller's extra_body on top of it all."""
    if request.structured_outputs is not None:
        body["structured_outputs"] = request.structured_outputs.to_http()
        # and where smg reads it (a gateway in front of vLLM's gRPC workers; it ignores the above)
        body.update(request.structured_outputs.to_gateway(chat=isinstance(request, ChatRequest)))
    if stream:
        body["stream"] = True
        if request.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return deep_merge(body, request.extra_body) if request.extra_body else body


def usage(data: Mapping[str, Any] | None) -> Usage | None:
    if not data:
        return None
    completion_details = data.get("completion_tokens_details") or {}
    prompt_details = data.get("prompt_tokens_details") or {}
    prompt = data.get("prompt_tokens") or 0
    completion = data.get("completion_tokens") or 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=data.get("total_tokens") or prompt + completion,
        reasoning_tokens=completion_details.get("reasoning_tokens"),
        cached_tokens=prompt_details.get("cached_tokens"),
    )


def response_info(data: Mapping[str, Any]) -> ResponseInfo:
    return ResponseInfo(data.get("id"), data.get("model"), data.get("system_fingerprint"))


def _reasoning(fields: Mapping[str, Any]) -> str:
    return fields.get("reasoning") or fields.get("reasoning_content") or ""


def chat_replies(data: Mapping[str, Any]) -> list[ChatReply]:
    """Every choice of a /v1/chat/completions response."""
    info = response_info(data)
    total = usage(data.get("usage"))
    replies = []
    for choice in data.get("choices") or []:
        message = choice.get("message") or {}
        calls = tuple(
            ToolCall(
                id=call.get("id") or "",
                name=(call.get("function") or {}).get("name") or "",
                arguments=(call.get("function") or {}).get("arguments") or "",
            )
            for call in message.get("tool_calls") or []
        )
        replies.append(
            ChatReply(
                content=message.get("content") or "",
                reasoning=_reasoning(message),
                tool_calls=calls,
                finish_reason=choice.get("finish_reason"),
                logprobs=(choice.get("logprobs") or {}).get("content"),
                usage=total,
                info=info,
                stop_reason=choice.get("stop_reason"),
            )
        )
    return replies


def chat_deltas(data: Mapping[str, Any]) -> Iterator[ChatDelta]:
    """The deltas of one streamed chunk: one per choice, or a usage-only delta."""
    info = response_info(data)
    choices = data.get("choices") or ()
    for choice in choices:
        delta = choice.get("delta") or {}
        calls = delta.get("tool_calls")
        yield ChatDelta(
            content=delta.get("content") or "",
            reasoning=_reasoning(delta),
            tool_calls=tuple(_tool_call_delta(call) for call in calls) if calls else (),
            logprobs=(choice.get("logprobs") or {}).get("content"),
            finish_reason=choice.get("finish_reason"),
            index=choice.get("index") or 0,
            info=info,
            stop_reason=choice.get("stop_reason"),
        )
    total = usage(data.get("usage"))
    if total is not None:
        yield ChatDelta(usage=total, info=info)


def _tool_call_delta(call: Mapping[str, Any]) -> ToolCallDelta:
    function = call.get("function") or {}
    return ToolCallDelta(
        index=call.get("index") or 0,
        id=call.get("id"),
        name=function.get("name"),
        arguments=function.get("arguments") or "",
    )


def completion_replies(data: Mapping[str, Any]) -> list[CompletionReply]:
    info = response_info(data)
    total = usage(data.get("usage"))
    return [
        CompletionReply(
            text=choice.get("text") or "",
            finish_reason=choice.get("finish_reason"),
            logprobs=choice.get("logprobs"),
            usage=total,
            info=info,
            stop_reason=choice.get("stop_reason"),
        )
        for choice in data.get("choices") or []
    ]


def completion_deltas(data: Mapping[str, Any]) -> Iterator[CompletionDelta]:
    info = response_info(data)
    for choice in data.get("choices") or ():
        yield CompletionDelta(
            text=choice.get("text") or "",
            logprobs=choice.get("logprobs"),
            finish_reason=choice.get("finish_reason"),
            index=choice.get("index") or 0,
            info=info,
            stop_reason=choice.get("stop_reason"),
        )
    total = usage(data.get("usage"))
    if total is not None:
        yield CompletionDelta(usage=total, info=info)


def model_cards(data: Mapping[str, Any]) -> list[ModelCard]:
    return [
        ModelCard(id=model["id"], max_model_len=model.get("max_model_len"))
        for model in data.get("data") or []
    ]


def error_message(body: object) -> str | None:
    """The server's own words from an error body (``{"error": {"message": ...}}`` or flat)."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return None


def error_code(body: object) -> int | None:
    """An HTTP-like status code carried inside an error body, if any."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        code = inner.get("code") if isinstance(inner, Mapping) else None
        if isinstance(code, int):
            return code
    return None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds a ``retry-after-ms`` or ``retry-after`` header asks for (seconds form)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:
            return None
    return None
