"""Mistral (``mistral``, reasoning and tools): ``[THINK]...[/THINK]`` reasoning and
``[TOOL_CALLS]name[ARGS]{...}`` calls (one ``[TOOL_CALLS]`` per call), vLLM 0.32's
``vllm/parser/mistral.py`` on the ported engine, as vLLM runs it with a Hugging Face tokenizer
(``--tokenizer-mode hf``): reasoning only when ``[THINK]`` is in the vocabulary.

With vLLM's own Mistral tokenizer (``mistral_common``) the server also constrains every
request with a grammar of its own, which the client cannot rebuild; and tokenizers before v11
(no ``[ARGS]``) are read by vLLM with ``ijson`` in a separate path: the client refuses both at
once rather than parse differently. A call's id is Mistral's nine letters and digits.
"""

from __future__ import annotations

import json
import random
import string
from functools import cache

from vllm_integrations.transports.grpc.parsers.base import TokenizerFacts
from vllm_integrations.transports.grpc.parsers.engine import EngineConfig, Ev, Event, Go, State
from vllm_integrations.transports.grpc.parsers.engine_parser import EngineParser, Slot
from vllm_integrations.types import ToolCallDelta

TOOL_CALLS, ARGS = "[TOOL_CALLS]", "[ARGS]"
THINK_START, THINK_END = "[THINK]", "[/THINK]"
_ID_CHARACTERS = string.ascii_letters + string.digits
_DECODER = json.JSONDecoder()


def check_tokenizer(facts: TokenizerFacts) -> bool:
    """Whether the tokenizer has ``[THINK]`` (reasoning); ValueError where vLLM refuses the
    tokenizer or reads it in a way the client does not."""
    if facts.vocab_id(TOOL_CALLS) is None:
        raise ValueError("Mistral parser could not locate the tool call token in the tokenizer!")
    if facts.vocab_id(ARGS) is None:
        raise ValueError(
            f"the mistral parser over gRPC needs a v11+ tokenizer (with {ARGS}); vLLM reads "
            "older Mistral tool calls in a separate path: use the HTTP transport"
        )
    return facts.vocab_id(THINK_START) is not None


@cache
def mistral_config(reasoning: bool) -> EngineConfig:
    R, C, N, A = State.REASONING, State.CONTENT, State.TOOL_NAME, State.TOOL_ARGS
    think = {"THINK_START": THINK_START, "THINK_END": THINK_END} if reasoning else {}
    reasoning_moves = (
        {
            (C, "THINK_START"): Go(R),
            (R, "THINK_START"): Go(R),
            (R, "THINK_END"): Go(C, (Ev.REASONING_END,)),
            (C, "THINK_END"): Go(C),
            (R, "TOOL_CALLS"): Go(N, (Ev.REASONING_END, Ev.CALL_START)),
        }
        if reasoning
        else {}
    )
    start_call = (Ev.REASONING_END, Ev.CALL_START) if reasoning else (Ev.CALL_START,)
    tags = {**think, "TOOL_CALLS": TOOL_CALLS, "ARGS": ARGS}
    return EngineConfig(
        terminals={**tags, "OPEN_BRACE": "{"},
        token_id_terminals=tags,
        transitions={
            **reasoning_moves,
            (C, "TOOL_CALLS"): Go(N, start_call),
            (N, "ARGS"): Go(A),
            (N, "OPEN_BRACE"): Go(A, (Ev.ARGS,)),  # "name{args}": the brace opens the args
            (A, "TOOL_CALLS"): Go(N, (Ev.CALL_END, Ev.CALL_START)),
        },
        initial_state=C,
        wait_for_reasoning=reasoning,
    )


class MistralParser(EngineParser):
    """A call's name is final once its arguments start, an empty one included."""

    def accept_name(self, name: str) -> bool:
        return True

    def name_from_args(self, slot: Slot) -> str | None:
        return slot.name

    def new_id(self) -> str:
        return "".join(random.choices(_ID_CHARACTERS, k=9))

    def after_name_sent(self, event: Event, calls: list[ToolCallDelta]) -> None:
        """The piece that revealed the name (the opening brace) is arguments too."""
        if event.value:
            calls.append(ToolCallDelta(index=event.index, arguments=event.value))

    def name_and_args(self, body: str) -> tuple[str, str]:
        return "", self.args_json(body)

    def args_json(self, body: str) -> str:
        """The first JSON value of the body: text after it is dropped."""
        stripped = body.strip()
        if not stripped:
            return "{}"
        try:
            _, end = _DECODER.raw_decode(stripped)
        except json.JSONDecodeError:
            return stripped
        return stripped[:end]
