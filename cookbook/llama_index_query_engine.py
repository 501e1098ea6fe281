"""A LlamaIndex query engine served entirely by vLLM: VLLMEmbedding embeds a few notes and the
question, the VectorStoreIndex retrieves the closest note, and VLLM answers from it.

vLLM serves one model per server, so two run here: a chat model (``VLLM_BASE_URL``, started with
a reasoning parser for thinking models) and an embedding model (``EMBEDDING_BASE_URL``, e.g.
``vllm serve sentence-transformers/all-MiniLM-L6-v2 --runner pooling --port 8001``); either may
be a ``grpc://HOST:PORT`` address of vLLM's gRPC server:
VLLM_BASE_URL=http://HOST:8000/v1 EMBEDDING_BASE_URL=http://HOST:8001/v1 \
    python llama_index_query_engine.py
"""

from __future__ import annotations

import os

from llama_index.core import Document, Settings, VectorStoreIndex

from vllm_integrations.llama_index import VLLM, VLLMEmbedding

NOTES = (
    "The Eiffel Tower in Paris is 330 metres tall.",
    "Mount Fuji, the highest mountain in Japan, rises 3,776 metres above the sea.",
    "The Amazon rainforest covers most of the Amazon basin in South America.",
)
QUESTION = "How tall is the Eiffel Tower?"


def main() -> None:
    embedding_url = os.environ.get("EMBEDDING_BASE_URL", "http://localhost:8001/v1")
    Settings.embed_model = VLLMEmbedding(base_url=embedding_url)
    Settings.llm = VLLM(temperature=0)
    index = VectorStoreIndex.from_documents([Document(text=note) for note in NOTES])
    response = index.as_query_engine(similarity_top_k=1).query(QUESTION)
    print(f"question: {QUESTION}")
    print(f"retrieved: {response.source_nodes[0].node.get_content()}")
    print(f"answer: {response}")


if __name__ == "__main__":
    main()
