// Every run with what cleanup needs to choose: its loader names, its item count (from the
// counter shards, so the items themselves are not read) and the server's clock.
// running_participants: how many participants say they are running; with more than one,
// the run's own pid (the last to join) does not tell whether the run is still loading.
// Parameters: none
WITH datetime() AS now
MATCH (r:CheckpointRun)
CALL (r) {
  OPTIONAL MATCH (l:CheckpointLoader)
  WHERE l.run_id = r.run_id AND l.loader IS NOT NULL
  RETURN collect(l.loader) AS loaders
}
CALL (r) {
  OPTIONAL MATCH (c:CheckpointCounter)
  WHERE c.run_id = r.run_id AND c.loader IS NOT NULL AND c.shard IS NOT NULL
  RETURN coalesce(sum(c.processed), 0) + coalesce(sum(c.failed), 0) AS items
}
RETURN r {.*, running_participants: COUNT {
  MATCH (p:CheckpointParticipant)
  WHERE p.run_id = r.run_id AND p.name IS NOT NULL AND p.status = 'running'
}} AS run, loaders, items, now
ORDER BY r.started_at DESC, r.run_id DESC
