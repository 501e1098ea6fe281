"""vLLM's structured outputs as one value: a JSON schema, regex, choice, grammar, or tag.

Adapters turn framework options (``with_structured_output``, ``structured_predict``) into a
``StructuredOutputs``; each transport writes it in its own wire form. Never the removed
``guided_*`` keys, which current vLLM silently ignores.
"""

from __future__ import annotations

import json
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
