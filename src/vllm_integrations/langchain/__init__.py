"""LangChain models for vLLM: ``ChatVLLM`` (chat), ``VLLM`` (text completion),
``VLLMEmbeddings`` (embeddings) and ``VLLMRerank`` (a document compressor)."""

from vllm_integrations.extras import require_extra

require_extra("langchain", purpose="vllm_integrations.langchain")

from vllm_integrations.langchain.chat_models import ChatVLLM  # noqa: E402
from vllm_integrations.langchain.embeddings import VLLMEmbeddings  # noqa: E402
from vllm_integrations.langchain.llms import VLLM  # noqa: E402
from vllm_integrations.langchain.rerank import VLLMRerank  # noqa: E402

__all__ = ["VLLM", "ChatVLLM", "VLLMEmbeddings", "VLLMRerank"]
