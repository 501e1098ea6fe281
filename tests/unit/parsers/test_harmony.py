"""gpt-oss's harmony output against vLLM's ``HarmonyParser`` (the oracle): channels, calls to
functions, cut-off messages, streamed in random chunks and not. Token IDs are harmony's own
encoding (gpt-oss's tokenizer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.parsers.formats import TOOLS, arguments, prose, split
from tests.unit.parsers.harness import Oracle, comparable, streamed_calls_agree
from vllm_integrations.transports.grpc.parsers import RequestFacts, compose
from vllm_integrations.transports.grpc.parsers.harmony import encoding
from vllm_integrations.types import assemble_tool_calls

EXAMPLES = 300


@st.composite
def messages(draw: st.DrawFn) -> str:
    """Assistant messages in harmony: analysis, commentary, calls, final; maybe cut short."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["analysis", "final", "commentary", "call", "call"]))
        if kind == "call":
            name = draw(st.sampled_from(["get_weather", "search", "python"]))
            recipient = name if name == "python" else f"functions.{name}"
            body = json.dumps(draw(arguments), ensure_ascii=False)
            parts.append(
                f"<|channel|>commentary to={recipient} <|constrain|>json<|message|>{body}<|call|>"
            )
        else:
            parts.append(f"<|channel|>{kind}<|message|>{draw(prose)}<|end|>")
    text = "<|start|>assistant".join(parts)
    if draw(st.integers(0, 3)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


class HarmonyTokenizer:
    def decode(self, ids: list[int]) -> str:
        return str(encoding().decode(ids))


def ours(
    chunks: list[list[int]],
    reasoning: str | None,
    tool: str | None,
    request: RequestFacts,
    *,
    stream: bool,
) -> dict[str, Any]:
    parser = compose(reasoning, tool, HarmonyTokenizer(), request, ())
    if stream:
        deltas = [parser.feed("", chunk) for chunk in chunks]
        deltas.append(parser.finish())
    else:
        deltas = [parser.parse("", [i for chunk in chunks for i in chunk])]
    calls = assemble_tool_calls(c for d in deltas for c in d.tool_calls)
    return {
        "content": "".join(d.content for d in deltas),
        "reasoning": "".join(d.reasoning for d in deltas),
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls],
    }


@pytest.mark.parametrize(
    ("reasoning", "tool"), [("openai_gptoss", "openai"), (None, "openai"), ("openai_gptoss", None)]
)
def test_harmony_equals_vllm(oracle: Oracle, reasoning: str | None, tool: str | None) -> None:
    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        text = data.draw(messages(), label="text")
        choice = data.draw(st.sampled_from(["auto", "none"]), label="tool_choice")
        ids = list(encoding().encode(text, allowed_special="all"))
        chunks = data.draw(st.composite(lambda draw: split(draw, ids))(), label="chunks")
        expected = oracle.ask(
            {"tokenizer": "", "reasoning": reasoning, "tool": tool, "prompt_ids": [],
             "chunks": chunks, "eos": False, "tools": TOOLS, "tool_choice": choice}
        )  # fmt: skip
        request = RequestFacts(tools=TOOLS, tool_choice=choice)
        got = comparable(ours(chunks, reasoning, tool, request, stream=False))
        assert got == comparable(expected["one_shot"]), text
        got = comparable(ours(chunks, reasoning, tool, request, stream=True))
        want = comparable(expected["stream"])
        assert (got["content"], got["reasoning"]) == (want["content"], want["reasoning"]), text
        none = choice == "none" or tool is None
        if none:
            assert streamed_calls_agree(got["tool_calls"], want["tool_calls"], none), text
        else:
            assert got["tool_calls"] == want["tool_calls"], text

    check()
