"""``python -m graph_checkpoint``: the same command line as ``graph-ckpt``."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main(prog_name="graph-ckpt")
