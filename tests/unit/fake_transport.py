"""A scripted ``Transport`` for adapter tests: what a real server cannot be made to send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
    ResponseInfo,
    assemble_tool_calls,
)

INFO = ResponseInfo(id="chatcmpl-fake", model="fake")
Step = ChatDelta | CompletionDelta | Exception
"""A streamed step, or the error raised in its place."""


@dataclass
class FakeTransport:
    """Streams ``steps`` (raising each exception where it stands) and answers a whole call
    with the reply the same steps add up to. Records every request it is handed."""

    steps: Sequence[Step] = ()
    base_url: str = "http://fake.invalid/v1"
    models: list[ModelCard] = field(default_factory=lambda: [ModelCard("fake", 4096)])
    requests: list[ChatRequest | CompletionRequest] = field(default_factory=list)
    closed: int = 0

    def list_models(self) -> list[ModelCard]:
        return self.models

    async def alist_models(self) -> list[ModelCard]:
        return self.models

    def _steps(self, request: ChatRequest | CompletionRequest) -> Iterator[Step]:
        self.requests.append(request)
        for step in self.steps:
            if isinstance(step, Exception):
                raise step
            yield step

    def chat(self, request: ChatRequest) -> list[ChatReply]:
        deltas = [step for step in self._steps(request) if isinstance(step, ChatDelta)]
        return [_reply(deltas)]

    async def achat(self, request: ChatRequest) -> list[ChatReply]:
        return self.chat(request)

    def stream_chat(self, request: ChatRequest) -> Iterator[ChatDelta]:
        for step in self._steps(request):
            assert isinstance(step, ChatDelta)
            yield step

    async def astream_chat(self, request: ChatRequest) -> AsyncIterator[ChatDelta]:
        for step in self.stream_chat(request):
            yield step

    def complete(self, request: CompletionRequest) -> list[CompletionReply]:
        raise NotImplementedError

    async def acomplete(self, request: CompletionRequest) -> list[CompletionReply]:
        raise NotImplementedError

    def stream_complete(self, request: CompletionRequest) -> Iterator[CompletionDelta]:
        for step in self._steps(request):
            assert isinstance(step, CompletionDelta)
            yield step

    async def astream_complete(self, request: CompletionRequest) -> AsyncIterator[CompletionDelta]:
        for step in self.stream_complete(request):
            yield step

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


def _reply(deltas: list[ChatDelta]) -> ChatReply:
    last = deltas[-1] if deltas else ChatDelta()
    return ChatReply(
        content="".join(d.content for d in deltas),
        reasoning="".join(d.reasoning for d in deltas),
        tool_calls=tuple(assemble_tool_calls(c for d in deltas for c in d.tool_calls)),
        finish_reason=last.finish_reason,
        logprobs=None,
        usage=None,
        info=INFO,
    )
