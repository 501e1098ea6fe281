"""A bound on what one HTTP reply may make the client hold: each SSE event of a stream, or the
whole body of any other reply, at most ``max_message_size`` bytes, refused as the bytes arrive
(before they are buffered). Installed as an httpx transport under the openai SDK's client, the
one layer that sees every byte of every reply.

Why by hand: neither httpx nor the SDK bounds a body or an SSE event; both buffer a line or a
body of any size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx

from vllm_integrations.errors import MessageTooLargeError

_BOUNDARIES = (b"\n\n", b"\r\r", b"\r\n\r\n")
_OVERLAP = 3  # a boundary split between two chunks: keep this much of the previous chunk


class _Bound:
    """Counts the bytes of the current SSE event (or of the whole body) and fails past ``limit``."""

    def __init__(self, limit: int, *, events: bool, url: str) -> None:
        self._limit = limit
        self._events = events
        self._url = url
        self._size = 0
        self._tail = b""

    def check(self, chunk: bytes) -> bytes:
        if self._events:
            window = self._tail + chunk
            end = max(window.rfind(b) + len(b) if b in window else -1 for b in _BOUNDARIES)
            self._size = len(window) - end if end >= 0 else self._size + len(chunk)
            self._tail = window[-_OVERLAP:]
        else:
            self._size += len(chunk)
        if self._size > self._limit:
            what = "an SSE event" if self._events else "a reply"
            raise MessageTooLargeError(
                f"{what} of more than {self._limit} bytes (raise max_message_size to take it)",
                address=self._url,
            )
        return chunk


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, bound: _Bound) -> None:
        self._stream = stream
        self._bound = bound

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            yield self._bound.check(chunk)

    def close(self) -> None:
        self._stream.close()


class _AsyncBoundedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, bound: _Bound) -> None:
        self._stream = stream
        self._bound = bound

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield self._bound.check(chunk)

    async def aclose(self) -> None:
        await self._stream.aclose()


def _bound(response: httpx.Response, request: httpx.Request, limit: int) -> _Bound:
    events = response.headers.get("content-type", "").startswith("text/event-stream")
    return _Bound(limit, events=events, url=str(request.url))


class BoundedTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` whose replies are bounded."""

    def __init__(self, inner: httpx.BaseTransport, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _BoundedStream(response.stream, _bound(response, request, self._limit))
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncBoundedTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport`` whose replies are bounded."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        bound = _bound(response, request, self._limit)
        response.stream = _AsyncBoundedStream(response.stream, bound)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
