// The participants of a run: every process (or Spark task) that joined it, oldest first,
// with the server's clock so a stopped heartbeat is judged without client clock skew.
// Parameters: $run_id
MATCH (p:CheckpointParticipant)
WHERE p.run_id = $run_id AND p.name IS NOT NULL
RETURN p {.*} AS participant, datetime() AS now
ORDER BY p.joined_at, p.name
