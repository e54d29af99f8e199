# in-pg.sh: source first thing in a test that needs a PostgreSQL server
# (sync-pg.sh, office-move.sh).  Outside one, it runs the test again
# inside a throwaway cluster (pg_virtualenv, Debian's postgresql-common:
# PGHOST, PGPORT, PGUSER, PGDATABASE set, dropped at the end); inside,
# it sets PGURL and pq SQL (one query, unaligned, no header).
if [ -z "${EXAMSITE_PG_INNER:-}" ]; then
    command -v pg_virtualenv >/dev/null || {
        echo "FAIL $(basename "$0" .sh): needs pg_virtualenv (postgresql-common: scripts/install-deps)" >&2
        exit 1
    }
    exec pg_virtualenv -- env EXAMSITE_PG_INNER=1 bash "$0" "$@"
fi
PGURL="postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${PGDATABASE}"
pq() { psql -X -A -t -q -c "$1" 2>&1; }
