"""The dashboard's JSON API, /metrics and token, over HTTP against a real server.

The pages themselves are driven in a real browser in tests/test_dashboard_browser.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import neo4j
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytest.importorskip("starlette", reason="the [dashboard] extra is not installed")

from _dashboard import get, serve

from graph_checkpoint import CheckpointManager, checkpoint_loader
from graph_checkpoint.pytest_plugin import Neo4jServer


@checkpoint_loader("people", batch_size=10, item_id="id", progress=False)
def load_people(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["id"] % 7 == 0:
            raise ValueError(f"row {row['id']} is malformed")
    tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows).consume()


def people(n: int) -> list[dict[str, int]]:
    return [{"id": i} for i in range(1, n + 1)]


def api(base: str, path: str) -> Any:
    status, _, body = get(base + path)
    assert status == 200, body
    return json.loads(body)


def test_the_api_lists_runs_newest_first_with_their_loaders(manager: CheckpointManager) -> None:
    for source in ("a", "b"):
        with manager.run(description=f"import {source}", config={"source": source}) as run:
            load_people(run, people(30))
    with serve(manager) as base:
        doc = api(base, "/api/runs")
        assert [r["description"] for r in doc["runs"]] == ["import b", "import a"]
        newest = doc["runs"][0]
        assert (newest["processed"], newest["failed"], newest["display_status"]) == (
            26,
            4,
            "completed_with_failures",
        )
        [loader] = newest["loaders"]
        assert (loader["loader"], loader["total"], loader["eta_seconds"]) == ("people", 30, None)
        assert api(base, "/api/runs?status=failed")["runs"] == []
        assert api(base, "/api/runs?loader=nobody")["runs"] == []
        status, _, body = get(base + "/api/runs?status=bogus")
        assert status == 400 and b"unknown status" in body


def test_runs_are_paged(manager: CheckpointManager) -> None:
    for index in range(23):
        manager.start_run(run_id=f"run-{index:02}").complete()
    with serve(manager) as base:
        first, second = api(base, "/api/runs"), api(base, "/api/runs?page=2")
    assert (len(first["runs"]), first["has_more"]) == (20, True)
    assert (len(second["runs"]), second["has_more"]) == (3, False)
    ids = [r["run_id"] for r in first["runs"] + second["runs"]]
    assert sorted(ids) == [f"run-{i:02}" for i in range(23)] and len(set(ids)) == 23


def test_a_run_and_its_failures_paged_and_searched(manager: CheckpointManager) -> None:
    with manager.run(description="people", config={"source": "p"}) as run:
        load_people(run, people(400))  # 57 failures
    with serve(manager) as base:
        doc = api(base, f"/api/runs/{run.run_id}")
        assert doc["run"]["run_id"] == run.run_id and doc["run"]["failed"] == 57
        assert [p["state"] for p in doc["participants"]] == ["done"]
        assert "recent_failures" not in doc
        page1 = api(base, f"/api/runs/{run.run_id}/failures")
        page3 = api(base, f"/api/runs/{run.run_id}/failures?page=3")
        assert (page1["total"], len(page1["failures"]), len(page3["failures"])) == (57, 25, 7)
        assert page1["failures"][0]["error"].startswith("row ")
        found = api(base, f"/api/runs/{run.run_id}/failures?q=ROW%20343%20")
        assert [f["item_id"] for f in found["failures"]] == [343] and found["total"] == 1
        status, _, body = get(base + "/api/runs/no-such-run")
        assert status == 404 and b"no run with id" in body
        status, _, _ = get(base + "/api/runs/no-such-run/failures")
        assert status == 404


def test_metrics_parse_and_equal_the_graphs_counters(manager: CheckpointManager) -> None:
    with manager.run(description="people", config={"source": "m"}) as run:
        load_people(run, people(100))
    live = manager.run(run_id="live-one")
    load_people(live, people(20))
    with serve(manager) as base:
        status, headers, body = get(base + "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    [progress] = manager.progress(run.run_id)
    key = (("loader", "people"), ("run_id", run.run_id))
    assert samples[("graph_checkpoint_items_processed_total", key)] == progress.processed == 86
    assert samples[("graph_checkpoint_items_failed", key)] == progress.failed == 14
    assert samples[("graph_checkpoint_items_skipped_total", key)] == progress.skipped
    assert samples[("graph_checkpoint_items_expected", key)] == 100
    assert samples[("graph_checkpoint_up", ())] == 1
    state = (("run_id", run.run_id), ("status", "completed_with_failures"))
    assert samples[("graph_checkpoint_run_status", state)] == 1
    running = (("run_id", "live-one"), ("status", "running"))
    assert samples[("graph_checkpoint_run_status", running)] == 1
    assert samples[("graph_checkpoint_run_heartbeat_age_seconds", (("run_id", "live-one"),))] < 60
    live.complete()


def test_metrics_keep_labels_bounded(manager: CheckpointManager) -> None:
    for index in range(5):
        manager.start_run(run_id=f"old-{index}").complete()
    with serve(manager, finished_runs=2) as base:
        _, _, body = get(base + "/metrics")
    runs = {
        s.labels["run_id"]
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if "run_id" in s.labels
    }
    assert runs == {"old-4", "old-3"}


def test_with_a_token_every_request_must_carry_it(manager: CheckpointManager) -> None:
    with serve(manager, token="s3cret-token") as base:
        for path in ("/", "/runs/x", "/api/runs", "/metrics", "/static/runs.js"):
            status, headers, _ = get(base + path)
            assert status == 401, path
            assert headers["www-authenticate"] == "Bearer"
        assert get(base + "/api/runs", {"Authorization": "Bearer wrong"})[0] == 401
        assert get(base + "/api/runs", {"Authorization": "Bearer s3cret-token"})[0] == 200
        # A browser opens a link with the token once: a cookie, and the token leaves the URL.
        status, headers, _ = get(base + "/?status=failed&token=s3cret-token")
        assert status == 303 and headers["location"] == "/?status=failed"
        cookie = headers["set-cookie"].split(";")[0]
        assert (
            "HttpOnly" in headers["set-cookie"]
            and "samesite=strict" in headers["set-cookie"].lower()
        )
        assert get(base + "/api/runs", {"Cookie": cookie})[0] == 200


def test_pages_forbid_scripts_from_elsewhere(manager: CheckpointManager) -> None:
    with serve(manager) as base:
        status, headers, body = get(base + "/")
    assert status == 200 and b'<script src="/static/runs.js"' in body
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy


def test_serve_refuses_to_start_with_a_wrong_password(neo4j_server: Neo4jServer) -> None:
    env = {
        **os.environ,
        "NEO4J_URI": neo4j_server.uri,
        "NEO4J_USERNAME": neo4j_server.username,
        "NEO4J_PASSWORD": "not-the-password-3c1d",
    }
    done = subprocess.run(
        [sys.executable, "-m", "graph_checkpoint", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), done.stderr
    assert "not-the-password-3c1d" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
