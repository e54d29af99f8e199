#!/usr/bin/env bash
# control.sh: the control socket's authorisation and its hostile input.
#   Roles from SO_PEERCRED: clients run as uid 65534 with setpriv, in a
#   throwaway kiosk, operator or admin group (created here, removed at
#   exit), or in none.  A kiosk may ping, list devices and subscribe, and
#   nothing else (77, nothing stored); an operator may log incidents and
#   read status but not reload; an admin-group member may reload; a client
#   in no group is refused at connect ({"ok":false,"code":77}).
#   Malformed requests (not JSON, an array, no op, unknown op, wrong types,
#   control characters, NUL, duplicate keys, huge numbers, oversize fields,
#   a 70 KiB line, a request with no newline then EOF) each get an error
#   reply (or a close) and store nothing; the daemon stays up.
#   A subscriber that never reads is dropped (logged) while the daemon
#   keeps deciding and a reading subscriber keeps receiving.
# Needs root (setpriv, groupadd), $BIN, jq, sqlite3, socat.
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"

t_needs --root jq sqlite3 socat setpriv groupadd
chmod 755 "$T"   # clients as uid 65534 reach the socket

# --- throwaway groups ---------------------------------------------------------
roles_setup kiosk operator admin
KGID=$(gid kiosk)
OGID=$(gid operator)
AGID=$(gid admin)
# xctl ROLE ARGS...: examctl over the socket as ROLE (root for "root").
xctl() {
    local role=$1
    shift
    if [ "$role" = root ]; then
        timeout 20 "$BIN/examctl" --socket "$SOCK" "$@"
    else
        as "$role" timeout 20 "$BIN/examctl" --socket "$SOCK" "$@"
    fi
}
# raw ROLE LINE: one raw request line, prints the reply line(s).
raw() {
    local role=$1
    shift
    if [ "$role" = root ]; then
        printf '%s\n' "$1" | timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK"
    else
        printf '%s\n' "$1" | as "$role" timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK"
    fi
}

# --- site -----------------------------------------------------------------------
pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "CTL,Web前端开发,初级,$TODAY,$(at 30),$(at 150),60,15"
} >"$T/sessions.csv"
{
    echo "ticket,name,id_number,session,room,seat"
    for i in $(seq 1 20); do
        printf '2607%08d,考生%d,%s,CTL,101,%02d\n' "$i" "$i" "$(idnum "3101041991$(printf %02d $((i % 12 + 1)))15$(printf %03d "$i")")" "$i"
    done
} >"$T/roster.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""
chmod 644 "$DB"

sim_start door1 scanner || t_fail "examsim" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket 60 "kiosk_group = $G-kiosk
operator_group = $G-operator
admin_group = $G-admin"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 1 || t_fail "device attached" "$(ctl devices 2>&1)"

count() { q "select count(*) from event"; }
# stored_nothing NAME BEFORE: no event was added since BEFORE.
stored_nothing() { t_eq "$1: nothing stored" "$2" "$(count)"; }

# --- roles ------------------------------------------------------------------------
t_eq "root is admin" admin "$(raw root '{"op":"ping"}' | jq -r .role)"
t_eq "kiosk group: role" kiosk "$(raw kiosk '{"op":"ping"}' | jq -r .role)"
t_eq "operator group: role" operator "$(raw operator '{"op":"ping"}' | jq -r .role)"
t_eq "admin group: role" admin "$(raw admin '{"op":"ping"}' | jq -r .role)"
# role.drop: lower for the rest of the connection, never higher
t_eq "admin drops to kiosk: then served as kiosk" "kiosk kiosk false 77" \
    "$(printf '%s\n' '{"op":"role.drop","role":"kiosk"}' '{"op":"ping"}' '{"op":"status"}' |
        timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK" | jq -r 'if .role then .role else "\(.ok) \(.code)" end' | paste -sd' ')"
t_eq "kiosk cannot raise itself" "false 77 kiosk" \
    "$(printf '%s\n' '{"op":"role.drop","role":"admin"}' '{"op":"ping"}' |
        as kiosk timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK" | jq -r 'if .role then .role else "\(.ok) \(.code)" end' | paste -sd' ')"
t_eq "role.drop: an unknown role is 64" "false 64" \
    "$(raw operator '{"op":"role.drop","role":"root"}' | jq -r '"\(.ok) \(.code)"')"
r=$(as none timeout 10 socat -u UNIX-CONNECT:"$SOCK" - </dev/null)
t_eq "no group: refused at connect" "false 77" "$(jq -r '"\(.ok) \(.code)"' <<<"$r")"
t_rc "no group: examctl devices exits 77" 77 xctl none devices
t_rc "no group: examctl events --follow exits 77" 77 xctl none --db "$DB" events --follow
# Only the first line gets an answer: the connection is closed.
t_eq "no group: examctl says why" 1 "$(xctl none devices 2>&1 | grep -c 'not authorised')"

before=$(count)
t_rc "kiosk: devices" 0 xctl kiosk devices
t_eq "kiosk: subscribe" true "$(raw kiosk '{"op":"subscribe","room":"101"}' | jq .ok)"
t_rc "kiosk: incident add is 77" 77 xctl kiosk incident add --ticket 260700000001 --kind V1 --operator x
t_rc "kiosk: checkin manual is 77" 77 xctl kiosk checkin manual 260700000001 --operator x --reason y
t_rc "kiosk: incident list is 77" 77 xctl kiosk incident list
t_rc "kiosk: session close is 77" 77 xctl kiosk session close CTL --room 101 --operator x
for op in status reload incident.list; do
    t_eq "kiosk: $op refused" "false 77" "$(raw kiosk "{\"op\":\"$op\"}" | jq -r '"\(.ok) \(.code)"')"
done
t_eq "kiosk: incident.add refused (raw)" "false 77" \
    "$(raw kiosk '{"op":"incident.add","ticket":"260700000001","kind":"V1","operator":"x"}' | jq -r '"\(.ok) \(.code)"')"
t_eq "kiosk: checkin.manual refused (raw)" "false 77" \
    "$(raw kiosk '{"op":"checkin.manual","ticket":"260700000001","operator":"x","reason":"y"}' | jq -r '"\(.ok) \(.code)"')"
stored_nothing "kiosk" "$before"

t_rc "operator: incident add" 0 xctl operator incident add --ticket 260700000001 --kind V1 --operator 王老师
t_eq "operator: the incident is stored" "1|王老师" \
    "$(q "select count(*), operator from event where kind = 'incident.logged' and ticket = '260700000001'")"
t_eq "operator: status" true "$(raw operator '{"op":"status"}' | jq '.ok and (.sessions | length == 1)')"
t_rc "operator: incident list" 0 xctl operator incident list
# As installed, the database is the daemon's alone (mode 0600 here): an
# operator's examctl status asks the daemon instead.
chmod 600 "$DB"
t_eq "operator: examctl status through the daemon" "1 1" \
    "$(xctl operator --db "$DB" --json status | jq -r '"\(.sessions | length) \(.sessions[0].incidents)"')"
t_rc "kiosk: examctl status is 77" 77 xctl kiosk --db "$DB" status
chmod 644 "$DB"
before=$(count)
t_eq "operator: reload refused" "false 77" "$(raw operator '{"op":"reload"}' | jq -r '"\(.ok) \(.code)"')"
stored_nothing "operator reload" "$before"
t_eq "admin group: reload" true "$(raw admin '{"op":"reload"}' | jq .ok)"
t_eq "root: reload" true "$(raw root '{"op":"reload"}' | jq .ok)"

# --- malformed requests ---------------------------------------------------------------
# bad NAME LINE CODE: an error reply with that code, nothing stored, the
# daemon still answers.
bad() {
    local before r
    before=$(count)
    r=$(raw root "$2")
    t_eq "$1: error $3" "false $3" "$(jq -r '"\(.ok) \(.code)"' <<<"$r" 2>/dev/null)"
    t_eq "$1: nothing stored" "$before" "$(count)"
}
A='"op":"incident.add","kind":"V1","operator":"x"'
bad "not JSON" 'this is not json' 65
bad "JSON array" '[{"op":"ping"}]' 65
bad "JSON string" '"ping"' 65
bad "empty object (no op)" '{}' 64
bad "op not a string" '{"op":7}' 64
bad "unknown op" '{"op":"drop_tables"}' 64
bad "duplicate keys" "{$A,\"ticket\":\"260700000002\",\"ticket\":\"260700000003\"}" 65
bad "ticket a number" "{$A,\"ticket\":260700000002}" 64
bad "ticket an object" "{$A,\"ticket\":{\"x\":1}}" 64
bad "both ticket and seat" "{$A,\"ticket\":\"260700000002\",\"seat\":\"101:02\"}" 64
bad "empty ticket" "{$A,\"ticket\":\"\"}" 65
bad "control character in a string" "{\"op\":\"incident.add\",\"kind\":\"V1\",\"operator\":\"x\\u0007y\",\"ticket\":\"260700000002\"}" 65
bad "newline in a note" "{$A,\"ticket\":\"260700000002\",\"note\":\"a\\nb\"}" 65
bad "NUL in a string" "{$A,\"ticket\":\"2607\\u000000002\"}" 65
bad "note over 1000 bytes" "{$A,\"ticket\":\"260700000002\",\"note\":\"$(head -c 1001 /dev/zero | tr '\0' n)\"}" 65
bad "amend id a string" '{"op":"incident.amend","id":"1","operator":"x","note":"y"}' 64
bad "amend id negative" '{"op":"incident.amend","id":-5,"operator":"x","note":"y"}' 64
bad "amend id a real" '{"op":"incident.amend","id":1.5,"operator":"x","note":"y"}' 64
bad "amend id huge (int64 max)" '{"op":"incident.amend","id":9223372036854775807,"operator":"x","note":"y"}' 65
bad "amend id beyond int64" '{"op":"incident.amend","id":99999999999999999999999999,"operator":"x","note":"y"}' 65
bad "number 1e400" '{"op":"incident.amend","id":1e400,"operator":"x","note":"y"}' 65
bad "invalid UTF-8" "$(printf '{"op":"ping","x":"\xff\xfe"}')" 65
bad "deep nesting" "{\"op\":\"ping\",\"x\":$(printf '[%.0s' $(seq 3000))$(printf ']%.0s' $(seq 3000))}" 65
bad "manual check-in, unknown ticket" '{"op":"checkin.manual","ticket":"269999999999","operator":"x","reason":"y"}' 65
bad "session close, no such session" '{"op":"session.close","session":"NOPE","room":"101","operator":"x"}' 65

# Two requests on one connection: two replies, in order.
t_eq "pipelined requests" "ping devices" "$(printf '{"op":"ping"}\n{"op":"devices"}\n' |
    timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK" | jq -r 'if .role then "ping" else "devices" end' | paste -sd' ')"

# 70 KiB in one line: refused and closed.
before=$(count)
big="{$A,\"ticket\":\"260700000002\",\"note\":\"$(head -c 71680 /dev/zero | tr '\0' n)\"}"
r=$(printf '%s\n{"op":"ping"}\n' "$big" | timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK")
t_eq "70 KiB line: refused" "false 65" "$(head -1 <<<"$r" | jq -r '"\(.ok) \(.code)"')"
t_eq "70 KiB line: connection closed (no second reply)" 1 "$(grep -c . <<<"$r")"
stored_nothing "70 KiB line" "$before"
# 70 KiB with no newline at all: refused too.
r=$(printf '%s' "$big" | timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK")
t_eq "70 KiB, no newline: refused" "false 65" "$(jq -r '"\(.ok) \(.code)"' <<<"$r" 2>/dev/null)"
stored_nothing "70 KiB, no newline" "$before"
# A valid request with no newline, then EOF: never carried out.
r=$(printf '{%s,"ticket":"260700000002"}' "$A" | timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK")
t_eq "no newline then EOF: no reply" "" "$r"
stored_nothing "no newline then EOF" "$before"
daemon_alive && t_ok "daemon up after hostile input" || t_fail "daemon up after hostile input" "$(tail -5 "$LOG")"

# A subscriber's further lines are ignored (it only listens).
before=$(count)
printf '{"op":"subscribe"}\n{%s,"ticket":"260700000002"}\n' "$A" | timeout 10 socat -t 2 - UNIX-CONNECT:"$SOCK" >"$T/sub.out"
t_eq "subscriber: only the subscribe reply" 1 "$(grep -c '"ok"' "$T/sub.out")"
stored_nothing "subscriber's request" "$before"

# --- a subscriber that never reads ----------------------------------------------------------
# It subscribes as an operator (a kiosk's stream carries no incidents),
# then its socat blocks writing into a fifo nobody reads.  1,200 incidents with 1,000-byte notes (pipelined on
# one operator connection) make about 1.7 MB of events, well past the
# 1 MiB queue and the kernel's buffers.
mkfifo "$T/slow.fifo" "$T/slow.in"
exec {SLOWR}<>"$T/slow.fifo"          # held open, never read
as operator socat UNIX-CONNECT:"$SOCK" STDIO <"$T/slow.in" >"$T/slow.fifo" 2>/dev/null &
SLOWPID=$!
t_on_exit '[ -n "$SLOWPID" ] && kill $SLOWPID'
exec {SLOWW}>"$T/slow.in"
echo '{"op":"subscribe"}' >&$SLOWW
follow_start "$T/follow.log"
wait_for 50 grep -q . "$T/follow.log" || true
t0=$(date +%s)
before=$(count)
note=$(head -c 1000 /dev/zero | tr '\0' n)
for i in $(seq 1 1200); do
    printf '{"op":"incident.add","ticket":"2607%08d","kind":"V9","operator":"flood","note":"%s"}\n' $((i % 20 + 1)) "$note"
done >"$T/flood.ndjson"
as operator timeout 300 socat -t 30 - UNIX-CONNECT:"$SOCK" <"$T/flood.ndjson" >"$T/flood.out" &
FLOODPID=$!
t_on_exit '[ -n "$FLOODPID" ] && kill $FLOODPID'
wait_for 1200 grep -q "not reading; dropped" "$LOG" &&
    t_ok "slow subscriber dropped (logged)" || t_fail "slow subscriber dropped (logged)" "$(tail -3 "$LOG")"
grep -q "subscriber uid 65534 is not reading; dropped" "$LOG" &&
    t_ok "dropped the right subscriber" || t_fail "dropped the right subscriber" "$(grep dropped "$LOG")"
s=$(date +%s)
t_rc "daemon answers during the flood" 0 xctl root devices
t_eq "answers quickly" 1 "$(($(date +%s) - s < 5))"
wait "$FLOODPID"
FLOODPID=
t_eq "flood: every incident answered ok" 1200 "$(grep -c '"ok":true' "$T/flood.out")"
t_eq "flood: every incident stored" $((before + 1200)) "$(count)"
# Still deciding: a real check-in after the flood.
before=$(q "select coalesce(max(id), 0) from event")
sim door1 scan 260700000005 >/dev/null
wait_for 150 sql_is 1 "select count(*) from event where id > $before and kind = 'checkin.accepted' and ticket = '260700000005'" &&
    t_ok "still deciding after the flood" || t_fail "still deciding after the flood" "$(tail -3 "$LOG")"
id=$(q "select id from event where ticket = '260700000005' and kind = 'checkin.accepted'")
wait_for 100 grep -q "\"id\":${id:-0}," "$T/follow.log" &&
    t_ok "a reading subscriber kept its stream" || t_fail "a reading subscriber kept its stream" "$(tail -c 300 "$T/follow.log")"
kill -0 "$FPID" 2>/dev/null && t_ok "reading subscriber not dropped" || t_fail "reading subscriber not dropped" ""
t_eq "reading subscriber got every event" "$(q "select count(*) from event")" "$(wc -l <"$T/follow.log")"
echo "flood took $(($(date +%s) - t0)) s" >&2

kill -TERM "$DPID"
wait "$DPID"
t_eq "SIGTERM: exit 0" 0 $?
DPID=
t_rc "verify" 0 ctl verify
grep -q "ERROR: AddressSanitizer\|runtime error\|LeakSanitizer" "$LOG" &&
    t_fail "sanitizers" "$(grep -m3 'ERROR\|runtime error' "$LOG")" || t_ok "sanitizers quiet"
t_done
