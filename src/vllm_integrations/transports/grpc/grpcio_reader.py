"""Generate streams read by grpcio's own client, the alternative to this package's HTTP/2 reader
(``grpc_reader="grpcio"`` or ``VLLM_GRPC_READER=grpcio``), with the same limits: at most
``read`` seconds for each message, the whole call within ``total``.

grpcio has a deadline per call but no wait limit per message: a sync call is cancelled by a
watchdog thread (one per process, waking a few times a second, O(calls in flight)); an asyncio
call waits for each message with ``wait_for``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from typing import Any

from vllm_integrations.transports.grpc.h2.connection import CallError, read_timed_out

_TICK = 0.2


@dataclass(eq=False)
class _Watched:
    call: Any
    read: float
    last: float = field(default_factory=time.monotonic)
    expired: bool = False


class _Watchdog:
    def __init__(self) -> None:
        self._calls: weakref.WeakSet[_Watched] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, entry: _Watched) -> None:
        with self._lock:
            self._calls.add(entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vllm-grpcio-reads", daemon=True
                )
                self._thread.start()

    def forget(self, entry: _Watched) -> None:
        with self._lock:
            self._calls.discard(entry)

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            with self._lock:
                due = [e for e in self._calls if now >= e.last + e.read]
            for entry in due:
                entry.expired = True
                entry.call.cancel()


_watchdog = _Watchdog()


def read_stream(
    stub: Any, request: Any, *, read: float | None, total: float | None, metadata: Any
) -> Generator[Any, None, None]:
    """``stub.Generate(request)``'s responses; leaving early cancels the call."""
    call = stub.Generate(request, timeout=total, metadata=metadata)
    entry = None if read is None else _Watched(call, read)
    if entry is not None:
        _watchdog.watch(entry)
    try:
        for response in call:
            if entry is not None:
                entry.last = time.monotonic()
            yield response
    except Exception:
        if entry is not None and entry.expired:
            raise read_timed_out(entry.read) from None
        raise
    finally:
        if entry is not None:
            _watchdog.forget(entry)
        call.cancel()


async def aread_stream(
    stub: Any, request: Any, *, read: float | None, total: float | None, metadata: Any
) -> AsyncGenerator[Any, None]:
    """``read_stream`` on ``grpc.aio``."""
    import grpc.aio

    call = stub.Generate(request, timeout=total, metadata=metadata)
    try:
        while True:
            try:
                response = await asyncio.wait_for(call.read(), read)
            except TimeoutError:
                raise read_timed_out(read or 0.0) from None
            if response is grpc.aio.EOF:
                return
            if response is None:  # grpc.aio logs a message its parser refused, and hands None
                raise CallError(grpc.StatusCode.INTERNAL, "a message the client cannot decode")
            yield response
    finally:
        call.cancel()
