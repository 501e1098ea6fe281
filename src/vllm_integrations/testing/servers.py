"""vLLM servers for the scripted tiny models, with flags that work on a CPU-only machine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from vllm_integrations.server import LocalGateway, LocalVLLMServer, Protocol
from vllm_integrations.server.gateway import Worker
from vllm_integrations.testing.model import ensure_model
from vllm_integrations.testing.spec import ModelSpec
from vllm_integrations.testing.variants import TINY

REASONING_PARSER = TINY.reasoning_parser
MAX_MODEL_LEN = 2048
CPU_FLAGS = ("--gpu-memory-utilization", "0.3")  # on CPU, a fraction of RAM
CPU_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB of KV cache: plenty for a tiny model
    # vLLM 0.32 on CPU cannot load its own AOT-compiled artifacts ("'function' object has no
    # attribute 'finalize_loading'") and compiles twice per start; the plain compile cache loads.
    "VLLM_USE_AOT_COMPILE": "0",
}


def cpu_env(protocol: Protocol) -> dict[str, str]:
    """``CPU_ENV`` with the engine bound to its own half of this process's CPUs: the HTTP server
    to the first half, the gRPC server to the second. By default vLLM binds every server's engine
    to the same cores, so an HTTP and a gRPC server started together load (and decode) on one
    core while the other idles."""
    cpus = sorted(os.sched_getaffinity(0))
    half = max(1, len(cpus) // 2)
    mine = cpus[:half] if protocol == "http" else cpus[-half:]
    return {**CPU_ENV, "VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, mine))}


SMG_TOOL_CALL_PARSERS = {"hermes": "qwen"}
"""smg's own names for vLLM's tool-call parsers of the tiny models (``qwen``: hermes-style)."""


def tiny_model_server(
    protocol: Protocol,
    model: str | os.PathLike[str] | None = None,
    *,
    spec: ModelSpec = TINY,
    python: str | None = None,
    **overrides: Any,
) -> LocalVLLMServer:
    """A not-yet-started server for a tiny model (default: the first), with the reasoning and
    tool parsers it needs.

    The gRPC server gets the reasoning parser too: it reports it to clients and uses it to start
    structured outputs after the reasoning. Tool calls over gRPC are parsed by the client.
    """
    settings: dict[str, Any] = {
        "served_model_name": spec.served_model_name,
        "reasoning_parser": spec.reasoning_parser,
        "tool_call_parser": spec.tool_call_parser if protocol == "http" else None,
        "max_model_len": MAX_MODEL_LEN,
        "dtype": "float32",
        "extra_args": CPU_FLAGS,
        "env": cpu_env(protocol),
        "python": python,
    }
    settings.update(overrides)
    return LocalVLLMServer(model or ensure_model(python, spec), protocol=protocol, **settings)


def tiny_model_gateway(
    workers: Worker | Sequence[Worker], *, spec: ModelSpec = TINY, **overrides: Any
) -> LocalGateway:
    """A not-yet-started smg gateway in front of gRPC servers of a tiny model, with smg's names
    for the model's parsers. Workers already running are shared, not stopped with it."""
    settings: dict[str, Any] = {
        "reasoning_parser": spec.reasoning_parser,
        "tool_call_parser": SMG_TOOL_CALL_PARSERS[spec.tool_call_parser],
    }
    settings.update(overrides)
    return LocalGateway(workers, **settings)
