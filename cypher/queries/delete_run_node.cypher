// Last step of deleting a run, once its items are gone: its counters, loaders, participants
// and the run node itself (a few nodes per loader and process, so one small transaction).
// Parameters: $run_id
CALL () {
  MATCH (c:CheckpointCounter)
  WHERE c.run_id = $run_id AND c.loader IS NOT NULL AND c.shard IS NOT NULL
  DELETE c
}
CALL () {
  MATCH (l:CheckpointLoader)
  WHERE l.run_id = $run_id AND l.loader IS NOT NULL
  DELETE l
}
CALL () {
  MATCH (p:CheckpointParticipant)
  WHERE p.run_id = $run_id AND p.name IS NOT NULL
  DELETE p
}
OPTIONAL MATCH (r:CheckpointRun {run_id: $run_id})
DELETE r
RETURN count(r) AS deleted
