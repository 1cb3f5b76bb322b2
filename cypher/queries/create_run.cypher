// Creates a new run in status 'running'. The unique constraint on run_id makes a clash fail,
// and the caller then retries with a suffixed id. $open_key (null for a run named by its
// caller) makes it the run that manager.run() resumes for its config; if another run holds
// that key, the create fails on the open_key constraint (the caller then joins that run),
// unless $take_key, when the new run takes the key over (start_run: a new run on purpose).
// Parameters: $run_id, $description, $config (JSON), $open_key, $take_key, $host, $pid
CALL () {
  MATCH (holder:CheckpointRun {open_key: $open_key})
  WHERE $take_key
  REMOVE holder.open_key
}
CREATE (r:CheckpointRun {
  run_id: $run_id,
  status: 'running',
  description: $description,
  config: $config,
  open_key: $open_key,
  started_at: datetime(),
  updated_at: datetime(),
  resumed_at: datetime(),
  active_seconds: 0.0,
  host: $host,
  pid: $pid,
  resumes: 0
})
RETURN r {.*} AS run
