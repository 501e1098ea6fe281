"""vLLM's ``/v1/embeddings`` and ``/v1/rerank`` over an ``HttpTransport``'s connections (its
retries, deadlines and error family included).

Vectors travel as base64 little-endian float32 (about a quarter of the bytes of JSON floats, no
float parsing on either side) and are decoded with the standard library's ``array``, in C:
numpy would be no faster for this and is not a dependency of the ``langchain`` extra.
"""

from __future__ import annotations

import array
import base64
import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from vllm_integrations.errors import APIError, NotFoundError, not_a_pooling_model
from vllm_integrations.transports.concurrency import amap_bounded, map_bounded
from vllm_integrations.transports.http import wire
from vllm_integrations.transports.http.transport import HttpTransport
from vllm_integrations.types import EmbeddingRequest, RerankRequest, RerankResult


class HttpEmbeddings:
    """Embeddings and reranking of the server behind ``transport``."""

    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport
        self.base_url = transport.base_url

    def close(self) -> None:
        self.transport.close()

    async def aclose(self) -> None:
        await self.transport.aclose()

    def embed(self, request: EmbeddingRequest) -> list[list[float]]:
        batches = _batches(request.texts, request.batch_size)
        vectors = map_bounded(lambda b: self._embed(request, b), batches, request.max_concurrency)
        return [vector for batch in vectors for vector in batch]

    async def aembed(self, request: EmbeddingRequest) -> list[list[float]]:
        batches = _batches(request.texts, request.batch_size)
        vectors = await amap_bounded(
            lambda b: self._aembed(request, b), batches, request.max_concurrency
        )
        return [vector for batch in vectors for vector in batch]

    def rerank(self, request: RerankRequest) -> list[RerankResult]:
        return rerank_results(self._post("/rerank", rerank_body(request)), request)

    async def arerank(self, request: RerankRequest) -> list[RerankResult]:
        return rerank_results(await self._apost("/rerank", rerank_body(request)), request)

    def _embed(self, request: EmbeddingRequest, texts: Sequence[str]) -> list[list[float]]:
        return embedding_vectors(self._post("/embeddings", embedding_body(request, texts)), texts)

    async def _aembed(self, request: EmbeddingRequest, texts: Sequence[str]) -> list[list[float]]:
        data = await self._apost("/embeddings", embedding_body(request, texts))
        return embedding_vectors(data, texts)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        client = self.transport.sync_client
        with _missing_endpoint(self.base_url, path):
            data = self.transport.call(
                lambda options: client.post(path, body=body, cast_to=object, options=options)
            )
        return self.transport.json_object(data)

    async def _apost(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        client = self.transport.async_client
        with _missing_endpoint(self.base_url, path):
            data = await self.transport.acall(
                lambda options: client.post(path, body=body, cast_to=object, options=options)
            )
        return self.transport.json_object(data)


@contextlib.contextmanager
def _missing_endpoint(base_url: str, path: str) -> Iterator[None]:
    """A 404 without vLLM's error message is a route the server does not have (a generative
    model's server has no /embeddings): say so, instead of a bare "Not Found"."""
    try:
        yield
    except NotFoundError as error:
        if wire.error_message(error.body) is not None:  # vLLM's own error: an unknown model
            raise
        what = "embeddings" if path == "/embeddings" else "reranking"
        why = f"it has no {path} (or base_url is not vLLM's /v1 root)"
        raise not_a_pooling_model(what, why, address=base_url) from error


def _batches(texts: Sequence[str], size: int) -> list[Sequence[str]]:
    return [texts[start : start + size] for start in range(0, len(texts), size)]


def embedding_body(request: EmbeddingRequest, texts: Sequence[str]) -> dict[str, Any]:
    """The /v1/embeddings body: base64 float32, little-endian whatever the server's own order."""
    body: dict[str, Any] = {
        "model": request.model,
        "input": list(texts),
        "encoding_format": "base64",
        "embed_dtype": "float32",
        "endianness": "little",
    }
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if request.normalize is not None:
        body["use_activation"] = request.normalize  # vLLM's name since `normalize` was removed
    if request.truncate_prompt_tokens is not None:
        body["truncate_prompt_tokens"] = request.truncate_prompt_tokens
    return body


def embedding_vectors(data: Mapping[str, Any], texts: Sequence[str]) -> list[list[float]]:
    """One vector per text, in the texts' order (the server numbers them by ``index``)."""
    items = data.get("data")
    if not isinstance(items, list) or len(items) != len(texts):
        count = len(items) if isinstance(items, list) else "no"
        raise APIError(f"asked for {len(texts)} embeddings, the server sent {count}")
    vectors: list[list[float]] = [[] for _ in texts]
    for item in items:
        vectors[item["index"]] = decode_vector(item["embedding"])
    return vectors


def decode_vector(embedding: str | list[float]) -> list[float]:
    """A base64 little-endian float32 vector (or a server's plain JSON floats) as floats."""
    if isinstance(embedding, list):
        return embedding
    values = array.array("f")
    values.frombytes(base64.b64decode(embedding))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def rerank_body(request: RerankRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": list(request.documents),
        "top_n": request.top_n or 0,  # vLLM's 0: every document
    }
    if request.truncate_prompt_tokens is not None:
        body["truncate_prompt_tokens"] = request.truncate_prompt_tokens
    return body


def rerank_results(data: Mapping[str, Any], request: RerankRequest) -> list[RerankResult]:
    """The server's ranking, best first, as it sent it."""
    results = data.get("results")
    if not isinstance(results, list):
        raise APIError(f"a rerank reply without results: {data!r:.200}")
    ranked = [RerankResult(int(r["index"]), float(r["relevance_score"])) for r in results]
    if any(not 0 <= r.index < len(request.documents) for r in ranked):
        raise APIError(f"a rerank reply names documents that were not sent: {data!r:.200}")
    return ranked
