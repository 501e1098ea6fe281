"""One vLLM gRPC server: its address, its channels (``grpc`` and ``grpc.aio`` for the set-up
and management calls, our own HTTP/2 reader for the Generate streams; each opened on first use
and closed with the client), the options every call carries, and gRPC errors raised as this
package's exception family."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vllm_integrations.transports.grpc import wire

if TYPE_CHECKING:
    from vllm_integrations.transports.grpc.h2.channel import (
        AsyncHttp2Channel,
        Endpoint,
        Http2Channel,
        StreamRequest,
    )

GENERATE = "/vllm.grpc.engine.VllmEngine/Generate"
_OPTIONS = [("grpc.enable_http_proxy", 0)]
"""grpcio's channels connect directly, as the Generate reader does: every call of a client
takes the same route (an ``https_proxy`` meant for the internet would otherwise catch them)."""


class Connection:
    """``base_url`` is ``grpc://HOST:PORT`` or ``grpcs://HOST:PORT`` (TLS, verified against
    ``root_certificates`` or the system's roots). ``timeout`` is each call's deadline in
    seconds (a streamed generation's whole stream); ``metadata`` goes with every call."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        root_certificates: bytes | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("grpc", "grpcs") or not parts.netloc:
            raise ValueError(
                f"a gRPC base_url is grpc://HOST:PORT or grpcs://..., not {base_url!r}"
            )
        self.base_url = base_url
        self._target = parts.netloc
        self._secure = parts.scheme == "grpcs"
        self._root_certificates = root_certificates
        # gRPC metadata keys are lowercase; HTTP habits (X-Api-Key) would fail at call time.
        headers = tuple((key.lower(), value) for key, value in (metadata or {}).items())
        self.options: dict[str, Any] = {"timeout": timeout, "metadata": headers or None}
        self._metadata = dict(headers)
        if parts.port is None:
            raise ValueError(f"a gRPC base_url needs a port (grpc://HOST:PORT), not {base_url!r}")
        self._host, self._port = parts.hostname or "", parts.port
        self._channel: Any = None
        self._achannel: Any = None
        self._streams: Http2Channel | None = None
        self._astreams: AsyncHttp2Channel | None = None

    def generate(self, request: Any) -> Generator[Any, None, None]:
        """vLLM's Generate stream (closing it early cancels the request on the server).

        Read with our HTTP/2 reader rather than grpcio, whose client spends about 1.7 times the
        CPU per received message; this is the one call whose cost grows with the output.
        """
        from vllm_integrations.transports.grpc.h2.channel import Http2Channel

        if self._streams is None:
            self._streams = Http2Channel(self._endpoint())
        return self._streams.stream(self._generate_request(request))

    def agenerate(self, request: Any) -> AsyncGenerator[Any, None]:
        """``generate`` for asyncio."""
        from vllm_integrations.transports.grpc.h2.channel import AsyncHttp2Channel

        if self._astreams is None:
            self._astreams = AsyncHttp2Channel(self._endpoint())
        return self._astreams.stream(self._generate_request(request))

    def _generate_request(self, request: Any) -> StreamRequest[Any]:
        from vllm_integrations.transports.grpc.h2.channel import StreamRequest

        return StreamRequest(
            GENERATE,
            request.SerializeToString(),
            wire.pb().GenerateResponse.FromString,
            timeout=self.options["timeout"],
            metadata=self._metadata,
        )

    def channel(self) -> Any:
        import grpc

        if self._channel is None:
            self._channel = (
                grpc.secure_channel(self._target, self._credentials(), _OPTIONS)
                if self._secure
                else grpc.insecure_channel(self._target, _OPTIONS)
            )
        return self._channel

    def achannel(self) -> Any:
        import grpc.aio

        if self._achannel is None:
            self._achannel = (
                grpc.aio.secure_channel(self._target, self._credentials(), _OPTIONS)
                if self._secure
                else grpc.aio.insecure_channel(self._target, _OPTIONS)
            )
        return self._achannel

    def engine(self) -> Any:
        """The VllmEngine service over the sync channel."""
        return _engine_stub(self.channel())

    def aengine(self) -> Any:
        """The VllmEngine service over the ``grpc.aio`` channel."""
        return _engine_stub(self.achannel())

    def health(self) -> Any:
        """The standard ``grpc.health.v1`` service over the sync channel."""
        return _health_stub(self.channel())

    def ahealth(self) -> Any:
        return _health_stub(self.achannel())

    def errors(self) -> TranslatedErrors:
        """A ``with`` block that raises gRPC errors as this package's errors."""
        return TranslatedErrors(self.base_url)

    def close(self) -> None:
        """Close the sync channels; a later call opens new ones."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._streams is not None:
            self._streams.close()
            self._streams = None

    async def aclose(self) -> None:
        """Close every channel."""
        self.close()
        if self._achannel is not None:
            await self._achannel.close()
            self._achannel = None
        if self._astreams is not None:
            await self._astreams.aclose()
            self._astreams = None

    def _endpoint(self) -> Endpoint:
        from vllm_integrations.transports.grpc.h2.channel import Endpoint, tls_context

        tls = tls_context(self._root_certificates) if self._secure else None
        return Endpoint(self._host, self._port, tls)

    def _credentials(self) -> Any:
        import grpc

        return grpc.ssl_channel_credentials(root_certificates=self._root_certificates)


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

        if isinstance(exc, grpc.RpcError):
            raise wire.translate_error(exc, self._address) from exc
