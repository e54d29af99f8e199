-- 002: the site secret's check value, and an index to the newest event that
-- changed the reference tables.  001 has shipped and is frozen (its SHA-256
-- is pinned by tests/unit/test_migrate.c): schema changes go here and later.

-- HMAC-SHA256(site secret, "examsite secret check v1") as 64 lower-case hex
-- digits: tells a wrong or regenerated secret file from the right one
-- without revealing the secret.  One row; written by `examctl init`, or for
-- a database made before 002 by the first `examctl roster import`.
CREATE TABLE secret_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  TEXT NOT NULL CHECK (length(value) = 64)
);

-- The events that change site, session, room or candidate carry the digest
-- of those tables (docs/event-chain.md).  `verify` and the daemon's start
-- compare the newest one with the tables; this partial index finds it
-- without scanning the check-ins after it, and costs other events nothing.
-- The list must stay equal to the one in db/refdigest.c.
CREATE INDEX event_reference ON event (id)
    WHERE kind IN ('site.created', 'session.added', 'session.changed',
                   'roster.imported', 'roster.changed', 'roster.withdrawn');
