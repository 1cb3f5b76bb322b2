// The incomplete run that manager.run(config=...) resumes: the one holding the config's open
// key or, for runs recorded before open keys existed, the newest incomplete run with exactly
// this config. Also the newest few other incomplete runs, so a changed config is reported.
// Parameters: $open_key, $config (JSON text or null)
OPTIONAL MATCH (keyed:CheckpointRun {open_key: $open_key})
WITH coalesce(keyed, COLLECT {
  MATCH (r:CheckpointRun)
  WHERE r.open_key IS NULL
    AND r.status IN ['running', 'interrupted', 'failed']
    AND coalesce(r.config, '') = coalesce($config, '')
  RETURN r
  ORDER BY r.started_at DESC
  LIMIT 1
}[0]) AS found
RETURN CASE WHEN found IS NULL THEN null ELSE found {.*} END AS run,
       COLLECT {
         MATCH (other:CheckpointRun)
         WHERE other.status IN ['running', 'interrupted', 'failed']
           AND coalesce(other.config, '') <> coalesce($config, '')
         RETURN other {.run_id, .config}
         ORDER BY other.started_at DESC
         LIMIT 5
       } AS others
