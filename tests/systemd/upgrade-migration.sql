-- make check-systemd's upgrade (scripts/check-systemd) ONLY, never shipped:
-- the second version of the packages carries this file as the migration
-- after the newest in db/migrations, so that installing it over the first
-- really migrates a site database (the daemon runs it when the upgrade
-- restarts it; the probe checks user_version and this table).
CREATE TABLE upgrade_check (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    note  TEXT NOT NULL
);
INSERT INTO upgrade_check (id, note) VALUES (1, 'migrated by the upgrade');
