"""Structured outputs in the keys smg reads, next to vLLM's ``structured_outputs``: smg ignores
vLLM's key, and vLLM's HTTP server ignores smg's (or reads the same constraint)."""

from __future__ import annotations

import json

import pytest

from vllm_integrations.structured import StructuredOutputs

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
TAG = {"type": "structural_tag", "format": {"type": "const_string", "value": "hi"}}


@pytest.mark.parametrize(
    ("structured", "chat", "completions"),
    [
        (StructuredOutputs(regex="[a-z]+"), {"regex": "[a-z]+"}, {"regex": "[a-z]+"}),
        (
            StructuredOutputs(grammar='start: "a" | "b"'),
            {"ebnf": 'start: "a" | "b"'},
            {"ebnf": 'start: "a" | "b"'},
        ),
        (
            StructuredOutputs(json_schema=SCHEMA),
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "structured_output", "schema": SCHEMA},
                }
            },
            {"json_schema": json.dumps(SCHEMA)},
        ),
        (
            StructuredOutputs(json_schema=json.dumps(SCHEMA)),
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "structured_output", "schema": SCHEMA},
                }
            },
            {"json_schema": json.dumps(SCHEMA)},
        ),
        (
            StructuredOutputs(json_object=True),
            {"response_format": {"type": "json_object"}},
            {"json_schema": json.dumps({"type": "object"})},
        ),
        (StructuredOutputs(structural_tag=TAG), {"response_format": TAG}, {}),
        (StructuredOutputs(structural_tag=json.dumps(TAG)), {"response_format": TAG}, {}),
    ],
)
def test_each_kind_in_the_gateways_keys(
    structured: StructuredOutputs, chat: dict[str, object], completions: dict[str, object]
) -> None:
    assert structured.to_gateway(chat=True) == chat
    assert structured.to_gateway(chat=False) == completions


def test_a_choice_is_the_grammar_vllm_builds_for_it() -> None:
    choices = ["yes", 'say "no"', "back\\slash", "two\nlines", "bell\x07"]
    grammar = StructuredOutputs(choice=choices).to_gateway(chat=True)["ebnf"]
    assert grammar == (
        'root ::= "yes" | "say \\"no\\"" | "back\\\\slash" | "two\\nlines" | "bell\\u0007"'
    )
