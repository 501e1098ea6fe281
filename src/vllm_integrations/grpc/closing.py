"""Context-manager mixins: ``with x:`` / ``async with x:`` close ``x`` on the way out, for the
clients and their streams alike."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosedOnExit:
    """``with x:`` closes ``x`` on the way out (clients and streams alike)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClosedOnExit:
    """``async with x:`` closes ``x`` on the way out."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
