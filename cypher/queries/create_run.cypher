// Creates a new run in status 'running'. The unique constraint on run_id makes a clash fail,
// and the caller then retries with a suffixed id.
// Parameters: $run_id, $description, $config (JSON text), $host, $pid
CREATE (r:CheckpointRun {
  run_id: $run_id,
  status: 'running',
  description: $description,
  config: $config,
  started_at: datetime(),
  updated_at: datetime(),
  host: $host,
  pid: $pid,
  resumes: 0
})
RETURN r {.*} AS run
