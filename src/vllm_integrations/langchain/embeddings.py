"""VLLMEmbeddings: a LangChain ``Embeddings`` served by vLLM over HTTP or gRPC.

The class holds settings; ``EmbeddingSettings`` makes the neutral request and the transport
batches it, keeps ``max_concurrency`` batches in flight and returns the vectors in order.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings
from pydantic import Field

from vllm_integrations.adapter_settings import STRICT_CONFIG
from vllm_integrations.embedding_settings import EmbeddingSettings


class VLLMEmbeddings(EmbeddingSettings, Embeddings):
    """An embedding model served by vLLM (``vllm serve MODEL --runner pooling``).

    ```python
    embeddings = VLLMEmbeddings(base_url="http://127.0.0.1:8001/v1")  # or grpc://HOST:PORT
    vectors = embeddings.embed_documents(["first text", "second text"])
    ```
    """

    model_config = STRICT_CONFIG

    batch_size: int = Field(default=64, gt=0)
    """Texts per request over HTTP (over gRPC every text is its own call)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_texts(texts, self.batch_size)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_texts([text], 1)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await self.aembed_texts(texts, self.batch_size)

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_texts([text], 1))[0]
