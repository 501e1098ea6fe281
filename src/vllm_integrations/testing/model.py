"""Build a scripted tiny model once, and cache it by a hash of everything that shapes it.

Training needs torch, which lives in the vLLM server's environment, so a build runs there as
``python -m vllm_integrations.testing --model NAME --out DIR``. The cache sits outside git.
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
from vllm_integrations.testing.script import fingerprint_data
from vllm_integrations.testing.spec import ModelSpec
from vllm_integrations.testing.variants import TINY

_COMPLETE_MARKER = "BUILD_COMPLETE"


def fingerprint(spec: ModelSpec = TINY) -> str:
    """Hash of the scripts, template, tokenizer and training settings: a change rebuilds.
    A variant's differences from the first model, and the model whose weights it takes, count
    too; the first model's hash is what it was before there were variants."""
    data: dict[str, object] = {
        "scripts": fingerprint_data(spec.scripts, spec.completion),
        "template": spec.chat_template(),
        "tokenizer": [spec.tokenizer.vocab_size, spec.tokenizer.split],
        "training": spec.training.settings(),
    }
    first = TINY.description()
    variant = {k: v for k, v in spec.description().items() if first[k] != v}
    if variant:
        data["variant"] = variant
    if spec.weights_from is not None:
        data["weights"] = fingerprint(spec.weights_from)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def model_dir(spec: ModelSpec = TINY) -> Path:
    """Where the model for the current scripts lives (or will, once built)."""
    return cache_root() / f"{spec.name}-{fingerprint(spec)[:16]}"


def ensure_model(python: str | None = None, spec: ModelSpec = TINY) -> Path:
    """The cached model directory, built first if needed with ``python`` (torch required).
    Concurrent callers (parallel test sessions) wait for one build instead of each training."""
    target = model_dir(spec)
    if (target / _COMPLETE_MARKER).exists():
        return target
    weights = ensure_model(python, spec.weights_from) if spec.weights_from else None
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / _COMPLETE_MARKER).exists():
            _build(spec, target, python, weights)
    return target


def _build(spec: ModelSpec, target: Path, python: str | None, weights: Path | None) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
    try:
        interpreter = python or os.environ.get("VLLM_SERVER_PYTHON") or sys.executable
        command = [interpreter, "-m", "vllm_integrations.testing", "--model", spec.name]
        command += ["--out", str(staging)]
        if weights is not None:
            command += ["--weights", str(weights)]
        # The build's progress goes to stderr as it happens (a build takes minutes).
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"building the tiny model failed ({' '.join(command)}): see its output above"
            )
        (staging / _COMPLETE_MARKER).write_text(fingerprint(spec))
        try:
            staging.rename(target)
        except OSError:  # a builder outside the lock (an older version) finished first
            if not (target / _COMPLETE_MARKER).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
