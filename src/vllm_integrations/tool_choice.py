"""tool_choice in every spelling the frameworks use, checked once and written in vLLM's (OpenAI's)
form: "auto", "none", "required", or ``{"type": "function", "function": {"name": ...}}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ToolChoice = str | dict[str, Any]
"""A tool choice in vLLM's form."""


def tool_choice_param(choice: str | bool | Mapping[str, Any], names: Sequence[str]) -> ToolChoice:
    """A framework's tool choice in vLLM's form: "auto", "none", "required" (also spelled "any"
    or True), a tool's name, or the OpenAI dict. A name that is not among ``names`` fails now."""
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return str(choice)
    if isinstance(choice, str):
        if choice not in names:
            raise ValueError(f"tool_choice {choice!r} names no bound tool (tools: {list(names)})")
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        check_tool_choice(choice, names)
        return dict(choice)
    raise ValueError(f"unsupported tool_choice: {choice!r}")


def named_tool(tool_choice: ToolChoice | Mapping[str, Any] | None) -> str | None:
    """The tool a tool choice in vLLM's form forces by name (None for the string modes)."""
    if tool_choice is None or tool_choice in ("auto", "required", "none"):
        return None
    if isinstance(tool_choice, Mapping):
        name = (tool_choice.get("function") or {}).get("name")
        if tool_choice.get("type") == "function" and isinstance(name, str):
            return name
    raise ValueError(
        "tool_choice must be 'auto', 'none', 'required' or "
        f'{{"type": "function", "function": {{"name": ...}}}}, got {tool_choice!r}'
    )


def check_tool_choice(
    tool_choice: ToolChoice | Mapping[str, Any] | None, names: Sequence[str]
) -> None:
    """Fail before anything is sent when a tool choice is malformed or names no given tool."""
    name = named_tool(tool_choice)
    if name is not None and name not in names:
        raise ValueError(
            f"tool_choice names {name!r}, which is not a bound tool (tools: {list(names)})"
        )
