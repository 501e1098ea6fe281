"""Both VLLMRerank classes against vLLM's rerank endpoint on all-MiniLM-L6-v2 (which vLLM scores
by cosine similarity): the same scores and order as the endpoint called directly, ``top_n``
kept, the score in each document's metadata (LangChain) or node score (LlamaIndex)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import ValidationError

from vllm_integrations.errors import NotFoundError
from vllm_integrations.langchain import VLLMEmbeddings
from vllm_integrations.langchain import VLLMRerank as LangChainRerank
from vllm_integrations.llama_index import VLLMRerank as LlamaIndexRerank
from vllm_integrations.testing import EMBEDDING_MODEL_NAME

NOTES = [
    "The Eiffel Tower in Paris is 330 metres tall.",
    "Mount Fuji, the highest mountain in Japan, rises 3,776 metres above the sea.",
    "The Amazon rainforest covers most of the Amazon basin in South America.",
    "Sushi is a Japanese dish of rice and fish.",
]
QUERY = "Which is the highest mountain in Japan?"


def vllm_ranking(url: str, top_n: int = 0) -> list[tuple[int, float]]:
    """vLLM's rerank endpoint called directly: (index, score), best first."""
    body = {"model": EMBEDDING_MODEL_NAME, "query": QUERY, "documents": NOTES, "top_n": top_n}
    reply = httpx.post(f"{url}/rerank", json=body, timeout=60)
    reply.raise_for_status()
    return [(r["index"], r["relevance_score"]) for r in reply.json()["results"]]


def documents() -> list[Document]:
    return [Document(page_content=note, metadata={"note": i}) for i, note in enumerate(NOTES)]


def ranking_of(ranked: Any) -> list[tuple[int, float]]:
    return [(doc.metadata["note"], doc.metadata["relevance_score"]) for doc in ranked]


@pytest.mark.parametrize("top_n", [None, 2])
async def test_langchain_rerank_is_vllms_ranking(
    vllm_embed_http_base_url: str, top_n: int | None
) -> None:
    expected = vllm_ranking(vllm_embed_http_base_url, top_n or 0)
    reranker = LangChainRerank(base_url=vllm_embed_http_base_url, top_n=top_n)
    originals = documents()
    assert ranking_of(reranker.compress_documents(originals, QUERY)) == expected
    assert len(expected) == (top_n or len(NOTES))
    assert expected[0][0] == 1  # Mount Fuji: the ranking means something
    assert all("relevance_score" not in doc.metadata for doc in originals)  # copies ranked
    async with reranker:
        assert ranking_of(await reranker.acompress_documents(originals, QUERY)) == expected


async def test_langchain_rerank_in_a_contextual_compression_retriever(
    vllm_embed_http_base_url: str,
) -> None:
    store = InMemoryVectorStore(VLLMEmbeddings(base_url=vllm_embed_http_base_url))
    store.add_documents(documents())
    retriever = ContextualCompressionRetriever(
        base_compressor=LangChainRerank(base_url=vllm_embed_http_base_url, top_n=1),
        base_retriever=store.as_retriever(search_kwargs={"k": 3}),
    )
    found = retriever.invoke(QUERY)
    assert [doc.page_content for doc in found] == [NOTES[1]]
    found = await retriever.ainvoke(QUERY)
    assert [doc.page_content for doc in found] == [NOTES[1]]


def nodes() -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(text=note, id_=str(i)), score=0.0)
        for i, note in enumerate(NOTES)
    ]


@pytest.mark.parametrize("top_n", [None, 2])
async def test_llama_index_rerank_is_vllms_ranking(
    vllm_embed_http_base_url: str, top_n: int | None
) -> None:
    expected = vllm_ranking(vllm_embed_http_base_url, top_n or 0)
    reranker = LlamaIndexRerank(base_url=vllm_embed_http_base_url, top_n=top_n)
    ranked = reranker.postprocess_nodes(nodes(), query_str=QUERY)
    assert [(int(n.node.node_id), n.score) for n in ranked] == expected
    async with reranker:
        ranked = await reranker.apostprocess_nodes(nodes(), QueryBundle(QUERY))
    assert [(int(n.node.node_id), n.score) for n in ranked] == expected


@pytest.mark.parametrize("reranker", [LangChainRerank, LlamaIndexRerank])
def test_grpc_is_refused_when_the_reranker_is_built(
    vllm_embed_grpc_base_url: str, reranker: type[LangChainRerank | LlamaIndexRerank]
) -> None:
    with pytest.raises(ValidationError, match="gRPC API has no rerank call"):
        reranker(base_url=vllm_embed_grpc_base_url)


def test_a_chat_models_server_says_it_serves_no_reranking(vllm_http_base_url: str) -> None:
    reranker = LangChainRerank(base_url=vllm_http_base_url)
    with pytest.raises(NotFoundError, match="does not serve reranking"):
        reranker.compress_documents(documents(), QUERY)
