"""LlamaIndex models for vLLM: ``VLLM``, a FunctionCallingLLM over HTTP or gRPC;
``VLLMEmbedding``, an embedding model; ``VLLMRerank``, a node postprocessor."""

from vllm_integrations.extras import require_extra

require_extra("llama-index", purpose="vllm_integrations.llama_index")

from vllm_integrations.llama_index.embeddings import VLLMEmbedding  # noqa: E402
from vllm_integrations.llama_index.llms import VLLM  # noqa: E402
from vllm_integrations.llama_index.rerank import VLLMRerank  # noqa: E402

__all__ = ["VLLM", "VLLMEmbedding", "VLLMRerank"]
