// One run by id, with the server's clock so staleness is judged without client clock skew.
// running_participants: how many participants say they are running; with more than one,
// the run's own pid (the last to join) does not tell whether the run is still loading.
// Parameters: $run_id
MATCH (r:CheckpointRun {run_id: $run_id})
RETURN r {.*, running_participants: COUNT {
  MATCH (p:CheckpointParticipant)
  WHERE p.run_id = r.run_id AND p.name IS NOT NULL AND p.status = 'running'
}} AS run, datetime() AS now
