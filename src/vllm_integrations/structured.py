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

    def to_gateway(self, *, chat: bool) -> dict[str, Any]:
        """The same constraint in the top-level keys smg (the gateway for vLLM's gRPC workers)
        reads, for a body that also carries :meth:`to_http`: smg ignores ``structured_outputs``.

        SGLang's ``regex`` and ``ebnf`` (a choice: the grammar vLLM builds for one), which vLLM's
        HTTP server ignores; JSON in OpenAI's ``response_format`` for chat (vLLM reads it as the
        very same constraint) or as ``json_schema`` text for completions. smg has no chat key
        for a structural tag: in ``response_format`` it is a bad request there, not ignored;
        completions carry none (smg would not constrain them).
        """
        kind = self.kind
        if kind == "regex":
            return {"regex": self.regex}
        if kind in ("grammar", "choice"):
            grammar = self.grammar if kind == "grammar" else _choice_grammar(self.choice or [])
            return {"ebnf": grammar}
        if not chat:
            return {} if kind == "structural_tag" else {"json_schema": json.dumps(self._schema())}
        if kind == "structural_tag":
            tag = self.structural_tag
            return {"response_format": json.loads(tag) if isinstance(tag, str) else tag}
        if kind == "json_object":
            return {"response_format": {"type": "json_object"}}
        spec = {"name": "structured_output", "schema": self._schema()}
        return {"response_format": {"type": "json_schema", "json_schema": spec}}

    def _schema(self) -> Any:
        """The JSON schema (``json_object``: any object), parsed when given as text."""
        schema = self.json_schema
        if schema is None:
            return {"type": "object"}
        return json.loads(schema) if isinstance(schema, str) else schema


_EBNF_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _choice_grammar(choices: list[str]) -> str:
    """``root ::= "a" | "b"``, escaped as vLLM escapes a choice for its grammar engine."""

    def escape(char: str) -> str:
        if char in _EBNF_ESCAPES:
            return _EBNF_ESCAPES[char]
        return f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char

    literals = ('"' + "".join(escape(char) for char in choice) + '"' for choice in choices)
    return "root ::= " + " | ".join(literals)


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
