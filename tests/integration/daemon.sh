#!/usr/bin/env bash
# daemon.sh: examsited end to end with simulated devices.  Two serial
# scanners (door1, door2) and a serial ID-card reader (reader1), all bound
# to room 101, each an examsim on a pseudo-terminal.  Walks every check-in
# rule of examsited(8) through the real binaries and checks each decision in
# the database (the event table, json_extract on payloads), in the event
# stream (`examctl events --follow --json`), and in `examctl status`:
#   policy ticket: wrong room (right room named), not on the roster, too
#     early, wrong day, late (with its automatic late incident in the same
#     transaction), exit then (later, by ID card) re-entry, closed, on-time
#     accept, duplicate and duplicate at a second door (two_doors), an
#     unreadable code and a card in ticket mode (notices, no event),
#     manual check-in and the supervisor's override after the cut-off,
#     incidents (by ticket with a confirming invigilator, by seat, bad kind,
#     amend), session close (seals: incident and check-in refused, amend
#     allowed);
#   SIGHUP with a broken configuration (keeps running, logs), SIGHUP to
#   policy id: card accept, expired card, name mismatch (accepted with a
#   warning), card not on the roster, re-entry by card;
#   SIGHUP to id+ticket with a 2 s window: card then ticket (card+ticket),
#   pair timeout, pair mismatch;
#   absent marking on the cut-off timer (only the served room, only those
#   not checked in), export attendance, status, verify, SIGTERM exits 0,
#   --check-config (0, and 78 with FILE:LINE), no resident ID number in
#   the log, the database or the stream.
# Sessions are made relative to now in the site's zone (lib-daemon.sh
# pick_zone).  Needs $BIN, jq, sqlite3, socat, libfaketime (the daemon's
# clock is stepped past the absent-marking cut-off instead of waiting).
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"

t_needs jq sqlite3 socat

# --- site, sessions, roster ----------------------------------------------
pick_zone
site_init "$T"
# ABS: starts this minute; its cut-off is 10 minutes on.  The daemon's
# wall clock is faked (lib-daemon.sh clock_faked) and stepped past the
# cut-off when the test gets there: nobody waits for a real minute.
abs_late=10
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
    echo "LATE,Web前端开发,中级,$TODAY,$(at -5),$(at 100),30,30"
    echo "EARLY,数据库管理,初级,$TODAY,$(at 120),$(at 180),10,15"
    echo "CLOSED,数据库管理,中级,$TODAY,$(at -40),$(at 60),30,10"
    echo "ABS,云计算,初级,$TODAY,$(at 0),$(at 90),30,$abs_late"
    echo "TMRW,云计算,高级,$TOMORROW,09:00,11:00,30,15"
} >"$T/sessions.csv"
t_rc "session import" 0 ctl session import "$T/sessions.csv"
t_rc "roster import" 0 ctl roster import "$DDATA/roster.csv"

sim_start door1 scanner || t_fail "examsim door1" "no pty"
sim_start door2 scanner || t_fail "examsim door2" "no pty"
sim_start reader1 idcard || t_fail "examsim reader1" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket

# --- --check-config --------------------------------------------------------
t_rc "check-config good" 0 "$BIN/examsited" --config "$CONF" --check-config
printf '[site]\nid = S1\n[policy]\nmode = sometimes\n' >"$T/bad.conf"
out=$("$BIN/examsited" --config "$T/bad.conf" --check-config 2>&1)
t_eq "check-config bad: exit 78" 78 $?
t_contains "check-config bad: FILE:LINE" "$T/bad.conf:4" "$out"
sed 's/^station = st1/station = door-9/' "$CONF" >"$T/other.conf"
out=$("$BIN/examsited" --config "$T/other.conf" --check-config 2>&1)
t_eq "check-config, another station's name: still 0" 0 $?
t_contains "check-config, another station's name: warned with FILE:LINE" \
    "$T/other.conf:3: [site] station 'door-9' differs from the database's 'st1'" "$out"

# --- start -----------------------------------------------------------------
clock_faked || t_fail "libfaketime" "install faketime (scripts/install-deps)"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 3 || t_fail "devices attached" "$(ctl devices 2>&1)"
follow_start "$T/follow.log"
# A raw subscriber sees notices too.
mkfifo "$T/raw.in"
socat -t 2 STDIO UNIX-CONNECT:"$SOCK" <"$T/raw.in" >"$T/raw.log" 2>"$T/raw.err" &
RAWPID=$!
t_on_exit '[ -n "$RAWPID" ] && kill $RAWPID'
exec {RAWFD}>"$T/raw.in"
echo '{"op":"subscribe","room":"101"}' >&$RAWFD
wait_for 50 grep -q '"subscribed":"101"' "$T/raw.log" || t_fail "raw subscribe" "$(cat "$T/raw.log")"
notices() { grep -c "\"notice\":\"$1\"" "$T/raw.log"; }
notices_ge() { [ "$(notices "$1")" -ge "$2" ]; }

# --- decisions ---------------------------------------------------------------
MARK=0
scan() { mark; sim "$1" scan "$2" >/dev/null; decision; }
# rescan DEVICE CODE: the same code again at the same door, as a person
# would, past the daemon's debounce of a scanner's repeats (1 s).
rescan() { sleep 1.1; scan "$@"; }
# card FILE: place a card, take the decision, remove it (and give the
# reader a poll to see it gone).
card() {
    mark
    sim reader1 place "$CARDS/$1" >/dev/null
    decision
    sim reader1 remove >/dev/null
    sleep 0.9
}
events_after() { q "select count(*) from event where id > $MARK"; }

# ABS: one candidate checked in by hand before the cut-off passes.
mark
out=$(ctl --json checkin manual 260500000001 --operator 王老师 --reason "ID card forgotten" 2>&1)
t_eq "manual check-in (ABS) exit" 0 $?
decision
check "manual check-in (ABS) recorded" '.kind == "checkin.manual" and .ticket == "260500000001"
    and .operator == "王老师" and .payload.via == "manual" and .payload.late == true
    and (.payload | has("override") | not)'

scan door1 260100000010
check "wrong room, right room named" '.kind == "checkin.denied" and .payload.reason == "wrong_room"
    and .payload.right_room == "102" and .ticket == "260100000010" and .room == "101"
    and .device == "door1"'

scan door1 269999999999
check "ticket not on the roster" '.kind == "checkin.denied" and .payload.reason == "not_on_roster"
    and .ticket == "269999999999" and .session == null'

scan door1 260300000001
check "too early" '.kind == "checkin.denied" and .payload.reason == "too_early" and .session == "EARLY"'

scan door1 260600000001
check "wrong day" '.kind == "checkin.denied" and .payload.reason == "wrong_day" and .payload.when == "'"$TOMORROW"'"'

scan door1 260200000001
check "late: accepted, marked late" '.kind == "checkin.accepted" and .payload.late == true
    and .payload.via == "ticket" and .session == "LATE" and .payload.seat == "01"'
late_id=$(jq .id <<<"$D")
t_eq "late: automatic incident in the same transaction" "incident.logged|late|$late_id|260200000001" \
    "$(q "select kind, json_extract(payload, '\$.kind'), json_extract(payload, '\$.checkin_event'), ticket
          from event where id = $((late_id + 1))")"

rescan door1 260200000001
check "scan after the start: exit" '.kind == "checkin.exit" and .ticket == "260200000001"'

scan door1 260400000001
check "after the cut-off: closed" '.kind == "checkin.denied" and .payload.reason == "closed" and .session == "CLOSED"'

scan door1 260100000006
check "on time (window open, before the start)" '.kind == "checkin.accepted" and (.payload | has("late") | not)
    and .payload.via == "ticket" and .payload.seat == "06" and .device == "door1"'
ontime_id=$(jq .id <<<"$D")
t_eq "on time: no incident" 0 "$(q "select count(*) from event where id > $ontime_id and kind = 'incident.logged'")"

rescan door1 260100000006
check "duplicate, same door" '.kind == "checkin.duplicate" and (.payload | has("flag") | not)
    and (.payload.when | startswith("'"$(date -u +%Y-%m-%d)"'"))'
scan door2 260100000006
check "duplicate at a second door: two_doors" '.kind == "checkin.duplicate" and .payload.flag == "two_doors" and .device == "door2"'
t_eq "duplicate: still one accept" 1 "$(q "select count(*) from event where ticket = '260100000006' and kind = 'checkin.accepted'")"

# Input that decides nothing: a notice, no event.
mark
n=$(notices error)
sim door1 scan 'NOT-A-TICKET!' >/dev/null
wait_for 50 notices_ge error $((n + 1)) || t_fail "unreadable code: notice" "$(tail -3 "$T/raw.log")"
n=$(notices hint)
sim reader1 place "$CARDS/260000000004.json" >/dev/null
wait_for 50 notices_ge hint $((n + 1)) || t_fail "card in ticket mode: hint" "$(tail -3 "$T/raw.log")"
sim reader1 remove >/dev/null
sleep 0.5
t_eq "unreadable code, card in ticket mode: no event" 0 "$(events_after)"
t_eq "notice format" true "$(grep '"type":"notice"' "$T/raw.log" | tail -1 |
    jq '.room == "101" and (.message_zh | length > 0) and (.message_en | length > 0)')"

# Manual check-in and override.
mark
t_rc "manual check-in exit 0" 0 ctl checkin manual 260100000007 --operator 王老师 --reason "temporary ID certificate"
decision
check "manual check-in before the start" '.kind == "checkin.manual" and .payload.result == "accepted"
    and .payload.note == "temporary ID certificate" and (.payload | has("override") | not)
    and (.payload | has("late") | not) and .operator == "王老师"'
t_rc "manual check-in twice: 65" 65 ctl checkin manual 260100000007 --operator 王老师 --reason again
t_rc "manual check-in, not on the roster: 65" 65 ctl checkin manual 269999999999 --operator 王老师 --reason x
t_rc "manual check-in without a reason: 64" 64 ctl checkin manual 260100000011 --operator 王老师
mark
t_rc "override after the cut-off exit 0" 0 ctl checkin manual 260400000001 --operator 主考张 --reason "bus broke down"
decision
check "override after the cut-off" '.kind == "checkin.manual" and .payload.override == true
    and .payload.late == true and .operator == "主考张" and .session == "CLOSED"'

# A resident ID number by the wrong path: typed as a ticket, scanned as
# one, written in a note.  Masked or refused, never stored, shown or
# logged whole (the leak check at the end covers the log and the stream).
idn=$(sed -n 2p "$DDATA/roster.csv" | cut -d, -f3)
masked="${idn:0:6}********${idn:14:4}"
out=$(ctl checkin manual "$idn" --operator 王老师 --reason "typed the ID" 2>&1)
t_eq "ID number as a manual ticket: refused (65)" 65 $?
t_contains "ID number as a manual ticket: said masked" "$masked" "$out"
[[ "$out" == *"$idn"* ]] && t_fail "ID number as a manual ticket: not echoed" "$out" ||
    t_ok "ID number as a manual ticket: not echoed"
rescan door1 "$idn"
check "ID number scanned as a ticket: denied, stored masked" \
    '.kind == "checkin.denied" and .payload.reason == "id_number_as_ticket" and .ticket == "'"$masked"'"'
out=$(ctl --json incident add --seat 101:07 --session ONTIME --kind other --operator 王老师 --note "card of $idn left at the door")
t_contains "ID number in a note: stored masked" "card of $masked left" "$out"

# --- incidents and sealing -----------------------------------------------------
mark
out=$(ctl --json incident add --ticket 260100000006 --kind V1 --operator 王老师 --confirmed-by 李老师 --note "phone on the desk")
t_eq "incident by ticket exit" 0 $?
inc1=$(jq .id <<<"$out")
t_eq "incident by ticket stored" "incident.logged|ONTIME|101|260100000006|王老师|V1|06|李老师|phone on the desk" \
    "$(q "select kind, session, room, ticket, operator, json_extract(payload, '\$.kind'),
          json_extract(payload, '\$.seat'), json_extract(payload, '\$.confirmed_by'),
          json_extract(payload, '\$.note') from event where id = ${inc1:-0}")"
# ABS is under way in room 101 while ONTIME's check-in is open: a seat
# incident without --session goes to the exam under way.
out=$(ctl --json incident add --seat 101:05 --kind V3 --operator 王老师)
t_eq "incident by seat exit" 0 $?
t_eq "incident by seat: the session under way" "incident.logged|ABS|05" \
    "$(q "select kind, session, json_extract(payload, '\$.seat') from event where id = $(jq .id <<<"$out")")"
out=$(ctl --json incident add --seat 101:05 --session ONTIME --kind V3 --operator 王老师)
t_eq "incident by seat and session exit" 0 $?
t_eq "incident by seat and session: the seat's candidate" "incident.logged|ONTIME|260100000005|05" \
    "$(q "select kind, session, ticket, json_extract(payload, '\$.seat') from event where id = $(jq .id <<<"$out")")"
mark
t_rc "incident: bad kind is 65" 65 ctl incident add --ticket 260100000006 --kind V0 --operator 王老师
t_rc "incident: confirmer must differ (65)" 65 ctl incident add --ticket 260100000006 --kind V2 --operator 王老师 --confirmed-by 王老师
t_rc "incident: neither ticket nor seat (64)" 64 ctl incident add --kind V2 --operator 王老师
t_rc "incident: unknown ticket (65)" 65 ctl incident add --ticket 269999999999 --kind V2 --operator 王老师
t_eq "refused incidents store nothing" 0 "$(events_after)"
out=$(ctl --json incident amend "$inc1" --operator 李老师 --note "seen on video: confirmed")
t_eq "amend exit" 0 $?
t_eq "amend points at the incident" "incident.amended|$inc1|李老师" \
    "$(q "select kind, json_extract(payload, '\$.amends'), operator from event where id = $(jq .id <<<"$out")")"
t_rc "amend a non-incident: 65" 65 ctl incident amend "$late_id" --operator 李老师 --note x

inc2=$(ctl --json incident add --ticket 260400000002 --kind C5 --operator 主考张 | jq .id)
t_eq "incident before close" "C5" "$(q "select json_extract(payload, '\$.kind') from event where id = ${inc2:-0}")"
t_rc "session close" 0 ctl session close CLOSED --room 101 --operator 主考张
t_eq "session.closed recorded" "1|主考张" "$(q "select count(*), operator from event where kind = 'session.closed' and session = 'CLOSED' and room = '101'")"
t_rc "session close twice: 65" 65 ctl session close CLOSED --room 101 --operator 主考张
mark
t_rc "sealed: incident add refused (65)" 65 ctl incident add --ticket 260400000003 --kind V1 --operator 主考张
t_rc "sealed: manual check-in refused (65)" 65 ctl checkin manual 260400000003 --operator 主考张 --reason x
t_eq "sealed: refusals store nothing" 0 "$(events_after)"
scan door1 260400000003
check "sealed: check-in denied" '.kind == "checkin.denied" and .payload.reason == "sealed"'
t_rc "sealed: amend still allowed" 0 ctl incident amend "$inc2" --operator 主考张 --note "impersonation confirmed"

# device health: door1 has read codes, the reader nothing yet
t_eq "devices: last read of a scanner that scanned" true \
    "$(ctl --json devices | jq '[.[] | select(.name == "door1")][0].last_read | test("^[0-9-]+T[0-9:.]+Z$")')"

# --- SIGHUP with a broken configuration ----------------------------------------
cp "$CONF" "$T/good.conf"
printf '[site]\nid = S1\n[policy]\nmode = sometimes\n' >"$CONF"
kill -HUP "$DPID"
wait_for 50 grep -q "reload refused" "$LOG" || t_fail "broken reload: logged" "$(tail -3 "$LOG")"
t_ok "broken reload: logged"
daemon_alive && t_ok "broken reload: still running" || t_fail "broken reload: still running" "$(tail -3 "$LOG")"
wait_for 30 all_attached 3 || t_fail "broken reload: devices kept" "$(ctl devices 2>&1)"
scan door1 269999999998
check "broken reload: old policy (ticket) still deciding" '.kind == "checkin.denied" and .payload.reason == "not_on_roster"'

# --- policy id --------------------------------------------------------------------
# reload MODE [PAIR]: rewrite the configuration, SIGHUP, wait for the
# devices to come back.
reload() {
    local before
    before=$(q "select count(*) from event where kind = 'device.attached'")
    write_conf "$CONF" "$@"
    kill -HUP "$DPID"
    wait_for 100 sql_ge $((before + 3)) "select count(*) from event where kind = 'device.attached'" ||
        t_fail "reload $1: devices back" "$(tail -3 "$LOG")"
    wait_for 30 all_attached 3
}
reload id
grep -q "configuration reloaded: 3 devices, policy id" "$LOG" && t_ok "reload to id: logged" ||
    t_fail "reload to id: logged" "$(tail -3 "$LOG")"

card 260000000001.json
check "card: accepted on time" '.kind == "checkin.accepted" and .ticket == "260100000001"
    and .payload.via == "card" and .payload.name == "黄伟" and (.payload | has("warnings") | not)
    and .device == "reader1"'
card expired.json
check "card: expired, denied for review" '.kind == "checkin.denied" and .payload.reason == "card_expired"
    and .ticket == "260100000004"'
card namemismatch.json
check "card: name mismatch accepted with a warning" '.kind == "checkin.accepted" and .ticket == "260100000005"
    and .payload.warnings == ["name_mismatch"] and .payload.name == "曹欣怡"'
card notonroster.json
check "card: not on the roster" '.kind == "checkin.denied" and .payload.reason == "not_on_roster" and .ticket == null'
card 260000000002.json
check "re-entry by ID card after exit" '.kind == "checkin.reentry" and .ticket == "260200000001" and .payload.via == "card"'
t_eq "exit and re-entry both recorded" "checkin.accepted,checkin.exit,checkin.reentry" \
    "$(q "select group_concat(kind) from (select kind from event where ticket = '260200000001' and kind like 'checkin.%' order by id)")"

# --- policy id+ticket, 2 s window ----------------------------------------------------
reload id+ticket 2
n=$(notices pending)
mark
sim reader1 place "$CARDS/260000000003.json" >/dev/null
wait_for 50 notices_ge pending $((n + 1)) || t_fail "pair: pending notice" "$(tail -2 "$T/raw.log")"
t_eq "pair: the card alone decides nothing" 0 "$(q "select count(*) from event where id > $MARK and kind like 'checkin.%'")"
sim door1 scan 260100000002 >/dev/null
decision
check "card then ticket within the window: one accept via card+ticket" '.kind == "checkin.accepted"
    and .ticket == "260100000002" and .payload.via == "card+ticket"'
sim reader1 remove >/dev/null
sleep 0.9
t_eq "pair: exactly one decision" 1 "$(q "select count(*) from event where id > $MARK and kind like 'checkin.%'")"

card 260000000005.json    # no ticket follows
check "pair timeout" '.kind == "checkin.denied" and .payload.reason == "pair_timeout" and .ticket == "260100000003"
    and .room == "101" and .device == "reader1"'

n=$(notices pending)
mark
sim reader1 place "$CARDS/260000000006.json" >/dev/null
wait_for 50 notices_ge pending $((n + 1)) || t_fail "mismatch: pending notice" "$(tail -2 "$T/raw.log")"
sim door1 scan 260100000008 >/dev/null
decision
check "pair mismatch" '.kind == "checkin.denied" and .payload.reason == "pair_mismatch" and .ticket == "260100000008"'
sim reader1 remove >/dev/null

# --- absent at the cut-off (timer) -----------------------------------------------------
# The clock is set 11 minutes on, past ABS's cut-off: the daemon sees it
# within its re-check (SCHEDULE_RECHECK_S, 15 s), however long it meant to
# sleep.
t_eq "before the step: nobody absent in ABS" 0 \
    "$(q "select count(*) from event where kind = 'absent.marked' and session = 'ABS'")"
clock_step 660
wait_for 300 sql_is 3 "select count(*) from event where kind = 'absent.marked' and session = 'ABS'" ||
    t_fail "absent marked at the cut-off" "$(q "select count(*) from event where kind = 'absent.marked' and session = 'ABS'")"
t_eq "absent: the served room's not-checked-in candidates, once each" \
    "260500000002,260500000003,260500000004" \
    "$(q "select group_concat(ticket) from (select ticket from event where kind = 'absent.marked' and session = 'ABS' order by ticket)")"
t_eq "absent at start for the closed session" "260400000002,260400000003" \
    "$(q "select group_concat(ticket) from (select ticket from event where kind = 'absent.marked' and session = 'CLOSED' and ticket != '260400000001' order by ticket)")"

# --- status, export ---------------------------------------------------------------------
st=$(ctl --json status)
stat_of() { jq -c --arg s "$1" --arg r "$2" '.sessions[] | select(.code == $s and .room == $r)
    | [.expected, .present, .late, .absent]' <<<"$st"; }
t_eq "status ONTIME/101" "[10,5,0,0]" "$(stat_of ONTIME 101)"
t_eq "status LATE/101" "[2,1,1,0]" "$(stat_of LATE 101)"
t_eq "status CLOSED/101" "[3,1,1,2]" "$(stat_of CLOSED 101)"
t_eq "status ABS/101" "[4,1,1,3]" "$(stat_of ABS 101)"
t_eq "status ABS/102 (not served: not marked)" "[1,0,0,0]" "$(stat_of ABS 102)"
t_eq "status LATE/101 incidents" 1 "$(jq '.sessions[] | select(.code == "LATE" and .room == "101") | .incidents' <<<"$st")"
t_eq "status ONTIME/101 denied" "$(q "select count(*) from event where kind = 'checkin.denied' and session = 'ONTIME' and room = '101'")" \
    "$(jq '.sessions[] | select(.code == "ONTIME" and .room == "101") | .denied' <<<"$st")"

ctl export attendance --session CLOSED >"$T/closed.csv"
t_eq "export: BOM" "efbbbf" "$(head -c 3 "$T/closed.csv" | od -An -tx1 | tr -d ' \n')"
t_contains "export: header" "准考证号 ticket,姓名 name,场次 session,考场 room,座位号 seat,状态 status" "$(head -1 "$T/closed.csv")"
t_eq "export: one row per candidate" 4 "$(wc -l <"$T/closed.csv")"
t_eq "export: statuses" "260400000001 present manual|260400000002 absent |260400000003 absent " \
    "$(tail -n +2 "$T/closed.csv" | tr -d '\r"' | awk -F, '{printf "%s%s %s %s", (NR > 1 ? "|" : ""), $1, $6, $8}')"
ctl export attendance --session ONTIME >"$T/ontime.csv"
t_eq "export ONTIME: rows" 12 "$(wc -l <"$T/ontime.csv")"
t_eq "export ONTIME: present" "260100000001,260100000002,260100000005,260100000006,260100000007" \
    "$(tr -d '\r"' <"$T/ontime.csv" | awk -F, '$6 == "present" {print $1}' | sort | paste -sd,)"
t_eq "export ONTIME: the rest not checked in" 6 "$(grep -c '"not checked in"' "$T/ontime.csv")"

# --- the stream matches the record --------------------------------------------------------
total=$(q "select count(*) from event")
wait_for 100 test "$(wc -l <"$T/follow.log")" -ge "$total" || true
t_eq "stream: every event, same id and hash" "$(q "select id || ' ' || hash from event order by id")" \
    "$(jq -r '"\(.id) \(.hash)"' "$T/follow.log")"
t_eq "stream: raw subscriber (room 101) got the late accept" 1 \
    "$(grep '"type":"event"' "$T/raw.log" | jq -c "select(.event.id == $late_id)" | wc -l)"

# --- stop ---------------------------------------------------------------------------------
kill -TERM "$DPID"
wait "$DPID"
t_eq "SIGTERM: exit 0" 0 $?
DPID=
wait "$FPID"
t_eq "follower: exit 69 when the daemon goes" 69 $?
FPID=
exec {RAWFD}>&-
wait "$RAWPID"
RAWPID=
grep -q "stopped" "$LOG" && t_ok "SIGTERM: logged" || t_fail "SIGTERM: logged" "$(tail -3 "$LOG")"
t_rc "verify" 0 ctl verify
[ -e "$SOCK" ] && t_fail "socket removed at exit" "$SOCK" || t_ok "socket removed at exit"

# --- no resident ID number anywhere --------------------------------------------------------
ids=$(tail -n +2 "$DDATA/roster.csv" | cut -d, -f3; jq -r .id_number "$CARDS"/*.json)
leaks=0
for id in $ids; do
    for f in "$LOG" "$DB" "$DB-wal" "$T/follow.log" "$T/raw.log"; do
        [ -f "$f" ] || continue
        if grep -aqi -- "$id" "$f"; then
            leaks=$((leaks + 1))
            echo "ID number $id found in $f" >&2
        fi
    done
done
sqlite3 "$DB" .dump >"$T/dump.sql"
for id in $ids; do grep -qi -- "$id" "$T/dump.sql" && leaks=$((leaks + 1)); done
t_eq "no ID number in log, database, stream" 0 "$leaks"
grep -q "ERROR: AddressSanitizer\|runtime error" "$LOG" && t_fail "sanitizers" "$(grep -m3 'ERROR\|runtime error' "$LOG")" || t_ok "sanitizers quiet"

t_done
