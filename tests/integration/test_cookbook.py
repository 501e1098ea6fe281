"""Every cookbook script runs against the test servers and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vllm_integrations.testing import script

COOKBOOK = Path(__file__).parents[2] / "cookbook"


def test_demo_streams_over_http_and_grpc(
    vllm_http_base_url: str, vllm_grpc_base_url: str, vllm_tiny_model: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(COOKBOOK / "demo.py"),
            "--http-url",
            vllm_http_base_url,
            "--grpc-url",
            vllm_grpc_base_url,
            "--tokenizer",
            str(vllm_tiny_model),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    capital = script("capital")
    assert result.stdout.count(f"answer: {capital.content}") == 2
    assert result.stdout.count(f"thinking: {capital.reasoning}") == 2
