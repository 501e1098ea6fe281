"""``client.completions`` and ``client.chat.completions``: the openai SDK's ``create()``, over
the gRPC transport's one pipeline (template, decoding, stop strings, parsers). Each method checks
its arguments, fills in the served model when none is named, and shapes what the transport
returns; the sync and async classes differ only in how they wait."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Literal, overload

from openai.types.chat import ChatCompletionMessageParam
from typing_extensions import Unpack

from vllm_integrations.grpc import convert
from vllm_integrations.grpc.params import (
    ChatParams,
    CompletionParams,
    chat_request,
    completion_request,
)
from vllm_integrations.grpc.results import ChatCompletion, ChatCompletionChunk, Completion
from vllm_integrations.grpc.streams import AsyncStream, Stream
from vllm_integrations.tool_choice import named_tool
from vllm_integrations.transports.grpc.transport import GrpcTransport
from vllm_integrations.types import ChatRequest

Prompt = str | list[int]
"""A text prompt (tokenized by the client, with the model's BOS as vLLM's HTTP API adds it),
or token IDs sent as they are."""


class Completions:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    @overload
    def create(
        self, *, prompt: Prompt, stream: Literal[False] = False, **params: Unpack[CompletionParams]
    ) -> Completion: ...
    @overload
    def create(
        self, *, prompt: Prompt, stream: Literal[True], **params: Unpack[CompletionParams]
    ) -> Stream[Completion]: ...
    @overload
    def create(
        self, *, prompt: Prompt, stream: bool, **params: Unpack[CompletionParams]
    ) -> Completion | Stream[Completion]: ...
    def create(
        self, *, prompt: Prompt, stream: bool = False, **params: Unpack[CompletionParams]
    ) -> Completion | Stream[Completion]:
        """Continue ``prompt`` with no chat template. Each choice has the ``text`` and the
        ``token_ids`` it was decoded from; streamed chunks carry the new part of both."""
        request = completion_request(prompt, params, stream=stream)
        request.model = request.model or self._transport.setup().served_model_name
        created = int(time.time())
        if stream:
            chunk = functools.partial(convert.completion_chunk, created=created)
            return Stream.start(self._transport.stream_complete(request), chunk)
        return convert.completion(self._transport.complete(request), created)


class AsyncCompletions:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    @overload
    async def create(
        self, *, prompt: Prompt, stream: Literal[False] = False, **params: Unpack[CompletionParams]
    ) -> Completion: ...
    @overload
    async def create(
        self, *, prompt: Prompt, stream: Literal[True], **params: Unpack[CompletionParams]
    ) -> AsyncStream[Completion]: ...
    @overload
    async def create(
        self, *, prompt: Prompt, stream: bool, **params: Unpack[CompletionParams]
    ) -> Completion | AsyncStream[Completion]: ...
    async def create(
        self, *, prompt: Prompt, stream: bool = False, **params: Unpack[CompletionParams]
    ) -> Completion | AsyncStream[Completion]:
        """``Completions.create``, awaited."""
        request = completion_request(prompt, params, stream=stream)
        request.model = request.model or (await self._transport.asetup()).served_model_name
        created = int(time.time())
        if stream:
            chunk = functools.partial(convert.completion_chunk, created=created)
            return await AsyncStream.start(self._transport.astream_complete(request), chunk)
        return convert.completion(await self._transport.acomplete(request), created)


Messages = Iterable[ChatCompletionMessageParam]


class ChatCompletions:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    @overload
    def create(
        self, *, messages: Messages, stream: Literal[False] = False, **params: Unpack[ChatParams]
    ) -> ChatCompletion: ...
    @overload
    def create(
        self, *, messages: Messages, stream: Literal[True], **params: Unpack[ChatParams]
    ) -> Stream[ChatCompletionChunk]: ...
    @overload
    def create(
        self, *, messages: Messages, stream: bool, **params: Unpack[ChatParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...
    def create(
        self, *, messages: Messages, stream: bool = False, **params: Unpack[ChatParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """One chat turn, the template rendered here. ``message.content``, ``.reasoning`` and
        ``.tool_calls`` as vLLM's HTTP API gives them, and each choice's ``token_ids``."""
        request = chat_request(messages, params, stream=stream)
        request.model = request.model or self._transport.setup().served_model_name
        created = int(time.time())
        if stream:
            return Stream.start(self._transport.stream_chat(request), convert.ChatChunks(created))
        replies = self._transport.chat(request)
        return convert.chat_completion(replies, created, forced_call=_forces_a_call(request))


class AsyncChatCompletions:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    @overload
    async def create(
        self, *, messages: Messages, stream: Literal[False] = False, **params: Unpack[ChatParams]
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self, *, messages: Messages, stream: Literal[True], **params: Unpack[ChatParams]
    ) -> AsyncStream[ChatCompletionChunk]: ...
    @overload
    async def create(
        self, *, messages: Messages, stream: bool, **params: Unpack[ChatParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...
    async def create(
        self, *, messages: Messages, stream: bool = False, **params: Unpack[ChatParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """``ChatCompletions.create``, awaited."""
        request = chat_request(messages, params, stream=stream)
        request.model = request.model or (await self._transport.asetup()).served_model_name
        created = int(time.time())
        if stream:
            deltas = self._transport.astream_chat(request)
            return await AsyncStream.start(deltas, convert.ChatChunks(created))
        replies = await self._transport.achat(request)
        return convert.chat_completion(replies, created, forced_call=_forces_a_call(request))


class Chat:
    def __init__(self, transport: GrpcTransport) -> None:
        self.completions = ChatCompletions(transport)


class AsyncChat:
    def __init__(self, transport: GrpcTransport) -> None:
        self.completions = AsyncChatCompletions(transport)


def _forces_a_call(request: ChatRequest) -> bool:
    return request.tool_choice == "required" or named_tool(request.tool_choice) is not None
