"""vLLM's OpenAI-compatible HTTP API, through the openai SDK (sync and async).

The SDK does connections, retries, timeouts and SSE framing. Responses are taken as plain
JSON (``cast_to=object``) and read by the small functions in ``wire``, skipping the SDK's
per-chunk pydantic models: streaming costs less than the SDK's own loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import openai

from vllm_integrations.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    status_error,
)
from vllm_integrations.transports.http import wire
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
)


class HttpTransport:
    """One vLLM server's OpenAI-compatible API. Clients are made on first use."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | None = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._settings: dict[str, Any] = {
            "base_url": self.base_url,
            "api_key": api_key,
            "max_retries": max_retries,
            "default_headers": dict(default_headers or {}),
        }
        if timeout is not None:
            self._settings["timeout"] = timeout
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None

    @property
    def sync_client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.OpenAI(**self._settings)
        return self._sync

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        if self._async is None:
            self._async = openai.AsyncOpenAI(**self._settings)
        return self._async

    def close(self) -> None:
        """Close the sync client's connections (a later call opens new ones)."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close every connection, the async client's included."""
        self.close()
        if self._async is not None:
            await self._async.close()
            self._async = None

    # -- models ----------------------------------------------------------------------------

    def list_models(self) -> list[ModelCard]:
        with self.errors():
            data = self.sync_client.get("/models", cast_to=object)
        return wire.model_cards(self.json_object(data))

    async def alist_models(self) -> list[ModelCard]:
        with self.errors():
            data = await self.async_client.get("/models", cast_to=object)
        return wire.model_cards(self.json_object(data))

    # -- chat ------------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> list[ChatReply]:
        body = wire.chat_body(request, stream=False)
        with self.errors():
            data = self.sync_client.post("/chat/completions", body=body, cast_to=object)
        return wire.chat_replies(self.json_object(data))

    async def achat(self, request: ChatRequest) -> list[ChatReply]:
        body = wire.chat_body(request, stream=False)
        with self.errors():
            data = await self.async_client.post("/chat/completions", body=body, cast_to=object)
        return wire.chat_replies(self.json_object(data))

    def stream_chat(self, request: ChatRequest) -> Iterator[ChatDelta]:
        body = wire.chat_body(request, stream=True)
        for data in self._stream("/chat/completions", body):
            yield from wire.chat_deltas(data)

    async def astream_chat(self, request: ChatRequest) -> AsyncIterator[ChatDelta]:
        body = wire.chat_body(request, stream=True)
        async for data in self._astream("/chat/completions", body):
            for delta in wire.chat_deltas(data):
                yield delta

    # -- completions -----------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> list[CompletionReply]:
        body = wire.completion_body(request, stream=False)
        with self.errors():
            data = self.sync_client.post("/completions", body=body, cast_to=object)
        return wire.completion_replies(self.json_object(data))

    async def acomplete(self, request: CompletionRequest) -> list[CompletionReply]:
        body = wire.completion_body(request, stream=False)
        with self.errors():
            data = await self.async_client.post("/completions", body=body, cast_to=object)
        return wire.completion_replies(self.json_object(data))

    def stream_complete(self, request: CompletionRequest) -> Iterator[CompletionDelta]:
        body = wire.completion_body(request, stream=True)
        for data in self._stream("/completions", body):
            yield from wire.completion_deltas(data)

    async def astream_complete(self, request: CompletionRequest) -> AsyncIterator[CompletionDelta]:
        body = wire.completion_body(request, stream=True)
        async for data in self._astream("/completions", body):
            for delta in wire.completion_deltas(data):
                yield delta

    # -- plumbing --------------------------------------------------------------------------

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[Any]:
        """SSE events as JSON; closing early closes the connection, so vLLM aborts the request."""
        with self.errors():
            stream = self.sync_client.post(
                path, body=body, cast_to=object, stream=True, stream_cls=openai.Stream[object]
            )
            try:
                yield from stream
            finally:
                stream.close()

    async def _astream(self, path: str, body: dict[str, Any]) -> AsyncIterator[Any]:
        with self.errors():
            stream = await self.async_client.post(
                path, body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
            )
            try:
                async for data in stream:
                    yield data
            finally:
                await stream.close()

    def json_object(self, data: object) -> dict[str, Any]:
        """A response body that must be a JSON object, else an ``APIError`` quoting it."""
        if not isinstance(data, dict):
            raise APIError(f"expected a JSON object, got {data!r:.200}", address=self.base_url)
        return data

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn the SDK's exceptions into this package's family, keeping the server's message."""
        try:
            yield
        except openai.APITimeoutError as exc:
            raise APITimeoutError("the request timed out", address=self.base_url) from exc
        except openai.APIConnectionError as exc:
            raise APIConnectionError(
                f"could not connect to vLLM: {exc.__cause__ or exc}", address=self.base_url
            ) from exc
        except openai.APIStatusError as exc:
            message = wire.error_message(exc.body) or exc.message
            raise status_error(
                exc.status_code, message, address=self.base_url, body=exc.body
            ) from exc
        except openai.APIError as exc:  # an error event in the middle of a stream
            code = wire.error_code(exc.body)
            message = wire.error_message(exc.body) or exc.message
            if code is None:
                raise APIError(message, address=self.base_url) from exc
            raise status_error(code, message, address=self.base_url, body=exc.body) from exc
