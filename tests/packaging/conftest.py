"""The package as users install it: an sdist and a wheel built once per session, and fresh
virtual environments with one extra each, installed from that wheel (never the source tree)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``python -m build`` of this checkout: what would be uploaded to PyPI."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], timeout=600)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dist(wheel, sdist)


@dataclass(frozen=True)
class Env:
    """A virtual environment outside the checkout, with the package from the wheel."""

    root: Path

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    def run(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
        """Run this environment's Python in ``cwd`` (never the checkout, whose ``src`` and
        ``tests`` must stay out of sight), return what it printed."""
        return run([self.python, *args], env=env, cwd=cwd or self.root, timeout=600)


EXTRAS = ("langchain", "llama-index", "grpc", "ui", "gateway", "testing")
"""Every extra the packaging tests install alone."""


@pytest.fixture(scope="session")
def fresh_env(
    dist: Dist, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Env]]:
    """A fresh environment with ``vllm-integrations[EXTRA]`` from the wheel, one per extra, all
    built side by side on first use: pip waits on the disk and the index as much as on the CPU."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        builds = {
            extra: pool.submit(_install, dist, extra, tmp_path_factory.mktemp(f"venv-{extra}"))
            for extra in EXTRAS
        }
        yield lambda extra: builds[extra].result()


def _install(dist: Dist, extra: str, root: Path) -> Env:
    venv.create(root, with_pip=True)
    env = Env(root)
    env.run(
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        f"{dist.wheel}[{extra}]",
    )
    return env


def run(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float,
) -> str:
    """Run ``command`` with a clean environment (no PYTHONPATH, no virtualenv of ours) and the
    given variables; its output on failure."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        command,
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
