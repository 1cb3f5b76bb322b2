// Registers this process as a participant of a run, after the run was created or resumed.
// The run node is written first: it is the lock that joins and ends of participants take, so
// a participant that ends (and decides whether the run is complete) sees every join before
// it, and every join sees every end. A run that a participant ending a moment ago settled
// (completed, interrupted) runs again: this process is about to load into it.
// $name is the participant's own name (a Spark task, "shard-3"), or null: then the process
// takes the place of an anonymous participant of the same role that stopped without finishing
// (failed, interrupted, or running with a heartbeat older than $stale_seconds, or its pid gone:
// $dead), or else registers as $fresh. A named participant still live in another process is
// not taken: `busy` comes back true and nothing is written.
// Parameters: $run_id, $name, $fresh, $role ('participant' or 'coordinator'), $host, $pid, $stale_seconds (int), $dead (list of names)
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE r.status <> 'deleting'
SET r.updated_at = datetime()
WITH r, r.updated_at AS now
CALL (now) {
  OPTIONAL MATCH (old:CheckpointParticipant)
  WHERE $name IS NULL AND old.run_id = $run_id AND old.name IS NOT NULL
    AND old.anonymous AND old.role = $role
    AND (old.status IN ['failed', 'interrupted']
         OR (old.status = 'running'
             AND (old.updated_at < now - duration({seconds: $stale_seconds})
                  OR old.name IN $dead)))
  WITH old ORDER BY old.joined_at LIMIT 1
  RETURN old.name AS adopted
}
MERGE (p:CheckpointParticipant {run_id: $run_id, name: coalesce($name, adopted, $fresh)})
ON CREATE SET p.joined_at = now, p.anonymous = $name IS NULL, p.role = $role, p.joins = 0,
              p.items = 0, p.failed = 0
WITH r, p, now,
     p.status = 'running' AND p.joins > 0
       AND p.updated_at >= now - duration({seconds: $stale_seconds})
       AND NOT p.name IN $dead
       AND NOT (p.host = $host AND p.pid = $pid) AS busy
CALL (r, p, now, busy) {
  WITH * WHERE NOT busy
  SET p.status = 'running',
      p.role = $role,
      p.host = $host,
      p.pid = $pid,
      p.updated_at = now,
      p.finished_at = null,
      p.error = null,
      p.joins = p.joins + 1,
      p.items_base = coalesce(p.items, 0),
      p.failed_base = coalesce(p.failed, 0),
      r.status = 'running',
      r.finished_at = null,
      r.resumed_at = coalesce(r.resumed_at, now)
}
RETURN p {.*} AS participant, r {.*} AS run, busy, now
