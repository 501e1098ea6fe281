"""VLLMEmbedding (LlamaIndex) against a real vLLM serving all-MiniLM-L6-v2, on both transports:
query, text and batch embeddings, sync and async, equal to the openai SDK's from the server."""

from __future__ import annotations

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from tests.integration.embeddings.test_embeddings import assert_same_vectors, sdk_vectors
from vllm_integrations.errors import NotFoundError
from vllm_integrations.llama_index import VLLMEmbedding

TEXTS = [f"Note {i}: the river opens at {7 + i} o'clock." for i in range(7)]


@pytest.fixture
def embedding(embed_base_url: str) -> VLLMEmbedding:
    return VLLMEmbedding(base_url=embed_base_url, embed_batch_size=3)


def test_is_a_llama_index_embedding() -> None:
    assert BaseEmbedding.__name__ in [base.__name__ for base in VLLMEmbedding.__mro__]


def test_query_text_and_batch(embedding: VLLMEmbedding, vllm_embed_http_base_url: str) -> None:
    expected = sdk_vectors(vllm_embed_http_base_url, TEXTS)
    assert_same_vectors([embedding.get_query_embedding(TEXTS[0])], expected[:1])
    assert_same_vectors([embedding.get_text_embedding(TEXTS[1])], expected[1:2])
    assert_same_vectors(embedding.get_text_embedding_batch(TEXTS), expected)


async def test_query_text_and_batch_async(
    embedding: VLLMEmbedding, vllm_embed_http_base_url: str
) -> None:
    expected = sdk_vectors(vllm_embed_http_base_url, TEXTS)
    async with embedding:
        assert_same_vectors([await embedding.aget_query_embedding(TEXTS[0])], expected[:1])
        assert_same_vectors([await embedding.aget_text_embedding(TEXTS[1])], expected[1:2])
        assert_same_vectors(await embedding.aget_text_embedding_batch(TEXTS), expected)


def test_a_chat_models_server_says_it_serves_no_embeddings(chat_base_url: str) -> None:
    with pytest.raises(NotFoundError, match="does not serve embeddings"):
        VLLMEmbedding(base_url=chat_base_url).get_query_embedding("hello")
