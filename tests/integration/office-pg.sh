#!/usr/bin/env bash
# office-pg.sh: the office's side on examcentral's PostgreSQL store, on a
# throwaway cluster (pg_virtualenv, as sync-pg.sh): the seeded office's
# batches, the results import (good files stored in one transaction, a
# bad one and one for an absent candidate storing nothing), the pilots'
# verdicts the same as on SQLite, and the biweekly reports made after the
# batches came, listed and read back.
if [ -z "${EXAMSITE_PG_INNER:-}" ]; then
    command -v pg_virtualenv >/dev/null || {
        echo "FAIL office-pg: needs pg_virtualenv (postgresql-common: scripts/install-deps)" >&2
        exit 1
    }
    exec pg_virtualenv -- env EXAMSITE_PG_INNER=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"
t_needs jq curl openssl python3 psql
OSTORE="postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${PGDATABASE}"
. "$TOP/tests/data/office/lib-office.sh"
pq() { psql -X -A -t -q -c "$1" 2>&1; }
t_eq "a PostgreSQL server" 1 "$(pq 'select 1')"

office_seed
t_eq "events on PostgreSQL" "$(($(ex '._events.S1') + $(ex '._events.S2')))" "$(pq 'select count(*) from event')"
t_rc "bad lines: exit 65" 65 cli results import "$ODATA/results-bad.csv"
t_rc "absent candidate: exit 65" 65 cli results import "$ODATA/results-absent.csv"
t_eq "refused files: nothing stored" 0 "$(pq 'select count(*) from result')"
t_contains "good file stored" "26 results (15 passed) for 2 exams, utf-8: stored" \
    "$(cli results import "$ODATA/results-good.csv" 2>&1)"
t_contains "GB18030 file stored" "31 results (13 passed) for 3 exams, gb18030: stored" \
    "$(cli results import "$ODATA/results-gb.csv" 2>&1)"
t_eq "57 results, each linked to its site" "57 S2" \
    "$(pq 'select count(*) from result') $(pq "select distinct site from result where session='DB-2'")"
t_contains "a file again replaces, adds nothing" "stored" "$(cli results import "$ODATA/results-good.csv" 2>&1)"
t_eq "  ...still 57" 57 "$(pq 'select count(*) from result')"
t_eq "pilots over HTTP" 200 "$(curl -s -o "$T/p.json" -w '%{http_code}' "${AUTH[@]}" "$OFFICE_URL/v1/reports/pilots")"
t_eq "the pilots' statuses" "Web前端开发:green 云计算:red 大数据分析:amber 数据库管理:red" \
    "$(jq -r '[.[] | "\(.certificate):\(.status)"] | join(" ")' "$T/p.json")"
t_eq "WEB-1's figures" "20 16 4 0.8125" \
    "$(cli report exams | jq -r '.[] | select(.session=="WEB-1") | "\(.published) \(.present) \(.absent) \(.pass_rate)"')"
n=$(cli report biweekly list | jq length)
t_eq "biweekly: the ended periods made after the batches, kept" "$n" "$(pq 'select count(*) from biweekly')"
first=$(cli report biweekly list | jq -r '.[0].end')
t_eq "  ...read back" "$first" "$(cli report biweekly --period "$first" | jq -r .period.end)"
t_eq "  ...over HTTP as CSV" 200 "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$OFFICE_URL/v1/reports/biweekly?period=$first&format=csv")"
t_rc "  ...made again by hand" 0 cli report biweekly generate --period "$first"
t_eq "  ...marked command, still one row" "command 1" \
    "$(pq "select how from biweekly where period_end = '$first'") $(pq "select count(*) from biweekly where period_end = '$first'")"
central_stop o
sanitizer_clean "no sanitizer report" "${CLOG[o]}"
t_done
