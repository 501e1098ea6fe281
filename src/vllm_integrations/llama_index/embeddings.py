"""VLLMEmbedding: a LlamaIndex ``BaseEmbedding`` served by vLLM over HTTP or gRPC.

LlamaIndex batches the texts (``embed_batch_size``) and, in async code, runs the batches at
once (``num_workers`` bounds them); each batch is one HTTP request, or over gRPC one call per
text, all in flight at once. ``EmbeddingSettings`` makes the neutral request.
"""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import ConfigDict, Field

from vllm_integrations.adapter_settings import STRICT_CONFIG
from vllm_integrations.embedding_settings import EmbeddingSettings


class VLLMEmbedding(EmbeddingSettings, BaseEmbedding):
    """An embedding model served by vLLM (``vllm serve MODEL --runner pooling``).

    ```python
    Settings.embed_model = VLLMEmbedding(base_url="http://127.0.0.1:8001/v1")  # or grpc://...
    ```
    """

    model_config = ConfigDict(**STRICT_CONFIG, arbitrary_types_allowed=True)

    embed_batch_size: int = Field(default=64, gt=0, le=2048)
    """Texts per request over HTTP (over gRPC every text is its own call)."""

    @classmethod
    def class_name(cls) -> str:
        return "vllm_integrations.VLLMEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return self.embed_texts([query], 1)[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self.aembed_texts([query], 1))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self.embed_texts([text], 1)[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self.aembed_texts([text], 1))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self.embed_texts(texts, self.embed_batch_size)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self.aembed_texts(texts, self.embed_batch_size)
