// Per-loader progress of one run: reads one node per loader and a few counter shards,
// never the processed items themselves, so it is cheap for runs of any size.
// Parameters: $run_id
// The IS NOT NULL predicates let the composite uniqueness indexes serve these lookups.
MATCH (l:CheckpointLoader)
WHERE l.run_id = $run_id AND l.loader IS NOT NULL
OPTIONAL MATCH (c:CheckpointCounter)
WHERE c.run_id = $run_id AND c.loader = l.loader AND c.shard IS NOT NULL
WITH l,
     coalesce(sum(c.processed), 0) AS processed,
     coalesce(sum(c.failed), 0) AS failed,
     coalesce(sum(c.skipped), 0) AS skipped,
     max(c.updated_at) AS last_batch_at
RETURN l.loader AS loader, l.status AS status, l.total AS total,
       processed, failed, skipped,
       l.started_at AS started_at, l.finished_at AS finished_at,
       CASE WHEN last_batch_at > l.updated_at THEN last_batch_at ELSE l.updated_at END AS updated_at
ORDER BY l.started_at, l.loader
