"""The structural tags vLLM 0.32 builds for the families whose calls carry XML-style
arguments: GLM 4.5/4.7 (vLLM's own ``glm_4_7`` builder, which falls back to xgrammar's
``glm_4_7`` template when every tool is strict) and Qwen3-Coder (xgrammar's ``qwen_3_coder``
template), as xgrammar formats (JSON), called as vLLM calls them (reasoning disabled, default
options). Ported rather than imported: xgrammar brings torch, no client dependency.

Builders take the tools with ``strict`` pinned (as in ``tool_tags``) and the simplified choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vllm_integrations.transports.grpc.tool_tags import (
    THINK_TAGS,
    Builder,
    Choice,
    Format,
    arguments_schema,
    const,
    separated,
    tag,
    triggered,
)

_GLM_CALL = "<tool_call>"
_GLM_ARG_TAGS = ["<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"]
_GLM_VALUE_EXCLUDES = [*THINK_TAGS, _GLM_CALL, "</tool_call>", *_GLM_ARG_TAGS]
"""vLLM's ``_GLM_4_7_VALUE_EXCLUDES``: no control token inside a free-text value."""
_GLM_TEXT_EXCLUDES = [*THINK_TAGS, "</tool_call>", *_GLM_ARG_TAGS]
"""xgrammar's GLM ``TEXT_EXCLUDES``: text may start a call, so ``<tool_call>`` stays allowed."""
_NOT_PLAIN = ("$ref", "allOf", "anyOf", "oneOf", "patternProperties")
_QWEN_CALL = "<tool_call>\n<function="


def xml_schema(function: Mapping[str, Any], style: str) -> Format:
    """The call's arguments in xgrammar's XML ``style``, keys in the schema's order."""
    schema = arguments_schema(function)
    return {"type": "json_schema", "json_schema": schema, "style": style, "any_order": False}


def _any_value() -> Format:
    return {"type": "any_text", "excludes": _GLM_VALUE_EXCLUDES}


def _one_of(formats: list[Format]) -> Format:
    return formats[0] if len(formats) == 1 else {"type": "or", "elements": formats}


def _glm_value(prop: Mapping[str, Any]) -> Format:
    """vLLM's ``_glm_4_7_value_format``: values are raw, strings unquoted, as GLM's template
    writes them; only an enum or a basic type is pinned."""
    if "enum" in prop:
        values = [v if isinstance(v, str) else json.dumps(v) for v in prop["enum"]]
        return _one_of([const(v) for v in values])
    kind = prop.get("type")
    if isinstance(kind, list):
        formats = [_glm_value({"type": t}) for t in kind if t != "string"]
        if "string" in kind:
            formats.append(_any_value())
        return _one_of(formats)
    if kind in (None, "string"):
        return _any_value()
    return {"type": "json_schema", "json_schema": {"type": kind}}


def _glm_plain_properties(parameters: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A plain object schema's ``properties`` (vLLM's ``_glm_4_7_plain_properties``)."""
    properties = parameters.get("properties")
    if (
        not isinstance(properties, dict)
        or not properties
        or parameters.get("additionalProperties") is True
        or any(key in parameters for key in _NOT_PLAIN)
    ):
        return None
    return properties


def _glm_shallow_tag(function: Mapping[str, Any]) -> Format:
    """vLLM's ``_glm_4_7_tool_tag`` for a non-strict tool: any of its keys, any number of
    times, each with a value of its basic type."""
    begin = _GLM_CALL + function["name"]
    properties = _glm_plain_properties(function.get("parameters") or {})
    if properties is None:
        free = {"type": "json_schema", "json_schema": True, "style": "glm_xml", "any_order": False}
        return tag(begin, free, "</tool_call>")
    pairs = [
        {
            "type": "sequence",
            "elements": [
                const(f"<arg_key>{key}</arg_key><arg_value>"),
                _glm_value(prop),
                const("</arg_value>"),
            ],
        }
        for key, prop in properties.items()
    ]
    return tag(begin, {"type": "star", "content": _one_of(pairs)}, "</tool_call>")


def _glm_strict_tag(function: Mapping[str, Any]) -> Format:
    return tag(_GLM_CALL + function["name"], xml_schema(function, "glm_xml"), "</tool_call>")


def _glm_all_strict(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """xgrammar's ``glm_4_7`` template, which vLLM keeps byte-identical for strict tools."""
    tags = [_glm_strict_tag(f) for f in functions]
    if choice == "forced":
        return tags[0]
    at_least_one = {"at_least_one": True} if choice == "required" else {}
    return triggered([_GLM_CALL], tags, excludes=_GLM_TEXT_EXCLUDES, **at_least_one)


def glm_4_7(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """vLLM's ``get_glm_4_7_structural_tag``: strict tools follow their schema, the others
    only the call envelope and their keys (GLM constrains even "auto" this way)."""
    if functions and all(f["strict"] for f in functions):
        return _glm_all_strict(functions, choice)
    tags = [_glm_strict_tag(f) if f["strict"] else _glm_shallow_tag(f) for f in functions]
    if choice == "auto":
        excludes = [e for e in _GLM_VALUE_EXCLUDES if e != _GLM_CALL]
        return triggered([_GLM_CALL], tags, excludes=excludes)
    return separated(tags, "", stop_after_first=choice == "forced")


def qwen_3_coder(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """xgrammar's ``qwen_3_coder`` template: ``<function=NAME>`` with ``<parameter=KEY>``s."""
    tags = [
        tag(f"{_QWEN_CALL}{f['name']}>\n", xml_schema(f, "qwen_xml"), "\n</function>\n</tool_call>")
        for f in functions
    ]
    if choice == "forced":
        return tags[0]
    if not tags:
        return {"type": "any_text", "excludes": THINK_TAGS}
    at_least_one = {"at_least_one": True} if choice == "required" else {}
    return triggered([_QWEN_CALL], tags, excludes=THINK_TAGS, **at_least_one)


XML_BUILDERS: dict[str, Builder] = {"glm_4_7": glm_4_7, "qwen_3_coder": qwen_3_coder}
