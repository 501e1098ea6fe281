"""Every Python example in the README runs, against the real test servers where it needs one."""

from __future__ import annotations

import inspect
import re
from urllib.parse import urlsplit

import pytest

from tests.readme_examples import OTHER_EXAMPLES, README, check_output, example_ids


@pytest.mark.parametrize("code", OTHER_EXAMPLES, ids=example_ids(OTHER_EXAMPLES))
def test_readme_example_runs(
    code: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vllm_server_python: str,
) -> None:
    run_readme_example(code, request, capsys, monkeypatch, vllm_server_python)


def run_readme_example(
    code: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vllm_server_python: str,
) -> None:
    """Run one example as a user's script, against the test servers it names, and check what
    it prints (the embedding examples run in tests/integration/embeddings/, with their server)."""
    monkeypatch.setenv("VLLM_SERVER_PYTHON", vllm_server_python)
    if "ChatVLLM" in code or "vllm_integrations.llama_index" in code:
        monkeypatch.setenv("VLLM_BASE_URL", request.getfixturevalue("vllm_http_base_url"))
    if "GrpcClient" in code:
        grpc_address = urlsplit(request.getfixturevalue("vllm_grpc_base_url"))
        monkeypatch.setenv("VLLM_GRPC_HOST", str(grpc_address.hostname))
        monkeypatch.setenv("VLLM_GRPC_PORT", str(grpc_address.port))
    namespace: dict[str, object] = {"__name__": "readme_example"}
    # dont_inherit: run as a user's script would, without this module's __future__ imports
    exec(compile(code, str(README), "exec", dont_inherit=True), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    for test in tests:  # a pytest example: run it with the fixtures it asks for
        test(**{name: request.getfixturevalue(name) for name in inspect.signature(test).parameters})
    printed = capsys.readouterr().out
    assert tests or printed, "an example must either define tests or print its result"
    check_output(code, printed)


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.read_text("utf-8").split("```")[1]
    assert "make demo" in first_block
    assert "make test" in first_block


def test_every_image_the_readme_shows_is_in_the_repository() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text("utf-8"))
    assert images, "the README shows the chat page"
    missing = [path for path in images if not (README.parent / path).is_file()]
    assert not missing, f"the README links images that are not committed: {missing}"
