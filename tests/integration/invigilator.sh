#!/usr/bin/env bash
# invigilator.sh: examctl as an invigilator has it: uid 65534 in a
# throwaway operator group, the database mode 0600 root (unreadable to it).
#   - `events`, `events --since N` (through the daemon's paged `events`
#     op: more than 200 events) print exactly the lines and the JSON that
#     root gets from the database;
#   - `events --follow` (JSON and lines) prints the whole log, then a new
#     decision, and the events examctl writes as root (roster.imported,
#     session.added), which the daemon does not stream: each event once, in
#     id order, the same as root's `events` at the end;
#   - `incident list` over more than 200 incidents (paged incident.list):
#     every incident once, in order, the JSON an array of all of them;
#   - times shown to people are in the site's zone (events, incident list,
#     devices), JSON keeps UTC;
#   - a kiosk is refused (77); with the daemon gone: 69, saying why, and a
#     follower exits 69.
# Needs root (setpriv, groupadd), $BIN, jq, sqlite3, socat.
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"

t_needs --root jq sqlite3 socat setpriv groupadd
chmod 755 "$T"

roles_setup kiosk operator
# xctl ROLE ARGS...: examctl as ROLE on this site, bounded in time.
xctl() {
    local role=$1
    shift
    as "$role" timeout 60 "$BIN/examctl" --db "$DB" --socket "$SOCK" "$@"
}

# --- site -------------------------------------------------------------------------
# A zone away from UTC, so that site time and UTC differ.
pick_zone
if [ "$(TZ=$ZONE date +%z)" = "+0000" ]; then
    ZONE=Etc/GMT-1
    TODAY=$(TZ=$ZONE date -d "@$NOW0" +%F)
    TOMORROW=$(TZ=$ZONE date -d "@$((NOW0 + 86400))" +%F)
fi
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "INV,Web前端开发,初级,$TODAY,$(at 30),$(at 150),60,15"
} >"$T/sessions.csv"
roster() {   # roster FIRST LAST: candidates FIRST..LAST of session INV, room 101
    echo "ticket,name,id_number,session,room,seat"
    for i in $(seq "$1" "$2"); do
        printf '2608%08d,考生%d,%s,INV,101,%02d\n' "$i" "$i" \
            "$(idnum "3101041990$(printf %02d $((i % 12 + 1)))16$(printf %03d "$i")")" "$i"
    done
}
roster 1 20 >"$T/roster.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""

sim_start door1 scanner || t_fail "examsim" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket 60 "kiosk_group = $G-kiosk
operator_group = $G-operator"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 1 || t_fail "device attached" "$(ctl devices 2>&1)"

# As installed: the database is the daemon's alone.
chmod 600 "$DB"
t_eq "the invigilator cannot read the database" no \
    "$(as operator test -r "$DB" && echo yes || echo no)"

# 520 incidents (3 pages of incident.list, 3 of events), pipelined on one
# operator connection, two amendments, and two check-ins at the door.
for i in $(seq 1 520); do
    printf '{"op":"incident.add","ticket":"2608%08d","kind":"V%d","operator":"王老师","note":"n%d"}\n' \
        $((i % 20 + 1)) $((i % 9 + 1)) "$i"
done >"$T/incidents.ndjson"
as operator timeout 120 socat -t 30 - UNIX-CONNECT:"$SOCK" <"$T/incidents.ndjson" >"$T/incidents.out"
t_eq "520 incidents logged" 520 "$(grep -c '"ok":true' "$T/incidents.out")"
first=$(q "select min(id) from event where kind = 'incident.logged'")
xctl operator incident amend "$first" --operator 李老师 --note "corrected" >/dev/null ||
    t_fail "incident amend" ""
xctl operator incident amend $((first + 7)) --operator 李老师 --note "seat swapped" >/dev/null ||
    t_fail "incident amend (2)" ""
for t in 260800000003 260800000004; do
    sim door1 scan "$t" >/dev/null
done
wait_for 100 sql_is 2 "select count(*) from event where kind = 'checkin.accepted'" ||
    t_fail "two check-ins" "$(tail -3 "$LOG")"
N=$(q "select count(*) from event")
t_eq "more than two pages of events" yes "$([ "$N" -gt 400 ] && echo yes || echo "only $N")"

# --- events, events --since --------------------------------------------------------
ctl events >"$T/root.txt"
ctl --json events >"$T/root.json"
t_eq "root: every event" "$N" "$(wc -l <"$T/root.txt")"
xctl operator events >"$T/op.txt" 2>"$T/op.err"
t_eq "invigilator events: exit 0" 0 "$?"
t_eq "invigilator events: nothing on stderr" "" "$(cat "$T/op.err")"
t_eq "invigilator events: every event" "$N" "$(wc -l <"$T/op.txt")"
t_eq "invigilator events: the lines root reads from the database" "" \
    "$(diff "$T/root.txt" "$T/op.txt" | head -5)"
xctl operator --json events >"$T/op.json"
t_eq "invigilator events --json: as from the database" "" \
    "$(diff "$T/root.json" "$T/op.json" | head -5)"
t_eq "invigilator events --json: ids 1..N in order" "$(seq 1 "$N" | paste -sd,)" \
    "$(jq -r .id "$T/op.json" | paste -sd,)"
S=123
ctl events --since $S >"$T/root-since.txt"
xctl operator events --since $S >"$T/op-since.txt"
t_eq "invigilator events --since $S: as from the database" "" \
    "$(diff "$T/root-since.txt" "$T/op-since.txt" | head -5)"
t_eq "invigilator events --since $S: from $((S + 1)), every one" "$((S + 1)) $((N - S))" \
    "$(awk 'NR == 1 { f = $1 } END { print f, NR }' "$T/op-since.txt")"
xctl operator --json events --since $S >"$T/op-since.json"
t_eq "invigilator events --json --since $S" "$(jq -c "select(.id > $S)" "$T/root.json" | md5sum)" \
    "$(md5sum <"$T/op-since.json")"

# Times: site time in lines (the time of each event plus its zone offset),
# UTC in JSON.
jq -r '(.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) + .tz_offset |
    strftime("%Y-%m-%d %H:%M:%S")' "$T/op.json" >"$T/local.want"
awk '{ print $2, $3 }' "$T/op.txt" >"$T/local.got"
t_eq "events: times in the site's zone ($ZONE)" "" "$(diff "$T/local.want" "$T/local.got" | head -3)"
t_eq "events: the zone is not UTC's" true "$(jq -s 'all(.[]; .tz_offset != 0)' "$T/op.json")"
t_eq "events --json: UTC" true "$(jq -s 'all(.[]; .time | test("^[0-9-]{10}T[0-9:.]{12}Z$"))' "$T/op.json")"

# --- incident list ---------------------------------------------------------------
q "select id from event where kind in ('incident.logged', 'incident.amended') order by id" >"$T/inc.ids"
NI=$(wc -l <"$T/inc.ids")
t_eq "incidents in the log" 522 "$NI"
xctl operator incident list >"$T/inc.txt" 2>"$T/inc.err"
t_eq "incident list: exit 0" 0 "$?"
t_eq "incident list: every incident once, in order" "" \
    "$(awk '{ print $1 }' "$T/inc.txt" | diff "$T/inc.ids" - | head -5)"
xctl operator --json incident list >"$T/inc.json"
t_eq "incident list --json: one array" "array 1" "$(jq -r type "$T/inc.json") $(wc -l <"$T/inc.json")"
t_eq "incident list --json: every incident once, in order" "" \
    "$(jq -r '.[].id' "$T/inc.json" | diff "$T/inc.ids" - | head -5)"
t_eq "incident list --json: the events of the log" true \
    "$(jq --slurpfile log "$T/op.json" '. == [$log[] | select(.kind | startswith("incident."))]' "$T/inc.json")"
t_contains "incident list: an amendment" "amends $first (李老师): corrected" "$(cat "$T/inc.txt")"
t_contains "incident list: a note" "(王老师) n520" "$(cat "$T/inc.txt")"
jq -r '.[] | (.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) + .tz_offset |
    strftime("%Y-%m-%d %H:%M:%S")' "$T/inc.json" >"$T/inc-local.want"
t_eq "incident list: times in the site's zone" "" \
    "$(awk '{ print $2, $3 }' "$T/inc.txt" | diff "$T/inc-local.want" - | head -3)"
t_eq "incident list --session INV: all" "$NI" "$(xctl operator incident list --session INV | wc -l)"
t_eq "incident list --session NONE: none" 0 \
    "$(xctl operator incident list --session NONE | wc -l)"

# devices: the last read in site time
want=$(ctl --json devices | jq -r '.[0].last_read | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' |
    TZ=$ZONE xargs -I{} date -d @{} +%H:%M:%S)
t_contains "devices: last read in site time" " $want " "$(xctl operator devices | sed -n 2p)"

# --- events --follow ----------------------------------------------------------------
# JSON and lines, started as the invigilator (setpriv itself in the
# background, so that $! is it).
OP=(setpriv --reuid=65534 --regid=65534 --groups="$(gid operator)")
"${OP[@]}" timeout 300 "$BIN/examctl" --db "$DB" --socket "$SOCK" --json events --follow \
    >"$T/follow.json" 2>"$T/follow.json.err" &
FJ=$!
t_on_exit "t_kill_child $FJ"
"${OP[@]}" timeout 300 "$BIN/examctl" --db "$DB" --socket "$SOCK" events --follow \
    >"$T/follow.txt" 2>"$T/follow.txt.err" &
FT=$!
t_on_exit "t_kill_child $FT"
lines_are() { [ "$(wc -l <"$2")" -ge "$1" ]; }
wait_for 300 lines_are "$N" "$T/follow.json" &&
    t_ok "follow: the history" || t_fail "follow: the history" "$(wc -l <"$T/follow.json") of $N; $(cat "$T/follow.json.err")"
wait_for 100 lines_are "$N" "$T/follow.txt" || true

# a decision at the door: from the daemon's stream
sim door1 scan 260800000005 >/dev/null
wait_for 100 sql_is 1 "select count(*) from event where kind = 'checkin.accepted' and ticket = '260800000005'" ||
    t_fail "a third check-in" "$(tail -3 "$LOG")"
id=$(q "select id from event where kind = 'checkin.accepted' and ticket = '260800000005'")
wait_for 100 grep -q "^{\"id\":$id," "$T/follow.json" &&
    t_ok "follow: a new decision" || t_fail "follow: a new decision" "$(tail -c 300 "$T/follow.json")"

# examctl's own events: not streamed by the daemon
roster 21 25 >"$T/roster2.csv"
ctl roster import "$T/roster2.csv" >/dev/null || t_fail "second roster import" ""
id=$(q "select max(id) from event where kind = 'roster.imported'")
wait_for 100 grep -q "^{\"id\":$id,.*\"kind\":\"roster.imported\"" "$T/follow.json" &&
    t_ok "follow: roster.imported written by examctl" ||
    t_fail "follow: roster.imported written by examctl" "$(tail -c 300 "$T/follow.json")"
# one of examctl's, then at once one of the daemon's (the stream skips it)
ctl session add INV2 --certificate C --level 初级 --date "$TOMORROW" --start 09:00 --end 10:00 >/dev/null ||
    t_fail "session add" ""
sim door1 scan 260800000006 >/dev/null
wait_for 100 sql_is 1 "select count(*) from event where kind = 'checkin.accepted' and ticket = '260800000006'" ||
    t_fail "a fourth check-in" ""
M=$(q "select max(id) from event")
wait_for 100 lines_are "$M" "$T/follow.json" || true
wait_for 100 lines_are "$M" "$T/follow.txt" || true
t_eq "follow: session.added written by examctl" 1 \
    "$(jq -c 'select(.kind == "session.added" and .session == "INV2")' "$T/follow.json" | wc -l)"
t_eq "follow --json: each event once, in order" "$(seq 1 "$M" | paste -sd,)" \
    "$(jq -r .id "$T/follow.json" | paste -sd,)"
ctl --json events >"$T/root.json"
ctl events >"$T/root.txt"
t_eq "follow --json: what root reads from the database" "" \
    "$(diff "$T/root.json" "$T/follow.json" | head -5)"
t_eq "follow: the lines root reads from the database" "" \
    "$(diff "$T/root.txt" "$T/follow.txt" | head -5)"

# --- refusals ------------------------------------------------------------------------
t_rc "kiosk: events is 77" 77 xctl kiosk events
t_rc "kiosk: events --json is 77" 77 xctl kiosk --json events
t_rc "kiosk: incident list is 77" 77 xctl kiosk incident list

kill -TERM "$DPID"
wait "$DPID"
t_eq "SIGTERM: exit 0" 0 $?
DPID=
wait "$FJ"
t_eq "follow: exits 69 when the daemon stops" 69 $?
wait "$FT"
t_eq "follow (lines): exits 69 when the daemon stops" 69 $?
xctl operator events >/dev/null 2>"$T/e"
t_eq "no daemon: events exits 69" 69 $?
t_contains "no daemon: says why" "is not readable by this user, so examsited was asked" "$(cat "$T/e")"
t_eq "no daemon: one line" 1 "$(wc -l <"$T/e")"
t_rc "no daemon: incident list exits 69" 69 xctl operator incident list
grep -q "ERROR: AddressSanitizer\|runtime error\|LeakSanitizer" "$LOG" "$T"/*.err &&
    t_fail "sanitizers" "$(grep -m3 'ERROR\|runtime error' "$LOG" "$T"/*.err)" || t_ok "sanitizers quiet"
t_done
