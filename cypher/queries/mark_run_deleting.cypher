// First step of deleting a run: its status becomes 'deleting', so no process resumes it
// (find_incomplete_run skips it) while its items go, and an interrupted delete shows in
// 'graph-ckpt list' and is finished by deleting the run again. It gives up its open key, so
// manager.run() starts a new run for its config.
// The status test sits in the write itself, so a load that resumed the run between the
// caller's check and this write is not pulled out from under it (no row comes back then).
// Parameters: $run_id, $force (bool), $stale_seconds (int)
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE $force OR r.status <> 'running'
   OR r.updated_at < datetime() - duration({seconds: $stale_seconds})
SET r.status = 'deleting', r.updated_at = datetime(), r.open_key = null
RETURN r {.*} AS run
