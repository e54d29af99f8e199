#!/usr/bin/env bash
# sync-pg.sh: the sync into examcentral's PostgreSQL store, on a real
# server: a throwaway cluster started here by pg_virtualenv (Debian's
# postgresql-common) and dropped at the end.  Station → office in several
# batches with COPY, every event once, the same migrations as SQLite, a
# retried batch stored once, a refusal storing nothing, examcentral killed
# with SIGKILL in the middle of an ingest (nothing half stored, the retry
# completes), the office down then up, and the attendance report.
. "$(dirname "$0")/../data/sync/in-pg.sh"
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"

t_eq "a PostgreSQL server" 1 "$(pq 'select 1')"

pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after,published"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at -20),$(at 100),60,60,10"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null
awk -F, 'NR == 1 || $4 == "ONTIME"' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null
python3 "$SDATA/addevents.py" "$DB" 40
key_new "$T/st1.key"
office_keys "$T/keys" "S1/st1=$T/st1.key"
# the reports need an office user (examcentral --users)
echo office-pass-1 | "$BIN/examcentral" passwd --users "$T/users" --iterations 1000 office >/dev/null
central_start o "$PGURL" "$T/keys" --users "$T/users" || t_fail "examcentral on PostgreSQL" "$(cat "${CLOG[o]}")"
OFFICE_URL=http://127.0.0.1:${CPORT[o]}
t_eq "healthz names the store" postgresql "$(curl -s "$OFFICE_URL/healthz" | jq -r .store)"
t_eq "migrations applied, as on SQLite" \
    "$(for f in "$TOP"/central/migrations/*.sql; do b=$(basename "$f" .sql); echo "$((10#${b%%_*}))|$b"; done)" \
    "$(pq 'select version, name from schema_migration order by version')"

CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket
central_conf "$CONF" "$OFFICE_URL" "$T/st1.key" "" 7
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
ctl checkin manual 260100000001 --operator 张老师 --reason "forgot card" >/dev/null

office_is_station() {
    local want got
    want=$(q "select count(*) || ' ' || max(id) || ' ' || (select hash from event order by id desc limit 1) from event")
    got=$(pq "select count(*) || ' ' || max(id) || ' ' || (select hash from event where station='st1' order by id desc limit 1) from event where station='st1'")
    [ "$want" = "$got" ]
}

out=$(ctl sync now 2>&1)
t_eq "sync now into PostgreSQL" 0 $?
n=$(q "select count(*) from event")
t_contains "in batches of 7" "sent $(((n + 6) / 7)) batches, $n events" "$out"
office_is_station && t_ok "PostgreSQL holds every event once" ||
    t_fail "PostgreSQL holds every event once" "$(pq 'select count(*) from event')"
t_eq "batches continuous" "$(((n + 6) / 7)) 1 $n" \
    "$(pq "select count(*) || ' ' || min(first_event) || ' ' || max(last_event) from batch")"
t_eq "cursor" "$(ctl --json verify | jq -r .head_hash)" \
    "$(curl -s "$OFFICE_URL/v1/sites/S1/stations/st1/cursor" | jq -r .chain_hash)"

# a retried batch is acknowledged and stored once; a tampered one refused
mk() { python3 "$SDATA/mkbatch.py" "$DB" "$(cat "$T/st1.key")" "$@"; }
seq=$(pq "select max(seq) from batch")
read -r f l <<<"$(pq "select first_event || ' ' || last_event from batch where seq = $seq")"
mk "$T/again.gz" --seq "$seq" --first "$f" --last "$l"
t_eq "replay of the last batch (same events, other bytes): 200" 200 "$(post "$T/again.gz" S1 st1 "$seq")"
t_eq "  ...not stored again" false "$(jq .stored "$T/post.out")"
python3 "$SDATA/addevents.py" "$DB" 3
mk "$T/tam.gz" --seq $((seq + 1)) --first $((n + 1)) --last $((n + 3)) --tamper
t_eq "tampered batch: 400" 400 "$(post "$T/tam.gz" S1 st1 $((seq + 1)))"
t_eq "  ...nothing stored" "$n" "$(pq 'select count(*) from event')"

# examcentral killed in the middle of an ingest (a batch large enough that
# the office is still verifying and copying it 0.3 s into the upload)
sed -i 's/^batch_max_events = 7$/batch_max_events = 100000/' "$CONF"
kill -HUP "$DPID"
sleep 0.5
python3 "$SDATA/addevents.py" "$DB" 80000
before=$(pq 'select count(*) from event')
ctl sync now --timeout 120 >/dev/null 2>&1 &
SPID=$!
sending() { [ "$(ctl --json sync status | jq -r .state)" = sending ]; }
wait_for 300 sending || t_fail "upload started" "$(ctl --json sync status)"
sleep 0.3
st=$(ctl --json sync status | jq -r .state)
central_stop o KILL
after=$(pq 'select count(*) from event')
t_eq "killed while ingesting" sending "$st"
[ "$after" = "$before" ] || [ "$after" = $((before + 80003)) ] &&
    t_ok "PostgreSQL, SIGKILL mid-ingest: nothing half stored ($before → $after)" ||
    t_fail "PostgreSQL, SIGKILL mid-ingest: nothing half stored" "$before → $after"
wait $SPID
t_rc "office down: sync fails" 69 ctl sync now
central_start o "$PGURL" "$T/keys" --users "$T/users" || t_fail "examcentral restart" "$(tail -3 "${CLOG[o]}")"
t_rc "office back: the retry completes" 0 ctl sync now
office_is_station && t_ok "after the kill: every event once" ||
    t_fail "after the kill: every event once" "$(pq 'select count(*) from event')"
t_eq "no event twice" 0 "$(pq 'select count(*) from (select id from event group by site, station, id having count(*) > 1) d')"

# the report, from PostgreSQL
curl -s -u office:office-pass-1 "$OFFICE_URL/v1/reports/attendance?date=$TODAY" >"$T/r.json"
t_eq "report: present / published, flagged" "1 10 attendance_below_min" \
    "$(jq -r '.sessions[] | select(.session=="ONTIME") | "\(.present) \(.published) \(.flags[0].code)"' "$T/r.json")"
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null
central_stop o TERM
sanitizer_clean "no sanitizer report at exit" "$LOG" "${CLOG[o]}" 
t_done
