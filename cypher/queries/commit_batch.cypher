// Records a batch's items as processed and moves the progress counters, in the transaction
// that wrote the batch's data. One query per batch, and records per batch, not per item:
// - $ranges, runs of consecutive int ids [first, last]: each becomes ONE record covering the
//   run, or extends the record it touches (a sequential load ends as a single node);
// - $strs, the str ids, sorted: ONE chunk record listing them when no other record lies in
//   their interval (the usual case for ids in input order), else a record per id.
// Ids in $retried had failed before: their failed records are removed first, and they are
// recorded like the others. Nothing is written when an id is already recorded by another
// transaction: `conflict` comes back true and the caller rolls the whole batch back (and tries
// again after a fresh check); `singles` counts the str ids that got a record each (compaction
// packs them later). The loader node is written first: it is the lock every writer of
// a loader's records takes, so two transactions never record overlapping ids, whatever their
// form; it is held only from here to the commit.
// Parameters: $run_id, $loader, $shard, $ranges (list of [int, int]), $strs (list of str), $retried (list), $count (int), $skipped (int)
CYPHER replan=skip
MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})
SET l.updated_at = datetime()
WITH l.updated_at AS now
CALL () {
  UNWIND $retried AS id
  MATCH (f:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
  WHERE f.status = 'failed'
  DELETE f
  RETURN count(*) AS fixed
}
// An int run overlaps a record iff the record with the greatest start at or below its last
// id reaches its first id (records never overlap each other): one index seek per run.
CALL () {
  UNWIND $ranges AS r
  CALL (r) {
    MATCH (p:ProcessedItem)
    WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= r[1]
    WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
    RETURN coalesce(p.last_item_id, p.item_id) >= r[0] AS overlaps
  }
  WITH overlaps WHERE overlaps
  RETURN count(*) AS int_conflicts
}
// The str ids go in one chunk if nothing is recorded between the first and the last and no
// chunk reaches into that interval from below; then none of them can be recorded already.
CALL () {
  OPTIONAL MATCH (p:ProcessedItem)
  WHERE p.run_id = $run_id AND p.loader = $loader
    AND p.item_id >= $strs[0] AND p.item_id <= $strs[-1]
  WITH p LIMIT 1
  RETURN p IS NOT NULL AS occupied
}
CALL () {
  OPTIONAL MATCH (c:ProcessedChunk)
  WHERE c.run_id = $run_id AND c.loader = $loader AND c.item_id < $strs[0]
  WITH c ORDER BY c.run_id DESC, c.loader DESC, c.item_id DESC LIMIT 1
  RETURN coalesce(c.last_item_id >= $strs[0], false) AS straddled
}
WITH now, fixed, int_conflicts, size($strs) > 1 AND NOT occupied AND NOT straddled AS as_chunk
// Otherwise each str id is looked up: its own record, or a chunk that may list it (each such
// chunk read once, its list against $strs, not each id against its list).
CALL (as_chunk) {
  UNWIND CASE WHEN as_chunk THEN [] ELSE $strs END AS id
  OPTIONAL MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
  CALL (id) {
    OPTIONAL MATCH (c:ProcessedChunk)
    WHERE c.run_id = $run_id AND c.loader = $loader AND c.item_id <= id
    WITH c ORDER BY c.run_id DESC, c.loader DESC, c.item_id DESC LIMIT 1
    RETURN c
  }
  WITH count(p) AS own, collect(DISTINCT c) AS chunks
  RETURN own + size([chunk IN chunks WHERE any(x IN chunk.item_ids WHERE x IN $strs)])
    AS str_conflicts
}
WITH now, fixed, as_chunk, int_conflicts + str_conflicts = 0 AS clear
CALL (clear) {
  WITH clear WHERE clear
  UNWIND $ranges AS r
  // The record ending just before the run is extended, else a new one starts. A record
  // starting just after it is absorbed too when the batch is one run (the usual case), so
  // batches committed out of order still end as one record. With several runs it is left
  // for compaction: the rows of one clause may not see each other's writes, and a record
  // between two runs could be both absorbed by the one and extended by the other.
  CALL (r) {
    OPTIONAL MATCH (p:ProcessedItem)
    WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id < r[0]
    WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
    RETURN CASE
        WHEN coalesce(p.status, 'processed') = 'processed'
         AND coalesce(p.last_item_id, p.item_id) = r[0] - 1 THEN p
      END AS before
  }
  OPTIONAL MATCH (next:ProcessedItem {run_id: $run_id, loader: $loader, item_id: r[1] + 1})
  WHERE size($ranges) = 1
  WITH r, before, CASE WHEN coalesce(next.status, 'processed') = 'processed' THEN next END AS after
  CALL (r, before) {
    WITH before WHERE before IS NOT NULL
    RETURN before AS node
    UNION
    WITH r, before WHERE before IS NULL
    CREATE (node:ProcessedItem {run_id: $run_id, loader: $loader, item_id: r[0]})
    RETURN node
  }
  WITH node, r, after,
       CASE WHEN after IS NULL THEN r[1] ELSE coalesce(after.last_item_id, after.item_id) END AS last
  SET node.last_item_id = CASE WHEN last > node.item_id THEN last END
  WITH after WHERE after IS NOT NULL
  DELETE after
}
CALL (clear, as_chunk) {
  WITH clear, as_chunk WHERE clear AND as_chunk
  CREATE (:ProcessedItem:ProcessedChunk {run_id: $run_id, loader: $loader, item_id: $strs[0],
                                         last_item_id: $strs[-1], item_ids: $strs})
}
CALL (clear, as_chunk) {
  WITH clear, as_chunk WHERE clear AND NOT as_chunk
  UNWIND $strs AS id
  CREATE (:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
}
CALL (clear, fixed, now) {
  WITH clear, fixed, now WHERE clear
  MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
  ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
  SET c.processed = c.processed + $count,
      c.failed = c.failed - fixed,
      c.skipped = c.skipped + $skipped,
      c.updated_at = now
}
RETURN NOT clear AS conflict, CASE WHEN as_chunk THEN 0 ELSE size($strs) END AS singles
