"""Many calls at once, at most ``limit`` in flight, results in input order: how both transports
send the requests of one embedding call (HTTP: a batch each; gRPC: a text each). The first
failure is raised as it is (no ``ExceptionGroup``) and the calls not yet started never are.

Sync calls run on a thread pool (each blocks in its client's own I/O, which releases the GIL);
async calls run as ``limit`` workers on the running loop. Neither wraps the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


def map_bounded(call: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
    """``call`` over ``items`` on up to ``limit`` threads."""
    if limit <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(limit, len(items)))
    try:
        return list(pool.map(call, items))
    finally:  # after a failure: drop what has not started, wait for what has
        pool.shutdown(wait=True, cancel_futures=True)


async def amap_bounded(
    call: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int
) -> list[R]:
    """``call`` over ``items``, awaited by up to ``limit`` workers at once."""
    if len(items) == 1:
        return [await call(items[0])]
    results: list[R | None] = [None] * len(items)
    positions = iter(range(len(items)))  # shared: each worker takes the next item

    async def worker() -> None:
        for position in positions:
            results[position] = await call(items[position])

    workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(items)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return cast("list[R]", results)  # every position was filled
