"""vLLM servers for the scripted tiny model, with flags that work on a CPU-only machine."""

from __future__ import annotations

import os
from typing import Any

from vllm_integrations.server import LocalVLLMServer, Protocol
from vllm_integrations.testing.model import ensure_model
from vllm_integrations.testing.script import SERVED_MODEL_NAME

REASONING_PARSER = "qwen3"
TOOL_CALL_PARSER = "hermes"
MAX_MODEL_LEN = 2048
CPU_FLAGS = ("--gpu-memory-utilization", "0.3")  # on CPU, a fraction of RAM
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}  # GiB of KV cache: plenty for a tiny model


def tiny_model_server(
    protocol: Protocol,
    model: str | os.PathLike[str] | None = None,
    *,
    python: str | None = None,
    **overrides: Any,
) -> LocalVLLMServer:
    """A not-yet-started server for the tiny model, with the reasoning and tool parsers it needs.

    The gRPC server gets the reasoning parser too: it reports it to clients and uses it to start
    structured outputs after the reasoning. Tool calls over gRPC are parsed by the client.
    """
    settings: dict[str, Any] = {
        "served_model_name": SERVED_MODEL_NAME,
        "reasoning_parser": REASONING_PARSER,
        "tool_call_parser": TOOL_CALL_PARSER if protocol == "http" else None,
        "max_model_len": MAX_MODEL_LEN,
        "dtype": "float32",
        "extra_args": CPU_FLAGS,
        "env": CPU_ENV,
        "python": python,
    }
    settings.update(overrides)
    return LocalVLLMServer(model or ensure_model(python), protocol=protocol, **settings)
