"""Both RAG cookbooks run served entirely by vLLM: the tiny chat model answers from the note the
real embedding model retrieves (and, in LangChain, reranks), with the scripted answer."""

from __future__ import annotations

import runpy

import pytest

from tests.integration.test_cookbook import COOKBOOK, run_example
from vllm_integrations.testing import script
from vllm_integrations.testing.script import RAG_CONTEXT_PROMPT


# Not over smg: its API reports no context window, which the example's VLLM() reads from the
# server (the tests of VLLM over the gateway give it one; see llamaindex/conftest.py).
@pytest.mark.parametrize("transport", ["http", "grpc"], indirect=True)
def test_llama_index_query_engine_answers_from_the_retrieved_note(
    transport: str, base_url: str, request: pytest.FixtureRequest
) -> None:
    embedding_url = request.getfixturevalue(f"vllm_embed_{transport}_base_url")
    printed = run_example(
        "llama_index_query_engine.py", base_url, EMBEDDING_BASE_URL=embedding_url
    ).splitlines()
    assert printed == [
        "question: How tall is the Eiffel Tower?",
        "retrieved: The Eiffel Tower in Paris is 330 metres tall.",
        f"answer: {script('llama_index_query_engine').content}",
    ]


@pytest.mark.parametrize("transport", ["http", "grpc"], indirect=True)
def test_langchain_rag_answers_from_the_reranked_note(
    base_url: str, vllm_embed_http_base_url: str
) -> None:
    printed = run_example(
        "langchain_rag.py", base_url, EMBEDDING_BASE_URL=vllm_embed_http_base_url
    ).splitlines()
    assert printed[0] == "question: Which is the highest mountain in Japan?"
    assert printed[1].startswith(
        "retrieved: Mount Fuji, the highest mountain in Japan, rises 3,776 metres above the sea."
        " (relevance 0."
    )
    assert printed[2] == f"answer: {script('langchain_rag').content}"


def test_the_langchain_cookbook_sends_the_prompt_the_model_learned() -> None:
    cookbook = runpy.run_path(str(COOKBOOK / "langchain_rag.py"))  # not run: __name__ differs
    assert cookbook["PROMPT"] == RAG_CONTEXT_PROMPT
