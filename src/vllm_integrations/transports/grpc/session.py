"""One generation over vLLM's gRPC API, from token-ID responses to neutral deltas and replies.

The server sends token IDs only. Per choice, a TokenDecoder turns them into text (UTF-8 safe,
EOS and stop tokens dropped, stop strings trimmed with a bounded holdback), then the reasoning
parser splits off the thinking and the tool-call parser takes out tool calls: each step does
work proportional to its own tokens. Streamed ``complete`` messages repeat the last delta and
are read only for their finish reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from vllm_integrations.transports.grpc.decoding import TokenDecoder
from vllm_integrations.transports.grpc.parsers import (
    ReasoningParser,
    ToolCallParser,
    reasoning_parser,
    tool_call_parser,
)
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    LogprobEntry,
    ResponseInfo,
    StopReason,
    ToolCallDelta,
    Usage,
    assemble_tool_calls,
)


@dataclass(frozen=True)
class ModelSetup:
    """What every request to one server needs: its tokenizer and model facts, fetched once."""

    tokenizer: Any
    served_model_name: str
    max_context_length: int
    eos_token_ids: tuple[int, ...]
    default_temperature: float
    reasoning_parser: str | None
    tool_call_parser: str | None


@dataclass(frozen=True)
class ToolPolicy:
    """What the request's tools, tool_choice and parallel_tool_calls do to the parsed reply."""

    parse: bool = False
    """Tools were offered and tool_choice is not "none": read calls out of the content."""
    single_call: bool = False
    """parallel_tool_calls=False: vLLM keeps the first call only."""
    named: bool = False
    """tool_choice named a tool: the finish reason stays "stop" (OpenAI's rule, kept by vLLM)."""


class ChoiceState:
    """Decoding and parsing state of one choice (one ``index``) of a streamed chat reply."""

    def __init__(
        self,
        setup: ModelSetup,
        sampling: dict[str, Any],
        *,
        prompt_ids: Sequence[int],
        thinking: bool,
        tools: ToolPolicy,
    ) -> None:
        self._tokenizer = setup.tokenizer
        self._decoder = TokenDecoder(
            setup.tokenizer,
            stop=sampling.get("stop") or (),
            stop_token_ids=sampling.get("stop_token_ids") or (),
            eos_token_ids=setup.eos_token_ids,
            ignore_eos=bool(sampling.get("ignore_eos")),
            include_stop_str_in_output=bool(sampling.get("include_stop_str_in_output")),
            skip_special_tokens=sampling.get("skip_special_tokens", True),
            prompt_token_ids=prompt_ids,
            min_tokens=sampling.get("min_tokens") or 0,
        )
        self._reasoning: ReasoningParser | None = (
            reasoning_parser(setup.reasoning_parser, thinking=thinking)
            if setup.reasoning_parser
            else None
        )
        self._tools: ToolCallParser | None = (
            tool_call_parser(setup.tool_call_parser)
            if tools.parse and setup.tool_call_parser
            else None
        )
        self._tool_policy = tools
        self.completion_tokens = 0
        self.reasoning_tokens = 0
        self.called_tools = False
        self._unreported_ids: list[int] = []

    def step(
        self, token_ids: Sequence[int], logprobs: Any = None
    ) -> tuple[str, str, list[ToolCallDelta], list[LogprobEntry] | None]:
        self.completion_tokens += len(token_ids)
        self._unreported_ids.extend(token_ids)
        entries = self._logprob_entries(logprobs) if logprobs is not None else None
        if self._reasoning is None or not self._reasoning.in_reasoning:
            return (*self._split(self._decoder.step(token_ids)), entries)
        # Still thinking: go token by token to count reasoning tokens as vLLM does (the
        # tokens before the end tag, the tag itself excluded).
        reasoning: list[str] = []
        content: list[str] = []
        calls: list[ToolCallDelta] = []
        for token_id in token_ids:
            was_reasoning = self._reasoning.in_reasoning
            more_reasoning, more_content, more_calls = self._split(self._decoder.step((token_id,)))
            if was_reasoning and self._reasoning.in_reasoning:
                self.reasoning_tokens += 1
            reasoning.append(more_reasoning)
            content.append(more_content)
            calls.extend(more_calls)
        return "".join(reasoning), "".join(content), calls, entries

    def take_token_ids(self) -> tuple[int, ...]:
        """The token IDs stepped since the last call: each is reported once, with the first
        delta after it (a token may add no text yet: part of a character, a parser's tag)."""
        taken, self._unreported_ids = tuple(self._unreported_ids), []
        return taken

    @property
    def counts_reasoning(self) -> bool:
        return self._reasoning is not None

    def finish(self) -> tuple[str, str, list[ToolCallDelta]]:
        reasoning, content, calls = self._split(self._decoder.finish())
        if self._reasoning is not None:
            more_reasoning, more_content = self._reasoning.finish()
            reasoning += more_reasoning
            content += self._feed_tools(more_content, calls)
        if self._tools is not None:
            tail, tail_calls = self._tools.finish()
            content += tail
            calls.extend(self._kept(tail_calls))
        self.called_tools = self.called_tools or bool(calls)
        return reasoning, content, calls

    def finish_reason(self, engine_reason: str | None) -> str | None:
        reason = "stop" if self._decoder.stopped else engine_reason
        if reason == "stop" and self.called_tools and not self._tool_policy.named:
            return "tool_calls"
        return reason

    @property
    def stop_reason(self) -> StopReason:
        """The stop string or stop token ID that ended the choice (vLLM's ``stop_reason``)."""
        return self._decoder.matched_stop

    def _split(self, text: str) -> tuple[str, str, list[ToolCallDelta]]:
        calls: list[ToolCallDelta] = []
        if self._reasoning is None:
            reasoning, content = "", text
        else:
            reasoning, content = self._reasoning.feed(text)
        content = self._feed_tools(content, calls)
        return reasoning, content, calls

    def _feed_tools(self, content: str, calls: list[ToolCallDelta]) -> str:
        if self._tools is None or not content:
            return content
        content, new_calls = self._tools.feed(content)
        new_calls = self._kept(new_calls)
        if new_calls:
            self.called_tools = True
            calls.extend(new_calls)
        return content

    def _kept(self, calls: list[ToolCallDelta]) -> list[ToolCallDelta]:
        return [c for c in calls if c.index == 0] if self._tool_policy.single_call else calls

    def _logprob_entries(self, logprobs: Any) -> list[LogprobEntry]:
        entries = []
        for token_id, value, top in zip(
            logprobs.token_ids, logprobs.token_logprobs, logprobs.top_logprobs, strict=False
        ):
            entry = self._token_entry(token_id, value)
            entry["top_logprobs"] = [
                self._token_entry(i, v) for i, v in zip(top.token_ids, top.values, strict=False)
            ]
            entries.append(entry)
        return entries

    def _token_entry(self, token_id: int, value: float) -> dict[str, Any]:
        token = self._tokenizer.decode([token_id])
        return {"token": token, "logprob": value, "bytes": list(token.encode("utf-8"))}


class GenerationSession:
    """All choices of one Generate call (a chat turn, or a completion with no parsers): feeds
    responses, yields deltas, builds replies."""

    def __init__(
        self,
        setup: ModelSetup,
        sampling: dict[str, Any],
        info: ResponseInfo,
        *,
        prompt_ids: Sequence[int],
        thinking: bool,
        tools: ToolPolicy,
        stream: bool,
    ) -> None:
        self._new_choice = functools.partial(
            ChoiceState,
            setup,
            sampling,
            prompt_ids=prompt_ids,
            thinking=thinking,
            tools=tools,
        )
        self._choices: dict[int, ChoiceState] = {}
        self._stream = stream
        self._info = info
        self._prompt_tokens = len(prompt_ids)
        self._finished: dict[int, tuple[str | None, StopReason]] = {}
        """Per choice index: its finish reason and stop reason, once it has ended."""

    def on_response(self, response: Any) -> Iterator[ChatDelta]:
        """Deltas for one GenerateResponse (a chunk, or a complete that ends a choice)."""
        if response.HasField("chunk"):
            chunk = response.chunk
            self._prompt_tokens = chunk.prompt_tokens or self._prompt_tokens
            logprobs = chunk.output_logprobs if chunk.HasField("output_logprobs") else None
            yield from self._step(chunk.index, chunk.token_ids, logprobs)
            return
        complete = response.complete
        self._prompt_tokens = complete.prompt_tokens or self._prompt_tokens
        if not self._stream:  # the whole output arrives here, once
            logprobs = complete.output_logprobs if complete.HasField("output_logprobs") else None
            yield from self._step(complete.index, complete.output_ids, logprobs)
        yield from self._finish(complete.index, complete.finish_reason or None)

    def usage(self) -> Usage:
        choices = self._choices.values()
        completion = sum(choice.completion_tokens for choice in choices)
        reasoning = (
            sum(choice.reasoning_tokens for choice in choices)
            if any(choice.counts_reasoning for choice in choices)
            else None
        )
        prompt = self._prompt_tokens
        return Usage(prompt, completion, prompt + completion, reasoning_tokens=reasoning)

    def usage_delta(self) -> ChatDelta:
        return ChatDelta(usage=self.usage(), info=self._info)

    def replies(self, deltas: Sequence[ChatDelta]) -> list[ChatReply]:
        """Whole replies, one per choice, from every delta a non-streamed request gave."""
        usage = self.usage()
        replies = []
        for index in sorted(self._choices):
            mine = [d for d in deltas if d.index == index]
            logprobs = [e for d in mine for e in d.logprobs or ()]
            finish_reason, stop_reason = self._finished.get(index, (None, None))
            replies.append(
                ChatReply(
                    content="".join(d.content for d in mine),
                    reasoning="".join(d.reasoning for d in mine),
                    tool_calls=tuple(assemble_tool_calls(c for d in mine for c in d.tool_calls)),
                    finish_reason=finish_reason,
                    logprobs=logprobs if any(d.logprobs is not None for d in mine) else None,
                    usage=usage,
                    info=self._info,
                    token_ids=tuple(i for d in mine for i in d.token_ids),
                    stop_reason=stop_reason,
                )
            )
        return replies

    def _choice(self, index: int) -> ChoiceState:
        if index not in self._choices:
            self._choices[index] = self._new_choice()
        return self._choices[index]

    def _step(self, index: int, token_ids: Sequence[int], logprobs: Any) -> Iterator[ChatDelta]:
        choice = self._choice(index)
        reasoning, content, calls, entries = choice.step(token_ids, logprobs)
        if reasoning or content or calls or entries:
            yield ChatDelta(
                content=content,
                reasoning=reasoning,
                tool_calls=tuple(calls),
                logprobs=entries,
                index=index,
                info=self._info,
                token_ids=choice.take_token_ids(),
            )

    def _finish(self, index: int, engine_reason: str | None) -> Iterator[ChatDelta]:
        choice = self._choice(index)
        reasoning, content, calls = choice.finish()
        reason = choice.finish_reason(engine_reason)
        self._finished[index] = (reason, choice.stop_reason)
        yield ChatDelta(
            content=content,
            reasoning=reasoning,
            tool_calls=tuple(calls),
            finish_reason=reason,
            index=index,
            info=self._info,
            token_ids=choice.take_token_ids(),
            stop_reason=choice.stop_reason,
        )
