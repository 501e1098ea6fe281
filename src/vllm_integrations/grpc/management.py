"""``client.models`` and ``client.health``: what the server serves, whether it is ready, what it
says about itself, and aborting requests by id. Sync and async twins over the same connection."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable
from typing import Any

from vllm_integrations.errors import NotFoundError
from vllm_integrations.grpc import convert, wire
from vllm_integrations.grpc.connection import HEALTH_SERVICE, Connection
from vllm_integrations.grpc.results import Model, ServerInfo


class Models:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def retrieve(self, model: str | None = None) -> Model:
        """The served model (GetModelInfo); naming another is a ``NotFoundError``, as over
        HTTP. The gRPC API serves one model and takes no name."""
        with self._connection.errors():
            info = self._connection.engine().GetModelInfo(
                wire.pb().GetModelInfoRequest(), **self._connection.options
            )
        return _named(convert.model(info, int(time.time())), model, self._connection)

    def list(self) -> builtins.list[Model]:
        """Every served model: the one."""
        return [self.retrieve()]


class AsyncModels:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def retrieve(self, model: str | None = None) -> Model:
        with self._connection.errors():
            info = await self._connection.aengine().GetModelInfo(
                wire.pb().GetModelInfoRequest(), **self._connection.options
            )
        return _named(convert.model(info, int(time.time())), model, self._connection)

    async def list(self) -> builtins.list[Model]:
        return [await self.retrieve()]


class Health:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def check(self) -> bool:
        """Whether the server takes requests: its ``grpc.health.v1`` service reports the engine
        SERVING (not while warming up or shutting down) and the engine has not failed
        (HealthCheck). An unreachable server raises ``APIConnectionError``."""
        options = self._connection.options
        with self._connection.errors():
            status = self._connection.health().Check(_health_request(), **options)
            engine = self._connection.engine().HealthCheck(
                wire.pb().HealthCheckRequest(), **options
            )
        return _ready(status, engine)

    def server_info(self) -> ServerInfo:
        """What the server says about itself (GetServerInfo)."""
        with self._connection.errors():
            info = self._connection.engine().GetServerInfo(
                wire.pb().GetServerInfoRequest(), **self._connection.options
            )
        return convert.server_info(info)

    def abort(self, request_ids: str | Iterable[str]) -> None:
        """Stop generating for these requests: the ``id`` of a result or chunk is its request
        id. Their streams end with ``finish_reason="abort"``; unknown ids are ignored."""
        with self._connection.errors():
            self._connection.engine().Abort(_abort_request(request_ids), **self._connection.options)


class AsyncHealth:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def check(self) -> bool:
        options = self._connection.options
        with self._connection.errors():
            status = await self._connection.ahealth().Check(_health_request(), **options)
            engine = await self._connection.aengine().HealthCheck(
                wire.pb().HealthCheckRequest(), **options
            )
        return _ready(status, engine)

    async def server_info(self) -> ServerInfo:
        with self._connection.errors():
            info = await self._connection.aengine().GetServerInfo(
                wire.pb().GetServerInfoRequest(), **self._connection.options
            )
        return convert.server_info(info)

    async def abort(self, request_ids: str | Iterable[str]) -> None:
        with self._connection.errors():
            await self._connection.aengine().Abort(
                _abort_request(request_ids), **self._connection.options
            )


def _named(served: Model, asked: str | None, connection: Connection) -> Model:
    if asked is not None and asked != served.id:
        raise NotFoundError(
            f"The model `{asked}` does not exist (this server serves `{served.id}`).",
            address=connection.base_url,
        )
    return served


def _health_request() -> Any:
    from grpc_health.v1 import health_pb2

    return health_pb2.HealthCheckRequest(service=HEALTH_SERVICE)


def _ready(status: Any, engine: Any) -> bool:
    from grpc_health.v1 import health_pb2

    return bool(status.status == health_pb2.HealthCheckResponse.SERVING and engine.healthy)


def _abort_request(request_ids: str | Iterable[str]) -> Any:
    ids = [request_ids] if isinstance(request_ids, str) else list(request_ids)
    return wire.pb().AbortRequest(request_ids=ids)
