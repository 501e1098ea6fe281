"""The command line without a vLLM server: how a reply is printed, exit codes for bad
arguments and an unreachable server, and that the README's commands parse. Against real
servers: tests/integration/test_cli_chat.py."""

from __future__ import annotations

import io
import re
import shlex
import socket

import pytest

from tests.readme_examples import README
from vllm_integrations.cli import ReplyPrinter, build_parser, main


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def printed(err: io.StringIO, events: list[tuple[str, dict[str, object]]]) -> tuple[str, str]:
    out = io.StringIO()
    printer = ReplyPrinter(out, err)
    for name, data in events:
        printer.event(name, data)
    return out.getvalue(), err.getvalue()


REPLY: list[tuple[str, dict[str, object]]] = [
    ("reasoning", {"text": "Paris, "}),
    ("reasoning", {"text": "of course."}),
    ("content", {"text": "It is "}),
    ("content", {"text": "Paris."}),
    ("usage", {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}),
    ("done", {"finish_reason": "stop", "time_to_first_token": 0.1, "elapsed": 0.2}),
]


def test_the_answer_goes_to_stdout_and_the_reasoning_to_stderr() -> None:
    out, err = printed(io.StringIO(), REPLY)
    assert out == "It is Paris.\n"
    assert err == "Paris, of course.\n"


def test_on_a_terminal_the_reasoning_is_dimmed() -> None:
    _, err = printed(Terminal(), REPLY)
    assert err == "\x1b[2mParis, \x1b[0m\x1b[2mof course.\x1b[0m\n"


def test_an_error_mid_reply_ends_the_answer_line_and_is_printed() -> None:
    broken: list[tuple[str, dict[str, object]]] = [("error", {"message": "the connection broke"})]
    events = [*REPLY[:3], *broken, REPLY[-1]]
    out, err = printed(io.StringIO(), events)
    assert out == "It is \n"
    assert err.endswith("error: the connection broke\n")


def test_an_unreachable_server_exits_1_with_its_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["chat", "Hi", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m"])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["chat", "Hi", "--temperature", "3"], "temperature"),
        (["chat", "Hi", "--max-tokens", "0"], "max_tokens"),
        (["chat", "Hi", "--base-url", "ftp://example.invalid"], "base_url"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert problem in capsys.readouterr().err


def test_a_port_in_use_exits_1_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["chat-ui", "--port", str(port), "--base-url", "http://x.invalid/v1"]) == 1
    assert f"cannot serve the chat page on 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_readme_commands_parse() -> None:
    lines = re.findall(r"^vllm-integrations (.+)$", README.read_text(), re.MULTILINE)
    commands = [_arguments(line) for line in lines]
    assert {"chat", "chat-ui"} <= {arguments[0] for arguments in commands}
    for arguments in commands:
        build_parser().parse_args(arguments)


def _arguments(line: str) -> list[str]:
    """The command's own arguments: up to a comment or a redirection."""
    words = shlex.split(line, comments=True)
    return words[: words.index(">")] if ">" in words else words
