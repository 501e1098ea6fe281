"""Retrieval-augmented generation in LangChain served entirely by vLLM: VLLMEmbeddings fills an
in-memory vector store with a few notes, a ContextualCompressionRetriever takes the three
closest and VLLMRerank keeps the best one, and ChatVLLM answers from that note alone.

vLLM serves one model per server, so two run here: a chat model (``VLLM_BASE_URL``, started with
a reasoning parser for thinking models; ``grpc://HOST:PORT`` works too) and an embedding model
(``EMBEDDING_BASE_URL``, over HTTP for its rerank endpoint, e.g.
``vllm serve sentence-transformers/all-MiniLM-L6-v2 --runner pooling --port 8001``).
Needs ``langchain-classic`` for the retriever:
VLLM_BASE_URL=http://HOST:8000/v1 EMBEDDING_BASE_URL=http://HOST:8001/v1 python langchain_rag.py
"""

from __future__ import annotations

import os

from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from vllm_integrations.langchain import ChatVLLM, VLLMEmbeddings, VLLMRerank

NOTES = (
    "The Eiffel Tower in Paris is 330 metres tall.",
    "Mount Fuji, the highest mountain in Japan, rises 3,776 metres above the sea.",
    "The Amazon rainforest covers most of the Amazon basin in South America.",
)
QUESTION = "Which is the highest mountain in Japan?"
PROMPT = "Answer the question using only the context below.\n\nContext:\n{context}"


def main() -> None:
    embedding_url = os.environ.get("EMBEDDING_BASE_URL", "http://localhost:8001/v1")
    store = InMemoryVectorStore(VLLMEmbeddings(base_url=embedding_url))
    store.add_documents([Document(page_content=note) for note in NOTES])
    retriever = ContextualCompressionRetriever(
        base_retriever=store.as_retriever(search_kwargs={"k": 3}),
        base_compressor=VLLMRerank(base_url=embedding_url, top_n=1),
    )
    [best] = retriever.invoke(QUESTION)
    messages = [("system", PROMPT.format(context=best.page_content)), ("human", QUESTION)]
    answer = ChatVLLM(temperature=0).invoke(messages)
    print(f"question: {QUESTION}")
    print(f"retrieved: {best.page_content} (relevance {best.metadata['relevance_score']:.2f})")
    print(f"answer: {answer.text}")


if __name__ == "__main__":
    main()
