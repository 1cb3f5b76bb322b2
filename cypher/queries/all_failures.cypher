// Every failed item of a run, unordered, streamed by the caller record by record.
// Parameters: $run_id
MATCH (f:FailedItem)
WHERE f.run_id = $run_id
RETURN f.loader AS loader, f.item_id AS item_id, f.attempts AS attempts,
       f.error_type AS error_type, f.error AS error, f.updated_at AS updated_at
