"""The special-tags model's vLLM servers, package-scoped (imported here so that pytest scopes
them to this package): they start together for these tests and stop when the package is done."""

from vllm_integrations.testing.pytest_plugin import (
    vllm_special_tags_grpc_base_url,
    vllm_special_tags_http_base_url,
    vllm_special_tags_servers,
)

__all__ = [
    "vllm_special_tags_grpc_base_url",
    "vllm_special_tags_http_base_url",
    "vllm_special_tags_servers",
]
