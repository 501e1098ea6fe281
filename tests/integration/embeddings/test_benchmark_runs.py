"""The embeddings benchmark still runs (a short pass against this package's servers; the numbers
are read by people, not asserted), and every variant's vectors agree with the openai SDK's."""

from __future__ import annotations

from tests.unit.test_benchmarks_run import run_benchmark


def test_embeddings_benchmark_measures_every_variant(
    vllm_embed_http_base_url: str, vllm_embed_grpc_base_url: str
) -> None:
    report = run_benchmark(
        "embeddings_throughput.py",
        *("--http-url", vllm_embed_http_base_url, "--grpc-url", vllm_embed_grpc_base_url),
        *("--texts", "48", "--batch-size", "16", "--repeats", "1"),
    )
    assert [row["variant"] for row in report["results"]] == [
        "openai SDK embeddings.create",
        "VLLMEmbeddings http:// embed_documents",
        "VLLMEmbeddings http:// aembed_documents",
        "VLLMEmbeddings grpc:// embed_documents",
        "VLLMEmbeddings grpc:// aembed_documents",
    ]
    for row in report["results"]:
        assert row["texts_per_s"] > 0
        assert row["min_cosine_to_sdk"] >= 0.9999
