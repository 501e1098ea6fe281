"""What `python -m build` makes is what PyPI users expect: valid metadata, typed, with the data
files the package reads, and nothing of the tests."""

from __future__ import annotations

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
    ):
        assert needed in names
    assert not [n for n in names if n.startswith(("tests/", "cookbook/", "benchmarks/"))]
    assert not [n for n in names if n.endswith("entry_points.txt")], "no plugin registers itself"
