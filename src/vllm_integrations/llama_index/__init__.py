"""LlamaIndex model for vLLM: ``VLLM``, a FunctionCallingLLM over HTTP or gRPC."""

from vllm_integrations.llama_index.llms import VLLM

__all__ = ["VLLM"]
