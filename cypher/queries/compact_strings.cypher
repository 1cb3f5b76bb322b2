// One transaction of compaction, str ids: packs processed per-item str records (singles and
// legacy records) into chunks of at most $chunk_ids sorted ids, for the records after $after,
// at most $batch of them, in index order. The caller repeats it from the returned last id
// until it says done.
// It takes the loader lock first (a write to the loader node, which every writer of processed
// records starts with; compacted_at, so the loader's updated_at still tells its last batch),
// so a concurrent batch commit either commits before and is read here, or waits and then
// sees the compacted records. Chunk intervals must never overlap: every chunk whose
// interval meets the span of the ids packed here (the chunk reaching over $after included)
// is merged in and deleted, and the union is cut into new chunks; because chunks are
// disjoint, that union holds no other chunk. To keep a transaction under about
// ($max_chunks + 1) * $chunk_ids + $batch ids, the window is cut short before the
// ($max_chunks + 1)-th chunk that follows its first single. Failed records stay as they are
// (they may lie inside a chunk's interval). The set of ids covered never changes, so a
// lookup between two of these transactions is still exact.
// No rows come back when the run is being deleted or has no such loader.
// Parameters: $run_id, $loader, $after (str), $batch (int), $chunk_ids (int), $max_chunks (int)
CYPHER replan=skip
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE r.status <> 'deleting'
MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})
SET l.compacted_at = datetime()
WITH l
CALL (l) {
  MATCH (c:ProcessedChunk)
  WHERE c.run_id = $run_id AND c.loader = $loader AND c.item_id <= $after
  WITH c ORDER BY c.run_id DESC, c.loader DESC, c.item_id DESC LIMIT 1
  RETURN collect(c) AS below
}
CALL (l) {
  MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id > $after
  WITH p ORDER BY p.run_id, p.loader, p.item_id LIMIT $batch
  RETURN collect(p) AS window
}
WITH below, window, size(window) AS fetched,
     [i IN range(0, size(window) - 1) WHERE 'ProcessedChunk' IN labels(window[i])] AS chunks_at,
     [i IN range(0, size(window) - 1) WHERE NOT 'ProcessedChunk' IN labels(window[i])
        AND coalesce(window[i].status, 'processed') = 'processed'] AS singles_at
WITH below, window, fetched, chunks_at, singles_at,
     [i IN chunks_at WHERE i > singles_at[0]] AS chunks_after_first
WITH below, window, fetched, chunks_at, singles_at, CASE
       WHEN size(chunks_after_first) > $max_chunks THEN chunks_after_first[$max_chunks]
       ELSE size(window)
     END AS cut
WITH fetched, cut, window[cut - 1].item_id AS last_id,
     [i IN singles_at WHERE i < cut | window[i]] AS singles,
     below + [i IN chunks_at WHERE i < cut | window[i]] AS candidates
WITH fetched, cut, last_id, singles, candidates,
     singles[0].item_id AS lo, last(singles).item_id AS hi
WITH fetched, cut, last_id, singles,
     [c IN candidates WHERE c.item_id <= hi AND c.last_item_id >= lo] AS chunks
CALL (singles, chunks) {
  UNWIND [s IN singles | s.item_id] + reduce(ids = [], c IN chunks | ids + c.item_ids) AS id
  WITH DISTINCT id
  ORDER BY id
  RETURN collect(id) AS ids
}
FOREACH (gone IN singles + chunks | DELETE gone)
WITH fetched, cut, last_id, singles, chunks, ids
CALL (ids, last_id) {
  // range(0, -1, step) is [0], not []: the WHERE keeps an empty list from making a chunk.
  UNWIND range(0, size(ids) - 1, $chunk_ids) AS i
  WITH ids[i..i + $chunk_ids] AS part
  WHERE size(part) > 0
  CREATE (:ProcessedItem:ProcessedChunk {run_id: $run_id, loader: $loader, item_id: part[0],
                                         last_item_id: last(part), item_ids: part})
  RETURN count(*) AS written, count(CASE WHEN part[0] > last_id THEN 1 END) AS ahead
}
// `ahead`: chunks written here that start past last_id (a merged chunk reached further), so
// the next window reads them again; the caller does not count them twice.
RETURN cut AS read, cut < fetched OR fetched = $batch AS more, last_id,
       size(singles) AS packed, size(chunks) AS replaced, written, ahead
