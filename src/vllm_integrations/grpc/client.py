"""The public clients of vLLM's native gRPC API, shaped like the openai SDK's.

``VLLMGrpcClient`` and ``AsyncVLLMGrpcClient`` (asyncio) hold one ``GrpcTransport``,
the same pipeline ChatVLLM and VLLM use over ``grpc://``, and hand it to resources named as the
SDK names them: ``completions``, ``chat.completions``, ``models``, plus ``health``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from vllm_integrations.grpc.closing import AsyncClosedOnExit, ClosedOnExit
from vllm_integrations.grpc.completions import (
    AsyncChat,
    AsyncCompletions,
    Chat,
    Completions,
)
from vllm_integrations.grpc.management import AsyncHealth, AsyncModels, Health, Models
from vllm_integrations.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    GrpcReader,
    Timeouts,
    check_base_url,
    check_headers,
    default_api_key,
    default_grpc_host,
    default_grpc_port,
    default_grpc_reader,
    default_grpc_timeout,
)
from vllm_integrations.transports import TransportOptions
from vllm_integrations.transports.grpc.transport import GrpcTransport


class _GrpcClient:
    """Where the server is and how to read it; the resources come with each subclass.

    The address is ``host`` and ``port`` (default ``$VLLM_GRPC_HOST``, else localhost, and
    ``$VLLM_GRPC_PORT``, else 50051), or a ``base_url`` ``grpc://HOST:PORT``. TLS:
    ``secure=True``, ``root_certificates=`` (PEM bytes; implies TLS) or ``grpcs://``.
    ``timeout`` (default ``$VLLM_GRPC_TIMEOUT``, else 600) is the longest wait in seconds for
    the next message of a stream or for a unary reply; ``connect_timeout`` the longest wait
    for a connection; ``total_timeout`` a deadline for a whole call (default none).
    ``max_retries`` retries a call that failed before any reply (never one that began).
    ``api_key`` (default ``$VLLM_API_KEY``) goes as ``authorization: Bearer`` metadata, and
    ``metadata`` with every call (e.g. a header a gateway checks). ``max_message_size`` bounds
    each received message (default 4 MiB); ``grpc_reader`` picks who reads Generate streams
    ("h2", this package's reader, or "grpcio"; default ``$VLLM_GRPC_READER``, else "h2").
    ``tokenizer`` is a local path or hub id (default: the server's own files, fetched once and
    cached); ``reasoning_parser`` and ``tool_call_parser`` are vLLM's parser names (default:
    the engine's reasoning parser, and hermes). Channels open on first use; ``close()`` or a
    ``with`` block closes them.
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        base_url: str | None = None,
        secure: bool = False,
        root_certificates: bytes | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        total_timeout: float | None = None,
        max_retries: int = 2,
        metadata: Mapping[str, str] | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        grpc_reader: GrpcReader | None = None,
        tokenizer: str | None = None,
        reasoning_parser: str | None = None,
        tool_call_parser: str | None = "hermes",
    ) -> None:
        url = _base_url(base_url, host, port, secure=secure or root_certificates is not None)
        check_headers(metadata or {}, check_base_url(url))
        options = TransportOptions(
            api_key=api_key if api_key is not None else default_api_key(),
            timeouts=Timeouts(
                timeout if timeout is not None else default_grpc_timeout(),
                connect_timeout,
                total_timeout,
            ),
            max_retries=max_retries,
            headers=dict(metadata or {}),
            ca_certificates=root_certificates,
            max_message_size=max_message_size,
            grpc_reader=grpc_reader or default_grpc_reader(),
            tokenizer=tokenizer,
            reasoning_parser=reasoning_parser,
            tool_call_parser=tool_call_parser,
        )
        self._transport = GrpcTransport(url, options)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class VLLMGrpcClient(_GrpcClient, ClosedOnExit):
    """A blocking client (``grpc``); a context manager that closes its channel."""

    @cached_property
    def completions(self) -> Completions:
        return Completions(self._transport)

    @cached_property
    def chat(self) -> Chat:
        return Chat(self._transport)

    @cached_property
    def models(self) -> Models:
        return Models(self._transport)

    @cached_property
    def health(self) -> Health:
        return Health(self._transport)

    def close(self) -> None:
        self._transport.close()


class AsyncVLLMGrpcClient(_GrpcClient, AsyncClosedOnExit):
    """An asyncio client; an async context manager that closes its channels."""

    @cached_property
    def completions(self) -> AsyncCompletions:
        return AsyncCompletions(self._transport)

    @cached_property
    def chat(self) -> AsyncChat:
        return AsyncChat(self._transport)

    @cached_property
    def models(self) -> AsyncModels:
        return AsyncModels(self._transport)

    @cached_property
    def health(self) -> AsyncHealth:
        return AsyncHealth(self._transport)

    async def close(self) -> None:
        await self._transport.aclose()


def _base_url(base_url: str | None, host: str | None, port: int | None, *, secure: bool) -> str:
    if base_url is None:
        host = host or default_grpc_host()
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        scheme = "grpcs" if secure else "grpc"
        return f"{scheme}://{host}:{port or default_grpc_port()}"
    if host is not None or port is not None:
        raise ValueError("give base_url or host and port, not both")
    if secure and not base_url.startswith("grpcs://"):
        raise ValueError("secure=True with a grpc:// base_url: use grpcs://")
    return base_url
