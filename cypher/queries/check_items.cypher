// Which of a batch's item ids this run and loader already recorded, with status and attempts.
// Runs inside the batch's own write transaction, so a retried transaction never redoes work.
// A batch of dense integer ids (the common case: row numbers, serial keys) is checked with
// ONE range seek on the processed-item index, $lo..$hi, instead of one point seek per id:
// a fresh batch then costs 1 db hit instead of one per item, and a resumed one a single
// index scan. Any other batch passes its ids in $ids and $lo/$hi as null (the range branch
// then finds nothing). The range may return ids outside the batch; the caller ignores them.
// One row comes back, two lists, so a batch of 1,000 skipped items is not 1,000 records.
// Parameters: $run_id, $loader, $ids (list of str or int), $lo, $hi (int or null)
CALL () {
  MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader})
  WHERE p.item_id >= $lo AND p.item_id <= $hi
  RETURN p
  UNION ALL
  UNWIND $ids AS id
  MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
  RETURN p
}
WITH collect(CASE WHEN p.status = 'processed' THEN p.item_id END) AS processed,
     collect(CASE WHEN p.status <> 'processed' THEN [p.item_id, p.attempts] END) AS others
// A range holding as many processed items as it has integers holds every one of them (the
// unique constraint allows one node per id): say so instead of sending the ids back, which
// is what makes a resume fast. In the id list form $lo is null and whole_range false.
WITH processed, others, coalesce(size(processed) = $hi - $lo + 1, false) AS whole_range
RETURN CASE WHEN whole_range THEN [] ELSE processed END AS processed, others, whole_range
