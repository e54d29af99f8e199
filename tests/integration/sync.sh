#!/usr/bin/env bash
# sync.sh: the nightly sync end to end, over HTTP, into examcentral's
# SQLite store, with the real binaries (examsited, examctl, examcentral)
# on loopback:
#   events → batches → the office: every event exactly once, the office's
#     chain head is the station's, a second sync sends nothing;
#   every refusal stores nothing: unknown station, another station's key,
#     bad signature, a body altered after signing, headers that disagree
#     with the body, a replay of an old sequence with another body, a gap,
#     malformed gzip, a non-JSON line, a line over the limit, a broken
#     chain, a batch not continuing the office's chain, a gzip bomb (413,
#     examcentral's peak RSS stays bounded);
#   the office down for several attempts, then up: backoff, then every
#     event exactly once;
#   a check-in during a stalled upload is decided as fast as without one;
#   examcentral killed with SIGKILL in the middle of an ingest: nothing
#     half stored, the retry completes;
#   examsited killed between send and acknowledgement: the retry is the
#     same batch (the same bytes) and is stored once;
#   two stations of one site, each with its own key and chain, one merged
#     attendance report (JSON, and CSV with a BOM);
#   `sync export` files: zcat + Python's json read them, curl delivers them;
#   a station database replaced by an older copy: refused in one line,
#     the office untouched.
# Batches for the hostile cases are written by tests/data/sync/mkbatch.py
# from docs/batch-format.md with Python's standard library only.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"

for tool in jq sqlite3 curl openssl python3 socat; do
    command -v $tool >/dev/null || { t_fail "needs $tool" "scripts/install-deps"; t_done; }
done

# --- the site: sessions, roster, two stations' keys, the office -----------
pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after,published"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at -20),$(at 100),60,60,30"
    echo "LATE,Web前端开发,中级,$TODAY,$(at -5),$(at 100),30,30,"
    echo "EARLY,数据库管理,初级,$TODAY,$(at 120),$(at 180),10,15,"
    echo "CLOSED,数据库管理,中级,$TODAY,$(at -40),$(at 60),30,10,"
    echo "ABS,云计算,初级,$TODAY,$(at -40),$(at 90),30,10,5"
    echo "TMRW,云计算,高级,$TOMORROW,09:00,11:00,30,15,"
} >"$T/sessions.csv"
t_rc "session import" 0 ctl session import "$T/sessions.csv"
t_rc "roster import" 0 ctl roster import "$DDATA/roster.csv"
key_new "$T/st1.key"
key_new "$T/st2.key"
office_keys "$T/keys" "S1/st1=$T/st1.key" "S1/st2=$T/st2.key"
ODB=$T/office.db
# the reports need an office user (examcentral --users)
echo office-pass-1 | "$BIN/examcentral" passwd --users "$T/users" --iterations 1000 office >/dev/null
central_start o "sqlite:$ODB" "$T/keys" --users "$T/users" || t_fail "examcentral start" "$(cat "${CLOG[o]}")"
OFFICE_URL=http://127.0.0.1:${CPORT[o]}
t_eq "healthz" '{"ok":true,"store":"sqlite"}' "$(curl -s "$OFFICE_URL/healthz")"

sim_start door1 scanner || t_fail "examsim door1" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket
central_conf "$CONF" "$OFFICE_URL" "$T/st1.key" "" 30000
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
ctl checkin manual 260100000001 --operator 张老师 --reason "forgot card" >/dev/null
ctl checkin manual 260100000002 --operator 张老师 --reason "forgot card" >/dev/null
ctl incident add --ticket 260100000001 --kind V1 --operator 张老师 --note phone >/dev/null

# office_is_station: the office holds exactly the station's events (ids,
# hashes), each once.
office_is_station() {
    local want got
    want=$(q "select count(*) || ' ' || max(id) || ' ' || (select hash from event order by id desc limit 1) from event")
    got=$(oq "$ODB" "select count(*) || ' ' || max(id) || ' ' || (select hash from event where site='S1' and station='st1' order by id desc limit 1) from event where site='S1' and station='st1'")
    [ "$want" = "$got" ]
}

# --- events → batches → the office ------------------------------------------
out=$(ctl sync now 2>&1)
t_eq "sync now: exit 0" 0 $?
t_contains "sync now says what was sent" "sent 1 batches" "$out"
office_is_station && t_ok "office holds every event once" ||
    t_fail "office holds every event once" "$(oq "$ODB" 'select count(*) from event')"
head=$(ctl --json verify | jq -r .head_hash)
t_eq "office cursor is the station's head" "$head" \
    "$(curl -s "$OFFICE_URL/v1/sites/S1/stations/st1/cursor" | jq -r .chain_hash)"
t_eq "station cursor" "$head" "$(ctl --json sync status | jq -r .cursor.chain_hash)"
t_contains "sync again: nothing" "sent 0 batches" "$(ctl sync now 2>&1)"
sqlite3 "$DB" ".backup '$T/old.db'"   # for the restored-copy case at the end

# --- refusals: each stores nothing --------------------------------------------
mk() { python3 "$SDATA/mkbatch.py" "$DB" "$(cat "$T/st1.key")" "$@"; }
last=$(q "select max(id) from event")
n_events=$(oq "$ODB" "select count(*) from event")
n_batches=$(oq "$ODB" "select count(*) from batch")
unchanged() {
    [ "$(oq "$ODB" "select count(*) from event")" = "$n_events" ] &&
        [ "$(oq "$ODB" "select count(*) from batch")" = "$n_batches" ]
}
refused() { # NAME WANT_STATUS STATUS [REASON]
    t_eq "$1: HTTP $2" "$2" "$3"
    [ -n "${4:-}" ] && t_contains "$1: says why" "$4" "$(cat "$T/post.out")"
    unchanged && t_ok "$1: nothing stored" || t_fail "$1: nothing stored" "office changed"
}
ctl session add EXTRA --certificate X --level 初级 --date "$TOMORROW" --start 08:00 --end 09:00 >/dev/null
new=$((last + 1))
mk "$T/b.gz" --seq 2 --first "$new" --last "$new"
refused "unknown station" 401 "$(post "$T/b.gz" S1 nobody 2)" "unknown station"
python3 "$SDATA/mkbatch.py" "$DB" "$(cat "$T/st2.key")" "$T/b2.gz" --seq 2 --first "$new" --last "$new"
refused "another station's key" 401 "$(post "$T/b2.gz" S1 st1 2)" "bad signature"
echo 0000000000000000000000000000000000000000000000000000000000000000 >"$T/zero.sig"
refused "bad signature" 401 "$(post "$T/b.gz" S1 st1 2 "$T/zero.sig")" "bad signature"
# byte 30 flipped (xor 0xff), so the body always differs from the signed one
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[30] ^= 0xff; open(sys.argv[2], "wb").write(b)' "$T/b.gz" "$T/alt.gz"
t_eq "the altered body differs" 1 "$(cmp -s "$T/b.gz" "$T/alt.gz" && echo 0 || echo 1)"
refused "body altered after signing" 401 "$(post "$T/alt.gz" S1 st1 2 "$T/b.gz.sig")" "bad signature"
refused "headers disagree with the body" 400 "$(post "$T/b.gz" S1 st1 3)" "X-Examsite-Seq"
mk "$T/old.gz" --seq 1 --first "$new" --last "$new" --prev "$(q "select hash from event where id = $last")"
refused "replay of seq 1 with another body" 409 "$(post "$T/old.gz" S1 st1 1)" '"expected_seq":2'
mk "$T/gap.gz" --seq 3 --first "$new" --last "$new"
refused "a gap" 409 "$(post "$T/gap.gz" S1 st1 3)" '"expected_seq":2'
mk "$T/g.gz" --seq 2 --first "$new" --last "$new" --garbage-gzip
refused "malformed gzip" 400 "$(post "$T/g.gz" S1 st1 2)" "gzip"
mk "$T/nj.gz" --seq 2 --first "$new" --last "$new" --nonjson
refused "a non-JSON line" 400 "$(post "$T/nj.gz" S1 st1 2)" "line 2: not JSON"
mk "$T/ll.gz" --seq 2 --first "$new" --last "$new" --long-line
refused "a line over the limit" 400 "$(post "$T/ll.gz" S1 st1 2)" "over 65536 bytes"
mk "$T/tam.gz" --seq 2 --first "$new" --last "$new" --tamper
refused "an event altered (hash kept)" 400 "$(post "$T/tam.gz" S1 st1 2)" "altered"
ctl session add EXTRA2 --certificate X --level 初级 --date "$TOMORROW" --start 08:00 --end 09:00 >/dev/null
ctl session add EXTRA3 --certificate X --level 初级 --date "$TOMORROW" --start 08:00 --end 09:00 >/dev/null
mk "$T/bc.gz" --seq 2 --first "$new" --last $((new + 2)) --break-chain
refused "a broken chain" 400 "$(post "$T/bc.gz" S1 st1 2)" "consecutive"
mk "$T/nc.gz" --seq 2 --first "$new" --last "$new" --prev "$(printf 'ab%.0s' {1..32})"
refused "a batch not continuing the office's chain" 409 "$(post "$T/nc.gz" S1 st1 2)" "does not continue"
mk "$T/nolf.gz" --seq 2 --first "$new" --last "$new" --no-lf
refused "no LF at the end" 400 "$(post "$T/nolf.gz" S1 st1 2)" "LF"
# a gzip bomb: a valid header line, then 1 GiB of zeros in ~1 MiB
{
    zcat "$T/b.gz" | head -n 1
    head -c 1073741824 /dev/zero
} | gzip -1 >"$T/bomb.gz"
python3 -c 'import hmac,hashlib,sys; print(hmac.new(bytes.fromhex(open(sys.argv[1]).read().strip()), open(sys.argv[2],"rb").read(), hashlib.sha256).hexdigest())' \
    "$T/st1.key" "$T/bomb.gz" >"$T/bomb.gz.sig"
rss0=$(peak_kb "${CPID[o]}")
refused "a gzip bomb" 413 "$(post "$T/bomb.gz" S1 st1 2)" "too large"
rss1=$(peak_kb "${CPID[o]}")
echo "gzip bomb: $(stat -c %s "$T/bomb.gz") bytes compressed, 1 GiB inflated; examcentral peak RSS $rss0 → $rss1 KiB"
[ $((rss1 - rss0)) -lt 32768 ] && t_ok "bomb: memory bounded" ||
    t_fail "bomb: memory bounded" "peak RSS grew by $((rss1 - rss0)) KiB"
out=$(ctl sync now 2>&1)
t_eq "after the refusals the station's own batch is taken" 0 $?
t_contains "  ...with its three events" "sent 1 batches, 3 events" "$out"
office_is_station && t_ok "refusals: every event once" || t_fail "refusals: every event once" ""

# --- the office down for several attempts, then up ----------------------------
central_stop o TERM
python3 "$SDATA/addevents.py" "$DB" 50
t_rc "sync now, office down: exit 69" 69 ctl sync now
attempts() { [ "$(ctl --json sync status | jq .attempts)" -ge "$1" ]; }
wait_for 200 attempts 3 && t_ok "backoff retried" ||
    t_fail "backoff retried" "$(ctl --json sync status)"
t_contains "status names the error" "cannot reach the office" "$(ctl sync status)"
t_contains "status names the next attempt" "next attempt: 20" "$(ctl sync status)"
central_start o "sqlite:$ODB" "$T/keys" --users "$T/users" || t_fail "examcentral restart" "$(tail -3 "${CLOG[o]}")"
caught_up() { [ "$(ctl --json sync status | jq .pending)" = 0 ] && sync_idle; }
wait_for 300 caught_up && t_ok "delivered after the office came back" ||
    t_fail "delivered after the office came back" "$(ctl --json sync status)"
office_is_station && t_ok "office down then up: every event once" ||
    t_fail "office down then up: every event once" "$(oq "$ODB" 'select count(*) from event')"
# the status's times in the site's zone, as every other command shows them
ls_utc=$(ctl --json sync status | jq -r .last_success)
t_contains "status shows the last success in the site's zone ($ZONE)" \
    "last success: $(TZ=$ZONE date -d "$ls_utc" '+%Y-%m-%d %H:%M:%S')" "$(ctl sync status)"
t_contains "status: the office-down error is said to be over" \
    ", before the last success)" "$(ctl sync status | grep '^last error:')"

# --- a check-in during a stalled upload ----------------------------------------
# median of 5 manual check-ins (examctl round trips), wall ms
checkin_ms() {
    local t=() i s e
    for i in "$@"; do
        s=$(date +%s%N)
        ctl checkin manual "$i" --operator 张老师 --reason timing >/dev/null
        e=$(date +%s%N)
        t+=($(((e - s) / 1000000)))
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n 3p
}
base=$(checkin_ms 260100000003 260100000004 260100000005 260100000006 260100000007)
python3 "$SDATA/addevents.py" "$DB" 20000
kill -STOP "${CPID[o]}"
ctl sync now --timeout 120 >"$T/stall.out" 2>&1 &
SPID=$!
t_on_exit "kill $SPID"
sending() { [ "$(ctl --json sync status | jq -r .state)" = sending ]; }
wait_for 600 sending || t_fail "upload started" "$(ctl --json sync status)"
during=$(checkin_ms 260100000008 260100000009 260100000011 260200000001 260200000002)
st=$(ctl --json sync status | jq -r .state)
echo "check-in median: $base ms without an upload, $during ms during a stalled upload ($st)"
[ "$during" -le $((base * 2 + 50)) ] && t_ok "check-in during a stalled upload" ||
    t_fail "check-in during a stalled upload" "$during ms against $base ms"
t_eq "the upload was stalled meanwhile" sending "$st"
kill -CONT "${CPID[o]}"
wait $SPID
t_eq "stalled upload completes" 0 $?
office_is_station && t_ok "stalled upload: every event once" || t_fail "stalled upload: every event once" ""

# --- examcentral killed in the middle of an ingest --------------------------
python3 "$SDATA/addevents.py" "$DB" 25000
before=$(oq "$ODB" "select count(*) from event")
ctl sync now --timeout 120 >/dev/null 2>&1 &
SPID=$!
wait_for 300 sending || t_fail "upload started" "$(ctl --json sync status)"
sleep 0.3
st=$(ctl --json sync status | jq -r .state)
central_stop o KILL
after=$(oq "$ODB" "select count(*) from event")
t_eq "killed while the office was ingesting" sending "$st"
[ "$after" = "$before" ] || [ "$after" = $((before + 25000)) ] &&
    t_ok "SIGKILL mid-ingest: nothing half stored ($before → $after)" ||
    t_fail "SIGKILL mid-ingest: nothing half stored" "$before → $after"
t_eq "SIGKILL: batches and cursor agree" "$(oq "$ODB" "select max(last_event) from batch where station='st1'")" \
    "$(oq "$ODB" "select last_event from station_cursor where station='st1'")"
wait $SPID
central_start o "sqlite:$ODB" "$T/keys" --users "$T/users" || t_fail "examcentral restart" ""
t_rc "retry after the kill" 0 ctl sync now
office_is_station && t_ok "after the kill: every event once" || t_fail "after the kill: every event once" ""

# --- examsited killed between send and acknowledgement -----------------------
python3 "$SDATA/addevents.py" "$DB" 10
kill -STOP "${CPID[o]}"
ctl sync now --timeout 60 >/dev/null 2>&1 &
SPID=$!
wait_for 100 sending || t_fail "upload started (2)" ""
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
wait $SPID 2>/dev/null
nb=$(oq "$ODB" "select count(*) from batch where station='st1'")
kill -CONT "${CPID[o]}"
more() { [ "$(oq "$ODB" "select count(*) from batch where station='st1'")" -gt "$nb" ]; }
wait_for 100 more && t_ok "the office stored it after the daemon died" || t_fail "office stored it" ""
seq=$(q "select max(seq) from sync_batch")
t_eq "station: numbered, not acknowledged" "" "$(q "select acked from sync_batch where seq = $seq")"
daemon_start "$CONF" "$LOG" || t_fail "daemon restart" "$(tail -5 "$LOG")"
t_rc "retry after the daemon's death" 0 ctl sync now
t_eq "same bytes sent again" "$(q "select body_sha256 from sync_batch where seq = $seq")" \
    "$(oq "$ODB" "select body_sha256 from batch where station='st1' and seq = $seq")"
t_eq "acknowledged now" 1 "$(q "select acked is not null from sync_batch where seq = $seq")"
office_is_station && t_ok "daemon killed: every event once" || t_fail "daemon killed: every event once" ""
grep -q "already stored" "${CLOG[o]}" && t_ok "the office acknowledged it as already stored" ||
    t_fail "already stored" "$(tail -3 "${CLOG[o]}")"

# --- a second station of the site, one merged report -------------------------
DB1=$DB SOCK1=$SOCK
mkdir "$T/st2"
DB=$T/st2/site.db SOCK=$T/st2/ctl.sock
"$BIN/examctl" --db "$DB" init --site-id S1 --site-name "Test site" --station st2 \
    --timezone "$ZONE" >/dev/null
ctl session import "$T/sessions.csv" >/dev/null
ctl roster import "$DDATA/roster.csv" >/dev/null
sim_start door3 scanner || t_fail "examsim door3" "no pty"
{
    printf '[site]\nid = S1\nstation = st2\ndatabase = %s\ntimezone = %s\n\n' "$DB" "$ZONE"
    printf '[control]\nsocket = %s\n\n[policy]\nmode = ticket\n\n' "$SOCK"
    printf '[device door3]\ntype = scanner\ntransport = serial\npath = %s\nroom = 102\n\n' "${SIMPTY[door3]}"
} >"$T/st2.conf"
central_conf "$T/st2.conf" "$OFFICE_URL" "$T/st2.key"
DPID1=$DPID
daemon_start "$T/st2.conf" "$T/st2.log" || t_fail "station 2 start" "$(tail -5 "$T/st2.log")"
DPID2=$DPID
t_on_exit "kill -9 $DPID2"
t102=$(awk -F, '$4 == "ONTIME" && $5 == "102" { print $1 }' "$DDATA/roster.csv")
ctl checkin manual "$t102" --operator 李老师 --reason "forgot card" >/dev/null
t_rc "station 2 syncs with its own key" 0 ctl sync now
t_eq "station 2: its own chain at the office" "$(q "select count(*) from event")" \
    "$(oq "$ODB" "select count(*) from event where station='st2'")"
t_eq "station 2 cannot sign for station 1" 401 "$(
    python3 "$SDATA/mkbatch.py" "$DB" "$(cat "$T/st2.key")" "$T/x.gz" --seq 1 --first 1 --last 2 --station st1
    post "$T/x.gz" S1 st1 1)"
DB=$DB1 SOCK=$SOCK1 DPID=$DPID1
curl -s -u office:office-pass-1 "$OFFICE_URL/v1/reports/attendance?date=$TODAY" >"$T/report.json"
r() { jq -r "$1" "$T/report.json"; }
t_eq "report: ONTIME room 101 present (station 1)" 10 "$(r '.rooms[] | select(.session=="ONTIME" and .room=="101") | .present')"
t_eq "report: ONTIME room 102 present (station 2)" 1 "$(r '.rooms[] | select(.session=="ONTIME" and .room=="102") | .present')"
t_eq "report: ONTIME merged" "11 30" "$(r '.sessions[] | select(.session=="ONTIME") | "\(.present) \(.published)"')"
t_eq "report: incidents by kind" 1 "$(r '.rooms[] | select(.session=="ONTIME" and .room=="101") | .incidents.V1')"
t_eq "report: ABS absent, both stations" "4 1 5" "$(r '[.rooms[] | select(.session=="ABS") | .absent] + [.sessions[] | select(.session=="ABS") | .absent] | join(" ")')"
t_eq "report: ABS certificate and level" "云计算 初级" "$(r '.sessions[] | select(.session=="ABS") | "\(.certificate) \(.level)"')"
t_eq "report: below 30 % flagged" attendance_below_min "$(r '.sessions[] | select(.session=="ABS") | .flags[0].code')"
t_eq "report: ONTIME 11 of 30 not flagged" 0 "$(r '.sessions[] | select(.session=="ONTIME") | .flags | length')"
curl -s -u office:office-pass-1 -H 'Accept: text/csv' "$OFFICE_URL/v1/reports/attendance?date=$TODAY" >"$T/report.csv"
t_eq "CSV starts with a BOM" efbbbf "$(head -c 3 "$T/report.csv" | od -An -tx1 | tr -d ' \n')"
t_contains "CSV rows" 'S1,ABS,(all),云计算,初级,5,5,0,0,5,0,,0.0000,attendance_below_min' "$(cat "$T/report.csv")"
t_eq "report from the command line" 11 "$("$BIN/examcentral" --store "sqlite:$ODB" report attendance --date "$TODAY" |
    jq '.sessions[] | select(.session=="ONTIME") | .present')"
t_eq "report: bad date" 400 "$(curl -s -u office:office-pass-1 -o /dev/null -w '%{http_code}' "$OFFICE_URL/v1/reports/attendance?date=2026-13-01")"

# --- sync export, for a site with no network ------------------------------------
ctl session add EXP --certificate X --level 初级 --date "$TOMORROW" --start 08:00 --end 09:00 >/dev/null
mkdir "$T/exp"
t_rc "sync export" 0 ctl --config "$CONF" sync export "$T/exp"
f=$(ls "$T"/exp/S1-st1-*.ndjson.gz | head -1)
t_eq "export: one batch file and its signature" 2 "$(ls "$T/exp" | wc -l)"
zcat "$f" | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' &&
    t_ok "export: zcat and Python's json read it" || t_fail "export: readable" "$f"
eseq=$(basename "$f" .ndjson.gz)
eseq=${eseq##*-}
t_eq "export: curl --data-binary delivers it" 200 "$(post "$f" S1 st1 "$eseq")"
t_contains "export: the station then has it acknowledged" "sent 1 batches" "$(ctl sync now)"
office_is_station && t_ok "export: every event once" || t_fail "export: every event once" ""

# --- a station database replaced by an older copy -------------------------------
n_events=$(oq "$ODB" "select count(*) from event")
n_batches=$(oq "$ODB" "select count(*) from batch")
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
cp "$DB" "$T/current.db"
rm -f "$DB-wal" "$DB-shm"
cp "$T/old.db" "$DB"
ctl session add AFTER --certificate X --level 初级 --date "$TOMORROW" --start 08:00 --end 09:00 >/dev/null
daemon_start "$CONF" "$LOG" || t_fail "daemon on the old copy" "$(tail -5 "$LOG")"
out=$(ctl sync now 2>&1)
t_eq "older copy: refused (exit 65)" 65 $?
t_contains "older copy: says why" "restored from an older copy" "$out"
t_eq "older copy: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
unchanged && t_ok "older copy: the office stored nothing" || t_fail "older copy: office untouched" ""
t_contains "older copy: status keeps the reason" "restored from an older copy" "$(ctl sync status)"

kill -TERM "$DPID"; wait "$DPID" 2>/dev/null
central_stop o TERM
kill -TERM "$DPID2"; wait "$DPID2" 2>/dev/null
sanitizer_clean "no sanitizer report at exit" "$LOG" "${CLOG[o]}" "$T/st2.log"
t_done
