"""One vLLM gRPC server: its address, its channels (sync ``grpc`` and ``grpc.aio``, each opened
on first use and closed with the client), the options every call carries, and gRPC errors
raised as this package's exception family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from vllm_integrations.grpc import wire

HEALTH_SERVICE = "vllm.grpc.engine.VllmEngine"
"""The name vLLM's server registers with the ``grpc.health.v1`` service."""


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
        self._channel: Any = None
        self._achannel: Any = None

    def channel(self) -> Any:
        import grpc
        import grpc.experimental

        if self._channel is None:
            # Streams are read in the caller's thread instead of being handed over from
            # grpcio's polling thread: that handover was half of the client's CPU per streamed
            # token. Such calls cannot block in result(); iteration, cancel() and deadlines work.
            options = [(grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)]
            self._channel = (
                grpc.secure_channel(self._target, self._credentials(), options)
                if self._secure
                else grpc.insecure_channel(self._target, options)
            )
        return self._channel

    def achannel(self) -> Any:
        import grpc.aio

        if self._achannel is None:
            self._achannel = (
                grpc.aio.secure_channel(self._target, self._credentials())
                if self._secure
                else grpc.aio.insecure_channel(self._target)
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
        """Close the sync channel; a later call opens a new one."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    async def aclose(self) -> None:
        """Close both channels."""
        self.close()
        if self._achannel is not None:
            await self._achannel.close()
            self._achannel = None

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
