"""Neutral request, reply and delta types: what transports produce and framework adapters consume.

Messages and tools travel in the OpenAI chat format (both of vLLM's front doors speak it, the
gRPC one through the client-side chat template). Replies are plain slotted dataclasses, cheap to
build once per streamed token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vllm_integrations.structured import StructuredOutputs

Message = dict[str, Any]
"""A chat message in the OpenAI format: role, content, and tool_calls / tool_call_id / reasoning."""

LogprobEntry = dict[str, Any]
"""One sampled token's logprob in the OpenAI chat shape: token, logprob, bytes, top_logprobs."""

StopReason = str | int | None
"""vLLM's ``stop_reason``: the stop string or stop token ID that ended a choice; None when EOS,
the length limit or an abort ended it."""


@dataclass
class ChatRequest:
    """One chat completion, in transport-neutral form."""

    model: str
    messages: list[Message]
    sampling: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    structured_outputs: StructuredOutputs | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    extra_body: dict[str, Any] | None = None
    stream_usage: bool = True

    def __post_init__(self) -> None:
        if self.tool_choice is not None and not self.tools:
            raise ValueError("tool_choice was given without any tools")


@dataclass
class CompletionRequest:
    """One text completion (no chat template), in transport-neutral form."""

    model: str
    prompt: str | list[int]
    sampling: dict[str, Any] = field(default_factory=dict)
    structured_outputs: StructuredOutputs | None = None
    extra_body: dict[str, Any] | None = None
    stream_usage: bool = True


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """Facts about the whole response, the same on every chunk: adapters report them once."""

    id: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """Part of a tool call: the first part of each call carries its id and name."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it (may be invalid)


@dataclass(frozen=True, slots=True)
class ChatDelta:
    """What one streamed step added to one choice. A usage-only step has ``usage`` alone."""

    content: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    logprobs: list[LogprobEntry] | None = None
    finish_reason: str | None = None
    index: int = 0
    usage: Usage | None = None
    info: ResponseInfo | None = None
    token_ids: tuple[int, ...] = ()
    """Generated token IDs since this choice's previous delta (gRPC only). A token that adds
    no text yet comes with a later delta; all of them add up to ``ChatReply.token_ids``."""
    stop_reason: StopReason = None
    """Set with the finish reason."""


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A whole chat completion choice."""

    content: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    logprobs: list[LogprobEntry] | None
    usage: Usage | None
    info: ResponseInfo
    token_ids: tuple[int, ...] = ()
    """Every generated token ID, as vLLM's ``return_token_ids`` gives them: the tokens that
    completed a stop string and the final EOS or stop token included. Filled over gRPC only."""
    stop_reason: StopReason = None


@dataclass(frozen=True, slots=True)
class CompletionDelta:
    text: str = ""
    logprobs: dict[str, Any] | None = None  # the OpenAI completions shape, for this step
    finish_reason: str | None = None
    index: int = 0
    usage: Usage | None = None
    info: ResponseInfo | None = None
    token_ids: tuple[int, ...] = ()
    stop_reason: StopReason = None


@dataclass(frozen=True, slots=True)
class CompletionReply:
    text: str
    finish_reason: str | None
    logprobs: dict[str, Any] | None
    usage: Usage | None
    info: ResponseInfo
    token_ids: tuple[int, ...] = ()
    stop_reason: StopReason = None


@dataclass(frozen=True, slots=True)
class ModelCard:
    """A served model: its name and, when the server says, its context window."""

    id: str
    max_model_len: int | None = None
