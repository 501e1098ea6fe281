"""Every Python example in the README runs, against the real test servers where it needs one."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

README = Path(__file__).parents[2] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.DOTALL)


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(
    code: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vllm_server_python: str,
) -> None:
    monkeypatch.setenv("VLLM_SERVER_PYTHON", vllm_server_python)
    if "ChatVLLM" in code or "vllm_integrations.llama_index" in code:
        monkeypatch.setenv("VLLM_BASE_URL", request.getfixturevalue("vllm_http_base_url"))
    if "GrpcClient" in code:
        grpc_address = urlsplit(request.getfixturevalue("vllm_grpc_base_url"))
        monkeypatch.setenv("VLLM_GRPC_HOST", str(grpc_address.hostname))
        monkeypatch.setenv("VLLM_GRPC_PORT", str(grpc_address.port))
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    for test in tests:  # a pytest example: run it with the fixtures it asks for
        test(**{name: request.getfixturevalue(name) for name in inspect.signature(test).parameters})
    printed = capsys.readouterr().out
    assert tests or printed, "an example must either define tests or print its result"
    for marker, expected in EXPECTED_OUTPUT.items():
        if marker in code:
            assert re.search(expected, printed), (marker, printed)


EXPECTED_OUTPUT = {
    "LocalVLLMServer(": r"^http://127\.0\.0\.1:\d+/v1\n$",
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
    "structured_predict(": r"^setup='Why was the cat sitting on the computer\?' punchline='To keep "
    r"an eye on the mouse!'\n[A-Z]{3}-\d{2}\n(yes|no)\n$",
}


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.read_text("utf-8").split("```")[1]
    assert "make demo" in first_block
    assert "make test" in first_block
