"""Transports turn neutral requests into neutral replies and deltas, one per vLLM front door:
``http`` (the OpenAI-compatible API) and ``grpc`` (the native token-ID API). ``open_transport``
picks one by the base URL's scheme, importing the gRPC one only when it is asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vllm_integrations.extras import require_extra
from vllm_integrations.settings import transport_for
from vllm_integrations.transports.base import (
    EmbeddingTransport,
    RerankTransport,
    Transport,
    TransportOptions,
)

if TYPE_CHECKING:
    from vllm_integrations.transports.http.transport import HttpTransport

__all__ = [
    "EmbeddingTransport",
    "RerankTransport",
    "Transport",
    "TransportOptions",
    "check_embedding_options",
    "check_rerank_base_url",
    "open_embedding_transport",
    "open_rerank_transport",
    "open_transport",
]


def open_transport(base_url: str, options: TransportOptions) -> Transport:
    """The transport for ``base_url``'s scheme (``http(s)://`` or ``grpc(s)://``)."""
    if transport_for(base_url) == "grpc":
        require_extra("grpc", purpose=f"the gRPC transport ({base_url})")
        from vllm_integrations.transports.grpc.transport import GrpcTransport

        return GrpcTransport(base_url, options)
    from vllm_integrations.transports.http.transport import HttpTransport

    return HttpTransport(base_url, options)


def open_embedding_transport(transport: Transport) -> EmbeddingTransport:
    """Embeddings over ``transport``'s connections (one that embeds itself is used as it is)."""
    if isinstance(transport, EmbeddingTransport):
        return transport
    from vllm_integrations.transports.http.transport import HttpTransport

    if isinstance(transport, HttpTransport):
        return _http_embeddings(transport)
    from vllm_integrations.transports.grpc.embeddings import GrpcEmbeddings
    from vllm_integrations.transports.grpc.transport import GrpcTransport

    if isinstance(transport, GrpcTransport):
        return GrpcEmbeddings(transport)
    raise TypeError(f"{type(transport).__name__} neither embeds nor is this package's transport")


def open_rerank_transport(transport: Transport) -> RerankTransport:
    """Reranking over ``transport``'s connections: vLLM's HTTP API only."""
    if isinstance(transport, RerankTransport):
        return transport
    check_rerank_base_url(transport.base_url)
    from vllm_integrations.transports.http.transport import HttpTransport

    if isinstance(transport, HttpTransport):
        return _http_embeddings(transport)
    raise TypeError(f"{type(transport).__name__} neither reranks nor is this package's transport")


def _http_embeddings(transport: HttpTransport) -> RerankTransport:
    from vllm_integrations.transports.http.embeddings import HttpEmbeddings

    return HttpEmbeddings(transport)


def check_embedding_options(
    base_url: str, *, dimensions: int | None, normalize: bool | None
) -> None:
    """Refuse, when an adapter is built, embedding options its transport cannot carry."""
    if transport_for(base_url) == "grpc":
        from vllm_integrations.transports.grpc.embeddings import check_options

        check_options(dimensions=dimensions, normalize=normalize)


def check_rerank_base_url(base_url: str) -> None:
    """Reranking is vLLM's HTTP API's alone: refuse a gRPC base URL when the reranker is built."""
    if transport_for(base_url) == "grpc":
        raise ValueError(
            f"vLLM's gRPC API has no rerank call (its VllmEngine service generates and embeds "
            f"only): give the reranker the server's http(s):// base_url, not {base_url!r}"
        )
