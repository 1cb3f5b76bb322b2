// Ends this process's part in a run, and settles the run's status. The run node is written
// first (the lock joins and ends take), so of two participants ending at once the second
// sees the first one's end.
// $status is this participant's: 'completed' (it went through its input: stored as 'done'),
// 'failed' or 'interrupted'. How the run ends:
// - a coordinator ($coordinator) knows when the input is exhausted: the run takes its status,
//   and while a coordinator is live, participants' ends leave the run running;
// - otherwise, while another participant is live (running, heartbeat fresher than
//   $stale_seconds, pid not in $dead) the run keeps running;
// - when none is, the run is completed if every participant is done, else failed if one
//   failed, else interrupted: a participant that died leaves the run resumable.
// A run already completed or being deleted keeps its status. A completed run with items still
// recorded as failed ends 'completed_with_failures' and gives up its open key; the time since
// it was resumed is added to its active time; its loaders still running end like it.
// Parameters: $run_id, $name, $host, $pid, $status, $error, $items, $failed, $coordinator, $stale_seconds (int), $dead (list of names)
MATCH (r:CheckpointRun {run_id: $run_id})
SET r.updated_at = datetime()
WITH r, r.updated_at AS now
CALL (now) {
  OPTIONAL MATCH (me:CheckpointParticipant {run_id: $run_id, name: $name})
  WHERE me.host = $host AND me.pid = $pid AND me.status = 'running'
  SET me.status = CASE $status WHEN 'completed' THEN 'done' ELSE $status END,
      me.error = $error,
      me.updated_at = now,
      me.finished_at = now,
      me.items = coalesce(me.items_base, 0) + $items,
      me.failed = coalesce(me.failed_base, 0) + $failed
  RETURN count(me) AS ended
}
WITH r, now, COLLECT {
  MATCH (p:CheckpointParticipant)
  WHERE p.run_id = $run_id AND p.name IS NOT NULL
  RETURN {name: p.name, role: p.role, state: CASE
    WHEN p.status = 'running' AND p.updated_at >= now - duration({seconds: $stale_seconds})
         AND NOT p.name IN $dead THEN 'live'
    WHEN p.status = 'running' THEN 'stale'
    ELSE p.status
  END}
} AS parts
WITH r, now,
     [part IN parts WHERE part.role = 'participant' AND part.state = 'live' | part.name] AS live,
     [part IN parts WHERE part.role = 'participant' AND part.state <> 'done' | part] AS unfinished,
     any(part IN parts WHERE part.role = 'coordinator' AND part.state = 'live') AS coordinated
WITH r, now, live, unfinished, CASE
  WHEN r.status IN ['completed', 'completed_with_failures', 'deleting'] THEN null
  WHEN $coordinator THEN $status
  WHEN coordinated OR size(live) > 0 THEN null
  WHEN size(unfinished) = 0 THEN 'completed'
  WHEN any(part IN unfinished WHERE part.state = 'failed') THEN 'failed'
  ELSE 'interrupted'
END AS settled
CALL (r, now, unfinished, settled) {
  WITH * WHERE settled IS NOT NULL
  WITH r, now, unfinished, settled, COLLECT {
    MATCH (c:CheckpointCounter)
    WHERE c.run_id = $run_id AND c.loader IS NOT NULL AND c.shard IS NOT NULL
    RETURN c.failed
  } AS failed
  WITH r, now, unfinished, CASE
    WHEN settled = 'completed' AND reduce(total = 0, n IN failed | total + n) > 0
      THEN 'completed_with_failures'
    ELSE settled
  END AS status
  SET r.status = status,
      r.error = CASE
        WHEN status STARTS WITH 'completed' THEN null
        WHEN $error IS NOT NULL AND (status = $status OR size(unfinished) <= 1) THEN $error
        ELSE 'participants that did not finish: '
             + reduce(names = '', part IN unfinished
                      | names + CASE WHEN names = '' THEN '' ELSE ', ' END
                        + part.name + ' (' + part.state + ')')
      END,
      r.finished_at = now,
      r.active_seconds = coalesce(r.active_seconds, 0.0) + CASE
        WHEN r.resumed_at IS NULL THEN 0.0
        ELSE (now.epochMillis - r.resumed_at.epochMillis) / 1000.0
      END,
      r.resumed_at = null,
      r.open_key = CASE WHEN status STARTS WITH 'completed' THEN null ELSE r.open_key END
  WITH r, now, status
  OPTIONAL MATCH (l:CheckpointLoader {run_id: $run_id})
  WHERE l.status = 'running'
  SET l.status = status, l.updated_at = now, l.finished_at = now
}
RETURN r {.*} AS run, live
