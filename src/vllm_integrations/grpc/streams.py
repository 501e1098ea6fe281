"""Streamed results, shaped like the openai SDK's ``Stream`` / ``AsyncStream``.

A stream starts when ``create()`` returns: the first chunk has been received, so a rejected
request raises there, as in the SDK. Closing it early (``close()``, leaving its ``with`` block,
cancelling the task that reads it) cancels the gRPC call, and vLLM aborts the request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Generic, Self, TypeVar

from vllm_integrations.grpc.closing import AsyncClosedOnExit, ClosedOnExit

ChunkT = TypeVar("ChunkT")
DeltaT = TypeVar("DeltaT")


class Stream(ClosedOnExit, Generic[ChunkT]):
    """An iterator of chunks; a context manager that closes it."""

    def __init__(self, chunks: Generator[ChunkT, None, None], head: ChunkT | None) -> None:
        self._chunks = chunks
        self._head = head

    @classmethod
    def start(
        cls, deltas: Generator[DeltaT, None, None], convert: Callable[[DeltaT], ChunkT]
    ) -> Stream[ChunkT]:
        """The transport's ``deltas`` as chunks, once the first has arrived (or failed)."""
        chunks = _converted(deltas, convert)
        return cls(chunks, next(chunks, None))

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ChunkT:
        if self._head is not None:
            head, self._head = self._head, None
            return head
        return next(self._chunks)

    def close(self) -> None:
        """Stop reading; aborts the request on the server if it is still generating."""
        self._head = None
        self._chunks.close()


class AsyncStream(AsyncClosedOnExit, Generic[ChunkT]):
    """An async iterator of chunks; an async context manager that closes it."""

    def __init__(self, chunks: AsyncGenerator[ChunkT, None], head: ChunkT | None) -> None:
        self._chunks = chunks
        self._head = head

    @classmethod
    async def start(
        cls, deltas: AsyncGenerator[DeltaT, None], convert: Callable[[DeltaT], ChunkT]
    ) -> AsyncStream[ChunkT]:
        chunks = _aconverted(deltas, convert)
        return cls(chunks, await anext(chunks, None))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChunkT:
        if self._head is not None:
            head, self._head = self._head, None
            return head
        return await anext(self._chunks)

    async def close(self) -> None:
        """Stop reading; aborts the request on the server if it is still generating."""
        self._head = None
        await self._chunks.aclose()


def _converted(
    deltas: Generator[DeltaT, None, None], convert: Callable[[DeltaT], ChunkT]
) -> Generator[ChunkT, None, None]:
    with contextlib.closing(deltas):  # closing the chunks closes the gRPC call at once
        for delta in deltas:
            yield convert(delta)


async def _aconverted(
    deltas: AsyncGenerator[DeltaT, None], convert: Callable[[DeltaT], ChunkT]
) -> AsyncGenerator[ChunkT, None]:
    async with contextlib.aclosing(deltas):
        async for delta in deltas:
            yield convert(delta)
