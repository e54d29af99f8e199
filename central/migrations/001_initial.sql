-- 001: the office's store.  The same file runs on SQLite and on
-- PostgreSQL: portable types only (TEXT, INTEGER, BIGINT), no
-- AUTOINCREMENT or SERIAL, no JSON functions.

-- Where each station stands: the last batch stored and the chain's head.
CREATE TABLE station_cursor (
    site        TEXT NOT NULL,
    station     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    last_event  BIGINT NOT NULL,
    chain_hash  TEXT NOT NULL,
    updated     TEXT NOT NULL,
    PRIMARY KEY (site, station)
);

-- Every batch stored, once: (site, station, seq) is unique.
CREATE TABLE batch (
    site             TEXT NOT NULL,
    station          TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    first_event      BIGINT NOT NULL,
    last_event       BIGINT NOT NULL,
    count            BIGINT NOT NULL,
    prev_chain_hash  TEXT NOT NULL,
    last_chain_hash  TEXT NOT NULL,
    payload_sha256   TEXT NOT NULL,
    body_sha256      TEXT NOT NULL,
    received         TEXT NOT NULL,
    PRIMARY KEY (site, station, seq)
);

-- Every event, exactly as the station hashed it: (site, station, id) is
-- unique, so an event is stored once whatever is retried.
CREATE TABLE event (
    site       TEXT NOT NULL,
    station    TEXT NOT NULL,
    id         BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    time       TEXT NOT NULL,
    tz_offset  INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    session    TEXT,
    room       TEXT,
    ticket     TEXT,
    device     TEXT,
    operator   TEXT,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (site, station, id)
);

CREATE INDEX event_kind_session ON event (kind, site, session);
