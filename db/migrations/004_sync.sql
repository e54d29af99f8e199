-- 004: the nightly sync to the office (docs/batch-format.md).  Numbered
-- 004, not 003, so it does not collide with the roster corrections'
-- migration.

-- Every batch this station numbered.  Its bounds and hashes are written
-- before it is first sent and never change (every retry sends the same
-- events, the same bytes); acked is set once, when the office
-- acknowledges it.  Nothing is deleted, acknowledged or not.
CREATE TABLE sync_batch (
    seq              INTEGER PRIMARY KEY CHECK (seq >= 1),
    first_event      INTEGER NOT NULL,
    last_event       INTEGER NOT NULL,
    count            INTEGER NOT NULL CHECK (count = last_event - first_event + 1),
    prev_chain_hash  TEXT NOT NULL CHECK (length(prev_chain_hash) = 64),
    last_chain_hash  TEXT NOT NULL CHECK (length(last_chain_hash) = 64),
    payload_sha256   TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    body_sha256      TEXT NOT NULL CHECK (length(body_sha256) = 64),
    numbered         TEXT NOT NULL,
    acked            TEXT
);

CREATE TRIGGER sync_batch_fixed BEFORE UPDATE ON sync_batch
WHEN NEW.seq IS NOT OLD.seq OR NEW.first_event IS NOT OLD.first_event
  OR NEW.last_event IS NOT OLD.last_event OR NEW.count IS NOT OLD.count
  OR NEW.prev_chain_hash IS NOT OLD.prev_chain_hash
  OR NEW.last_chain_hash IS NOT OLD.last_chain_hash
  OR NEW.payload_sha256 IS NOT OLD.payload_sha256
  OR NEW.body_sha256 IS NOT OLD.body_sha256
  OR NEW.numbered IS NOT OLD.numbered
  OR (OLD.acked IS NOT NULL AND NEW.acked IS NOT OLD.acked)
BEGIN
    SELECT RAISE(ABORT, 'a numbered batch is fixed');
END;

CREATE TRIGGER sync_batch_kept BEFORE DELETE ON sync_batch
BEGIN
    SELECT RAISE(ABORT, 'batches are never deleted');
END;

-- The office's acknowledgement: the last batch it stored, its last event
-- and the office's chain hash there.  One row.  A database restored from
-- an older copy, or a chain that no longer holds this event with this
-- hash, is refused at the next sync.
CREATE TABLE sync_cursor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,
    last_event  INTEGER NOT NULL,
    chain_hash  TEXT NOT NULL CHECK (length(chain_hash) = 64),
    acked       TEXT NOT NULL
);
