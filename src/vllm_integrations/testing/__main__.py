"""``python -m vllm_integrations.testing``: build the scripted tiny model into the cache (or
into ``--out DIR``) and print its directory. Needs torch: run it with the server's Python."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vllm_integrations.testing import training
from vllm_integrations.testing.model import ensure_model


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the scripted tiny model.")
    parser.add_argument("--out", type=Path, help="empty directory to build into (default: cache)")
    args = parser.parse_args()
    if args.out is None:
        print(ensure_model())
        return
    args.out.mkdir(parents=True, exist_ok=True)
    training.build_model(args.out, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(args.out)


if __name__ == "__main__":
    main()
