#!/usr/bin/env bash
# clock.sh: time is the record's, not the clock's.  examsited runs with a
# faked wall clock (libfaketime; CLOCK_MONOTONIC stays true, as when a real
# clock is set) that the test steps:
#   a forward step of an hour while the daemon sleeps towards a moment an
#   hour away: the reader starts polling and, after a second step past the
#   late cut-off, all 600 candidates of the room are marked absent (there
#   was a limit of 512 a pass);
#   a backward step of an hour after the cut-off: an absent candidate's
#   ticket is still "check-in closed", never accepted; event times in the
#   chain do not go back (the event says how far behind the clock was);
#   70 sessions on one day (there was a limit of 64): each one's window
#   opening is recorded.
# Needs $BIN, jq, sqlite3, socat, libfaketime.
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"

t_needs jq sqlite3 socat
clock_faked || {
    t_fail "needs libfaketime" "install faketime (scripts/install-deps)"
    t_done
}

pick_zone
site_init "$T"
# FAR (room 101, reader1 and door2): check-in opens in 90 minutes, the
# reader polls from 30 minutes on (poll_before 60), the cut-off is 135
# minutes on.  S01..S70 (room 102, door1): 70 sessions whose windows are
# open now, one candidate each.
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "FAR,Web前端开发,初级,$TODAY,$(at 120),$(at 200),30,15"
    for ((i = 1; i <= 70; i++)); do
        printf 'S%02d,云计算,初级,%s,%s,%s,60,15\n' "$i" "$TODAY" "$(at 30)" "$(at 200)"
    done
} >"$T/sessions.csv"
t_rc "session import: 71 sessions" 0 ctl session import "$T/sessions.csv"
{
    echo "ticket,name,id_number,session,room,seat"
    for ((i = 1; i <= 600; i++)); do
        printf '27%010d,考生%d,%s,FAR,101,%d\n' "$i" "$i" "$(idnum "11010519900101$(printf '%03d' "$i")")" "$i"
    done
    for ((i = 1; i <= 70; i++)); do
        printf '28%010d,考生S%d,%s,S%02d,102,1\n' "$i" "$i" "$(idnum "11010519910101$(printf '%03d' "$i")")" "$i"
    done
} >"$T/roster.csv"
t_rc "roster import: 670 candidates" 0 ctl roster import "$T/roster.csv"

sim_start door1 scanner || t_fail "examsim door1" "no pty"
sim_start door2 scanner || t_fail "examsim door2" "no pty"
sim_start reader1 idcard || t_fail "examsim reader1" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket
sed -i '/^\[device door1\]/,/^$/ s/^room = 101/room = 102/' "$CONF"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 3 || t_fail "devices attached" "$(ctl devices 2>&1)"
polling() { ctl --json devices | jq -r '.[] | select(.name == "reader1") | .polling'; }

# --- 70 sessions in one day ---------------------------------------------------
wait_for 100 sql_is 70 "select count(*) from event where kind = 'session.opened' and session like 'S%'" ||
    t_fail "70 sessions: each window opening recorded" \
        "$(q "select count(*) from event where kind = 'session.opened'")"
t_eq "70 sessions: each window opening recorded once" 70 \
    "$(q "select count(distinct session) from event where kind = 'session.opened' and session like 'S%'")"

# --- forward ---------------------------------------------------------------------
t_eq "before the step: room 101's reader does not poll" false "$(polling)"
t_eq "before the step: FAR not open" 0 \
    "$(q "select count(*) from event where kind = 'session.opened' and session = 'FAR'")"
clock_step 3600
reader_polls() { [ "$(polling)" = true ]; }
wait_for 250 reader_polls && t_ok "after +1 h: the reader polls" ||
    t_fail "after +1 h: the reader polls" "$(polling)"
t_eq "after +1 h: FAR not open yet (it opens at +90 min)" 0 \
    "$(q "select count(*) from event where kind = 'session.opened' and session = 'FAR'")"
clock_step $((140 * 60))
wait_for 250 sql_is 600 "select count(*) from event where kind = 'absent.marked' and session = 'FAR'" ||
    t_fail "after +2 h 20: all 600 absent" \
        "$(q "select count(*) from event where kind = 'absent.marked' and session = 'FAR'")"
t_eq "absent: each candidate once" 600 \
    "$(q "select count(distinct ticket) from event where kind = 'absent.marked' and session = 'FAR'")"
t_eq "FAR opened before its cut-off passed" 1 \
    "$(q "select count(*) from event where kind = 'session.opened' and session = 'FAR'")"
t_contains "the step was noticed in time, not slept through" "600 absent at the cut-off" "$(cat "$LOG")"

# --- backward --------------------------------------------------------------------
last_time=$(q "select time from event order by id desc limit 1")
clock_step $((80 * 60)) # an hour back: before FAR's window opens, by the clock
sleep 1
mark
sim door2 scan 270000000007 >/dev/null
decision
check "an hour back: an absent candidate is still refused (closed)" \
    '.kind == "checkin.denied" and .payload.reason == "closed" and .ticket == "270000000007"'
t_eq "an hour back: nobody of FAR accepted" 0 \
    "$(q "select count(*) from event where session = 'FAR' and kind = 'checkin.accepted'")"
t_eq "event times never go back" 1 \
    "$(q "select time >= '$last_time' from event where id = $(jq .id <<<"$D")")"
behind=$(q "select json_extract(payload, '\$.clock_behind_ms') from event where id = $(jq .id <<<"$D")")
[ -n "$behind" ] && [ "$behind" -gt 3000000 ] && t_ok "the event says the clock was behind (${behind} ms)" ||
    t_fail "the event says the clock was behind" "[$behind]"
t_rc "the chain verifies" 0 ctl verify

kill -TERM "$DPID"
wait "$DPID"
t_eq "SIGTERM: exit 0" 0 $?
DPID=
t_eq "no sanitizer report" 0 "$(grep -c Sanitizer "$LOG")"
t_done
