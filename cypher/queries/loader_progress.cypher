// Per-loader progress of one run: reads one node per loader and a few counter shards,
// never the processed items themselves, so it is cheap for runs of any size.
// Parameters: $run_id
MATCH (l:CheckpointLoader {run_id: $run_id})
OPTIONAL MATCH (c:CheckpointCounter {run_id: $run_id, loader: l.loader})
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
