// Deletes up to $batch processed (and failed) items of a run; the caller repeats it, one
// transaction each, until it returns 0, so no transaction grows with the size of the run.
// The WHERE form lets the (run_id, loader, item_id) constraint index serve a prefix seek.
// Parameters: $run_id, $batch (int)
MATCH (p:ProcessedItem)
WHERE p.run_id = $run_id AND p.loader IS NOT NULL AND p.item_id IS NOT NULL
WITH p LIMIT $batch
DELETE p
RETURN count(*) AS deleted
