"""Argument values typed by the tool's schema, as vLLM types them for formats that write
values as bare text (Qwen3-Coder XML, GLM): ``"3"`` becomes ``3`` when the parameter is an
integer. A port of the helpers in vLLM 0.32's ``vllm/tool_parsers/utils.py`` and
``ParserEngine._coerce_*`` (Apache 2.0), so the arguments equal vLLM's byte for byte."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

_ALIASES = {
    **dict.fromkeys(("str", "text", "varchar", "char", "enum"), "string"),
    **dict.fromkeys(
        ("int", "int32", "int64", "uint", "uint32", "uint64", "long", "short", "unsigned"),
        "integer",
    ),
    **dict.fromkeys(("float", "float32", "float64", "double"), "number"),
    "bool": "boolean",
    "dict": "object",
    **dict.fromkeys(("arr", "list", "sequence"), "array"),
}
_PRIORITY = ("null", "integer", "number", "boolean", "object", "array", "string")
_ENUM_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


def tool_properties(tools: Sequence[Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The ``properties`` of the function tool ``name``, or ``{}``."""
    for tool in tools:
        function = tool.get("function") if tool.get("type") == "function" else None
        if isinstance(function, Mapping) and function.get("name") == name:
            return dict((function.get("parameters") or {}).get("properties", {}))
    return {}


def has_tool(tools: Sequence[Mapping[str, Any]], name: str) -> bool:
    return any(
        tool.get("type") == "function" and (tool.get("function") or {}).get("name") == name
        for tool in tools
    )


def schema_types(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return ["string"]
    types: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        types.add(declared)
    elif isinstance(declared, list):
        types.update(t for t in declared if isinstance(t, str))
    for value in schema.get("enum") or () if isinstance(schema.get("enum"), list) else ():
        types.add(_enum_type(value))
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list):
            for choice in schema[key]:
                types.update(schema_types(choice))
    return list(types) if types else ["string"]


def _enum_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return next(name for kind, name in _ENUM_TYPES if isinstance(value, kind))


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError):
        return False
    return True


def coerce(value: str, types: Sequence[str]) -> Any:
    """vLLM's ``coerce_to_schema_type``: the first type (by its priority) the text parses as."""
    wanted = {_ALIASES.get(t.strip().lower(), t.strip().lower()) for t in types}
    for kind in _PRIORITY:
        if kind not in wanted:
            continue
        if kind == "string":
            return value
        parsed, ok = _parse_as(kind, value)
        if ok:
            return parsed
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if _finite(parsed) else value


def _parse_as(kind: str, value: str) -> tuple[Any, bool]:
    if kind == "null":
        return None, value.lower() == "null"
    if kind == "integer":
        try:
            return int(value), True
        except ValueError:
            return None, False
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return None, False
        if not math.isfinite(number):
            return None, False
        return (number if number != int(number) else int(number)), True
    if kind == "boolean":
        lowered = value.lower().strip()
        if lowered in ("true", "1", "false", "0"):
            return lowered in ("true", "1"), True
        return None, False
    try:
        parsed = json.loads(value)
    except ValueError:
        return None, False
    return parsed, _finite(parsed)


def _coerce_value(value: Any, schema: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        coerced = coerce(value, schema_types(schema))
        return coerced, coerced is not value
    if isinstance(value, dict):
        nested = schema.get("properties") if isinstance(schema, dict) else None
        return value, isinstance(nested, dict) and coerce_dict(value, nested)
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema, dict) else None
        changed = False
        if isinstance(items, dict):
            for i, item in enumerate(value):
                coerced, item_changed = _coerce_value(item, items)
                if item_changed:
                    value[i], changed = coerced, True
        return value, changed
    coerced = coerce(json.dumps(value, ensure_ascii=False), schema_types(schema))
    changed = type(coerced) is not type(value) or coerced != value
    return (coerced, True) if changed else (value, False)


def coerce_dict(args: dict[str, Any], properties: Mapping[str, Any]) -> bool:
    """Coerce ``args`` in place; whether anything changed."""
    changed = False
    for key, value in args.items():
        schema = properties.get(key)
        if not isinstance(schema, dict):
            continue
        coerced, value_changed = _coerce_value(value, schema)
        if value_changed:
            args[key], changed = coerced, True
    return changed


def typed_arguments(arguments: str, name: str, tools: Sequence[Mapping[str, Any]]) -> str:
    """``arguments`` (a JSON object) with values typed by the tool's schema (vLLM's
    ``_fix_arg_types``): unchanged text when nothing needed typing."""
    if not tools or not name:
        return arguments
    try:
        args = json.loads(arguments)
    except ValueError:
        return arguments
    properties = tool_properties(tools, name)
    if not isinstance(args, dict) or not properties:
        return arguments
    return json.dumps(args, ensure_ascii=False) if coerce_dict(args, properties) else arguments
