"""How long the pytest plugin's Docker path takes: the local image's build, a session's container.

    python bench/container.py [--sessions 3] [--cold]

Prints, for the image ``scripts/neo4j image`` builds for GRAPH_CKPT_NEO4J_VERSION:

- with ``--cold``: the build from nothing (both of its images are removed first, so the
  base system is made again with debootstrap), then the build again, which must find
  everything up to date;
- per session, as the plugin runs it (``open_server`` with NEO4J_URI unset): the seconds until
  the server answers a query, and the seconds its removal takes.

Needs a running Docker daemon and, for ``--cold``, root and debootstrap.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import time
from pathlib import Path

from graph_checkpoint.pytest_plugin import open_server

ROOT = Path(__file__).resolve().parent.parent
VERSION = os.environ.get("GRAPH_CKPT_NEO4J_VERSION") or "5.26.30"


def _image_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("neo4j_image", ROOT / "scripts/neo4j_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build() -> tuple[str, float]:
    began = time.monotonic()
    out = subprocess.run(
        [str(ROOT / "scripts/neo4j"), "image"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip(), time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3, help="container sessions to time")
    parser.add_argument("--cold", action="store_true", help="time the image build from nothing")
    args = parser.parse_args()

    images = _image_module()
    if args.cold:
        java = 17 if VERSION.startswith("5.") else 21
        for image in (images.image_name(VERSION), images.base_name(java)):
            subprocess.run(["docker", "image", "rm", image], capture_output=True)
        image, cold = _build()
        print(f"cold build of {image} (base system included): {cold:.1f} s")
    image, cached = _build()
    print(f"build again, nothing to do: {cached:.2f} s")

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["GRAPH_CKPT_NEO4J_IMAGE"] = image
    starts, removals = [], []
    for _ in range(args.sessions):
        began = time.monotonic()
        with open_server(env) as server:
            assert server is not None and server.source == "docker"
            with server.driver() as driver:
                driver.execute_query("RETURN 1")
            starts.append(time.monotonic() - began)
            leaving = time.monotonic()
        removals.append(time.monotonic() - leaving)
    print(
        f"container of {image}, {args.sessions} sessions: answers a query after"
        f" {statistics.median(starts):.1f} s (median; {min(starts):.1f}-{max(starts):.1f}),"
        f" removed in {statistics.median(removals):.1f} s"
    )


if __name__ == "__main__":
    main()
