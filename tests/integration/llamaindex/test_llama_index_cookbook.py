"""The LlamaIndex cookbook scripts run against the test servers and print what they promise."""

from __future__ import annotations

from tests.integration.test_cookbook import run_example
from vllm_integrations.testing import script


def test_query_engine_answers_from_the_retrieved_note(base_url: str) -> None:
    printed = run_example("llama_index_query_engine.py", base_url).splitlines()
    assert printed == [
        "question: How tall is the Eiffel Tower?",
        "retrieved: The Eiffel Tower in Paris is 330 metres tall.",
        f"answer: {script('llama_index_query_engine').content}",
    ]
