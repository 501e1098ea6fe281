"""LlamaIndex model for vLLM: ``VLLM``, a FunctionCallingLLM over HTTP or gRPC."""

from vllm_integrations.extras import require_extra

require_extra("llama-index", purpose="vllm_integrations.llama_index")

from vllm_integrations.llama_index.llms import VLLM  # noqa: E402

__all__ = ["VLLM"]
