"""Native client of vLLM's token-ID-only gRPC server (``vllm serve --grpc``, smg's
``vllm.grpc.engine`` API), shaped like the openai SDK: results are the SDK's own classes with
vLLM's ``reasoning`` and ``token_ids``. ``TokenDecoder`` turns raw token IDs into text with vLLM's
stop semantics, for callers that hold IDs of their own. Needs the ``grpc`` extra.
"""

from vllm_integrations.extras import require_extra

require_extra("grpc", purpose="vllm_integrations.grpc")

from vllm_integrations.grpc.client import AsyncVLLMGrpcClient, VLLMGrpcClient  # noqa: E402
from vllm_integrations.grpc.streams import AsyncStream, Stream  # noqa: E402
from vllm_integrations.structured import StructuredOutputs  # noqa: E402
from vllm_integrations.transports.grpc.decoding import TokenDecoder  # noqa: E402

__all__ = [
    "AsyncStream",
    "AsyncVLLMGrpcClient",
    "Stream",
    "StructuredOutputs",
    "TokenDecoder",
    "VLLMGrpcClient",
]
