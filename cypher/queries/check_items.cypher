// Which of a batch's item ids this run and loader already recorded. Runs inside the batch's
// own write transaction, so a retried transaction never redoes work. Records cover ranges of
// int ids and chunks of str ids (see docs/graph-model.md), so the answer is in their terms:
// `ranges`, [first, last] of the processed records met (a str record: [id, id]); `in_chunks`,
// the asked ids a chunk lists; `failed`, [id, attempts] of failed records. The caller works
// out which ids they cover; a record met may also reach outside the batch.
// The batch's interval $lo..$hi is read with one range seek, plus the records just below it
// that may reach into it: for ids in input order (row numbers, serial keys, "p-000123") that
// is the whole lookup, however many ids. When the interval holds $cap records or more (ids
// scattered over the key space) each id of $ids is looked up instead: the record at or below
// it and the chunk that may list it, an index seek each. Sparse int ids pass $cap = 0.
// Parameters: $run_id, $loader, $ids (list of str or int), $lo, $hi (or null), $cap (int)
CYPHER replan=skip
CALL () {
  MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id >= $lo AND p.item_id <= $hi
  WITH p LIMIT $cap
  RETURN collect(p) AS inside
}
CALL () {
  MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id < $lo
  WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
  RETURN collect(p) AS below
}
CALL () {
  MATCH (p:ProcessedChunk)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id < $lo
  WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
  RETURN collect(p) AS chunk_below
}
CALL (inside) {
  UNWIND CASE WHEN size(inside) >= $cap THEN $ids ELSE [] END AS id
  CALL (id) {
    MATCH (p:ProcessedItem)
    WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= id
    WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
    RETURN p
    UNION ALL
    MATCH (p:ProcessedChunk)
    WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= id
    WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
    RETURN p
  }
  RETURN collect(p) AS scattered
}
UNWIND inside + below + chunk_below + scattered AS p
// A chunk met is read once, whatever the number of ids that led to it: its list against the
// asked ids ($ids is looked up as a set), not each id against its list.
WITH DISTINCT p
WITH collect(CASE WHEN p:ProcessedChunk THEN p END) AS chunks,
     collect(CASE
         WHEN NOT p:ProcessedChunk AND coalesce(p.status, 'processed') = 'processed'
           THEN [p.item_id, coalesce(p.last_item_id, p.item_id)]
       END) AS ranges,
     collect(CASE WHEN p.status = 'failed' THEN [p.item_id, p.attempts] END) AS failed
CALL (chunks) {
  UNWIND chunks AS chunk
  UNWIND chunk.item_ids AS id
  WITH id WHERE id IN $ids
  RETURN collect(id) AS in_chunks
}
RETURN ranges, in_chunks, failed
