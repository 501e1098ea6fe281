"""Every cookbook script runs against the test servers and prints what it promises."""

from __future__ import annotations

import os
import re
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


def run_example(name: str, base_url: str, **env: str) -> str:
    """What a cookbook script prints, run against ``base_url`` (and more variables in ``env``)."""
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / name)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "VLLM_BASE_URL": base_url, **env},
    )
    return result.stdout


def test_langchain_agent_calls_the_tool_and_answers(base_url: str) -> None:
    printed = run_example("langchain_agent.py", base_url).splitlines()
    assert printed[0] == "human: What is the weather in Paris?"
    assert "'name': 'get_weather'" in printed[1]
    assert "'city': 'Paris'" in printed[1]
    assert printed[2] == "tool: Sunny, 22 °C"
    assert printed[3] == f"ai: {script('weather_answer').content}"


def test_langchain_structured_outputs_print_every_mode(base_url: str) -> None:
    printed = dict(
        line.split(": ", 1)
        for line in run_example("langchain_structured_outputs.py", base_url).splitlines()
    )
    assert printed["json_schema"].startswith("setup=")
    assert printed["json_mode"].startswith("{")
    assert re.fullmatch(r"[A-Z]{3}-\d{2}", printed["regex"])
    assert printed["choice"] in ("yes", "no")
    assert printed["grammar (EBNF)"] in ("hello", "goodbye")
    assert printed["grammar (Lark)"] in ("red", "green", "blue")
    assert printed["function_calling"].startswith("setup=")
