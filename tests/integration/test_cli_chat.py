"""The ``vllm-integrations`` console script, as installed, against real vLLM over HTTP and gRPC:
``chat`` streams the scripted reply (on a pipe and on a terminal) and fails with exit code 1 and
the server's message; ``chat-ui`` serves the page and stops on Ctrl-C."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from vllm_integrations.testing import script

CLI = str(Path(sys.executable).parent / "vllm-integrations")
CAPITAL = script("capital")
QUESTION = str(CAPITAL.messages[-1]["content"])


def chat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "chat", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_chat_prints_the_answer_and_the_reasoning_apart(base_url: str) -> None:
    done = chat(QUESTION, "--base-url", base_url, "--temperature", "0")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{CAPITAL.content}\n"
    assert done.stderr == f"{CAPITAL.reasoning}\n"


def test_chat_without_thinking(base_url: str) -> None:
    plain = script("capital_no_thinking")
    done = chat(QUESTION, "--base-url", base_url, "--temperature", "0", "--no-thinking")
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == (f"{plain.content}\n", "")


def test_on_a_terminal_the_reasoning_is_dimmed(base_url: str) -> None:
    terminal, child_side = pty.openpty()
    try:
        done = subprocess.run(
            [CLI, "chat", QUESTION, "--base-url", base_url, "--temperature", "0"],
            stdout=subprocess.PIPE,
            stderr=child_side,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(child_side)
        shown = _read_all(terminal)
    finally:
        os.close(terminal)
    assert done.returncode == 0
    assert done.stdout == f"{CAPITAL.content}\n"
    assert "\x1b[2m" in shown
    assert shown.replace("\x1b[2m", "").replace("\x1b[0m", "").strip() == CAPITAL.reasoning


def _read_all(terminal: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the other side is closed: everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_chat_fails_with_exit_code_1_and_the_servers_message(base_url: str) -> None:
    done = chat("Hi", "--base-url", base_url, "--model", "no-such-model")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: ")
    assert "no-such-model" in done.stderr


def test_chat_ui_serves_the_page_until_ctrl_c(base_url: str) -> None:
    server = subprocess.Popen(
        [CLI, "chat-ui", "--base-url", base_url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first_line = server.stdout.readline()
        assert first_line.startswith("Chat page: http://127.0.0.1:"), first_line
        url = first_line.split()[2]
        with httpx.Client(base_url=url, timeout=60) as page:
            assert "<title>vLLM chat</title>" in page.get("/").text
            body = {"messages": [{"role": "user", "content": QUESTION}], "temperature": 0}
            with connect_sse(page, "POST", "/chat", json=body) as events:
                answer = "".join(
                    event.json()["text"] for event in events.iter_sse() if event.event == "content"
                )
        assert answer == CAPITAL.content
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
