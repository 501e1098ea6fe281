"""Neutral request, reply and delta types: what transports produce and framework adapters consume.

Messages and tools travel in the OpenAI chat format (both of vLLM's front doors speak it, the
gRPC one through the client-side chat template). Replies are plain slotted dataclasses, cheap to
build once per streamed token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.tool_choice import check_tool_choice

Message = dict[str, Any]
"""A chat message in the OpenAI format: role, content, and tool_calls / tool_call_id / reasoning."""

LogprobEntry = dict[str, Any]
"""One sampled token's logprob in the OpenAI chat shape: token, logprob, bytes, top_logprobs."""

StopReason = str | int | None
"""vLLM's ``stop_reason``: the stop string or stop token ID that ended a choice; None when EOS,
the length limit or an abort ended it."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base``: nested mappings merge, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


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
        if self.tools:
            names = [(tool.get("function") or {}).get("name") for tool in self.tools]
            check_tool_choice(self.tool_choice, [name for name in names if name])
        check_sampling(self.sampling)
        for index, message in enumerate(self.messages):
            check_text(message.get("content"), f"messages[{index}].content")


@dataclass
class CompletionRequest:
    """One text completion (no chat template), in transport-neutral form."""

    model: str
    prompt: str | list[int]
    sampling: dict[str, Any] = field(default_factory=dict)
    structured_outputs: StructuredOutputs | None = None
    extra_body: dict[str, Any] | None = None
    stream_usage: bool = True

    def __post_init__(self) -> None:
        check_sampling(self.sampling)
        check_text(self.prompt, "prompt")


def check_sampling(sampling: Mapping[str, Any]) -> None:
    """What vLLM would refuse, refused before anything is sent (the same on both transports)."""
    stop = sampling.get("stop")
    if stop is not None and any(not isinstance(s, str) or not s for s in stop):
        raise ValueError(f"stop strings must be non-empty strings, got {stop!r}")
    check_text(stop, "stop")


def check_text(value: Any, where: str) -> None:
    """Text must be valid Unicode: a lone surrogate (from a bad decode upstream) cannot be sent
    as UTF-8, and would fail deep in a tokenizer or serializer without saying where."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = value[error.start : error.end].encode("unicode_escape").decode()
            raise ValueError(
                f"{where} holds a lone surrogate ({bad} at {error.start}): not valid Unicode"
            ) from None
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            part = item.get("text") if isinstance(item, Mapping) else item
            check_text(part, f"{where}[{index}]")


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI usage object; the details only where the server gave them."""
        data: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.reasoning_tokens is not None:
            data["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        if self.cached_tokens is not None:
            data["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return data


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


class ToolCallAssembler:
    """Whole tool calls from streamed deltas, by index: the id and name of a call are the first
    ones given for its index, its arguments all the pieces joined. O(1) per delta."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, tuple[str, str, list[str]]] = {}

    def add(self, deltas: Iterable[ToolCallDelta]) -> None:
        for delta in deltas:
            call_id, name, arguments = self._calls.get(delta.index, ("", "", []))
            arguments.append(delta.arguments)
            self._calls[delta.index] = (
                call_id or delta.id or "",
                name or delta.name or "",
                arguments,
            )

    def parts(self) -> list[tuple[int, tuple[str, str, list[str]]]]:
        """Per index, in index order: the call's id, name and argument pieces so far."""
        return sorted(self._calls.items())

    def calls(self) -> list[ToolCall]:
        """The calls so far, in index order."""
        return [
            ToolCall(call_id, name, "".join(arguments))
            for _, (call_id, name, arguments) in self.parts()
        ]


def assemble_tool_calls(deltas: Iterable[ToolCallDelta]) -> list[ToolCall]:
    """Whole calls from all the deltas of a reply."""
    assembler = ToolCallAssembler()
    assembler.add(deltas)
    return assembler.calls()


def merge_tool_call_deltas(deltas: Sequence[ToolCallDelta]) -> tuple[ToolCallDelta, ...]:
    """One delta per call index, for the parts of a call that arrived in one step (its id and
    name, then pieces of its arguments): frameworks that add chunks by index would otherwise
    read them as separate calls."""
    if len({delta.index for delta in deltas}) == len(deltas):
        return tuple(deltas)
    assembler = ToolCallAssembler()
    assembler.add(deltas)
    return tuple(
        ToolCallDelta(index, call_id or None, name or None, "".join(arguments))
        for index, (call_id, name, arguments) in assembler.parts()
    )


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


@dataclass(frozen=True)
class EmbeddingRequest:
    """Texts to embed with one model, vLLM's pooling options (None: the server's default), and
    how the texts travel: ``batch_size`` texts per HTTP request (over gRPC each text is its own
    call) and at most ``batch_size * max_concurrency`` texts in flight, on either transport."""

    model: str
    texts: Sequence[str]
    dimensions: int | None = None
    """Matryoshka models: keep the first ``dimensions`` (vLLM refuses it for other models)."""
    normalize: bool | None = None
    """vLLM's ``use_activation`` for embeddings: L2-normalise each vector (its default)."""
    truncate_prompt_tokens: int | None = None
    """Keep at most this many tokens of each text (-1: the model's context); None: a text
    longer than the context is an error."""
    batch_size: int = 64
    max_concurrency: int = 4

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_concurrency < 1:
            raise ValueError("batch_size and max_concurrency must be at least 1")
        check_text(self.texts, "texts")


@dataclass(frozen=True)
class RerankRequest:
    """Documents to score against a query (vLLM's rerank API)."""

    model: str
    query: str
    documents: Sequence[str]
    top_n: int | None = None
    """Keep the best ``top_n``; None: every document, best first."""
    truncate_prompt_tokens: int | None = None

    def __post_init__(self) -> None:
        check_text(self.query, "query")
        check_text(self.documents, "documents")


@dataclass(frozen=True, slots=True)
class RerankResult:
    """One document's place in a rerank: its index in the request and its relevance score."""

    index: int
    score: float
