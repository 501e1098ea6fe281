"""A real vLLM for tests: a scripted tiny model, servers for it, and pytest fixtures.

The model is trained at build time to reproduce a handful of conversations exactly (reasoning,
multi-byte text, hermes tool calls, a long answer, a stop word), so tests can assert exact output
from a real vLLM on a CPU-only machine. The fixtures live in
``vllm_integrations.testing.pytest_plugin`` and load automatically with this package.
"""

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

pytest_plugins = ["vllm_integrations.testing.pytest_plugin"]
"""What pytest loads when this package is given as a plugin (importing it loads nothing)."""

__all__ = [
    "SCRIPTS",
    "SERVED_MODEL_NAME",
    "STOP_WORD",
    "TOOLS",
    "TOOL_SPELLINGS",
    "Script",
    "ToolCall",
    "ToolSpec",
    "ensure_model",
    "model_dir",
    "script",
    "tiny_model_server",
]
