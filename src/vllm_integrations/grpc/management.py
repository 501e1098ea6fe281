"""``client.models`` and ``client.health``: what the server serves, whether it is ready, what it
says about itself, and aborting requests by id. Sync and async twins over the same transport."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable

from vllm_integrations.errors import model_not_served
from vllm_integrations.grpc import convert
from vllm_integrations.grpc.results import Model, ServerInfo
from vllm_integrations.transports.grpc.transport import GrpcTransport


class Models:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    def retrieve(self, model: str | None = None) -> Model:
        """The served model (GetModelInfo); naming another is a ``NotFoundError``, as over
        HTTP. The gRPC API serves one model and takes no name."""
        served = convert.model(self._transport.model_info(), int(time.time()))
        return _named(served, model, self._transport)

    def list(self) -> builtins.list[Model]:
        """Every served model: the one."""
        return [self.retrieve()]


class AsyncModels:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    async def retrieve(self, model: str | None = None) -> Model:
        served = convert.model(await self._transport.amodel_info(), int(time.time()))
        return _named(served, model, self._transport)

    async def list(self) -> builtins.list[Model]:
        return [await self.retrieve()]


class Health:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    def check(self) -> bool:
        """Whether the server takes requests: its ``grpc.health.v1`` service reports the engine
        SERVING (not while warming up or shutting down) and the engine has not failed
        (HealthCheck). An unreachable server raises ``APIConnectionError``."""
        return self._transport.healthy()

    def server_info(self) -> ServerInfo:
        """What the server says about itself (GetServerInfo)."""
        return convert.server_info(self._transport.server_info())

    def abort(self, request_ids: str | Iterable[str]) -> None:
        """Stop generating for these requests: the ``id`` of a result or chunk is its request
        id. Their streams end with ``finish_reason="abort"``; unknown ids are ignored."""
        self._transport.abort(_ids(request_ids))


class AsyncHealth:
    def __init__(self, transport: GrpcTransport) -> None:
        self._transport = transport

    async def check(self) -> bool:
        return await self._transport.ahealthy()

    async def server_info(self) -> ServerInfo:
        return convert.server_info(await self._transport.aserver_info())

    async def abort(self, request_ids: str | Iterable[str]) -> None:
        await self._transport.aabort(_ids(request_ids))


def _named(served: Model, asked: str | None, transport: GrpcTransport) -> Model:
    if asked is not None and asked != served.id:
        raise model_not_served(asked, [served.id], address=transport.base_url)
    return served


def _ids(request_ids: str | Iterable[str]) -> list[str]:
    return [request_ids] if isinstance(request_ids, str) else list(request_ids)
