"""A real transport that keeps every request handed to it: what leaves for vLLM, whatever the
page claims to have sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from vllm_integrations.transports import Transport
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
)


class RecordingTransport:
    """Passes every call to ``inner`` and records each chat request first."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.base_url = inner.base_url
        self.requests: list[ChatRequest] = []

    def list_models(self) -> list[ModelCard]:
        return self.inner.list_models()

    async def alist_models(self) -> list[ModelCard]:
        return await self.inner.alist_models()

    def chat(self, request: ChatRequest) -> list[ChatReply]:
        self.requests.append(request)
        return self.inner.chat(request)

    async def achat(self, request: ChatRequest) -> list[ChatReply]:
        self.requests.append(request)
        return await self.inner.achat(request)

    def stream_chat(self, request: ChatRequest) -> Iterator[ChatDelta]:
        self.requests.append(request)
        return self.inner.stream_chat(request)

    def astream_chat(self, request: ChatRequest) -> AsyncIterator[ChatDelta]:
        self.requests.append(request)
        return self.inner.astream_chat(request)

    def complete(self, request: CompletionRequest) -> list[CompletionReply]:
        return self.inner.complete(request)

    async def acomplete(self, request: CompletionRequest) -> list[CompletionReply]:
        return await self.inner.acomplete(request)

    def stream_complete(self, request: CompletionRequest) -> Iterator[CompletionDelta]:
        return self.inner.stream_complete(request)

    def astream_complete(self, request: CompletionRequest) -> AsyncIterator[CompletionDelta]:
        return self.inner.astream_complete(request)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
