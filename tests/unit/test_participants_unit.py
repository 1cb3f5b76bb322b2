"""Participants without a server: names a process takes, and how a participant reads."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

from graph_checkpoint import ParticipantInfo, _process


def test_a_second_run_object_in_one_process_takes_part_under_its_own_name() -> None:
    base = f"{socket.gethostname()}:{os.getpid()}"
    first = _process.reserve_name("r-names")
    second = _process.reserve_name("r-names")
    other_run = _process.reserve_name("r-other")
    try:
        assert (first, second, other_run) == (base, f"{base}/2", base)
        _process.release_name("r-names", first)
        assert _process.reserve_name("r-names") == base  # given back, taken again
    finally:
        for run_id, name in (("r-names", first), ("r-names", second), ("r-other", other_run)):
            _process.release_name(run_id, name)


def test_a_participant_left_without_its_end_counts_as_gone_until_taken_again() -> None:
    _process.abandon("r-left", "shard-1")
    assert _process.abandoned("r-left") == ["shard-1"]
    _process.reclaim("r-left", "shard-1")
    assert _process.abandoned("r-left") == []


def test_a_running_participant_without_a_fresh_heartbeat_reads_as_stale() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    node = {"run_id": "r", "name": "shard-1", "status": "running", "updated_at": now}
    assert ParticipantInfo.from_record(node, now=now + timedelta(seconds=30)).live
    stale = ParticipantInfo.from_record(node, now=now + timedelta(seconds=61))
    assert (stale.state, stale.live) == ("stale", False)
    done = ParticipantInfo.from_record({**node, "status": "done"}, now=now + timedelta(hours=1))
    assert done.state == "done"


def test_a_pid_is_checked_only_on_its_own_host() -> None:
    assert _process.process_alive(socket.gethostname(), os.getpid()) is True
    assert _process.process_alive("another-host.example", os.getpid()) is None
    assert _process.process_alive("localhost", os.getpid()) is None
    assert _process.process_alive(socket.gethostname(), None) is None
