"""Client-side decoding for the token-only gRPC server: detokenization and stop handling.

The reference for every property is the plain one-shot ``Tokenizer.decode`` of the IDs (minus
the final EOS/stop token), cut at the stop string that ends earliest (ties: first listed).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from vllm_integrations.testing import SCRIPTS, STOP_WORD, script
from vllm_integrations.testing.tokenizer import IM_END, IM_START, build_tokenizer
from vllm_integrations.transports.grpc.decoding import (
    MAX_PENDING_TOKENS,
    IncrementalDetokenizer,
    StopStringMatcher,
    TokenDecoder,
)

SCRIPT_TEXTS = sorted({s.completion() for s in SCRIPTS} | {s.content for s in SCRIPTS})
UNICODE = script("unicode").content
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return build_tokenizer()


@pytest.fixture(scope="module")
def core(tokenizer: Any) -> Tokenizer:
    backend: Tokenizer = tokenizer.backend_tokenizer
    return backend


def encode(core: Tokenizer, text: str) -> list[int]:
    return list(core.encode(text, add_special_tokens=False).ids)


def token_id(core: Tokenizer, token: str) -> int:
    found = core.token_to_id(token)
    assert found is not None
    return found


def reference(text: str, stops: Sequence[str], include: bool) -> tuple[str, str | None]:
    """``text`` cut at the earliest-ending stop string, by brute force."""
    best: tuple[int, str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (best is None or at + len(stop) < best[0]):
            best = (at + len(stop), stop)
    if best is None:
        return text, None
    end, stop = best
    return text[: end if include else end - len(stop)], stop


def split(items: Sequence[int], cuts: set[int]) -> list[list[int]]:
    bounds = [0, *sorted(cuts), len(items)]
    return [list(items[a:b]) for a, b in pairwise(bounds)]


def stream(decoder: TokenDecoder, chunks: Sequence[Sequence[int]]) -> list[str]:
    return [decoder.step(chunk) for chunk in chunks] + [decoder.finish()]


@PROPERTY
@given(data=st.data())
def test_streamed_equals_one_shot_equals_reference(core: Tokenizer, data: st.DataObject) -> None:
    text = data.draw(st.one_of(st.sampled_from(SCRIPT_TEXTS), st.text(max_size=80)), "text")
    assume(IM_END not in text)  # the EOS token would end the text early
    ids = encode(core, text)
    skip = data.draw(st.booleans(), "skip_special_tokens")
    for _ in range(data.draw(st.integers(0, 3), "specials")):  # skipped, or shown as text
        ids.insert(data.draw(st.integers(0, len(ids))), token_id(core, IM_START))
    visible = core.decode(ids, skip_special_tokens=skip)
    stop = st.text(min_size=1, max_size=4)
    if visible:  # mostly substrings of the text, so that they match
        starts = st.integers(0, len(visible) - 1)
        substrings = starts.flatmap(
            lambda i: st.integers(i + 1, len(visible)).map(lambda j: visible[i:j])
        )
        stop = substrings | substrings | stop
    stops = data.draw(st.lists(stop, max_size=3), "stops")
    include = data.draw(st.booleans(), "include_stop_str_in_output")
    eos = token_id(core, IM_END)
    ids.append(eos)
    chunks = split(ids, data.draw(st.sets(st.integers(0, len(ids)), max_size=10), "cuts"))
    if include:  # vLLM decodes the final EOS too, then (skip_special_tokens) drops it
        visible = core.decode(ids, skip_special_tokens=skip)
    expected, matched = reference(visible, stops, include)
    event("ended by a stop string" if matched else "ended by EOS")

    def decoder(min_tokens: int = 0) -> TokenDecoder:
        return TokenDecoder(
            core,
            stop=stops,
            eos_token_ids=[eos],
            include_stop_str_in_output=include,
            skip_special_tokens=skip,
            min_tokens=min_tokens,
        )

    streamed = decoder()
    pieces = stream(streamed, chunks)
    assert "".join(pieces) == decoder().decode(ids) == expected
    min_tokens = data.draw(st.integers(0, len(ids)), "min_tokens")
    assert "".join(stream(decoder(min_tokens), chunks)) == decoder(min_tokens).decode(ids)
    assert streamed.stopped
    assert streamed.matched_stop == matched
    if "\ufffd" not in expected:
        assert not any("\ufffd" in piece for piece in pieces)
    if not include:
        assert IM_END not in "".join(pieces)


@PROPERTY
@given(data=st.data())
def test_any_token_ids_decode_like_tokenizer_decode(core: Tokenizer, data: st.DataObject) -> None:
    """Arbitrary IDs, even invalid UTF-8 or a character cut off at the end: ``finish`` writes
    out what never completed, as ``decode`` does."""
    ids = data.draw(st.lists(st.integers(0, core.get_vocab_size() - 1), max_size=60), "ids")
    skip = data.draw(st.booleans(), "skip_special_tokens")
    chunks = split(ids, data.draw(st.sets(st.integers(0, len(ids)), max_size=10), "cuts"))
    expected = core.decode(ids, skip_special_tokens=skip)
    decoder = TokenDecoder(core, skip_special_tokens=skip)
    assert "".join(stream(decoder, chunks)) == expected
    assert not decoder.stopped


def test_multibyte_characters_appear_once_and_whole(core: Tokenizer) -> None:
    ids = encode(core, UNICODE)
    detokenizer = IncrementalDetokenizer(core)
    pieces = [detokenizer.step([token_id]) for token_id in ids]
    assert "".join(pieces) + detokenizer.finish() == UNICODE
    assert "" in pieces  # some emoji take several tokens: nothing until the last one
    for char in "ç👋🌍✨世界":
        assert sum(char in piece for piece in pieces) == 1
    assert not any("\ufffd" in piece for piece in pieces)


def test_accepts_a_transformers_or_a_tokenizers_tokenizer(tokenizer: Any, core: Tokenizer) -> None:
    ids = encode(core, UNICODE)
    assert TokenDecoder(tokenizer).decode(ids) == TokenDecoder(core).decode(ids) == UNICODE
    with pytest.raises(TypeError):
        TokenDecoder(object())  # type: ignore[arg-type]


def test_eos_is_dropped_unless_ignore_eos(core: Tokenizer) -> None:
    eos = token_id(core, IM_END)
    ids = [*encode(core, "Hi"), eos, *encode(core, " more")]
    shown = TokenDecoder(core, eos_token_ids=[eos], skip_special_tokens=False)
    assert shown.decode(ids) == "Hi"
    assert shown.stopped
    assert shown.matched_stop is None  # as vLLM's stop_reason for EOS
    kept = TokenDecoder(core, eos_token_ids=[eos], ignore_eos=True, skip_special_tokens=False)
    assert kept.decode(ids) == f"Hi{IM_END} more"
    assert not kept.stopped
    skipped = TokenDecoder(core, eos_token_ids=[eos], ignore_eos=True)
    assert skipped.decode([token_id(core, IM_START), *ids]) == "Hi more"


def test_stop_token_ids_end_the_text_and_are_reported(core: Tokenizer) -> None:
    ids = encode(core, "<think>plan</think>answer</think>again")
    end_think = token_id(core, "</think>")
    decoder = TokenDecoder(core, stop_token_ids=[end_think])
    assert decoder.step(ids) == "<think>plan"
    assert decoder.stopped
    assert decoder.matched_stop == end_think
    assert decoder.step(encode(core, "ignored")) == decoder.finish() == ""
    included = TokenDecoder(core, stop_token_ids=[end_think], include_stop_str_in_output=True)
    assert included.decode(ids) == "<think>plan</think>"


def test_stop_token_releases_text_held_for_a_stop_string(core: Tokenizer) -> None:
    decoder = TokenDecoder(core, stop=["Paris!"], eos_token_ids=[token_id(core, IM_END)])
    assert decoder.step(encode(core, "In Par")) == "In "
    assert decoder.step([token_id(core, IM_END)]) == "Par"
    assert decoder.finish() == ""


def test_the_scripted_stop_word(core: Tokenizer) -> None:
    content = script("stop_word").content
    ids = encode(core, content)
    before = content[: content.index(STOP_WORD)]
    for include in (False, True):
        decoder = TokenDecoder(core, stop=[STOP_WORD], include_stop_str_in_output=include)
        pieces = stream(decoder, [[token_id] for token_id in ids])
        assert "".join(pieces) == before + (STOP_WORD if include else "")
        assert decoder.matched_stop == STOP_WORD


def test_no_stop_string_ends_within_min_tokens(core: Tokenizer) -> None:
    """vLLM's rule: a stop string counts only if it ends after the first ``min_tokens`` tokens."""
    content = script("stop_word").content
    ids = encode(core, content)
    ends_at = next(n for n in range(len(ids)) if STOP_WORD in core.decode(ids[: n + 1]))
    for min_tokens, expected in (
        (ends_at, content[: content.index(STOP_WORD)]),  # ends in token ends_at + 1: a stop
        (ends_at + 1, content),  # ends within the first min_tokens tokens: ignored
    ):
        decoder = TokenDecoder(core, stop=[STOP_WORD], min_tokens=min_tokens)
        assert "".join(stream(decoder, [[token_id] for token_id in ids])) == expected
        assert TokenDecoder(core, stop=[STOP_WORD], min_tokens=min_tokens).decode(ids) == expected


def test_prompt_context_does_not_leak_into_the_output(core: Tokenizer) -> None:
    prompt = encode(core, "Greet me in several languages.")
    ids = encode(core, UNICODE)
    assert TokenDecoder(core, prompt_token_ids=prompt).decode(ids) == UNICODE


class TestStopStringMatcher:
    def test_holds_back_a_possible_stop_and_releases_it_when_it_fails(self) -> None:
        matcher = StopStringMatcher(["Goodbye"])
        assert matcher.feed("Say Go") == ("Say ", False)
        assert matcher._held == "Go"
        assert matcher.feed("od") == ("", False)
        assert matcher.feed("ness") == ("Goodness", False)
        assert matcher.feed("! Goo") == ("! ", False)
        assert matcher.flush() == "Goo"

    def test_a_match_ends_the_stream(self) -> None:
        matcher = StopStringMatcher(["Goodbye"])
        assert matcher.feed("Well, Good") == ("Well, ", False)
        assert matcher.feed("bye! more") == ("", True)
        assert matcher.matched == "Goodbye"
        assert matcher.feed("later") == ("", True)
        assert matcher.flush() == ""

    def test_include_stop_str_in_output_holds_nothing_back(self) -> None:
        matcher = StopStringMatcher(["Goodbye"], include_stop_str_in_output=True)
        assert matcher.feed("Well, Good") == ("Well, Good", False)
        assert matcher.feed("bye! more") == ("bye", True)

    def test_the_stop_that_ends_first_wins(self) -> None:
        # "bcd" ends before "abcde" although "abcde" starts first.
        assert StopStringMatcher(["abcde", "bcd"]).feed("xabcdef") == ("xa", True)
        # The held "ab" turns out to start "bc", a stop found inside the held text.
        matcher = StopStringMatcher(["abz", "bc"])
        assert matcher.feed("ab") == ("", False)
        assert matcher.feed("c") == ("a", True)
        assert matcher.matched == "bc"

    def test_stops_ending_together_go_by_list_order(self) -> None:
        assert StopStringMatcher(["cd", "bcd"]).feed("abcd") == ("ab", True)
        assert StopStringMatcher(["bcd", "cd"]).feed("abcd") == ("a", True)

    def test_no_stops_pass_text_straight_through(self) -> None:
        matcher = StopStringMatcher([])
        assert matcher.feed("anything") == ("anything", False)
        assert matcher.flush() == ""

    def test_empty_stop_strings_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="empty"):
            StopStringMatcher(["ok", ""])

    @PROPERTY
    @given(
        text=st.text(alphabet="abc", max_size=40),
        stops=st.lists(st.text(alphabet="abc", min_size=1, max_size=4), min_size=1, max_size=4),
        cuts=st.sets(st.integers(0, 40), max_size=8),
        include=st.booleans(),
    )
    def test_any_feeding_matches_the_reference(
        self, text: str, stops: list[str], cuts: set[int], include: bool
    ) -> None:
        """A tiny alphabet, so stops overlap, nest and repeat a lot."""
        matcher = StopStringMatcher(stops, include_stop_str_in_output=include)
        bounds = [0, *sorted(c for c in cuts if c <= len(text)), len(text)]
        out = []
        for a, b in pairwise(bounds):
            out.append(matcher.feed(text[a:b])[0])
            assert len(matcher._held) < max(map(len, stops))
        out.append(matcher.flush())
        assert ("".join(out), matcher.matched) == reference(text, stops, include)


def long_stream(core: Tokenizer, tokens: int) -> list[int]:
    ids: list[int] = []
    while len(ids) < tokens:
        ids += encode(core, script("long_story").content + " " + UNICODE + " ")
    return ids[:tokens]


@pytest.mark.parametrize("tokens", [100, 10_000])
def test_work_per_token_is_flat(core: Tokenizer, tokens: int) -> None:
    """Count work, not time: the IDs each step re-decodes, the characters the matcher keeps and
    the automaton steps it takes stay bounded whatever the stream length."""
    stops = ["the river at midnight", "Pip said goodbye", "👋🌍✨!"]
    detokenizer = IncrementalDetokenizer(core)
    matcher = StopStringMatcher(stops)
    transitions = 0
    original = matcher._next

    def counting(node: int, char: str) -> int:
        nonlocal transitions
        transitions += 1
        return original(node, char)

    matcher._next = counting  # type: ignore[method-assign]
    windows, chars = [], 0
    for token_id in long_stream(core, tokens):
        text = detokenizer.step([token_id])
        windows.append(len(detokenizer._context) + len(detokenizer._pending))
        chars += len(text)
        assert matcher.feed(text)[1] is False
        assert len(matcher._held) < max(map(len, stops))
    assert max(windows) <= 8
    assert transitions == chars  # one automaton step per character, never a rescan
    assert not matcher.stopped


class _BrokenStream:
    """A DecodeStream that raises, as the real one does when the text before a token changes."""

    def __init__(self, message: str) -> None:
        self.message = message

    def step(self, tokenizer: Tokenizer, token_id: int) -> str | None:
        raise RuntimeError(self.message)


def test_an_invalid_prefix_restarts_the_stream(core: Tokenizer) -> None:
    ids = encode(core, UNICODE)
    detokenizer = IncrementalDetokenizer(core)
    head = detokenizer.step(ids[:5])
    detokenizer._stream = _BrokenStream("Invalid prefix encountered")  # type: ignore[assignment]
    assert head + detokenizer.step(ids[5:]) + detokenizer.finish() == UNICODE
    detokenizer._stream = _BrokenStream("something else")  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="something else"):
        detokenizer.step(ids)


def test_invalid_bytes_cannot_grow_the_window(core: Tokenizer) -> None:
    """A model emitting garbage bytes forever: held tokens are capped, written out as U+FFFD."""
    lone = next(i for i in range(core.get_vocab_size()) if core.decode([i, i]) == "\ufffd" * 2)
    ids = [lone] * 10_000
    detokenizer = IncrementalDetokenizer(core)
    out = []
    for token_id in ids:
        out.append(detokenizer.step([token_id]))
        assert len(detokenizer._context) + len(detokenizer._pending) <= MAX_PENDING_TOKENS
    assert "".join(out) + detokenizer.finish() == core.decode(ids)
