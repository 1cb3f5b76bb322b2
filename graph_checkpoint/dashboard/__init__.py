"""``graph-ckpt serve``: a read-only web dashboard and a Prometheus endpoint over the run nodes.

:func:`create_app` builds the ASGI app (Starlette) for a :class:`CheckpointManager`:

- ``/`` lists the runs, ``/runs/{run_id}`` shows one; both are static pages whose script
  reads the JSON API every few seconds and renders every string from the graph as text;
- ``/api/runs``, ``/api/runs/{run_id}``, ``/api/runs/{run_id}/failures``: the JSON API;
- ``/metrics``: the Prometheus text format, read from the graph at scrape time.

Every request reads run, loader, participant and counter nodes (and a run's failed items
for its failures page), never its processed items. Needs the ``[dashboard]`` extra
(``starlette``, ``uvicorn``, ``prometheus-client``). See docs/dashboard.md.
"""

from __future__ import annotations

from ._app import create_app

__all__ = ["create_app"]
