// One transaction of compaction, int ids: merges adjacent processed int records (ranges,
// singles, legacy per-item records) of one loader into ranges, for the records from $from
// on, at most $batch of them, in index order. The caller repeats it from the returned last
// id + 1 until fewer than $batch come back.
// It takes the loader lock first (a write to the loader node, which every writer of processed
// records starts with; compacted_at, so the loader's updated_at still tells its last batch),
// so a concurrent batch commit either commits before and is read here, or waits and then
// sees the compacted records. Each group of adjacent processed records keeps its
// lowest node, which becomes the range of the whole group; the others are deleted. The
// record just below $from joins the first group, so a range cut by the window's end goes on
// growing in the next transaction. Failed records are left as they are and end a group; a
// record left alone loses the legacy status/attempts/updated_at properties. The set of ids
// covered never changes, so a lookup between two of these transactions is still exact.
// No rows come back when the run is being deleted or has no such loader.
// Parameters: $run_id, $loader, $from (int), $batch (int)
CYPHER replan=skip
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE r.status <> 'deleting'
MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})
SET l.compacted_at = datetime()
WITH l
CALL (l) {
  MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id < $from
  WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
  RETURN collect(p) AS below
}
CALL (l) {
  MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id >= $from
  WITH p ORDER BY p.run_id, p.loader, p.item_id LIMIT $batch
  RETURN collect(p) AS window
}
WITH size(window) AS read, last(window).item_id AS last_id, below + window AS records
// A group starts at every record that does not extend the processed record before it.
WITH read, last_id, records, [i IN range(0, size(records) - 1) WHERE i = 0
  OR coalesce(records[i].status, 'processed') <> 'processed'
  OR coalesce(records[i - 1].status, 'processed') <> 'processed'
  OR records[i].item_id <> coalesce(records[i - 1].last_item_id, records[i - 1].item_id) + 1
] AS starts
CALL (records, starts) {
  UNWIND range(0, size(starts) - 1) AS k
  WITH records[starts[k]] AS keep,
       records[starts[k] + 1..coalesce(starts[k + 1], size(records))] AS merged
  // Records with nothing to merge or strip are not written at all.
  WHERE coalesce(keep.status, 'processed') = 'processed'
    AND (size(merged) > 0 OR keep.status IS NOT NULL)
  WITH keep, merged,
       CASE WHEN size(merged) = 0 THEN keep.last_item_id
         ELSE coalesce(last(merged).last_item_id, last(merged).item_id) END AS last_id
  FOREACH (gone IN merged | DELETE gone)
  SET keep.last_item_id = last_id
  REMOVE keep.status, keep.attempts, keep.updated_at
  RETURN sum(size(merged)) AS merged
}
RETURN read, merged, last_id
