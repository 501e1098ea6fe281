"""Which optional extra brings which imports, and a clear error when one is missing.

Each extra works alone, so modules import optional dependencies only where they are used, and
the classes that need one check for it when they are built (not at their first request).
"""

from __future__ import annotations

import importlib.util

from vllm_integrations.errors import MissingExtraError

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "langchain": ("langchain_core",),
    "llama-index": ("llama_index.core",),
    "grpc": (
        "grpc",
        "grpc_health",
        "h2",
        "google.protobuf",
        "smg_grpc_proto",
        "tokenizers",
        "transformers",
        "jinja2",
        "openai_harmony",
        "partial_json_parser",
        "regex",
    ),
    "ui": ("langchain_core", "starlette", "sse_starlette", "uvicorn"),
    "gateway": ("smg",),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    missing = []
    for module in EXTRA_MODULES[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package of a dotted name is missing
            found = False
        if not found:
            missing.append(module)
    return missing


def require_extra(extra: str, *, purpose: str) -> None:
    """Raise ``MissingExtraError`` naming ``pip install 'vllm-integrations[extra]'`` unless
    every module of ``extra`` is importable; ``purpose`` says what needed it."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(
            f"{purpose} needs the {extra!r} extra (missing: {', '.join(missing)}): "
            f"pip install 'vllm-integrations[{extra}]'"
        )
