"""The gateway benchmark still runs (a short pass against this session's servers; the numbers
are read by people, not asserted), through all four front doors, without an error."""

from __future__ import annotations

from tests.unit.test_benchmarks_run import run_benchmark


def test_gateway_benchmark_measures_every_front_door(
    vllm_http_base_url: str, vllm_grpc_base_url: str, vllm_gateway_base_url: str
) -> None:
    report = run_benchmark(
        "gateway_throughput.py",
        *("--http-url", vllm_http_base_url, "--grpc-url", vllm_grpc_base_url),
        *("--gateway-url", vllm_gateway_base_url),
        *("--concurrency", "1", "4", "--repeats", "1", "--max-tokens", "16"),
    )
    rows = [(row["target"], row["streams"]) for row in report["results"]]
    targets = [
        "(a) vLLM HTTP, raw SSE",
        "(b) smg -> gRPC, raw SSE",
        "(c) ChatVLLM grpc://",
        "(d) ChatVLLM http:// smg",
    ]
    assert rows == [(target, streams) for streams in (1, 4) for target in targets]
    for row in report["results"]:
        assert row["errors"] == 0, row["first_error"]
        assert row["tokens_per_s"] > 0
        assert row["ttft_p50_s"] > 0
