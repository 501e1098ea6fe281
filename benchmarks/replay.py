"""The one generation every replay server streams, and a way to run those servers.

Why: gRPC and HTTP costs per token compare only if both carry the same output. The output is
the tiny test model's long story (reasoning, ``</think>``, the answer, end of turn) as that
model's token IDs, which the gRPC replay sends; the HTTP replay sends the same IDs decoded one
by one, as vLLM's HTTP server streams them. Servers run as child processes, so the client's
``time.process_time()`` counts the client alone.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_core.messages import AIMessageChunk, BaseMessageChunk
from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

from vllm_integrations.testing import ensure_model, script

MODEL = "m"
PROMPT_TOKENS = 9
REASONING_PARSER = "qwen3"
THINK_END = "</think>"
END_OF_TURN = "<|im_end|>"
HERE = Path(__file__).parent
PACE_HELP = "0: send at line rate; N: one token every N microseconds, as a model sends them"


def replay_server_arguments(description: str | None) -> argparse.Namespace:
    """The command line both replay servers take: what to replay, how fast, on which port."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tokens", type=int, default=2000, help="generated tokens to replay")
    parser.add_argument("--model-dir", help="tiny model directory (default: the built cache)")
    parser.add_argument("--pace-us", type=int, default=0, help=PACE_HELP)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    return parser.parse_args()


@dataclass(frozen=True)
class Generation:
    """One recorded reply: its token IDs and, per token, the text delta HTTP streams for it."""

    token_ids: tuple[int, ...]
    """Every generated ID: reasoning, ``</think>``, the answer, and the end-of-turn token."""
    deltas: tuple[tuple[str, str], ...]
    """(``"reasoning"`` or ``"content"``, text) per visible token, in order."""
    eos_token_id: int

    @property
    def reasoning(self) -> str:
        return "".join(text for kind, text in self.deltas if kind == "reasoning")

    @property
    def content(self) -> str:
        return "".join(text for kind, text in self.deltas if kind == "content")


def model_dir(explicit: str | None = None) -> Path:
    """The tiny model's directory (tokenizer files): ``explicit``, else the built cache."""
    return Path(explicit) if explicit else ensure_model()


def recorded_generation(directory: Path, tokens: int) -> Generation:
    """``tokens`` generated tokens: half reasoning, half answer, both cut from the story."""
    if tokens < 4:
        raise ValueError("a reply needs at least 4 tokens (reasoning, </think>, answer, end)")
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    story = tokenizer.encode(script("long_story").content + " ", add_special_tokens=False).ids
    words = itertools.cycle(story)
    reasoning = list(itertools.islice(words, (tokens - 2) // 2))
    answer = list(itertools.islice(words, tokens - 2 - len(reasoning)))
    deltas: list[tuple[str, str]] = []
    for kind, ids in (("reasoning", reasoning), ("content", answer)):
        stream = DecodeStream(skip_special_tokens=True)
        pieces = (stream.step(tokenizer, token_id) for token_id in ids)
        deltas += [(kind, piece) for piece in pieces if piece]
    think_end, eos = _token_id(tokenizer, THINK_END), _token_id(tokenizer, END_OF_TURN)
    return Generation((*reasoning, think_end, *answer, eos), tuple(deltas), eos)


def _token_id(tokenizer: Tokenizer, text: str) -> int:
    token_id = tokenizer.token_to_id(text)
    if token_id is None:
        raise ValueError(f"the tokenizer has no {text!r} token")
    return token_id


@contextmanager
def replay_server(kind: str, tokens: int, directory: Path, pace_us: int = 0) -> Iterator[str]:
    """The ``"http"`` or ``"grpc"`` replay server in a child process; yields its base URL."""
    script = HERE / f"{'sse' if kind == 'http' else 'grpc'}_replay_server.py"
    cmd = [sys.executable, str(script), "--tokens", str(tokens), "--model-dir", str(directory)]
    cmd += ["--pace-us", str(pace_us)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith(f"{kind}://127.0.0.1:"):
            raise RuntimeError(f"{kind} replay server did not start (printed {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def whole_message(pieces: Sequence[BaseMessageChunk]) -> AIMessageChunk:
    """A streamed LangChain reply added up into one message, to check it against the reply."""
    chunks = [piece for piece in pieces if isinstance(piece, AIMessageChunk)]
    if not chunks:
        raise AssertionError("the stream gave no message chunk")
    return chunks[0] + chunks[1:] if len(chunks) > 1 else chunks[0]
