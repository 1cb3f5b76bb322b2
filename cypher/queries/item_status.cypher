// The recorded status of one item: 'processed', 'failed', or no row when never recorded.
// It is the record with the greatest item_id at or below the id, when that record is the
// item's own or a range reaching it, else the chunk at or below it, when the chunk lists it:
// two index seeks, whatever the size of the run. Run it yourself to ask "did run R load X?".
// Parameters: $run_id, $loader, $item_id
CYPHER replan=skip
CALL () {
  MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= $item_id
  WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
  WITH p WHERE p.item_id = $item_id OR (p.last_item_id >= $item_id AND NOT p:ProcessedChunk)
  RETURN p
  UNION
  MATCH (p:ProcessedChunk)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= $item_id
  WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
  WITH p WHERE $item_id IN p.item_ids
  RETURN p
}
RETURN coalesce(p.status, 'processed') AS status, p.attempts AS attempts, p.error AS error
LIMIT 1
