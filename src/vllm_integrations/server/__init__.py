"""Real vLLM servers and smg gateways as child processes: start, wait until they serve, stop.

``LocalVLLMServer`` runs one vLLM server (OpenAI-compatible HTTP or native gRPC);
``LocalGateway`` puts vLLM gRPC workers behind an smg router, which speaks the OpenAI API with
SSE to every client.
"""

from vllm_integrations.server.gateway import LocalGateway
from vllm_integrations.server.vllm import LocalVLLMServer, Protocol

__all__ = ["LocalGateway", "LocalVLLMServer", "Protocol"]
