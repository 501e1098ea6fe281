"""``vllm-integrations``: try a vLLM server from the terminal (``chat``) or a browser
(``chat-ui``), through ChatVLLM over any base URL the package speaks.

``chat`` writes the answer to stdout and the reasoning to stderr (dimmed on a terminal), so
``vllm-integrations chat "..." > answer.txt`` keeps just the answer. Exit codes: 0 done,
1 the server or the connection failed (its message on stderr), 2 bad arguments, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from vllm_integrations.errors import VLLMError

if TYPE_CHECKING:  # the ui extra is imported only when a command runs
    from vllm_integrations.langchain import ChatVLLM
    from vllm_integrations.ui.events import ChatTurnRequest

_DIM, _RESET = "\x1b[2m", "\x1b[0m"
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vllm-integrations", description="Chat with a vLLM server through ChatVLLM."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chat = commands.add_parser("chat", help="stream one reply to the terminal")
    chat.add_argument("prompt", metavar="PROMPT")
    _server_arguments(chat)
    chat.add_argument("--temperature", type=float, default=0.7, help="0 to 2 (default 0.7)")
    chat.add_argument("--max-tokens", type=int, default=None, help="default: the server's")
    chat.add_argument(
        "--no-thinking", dest="thinking", action="store_false", help="turn reasoning off"
    )
    page = commands.add_parser("chat-ui", help="serve a chat page in the browser")
    _server_arguments(page)
    page.add_argument("--host", default="127.0.0.1", help="address to listen on")
    page.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    return parser


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=None,
        help="http(s)://HOST:PORT/v1 or grpc(s)://HOST:PORT (default: $VLLM_BASE_URL, "
        "else http://localhost:8000/v1)",
    )
    parser.add_argument("--model", default=None, help="served model (default: the server's)")
    parser.add_argument("--api-key", default=None, help="default: $VLLM_API_KEY")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (VLLMError, OSError, ValueError) as error:  # a missing extra, the port, the server
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    from vllm_integrations.langchain import ChatVLLM
    from vllm_integrations.ui import serve
    from vllm_integrations.ui.events import ChatTurnRequest, Turn, validation_message

    given = {"base_url": args.base_url, "model": args.model, "api_key": args.api_key}
    try:  # unset options keep ChatVLLM's defaults (the environment's)
        chat = ChatVLLM(**{name: value for name, value in given.items() if value is not None})
        if args.command == "chat":
            request = ChatTurnRequest(
                messages=[Turn(role="user", content=args.prompt)],
                temperature=args.temperature,
                max_tokens=args.max_tokens,
                thinking=args.thinking,
            )
    except ValidationError as error:  # a setting out of range, a malformed base URL
        print(f"error: {validation_message(error)}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "chat-ui":  # an operator's terminal: the replies that failed, logged
        logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.WARNING)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a served page ends
            serve(chat, host=args.host, port=args.port)
        return 0
    return asyncio.run(_chat(chat, request, sys.stdout, sys.stderr))


async def _chat(chat: ChatVLLM, request: ChatTurnRequest, out: TextIO, err: TextIO) -> int:
    """Print one reply; 1 when it failed."""
    from vllm_integrations.ui.events import reply_events

    printer = ReplyPrinter(out, err)
    try:
        async for event in reply_events(chat, request):
            printer.event(event.name, event.data)
    finally:
        await chat.aclose()
    return EXIT_FAILED if printer.failed else 0


class ReplyPrinter:
    """Prints a reply's events as they arrive: reasoning to ``err`` (dimmed when it is a
    terminal), the answer to ``out``, an error's message to ``err``."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.dim = err.isatty()
        self.reasoning = False
        self.answer = False
        self.failed = False

    def event(self, name: str, data: dict[str, object]) -> None:
        if name == "reasoning":
            self._write(self.err, str(data["text"]), dim=self.dim)
            self.reasoning = True
        elif name == "content":
            if self.reasoning and not self.answer:
                self._write(self.err, "\n")  # the reasoning ends its line before the answer
            self._write(self.out, str(data["text"]))
            self.answer = True
        elif name == "error":
            self._end_lines()
            self._write(self.err, f"error: {data['message']}\n")
            self.failed = True
        elif name == "done" and not self.failed:
            self._end_lines()

    def _end_lines(self) -> None:
        if self.answer:
            self._write(self.out, "\n")
        elif self.reasoning:
            self._write(self.err, "\n")
        self.answer = self.reasoning = False

    @staticmethod
    def _write(stream: TextIO, text: str, *, dim: bool = False) -> None:
        stream.write(f"{_DIM}{text}{_RESET}" if dim else text)
        stream.flush()


if __name__ == "__main__":
    sys.exit(main())
