// Which of a batch's item ids this run and loader already recorded, with status and attempts.
// Runs inside the batch's own write transaction, so a retried transaction never redoes work.
// Parameters: $run_id, $loader, $ids (list of str or int)
UNWIND $ids AS id
MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
RETURN p.item_id AS id, p.status AS status, p.attempts AS attempts
