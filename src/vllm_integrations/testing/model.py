"""Build the scripted tiny model once, and cache it by a hash of everything that shapes it.

Training needs torch, which lives in the vLLM server's environment, so a build runs there as
``python -m vllm_integrations.testing --out DIR``. The cache sits outside git.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vllm_integrations.settings import cache_root
from vllm_integrations.testing import training
from vllm_integrations.testing.script import fingerprint_data
from vllm_integrations.testing.tokenizer import QWEN2_SPLIT, VOCAB_SIZE, chat_template

_COMPLETE_MARKER = "BUILD_COMPLETE"


def fingerprint() -> str:
    """Hash of the scripts, template, tokenizer and training settings: a change rebuilds."""
    settings = {
        name: getattr(training, name)
        for name in dir(training)
        if name.isupper() and isinstance(getattr(training, name), int | float)
    }
    data = {
        "scripts": fingerprint_data(),
        "template": chat_template(),
        "tokenizer": [VOCAB_SIZE, QWEN2_SPLIT],
        "training": settings,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def model_dir() -> Path:
    """Where the model for the current scripts lives (or will, once built)."""
    return cache_root() / f"tiny-model-{fingerprint()[:16]}"


def ensure_model(python: str | None = None) -> Path:
    """The cached model directory, built first if needed with ``python`` (torch required).
    Concurrent callers (parallel test sessions) wait for one build instead of each training."""
    target = model_dir()
    if (target / _COMPLETE_MARKER).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / _COMPLETE_MARKER).exists():
            _build(target, python)
    return target


def _build(target: Path, python: str | None) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
    try:
        interpreter = python or os.environ.get("VLLM_SERVER_PYTHON") or sys.executable
        command = [interpreter, "-m", "vllm_integrations.testing", "--out", str(staging)]
        # The build's progress goes to stderr as it happens (a build takes minutes).
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"building the tiny model failed ({' '.join(command)}): see its output above"
            )
        (staging / _COMPLETE_MARKER).write_text(fingerprint())
        try:
            staging.rename(target)
        except OSError:  # a builder outside the lock (an older version) finished first
            if not (target / _COMPLETE_MARKER).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
