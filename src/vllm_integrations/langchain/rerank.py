"""VLLMRerank: vLLM's rerank API as a LangChain document compressor (for example inside a
``ContextualCompressionRetriever``): the best ``top_n`` documents, best first, each with its
score in ``metadata["relevance_score"]``."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document

from vllm_integrations.adapter_settings import STRICT_CONFIG
from vllm_integrations.embedding_settings import RerankSettings
from vllm_integrations.types import RerankResult


class VLLMRerank(RerankSettings, BaseDocumentCompressor):
    """A reranker served by vLLM over HTTP (a cross-encoder, or an embedding model, which vLLM
    scores by cosine similarity). The gRPC API has no rerank call: a ``grpc://`` base_url is
    refused when the reranker is built.

    ```python
    reranker = VLLMRerank(base_url="http://127.0.0.1:8001/v1", top_n=2)
    best = reranker.compress_documents(documents, "Which is the highest mountain in Japan?")
    ```
    """

    model_config = STRICT_CONFIG

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        texts = [document.page_content for document in documents]
        return _ranked(documents, self.rerank(query, texts))

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        texts = [document.page_content for document in documents]
        return _ranked(documents, await self.arerank(query, texts))


def _ranked(documents: Sequence[Document], ranking: list[RerankResult]) -> list[Document]:
    """Copies of the ranked documents, best first, the score added to their metadata (the
    originals, which a vector store may hold, are left as they were)."""
    ranked = []
    for result in ranking:
        document = documents[result.index]
        metadata = {**document.metadata, "relevance_score": result.score}
        ranked.append(document.model_copy(update={"metadata": metadata}))
    return ranked
