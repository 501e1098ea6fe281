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
from dataclasses import dataclass, field
from typing import Any

from vllm_integrations.transports.grpc.decoding import TokenDecoder
from vllm_integrations.transports.grpc.logprob_tokens import LogprobTokens
from vllm_integrations.transports.grpc.parsers import (
    ComposedParser,
    HarmonyParser,
    ParsedDelta,
    RequestFacts,
    compose,
    skip_special_tokens,
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

    request: RequestFacts = field(default_factory=RequestFacts)
    """The tools, tool_choice and template switches the parsers read, as vLLM's do."""
    single_call: bool = False
    """parallel_tool_calls=False: vLLM keeps the first call only."""
    named: bool = False
    """tool_choice named a tool: the finish reason stays "stop" (OpenAI's rule, kept by vLLM)."""


class ReasoningCounter:
    """Counts reasoning tokens as vLLM does: each token before the reasoning ends, the end tag
    excluded. A step (a whole non-streamed reply is one) may hold the end and more, so this
    feeds a parser of its own token by token, and only while the reasoning lasts."""

    def __init__(self, decoder: TokenDecoder, parser: ComposedParser | HarmonyParser) -> None:
        self._decoder = decoder
        self._parser = parser
        self._ended = False

    def count(self, token_ids: Sequence[int]) -> int:
        counted = 0
        for token_id in token_ids:
            if self._ended or not self._parser.in_reasoning:
                self._ended = True
                break
            self._parser.feed(self._decoder.step((token_id,)), (token_id,))
            counted += self._parser.in_reasoning
        return counted


class ChoiceState:
    """Decoding and parsing state of one choice (one ``index``) of a chat reply.

    Streamed, each chunk's text and token IDs go to the parser as one delta (vLLM's
    ``parse_delta``); not streamed, the whole text is parsed at the end (vLLM's ``parse``):
    vLLM's two paths do not always agree, and each must match its own."""

    def __init__(
        self,
        setup: ModelSetup,
        sampling: dict[str, Any],
        *,
        prompt_ids: Sequence[int],
        tools: ToolPolicy,
        stream: bool = True,
    ) -> None:
        names = (setup.reasoning_parser, setup.tool_call_parser)
        requested = sampling.get("skip_special_tokens", True)
        skip = skip_special_tokens(*names, tools.request, requested)
        decoder = functools.partial(
            TokenDecoder,
            setup.tokenizer,
            stop=sampling.get("stop") or (),
            stop_token_ids=sampling.get("stop_token_ids") or (),
            eos_token_ids=setup.eos_token_ids,
            ignore_eos=bool(sampling.get("ignore_eos")),
            include_stop_str_in_output=bool(sampling.get("include_stop_str_in_output")),
            skip_special_tokens=skip,
            prompt_token_ids=prompt_ids,
            min_tokens=sampling.get("min_tokens") or 0,
        )
        self._decoder = decoder()
        parser = functools.partial(compose, *names, setup.tokenizer, tools.request, prompt_ids)
        self._parser: ComposedParser | HarmonyParser | None = parser() if any(names) else None
        self._counter = (
            ReasoningCounter(decoder(), parser()) if setup.reasoning_parser is not None else None
        )
        self._counts_reasoning = setup.reasoning_parser is not None
        self._stream = stream
        self._text: list[str] = []  # not streamed: the whole output, parsed at the end
        self._ids: list[int] = []
        self._tool_policy = tools
        self.completion_tokens = 0
        self.reasoning_tokens = 0
        self.called_tools = False
        self._unreported_ids: list[int] = []
        self._logprobs = LogprobTokens(setup.tokenizer)

    def step(
        self, token_ids: Sequence[int], logprobs: Any = None
    ) -> tuple[str, str, list[ToolCallDelta], list[LogprobEntry] | None]:
        self.completion_tokens += len(token_ids)
        self._unreported_ids.extend(token_ids)
        entries = self._logprobs.entries(logprobs) if logprobs is not None else None
        if self._counter is not None:
            self.reasoning_tokens += self._counter.count(token_ids)
        delta = self._feed(self._decoder.step(token_ids), token_ids)
        return delta.reasoning, delta.content, self._kept(delta.tool_calls), entries

    def _feed(self, text: str, token_ids: Sequence[int]) -> ParsedDelta:
        if self._parser is None:
            return ParsedDelta(content=text)
        if not self._stream:
            self._text.append(text)
            self._ids.extend(token_ids)
            return ParsedDelta()
        return self._parser.feed(text, token_ids)

    def take_token_ids(self) -> tuple[int, ...]:
        """The token IDs stepped since the last call: each is reported once, with the first
        delta after it (a token may add no text yet: part of a character, a parser's tag)."""
        taken, self._unreported_ids = tuple(self._unreported_ids), []
        return taken

    @property
    def counts_reasoning(self) -> bool:
        return self._counts_reasoning

    def finish(self) -> tuple[str, str, list[ToolCallDelta]]:
        tail = self._decoder.finish()
        if self._parser is None:
            delta = ParsedDelta(content=tail)
        elif not self._stream:
            delta = self._parser.parse("".join(self._text) + tail, self._ids)
        else:
            delta = self._parser.feed(tail, ()) if tail else ParsedDelta()
            delta.add(self._parser.finish())
        calls = self._kept(delta.tool_calls)
        return delta.reasoning, delta.content, calls

    def finish_reason(self, engine_reason: str | None) -> str | None:
        reason = "stop" if self._decoder.stopped else engine_reason
        if reason == "stop" and self.called_tools and not self._tool_policy.named:
            return "tool_calls"
        return reason

    @property
    def stop_reason(self) -> StopReason:
        """The stop string or stop token ID that ended the choice (vLLM's ``stop_reason``)."""
        return self._decoder.matched_stop

    def _kept(self, calls: list[ToolCallDelta]) -> list[ToolCallDelta]:
        """vLLM keeps only the first call with parallel_tool_calls=False."""
        if self._tool_policy.single_call:
            calls = [c for c in calls if c.index == 0]
        self.called_tools = self.called_tools or bool(calls)
        return calls


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
        tools: ToolPolicy,
        stream: bool,
    ) -> None:
        self._new_choice = functools.partial(
            ChoiceState, setup, sampling, prompt_ids=prompt_ids, tools=tools, stream=stream
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

    def flush_unfinished(self) -> list[ChatDelta]:
        """What the choices that never finished hold back (text that could still have become a
        stop string, a parser's undecided tail), for a reply that ended without finishing them:
        nothing the server sent is lost."""
        deltas = []
        for index, choice in sorted(self._choices.items()):
            if index in self._finished:
                continue
            reasoning, content, calls = choice.finish()
            self._finished[index] = (None, None)
            deltas.append(
                ChatDelta(
                    content=content,
                    reasoning=reasoning,
                    tool_calls=tuple(calls),
                    index=index,
                    info=self._info,
                    token_ids=choice.take_token_ids(),
                )
            )
        return deltas

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
