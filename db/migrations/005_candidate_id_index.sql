-- 005: the candidate's ID-number key as a named index.  001-004 have
-- shipped and are frozen (tests/unit/test_migrate.c pins their SHA-256).
--
-- Since 001 the ID number's uniqueness per session was a table constraint,
-- an automatic index that cannot be dropped.  A first roster import writes
-- tens of thousands of rows whose keyed hashes come in random order: it is
-- far cheaper to drop the index, write the rows and build the index once
-- from them (a sort) than to insert each key into the b-tree
-- (docs/roster-format.md, "Import speed").  The table is rebuilt (SQLite's
-- way to change a constraint) with the same columns and a named unique
-- index instead; the rows, and so the reference digest, stay as they were.

CREATE TABLE candidate_new (
    ticket     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    id_hash    BLOB NOT NULL CHECK (length(id_hash) = 32),
    id_last4   TEXT NOT NULL,
    session    TEXT NOT NULL REFERENCES session (code),
    room       TEXT NOT NULL REFERENCES room (code),
    seat       TEXT NOT NULL,
    withdrawn  INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1))
) WITHOUT ROWID;

INSERT INTO candidate_new (ticket, name, id_hash, id_last4, session, room,
                           seat, withdrawn)
    SELECT ticket, name, id_hash, id_last4, session, room, seat, withdrawn
    FROM candidate;

DROP TABLE candidate;
ALTER TABLE candidate_new RENAME TO candidate;

-- The ID number is unique per session, withdrawn or not (003); also the
-- lookup index for card reads.  db/roster.c builds it again after a first
-- import in these same words: change both together.
CREATE UNIQUE INDEX candidate_id ON candidate (id_hash, session);

-- As 003 made them (dropped with the old table).
CREATE UNIQUE INDEX candidate_seat ON candidate (session, room, seat, withdrawn)
    WHERE withdrawn = 0;
CREATE INDEX candidate_withdrawn ON candidate (session, room, withdrawn)
    WHERE withdrawn = 1;
