// One page of a run's failed items, newest first, through the FailedItem index so the
// processed items are never read; $search (null: all) keeps items whose id, loader, error
// type or error message contains it, case-insensitively. `total` counts the matching items.
// Parameters: $run_id, $search (str or null), $skip (int), $limit (int)
MATCH (f:FailedItem)
WHERE f.run_id = $run_id
  AND ($search IS NULL
       OR toLower(toString(f.item_id)) CONTAINS toLower($search)
       OR toLower(f.loader) CONTAINS toLower($search)
       OR toLower(coalesce(f.error_type, '')) CONTAINS toLower($search)
       OR toLower(coalesce(f.error, '')) CONTAINS toLower($search))
WITH f ORDER BY f.updated_at DESC, f.loader, f.item_id
WITH collect(f) AS matching
RETURN size(matching) AS total,
       [f IN matching[$skip..($skip + $limit)] | {
         loader: f.loader, item_id: f.item_id, attempts: f.attempts,
         error_type: f.error_type, error: f.error, updated_at: f.updated_at
       }] AS items
