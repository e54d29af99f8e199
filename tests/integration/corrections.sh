#!/usr/bin/env bash
# corrections.sh: the office's corrections, from the outside.
#   - roster import --apply-changes: a seat swap and a late registration,
#     the difference printed first (ID numbers by their last 4 only), the
#     roster.changed events, verify intact, status following; --dry-run and
#     the refusals (no reason, an empty one, a conflicting change) change
#     nothing; without --apply-changes the difference is named and refused;
#   - roster withdraw and session change on a site without a daemon: the
#     row kept and marked, status and export, the old and new values;
#   - with a running examsited and simulated devices: a correction refused
#     once the room has opened, accepted with --force and a reason (the
#     event says forced); a withdrawn ticket scanned is denied "withdrawn";
#     status no longer expects it and absent marking passes it by; a session
#     change is the next decision's time, and the daemon re-plans at once (a
#     reader starts polling); a sealed room is refused even with --force;
#     after every refusal verify is intact and the counts are as they were.
# Standalone: BIN=build bash tests/integration/corrections.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"

EX="$BIN/examctl"
SAMPLES="$TOP/examples"
OUT="$T/all-output.log" # every stdout and stderr, for the privacy check
: >"$OUT"
for tool in jq sqlite3; do
    command -v "$tool" >/dev/null || { t_fail setup "$tool is not installed"; t_done; }
done

# ex ARGS...: examctl on $A/site.db; stdout in $T/o, stderr in $T/e, RC.
ex() {
    "$EX" --db "$A/site.db" "$@" >"$T/o" 2>"$T/e"
    RC=$?
    cat "$T/o" "$T/e" >>"$OUT"
    return 0
}
dump() { sqlite3 "$A/site.db" .dump; }
# the same refusal leaves the database as it was and says one line
refused() { # NAME WANT-RC WANT-STDERR BEFORE
    t_eq "$1: exit" "$2" "$RC"
    t_contains "$1: says why" "examctl: $3" "$(cat "$T/e")"
    t_eq "$1: nothing changed" "$4" "$(dump)"
}

# --- a site with the sample sessions and roster --------------------------------
A=$T/a
mkdir -p "$A"
ex init --site-id HZVC-01 --site-name "示范考点" --station door-101
ex session import "$SAMPLES/sessions.csv"
ex roster import "$SAMPLES/roster.csv"
t_eq "site set up" 0 "$RC"
LATE_ID=$(idnum 32010219950315101)

# The office's corrected roster: 260000000001 and 260000000003 swap seats
# 01 and 02 of WEB-2026-12A room 101, and 260000000041 registers late.
sed -e 's/^\(260000000001,.*,WEB-2026-12A,101,\)01$/\102/' \
    -e 's/^\(260000000003,.*,WEB-2026-12A,101,\)02$/\101/' \
    "$SAMPLES/roster.csv" >"$T/roster-v2.csv"
echo "260000000041,周杰,$LATE_ID,WEB-2026-12A,102,41" >>"$T/roster-v2.csv"
t_eq "the corrected file differs in two rows and one more" 3 \
    "$(diff "$SAMPLES/roster.csv" "$T/roster-v2.csv" | grep -c '^>')"

before=$(dump)
# without --apply-changes: refused, the difference named
ex roster import "$T/roster-v2.csv"
refused "plain import of a corrected roster" 65 \
    "$T/roster-v2.csv:2: ticket 260000000001 is already on the roster with different details (seat 01 → 02): the office's corrections are applied with --apply-changes --reason TEXT" \
    "$before"
# a correction needs a reason, and a real one
ex roster import "$T/roster-v2.csv" --apply-changes
refused "apply without a reason" 64 "usage: --apply-changes needs --reason TEXT" "$before"
ex roster import "$T/roster-v2.csv" --apply-changes --reason ""
refused "apply with an empty reason" 64 "usage: a correction needs a reason" "$before"
ex roster import "$T/roster-v2.csv" --apply-changes --reason "   "
refused "apply with a blank reason" 64 "usage: the reason is only spaces" "$before"
ex roster import "$T/roster-v2.csv" --reason "座位调整"
refused "a reason without --apply-changes" 64 "usage: --reason goes with --apply-changes" "$before"
t_eq "usage refusals: one line each" 1 "$(wc -l <"$T/e")"

# --dry-run: the difference, nothing written
ex roster import "$T/roster-v2.csv" --apply-changes --dry-run
t_eq "dry run: exit" 0 "$RC"
t_contains "dry run: the counts" "roster-v2.csv: 1 added, 2 changed, 38 unchanged, 0 rejected" "$(cat "$T/o")"
t_eq "dry run: the seat swap, old → new" 2 \
    "$(grep -cE '^  changed  26000000000(1 +seat 01 → 02|3 +seat 02 → 01)$' "$T/o")"
t_eq "dry run: the late registration, ID by its last 4" 1 \
    "$(grep -cE "^  added    260000000041 +周杰  session WEB-2026-12A, room 102, seat 41, ID \*{14}${LATE_ID:14}$" "$T/o")"
t_contains "dry run: says so" "dry run, nothing written: 3 roster.changed events would be recorded" "$(cat "$T/o")"
t_eq "dry run: nothing written" "$before" "$(dump)"
ex --json roster import "$T/roster-v2.csv" --apply-changes --dry-run
t_eq "dry run json" true "$(jq '.dry_run and (.committed | not) and (.changes | length) == 2
    and (.added | length) == 1 and .added[0].id_number == ("**************" + "'"${LATE_ID:14}"'")
    and .changes[0].changes == {"seat":{"old":"01","new":"02"}} and .unchanged == 38 and .events == null' "$T/o")"
t_eq "dry run json: nothing written" "$before" "$(dump)"

# applied: one transaction, one roster.changed event per candidate
ex roster import "$T/roster-v2.csv" --apply-changes --reason "教务处 12 月 3 日更正"
t_eq "apply: exit" 0 "$RC"
t_contains "apply: the difference first" "  changed  260000000001   seat 01 → 02" "$(cat "$T/o")"
t_contains "apply: what was done" "applied: roster.changed events 5-7" "$(cat "$T/o")"
t_eq "apply: nothing on stderr" "" "$(cat "$T/e")"
ex --json events --since 4
t_eq "apply: the events" '["roster.changed/260000000001/changed","roster.changed/260000000003/changed","roster.changed/260000000041/added"]' \
    "$(jq -sc '[.[] | "\(.kind)/\(.ticket)/\(.payload.change)"]' "$T/o")"
last_digest=$(jq -sc '.[-1].payload.refdigest' "$T/o")
t_eq "apply: each with what changed, the reason, the account and the digest" true \
    "$(jq -s --argjson uid "$(id -u)" --argjson d "$last_digest" '
    .[0].payload.changes == {"seat":{"old":"01","new":"02"}}
    and .[1].payload.changes == {"seat":{"old":"02","new":"01"}}
    and .[2].room == "102" and .[2].payload.seat == "41"
    and all(.[]; .payload.reason == "教务处 12 月 3 日更正" and .payload.account.uid == $uid
        and .payload.refdigest.v == 2 and .payload.file == "roster-v2.csv"
        and .payload.refdigest == $d)' "$T/o")"
ex verify
t_eq "apply: verify intact" 0 "$RC"
t_contains "apply: tables as recorded" "roster tables: as recorded by event 7" "$(cat "$T/o")"
ex --json status --session WEB-2026-12A
t_eq "apply: status follows (the late one expected in 102)" '[["101",10],["102",11]]' \
    "$(jq -c '[.sessions[] | [.room, .expected]]' "$T/o")"
ex --json roster show 260000000001
t_eq "apply: the seat moved" '"02"' "$(jq -c .seat "$T/o")"
after_apply=$(dump)
ex roster import "$T/roster-v2.csv" --apply-changes --reason "again"
t_contains "apply again: nothing to change" "nothing changed: the roster already is as" "$(cat "$T/o")"
t_eq "apply again: nothing written" "$after_apply" "$(dump)"

# a change that conflicts: nothing, with or without --skip-invalid
{
    head -n 1 "$SAMPLES/roster.csv"
    grep '^260000000005,' "$SAMPLES/roster.csv" | sed 's/,[^,]*$/,01/'
} >"$T/conflict.csv"
for skip in "" --skip-invalid; do
    # shellcheck disable=SC2086
    ex roster import "$T/conflict.csv" --apply-changes --reason "冲突" $skip
    refused "conflicting change ${skip:-alone}" 65 \
        "$T/conflict.csv:2: seat 01 in room 101 of session WEB-2026-12A is already taken by ticket 260000000003" \
        "$after_apply"
    t_contains "conflicting change ${skip:-alone}: never skipped" "a change that conflicts is never skipped" "$(cat "$T/e")"
done
ex verify
t_eq "after the refusals: verify intact" 0 "$RC"

# --- withdraw and session change, no daemon --------------------------------------
ex roster withdraw 260000000002 --reason ""
refused "withdraw with an empty reason" 64 "usage: a correction needs a reason" "$after_apply"
ex roster withdraw 260000000002
refused "withdraw without a reason" 64 "usage: roster withdraw needs --reason TEXT" "$after_apply"
ex roster withdraw 269999999999 --reason "x"
refused "withdraw an unknown ticket" 65 "ticket 269999999999 is not on the roster" "$after_apply"
ex roster withdraw 260000000002 --reason "本人申请取消报名"
t_eq "withdraw: exit" 0 "$RC"
t_contains "withdraw: says so" "ticket 260000000002 withdrawn (林芳, session DB-2026-12B, room 101, seat 01): roster.withdrawn event 8" "$(cat "$T/o")"
ex roster show 260000000002
t_contains "withdraw: the row is kept, marked" "status     withdrawn" "$(cat "$T/o")"
ex --json roster list --session DB-2026-12B --room 101
t_eq "withdraw: roster list marks it" '["260000000002"]' "$(jq -c '[.candidates[] | select(.withdrawn) | .ticket]' "$T/o")"
ex --json status --session DB-2026-12B --room 101
t_eq "withdraw: no longer expected" 9 "$(jq '.sessions[0].expected' "$T/o")"
ex export attendance --session DB-2026-12B --room 101
t_contains "withdraw: export says withdrawn" '"260000000002","林芳","DB-2026-12B","101","01","withdrawn"' "$(cat "$T/o")"
ex verify
t_eq "withdraw: verify intact" 0 "$RC"
ex roster withdraw 260000000002 --reason "again"
t_contains "withdraw again: nothing to do" "was already withdrawn: nothing changed" "$(cat "$T/o")"
# the withdrawn candidate's seat may go to a late registration
printf '%s\n%s\n' "$(head -n 1 "$SAMPLES/roster.csv")" \
    "260000000042,郑强,$(idnum 11010519900101004),DB-2026-12B,101,01" >"$T/seat.csv"
ex roster import "$T/seat.csv"
t_eq "a withdrawn candidate's seat is free" 0 "$RC"

before=$(dump)
ex session change WEB-2026-12A --start 10:50 --reason "考试时间调整"
refused "session change that puts the cut-off after the end" 65 \
    "session WEB-2026-12A: late cut-off" "$before"
ex session change WEB-2026-12A --end 11:30
refused "session change without a reason" 64 "usage: session change needs --reason TEXT" "$before"
ex session change WEB-2026-12A --reason "x"
refused "session change of nothing" 64 "usage: session change needs what to change" "$before"
ex session change NOPE --start 09:30 --reason "x"
refused "session change of an unknown session" 65 "no session NOPE" "$before"
ex session change WEB-2026-12A --start 09:30 --end 11:30 --reason "考试时间调整"
t_eq "session change: exit" 0 "$RC"
t_contains "session change: old → new" "session WEB-2026-12A changed: start 09:00 → 09:30, end 11:00 → 11:30" "$(cat "$T/o")"
ex --json session list
t_eq "session change: the new times" '["09:30","11:30",30,15]' \
    "$(jq -c '.sessions[] | select(.code == "WEB-2026-12A") | [.start, .end, .opens_before, .late_after]' "$T/o")"
ex --json events
t_eq "session change: the event" true "$(jq -s '.[-1] | .kind == "session.changed" and .session == "WEB-2026-12A"
    and .payload.changes == {"start":{"old":"09:00","new":"09:30"},"end":{"old":"11:00","new":"11:30"}}
    and .payload.reason == "考试时间调整" and (.payload | has("forced") | not)' "$T/o")"
ex verify
t_eq "session change: verify intact" 0 "$RC"

# --- with a running examsited ----------------------------------------------------------
pick_zone
L=$T/live
mkdir -p "$L"
site_init "$L"
# OPEN and ABS are open now (ABS's cut-off in 5 minutes), SOON opens in 30
# minutes, LATER (room 102) is three hours off: its reader is not polled.
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "OPEN,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
    echo "SOON,Web前端开发,中级,$TODAY,$(at 40),$(at 100),10,15"
    echo "ABS,云计算,初级,$TODAY,$(at 0),$(at 90),30,5"
    echo "LATER,数据库管理,初级,$TODAY,$(at 170),$(at 180),10,5"
} >"$L/sessions.csv"
{
    echo "ticket,name,id_number,session,room,seat"
    for i in 1 2 3 4; do echo "27010000000$i,考生O$i,$(idnum 1101051990010110$i),OPEN,101,0$i"; done
    for i in 1 2; do echo "27020000000$i,考生S$i,$(idnum 1101051990010120$i),SOON,101,0$i"; done
    for i in 1 2 3; do echo "27030000000$i,考生A$i,$(idnum 1101051990010130$i),ABS,101,0$i"; done
    for i in 1 2; do echo "27040000000$i,考生L$i,$(idnum 1101051990010140$i),LATER,102,0$i"; done
} >"$L/roster.csv"
ctl session import "$L/sessions.csv" >/dev/null
ctl roster import "$L/roster.csv" >/dev/null
t_eq "live: roster" 11 "$(q 'select count(*) from candidate')"
sim_start door1 scanner || t_fail "live: examsim door1" "no pty"
sim_start r102 idcard || t_fail "live: examsim r102" "no pty"
{
    printf '[site]\nid = S1\nstation = st1\ndatabase = %s\ntimezone = %s\n' "$DB" "$ZONE"
    printf '[control]\nsocket = %s\n[policy]\nmode = ticket\n' "$SOCK"
    printf '[device door1]\ntype = scanner\ntransport = serial\npath = %s\nroom = 101\n' "${SIMPTY[door1]}"
    printf '[device r102]\ntype = idcard\ntransport = serial\npath = %s\nroom = 102\n' "${SIMPTY[r102]}"
} >"$L/site.conf"
clock_faked || t_fail "libfaketime" "install faketime (scripts/install-deps)"
daemon_start "$L/site.conf" "$L/daemon.log" || t_fail "live: daemon start" "$(tail -5 "$L/daemon.log")"
wait_for 100 all_attached 2 || t_fail "live: devices attached" "$(ctl devices 2>&1)"
polling() { [ "$(ctl --json devices | jq -r ".[] | select(.name == \"$1\") | .polling")" = "$2" ]; }
opened() { sql_is 1 "select count(*) from event where kind = 'session.opened' and session = '$1' and room = '$2'"; }
wait_for 100 opened OPEN 101 || t_fail "live: OPEN opened in 101" "$(tail -5 "$L/daemon.log")"
wait_for 100 opened ABS 101 || t_fail "live: ABS opened in 101" "$(tail -5 "$L/daemon.log")"
t_eq "live: LATER's reader idle" yes "$(polling r102 false && echo yes)"
scan() { mark; sim door1 scan "$1" >/dev/null; decision; }
# status_of SESSION ROOM: [expected, present, absent]
status_of() { ctl --json status | jq -c --arg s "$1" --arg r "$2" \
    '.sessions[] | select(.code == $s and .room == $r) | [.expected, .present, .absent]'; }
# state: what a refusal must leave as it was
state() { q "select count(*) from event"; q "select group_concat(ticket || withdrawn || seat) from candidate";
    q "select group_concat(code || start_min || end_min || opens_before || late_after) from session"; }
vfy() { ctl verify >/dev/null 2>&1 && echo intact || echo broken; }

scan 270100000001
check "live: a scan is decided" '.kind == "checkin.accepted" and .ticket == "270100000001"'

# a withdrawal once the room has opened: refused, then forced
before=$(state)
ctl roster withdraw 270100000003 --reason "本人申请取消报名" >"$T/o" 2>"$T/e"
t_eq "live: withdraw after opening: exit" 65 "$?"
t_eq "live: withdraw after opening: says why" \
    "examctl: session OPEN has opened in room 101: corrections need --force with a reason" "$(cat "$T/e")"
t_eq "live: withdraw after opening: nothing changed" "$before" "$(state)"
t_eq "live: withdraw after opening: verify" intact "$(vfy)"
t_eq "live: withdraw after opening: still expected" "[4,1,0]" "$(status_of OPEN 101)"
ctl roster withdraw 270100000003 --force --reason "" >"$T/o" 2>"$T/e"
t_eq "live: forced withdraw with an empty reason: exit" 64 "$?"
t_eq "live: forced withdraw with an empty reason: nothing changed" "$before" "$(state)"
ctl roster withdraw 270100000003 --force --reason "本人申请取消报名" >"$T/o" 2>"$T/e"
t_eq "live: forced withdraw: exit" 0 "$?"
t_contains "live: forced withdraw: says so" "forced: its room has opened" "$(cat "$T/o")"
t_eq "live: forced withdraw: told the daemon (no complaint)" "" "$(cat "$T/e")"
t_eq "live: forced withdraw: the event" 1 "$(q "select count(*) from event where kind = 'roster.withdrawn'
    and ticket = '270100000003' and json_extract(payload, '$.forced') = 1
    and json_extract(payload, '$.reason') = '本人申请取消报名'")"
scan 270100000003
check "live: a withdrawn ticket is denied" '.kind == "checkin.denied" and .payload.reason == "withdrawn"
    and .ticket == "270100000003" and .payload.message_en == "Registration withdrawn: see the invigilator"
    and .payload.message_zh == "已取消报名，请到监考员处"'
t_eq "live: status no longer expects it" "[3,1,0]" "$(status_of OPEN 101)"
scan 270100000002
check "live: the others still come in" '.kind == "checkin.accepted" and .ticket == "270100000002"'

# a session change: the next decision uses the new time
scan 270200000001
check "live: SOON too early" '.kind == "checkin.denied" and .payload.reason == "too_early"'
ctl session change SOON --opens-before 60 --reason "提前入场" >"$T/o" 2>"$T/e"
t_eq "live: session change before opening: exit" 0 "$?"
t_contains "live: session change: old → new" "opens_before 10 → 60" "$(cat "$T/o")"
sleep 1.1 # past the scanner's debounce of a repeated code
scan 270200000001
check "live: SOON admits at once with the new window" '.kind == "checkin.accepted" and .ticket == "270200000001"'
# ... and now that it has opened, a change needs --force
before=$(state)
ctl session change SOON --late-after 20 --reason "迟到放宽" >"$T/o" 2>"$T/e"
t_eq "live: session change after opening: exit" 65 "$?"
t_eq "live: session change after opening: says why" \
    "examctl: session SOON has opened in room 101: corrections need --force with a reason" "$(cat "$T/e")"
t_eq "live: session change after opening: nothing changed" "$before" "$(state)"
ctl session change SOON --late-after 20 --reason "迟到放宽" --force >"$T/o" 2>"$T/e"
t_eq "live: forced session change: exit" 0 "$?"
t_eq "live: forced session change: the event" 1 "$(q "select count(*) from event where kind = 'session.changed'
    and session = 'SOON' and json_extract(payload, '$.forced') = 1
    and json_extract(payload, '$.forced_rooms') = json_array('101')
    and json_extract(payload, '$.changes.late_after.new') = 20")"

# the daemon re-plans at once: LATER moved to now, its reader polls
ctl session change LATER --start "$(at 30)" --end "$(at 90)" --reason "考场调整" >"$T/o" 2>"$T/e"
t_eq "live: LATER moved: exit" 0 "$?"
t_eq "live: LATER moved: told the daemon" "" "$(cat "$T/e")"
wait_for 50 polling r102 true && t_ok "live: the moved session's reader polls" ||
    t_fail "live: the moved session's reader polls" "$(ctl devices 2>&1)"

# a late registration into a room that has not opened, while the daemon runs
{
    echo "ticket,name,id_number,session,room,seat"
    echo "270400000003,考生L3,$(idnum 11010519900101403),LATER,102,03"
} >"$L/late.csv"
ctl roster import "$L/late.csv" --apply-changes --reason "补报名" >"$T/o" 2>"$T/e"
t_eq "live: late registration: exit" 0 "$?"
t_eq "live: late registration: expected" "[3,0,0]" "$(status_of LATER 102)"

# absent marking passes a withdrawn candidate by
ctl roster withdraw 270300000002 --force --reason "资格复核未通过" >/dev/null 2>&1
t_eq "live: ABS: one withdrawn" 1 "$(q "select count(*) from candidate where session = 'ABS' and withdrawn = 1")"
clock_step 600 # the daemon's clock past ABS's cut-off
ctl reload >/dev/null 2>&1
wait_for 300 sql_is 2 "select count(*) from event where kind = 'absent.marked' and session = 'ABS'" ||
    t_fail "live: absent marked at the cut-off" "$(q "select count(*) from event where kind = 'absent.marked'")"
sleep 0.5
t_eq "live: absent: not the withdrawn one" "270300000001,270300000003" \
    "$(q "select group_concat(ticket) from (select ticket from event where kind = 'absent.marked' and session = 'ABS' order by ticket)")"
t_eq "live: ABS status" "[2,0,2]" "$(status_of ABS 101)"

# a sealed room: refused even with --force
ctl session close OPEN --room 101 --operator 主考 >/dev/null 2>&1 || t_fail "live: session close" "$(ctl session close OPEN --room 101 --operator x 2>&1)"
before=$(state)
ctl roster withdraw 270100000004 --force --reason "x" >"$T/o" 2>"$T/e"
t_eq "live: withdraw in a sealed room: exit" 65 "$?"
t_contains "live: withdraw in a sealed room: says why" "session OPEN in room 101 is closed and sealed" "$(cat "$T/e")"
ctl session change OPEN --end "$(at 130)" --force --reason "x" >"$T/o" 2>"$T/e"
t_eq "live: session change of a sealed room: exit" 65 "$?"
t_contains "live: session change of a sealed room: says why" "closed and sealed" "$(cat "$T/e")"
{
    echo "ticket,name,id_number,session,room,seat"
    echo "270100000004,考生O4,$(idnum 11010519900101104),OPEN,101,09"
} >"$L/sealed.csv"
ctl roster import "$L/sealed.csv" --apply-changes --force --reason "x" >"$T/o" 2>"$T/e"
t_eq "live: roster change in a sealed room: exit" 65 "$?"
t_contains "live: roster change in a sealed room: at its line" "sealed.csv:2: session OPEN in room 101 is closed and sealed" "$(cat "$T/e")"
t_eq "live: sealed refusals changed nothing" "$before" "$(state)"
t_eq "live: verify intact at the end" intact "$(vfy)"
t_eq "live: the daemon is alive" yes "$(daemon_alive && echo yes)"
t_eq "live: no system fault" 0 "$(grep -c 'not recorded' "$L/daemon.log")"

# --- privacy: no full ID number in any output -------------------------------------------
{
    cut -d, -f3 "$SAMPLES/roster.csv" | tail -n +2
    echo "$LATE_ID"
} >"$T/ids"
t_eq "privacy: no full ID number in any output" 0 "$(grep -c -F -f "$T/ids" "$OUT")"
t_eq "privacy: the grep can find one" 1 "$(grep -c -F "$LATE_ID" "$T/roster-v2.csv")"

t_done
