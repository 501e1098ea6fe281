"""tool_choice and parallel_tool_calls enforced as vLLM's server enforces them: an xgrammar
structural tag over the tool-call parser's own call format.

vLLM 0.32's HTTP server builds that tag itself (``Parser._apply_structural_tag``, on by default
through ``VLLM_ENFORCE_STRICT_TOOL_CALLING``) for tool_choice "required" or a named tool, for
tools marked ``strict`` and for ``parallel_tool_calls=False``, then reads the output with the same
parser as under "auto". Its gRPC server applies structured outputs as sent, so the gRPC client
builds the same tag. The server's ``--tool-strict-level`` is assumed to be its default, ``auto``:
a tool's arguments follow its schema only when the tool says ``strict: true``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.tool_choice import named_tool
from vllm_integrations.transports.grpc.parsers.tool_calls import ToolCallParser


def constrain_tool_calls(
    parser: type[ToolCallParser],
    tools: Sequence[Mapping[str, Any]],
    tool_choice: str | Mapping[str, Any] | None,
    *,
    parallel_tool_calls: bool | None,
    structured: StructuredOutputs | None,
) -> StructuredOutputs | None:
    """The structured outputs to send for a request with ``tools``: ``structured`` unchanged
    when vLLM would not constrain the calls, else a structural tag (which, as in vLLM, also
    carries ``structured`` as the alternative to a call under "auto")."""
    if not tools or tool_choice == "none":
        return structured
    named = named_tool(tool_choice)
    forced = named is not None or tool_choice == "required"
    auto = not forced
    single = parallel_tool_calls is False
    functions = [tool["function"] for tool in tools if tool.get("type") == "function"]
    if named is not None:
        functions = [f for f in functions if f.get("name") == named]
        if not functions:
            raise ValueError(f"tool_choice names {named!r}, which is not among the tools")
    if forced and not functions:
        raise ValueError("tool_choice 'required' needs at least one function tool")
    # Limiting calls to one needs the call envelope in the grammar, except where "auto" with
    # structured outputs keeps a grammar of the output alone.
    envelope_only = single and not (auto and structured is not None)
    if auto and not envelope_only and not any(f.get("strict") is True for f in functions):
        return structured
    tags = [
        {
            "type": "tag",
            "begin": begin,
            "content": {"type": "json_schema", "json_schema": _arguments_schema(function)},
            "end": end,
        }
        for function in functions
        for begin, end in parser.call_envelopes(function["name"])
    ]
    if not tags:
        if forced:
            raise ValueError(
                f"the {parser.name!r} tool-call parser cannot force a tool call (vLLM has no "
                "structural tag for its format); use tool_choice 'auto'"
            )
        return structured
    tag_format: dict[str, Any]
    if forced or structured is not None:
        tag_format = {
            "type": "tags_with_separator",
            "tags": tags,
            "separator": "",
            "at_least_one": True,
            "stop_after_first": single or named is not None,
        }
    else:
        tag_format = {
            "type": "triggered_tags",
            "triggers": [parser.trigger],
            "tags": tags,
            "stop_after_first": single,
        }
    if structured is not None and auto:
        tag_format = {"type": "or", "elements": [tag_format, _as_format(structured)]}
    elif structured is not None:
        warnings.warn(
            "structured outputs are ignored because tool_choice forces a tool call "
            "(as vLLM's server does)",
            stacklevel=3,
        )
    return StructuredOutputs(structural_tag={"type": "structural_tag", "format": tag_format})


def _arguments_schema(function: Mapping[str, Any]) -> Any:
    """A strict tool's parameters schema; any JSON for the others (vLLM's default level)."""
    if function.get("strict") is not True:
        return True
    parameters = function.get("parameters")
    return True if parameters is None else parameters


def _as_format(structured: StructuredOutputs) -> dict[str, Any]:
    """``structured`` as an xgrammar format, the alternative to tool calls under "auto"."""
    kind = structured.kind
    if kind == "json_object":
        return {"type": "json_schema", "json_schema": {"type": "object"}}
    if kind == "json_schema":
        schema = structured.json_schema
        return {
            "type": "json_schema",
            "json_schema": json.loads(schema) if isinstance(schema, str) else schema,
        }
    if kind == "regex":
        return {"type": "regex", "pattern": structured.regex}
    if kind == "choice":
        values = structured.choice or []
        return {"type": "or", "elements": [{"type": "const_string", "value": v} for v in values]}
    if kind == "grammar":
        return {"type": "grammar", "grammar": structured.grammar}
    raw = structured.structural_tag
    tag: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    if "structures" in tag:  # the legacy response_format shape
        return {
            "type": "triggered_tags",
            "triggers": tag["triggers"],
            "tags": [
                {
                    "type": "tag",
                    "begin": s["begin"],
                    "content": {"type": "json_schema", "json_schema": s["schema"]},
                    "end": s["end"],
                }
                for s in tag["structures"]
            ],
        }
    return dict(tag["format"])
