"""The two sides of the differential parser tests: vLLM's parsers (a persistent subprocess in
the server's environment, started once per session) and ours (the gRPC transport's
``ChoiceState``, streamed and not), on the same token IDs split into the same chunks."""

from __future__ import annotations

import atexit
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllm_integrations.transports.grpc.parsers import RequestFacts
from vllm_integrations.transports.grpc.session import ChoiceState, ModelSetup, ToolPolicy
from vllm_integrations.types import assemble_tool_calls

ROOT = Path(__file__).parents[3]


_SHARED: dict[str, Oracle] = {}


def shared_oracle(python: str) -> Oracle:
    """One oracle process per interpreter for the whole test session (vLLM takes seconds to
    import), closed when the session's process exits."""
    if python not in _SHARED:
        _SHARED[python] = Oracle(python)
        atexit.register(_SHARED[python].close)
    return _SHARED[python]


class Oracle:
    """``tests.unit.parsers.vllm_oracle`` running under vLLM's interpreter."""

    def __init__(self, python: str) -> None:
        self._process = subprocess.Popen(
            [python, "-m", "tests.unit.parsers.vllm_oracle"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.asked = 0

    def ask(self, case: dict[str, Any]) -> dict[str, Any]:
        self.send(case)
        return self.answer()

    def send(self, case: dict[str, Any]) -> None:
        """Start on a case: vLLM works on it while the caller does (two cores)."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(case, ensure_ascii=False) + "\n")
        self._process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the vLLM oracle exited (see its stderr above)")
        self.asked += 1
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        self._process.wait(timeout=60)


@dataclass
class Case:
    """One output of a model, as token IDs in chunks, and the request around it."""

    tokenizer: str
    reasoning: str | None
    tool: str | None
    prompt_ids: list[int]
    chunks: list[list[int]]
    eos: bool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "reasoning": self.reasoning,
            "tool": self.tool,
            "prompt_ids": self.prompt_ids,
            "chunks": self.chunks,
            "eos": self.eos,
            "tools": self.tools,
            "tool_choice": self.tool_choice,
            "parallel_tool_calls": self.parallel_tool_calls,
            "chat_template_kwargs": self.chat_template_kwargs or None,
        }


def ours(case: Case, tokenizer: Any, eos_id: int, *, stream: bool = True) -> dict[str, Any]:
    """What the gRPC transport makes of the case's tokens."""
    setup = ModelSetup(
        tokenizer=tokenizer,
        served_model_name="m",
        max_context_length=4096,
        eos_token_ids=(eos_id,),
        default_temperature=1.0,
        reasoning_parser=case.reasoning,
        tool_call_parser=case.tool,
    )
    request = RequestFacts(
        tools=case.tools or (),
        tool_choice=case.tool_choice,
        chat_template_kwargs=case.chat_template_kwargs,
        parallel_tool_calls=case.parallel_tool_calls,
    )
    policy = ToolPolicy(
        request=request,
        single_call=case.parallel_tool_calls is False,
        named=isinstance(case.tool_choice, dict),
    )
    choice = ChoiceState(setup, {}, prompt_ids=case.prompt_ids, tools=policy, stream=stream)
    reasoning, content, calls = [], [], []
    chunks = case.chunks if stream else [[i for chunk in case.chunks for i in chunk]]
    for chunk in chunks:
        r, c, t, _ = choice.step(chunk)
        reasoning.append(r)
        content.append(c)
        calls.extend(t)
    r, c, t = choice.finish()
    reasoning.append(r)
    content.append(c)
    calls.extend(t)
    return {
        "content": "".join(content),
        "reasoning": "".join(reasoning),
        "tool_calls": [
            {"id": call.id, "name": call.name, "arguments": call.arguments}
            for call in assemble_tool_calls(calls)
        ],
    }


def streamed_calls_agree(
    ours: list[dict[str, str]], vllm: list[dict[str, str]], none: bool
) -> bool:
    """Streamed calls equal vLLM's, but for two documented differences: vLLM's flush may leak
    the pieces of an open call into a tool_choice="none" stream (never here), and where vLLM's
    streamed arguments of a converted call end cut off (its re-conversion of the whole call
    stopped extending what it had sent), ours are the call's whole converted arguments."""
    if none:
        return not ours
    if len(ours) != len(vllm):
        return False
    return all(
        (a["id"], a["name"]) == (b["id"], b["name"])
        and (
            a["arguments"] == b["arguments"] or (_cut(b["arguments"]) and not _cut(a["arguments"]))
        )
        for a, b in zip(ours, vllm, strict=True)
    )


def _cut(arguments: str) -> bool:
    try:
        json.loads(arguments)
    except ValueError:
        return True
    return False


RANDOM_IDS = ("chatcmpl-tool-", "call_")


def _random_id(call_id: str) -> bool:
    """vLLM's random ids, and Mistral's (nine letters and digits)."""
    mistral = len(call_id) == 9 and call_id.isascii() and call_id.isalnum()
    return not call_id or call_id.startswith(RANDOM_IDS) or mistral


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """Ids are random except where the format carries them (Kimi K2's ``functions.f:0``); an
    empty id from ``Parser.parse`` is one the serving layer makes up."""
    calls = [
        {**call, "id": "random" if _random_id(call["id"]) else call["id"]}
        for call in result["tool_calls"]
    ]
    return {"content": result["content"], "reasoning": result["reasoning"], "tool_calls": calls}
