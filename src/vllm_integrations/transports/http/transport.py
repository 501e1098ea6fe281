"""vLLM's OpenAI-compatible HTTP API, through the openai SDK (sync and async).

The SDK does connections and SSE framing; ``clients`` bounds what a reply may hold and keeps an
async client per event loop; ``retries`` decides what is tried again. Responses are taken as
plain JSON (``cast_to=object``) and read by the small functions in ``wire``, skipping the SDK's
per-chunk pydantic models: streaming costs less than the SDK's own loop. A reply that ends
without its finish reason is an ``IncompleteResponseError`` carrying what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import openai

from vllm_integrations.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    VLLMError,
    status_error,
)
from vllm_integrations.transports.base import TransportOptions
from vllm_integrations.transports.http import wire
from vllm_integrations.transports.http.clients import SdkClients
from vllm_integrations.transports.replies import ReplyCollector, check_replies
from vllm_integrations.transports.retries import RetryPolicy
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
)

T = TypeVar("T")


class HttpTransport:
    """One vLLM server's OpenAI-compatible API. Clients are made on first use."""

    def __init__(self, base_url: str, options: TransportOptions) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeouts = options.timeouts
        self._retries = RetryPolicy(options.max_retries)
        self._clients = SdkClients(
            self.base_url,
            options.api_key,
            timeouts=options.timeouts,
            headers=dict(options.headers),
            ca_certificates=options.ca_certificates,
            max_message_size=options.max_message_size,
        )

    @property
    def sync_client(self) -> openai.OpenAI:
        return self._clients.sync

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        """The client of the running event loop."""
        return self._clients.async_

    def close(self) -> None:
        """Close the sync client's connections (a later call opens new ones)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the sync client's connections and the running loop's."""
        await self._clients.aclose()

    # -- models ----------------------------------------------------------------------------

    def list_models(self) -> list[ModelCard]:
        data = self.call(
            lambda options: self.sync_client.get("/models", cast_to=object, options=options)
        )
        return wire.model_cards(self.json_object(data))

    async def alist_models(self) -> list[ModelCard]:
        data = await self.acall(
            lambda options: self.async_client.get("/models", cast_to=object, options=options)
        )
        return wire.model_cards(self.json_object(data))

    # -- chat ------------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> list[ChatReply]:
        data = self._post("/chat/completions", wire.chat_body(request, stream=False))
        replies = wire.chat_replies(self.json_object(data))
        check_replies(replies, choices=_choices(request.sampling), address=self.base_url)
        return replies

    async def achat(self, request: ChatRequest) -> list[ChatReply]:
        data = await self._apost("/chat/completions", wire.chat_body(request, stream=False))
        replies = wire.chat_replies(self.json_object(data))
        check_replies(replies, choices=_choices(request.sampling), address=self.base_url)
        return replies

    def stream_chat(self, request: ChatRequest) -> Iterator[ChatDelta]:
        body = wire.chat_body(request, stream=True)
        collector = self._collector(request.sampling, completion=False)
        with collector.watching():
            for data in self._stream("/chat/completions", body):
                for delta in wire.chat_deltas(data):
                    collector.add(delta)
                    yield delta

    async def astream_chat(self, request: ChatRequest) -> AsyncIterator[ChatDelta]:
        body = wire.chat_body(request, stream=True)
        collector = self._collector(request.sampling, completion=False)
        with collector.watching():
            async for data in self._astream("/chat/completions", body):
                for delta in wire.chat_deltas(data):
                    collector.add(delta)
                    yield delta

    # -- completions -----------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> list[CompletionReply]:
        data = self._post("/completions", wire.completion_body(request, stream=False))
        replies = wire.completion_replies(self.json_object(data))
        check_replies(replies, choices=_choices(request.sampling), address=self.base_url)
        return replies

    async def acomplete(self, request: CompletionRequest) -> list[CompletionReply]:
        data = await self._apost("/completions", wire.completion_body(request, stream=False))
        replies = wire.completion_replies(self.json_object(data))
        check_replies(replies, choices=_choices(request.sampling), address=self.base_url)
        return replies

    def stream_complete(self, request: CompletionRequest) -> Iterator[CompletionDelta]:
        body = wire.completion_body(request, stream=True)
        collector = self._collector(request.sampling, completion=True)
        with collector.watching():
            for data in self._stream("/completions", body):
                for delta in wire.completion_deltas(data):
                    collector.add(delta)
                    yield delta

    async def astream_complete(self, request: CompletionRequest) -> AsyncIterator[CompletionDelta]:
        body = wire.completion_body(request, stream=True)
        collector = self._collector(request.sampling, completion=True)
        with collector.watching():
            async for data in self._astream("/completions", body):
                for delta in wire.completion_deltas(data):
                    collector.add(delta)
                    yield delta

    # -- calls, with retries and deadlines -------------------------------------------------

    def call(self, send: Callable[[Any], T], deadline: float | None = None) -> T:
        """``send(options)`` (an SDK call given per-request ``options``), retried as
        ``retries`` says, within the total deadline (the call's own, or the ``deadline`` of
        the stream it opens); errors in this package's family."""
        deadline = deadline or self._deadline()
        attempt = 0
        while True:
            try:
                with self.errors(deadline):
                    return send(self._request_options(deadline))
            except APIError as error:
                wait = self._retries.delay(error, attempt, deadline)
                if wait is None:
                    raise
            time.sleep(wait)
            attempt += 1

    async def acall(self, send: Callable[[Any], Awaitable[T]], deadline: float | None = None) -> T:
        """``call`` for asyncio."""
        deadline = deadline or self._deadline()
        attempt = 0
        while True:
            try:
                with self.errors(deadline):
                    return await send(self._request_options(deadline))
            except APIError as error:
                wait = self._retries.delay(error, attempt, deadline)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1

    def _post(self, path: str, body: dict[str, Any]) -> object:
        return self.call(
            lambda options: self.sync_client.post(path, body=body, cast_to=object, options=options)
        )

    async def _apost(self, path: str, body: dict[str, Any]) -> object:
        return await self.acall(
            lambda options: self.async_client.post(path, body=body, cast_to=object, options=options)
        )

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[Any]:
        """SSE events as JSON; closing early closes the connection, so vLLM aborts the request.
        Retries happen only while opening the stream, never after its first event; the total
        deadline counts from before the stream opened."""
        deadline = self._deadline()
        stream = self.call(
            lambda options: self.sync_client.post(
                path,
                body=body,
                cast_to=object,
                options=options,
                stream=True,
                stream_cls=openai.Stream[object],
            ),
            deadline,
        )
        # The total deadline interrupts a blocked read by closing the response under it.
        timer = None if deadline is None else threading.Timer(_left(deadline), stream.close)
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            with self.errors(deadline):
                yield from stream
        finally:
            if timer is not None:
                timer.cancel()
            stream.close()

    async def _astream(self, path: str, body: dict[str, Any]) -> AsyncIterator[Any]:
        deadline = self._deadline()
        stream = await self.acall(
            lambda options: self.async_client.post(
                path,
                body=body,
                cast_to=object,
                options=options,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            ),
            deadline,
        )
        events = stream.__aiter__()
        try:
            with self.errors(deadline):
                while True:
                    try:
                        if deadline is None:
                            data = await anext(events)
                        else:  # only a call with a total deadline pays for wait_for
                            data = await asyncio.wait_for(anext(events), _left(deadline))
                    except StopAsyncIteration:
                        return
                    yield data
        finally:
            await stream.close()

    def _deadline(self) -> float | None:
        total = self._timeouts.total
        return None if total is None else time.monotonic() + total

    def _request_options(self, deadline: float | None) -> Any:
        """The SDK's per-request options: the waits cut to what is left of the deadline."""
        if deadline is None:
            return {}
        wait = _left(deadline)
        read = self._timeouts.read
        return {"timeout": wait if read is None else min(read, wait)}

    def _collector(self, sampling: dict[str, Any], *, completion: bool) -> ReplyCollector:
        return ReplyCollector(
            choices=_choices(sampling), completion=completion, address=self.base_url
        )

    def json_object(self, data: object) -> dict[str, Any]:
        """A response body that must be a JSON object, else an ``APIError`` quoting it."""
        if not isinstance(data, dict):
            raise APIError(f"expected a JSON object, got {data!r:.200}", address=self.base_url)
        return data

    @contextlib.contextmanager
    def errors(self, deadline: float | None = None) -> Iterator[None]:
        """Turn the SDK's exceptions into this package's family, keeping the server's message;
        past ``deadline``, any failure is the total timeout's."""
        try:
            yield
        except VLLMError:
            raise
        except Exception as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise APITimeoutError(
                    "the call ran past its total_timeout", address=self.base_url
                ) from exc
            raise _translated(exc, self.base_url) from exc


def _translated(exc: Exception, address: str) -> Exception:
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError):
        return APITimeoutError("no reply within the read timeout", address=address)
    if isinstance(exc, openai.APIConnectionError):
        return APIConnectionError(
            f"could not reach vLLM, or the connection broke: {exc.__cause__ or exc}",
            address=address,
        )
    if isinstance(exc, openai.APIStatusError):
        message = wire.error_message(exc.body) or exc.message
        error = status_error(exc.status_code, message, address=address, body=exc.body)
        error.retry_after = wire.retry_after(exc.response.headers)
        return error
    if isinstance(exc, openai.APIError):  # an error event in the middle of a stream
        code = wire.error_code(exc.body)
        message = wire.error_message(exc.body) or exc.message
        if code is None:
            return APIError(message, address=address)
        return status_error(code, message, address=address, body=exc.body)
    if isinstance(exc, json.JSONDecodeError):
        return APIError(f"the server sent JSON that does not parse: {exc}", address=address)
    return exc


def _choices(sampling: dict[str, Any]) -> int:
    return int(sampling.get("n") or 1)


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)
