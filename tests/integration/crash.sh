#!/usr/bin/env bash
# crash.sh: kill -9 at random moments during a steady check-in stream.
# A generated roster of 300 candidates in room 101, the session's window
# open; a feeder writes `scan TICKET` lines (random tickets of the roster,
# now and then one that is not on it) to an examsim scanner at a steady
# rate; each round starts examsited and a subscriber
# (`examctl events --follow --json` from the current end of the log), lets
# them run for a random 0.3-3 s, and kills the daemon with SIGKILL.
# Afterwards:
#   every event a subscriber received (the kiosk's view: published only
#   after commit) is in the database with the same id and hash;
#   `examctl verify` passes; no ticket has two checkin.accepted events;
#   accepted events = distinct tickets accepted; a duplicate scan after a
#   restart is a duplicate, not a second accept.
# CRASH_ROUNDS rounds (default 20, about a minute and a half); the
# reliability run (README.md, Reliability) is
#     CRASH_ROUNDS=200 bash tests/integration/crash.sh
# Needs $BIN, jq, sqlite3.
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"
ROUNDS=${CRASH_ROUNDS:-20}
NCAND=300

for tool in jq sqlite3; do
    if ! command -v $tool >/dev/null; then
        t_fail "needs $tool" "install it (scripts/install-deps)"
        t_done
    fi
done

pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "CRASH,Web前端开发,初级,$TODAY,$(at 30),$(at 150),60,15"
} >"$T/sessions.csv"
{
    echo "ticket,name,id_number,session,room,seat"
    for i in $(seq 1 $NCAND); do
        printf '2608%08d,考生%d,%s,CRASH,101,%03d\n' "$i" "$i" \
            "$(idnum "4401061992$(printf %02d $((i % 12 + 1)))2$((i % 9))$(printf %03d "$i")")" "$i"
    done
} >"$T/roster.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" "$(ctl roster import "$T/roster.csv" 2>&1 | head -3)"

sim_start door1 scanner || t_fail "examsim" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket

# The feeder: about 20 scans a second, whether the daemon is up or not.
(
    while :; do
        r=$((RANDOM % 40))
        if [ $r -eq 0 ]; then
            echo "scan 269999999999"
        else
            printf 'scan 2608%08d\n' $((RANDOM % NCAND + 1))
        fi
        sleep 0.05
    done
) >&"${SIMFD[door1]}" &
FEEDPID=$!
t_on_exit '[ -n "$FEEDPID" ] && kill $FEEDPID'

started=0
for ((round = 1; round <= ROUNDS; round++)); do
    if ! daemon_start "$CONF" "$LOG"; then
        t_fail "round $round: daemon start" "$(tail -5 "$LOG")"
        break
    fi
    started=$((started + 1))
    since=$(q "select coalesce(max(id), 0) from event")
    follow_start "$T/sub.$round.ndjson" "$since"
    # 0.3 to 3 s of check-ins, then the plug is pulled.
    sleep "$((RANDOM % 28 / 10 + 0)).$((RANDOM % 10))"
    sleep 0.3
    kill -9 "$DPID"
    wait "$DPID" 2>/dev/null
    DPID=
    # The subscriber sees the stream end and exits (69).
    for ((i = 0; i < 50; i++)); do
        kill -0 "$FPID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$FPID" 2>/dev/null
    wait "$FPID" 2>/dev/null
    FPID=
done
kill "$FEEDPID" 2>/dev/null
wait "$FEEDPID" 2>/dev/null
FEEDPID=
t_eq "rounds run" "$ROUNDS" "$started"

# --- what the subscribers saw is what the database holds ----------------------
cat "$T"/sub.*.ndjson | jq -r '"\(.id) \(.hash)"' | sort -u >"$T/seen"
q "select id || ' ' || hash from event" | sort -u >"$T/stored"
seen=$(wc -l <"$T/seen")
t_eq "subscribers received events" 1 "$((seen > ROUNDS))"
missing=$(comm -23 "$T/seen" "$T/stored" | wc -l)
t_eq "every event a subscriber received is stored, same id and hash" 0 "$missing"
[ "$missing" -eq 0 ] || comm -23 "$T/seen" "$T/stored" | head -5 >&2
t_rc "verify" 0 ctl verify
t_eq "no ticket accepted twice" "" \
    "$(q "select ticket || ' x' || count(*) from event where kind = 'checkin.accepted' group by ticket having count(*) > 1")"
t_eq "accepted = distinct tickets accepted" \
    "$(q "select count(distinct ticket) from event where kind = 'checkin.accepted'")" \
    "$(q "select count(*) from event where kind = 'checkin.accepted'")"
acc=$(q "select count(*) from event where kind = 'checkin.accepted'")
dup=$(q "select count(*) from event where kind = 'checkin.duplicate'")
t_eq "decisions were made" 1 "$((acc > 0))"
# A duplicate must follow its accept: no duplicate without an earlier accept.
t_eq "every duplicate follows an accept" 0 \
    "$(q "select count(*) from event d where d.kind = 'checkin.duplicate' and not exists
          (select 1 from event a where a.kind = 'checkin.accepted' and a.ticket = d.ticket and a.id < d.id)")"
t_eq "daemon ready every round" "$ROUNDS" "$(grep -c 'examsited: ready' "$LOG")"
grep -q "ERROR: AddressSanitizer\|runtime error" "$LOG" &&
    t_fail "sanitizers" "$(grep -m3 'ERROR\|runtime error' "$LOG")" || t_ok "sanitizers quiet"
echo "crash: $ROUNDS rounds, $(q "select count(*) from event") events, $acc accepted, $dup duplicates, $seen streamed" >&2
t_done
