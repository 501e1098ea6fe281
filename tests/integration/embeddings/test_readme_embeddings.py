"""The README's examples that need the embedding model run here, where its servers are up (every
other example runs in tests/integration/test_readme.py; together they are every example once)."""

from __future__ import annotations

import pytest

from tests.integration.test_readme import run_readme_example
from tests.readme_examples import EMBEDDING_EXAMPLES, EXAMPLES, OTHER_EXAMPLES, example_ids


@pytest.mark.parametrize("code", EMBEDDING_EXAMPLES, ids=example_ids(EMBEDDING_EXAMPLES))
def test_readme_embedding_example_runs(
    code: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vllm_server_python: str,
    vllm_embed_http_base_url: str,
) -> None:
    monkeypatch.setenv("EMBEDDING_BASE_URL", vllm_embed_http_base_url)
    run_readme_example(code, request, capsys, monkeypatch, vllm_server_python)


def test_every_example_runs_once() -> None:
    assert sorted(EMBEDDING_EXAMPLES + OTHER_EXAMPLES) == sorted(EXAMPLES)
    assert len(EMBEDDING_EXAMPLES) == 4
