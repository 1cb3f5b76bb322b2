// The recorded status of one item: 'processed', 'failed', or no row when never seen.
// Parameters: $run_id, $loader, $item_id
MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
RETURN p.status AS status, p.attempts AS attempts, p.error AS error
