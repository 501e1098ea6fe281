"""tool_choice, parallel_tool_calls and strict tools enforced as vLLM 0.32's server enforces
them, since its gRPC server applies structured outputs only as sent.

Its HTTP server (``Parser._apply_structural_tag``, on by default through
``VLLM_ENFORCE_STRICT_TOOL_CALLING``) builds an xgrammar structural tag over the tool parser's
own call format (``tool_tags``, ``xml_tool_tags``, ``harmony_tool_tags``) for tool_choice
"required" or a named tool, for tools marked ``strict`` and for ``parallel_tool_calls=False``
(GLM's parsers, which default to the function strict level, for every request with tools), and
reads the output with the same parser as under "auto". For gpt-oss the request's structured
outputs first move into harmony's final channel, as ``HarmonyParser.adjust_request`` moves
them on every gpt-oss request, with tools or without (``request_constraint``). A parser
without such a format (``pythonic``, ``granite``) gets a JSON schema instead for "required" or
a named tool (``ToolParser.adjust_request``), and the output is read as that JSON. The
server's ``--tool-strict-level`` is assumed to be its default, ``auto``: a tool's arguments
follow its schema only when the tool says ``strict: true``.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.tool_choice import named_tool
from vllm_integrations.transports.grpc.harmony_tool_tags import harmony, in_final_channel
from vllm_integrations.transports.grpc.parsers import TOOLS
from vllm_integrations.transports.grpc.parsers.registry import HARMONY_NAMES
from vllm_integrations.transports.grpc.tool_tags import (
    JSON_BUILDERS,
    Builder,
    Choice,
    limit_to_one_call,
)
from vllm_integrations.transports.grpc.xml_tool_tags import XML_BUILDERS

_EXCLUSIVE = ("json_schema", "regex", "choice")
FUNCTION_LEVEL, PARAMETER_LEVEL = 1, 2
"""vLLM's ``ToolStrictLevel``: the call envelope constrained; the arguments too."""
BUILDERS: dict[str, Builder] = {**JSON_BUILDERS, **XML_BUILDERS, "harmony": harmony}
"""vLLM's structural tags by its tool parsers' ``structural_tag_model``."""


def request_constraint(
    reasoning_parser: str | None,
    tool_call_parser: str | None,
    tools: Sequence[Mapping[str, Any]],
    tool_choice: str | Mapping[str, Any] | None,
    *,
    parallel_tool_calls: bool | None,
    structured: StructuredOutputs | None,
) -> StructuredOutputs | None:
    """The structured outputs vLLM's renderer leaves on a chat request. For gpt-oss (either
    parser name) it runs ``HarmonyParser.adjust_request`` on every request, with tools or not."""
    if tool_call_parser is not None:
        return constrain_tool_calls(
            tool_call_parser,
            tools,
            tool_choice,
            parallel_tool_calls=parallel_tool_calls,
            structured=structured,
        )
    if tools and tool_choice not in (None, "auto", "none"):
        raise ValueError("a forced tool_choice needs a tool_call_parser")
    return _in_final_channel(structured) if reasoning_parser in HARMONY_NAMES else structured


def constrain_tool_calls(
    parser: str,
    tools: Sequence[Mapping[str, Any]],
    tool_choice: str | Mapping[str, Any] | None,
    *,
    parallel_tool_calls: bool | None,
    structured: StructuredOutputs | None,
) -> StructuredOutputs | None:
    """The structured outputs to send for a request with ``tools``: ``structured`` unchanged
    when vLLM would not constrain the calls, else what vLLM sends in its place."""
    named = named_tool(tool_choice)
    if named is not None and structured is not None and structured.kind in _EXCLUSIVE:
        raise ValueError(
            "You can only either use constraints for structured outputs or tools, not both "
            "(vLLM refuses a named tool_choice with a JSON schema, regex or choice)"
        )
    spec = TOOLS[parser]
    if spec.structural_tag == "harmony":
        structured = _in_final_channel(structured)  # on every request, tools or not
    if not tools or tool_choice == "none":
        return structured
    choice: Choice = "forced" if named is not None else "auto"
    if tool_choice == "required":
        choice = "required"
    functions = [tool["function"] for tool in tools if tool.get("type") == "function"]
    if named is not None:
        functions = [f for f in functions if f.get("name") == named]
        if not functions:
            raise ValueError(f"tool_choice names {named!r}, which is not among the tools")
    if choice != "auto" and not functions:
        raise ValueError("tool_choice 'required' needs at least one function tool")
    if spec.structural_tag is None:
        return _json_schema(spec.forced_schema, functions, choice, parallel_tool_calls, structured)
    level = spec.strict_level
    auto_output = choice == "auto" and structured is not None
    if parallel_tool_calls is False and not auto_output:
        level = max(level, FUNCTION_LEVEL)  # limiting calls needs the call envelope
    strict = [level >= PARAMETER_LEVEL or f.get("strict") is True for f in functions]
    if choice == "auto" and (not functions or (level == 0 and not any(strict))):
        return structured
    pinned = [{**f, "strict": s} for f, s in zip(functions, strict, strict=True)]
    tag_format = BUILDERS[spec.structural_tag](pinned, "required" if auto_output else choice)
    if parallel_tool_calls is False:
        limit_to_one_call(tag_format)
    if auto_output:
        assert structured is not None
        tag_format = {"type": "or", "elements": [tag_format, _as_format(structured)]}
    elif structured is not None:
        _warn_ignored()
    return _structural(tag_format)


def _in_final_channel(structured: StructuredOutputs | None) -> StructuredOutputs | None:
    """gpt-oss writes channel headers first: vLLM moves the output into the final channel."""
    return None if structured is None else _structural(in_final_channel(_as_format(structured)))


def _structural(tag_format: dict[str, Any]) -> StructuredOutputs:
    return StructuredOutputs(structural_tag={"type": "structural_tag", "format": tag_format})


def _warn_ignored() -> None:
    warnings.warn(
        "structured outputs are ignored because tool_choice forces a tool call "
        "(as vLLM's server does)",
        stacklevel=4,
    )


def _json_schema(
    kind: str,
    functions: Sequence[Mapping[str, Any]],
    choice: Choice,
    parallel_tool_calls: bool | None,
    structured: StructuredOutputs | None,
) -> StructuredOutputs | None:
    """vLLM's JSON-schema fallback for a forced call (``get_json_schema_from_tools``): the
    named tool's parameters, or a list of ``{"name", "parameters"}`` calls."""
    if choice == "auto" or kind == "none":
        return structured
    if structured is not None:
        if kind == "arguments" or structured.kind == "structural_tag":
            return structured  # vLLM keeps these (Mistral keeps any structured output)
        _warn_ignored()
    if choice == "forced" and kind == "parameters":
        return StructuredOutputs(json_schema=_parameters(functions[0]))
    return StructuredOutputs(json_schema=calls_schema(kind, functions, choice, parallel_tool_calls))


def _parameters(function: Mapping[str, Any]) -> dict[str, Any]:
    parameters = function.get("parameters")
    return dict(parameters) if parameters else {"type": "object", "properties": {}}


def calls_schema(
    kind: str,
    functions: Sequence[Mapping[str, Any]],
    choice: Choice,
    parallel_tool_calls: bool | None,
) -> dict[str, Any]:
    """A JSON array of calls: ``{"name", "parameters"}`` (vLLM's ``_get_json_schema_from_tools``,
    its ``$defs`` gathered at the top) or Mistral's ``{"name", "arguments"}``."""
    if kind == "arguments":  # MistralParser._build_guided_schema_pre_v11
        items = [
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "enum": [f["name"]]},
                    "arguments": f.get("parameters") or {"type": "object"},
                },
                "required": ["name", "arguments"],
            }
            for f in functions
        ]
        extra = {"maxItems": 1} if choice == "forced" else {}
        return {
            "type": "array",
            "minItems": 1,
            **extra,
            "items": {"type": "object", "anyOf": items},
        }
    definitions: dict[str, Any] = {}
    items = []
    for function in functions:
        parameters = copy.deepcopy(function.get("parameters"))
        for name, schema in (parameters or {}).pop("$defs", {}).items():
            if definitions.setdefault(name, schema) != schema:
                raise ValueError(f"Tool definition {name!r} has multiple schemas")
        items.append(
            {
                "properties": {
                    "name": {"type": "string", "enum": [function["name"]]},
                    "parameters": parameters or {"type": "object", "properties": {}},
                },
                "required": ["name", "parameters"],
            }
        )
    calls: dict[str, Any] = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "object", "anyOf": items},
    }
    if parallel_tool_calls is False:
        calls["maxItems"] = 1
    if definitions:
        calls["$defs"] = definitions
    return calls


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
