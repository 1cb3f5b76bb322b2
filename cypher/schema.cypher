// graph-checkpoint schema: constraints and indexes for the checkpoint nodes.
// Idempotent: every statement uses IF NOT EXISTS, so it is safe to run on every start.
// Applied by the library on first use and by `graph-ckpt init`; statements end with ';'.

// One node per run, looked up by its id.
CREATE CONSTRAINT checkpoint_run_id IF NOT EXISTS
FOR (r:CheckpointRun) REQUIRE r.run_id IS UNIQUE;

// The run that manager.run(config=...) resumes: at most one incomplete run holds a config's
// open key (a hash of the config), so processes starting the same load at the same moment
// end up in one run instead of each creating its own.
CREATE CONSTRAINT checkpoint_run_open_key IF NOT EXISTS
FOR (r:CheckpointRun) REQUIRE r.open_key IS UNIQUE;

// The exactly-once backstop: one processed item per (run, loader, item id), whichever worker wins.
// Its index also serves lookups by run_id alone (a prefix seek with IS NOT NULL on the rest).
CREATE CONSTRAINT processed_item_key IF NOT EXISTS
FOR (p:ProcessedItem) REQUIRE (p.run_id, p.loader, p.item_id) IS UNIQUE;

// Chunks of string ids packed into one record (a sorted list per node): the chunk that may
// hold an id is the one with the greatest first id at or below it, found by this index.
CREATE INDEX processed_chunk_key IF NOT EXISTS
FOR (c:ProcessedChunk) ON (c.run_id, c.loader, c.item_id);

// Per-loader status and total, one node per (run, loader).
CREATE CONSTRAINT checkpoint_loader_key IF NOT EXISTS
FOR (l:CheckpointLoader) REQUIRE (l.run_id, l.loader) IS UNIQUE;

// The processes (and Spark tasks) that joined a run, one node per (run, participant name).
CREATE CONSTRAINT checkpoint_participant_key IF NOT EXISTS
FOR (p:CheckpointParticipant) REQUIRE (p.run_id, p.name) IS UNIQUE;

// Striped progress counters: concurrent batches update different shards, never one hot node.
CREATE CONSTRAINT checkpoint_counter_key IF NOT EXISTS
FOR (c:CheckpointCounter) REQUIRE (c.run_id, c.loader, c.shard) IS UNIQUE;

// Listing runs newest first and finding incomplete ones.
CREATE INDEX checkpoint_run_started IF NOT EXISTS
FOR (r:CheckpointRun) ON (r.started_at);

CREATE INDEX checkpoint_run_status IF NOT EXISTS
FOR (r:CheckpointRun) ON (r.status);

// Failed items of a run, newest first, without touching the processed ones.
CREATE INDEX failed_item_run IF NOT EXISTS
FOR (f:FailedItem) ON (f.run_id);
