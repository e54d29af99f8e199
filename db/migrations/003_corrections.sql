-- 003: the office's corrections (docs/roster-format.md, "Corrections").
-- 001 and 002 have shipped and are frozen (tests/unit/test_migrate.c pins
-- their SHA-256): the changes go here.
--
-- A withdrawn candidate (`examctl roster withdraw`, a roster.withdrawn
-- event) keeps their row, so the record stays readable, marked withdrawn:
-- the daemon denies them ("withdrawn"), status and absent marking no longer
-- count them, and their seat may be given to someone else.  That last part
-- needs the seat's uniqueness to hold among the candidates not withdrawn
-- only, which a table constraint cannot say: the table is rebuilt (SQLite's
-- way to change a constraint) with a partial unique index instead.  The
-- ID number stays unique per session, withdrawn or not: the same person is
-- one candidacy of a session, and card reads find it by this index.
--
-- The rebuild names every column it copies, so it also runs on a table
-- that already has `withdrawn` (it is then reset to 0: only a database
-- whose version was set back by hand can be in that state).

CREATE TABLE candidate_new (
    ticket     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    id_hash    BLOB NOT NULL CHECK (length(id_hash) = 32),
    id_last4   TEXT NOT NULL,
    session    TEXT NOT NULL REFERENCES session (code),
    room       TEXT NOT NULL REFERENCES room (code),
    seat       TEXT NOT NULL,
    withdrawn  INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),
    UNIQUE (id_hash, session)   -- also the lookup index for card reads
) WITHOUT ROWID;

INSERT INTO candidate_new (ticket, name, id_hash, id_last4, session, room,
                           seat)
    SELECT ticket, name, id_hash, id_last4, session, room, seat
    FROM candidate;

DROP TABLE candidate;
ALTER TABLE candidate_new RENAME TO candidate;

-- One seat of a room in a session holds one candidate not withdrawn; also
-- what counts a room's expected candidates and finds its absentees.  The
-- mark is a key column too (always 0 here, so the seat alone is unique):
-- a query that says "withdrawn = 0" is then answered from the index alone.
CREATE UNIQUE INDEX candidate_seat ON candidate (session, room, seat, withdrawn)
    WHERE withdrawn = 0;

-- The few withdrawn candidates, for the status counts that leave them out.
CREATE INDEX candidate_withdrawn ON candidate (session, room, withdrawn)
    WHERE withdrawn = 1;
