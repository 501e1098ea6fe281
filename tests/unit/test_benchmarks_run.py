"""The benchmark scripts still run (a short pass; the numbers are read by people, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def test_stream_cpu_benchmark_measures_every_variant() -> None:
    script = BENCHMARKS / "stream_cpu_per_chunk.py"
    result = subprocess.run(
        [sys.executable, str(script), "--chunks", "40", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    variants = [row["variant"] for row in report["results"]]
    assert variants == ["raw openai SDK", "ChatOpenAI", "ChatVLLM"]
    assert all(row["us_per_chunk"] > 0 for row in report["results"])
