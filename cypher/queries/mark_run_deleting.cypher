// First step of deleting a run: its status becomes 'deleting', so no process resumes it
// (find_incomplete_run skips it) while its items go, and an interrupted delete shows in
// 'graph-ckpt list' and is finished by deleting the run again.
// Parameters: $run_id
MATCH (r:CheckpointRun {run_id: $run_id})
SET r.status = 'deleting', r.updated_at = datetime()
RETURN r {.*} AS run
