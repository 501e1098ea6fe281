"""vLLM's structured outputs as one value: a JSON schema, regex, choice, grammar, or tag.

Adapters turn framework options (``with_structured_output``, ``structured_predict``) into a
``StructuredOutputs``; each transport writes it in its own wire form. Never the removed
``guided_*`` keys, which current vLLM silently ignores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

StructuredKind = Literal[
    "json_schema", "regex", "choice", "grammar", "structural_tag", "json_object"
]


class StructuredOutputs(BaseModel):
    """Constrain generation with exactly one of: a JSON schema, a regex, a list of choices, a
    grammar (EBNF/GBNF or Lark), a structural tag, or any JSON object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    json_schema: dict[str, Any] | str | None = None
    regex: str | None = None
    choice: list[str] | None = None
    grammar: str | None = None
    structural_tag: dict[str, Any] | str | None = None
    json_object: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StructuredOutputs:
        chosen = [name for name in self.model_fields_set if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "StructuredOutputs takes exactly one of json_schema, regex, choice, grammar, "
                f"structural_tag, json_object; got {sorted(chosen) or 'none'}"
            )
        if self.json_object is False:
            raise ValueError("json_object=False constrains nothing: leave it unset instead")
        if self.choice is not None and not self.choice:
            raise ValueError("choice needs at least one option")
        return self

    @property
    def kind(self) -> StructuredKind:
        for name in ("json_schema", "regex", "choice", "grammar", "structural_tag"):
            if getattr(self, name) is not None:
                return name
        return "json_object"

    def to_http(self) -> dict[str, Any]:
        """The ``structured_outputs`` object of vLLM's OpenAI-compatible request body."""
        kind = self.kind
        if kind == "json_schema":
            return {"json": self.json_schema}
        if kind == "json_object":
            return {"json_object": True}
        if kind == "structural_tag" and not isinstance(self.structural_tag, str):
            return {kind: json.dumps(self.structural_tag)}  # vLLM takes the tag as JSON text
        return {kind: getattr(self, kind)}


def as_structured_outputs(
    value: StructuredOutputs | Mapping[str, Any] | None,
) -> StructuredOutputs | None:
    """A ``StructuredOutputs`` from itself or its dict form (``{"regex": ...}``), checked now."""
    return None if value is None else StructuredOutputs.model_validate(value)


def from_response_format(response_format: Mapping[str, Any] | None) -> StructuredOutputs | None:
    """OpenAI's ``response_format`` (as agents and OpenAI clients send it) as vLLM structured
    outputs: ``json_schema`` (its ``json_schema.schema``) or ``json_object``; ``text`` is none."""
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return StructuredOutputs(json_object=True)
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, Mapping) or spec.get("schema") is None:
            raise ValueError('response_format json_schema needs {"json_schema": {"schema": ...}}')
        return StructuredOutputs(json_schema=spec["schema"])
    raise ValueError(f"unknown response_format type {kind!r}: text, json_object or json_schema")


def merge_structured(
    structured: StructuredOutputs | Mapping[str, Any] | None,
    response_format: Mapping[str, Any] | None,
) -> StructuredOutputs | None:
    """The one constraint of a request that may spell it either way, never both."""
    from_format = from_response_format(response_format)
    checked = as_structured_outputs(structured)
    if from_format is not None and checked is not None:
        raise ValueError("give structured_outputs or response_format, not both")
    return from_format or checked
