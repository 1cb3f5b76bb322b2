// Ends one loader of a run with 'completed', 'failed' or 'interrupted'.
// Parameters: $run_id, $loader, $status
MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})
SET l.status = $status, l.updated_at = datetime(), l.finished_at = datetime()
