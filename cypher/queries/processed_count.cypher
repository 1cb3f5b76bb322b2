// How many items one loader of a run has recorded as processed, counted from the records
// themselves (a range counts its ids, a chunk its list), not from the progress counters.
// Parameters: $run_id, $loader
MATCH (p:ProcessedItem)
WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id IS NOT NULL
  AND coalesce(p.status, 'processed') = 'processed'
RETURN coalesce(sum(CASE
    WHEN p:ProcessedChunk THEN size(p.item_ids)
    WHEN p.last_item_id IS NOT NULL THEN p.last_item_id - p.item_id + 1
    ELSE 1
  END), 0) AS processed, count(p) AS records
