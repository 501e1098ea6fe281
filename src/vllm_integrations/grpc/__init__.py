"""Native client of vLLM's token-ID-only gRPC server (``vllm serve --grpc``, smg's
``vllm.grpc.engine`` API), shaped like the openai SDK: results are the SDK's own classes with
vLLM's ``reasoning`` and ``token_ids``. ``TokenDecoder`` turns raw token IDs into text with vLLM's
stop semantics, for callers that hold IDs of their own.

The names load on first use: the transport under the client imports this package's wire and
decoding modules, so importing the client here at once would be circular.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vllm_integrations.grpc.client import AsyncVLLMGrpcClient, VLLMGrpcClient
    from vllm_integrations.grpc.decoding import TokenDecoder
    from vllm_integrations.grpc.streams import AsyncStream, Stream
    from vllm_integrations.structured import StructuredOutputs

__all__ = [
    "AsyncStream",
    "AsyncVLLMGrpcClient",
    "Stream",
    "StructuredOutputs",
    "TokenDecoder",
    "VLLMGrpcClient",
]

_HOMES = {
    "AsyncStream": "vllm_integrations.grpc.streams",
    "AsyncVLLMGrpcClient": "vllm_integrations.grpc.client",
    "Stream": "vllm_integrations.grpc.streams",
    "StructuredOutputs": "vllm_integrations.structured",
    "TokenDecoder": "vllm_integrations.grpc.decoding",
    "VLLMGrpcClient": "vllm_integrations.grpc.client",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
