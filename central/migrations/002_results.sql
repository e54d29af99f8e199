-- 002: what the office adds to the stations' record: the evaluation
-- organisation's results, and the biweekly reports as generated.

-- One result per candidate of an exam (site, session, ticket), from a
-- results file (its SHA-256 and line), replaced when a later file
-- carries the same candidate.
CREATE TABLE result (
    site         TEXT NOT NULL,
    session      TEXT NOT NULL,
    ticket       TEXT NOT NULL,
    score        TEXT,
    passed       INTEGER NOT NULL,
    file_sha256  TEXT NOT NULL,
    line         INTEGER NOT NULL,
    imported     TEXT NOT NULL,
    PRIMARY KEY (site, session, ticket)
);

-- The biweekly report of each period, as generated (JSON text), kept:
-- a period without a row, or generated after it was due, is a missed
-- report.  how: timer, catch-up or command.
CREATE TABLE biweekly (
    period_end    TEXT NOT NULL PRIMARY KEY,
    period_start  TEXT NOT NULL,
    generated     TEXT NOT NULL,
    how           TEXT NOT NULL,
    report        TEXT NOT NULL
);
