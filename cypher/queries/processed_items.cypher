// Every processed item id of one loader of a run, a row each: ranges and chunks are expanded,
// failed items left out. Use it to export or compare what a run loaded; for a count alone,
// processed_count.cypher reads the records without expanding them.
// Parameters: $run_id, $loader
MATCH (p:ProcessedItem)
WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id IS NOT NULL
  AND coalesce(p.status, 'processed') = 'processed'
UNWIND CASE
    WHEN p:ProcessedChunk THEN p.item_ids
    WHEN p.last_item_id IS NOT NULL THEN range(p.item_id, p.last_item_id)
    ELSE [p.item_id]
  END AS item_id
RETURN item_id
