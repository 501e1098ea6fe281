"""Tool calls read back from responses, under llama-index-llms-openai's contract.

Streamed responses are read while the arguments are still arriving (FunctionAgent reads every
chunk), so their partial JSON is read leniently. A whole response with arguments that are not a
JSON object fails with the model's text, unless the caller asked for no errors
(``error_on_no_tool_call=False``): then, as in llama-index-llms-openai, it is read leniently.
"""

from __future__ import annotations

import json
from typing import Any

from llama_index.core.base.llms.types import ChatResponse, ToolCallBlock
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json

from vllm_integrations.llama_index._messages import is_finished


def tool_selections(response: ChatResponse, *, error_on_no_tool_call: bool) -> list[ToolSelection]:
    """Every tool call of a response, its arguments parsed."""
    calls = [block for block in response.message.blocks if isinstance(block, ToolCallBlock)]
    if not calls and error_on_no_tool_call:
        raise ValueError("Expected at least one tool call, but got 0 tool calls.")
    strict = error_on_no_tool_call and is_finished(response)
    return [
        ToolSelection(
            tool_id=call.tool_call_id or "",
            tool_name=call.tool_name,
            tool_kwargs=_arguments(call, strict=strict),
        )
        for call in calls
    ]


def _arguments(call: ToolCallBlock, *, strict: bool) -> dict[str, Any]:
    if isinstance(call.tool_kwargs, dict):
        return call.tool_kwargs
    try:
        parsed = json.loads(call.tool_kwargs or "{}")
        problem = "" if isinstance(parsed, dict) else f"a JSON {type(parsed).__name__}"
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON: {exc}"
    if not problem:
        return dict(parsed)
    if strict:
        raise ValueError(
            f"the arguments of the call to {call.tool_name!r} are not a JSON object "
            f"({problem}): {call.tool_kwargs!r}"
        )
    try:
        partial = parse_partial_json(call.tool_kwargs)
    except ValueError:
        return {}
    return partial if isinstance(partial, dict) else {}


def keep_first_tool_call(response: ChatResponse) -> None:
    """Drop every tool call after the first (the response to a turn that allowed only one)."""
    first = next((b for b in response.message.blocks if isinstance(b, ToolCallBlock)), None)
    response.message.blocks = [
        block
        for block in response.message.blocks
        if not isinstance(block, ToolCallBlock) or block is first
    ]
