"""The one interface both of vLLM's front doors implement: neutral requests in, neutral replies
and deltas out. Adapters hold a ``Transport`` and never look behind it, so a test can hand
them a fake one for what a real server cannot be made to do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol, runtime_checkable

from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
)


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
