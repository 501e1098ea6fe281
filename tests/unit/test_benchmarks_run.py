"""The benchmark scripts still run (a short pass; the numbers are read by people, not asserted).

The replay servers serve the scripted tiny model's tokenizer, hence the model fixture; the
real-server benchmark is left out (it starts two vLLM servers: minutes, not seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def run_benchmark(script: str, *args: str) -> Any:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return json.loads(result.stdout)


def test_stream_cpu_benchmark_measures_every_variant_at_each_length(
    vllm_tiny_model: Path,
) -> None:
    report = run_benchmark(
        "stream_cpu_per_token.py",
        *("--tokens", "20", "40", "--repeats", "1", "--sample-tokens", "40"),
        *("--model-dir", str(vllm_tiny_model)),
    )
    rows = {(row["variant"], row["tokens"]): row["us_per_token"] for row in report["results"]}
    variants = [
        "HTTP/2 reader loop",
        "grpcio loop",
        "openai SDK loop",
        "ChatVLLM grpc://",
        "ChatVLLM http://",
        "ChatOpenAI http://",
    ]
    assert set(rows) == {(variant, tokens) for variant in variants for tokens in (20, 40)}
    assert all(us > 0 for us in rows.values())


def test_concurrent_streams_benchmark_completes_every_stream(vllm_tiny_model: Path) -> None:
    report = run_benchmark(
        "concurrent_streams.py",
        *("--streams", "8", "--tokens", "20", "--repeats", "1"),
        *("--model-dir", str(vllm_tiny_model)),
    )
    assert [row["transport"] for row in report["results"]] == ["grpc", "http"]
    for row in report["results"]:
        assert (row["errors"], row["tokens"]) == (0, 8 * 20), row["first_error"]


def test_parser_cost_benchmark_measures_every_parser_at_each_length() -> None:
    report = run_benchmark("parser_cost.py", *("--tokens", "40", "80", "--repeats", "1"))
    rows = {(row["parser"], row["tokens"]): row["us_per_token"] for row in report["results"]}
    parsers = {parser for parser, _ in rows}
    assert {"qwen3 + hermes", "kimi_k2 + kimi_k2", "granite"} <= parsers
    assert set(rows) == {(parser, tokens) for parser in parsers for tokens in (40, 80)}
    assert all(us > 0 for us in rows.values())
