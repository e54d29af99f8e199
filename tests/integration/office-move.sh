#!/usr/bin/env bash
# office-move.sh: the office moved from its SQLite store to PostgreSQL with
# the commands of docs/operations.md (section 15), in a throwaway cluster
# (pg_virtualenv):
#   examcentral makes the schema in an empty PostgreSQL database;
#   the three tables copied with sqlite3 -csv and psql \copy: every row
#     and column equal, NULL kept apart from an empty string;
#   the cursors and the day's report the same from both stores;
#   examcentral on PostgreSQL: the station's next sync sends only what is
#     new, and the office holds the station's chain, each event once.
. "$(dirname "$0")/../data/sync/in-pg.sh"
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"
t_needs jq sqlite3 curl openssl psql socat

pick_zone
site_init "$T"
ctl session add ONTIME --certificate Web前端开发 --level 初级 --date "$TODAY" \
    --start "$(at -20)" --end "$(at 100)" --opens-before 60 --late-after 60 --published 10 >/dev/null
grep -e '^ticket' -e ',ONTIME,' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null
key_new "$T/st1.key"
office_keys "$T/keys" "S1/st1=$T/st1.key"
ODB=$T/office.db
central_start o "sqlite:$ODB" "$T/keys" || t_fail "examcentral on SQLite" "$(cat "${CLOG[o]}")"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket
central_conf "$CONF" "http://127.0.0.1:${CPORT[o]}" "$T/st1.key" "" 5
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
# a room incident (no ticket: NULL columns) and two manual check-ins
ctl incident add --seat 101:door --kind device --operator 张老师 --note "reader failed" >/dev/null
for tk in 260100000001 260100000002; do
    ctl checkin manual "$tk" --operator 张老师 --reason "reader failed" >/dev/null
done
t_rc "sync into SQLite" 0 ctl sync now
oq "$ODB" "select count(*) from event where ticket is null" >"$T/nulls"
t_eq "the office holds events with NULL columns" yes "$([ "$(cat "$T/nulls")" -gt 0 ] && echo yes || echo no)"
"$BIN/examcentral" --store "sqlite:$ODB" report attendance --date "$TODAY" >"$T/report-sqlite.json"
central_stop o TERM

# --- the move, as operations.md says ---------------------------------------------
"$BIN/examcentral" --store "$PGURL" report attendance --date 2000-01-01 >/dev/null 2>"$T/mk.err"
t_eq "examcentral makes the schema in PostgreSQL" \
    "$(for f in "$TOP"/central/migrations/*.sql; do b=$(basename "$f" .sql); echo "$((10#${b%%_*}))|$b"; done)" \
    "$(pq 'select version, name from schema_migration order by version')"
for t in station_cursor batch event; do
    sqlite3 -csv -header -cmd '.nullvalue \\N' "$ODB" "select * from $t" |
        psql -X -q "$PGURL" -c "\\copy $t from pstdin with (format csv, header, null '\\N')" 2>"$T/copy.err"
    t_eq "copy $t: psql exit 0" 0 "${PIPESTATUS[1]}"
done

# every row and column equal, NULLs as NULLs
dump_sqlite() { oq "$ODB" "select quote(site), quote(station), id, seq, quote(time), tz_offset, quote(kind),
    quote(session), quote(room), quote(ticket), quote(device), quote(operator), quote(payload),
    quote(prev_hash), quote(hash) from event order by site, station, id"; }
dump_pg() { pq "select quote_nullable(site) || '|' || quote_nullable(station) || '|' || id || '|' || seq
    || '|' || quote_nullable(time) || '|' || tz_offset || '|' || quote_nullable(kind) || '|'
    || quote_nullable(session) || '|' || quote_nullable(room) || '|' || quote_nullable(ticket) || '|'
    || quote_nullable(device) || '|' || quote_nullable(operator) || '|' || quote_nullable(payload)
    || '|' || quote_nullable(prev_hash) || '|' || quote_nullable(hash) from event order by site, station, id"; }
t_eq "events: every row and column, NULLs kept" "$(dump_sqlite)" "$(dump_pg)"
t_eq "batches equal" "$(oq "$ODB" 'select site, station, seq, first_event, last_event, count, prev_chain_hash, last_chain_hash, payload_sha256, body_sha256, received from batch order by 1, 2, 3')" \
    "$(pq "select site, station, seq, first_event, last_event, count, prev_chain_hash, last_chain_hash, payload_sha256, body_sha256, received from batch order by 1, 2, 3")"
t_eq "cursors equal" "$(oq "$ODB" 'select site, station, seq, last_event, chain_hash from station_cursor order by 1, 2')" \
    "$(pq 'select site, station, seq, last_event, chain_hash from station_cursor order by 1, 2')"
"$BIN/examcentral" --store "$PGURL" report attendance --date "$TODAY" >"$T/report-pg.json"
t_eq "the day's report the same from both stores" "$(jq -S . "$T/report-sqlite.json")" "$(jq -S . "$T/report-pg.json")"

# --- examcentral on PostgreSQL; the station syncs on ------------------------------------
central_start o "$PGURL" "$T/keys" || t_fail "examcentral on PostgreSQL" "$(tail -3 "${CLOG[o]}")"
t_eq "healthz: postgresql" postgresql "$(curl -s "http://127.0.0.1:${CPORT[o]}/healthz" | jq -r .store)"
ctl checkin manual 260100000003 --operator 张老师 --reason "forgot card" >/dev/null
new=$(q "select count(*) from event where id > (select last_event from sync_cursor)")
out=$(ctl sync now 2>&1)
t_eq "sync after the move: exit 0" 0 "$?"
t_contains "sync after the move: only what is new" "sent 1 batches, $new events" "$out"
t_eq "PostgreSQL holds the station's chain, each event once" \
    "$(q "select group_concat(id || ':' || hash, ' ') from (select * from event order by id)")" \
    "$(pq "select string_agg(id || ':' || hash, ' ' order by id) from event where station = 'st1'")"

kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
central_stop o TERM
sanitizer_clean "no sanitizer report" "$LOG" "${CLOG[o]}"
t_done
