"""What `python -m build` makes is what PyPI users expect: valid metadata, typed, with the data
files the package reads, and nothing of the tests."""

from __future__ import annotations

import re
import sys
import zipfile

from tests.packaging.conftest import Dist, run


def test_twine_and_check_wheel_contents_accept_the_dist(dist: Dist) -> None:
    run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.wheel), str(dist.sdist)],
        timeout=120,
    )
    run([sys.executable, "-m", "check_wheel_contents", str(dist.wheel)], timeout=120)


def test_the_wheel_carries_its_data_and_no_tests(dist: Dist) -> None:
    names = zipfile.ZipFile(dist.wheel).namelist()
    for needed in (
        "vllm_integrations/py.typed",
        "vllm_integrations/testing/chat_template.jinja",
        "vllm_integrations/testing/langchain_suite.json",
        "vllm_integrations/ui/static/index.html",
        "vllm_integrations/ui/static/chat.js",
        "vllm_integrations/ui/static/chat.css",
        "vllm_integrations/ui/static/vendor/eventsource-parser/stream.js",
        "vllm_integrations/ui/static/vendor/eventsource-parser/LICENSE",
    ):
        assert needed in names
    assert not [n for n in names if n.startswith(("tests/", "cookbook/", "benchmarks/"))]
    wheel = zipfile.ZipFile(dist.wheel)
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    groups = re.findall(r"^\[(.+)\]$", wheel.read(entry_points).decode(), re.MULTILINE)
    assert groups == ["console_scripts"], "no plugin registers itself; the one command does"
