"""The scripts themselves: tool schemas spelled exactly as the client libraries send them.

No `from __future__ import annotations` here: LlamaIndex reads the real annotations.
"""

from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from llama_index.core.tools import FunctionTool

from vllm_integrations.testing import SCRIPTS, TOOLS, ToolSpec
from vllm_integrations.testing.tokenizer import build_tokenizer


def python_function(tool: ToolSpec) -> Any:
    """A real Python function with the tool's name, signature and docstring."""

    def function(city: str) -> str:
        return city

    function.__name__ = tool.name
    function.__doc__ = tool.description
    return function


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_spellings_match_the_libraries(tool: ToolSpec) -> None:
    fn = python_function(tool)
    assert tool.spelled("langchain") == convert_to_openai_tool(fn)
    assert tool.spelled("strict") == convert_to_openai_tool(fn, strict=True)
    assert tool.spelled("llama_index") == FunctionTool.from_defaults(fn).metadata.to_openai_tool()


def test_script_names_are_unique() -> None:
    names = [s.name for s in SCRIPTS]
    assert len(names) == len(set(names))


def test_scripts_cover_the_required_behaviours() -> None:
    tags = set().union(*(s.tags for s in SCRIPTS))
    assert {"multibyte", "long", "stop_word", "tools", "parallel", "no_thinking"} <= tags
    assert any(s.reasoning and s.content for s in SCRIPTS)


def test_tokenizer_round_trips_every_completion() -> None:
    tokenizer = build_tokenizer()
    for s in SCRIPTS:
        ids = tokenizer.encode(s.completion(), add_special_tokens=False)
        assert tokenizer.decode(ids) == s.completion()
