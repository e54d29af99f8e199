#!/usr/bin/env bash
# kiosk-protocol.sh: what the control socket gives a kiosk, and only that
# (docs/control-protocol.md: room.state, subscribe since, the stream by
# role).  Clients run as uid 65534 in throwaway kiosk and operator groups.
#   room.state: the session now, counts equal to `examctl status`, seats
#     with their states, the last check-ins newest first, the room's
#     devices, tickets masked for a kiosk; refused (77) for a room the
#     station does not serve, and without a room (64);
#   subscribe: a kiosk must name a room it serves (77 otherwise);
#   the kiosk's stream: decisions of its room with name, seat and the
#     daemon's text, the ticket masked; no incident at all, no note, no
#     operator name, no account, no hash; roster changes as a stub; an
#     operator's stream still carries all of it;
#   since: a subscriber catches up on what it missed (replayed, oldest
#     first, then live), and the kiosk's catch-up is filtered the same way.
# Needs root, $BIN, jq, sqlite3, socat.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"

for tool in jq sqlite3 socat setpriv groupadd; do
    if ! command -v $tool >/dev/null; then
        t_fail "needs $tool" "install it (scripts/install-deps)"
        t_done
    fi
done
[ "$(id -u)" -eq 0 ] || { t_fail "needs root" ""; t_done; }
chmod 755 "$T"
G=exp$$
for r in kiosk operator; do
    groupadd -f "$G-$r" || t_fail "groupadd" ""
    t_on_exit "groupdel $G-$r"
done
gid() { getent group "$G-$1" | cut -d: -f3; }
as() { local r=$1; shift; setpriv --reuid=65534 --regid=65534 --groups="$(gid "$r")" "$@"; }
raw() { printf '%s\n' "$2" | as "$1" timeout 10 socat -t 2 - UNIX-CONNECT:"$SOCK"; }

pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null
grep -e '^ticket' -e ',ONTIME,' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""
chmod 644 "$DB"
sim_start door1 scanner || t_fail "examsim" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket 60 "kiosk_group = $G-kiosk
operator_group = $G-operator"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 1 || t_fail "device attached" ""

# Two subscribers from the start: a kiosk of room 101 and an operator.
sub_start() {   # sub_start NAME ROLE LINE
    mkfifo "$T/$1.in"
    as "$2" socat -t 2 STDIO UNIX-CONNECT:"$SOCK" <"$T/$1.in" >"$T/$1.log" 2>/dev/null &
    t_on_exit "kill $!"
    eval "exec {${1}_fd}>\"\$T/\$1.in\""
    eval "echo '$3' >&\$${1}_fd"
}
sub_start ksub kiosk '{"op":"subscribe","room":"101"}'
sub_start osub operator '{"op":"subscribe","room":"101"}'
wait_for 50 grep -q subscribed "$T/ksub.log" || t_fail "kiosk subscribed" "$(cat "$T/ksub.log")"
wait_for 50 grep -q subscribed "$T/osub.log" || t_fail "operator subscribed" "$(cat "$T/osub.log")"

mark
sim door1 scan 260100000006 >/dev/null
decision
accept_id=$(jq .id <<<"$D")
ctl checkin manual 260100000007 --operator 王老师 --reason "temporary ID 110105199001010061" >/dev/null
ctl incident add --ticket 260100000006 --kind V1 --operator 王老师 --note "phone on the desk" >/dev/null
sim door1 scan 260100000010 >/dev/null    # room 102: wrong room at 101
printf 'ticket,name,id_number,session,room,seat\n260100000099,新来,%s,ONTIME,101,12\n' \
    "$(idnum 11010519950101009)" >"$T/more.csv"
ctl roster import "$T/more.csv" >/dev/null || t_fail "second import" ""
mark
sim door1 scan 260100000099 >/dev/null
decision
last=$(q "select max(id) from event")
wait_for 50 grep -q "\"id\":$last," "$T/osub.log" || t_fail "operator stream up to date" ""
wait_for 50 grep -q "\"id\":$last," "$T/ksub.log" || t_fail "kiosk stream up to date" "$(tail -2 "$T/ksub.log")"

# --- the kiosk's stream ---------------------------------------------------------------
ev() { grep '"type":"event"' "$1" | jq -c .event; }
t_eq "kiosk: the accept, reduced" \
    '{"kind":"checkin.accepted","ticket":"********0006","name":"张三","seat":"06","msg":true,"op":null}' \
    "$(ev "$T/ksub.log" | jq -c "select(.id == $accept_id) | {kind, ticket, name: .payload.name,
        seat: .payload.seat, msg: (.payload.message_zh | length > 0), op: .operator}")"
t_eq "kiosk: no incident" 0 "$(ev "$T/ksub.log" | jq -c 'select(.kind | startswith("incident"))' | wc -l)"
t_eq "operator: the incident with its note" "phone on the desk" \
    "$(ev "$T/osub.log" | jq -r 'select(.kind == "incident.logged" and .payload.kind == "V1") | .payload.note')"
t_eq "kiosk: no note, account, operator, hash" 0 \
    "$(ev "$T/ksub.log" | jq -c 'select(.payload.note or .payload.account or .operator or .hash or .prev_hash)' | wc -l)"
t_eq "operator: the manual check-in's note and operator" "王老师" \
    "$(ev "$T/osub.log" | jq -r 'select(.kind == "checkin.manual") | .operator')"
t_eq "kiosk: the manual check-in, without its note" '{"seat":"07","note":null}' \
    "$(ev "$T/ksub.log" | jq -c 'select(.kind == "checkin.manual") | {seat: .payload.seat, note: .payload.note}')"
t_eq "kiosk: every ticket masked" 0 \
    "$(ev "$T/ksub.log" | jq -r '.ticket // empty' | grep -vc '^\*\+[0-9A-Za-z]\{4\}$')"
t_eq "kiosk: the wrong-room denial with the room to go to" "102" \
    "$(ev "$T/ksub.log" | jq -r 'select(.payload.reason == "wrong_room") | .payload.right_room')"
for f in "$T/ksub.log"; do
    t_eq "kiosk: no ID number in its stream" 0 "$(grep -c '110105199001010061\|11010519950101009' "$f")"
done

# --- room.state --------------------------------------------------------------------------
st=$(raw kiosk '{"op":"room.state","room":"101"}')
t_eq "room.state: ok" true "$(jq .ok <<<"$st")"
t_eq "room.state: the session now" "ONTIME|Web前端开发|初级|open|$(at 20)|$(at 35)" \
    "$(jq -r '.session | "\(.code)|\(.certificate)|\(.level)|\(.state)|\(.start)|\(.cutoff)"' <<<"$st")"
want=$(ctl --json status --session ONTIME --room 101 | jq -c '.sessions[0] | [.expected, .present, .late, .absent]')
t_eq "room.state: counts as examctl status" "$want" "$(jq -c '.counts | [.expected, .present, .late, .absent]' <<<"$st")"
t_eq "room.state: seats in order with states" "01:none 06:present 07:present 12:present" \
    "$(jq -r '[.seats[] | select(.seat == "01" or .seat == "06" or .seat == "07" or .seat == "12") | "\(.seat):\(.state)"] | join(" ")' <<<"$st")"
t_eq "room.state: tickets masked for a kiosk" 0 \
    "$(jq -r '.seats[].ticket' <<<"$st" | grep -vc '^\*\+[0-9]\{4\}$')"
t_eq "room.state: last check-ins, newest first" "12 07 06" "$(jq -r '[.recent[].seat] | join(" ")' <<<"$st")"
t_eq "room.state: the room's devices" "door1 scanner true" \
    "$(jq -r '.devices[] | "\(.name) \(.type) \(.attached)"' <<<"$st")"
t_eq "room.state: policy and last event" "ticket $last" "$(jq -r '"\(.policy) \(.last_event)"' <<<"$st")"
t_eq "room.state: an operator sees whole tickets" "260100000006" \
    "$(raw operator '{"op":"room.state","room":"101"}' | jq -r '.seats[] | select(.seat == "06") | .ticket')"
t_eq "room.state: a room not served is 77" "false 77" \
    "$(raw kiosk '{"op":"room.state","room":"102"}' | jq -r '"\(.ok) \(.code)"')"
t_eq "room.state: no room is 64" "false 64" \
    "$(raw kiosk '{"op":"room.state"}' | jq -r '"\(.ok) \(.code)"')"
t_eq "subscribe: a kiosk without a room is 77" "false 77" \
    "$(raw kiosk '{"op":"subscribe"}' | jq -r '"\(.ok) \(.code)"')"
t_eq "subscribe: a kiosk of a room not served is 77" "false 77" \
    "$(raw kiosk '{"op":"subscribe","room":"102"}' | jq -r '"\(.ok) \(.code)"')"
t_eq "subscribe: since must be an id" "false 64" \
    "$(raw kiosk '{"op":"subscribe","room":"101","since":"x"}' | jq -r '"\(.ok) \(.code)"')"

# --- since --------------------------------------------------------------------------------
out=$(raw kiosk "{\"op\":\"subscribe\",\"room\":\"101\",\"since\":$((accept_id - 1))}")
t_eq "since: the reply says what follows" "true true" \
    "$(head -1 <<<"$out" | jq -r '"\(.ok) \(.complete)"')"
# The log after it: room 101's decisions, the roster import (written by
# examctl, not the daemon: never streamed live, but in the log), no incident.
t_eq "since: the kiosk's replay, oldest first, filtered" \
    "$(q "select group_concat(id, ' ') from (select id from event where id >= $accept_id
          and kind not like 'incident.%' and (room = '101' or room is null) order by id)")" \
    "$(tail -n +2 <<<"$out" | jq -r .event.id | paste -sd' ')"
t_eq "since: a roster import comes to a kiosk as a stub" '["id","kind","time"]' \
    "$(tail -n +2 <<<"$out" | jq -c 'select(.event.kind == "roster.imported") | .event | keys' | tail -1)"
t_eq "since: replayed count" "$(tail -n +2 <<<"$out" | wc -l)" "$(head -1 <<<"$out" | jq .replayed)"
t_eq "since: the kiosk's replay has no incident" 0 "$(tail -n +2 <<<"$out" | grep -c incident)"
# An administrator's connection that drops to kiosk (as examkiosk does)
# gets exactly the kiosk's replay; without the drop, the admin's.
sub="{\"op\":\"subscribe\",\"room\":\"101\",\"since\":$((accept_id - 1))}"
dropped=$(printf '%s\n' '{"op":"role.drop","role":"kiosk"}' "$sub" |
    timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK" | tail -n +2)
t_eq "role.drop: root served as kiosk gets the kiosk's replay" \
    "$(tail -n +2 <<<"$out" | jq -c .event)" "$(tail -n +2 <<<"$dropped" | jq -c .event)"
admin=$(printf '%s\n' "$sub" | timeout 10 socat -t 3 - UNIX-CONNECT:"$SOCK")
t_eq "role.drop: without it, root sees the whole ticket" yes \
    "$(grep -q '"260100000006"' <<<"$admin" && ! grep -q '"260100000006"' <<<"$dropped" && echo yes)"
out=$(raw operator "{\"op\":\"subscribe\",\"room\":\"101\",\"since\":$((accept_id - 1))}")
t_eq "since: an operator's replay is the log" \
    "$(q "select group_concat(id, ' ') from (select id from event where id >= $accept_id and (room = '101' or room is null) order by id)")" \
    "$(tail -n +2 <<<"$out" | jq -r .event.id | paste -sd' ')"
# live after the replay: a check-in while a since-subscriber listens
mkfifo "$T/late.in"
as kiosk socat -t 2 STDIO UNIX-CONNECT:"$SOCK" <"$T/late.in" >"$T/late.log" 2>/dev/null &
t_on_exit "kill $!"
exec {LFD}>"$T/late.in"
echo "{\"op\":\"subscribe\",\"room\":\"101\",\"since\":$last}" >&$LFD
wait_for 50 grep -q subscribed "$T/late.log"
mark
sim door1 scan 260100000008 >/dev/null
decision
t_eq "since: then live" "$(jq .id <<<"$D")" \
    "$(wait_for 50 grep -q '"type":"event"' "$T/late.log"; ev "$T/late.log" | jq .id | head -1)"

t_rc "kiosk: devices still allowed" 0 as kiosk "$BIN/examctl" --socket "$SOCK" devices
grep -q "ERROR: AddressSanitizer\|runtime error" "$LOG" && t_fail "sanitizers" "$(grep -m3 'ERROR\|runtime error' "$LOG")" || t_ok "sanitizers quiet"
t_done
