// One run by id, with the server's clock so staleness is judged without client clock skew.
// Parameters: $run_id
MATCH (r:CheckpointRun {run_id: $run_id})
RETURN r {.*} AS run, datetime() AS now
