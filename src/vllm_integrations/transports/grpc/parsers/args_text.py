"""``json.dumps`` text of a streamed call's arguments at one moment, kept as a view on text
that only grows: vLLM diffs each moment's text with the last one sent, and a view lets that
diff cost the new part's length instead of the whole text's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class GrowingText(Protocol):
    """Where the text lives: ``rendered`` is only ever appended to."""

    rendered: str


@dataclass(frozen=True, slots=True)
class ArgsText:
    """``json.dumps`` of a call's arguments at one moment: ``source.rendered[:cut] + tail``
    (``source`` None: ``tail`` is the whole text). The rendered text only grows, so a moment's
    text stays readable without copying it."""

    source: GrowingText | None
    cut: int
    tail: str
    truthy: bool

    def __len__(self) -> int:
        return self.cut + len(self.tail)

    def slice(self, start: int, end: int) -> str:
        head = self.source.rendered[start : min(end, self.cut)] if self.source else ""
        return head + self.tail[max(start - self.cut, 0) : max(end - self.cut, 0)]

    def text(self) -> str:
        return self.slice(0, len(self))


def common_prefix_length(older: ArgsText, newer: ArgsText) -> int:
    """Length of the common prefix: past the shared rendered text, only ``older``'s tail is
    compared, so the cost is that tail's length."""
    start = min(older.cut, newer.cut) if older.source is newer.source else 0
    rest = older.slice(start, len(older))
    other = newer.slice(start, start + len(rest))
    same = 0
    for a, b in zip(rest, other, strict=False):
        if a != b:
            break
        same += 1
    return start + same
