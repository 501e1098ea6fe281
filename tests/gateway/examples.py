"""The README's gateway examples in other languages (curl, Node), run against the test gateway.

The README writes them for ``make serve``'s address; the suite runs them at the test gateway's.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.readme_examples import README

SERVE_URL = "http://127.0.0.1:30000/v1"
"""Where ``make serve`` listens: the address the README's examples use."""
NODE_CLIENT = Path(__file__).parent / "node"
"""The openai Node SDK, installed there from the committed lockfile by ``make install``."""


def block(language: str, marker: str) -> str:
    """The one README code block in ``language`` that contains ``marker``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
    found = [code for code in blocks if marker in code]
    assert len(found) == 1, f"{len(found)} {language} blocks of the README contain {marker!r}"
    return str(found[0])


def run_curl(command: str, base_url: str) -> str:
    """What the README's curl command prints when pointed at ``base_url``."""
    return _run(["bash", "-c", command.replace(SERVE_URL, base_url)], cwd=None)


def sse_events(raw: str) -> list[dict[str, Any]]:
    """The JSON events of a raw SSE stream, checked to be well framed: ``data:`` events
    separated by blank lines, ``data: [DONE]`` last."""
    events = [event for event in raw.split("\n\n") if event.strip()]
    assert all(event.startswith("data: ") and "\n" not in event for event in events), raw
    assert events[-1] == "data: [DONE]"
    return [json.loads(event.removeprefix("data: ")) for event in events[:-1]]


def run_node(code: str, base_url: str) -> str:
    """What the README's Node example prints when pointed at ``base_url``."""
    assert (NODE_CLIENT / "node_modules" / "openai").is_dir(), (
        "the openai Node SDK is missing: `make install` runs npm ci in tests/gateway/node"
    )
    script = code.replace(SERVE_URL, base_url)
    # An ES module read from stdin resolves `import "openai"` from its working directory.
    return _run(["node", "--input-type=module", "-"], cwd=NODE_CLIENT, stdin=script)


def _run(command: list[str], *, cwd: Path | None, stdin: str | None = None) -> str:
    result = subprocess.run(
        command, input=stdin, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
