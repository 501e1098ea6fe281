"""The text and token-ID front end of the parser engine: tags found by token ID where the
tokenizer has them as single tokens, else by text, with a bounded holdback for a tag that may
still be completing.

A port of vLLM 0.32's ``vllm/parser/engine/{token_id_scanner,incremental_lexer}.py`` (Apache
2.0): the parsers must split exactly where vLLM's do, including where the detokenizer's text
and the token IDs disagree, and vLLM is no dependency of the client. Work per delta is
proportional to the delta plus the longest tag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

CONTENT = "__CONTENT__"
DROP = "__DROP__"


@dataclass(slots=True)
class Text:
    """Plain text between tags (``token_count`` is what vLLM counts toward reasoning)."""

    text: str
    token_texts: tuple[str, ...] = ()
    token_count: int = 0


@dataclass(slots=True)
class Tag:
    """A tag found by its token ID."""

    terminal: str
    token_id: int
    text: str


@dataclass(slots=True)
class Lexeme:
    terminal: str
    value: str
    token_count: int = 0


class LexerShape:
    """What the literal tags imply for lexing, computed once per tag set."""

    __slots__ = ("by_first", "first_chars", "literals", "prefixes")

    def __init__(self, literals: Mapping[str, str]) -> None:
        self.literals = dict(literals)  # literal text -> terminal name
        self.first_chars = frozenset(lit[0] for lit in self.literals if lit)
        self.prefixes = frozenset(lit[:i] for lit in self.literals for i in range(1, len(lit)))
        by_first: dict[str, list[tuple[str, str]]] = {}
        for lit, name in self.literals.items():
            by_first.setdefault(lit[0], []).append((lit, name))
        self.by_first = by_first


class IncrementalLexer:
    """Text to tags and content, holding back a suffix that may still become a tag."""

    def __init__(self, shape: LexerShape) -> None:
        self._shape = shape
        self.buffer = ""
        self._counts: list[int] = []

    def reset(self) -> None:
        self.buffer = ""
        self._counts = []

    def feed(self, text: str, token_texts: tuple[str, ...] = (), count: int = 0) -> list[Lexeme]:
        counts = _char_counts(text, token_texts, count)
        if not self.buffer and self._shape.first_chars.isdisjoint(text):
            return [Lexeme(CONTENT, text, sum(counts))]
        self.buffer += text
        self._counts.extend(counts)
        return self._drain(final=False)

    def flush(self) -> list[Lexeme]:
        lexemes = self._drain(final=True) if self.buffer else []
        if self.buffer:
            lexemes.append(Lexeme(CONTENT, self.buffer, sum(self._counts)))
            self.reset()
        return lexemes

    def _pop(self, length: int) -> int:
        count = sum(self._counts[:length])
        del self._counts[:length]
        return count

    def _take(self, terminal: str, length: int) -> Lexeme:
        lexeme = Lexeme(terminal, self.buffer[:length], self._pop(length))
        self.buffer = self.buffer[length:]
        return lexeme

    def _drain(self, *, final: bool) -> list[Lexeme]:
        shape = self._shape
        out: list[Lexeme] = []
        while self.buffer:
            if shape.first_chars.isdisjoint(self.buffer):
                out.append(self._take(CONTENT, len(self.buffer)))
                break
            candidates = shape.by_first.get(self.buffer[0], ())
            best = max(
                (lit for lit, _ in candidates if self.buffer.startswith(lit)), key=len, default=""
            )
            if self.buffer in shape.prefixes and not final:
                # A whole tag that is also the start of a longer one waits for the next delta.
                if best and not any(
                    len(lit) > len(best) and lit.startswith(self.buffer) for lit, _ in candidates
                ):
                    out.append(self._take(shape.literals[best], len(best)))
                    continue
                break
            if best:
                out.append(self._take(shape.literals[best], len(best)))
            else:
                out.append(self._take(CONTENT, self._content_end()))
        return out

    def _content_end(self) -> int:
        buffer, shape = self.buffer, self._shape
        for i in range(1, len(buffer)):
            if buffer[i] not in shape.first_chars:
                continue
            rest = buffer[i:]
            if any(lit.startswith(rest[: len(lit)]) for lit in shape.literals):
                return i
        return len(buffer) or 1


def _char_counts(text: str, token_texts: tuple[str, ...], count: int) -> list[int]:
    counts = [0] * len(text)
    if not text:
        return counts
    if token_texts:
        pos = assigned = 0
        for token_text in token_texts:
            found = text.find(token_text, pos) if token_text else -1
            if found < 0:
                continue
            counts[found] += 1
            assigned += 1
            pos = found + len(token_text)
        if count > assigned:
            counts[0] += count - assigned
    elif count:
        counts[0] = count
    return counts


Item = Text | Tag


class TokenIdScanner:
    """Splits a delta at the token IDs of tags; a tag whose text the detokenizer still holds
    back is deferred until its text arrives (vLLM's ``TokenIDScanner``)."""

    def __init__(self, terminals: Mapping[int, str], decode: Callable[[int], str]) -> None:
        self.terminals = terminals
        self._decode = decode
        self.reset()

    def reset(self) -> None:
        self.deferred: list[Tag] = []
        self._deferred_counts: list[int] = []
        self._trailing = 0
        self._post_text = ""

    def _texts(self, ids: Sequence[int]) -> tuple[str, ...]:
        return tuple(self._decode(i) for i in ids)

    def scan(self, text: str, ids: Sequence[int]) -> list[Item]:
        prefix: list[Item] = []
        trailing = 0
        if self.deferred:
            prefix, text, trailing = self._resolve(text, len(ids))
        if not any(i in self.terminals for i in ids):
            if text:
                texts = self._texts(ids)
                prefix.append(Text(text, texts, trailing + len(texts) if prefix else len(texts)))
            return prefix
        items: list[Item] = []
        pending: list[str] = []
        for token_id, token_text in zip(ids, self._texts(ids), strict=True):
            terminal = self.terminals.get(token_id)
            if terminal is None:
                pending.append(token_text)
                continue
            if pending and "".join(pending):
                items.append(Text("".join(pending), tuple(pending), len(pending)))
            pending = []
            items.append(Tag(terminal, token_id, token_text))
        if pending and "".join(pending):
            items.append(Text("".join(pending), tuple(pending), len(pending)))
        if trailing:
            items.insert(0, Text("", token_count=trailing))
        if text:
            return prefix + self._recover(text, items)
        count = 0  # no text to anchor on yet: defer the tags until it arrives
        for item in items:
            if isinstance(item, Text):
                count += item.token_count
            else:
                self.deferred.append(item)
                self._deferred_counts.append(count)
                count = 0
        self._trailing += count
        return prefix

    def flush(self) -> list[Item]:
        if not self.deferred and not self._post_text:
            return []
        items: list[Item] = []
        if self._post_text:
            count = self._deferred_counts[0] if self._deferred_counts else 0
            items.append(Text(self._post_text, token_count=count))
        items.extend(self.deferred)
        if self._trailing:
            items.append(Text("", token_count=self._trailing))
        self.reset()
        return items

    def _resolve(self, text: str, count_now: int) -> tuple[list[Item], str, int]:
        deferred, counts, trailing = self.deferred, self._deferred_counts, self._trailing
        self.deferred, self._deferred_counts, self._trailing = [], [], 0
        items: list[Item] = []
        rest = self._post_text + text
        self._post_text = ""
        for tag, count in zip(deferred, counts, strict=True):
            pos = rest.find(tag.text)
            if pos >= 0:
                if pos:
                    items.append(Text(rest[:pos], token_count=count))
                items.append(tag)
                rest = rest[pos + len(tag.text) :]
                continue
            if rest:  # wait for the tag's text: it is the only reliable split point
                self._post_text += rest
                count += count_now
                rest = ""
            self.deferred.append(tag)
            self._deferred_counts.append(count)
        if self.deferred:
            self._trailing, trailing = trailing, 0
        return items, rest, trailing

    def _recover(self, text: str, items: list[Item]) -> list[Item]:
        """Text the detokenizer released late (no ID in this delta) leads ``text``."""
        if not items:
            return [Text(text)]
        rebuilt = "".join(item.text for item in items)
        if not rebuilt:
            return [Text(text), *items]
        pos = text.find(rebuilt)
        if pos > 0:
            return [Text(text[:pos]), *items]
        if pos == 0:
            return items
        return self._rebuild(text, items)

    def _rebuild(self, text: str, items: list[Item]) -> list[Item]:
        """Context-dependent decoding differs from the text: re-split ``text`` at the tags,
        each bound to its rightmost occurrence before the next one."""
        anchors = [item for item in items if isinstance(item, Tag)]
        groups: list[list[str]] = [[] for _ in range(len(anchors) + 1)]
        counts = [0] * (len(anchors) + 1)
        group = 0
        for item in items:
            if isinstance(item, Tag):
                group += 1
            else:
                groups[group].extend(item.token_texts)
                counts[group] += item.token_count
        positions = [-1] * len(anchors)
        end = len(text)
        for i in range(len(anchors) - 1, -1, -1):
            pos = text.rfind(anchors[i].text, 0, end)
            if pos >= 0:
                positions[i] = end = pos
        out: list[Item] = []
        consumed = 0
        for i, anchor in enumerate(anchors):
            pos = positions[i]
            if pos >= consumed:
                if pos > consumed:
                    out.append(Text(text[consumed:pos], tuple(groups[i]), counts[i]))
                out.append(anchor)
                consumed = pos + len(anchor.text)
                continue
            later = any(p >= 0 for p in positions[i + 1 :])
            if not later and consumed < len(text) and anchor.terminal != DROP:
                self._post_text += text[consumed:]
                consumed = len(text)
            self.deferred.append(anchor)
            self._deferred_counts.append(counts[i])
        if consumed < len(text):
            out.append(Text(text[consumed:], tuple(groups[-1]), counts[-1]))
        return out
