// The newest run that did not complete, optionally only one whose config matches exactly.
// Parameters: $config (JSON text, or null for any config)
MATCH (r:CheckpointRun)
WHERE r.status IN ['running', 'interrupted', 'failed']
  AND ($config IS NULL OR r.config = $config)
RETURN r {.*} AS run
ORDER BY r.started_at DESC
LIMIT 1
