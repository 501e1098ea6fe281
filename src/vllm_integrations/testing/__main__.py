"""``python -m vllm_integrations.testing``: build a scripted tiny model (``--model NAME``, by
default the first) into the cache (or into ``--out DIR``) and print its directory. Needs torch:
run it with the server's Python."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vllm_integrations.testing import training
from vllm_integrations.testing.model import ensure_model
from vllm_integrations.testing.variants import TINY, VARIANTS, variant


def main() -> None:
    parser = argparse.ArgumentParser(description="Build a scripted tiny model.")
    parser.add_argument("--model", default=TINY.name, choices=sorted(VARIANTS))
    parser.add_argument("--out", type=Path, help="empty directory to build into (default: cache)")
    parser.add_argument(
        "--weights", type=Path, help="with --out: the built model whose weights this one takes"
    )
    args = parser.parse_args()
    spec = variant(args.model)
    if args.out is None:
        print(ensure_model(spec=spec))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    training.build_model(args.out, spec, weights=args.weights, log=_progress)
    print(args.out)


def _progress(line: str) -> None:
    """A build's progress goes to stderr as it happens (a build takes minutes)."""
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
