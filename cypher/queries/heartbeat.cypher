// Keeps a running run's updated_at fresh, and the beating participant's with its counts, so
// a run (or participant) whose process died shows as stale. A participant another process
// took over since is left alone.
// Parameters: $run_id, $name, $host, $pid, $items, $failed
CYPHER replan=skip
MATCH (r:CheckpointRun {run_id: $run_id})
SET r.updated_at = CASE WHEN r.status = 'running' THEN datetime() ELSE r.updated_at END
WITH r
OPTIONAL MATCH (p:CheckpointParticipant {run_id: $run_id, name: $name})
WHERE p.host = $host AND p.pid = $pid AND p.status = 'running'
SET p.updated_at = datetime(),
    p.items = coalesce(p.items_base, 0) + $items,
    p.failed = coalesce(p.failed_base, 0) + $failed
