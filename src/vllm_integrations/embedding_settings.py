"""What the embedding and reranking adapters of both frameworks share: vLLM's pooling options,
checked against the transport when the adapter is built, and the one place their neutral
requests are made. Connection settings, the transport and its lifecycle are
``ConnectionSettings``'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from pydantic import Field, PrivateAttr, model_validator

from vllm_integrations.adapter_settings import STRICT_CONFIG, ConnectionSettings
from vllm_integrations.transports import (
    EmbeddingTransport,
    RerankTransport,
    Transport,
    check_embedding_options,
    check_rerank_base_url,
    open_embedding_transport,
    open_rerank_transport,
)
from vllm_integrations.types import EmbeddingRequest, RerankRequest, RerankResult


class EmbeddingSettings(ConnectionSettings):
    """Connection settings and vLLM's embedding options (None: the server's default)."""

    model_config = STRICT_CONFIG

    dimensions: int | None = Field(default=None, gt=0)
    """Matryoshka models: keep the first N dimensions (HTTP only; vLLM refuses other models)."""
    normalize: bool | None = None
    """False: raw vectors, not L2-normalised (vLLM's ``use_activation``; HTTP only)."""
    truncate_prompt_tokens: int | None = Field(default=None, ge=-1)
    """Keep at most this many tokens of each text (-1: the model's context); default: a text
    longer than the context is an error."""
    max_concurrency: int = Field(default=4, gt=0)
    """Batches in flight at once (over gRPC: that many batches' worth of texts, a call each)."""

    _embedder: EmbeddingTransport | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_embedding_options(self) -> Self:
        check_embedding_options(self.base_url, dimensions=self.dimensions, normalize=self.normalize)
        return self

    def use_transport(self, transport: Transport) -> Self:
        self._embedder = None
        return super().use_transport(transport)

    @property
    def embedder(self) -> EmbeddingTransport:
        """The embeddings of this adapter's transport, made on first use."""
        if self._embedder is None:
            self._embedder = open_embedding_transport(self.transport)
        return self._embedder

    def embedding_request(
        self, texts: Sequence[str], model: str, batch_size: int
    ) -> EmbeddingRequest:
        """The one place an embedding request is made."""
        return EmbeddingRequest(
            model=model,
            texts=texts,
            dimensions=self.dimensions,
            normalize=self.normalize,
            truncate_prompt_tokens=self.truncate_prompt_tokens,
            batch_size=batch_size,
            max_concurrency=self.max_concurrency,
        )

    def embed_texts(self, texts: Sequence[str], batch_size: int) -> list[list[float]]:
        """A vector per text, in order; no texts, no request."""
        if not texts:
            return []
        request = self.embedding_request(texts, self.resolved_model(), batch_size)
        return self.embedder.embed(request)

    async def aembed_texts(self, texts: Sequence[str], batch_size: int) -> list[list[float]]:
        if not texts:
            return []
        request = self.embedding_request(texts, await self.aresolved_model(), batch_size)
        return await self.embedder.aembed(request)


class RerankSettings(ConnectionSettings):
    """Connection settings of a vLLM reranker (HTTP only: the gRPC API has no rerank call)."""

    model_config = STRICT_CONFIG

    top_n: int | None = Field(default=3, gt=0)
    """How many of the best documents to keep; None: all of them, best first."""
    truncate_prompt_tokens: int | None = Field(default=None, ge=-1)
    """Keep at most this many tokens of each text (-1: the model's context)."""

    _reranker: RerankTransport | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_rerank_base_url(self) -> Self:
        check_rerank_base_url(self.base_url)
        return self

    def use_transport(self, transport: Transport) -> Self:
        self._reranker = None
        return super().use_transport(transport)

    @property
    def reranker(self) -> RerankTransport:
        if self._reranker is None:
            self._reranker = open_rerank_transport(self.transport)
        return self._reranker

    def rerank_request(self, query: str, documents: Sequence[str], model: str) -> RerankRequest:
        return RerankRequest(
            model=model,
            query=query,
            documents=documents,
            top_n=self.top_n,
            truncate_prompt_tokens=self.truncate_prompt_tokens,
        )

    def rerank(self, query: str, documents: Sequence[str]) -> list[RerankResult]:
        """The best documents for ``query``, best first; no documents, no request."""
        if not documents:
            return []
        return self.reranker.rerank(self.rerank_request(query, documents, self.resolved_model()))

    async def arerank(self, query: str, documents: Sequence[str]) -> list[RerankResult]:
        if not documents:
            return []
        request = self.rerank_request(query, documents, await self.aresolved_model())
        return await self.reranker.arerank(request)
