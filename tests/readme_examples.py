"""The README's Python examples and what each prints, shared by the tests that run them (in the
suite's environment and in fresh environments built from the wheel)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
EXAMPLES: list[str] = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
EMBEDDING_MARKERS = ("EMBEDDING_BASE_URL", "vllm_embed_")
"""An example containing one needs the embedding model's server: it runs in the test package
that starts it (tests/integration/embeddings/), every other one in tests/integration/."""
EMBEDDING_EXAMPLES = [code for code in EXAMPLES if any(m in code for m in EMBEDDING_MARKERS)]
OTHER_EXAMPLES = [code for code in EXAMPLES if code not in EMBEDDING_EXAMPLES]

EXPECTED_OUTPUT = {
    "print(server.base_url)": r"^http://127\.0\.0\.1:\d+/v1\n$",
    "LocalGateway(": r"^The capital of France is Paris\.\nThe capital of France is Paris\.\n$",
    "chat.stream(": r"^The user asks for the capital of France\. That is Paris\.The capital of "
    r"France is Paris\.\nThe capital of France is Paris\.\n$",
    "bind_tools(": r"\('get_weather', \{'city': 'Paris'\}\), \('get_time', \{'city': 'Tokyo'\}\)",
    "with_structured_output(": r"^setup='.+' punchline='.+'\n[A-Z]{3}-\d{2}\n(yes|no)\n"
    r"(hello|goodbye)\n$",
    "VLLMGrpcClient(": r"^The user asks for the capital of France\. That is Paris\. \| The "
    r"capital of France is Paris\.\nThe capital of France is Paris\.\n[A-Z]{3}-\d{2}\n"
    r"\[(\d+, ){4}\d+\]\n$",
    "llm.stream_chat(": r"^The user asks for the capital of France\. That is Paris\.The capital of "
    r"France is Paris\.\n\['ThinkingBlock', 'TextBlock'\]\nThe capital of France is Paris\.\n$",
    "FunctionAgent(": r"^get_weather \{'city': 'Paris'\} Sunny, 22 °C\nIt is sunny and 22 °C in "
    r"Paris\.\n$",
    "reranker.compress_documents(": r"^2 384\nMount Fuji, the highest mountain in Japan, rises "
    r"3,776 metres\. True\n$",
    "ContextualCompressionRetriever(": r"^Mount Fuji is the highest mountain in Japan, at 3,776 "
    r"metres\.\n$",
    "node_postprocessors=[reranker]": r"^The Eiffel Tower in Paris is 330 metres tall\.\nThe "
    r"Eiffel Tower is 330 metres tall\.\n$",
    "structured_predict(": r"^setup='Why was the cat sitting on the computer\?' punchline='To keep "
    r"an eye on the mouse!'\n[A-Z]{3}-\d{2}\n(yes|no)\n$",
    "ChatPageServer(": r"^http://127\.0\.0\.1:\d+/\n\{'models': \['vllm-integrations-tiny'\], "
    r"'default': 'vllm-integrations-tiny'\}\n$",
}
"""For an example containing the key: what it prints, as a regular expression."""


def example_ids(examples: list[str]) -> list[str]:
    """Test ids by place in the README, the same whichever test runs the example."""
    return [f"example{EXAMPLES.index(code)}" for code in examples]


def example(marker: str) -> str:
    """The one example that contains ``marker``."""
    found = [code for code in EXAMPLES if marker in code]
    assert len(found) == 1, f"{len(found)} README examples contain {marker!r}"
    return found[0]


def check_output(code: str, printed: str) -> None:
    """What an example printed matches what its markers promise."""
    for marker, expected in EXPECTED_OUTPUT.items():
        if marker in code:
            assert re.search(expected, printed), (marker, printed)
