-- 001: the site database.  Reference tables hold the roster; `event` is the
-- append-only record of everything that happened, hash-chained.

CREATE TABLE site (
    id        TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name      TEXT NOT NULL,
    station   TEXT NOT NULL,
    timezone  TEXT NOT NULL,
    created   TEXT NOT NULL
);

-- Times are site-local: date YYYY-MM-DD, minutes after midnight.
CREATE TABLE session (
    code          TEXT PRIMARY KEY,
    certificate   TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('初级', '中级', '高级')),
    organisation  TEXT NOT NULL DEFAULT '',
    date          TEXT NOT NULL,
    start_min     INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min       INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1439),
    opens_before  INTEGER NOT NULL DEFAULT 30 CHECK (opens_before BETWEEN 0 AND 240),
    late_after    INTEGER NOT NULL DEFAULT 15 CHECK (late_after BETWEEN 0 AND 240),
    published     INTEGER CHECK (published IS NULL OR published >= 0),
    CHECK (end_min > start_min)
);

CREATE TABLE room (
    code  TEXT PRIMARY KEY
);

-- The ID number itself is never stored: only its keyed hash (32 bytes of
-- HMAC-SHA256) and last 4.
CREATE TABLE candidate (
    ticket    TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    id_hash   BLOB NOT NULL CHECK (length(id_hash) = 32),
    id_last4  TEXT NOT NULL,
    session   TEXT NOT NULL REFERENCES session (code),
    room      TEXT NOT NULL REFERENCES room (code),
    seat      TEXT NOT NULL,
    UNIQUE (session, room, seat),
    UNIQUE (id_hash, session)   -- also the lookup index for card reads
) WITHOUT ROWID;

CREATE TABLE device (
    name       TEXT PRIMARY KEY,
    type       TEXT NOT NULL CHECK (type IN ('idcard', 'scanner')),
    transport  TEXT NOT NULL CHECK (transport IN ('usb', 'serial')),
    address    TEXT NOT NULL,
    room       TEXT NOT NULL
);

CREATE TABLE event (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       TEXT NOT NULL,           -- UTC, ISO 8601 with milliseconds
    tz_offset  INTEGER NOT NULL,        -- the site zone's offset, seconds
    kind       TEXT NOT NULL,
    session    TEXT,
    room       TEXT,
    ticket     TEXT,
    device     TEXT,
    operator   TEXT,
    payload    TEXT NOT NULL DEFAULT '{}',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE INDEX event_ticket ON event (ticket) WHERE ticket IS NOT NULL;
-- Room-level marks (session.opened, session.closed) carry no ticket; a
-- check-in's commit does not touch this index.
CREATE INDEX event_room_marks ON event (session, room, kind) WHERE ticket IS NULL;

CREATE TRIGGER event_no_update BEFORE UPDATE ON event
BEGIN
    SELECT RAISE(ABORT, 'event is append-only');
END;

CREATE TRIGGER event_no_delete BEFORE DELETE ON event
BEGIN
    SELECT RAISE(ABORT, 'event is append-only');
END;
