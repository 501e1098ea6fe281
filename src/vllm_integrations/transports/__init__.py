"""Transports turn neutral requests into neutral replies and deltas, one per vLLM front door:
``http`` (the OpenAI-compatible API) and ``grpc`` (the native token-ID API). ``open_transport``
picks one by the base URL's scheme, importing the gRPC one only when it is asked for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vllm_integrations.extras import require_extra
from vllm_integrations.settings import transport_for
from vllm_integrations.transports.base import Transport

__all__ = ["Transport", "TransportOptions", "open_transport"]


@dataclass(frozen=True)
class TransportOptions:
    """What an adapter says about how to reach its server; each transport reads its part."""

    api_key: str = ""
    timeout: float | None = None
    max_retries: int = 2
    headers: Mapping[str, str] = field(default_factory=dict)
    tokenizer: str | None = None
    """gRPC: the tokenizer's path or hub id (default: the server's own files)."""
    reasoning_parser: str | None = None
    """gRPC: vLLM's name of the reasoning parser (default: the one the server runs)."""
    tool_call_parser: str | None = "hermes"
    """gRPC: vLLM's name of the tool-call parser."""


def open_transport(base_url: str, options: TransportOptions) -> Transport:
    """The transport for ``base_url``'s scheme (``http(s)://`` or ``grpc(s)://``)."""
    if transport_for(base_url) == "grpc":
        require_extra("grpc", purpose=f"the gRPC transport ({base_url})")
        from vllm_integrations.transports.grpc.transport import GrpcTransport

        return GrpcTransport(
            base_url,
            timeout=options.timeout,
            tokenizer=options.tokenizer,
            reasoning_parser=options.reasoning_parser,
            tool_call_parser=options.tool_call_parser,
            metadata=options.headers,
        )
    from vllm_integrations.transports.http.transport import HttpTransport

    return HttpTransport(
        base_url,
        options.api_key,
        timeout=options.timeout,
        max_retries=options.max_retries,
        default_headers=options.headers,
    )
