// The most recently failed items of a run, newest first, through the FailedItem index so the
// processed items are never touched.
// Parameters: $run_id, $limit (int)
MATCH (f:FailedItem)
WHERE f.run_id = $run_id
RETURN f.loader AS loader, f.item_id AS item_id, f.attempts AS attempts,
       f.error_type AS error_type, f.error AS error, f.updated_at AS updated_at
ORDER BY f.updated_at DESC, f.loader, f.item_id
LIMIT $limit
