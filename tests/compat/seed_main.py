"""The ported seed ``main.py`` as a process, for the kill-and-resume test.

Run as ``python seed_main.py --personen N --zalen M [--delay S] [main.py's options]``; the
connection comes from NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD (and NEO4J_DATABASE). The
fake TK API holds the same people and rooms in every process, so a resumed process sees the
input of the one that was killed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import neo4j

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compat import fake_tkapi, seed_port


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--personen", type=int, required=True)
    parser.add_argument("--zalen", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per lazy API fetch")
    parser.add_argument("--debug-dir", type=Path, help="where load_personen writes its debug file")
    ours, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    fake_tkapi.DELAY = ours.delay
    if ours.debug_dir is not None:
        seed_port.DEBUG_DIR = ours.debug_dir
    fake_tkapi.make_dataset(ours.personen, ours.zalen)
    auth = (os.environ["NEO4J_USERNAME"], os.environ["NEO4J_PASSWORD"])
    with neo4j.GraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth) as driver:
        return seed_port.main(rest, driver, os.environ.get("NEO4J_DATABASE") or None)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
