"""vLLM 0.32's ``harmony`` structural tag for gpt-oss (its own builder in
``vllm/parser/harmony.py``), as an xgrammar format (JSON). Unlike the other families' tags it
leaves room for the messages harmony writes before a call or an answer: an optional
``analysis`` and an optional ``commentary`` message come first.

``HarmonyParser.adjust_request`` also moves a request's structured outputs into the ``final``
channel (``in_final_channel``) before the tool calls are constrained, so that the model can
still reason first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vllm_integrations.transports.grpc.tool_tags import Choice, Format, const, json_schema, tag

_END = ["<|end|>", ""]
"""A message ends at ``<|end|>`` or at a stop token, which vLLM writes as "" since xgrammar
allows no stop token under a constraint."""
_JSON_CONSTRAINS = (" json", " <|constrain|>json")
_CALL_CHANNELS = ("<|channel|>commentary", "<|channel|>analysis", "<|channel|>final")
_CALL_BEGINS = (
    " to=functions.{name}{channel}{constrain}<|message|>",
    "{channel} to=functions.{name}{constrain}<|message|>",
)
_FINAL = "<|channel|>final{constrain}<|message|>"
_ANY: Format = {"type": "any_text"}


def _optional_message(channel: str) -> Format:
    message = tag(f"<|channel|>{channel}<|message|>", _ANY, "<|end|>")
    sequence = {"type": "sequence", "elements": [message, const("<|start|>assistant")]}
    return {"type": "optional", "content": sequence}


def _after_messages(content: Format, *, commentary: bool) -> Format:
    """vLLM's ``_assemble_tag``: ``content`` after an optional analysis (and commentary)."""
    elements = [_optional_message("analysis")]
    if commentary:
        elements.append(_optional_message("commentary"))
    return {"type": "sequence", "elements": [*elements, content]}


def harmony(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """vLLM's ``get_harmony_structural_tag``: a call to one of the functions in any of the
    headers gpt-oss writes, or under "auto" a final answer instead."""
    tags = [
        tag(
            begin.format(name=function["name"], channel=channel, constrain=constrain),
            json_schema(function),
            _END,
        )
        for function in functions
        for begin in _CALL_BEGINS
        for constrain in _JSON_CONSTRAINS
        for channel in _CALL_CHANNELS
    ]
    if choice == "auto":
        finals = (*_JSON_CONSTRAINS, "")
        tags += [tag(_FINAL.format(constrain=constrain), _ANY, _END) for constrain in finals]
    return _after_messages({"type": "or", "elements": tags}, commentary=True)


def in_final_channel(output: Format) -> Format:
    """vLLM's ``_adjust_output_format``: structured output as the final message's content."""
    if output.get("type") == "json_schema":
        finals = [tag(_FINAL.format(constrain=c), output, _END) for c in _JSON_CONSTRAINS]
        content: Format = {"type": "or", "elements": finals}
    else:
        content = tag(_FINAL.format(constrain=""), output, _END)
    return _after_messages(content, commentary=False)
