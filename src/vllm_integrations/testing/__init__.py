"""A real vLLM for tests: scripted tiny models, servers for them, and pytest fixtures.

The model is trained at build time to reproduce a handful of conversations exactly (reasoning,
multi-byte text, hermes tool calls, a long answer, a stop word), so tests can assert exact output
from a real vLLM on a CPU-only machine. Variants (``variants.VARIANTS``: tags that are special
tokens, Llama 3.1 JSON tool calls) are built, cached and served the same way. The fixtures live in
``vllm_integrations.testing.pytest_plugin`` and load automatically with this package.
"""

from vllm_integrations.testing.embedding import (
    EMBEDDING_MODEL_NAME,
    embedding_model_dir,
    embedding_model_server,
)
from vllm_integrations.testing.model import ensure_model, model_dir
from vllm_integrations.testing.script import (
    SCRIPTS,
    SERVED_MODEL_NAME,
    STOP_WORD,
    TOOL_SPELLINGS,
    TOOLS,
    Script,
    ToolCall,
    ToolSpec,
    script,
)
from vllm_integrations.testing.servers import tiny_model_server
from vllm_integrations.testing.spec import ModelSpec
from vllm_integrations.testing.variants import LLAMA, SPECIAL_TAGS, TINY, VARIANTS

pytest_plugins = ["vllm_integrations.testing.pytest_plugin"]
"""What pytest loads when this package is given as a plugin (importing it loads nothing)."""

__all__ = [
    "EMBEDDING_MODEL_NAME",
    "LLAMA",
    "SCRIPTS",
    "SERVED_MODEL_NAME",
    "SPECIAL_TAGS",
    "STOP_WORD",
    "TINY",
    "TOOLS",
    "TOOL_SPELLINGS",
    "VARIANTS",
    "ModelSpec",
    "Script",
    "ToolCall",
    "ToolSpec",
    "embedding_model_dir",
    "embedding_model_server",
    "ensure_model",
    "model_dir",
    "script",
    "tiny_model_server",
]
