// Deletes up to $batch processed (and failed) records of a run; the caller repeats it, one
// transaction each, until it returns 0, so no transaction grows with the size of the run.
// Returns how many items the deleted records covered (a range its ids, a chunk its list).
// The WHERE form lets the (run_id, loader, item_id) constraint index serve a prefix seek.
// Parameters: $run_id, $batch (int)
MATCH (p:ProcessedItem)
WHERE p.run_id = $run_id AND p.loader IS NOT NULL AND p.item_id IS NOT NULL
WITH p LIMIT $batch
WITH p, CASE
    WHEN p:ProcessedChunk THEN size(p.item_ids)
    WHEN p.last_item_id IS NOT NULL THEN p.last_item_id - p.item_id + 1
    ELSE 1
  END AS covers
DELETE p
RETURN coalesce(sum(covers), 0) AS deleted
