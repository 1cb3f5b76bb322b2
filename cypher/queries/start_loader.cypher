// Registers (or re-opens, on resume) one loader of a run. total stays as known if not given.
// Parameters: $run_id, $loader, $total (int or null)
CYPHER replan=skip
MERGE (l:CheckpointLoader {run_id: $run_id, loader: $loader})
ON CREATE SET l.started_at = datetime()
SET l.status = 'running',
    l.updated_at = datetime(),
    l.finished_at = null,
    l.total = coalesce($total, l.total)
