"""The pytest plugin stops its servers when a test run is terminated from outside."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

RUN = """
import time
from pathlib import Path

import pytest

@pytest.fixture(scope="session")
def server():
    yield
    Path({marker!r}).write_text("stopped")

def test_long(server):
    Path({started!r}).write_text("started")
    time.sleep(60)
"""


def test_sigterm_tears_session_fixtures_down(tmp_path: Path) -> None:
    marker, started = tmp_path / "stopped", tmp_path / "started"
    test_file = tmp_path / "test_run.py"
    source = RUN.format(marker=str(marker), started=str(started))
    test_file.write_text(source)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "vllm_integrations.testing",
            str(test_file),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=30)
    assert run.returncode == 2  # pytest's "interrupted"
    assert marker.read_text() == "stopped"
