"""One vLLM gRPC server: its address, its channels (``grpc`` and ``grpc.aio`` for the set-up
and management calls, the HTTP/2 reader or grpcio for the Generate streams; each opened on
first use and closed with the client, the asyncio ones per event loop), the limits and metadata
every call carries, retries before any reply, and gRPC errors as this package's family."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vllm_integrations.errors import APIConnectionError, APIError, APITimeoutError, VLLMError
from vllm_integrations.settings import Timeouts
from vllm_integrations.transports.grpc import wire
from vllm_integrations.transports.retries import RetryPolicy

if TYPE_CHECKING:
    from vllm_integrations.transports.base import TransportOptions
    from vllm_integrations.transports.grpc.h2.async_channel import AsyncHttp2Channel
    from vllm_integrations.transports.grpc.h2.channel import (
        Endpoint,
        Http2Channel,
        StreamRequest,
    )

GENERATE = "/vllm.grpc.engine.VllmEngine/Generate"


def _channel_options(max_message_size: int, connect_timeout: float) -> list[tuple[str, Any]]:
    """grpcio's channels: a direct route (an ``https_proxy`` meant for the internet would catch
    them otherwise), the same keepalive and message limit as the HTTP/2 reader, and the
    connect timeout (grpcio's own is 20 s, and a call waits for it up to its deadline: a
    server that never answers the connection would hold a call for the whole read timeout)."""
    from vllm_integrations.transports.grpc.h2.channel import KEEPALIVE_TIME, KEEPALIVE_TIMEOUT

    return [
        ("grpc.enable_http_proxy", 0),
        ("grpc.keepalive_time_ms", int(KEEPALIVE_TIME * 1000)),
        ("grpc.keepalive_timeout_ms", int(KEEPALIVE_TIMEOUT * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", max_message_size),
        # Despite its name, grpcio's longest wait for one connection attempt.
        ("grpc.min_reconnect_backoff_ms", int(connect_timeout * 1000)),
    ]


class Connection:
    """``base_url`` is ``grpc://HOST:PORT`` or ``grpcs://HOST:PORT`` (TLS, verified against
    ``options.ca_certificates`` or the system's roots). Every call carries ``options.headers``
    and the API key (``authorization: Bearer``) as metadata."""

    def __init__(self, base_url: str, options: TransportOptions) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("grpc", "grpcs") or not parts.hostname or parts.port is None:
            raise ValueError(f"a gRPC base_url is grpc://HOST:PORT (or grpcs://), not {base_url!r}")
        self.base_url = base_url
        self.timeouts: Timeouts = options.timeouts
        self._target = parts.netloc
        self._host, self._port = parts.hostname, parts.port
        self._secure = parts.scheme == "grpcs"
        self._roots = options.ca_certificates
        self._max_message_size = options.max_message_size
        self._reader = options.grpc_reader
        self._retries = RetryPolicy(options.max_retries)
        headers = {"authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        # gRPC metadata keys are lowercase; HTTP habits (X-Api-Key) would fail at call time.
        headers.update((key.lower(), value) for key, value in options.headers.items())
        self.metadata = tuple(headers.items())
        self._lock = threading.Lock()
        self._channel: Any = None
        self._achannels: dict[asyncio.AbstractEventLoop, Any] = {}
        self._streams: Http2Channel | None = None
        self._astreams: AsyncHttp2Channel | None = None

    # -- unary calls -----------------------------------------------------------------------

    def call(self, method: str, request: Any, *, health: bool = False) -> Any:
        """``method`` of the VllmEngine service (or the health service), retried as
        ``retries`` says; errors in this package's family."""
        deadline = self._deadline()
        attempt = 0
        while True:
            stub = _health_stub(self.channel()) if health else _engine_stub(self.channel())
            started = time.monotonic()
            try:
                with self.errors():
                    return getattr(stub, method)(request, **self._unary_options(deadline))
            except APIError as caught:
                error = self._connect_timeout(caught, started)
                wait = self._retries.delay(error, attempt, deadline)
                if wait is None and error is caught:
                    raise
                if wait is None:
                    raise error from caught
            time.sleep(wait)
            attempt += 1

    async def acall(self, method: str, request: Any, *, health: bool = False) -> Any:
        """``call`` for asyncio, on the running loop's channel."""
        deadline = self._deadline()
        attempt = 0
        while True:
            channel = self.achannel()
            stub = _health_stub(channel) if health else _engine_stub(channel)
            started = time.monotonic()
            try:
                with self.errors():
                    return await getattr(stub, method)(request, **self._unary_options(deadline))
            except APIError as caught:
                error = self._connect_timeout(caught, started)
                wait = self._retries.delay(error, attempt, deadline)
                if wait is None and error is caught:
                    raise
                if wait is None:
                    raise error from caught
            await asyncio.sleep(wait)
            attempt += 1

    def _connect_timeout(self, error: APIError, started: float) -> APIError:
        """grpcio reports a connection that could not be made within ``connect_timeout`` as
        UNAVAILABLE, like a refused one; a unary call gets no reply before it connects, so an
        UNAVAILABLE that took the whole connect timeout is that timeout (and not retried)."""
        waited = time.monotonic() - started
        if type(error) is APIConnectionError and waited >= 0.9 * self.timeouts.connect:
            return APITimeoutError(
                f"no connection within the connect timeout of {self.timeouts.connect:g} s "
                f"({error.message})",
                address=self.base_url,
            )
        return error

    def stream_call(self, method: str, request: Any) -> list[Any]:
        """Every message of a short server stream (GetTokenizer), read whole."""
        options = self._unary_options(self._deadline())
        with self.errors():
            return list(getattr(_engine_stub(self.channel()), method)(request, **options))

    async def astream_call(self, method: str, request: Any) -> list[Any]:
        options = self._unary_options(self._deadline())
        with self.errors():
            messages = getattr(_engine_stub(self.achannel()), method)(request, **options)
            return [message async for message in messages]

    # -- Generate --------------------------------------------------------------------------

    def generate(self, request: Any) -> Generator[Any, None, None]:
        """vLLM's Generate stream; closing it early cancels the request on the server. A call
        that fails before its first message is retried; never one that began."""
        deadline = self._deadline()
        attempt = 0
        while True:
            responses = self._open_generate(request, deadline)
            try:
                with self.errors():
                    first = next(responses)
            except StopIteration:
                return
            except APIError as error:
                wait = self._retries.delay(error, attempt, deadline)
                if wait is None:
                    raise
                time.sleep(wait)
                attempt += 1
                continue
            try:
                with self.errors():
                    yield first
                    yield from responses
            finally:
                responses.close()
            return

    async def agenerate(self, request: Any) -> AsyncGenerator[Any, None]:
        """``generate`` for asyncio."""
        deadline = self._deadline()
        attempt = 0
        while True:
            responses = self._aopen_generate(request, deadline)
            try:
                with self.errors():
                    first = await anext(responses)
            except StopAsyncIteration:
                return
            except APIError as error:
                await responses.aclose()
                wait = self._retries.delay(error, attempt, deadline)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                attempt += 1
                continue
            try:
                with self.errors():
                    yield first
                    async for response in responses:
                        yield response
            finally:
                await responses.aclose()
            return

    def _open_generate(self, request: Any, deadline: float | None) -> Generator[Any, None, None]:
        if self._reader == "grpcio":
            from vllm_integrations.transports.grpc.grpcio_reader import read_stream

            total = _left(deadline)
            stub = _engine_stub(self.channel())
            return read_stream(
                stub, request, read=self.timeouts.read, total=total, metadata=self.metadata
            )
        from vllm_integrations.transports.grpc.h2.channel import Http2Channel

        with self._lock:
            if self._streams is None:
                self._streams = Http2Channel(self._endpoint())
            streams = self._streams
        return streams.stream(self._stream_request(request, deadline))

    def _aopen_generate(self, request: Any, deadline: float | None) -> AsyncGenerator[Any, None]:
        if self._reader == "grpcio":
            from vllm_integrations.transports.grpc.grpcio_reader import aread_stream

            total = _left(deadline)
            stub = _engine_stub(self.achannel())
            return aread_stream(
                stub, request, read=self.timeouts.read, total=total, metadata=self.metadata
            )
        from vllm_integrations.transports.grpc.h2.async_channel import AsyncHttp2Channel

        with self._lock:
            if self._astreams is None:
                self._astreams = AsyncHttp2Channel(self._endpoint())
            streams = self._astreams
        return streams.stream(self._stream_request(request, deadline))

    def _stream_request(self, request: Any, deadline: float | None) -> StreamRequest[Any]:
        from vllm_integrations.transports.grpc.h2.channel import StreamRequest

        return StreamRequest(
            GENERATE,
            request.SerializeToString(),
            wire.pb().GenerateResponse.FromString,
            read=self.timeouts.read,
            total=_left(deadline),
            metadata=dict(self.metadata),
        )

    # -- channels --------------------------------------------------------------------------

    def channel(self) -> Any:
        import grpc

        with self._lock:
            if self._channel is None:
                options = _channel_options(self._max_message_size, self.timeouts.connect)
                self._channel = (
                    grpc.secure_channel(self._target, self._credentials(), options)
                    if self._secure
                    else grpc.insecure_channel(self._target, options)
                )
            return self._channel

    def achannel(self) -> Any:
        """The ``grpc.aio`` channel of the running event loop (those of closed loops dropped)."""
        import grpc.aio

        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [old for old in self._achannels if old.is_closed()]:
                del self._achannels[old]
            channel = self._achannels.get(loop)
            if channel is None:
                options = _channel_options(self._max_message_size, self.timeouts.connect)
                channel = self._achannels[loop] = (
                    grpc.aio.secure_channel(self._target, self._credentials(), options)
                    if self._secure
                    else grpc.aio.insecure_channel(self._target, options)
                )
            return channel

    def errors(self) -> TranslatedErrors:
        """A ``with`` block that raises gRPC errors as this package's errors."""
        return TranslatedErrors(self.base_url)

    def close(self) -> None:
        """Close the sync channels; a later call opens new ones."""
        with self._lock:
            channel, self._channel = self._channel, None
            streams, self._streams = self._streams, None
        if channel is not None:
            channel.close()
        if streams is not None:
            streams.close()
        if self._astreams is not None:
            self._astreams.close()  # the connections of closed event loops

    async def aclose(self) -> None:
        """Close the sync channels and the running loop's."""
        self.close()
        with self._lock:
            channel = self._achannels.pop(asyncio.get_running_loop(), None)
        if channel is not None:
            await channel.close()
        if self._astreams is not None:
            await self._astreams.aclose()

    def _deadline(self) -> float | None:
        total = self.timeouts.total
        return None if total is None else time.monotonic() + total

    def _unary_options(self, deadline: float | None) -> dict[str, Any]:
        """A unary call's deadline: the read timeout, cut to what is left of the total."""
        wait = self.timeouts.read
        left = _left(deadline)
        if left is not None:
            wait = left if wait is None else min(wait, left)
        return {"timeout": wait, "metadata": self.metadata or None}

    def _endpoint(self) -> Endpoint:
        from vllm_integrations.transports.grpc.h2.channel import Endpoint, tls_context

        return Endpoint(
            self._host,
            self._port,
            tls_context(self._roots) if self._secure else None,
            connect_timeout=self.timeouts.connect,
            max_message_size=self._max_message_size,
        )

    def _credentials(self) -> Any:
        import grpc

        return grpc.ssl_channel_credentials(root_certificates=self._roots)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.001)


def _engine_stub(channel: Any) -> Any:
    from smg_grpc_proto import vllm_engine_pb2_grpc

    return vllm_engine_pb2_grpc.VllmEngineStub(channel)


def _health_stub(channel: Any) -> Any:
    from grpc_health.v1 import health_pb2_grpc

    return health_pb2_grpc.HealthStub(channel)


class TranslatedErrors:
    """Raise gRPC errors as this package's family (works in sync and async code)."""

    def __init__(self, address: str) -> None:
        self._address = address

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        import grpc

        if isinstance(exc, VLLMError):
            return
        if isinstance(exc, grpc.RpcError):
            raise wire.translate_error(exc, self._address) from exc
