// Marks a run as running again, in this process.
// A run being deleted is never resumed: the status test is part of the write, so a delete
// that starts between the caller's read and this write wins (no row comes back then).
// Active time: a run whose process died (running, heartbeat older than $stale_seconds) gets
// the time up to its last heartbeat added; a live run that another process joins keeps
// counting from when it was resumed.
// $adopt_key: the run takes it as its open key if it has none (a run recorded before open
// keys existed, resumed by manager.run()). $config: when not null, the run's stored config
// becomes this one (a resume forced past a config mismatch) and an open key it holds becomes
// $config_key; another incomplete run holding that key makes the write fail on the constraint.
// Parameters: $run_id, $host, $pid, $stale_seconds (int), $adopt_key, $config, $config_key
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE r.status <> 'deleting'
WITH r, datetime() AS now,
     r.status = 'running' AND r.updated_at >= datetime() - duration({seconds: $stale_seconds})
       AS live
SET r.active_seconds = coalesce(r.active_seconds, 0.0) + CASE
      WHEN live OR r.resumed_at IS NULL THEN 0.0
      ELSE (r.updated_at.epochMillis - r.resumed_at.epochMillis) / 1000.0
    END,
    r.resumed_at = CASE WHEN live AND r.resumed_at IS NOT NULL THEN r.resumed_at ELSE now END,
    r.status = 'running',
    r.updated_at = now,
    r.finished_at = null,
    r.error = null,
    r.host = $host,
    r.pid = $pid,
    r.resumes = coalesce(r.resumes, 0) + 1,
    r.config = coalesce($config, r.config),
    r.open_key = CASE
      WHEN $config IS NOT NULL AND r.open_key IS NOT NULL THEN $config_key
      ELSE coalesce(r.open_key, $adopt_key)
    END
RETURN r {.*} AS run
