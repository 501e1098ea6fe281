"""The vLLM oracle (one subprocess for the session) and the family tokenizers (built once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.parsers.harness import Oracle, shared_oracle


@pytest.fixture(scope="session")
def oracle(vllm_server_python: str) -> Oracle:
    return shared_oracle(vllm_server_python)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tokenizers")


@pytest.fixture(scope="session")
def loaded_tokenizers() -> dict[str, Any]:
    return {}
