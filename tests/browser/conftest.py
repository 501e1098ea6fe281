"""A real browser on the chat page: Debian's chromium, driven by Playwright for Python, on
pages served in this process (ChatPageServer) for the real vLLM test servers.

Playwright's own browser download is not reachable here, so the system's chromium runs with
the flags that keep it off the network it cannot reach. ``make test`` installs it when missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, sync_playwright

from tests.browser.recording import RecordingTransport
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing.raw_grpc import running_requests as grpc_running_requests
from vllm_integrations.ui import ChatPageServer

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
"""Where the run leaves its screenshots of the page (the README names this folder)."""
ENDLESS_TOKENS = 1900
"""Max tokens for a reply that ignores the end of sequence: seconds of decoding (about six
here), long enough to be stopped or photographed mid-stream."""


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless chromium with a fresh profile, for every browser test of the package.

    Started here and reached over CDP rather than launched by Playwright, which starts the
    browser in a session of its own: a scheduler autogroup of its own, where vLLM's busy engine
    loop (in this session's group) kept the browser off a two-core machine's CPU for seconds."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "the browser tests need Chromium as 'chromium' on PATH: apt-get install -y chromium "
            "(Debian's package; `make test` installs it when run as root)",
            pytrace=False,
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with (profile.parent / "chromium.log").open("wb") as log:
        chromium = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--window-size=1280,800",
                "about:blank",
            ],
            stdout=log,
            stderr=log,
            process_group=0,
        )
    try:
        port = _devtools_port(profile, chromium)
        with sync_playwright() as playwright:
            connected = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            yield connected.contexts[0]
            connected.close()
    finally:
        os.killpg(chromium.pid, signal.SIGTERM)
        try:
            chromium.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(chromium.pid, signal.SIGKILL)
            chromium.wait()


def _devtools_port(profile: Path, chromium: subprocess.Popen[bytes]) -> int:
    """The port chromium picked for its DevTools endpoint (it writes it into the profile)."""
    announced = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if chromium.poll() is not None:
            pytest.fail(f"chromium exited with {chromium.returncode}: see {profile.parent}")
        lines = announced.read_text().splitlines() if announced.exists() else []
        if lines and lines[0].isdigit():
            return int(lines[0])
        time.sleep(0.05)
    pytest.fail("chromium did not open its DevTools port within 30 s")


@dataclass(frozen=True)
class Pages:
    """The chat page for one vLLM test server, twice: as users get it (every request it sends
    recorded on its way to vLLM), and with replies that never end on their own."""

    transport: str
    vllm: str
    url: str
    sent: RecordingTransport
    endless_url: str


@pytest.fixture(scope="package", params=["http", "grpc"])
def pages(request: pytest.FixtureRequest) -> Iterator[Pages]:
    vllm = str(request.getfixturevalue(f"vllm_{request.param}_base_url"))
    chat = ChatVLLM(base_url=vllm)
    sent = RecordingTransport(chat.transport)
    endless = ChatVLLM(base_url=vllm, ignore_eos=True)
    with (
        ChatPageServer(chat.use_transport(sent)) as page,
        ChatPageServer(endless) as endless_page,
    ):
        yield Pages(request.param, vllm, page.url, sent, endless_page.url)


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A new tab; fails the test if the page ever opens a dialog (an injected alert)."""
    tab = browser.new_page()
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", record)
    yield tab
    if not tab.is_closed():
        tab.close()
    assert dialogs == [], "the page opened a dialog"


def running_requests(base_url: str) -> int:
    """How many requests vLLM is running: its gRPC GetLoads, or its HTTP server's gauge."""
    if base_url.startswith("grpc"):
        return grpc_running_requests(base_url)
    metrics = httpx.get(base_url.removesuffix("/v1") + "/metrics").text
    gauges = re.findall(r"^vllm:num_requests_running\{[^}]*\} (\S+)$", metrics, re.MULTILINE)
    assert gauges, "vLLM's metrics have no vllm:num_requests_running"
    return sum(int(float(value)) for value in gauges)


def wait_for_running(base_url: str, count: int, *, seconds: float) -> int:
    """The running count once it equals ``count``, or when ``seconds`` have passed (the
    server's statistics trail the engine by a step or so)."""
    deadline = time.monotonic() + seconds
    running = running_requests(base_url)
    while running != count and time.monotonic() < deadline:
        time.sleep(0.05)
        running = running_requests(base_url)
    return running
