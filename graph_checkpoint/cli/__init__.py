"""``graph-ckpt``: the command line over the checkpoint runs kept in Neo4j.

Every command takes the connection options ``--uri``, ``--username``, ``--password`` and
``--database`` (defaulting to ``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD`` and
``NEO4J_DATABASE``) and ``--debug``. Errors print one line on stderr and exit with 1 (2 for
usage errors); ``--debug`` shows the traceback instead. Listing commands take ``--json``;
the documents are described in ``docs/cli.md``. Run ids and statuses are never cut; piped,
``list`` prints one line per run. A running run whose process is gone (checked by pid on
this host) shows as stale, and ``show`` gives a run's active and wall time apart.

The modules: ``commands`` (the click group and its commands), ``connection`` (the
connection options and the lazy :class:`Connection`), ``options`` (durations, the run id,
statuses), ``render`` (human output) and ``shapes`` (the JSON documents).
"""

from __future__ import annotations

from .commands import main
from .connection import Connection, connection_options
from .options import parse_duration

__all__ = ["Connection", "connection_options", "main", "parse_duration"]
