"""The one interface both of vLLM's front doors implement: neutral requests in, neutral replies
and deltas out. Adapters hold a ``Transport`` and never look behind it, so a test can hand
them a fake one for what a real server cannot be made to do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from vllm_integrations.settings import DEFAULT_MAX_MESSAGE_SIZE, GrpcReader, Timeouts
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    EmbeddingRequest,
    ModelCard,
    RerankRequest,
    RerankResult,
)


@dataclass(frozen=True)
class TransportOptions:
    """What an adapter says about how to reach its server; each transport reads its part."""

    api_key: str = ""
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_retries: int = 2
    """Retries of a call that failed before any reply: connection errors, and over HTTP the
    statuses 408, 409, 429 and 5xx. Never after the first message of a stream."""
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_certificates: bytes | None = None
    """PEM roots to verify ``https://`` and ``grpcs://`` servers against (default: the system's)."""
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    """Bytes: the largest gRPC message, SSE event or whole HTTP reply taken from the server."""
    grpc_reader: GrpcReader = "h2"
    tokenizer: str | None = None
    """gRPC: the tokenizer's path or hub id (default: the server's own files)."""
    reasoning_parser: str | None = None
    """gRPC: vLLM's name of the reasoning parser (default: the one the server runs)."""
    tool_call_parser: str | None = "hermes"
    """gRPC: vLLM's name of the tool-call parser."""


@runtime_checkable
class Transport(Protocol):
    """One vLLM server. Streams end when the reply ends; closing one early aborts the request
    on the server. Sync and async methods are each real (neither wraps the other)."""

    base_url: str

    def list_models(self) -> list[ModelCard]: ...
    async def alist_models(self) -> list[ModelCard]: ...

    def chat(self, request: ChatRequest) -> list[ChatReply]: ...
    async def achat(self, request: ChatRequest) -> list[ChatReply]: ...
    def stream_chat(self, request: ChatRequest) -> Iterator[ChatDelta]: ...
    def astream_chat(self, request: ChatRequest) -> AsyncIterator[ChatDelta]: ...

    def complete(self, request: CompletionRequest) -> list[CompletionReply]: ...
    async def acomplete(self, request: CompletionRequest) -> list[CompletionReply]: ...
    def stream_complete(self, request: CompletionRequest) -> Iterator[CompletionDelta]: ...
    def astream_complete(self, request: CompletionRequest) -> AsyncIterator[CompletionDelta]: ...

    def close(self) -> None:
        """Close the sync connections (a later call opens new ones)."""

    async def aclose(self) -> None:
        """Close every connection, the async ones included."""


@runtime_checkable
class EmbeddingTransport(Protocol):
    """A server's embeddings (an embedding model's), over the connections of its ``Transport``:
    vectors in the order of the texts."""

    base_url: str

    def embed(self, request: EmbeddingRequest) -> list[list[float]]: ...
    async def aembed(self, request: EmbeddingRequest) -> list[list[float]]: ...

    def close(self) -> None: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class RerankTransport(EmbeddingTransport, Protocol):
    """A server that also reranks (vLLM's HTTP API; its gRPC API has no rerank call)."""

    def rerank(self, request: RerankRequest) -> list[RerankResult]: ...
    async def arerank(self, request: RerankRequest) -> list[RerankResult]: ...
