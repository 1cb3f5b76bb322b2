// Runs newest first, each with its per-loader progress summed over the counter shards, and the
// server's clock so staleness is judged without client clock skew. Reads loader and counter
// nodes only, never the processed items, so it stays cheap for runs of any size.
// $status matches the stored status, or 'stale' for a running run whose heartbeat is older
// than $stale_seconds; $loader keeps runs that have a loader of that name.
// running_participants: how many participants say they are running; with more than one,
// the run's own pid (the last to join) does not tell whether the run is still loading.
// $skip runs are passed over first (paging).
// Parameters: $status (str or null), $loader (str or null), $skip (int), $limit (int), $stale_seconds (int)
WITH datetime() AS now
MATCH (r:CheckpointRun)
WHERE $status IS NULL
   OR ($status = 'stale' AND r.status = 'running'
       AND r.updated_at < now - duration({seconds: $stale_seconds}))
   OR r.status = $status
WITH r, now
WHERE $loader IS NULL
   OR EXISTS { MATCH (l:CheckpointLoader) WHERE l.run_id = r.run_id AND l.loader = $loader }
WITH r, now
ORDER BY r.started_at DESC, r.run_id DESC
SKIP $skip
LIMIT $limit
CALL (r) {
  MATCH (l:CheckpointLoader)
  WHERE l.run_id = r.run_id AND l.loader IS NOT NULL
  OPTIONAL MATCH (c:CheckpointCounter)
  WHERE c.run_id = r.run_id AND c.loader = l.loader AND c.shard IS NOT NULL
  WITH l,
       coalesce(sum(c.processed), 0) AS processed,
       coalesce(sum(c.failed), 0) AS failed,
       coalesce(sum(c.skipped), 0) AS skipped,
       max(c.updated_at) AS last_batch_at
  ORDER BY l.started_at, l.loader
  RETURN collect({
    loader: l.loader, status: l.status, total: l.total,
    processed: processed, failed: failed, skipped: skipped,
    started_at: l.started_at, finished_at: l.finished_at,
    updated_at: CASE WHEN last_batch_at > l.updated_at THEN last_batch_at ELSE l.updated_at END
  }) AS loaders
}
RETURN r {.*, running_participants: COUNT {
  MATCH (p:CheckpointParticipant)
  WHERE p.run_id = r.run_id AND p.name IS NOT NULL AND p.status = 'running'
}} AS run, loaders, now
ORDER BY r.started_at DESC, r.run_id DESC
