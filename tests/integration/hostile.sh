#!/usr/bin/env bash
# hostile.sh: a hostile exam morning at one station.  Nothing a local user
# or a second process does may stop the doors:
#   a second examsited on the same configuration exits 75 naming the
#   first's pid, and the first keeps its socket;
#   200 refused connects and 70 oversized lines leak no client slot: root's
#   `examctl devices` answers at once afterwards;
#   64 kiosk connections held open: root still gets in (slots kept for
#   admins), one more kiosk is told "too many clients" (75); a client that
#   sends nothing is closed after the idle timeout;
#   a client that pipelines 2,000,000 requests and never reads is dropped
#   and the daemon's memory stays bounded;
#   400 incident.list requests in one write (each a page of the log) do not
#   hold up a root ping or a scan at a door;
#   another process holding the database's write lock for 5 s while
#   tickets come in at two doors: pings answer throughout, a manual
#   check-in gets 75 at once, the doors are told to wait, and once the lock
#   goes every input is decided exactly once, nothing lost or doubled;
#   the same with ID cards at two readers (policy id).
# Needs root (setpriv, groupadd), $BIN, jq, sqlite3, socat.
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"

t_needs --root jq sqlite3 socat setpriv groupadd
chmod 755 "$T"

roles_setup kiosk operator
# ms CMD...: run CMD, print how long it took in milliseconds.
ms() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
# rctl ARGS...: examctl as root, bounded in time (a function timeout can run).
rctl() { timeout 10 "$BIN/examctl" --db "$DB" --socket "$SOCK" "$@"; }
# bg_as ROLE CMD...: CMD in the background as ROLE; $! is CMD itself, so
# killing it ends the connection.
bg_as() {
    local role=$1
    shift
    setpriv --reuid=65534 --regid=65534 --groups="$(gid "$role")" "$@" &
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }

pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
awk -F, 'NR == 1 || $4 == "ONTIME"' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""

sim_start door1 scanner || t_fail "examsim door1" "no pty"
sim_start door2 scanner || t_fail "examsim door2" "no pty"
sim_start reader1 idcard || t_fail "examsim reader1" "no pty"
sim_start reader2 idcard || t_fail "examsim reader2" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket 60 "kiosk_group = $G-kiosk
operator_group = $G-operator"
printf '[device reader2]\ntype = idcard\ntransport = serial\npath = %s\nbaud = 115200\nroom = 101\n\n' \
    "${SIMPTY[reader2]}" >>"$CONF"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 4 || t_fail "devices attached" "$(ctl devices 2>&1)"

# --- one daemon per database ---------------------------------------------------
out=$(timeout 20 "$BIN/examsited" --config "$CONF" --foreground 2>&1)
t_eq "second daemon: exit 75" 75 $?
t_contains "second daemon: names the holder" "pid $DPID" "$out"
t_eq "second daemon: the socket is still there" yes "$([ -S "$SOCK" ] && echo yes)"
t_rc "second daemon: the first still answers" 0 ctl devices
t_eq "second daemon: the first keeps its readers" 1 \
    "$(all_attached 4 && echo 1)"

# --- an idle client (checked at the end: the timeout is 30 s) -------------------
mkfifo "$T/idle.in"
exec {IDLEFD}<>"$T/idle.in" # read-write: opening it does not wait
bg_as kiosk socat -u UNIX-CONNECT:"$SOCK" - <"$T/idle.in" >/dev/null 2>&1
IDLEPID=$!
t_on_exit "kill $IDLEPID"
IDLE_T0=$(date +%s)

# --- lock-out ------------------------------------------------------------------
for ((i = 0; i < 200; i++)); do
    as none timeout 5 socat -t 1 - UNIX-CONNECT:"$SOCK" </dev/null >/dev/null 2>&1
done
head -c 70000 /dev/zero | tr '\0' x >"$T/big"
for ((i = 0; i < 70; i++)); do
    as kiosk timeout 5 socat -t 1 - UNIX-CONNECT:"$SOCK" <"$T/big" >/dev/null 2>&1
done
took=$(ms rctl devices)
t_rc "after 200 refused connects and 70 oversized lines: devices answers" 0 \
    rctl devices
[ "$took" -lt 3000 ] && t_ok "devices answers at once (${took} ms)" ||
    t_fail "devices answers at once" "${took} ms"
t_contains "oversized line: refused with 65" '"code":65' \
    "$(as kiosk timeout 5 socat -t 2 - UNIX-CONNECT:"$SOCK" <"$T/big" 2>&1)"

# 64 kiosk connections held open: the admin slots stay free.
HOLD=()
for ((i = 0; i < 64; i++)); do
    bg_as kiosk socat -u UNIX-CONNECT:"$SOCK" - <"$T/idle.in" >/dev/null 2>&1
    HOLD+=($!)
done
sleep 1
t_rc "64 clients held: root still gets in" 0 rctl devices
out=$(as kiosk timeout 5 socat -u UNIX-CONNECT:"$SOCK" - 2>&1)
t_contains "one more kiosk: too many clients (75)" '"code":75' "$out"
for p in "${HOLD[@]}"; do kill "$p" 2>/dev/null; done
wait "${HOLD[@]}" 2>/dev/null
sleep 0.5
t_contains "held clients gone: a kiosk gets in again" '"ok":true' \
    "$(printf '{"op":"ping"}\n' | as kiosk timeout 5 socat -t 2 - UNIX-CONNECT:"$SOCK" 2>&1)"

# --- a client that never reads ----------------------------------------------------
rss0=$(rss_kb)
yes '{"op":"devices"}' | head -n 2000000 >"$T/pipeline"
as kiosk timeout 60 socat -u - UNIX-CONNECT:"$SOCK" <"$T/pipeline" >/dev/null 2>&1
rss1=$(rss_kb)
t_contains "non-reader: dropped" "does not read its replies; dropped" "$(cat "$LOG")"
grow=$(((rss1 - rss0) / 1024))
[ "$grow" -lt 32 ] && t_ok "non-reader: memory bounded (+${grow} MiB)" ||
    t_fail "non-reader: memory bounded" "grew ${grow} MiB (${rss0} -> ${rss1} kB)"
t_rc "non-reader: root still answered" 0 rctl devices

# --- one write of 400 requests ----------------------------------------------------
# A log worth paging through: 1,500 incidents.
for ((i = 0; i < 1500; i++)); do
    printf '{"op":"incident.add","seat":"101:%02d","kind":"V9","operator":"王老师","session":"ONTIME","note":"seeded %d"}\n' \
        $((i % 20 + 1)) "$i"
done >"$T/seed"
as operator timeout 120 socat -t 30 - UNIX-CONNECT:"$SOCK" <"$T/seed" >"$T/seed.out" 2>&1
t_eq "1,500 incidents logged" 1500 "$(grep -c '"ok":true' "$T/seed.out")"
for ((i = 0; i < 400; i++)); do echo '{"op":"incident.list"}'; done >"$T/lists"
lists_t0=$(date +%s)
as operator timeout 120 socat -t 60 - UNIX-CONNECT:"$SOCK" <"$T/lists" >"$T/lists.out" 2>&1 &
LISTPID=$!
worst=0
for ((i = 0; i < 10; i++)); do
    took=$(ms rctl devices)
    [ "$took" -gt "$worst" ] && worst=$took
done
mark
t0=$(date +%s%N)
sim door1 scan 260100000001 >/dev/null
decision
took=$((($(date +%s%N) - t0) / 1000000))
wait $LISTPID
lists_s=$(($(date +%s) - lists_t0))
# It half-closed after its last request: the daemon closes once all are
# answered (socat would otherwise wait out its 60 s).
[ "$lists_s" -lt 45 ] && t_ok "400 listings: closed once answered (${lists_s} s)" ||
    t_fail "400 listings: closed once answered" "${lists_s} s"
[ "$worst" -lt 2000 ] && t_ok "400 listings: pings answered (worst ${worst} ms)" ||
    t_fail "400 listings: pings answered" "worst ${worst} ms"
check "400 listings: a scan is decided meanwhile (${took} ms)" \
    '.kind == "checkin.accepted" and .ticket == "260100000001"'
t_eq "400 listings: 400 replies" 400 "$(grep -c '"ok":true' "$T/lists.out")"
t_eq "a listing is a page: 200 incidents, more to come" "200 true" \
    "$(head -n 1 "$T/lists.out" | jq -r '"\(.incidents | length) \(.more)"')"

# --- another process holds the write lock ------------------------------------------
follow_start "$T/follow.log"
mkfifo "$T/raw.in"
socat -t 30 STDIO UNIX-CONNECT:"$SOCK" <"$T/raw.in" >"$T/raw.log" 2>&1 &
RAWPID=$!
t_on_exit '[ -n "$RAWPID" ] && kill $RAWPID'
exec {RAWFD}>"$T/raw.in"
echo '{"op":"subscribe","room":"101"}' >&$RAWFD
sleep 0.5
before=$(q "select count(*) from event where kind like 'checkin.%'")
mark
(echo 'BEGIN IMMEDIATE;'; echo 'SELECT 1;'; sleep 5; echo 'COMMIT;') |
    sqlite3 "$DB" >/dev/null 2>&1 &
LOCKPID=$!
sleep 0.5
locked_at=$(date +%s%N)
for t in 260100000002 260100000003 260100000004; do
    sim door1 scan "$t" >/dev/null
    sim door2 scan "${t%?}$((${t: -1} + 3))" >/dev/null
done
out=$(ctl checkin manual 260100000010 --operator 王老师 --reason "forgot card" 2>&1)
t_eq "held lock: manual check-in exits 75 at once" 75 $?
t_contains "held lock: says why" "locked by another process" "$out"
worst=0
for ((i = 0; i < 6; i++)); do
    took=$(ms rctl devices)
    [ "$took" -gt "$worst" ] && worst=$took
    sleep 0.3
done
[ "$worst" -lt 1000 ] && t_ok "held lock: pings answer throughout (worst ${worst} ms)" ||
    t_fail "held lock: pings answer throughout" "worst ${worst} ms"
t_eq "held lock: nothing decided yet" "$before" \
    "$(sqlite3 "$DB" "select count(*) from event where kind like 'checkin.%'")"
wait $LOCKPID
wait_for 100 sql_ge $((before + 6)) "select count(*) from event where kind like 'checkin.%'" ||
    t_fail "lock gone: decided" "$(q "select count(*) from event where kind like 'checkin.%'")"
sleep 1
t_eq "lock gone: all 6 inputs decided, each once" 6 \
    "$(q "select count(*) from event where kind like 'checkin.%' and id > $MARK")"
t_eq "lock gone: one accept per candidate" \
    "260100000002 260100000003 260100000004 260100000005 260100000006 260100000007" \
    "$(q "select group_concat(ticket, ' ') from (select ticket from event where kind = 'checkin.accepted' and ticket != '260100000001' order by ticket)")"
t_eq "lock gone: each says when it was presented" 6 \
    "$(q "select count(*) from event where kind like 'checkin.%' and id > $MARK and json_extract(payload, '\$.presented_at') is not null")"
wait_for 50 grep -q "Recording: one moment" "$T/raw.log" &&
    t_ok "held lock: the doors were told to wait" ||
    t_fail "held lock: the doors were told to wait" "$(tail -3 "$T/raw.log")"
t_contains "held lock: logged once" "locked by another process: check-ins wait" "$(cat "$LOG")"
t_rc "lock gone: manual check-in works again" 0 \
    ctl checkin manual 260100000010 --operator 王老师 --reason "forgot card"

# The same with ID cards at two doors (policy id, after SIGHUP).
sed -i 's/^mode = ticket/mode = id/' "$CONF"
kill -HUP "$DPID"
readers_poll() {
    [ "$(ctl --json devices | jq '[.[] | select(.type == "idcard" and .attached and .polling)] | length')" = 2 ]
}
wait_for 100 readers_poll || t_fail "policy id: both readers poll" "$(ctl devices 2>&1)"
mark
(echo 'BEGIN IMMEDIATE;'; echo 'SELECT 1;'; sleep 4; echo 'COMMIT;') |
    sqlite3 "$DB" >/dev/null 2>&1 &
LOCKPID=$!
sleep 0.5
sim reader1 place "$CARDS/260000000003.json" >/dev/null
sim reader2 place "$CARDS/260000000005.json" >/dev/null
sleep 1.2
sim reader1 remove >/dev/null
sleep 1
sim reader1 place "$CARDS/260000000006.json" >/dev/null
took=$(ms rctl devices)
[ "$took" -lt 1000 ] && t_ok "cards, held lock: ping answers (${took} ms)" ||
    t_fail "cards, held lock: ping answers" "${took} ms"
t_eq "cards, held lock: nothing decided yet" 0 \
    "$(sqlite3 "$DB" "select count(*) from event where kind like 'checkin.%' and id > $MARK")"
wait $LOCKPID
wait_for 100 sql_ge 3 "select count(*) from event where kind like 'checkin.%' and id > $MARK" ||
    t_fail "cards, lock gone: decided" ""
sleep 1
t_eq "cards, lock gone: three cards at two doors, each decided once" \
    "260100000002:reader1:checkin.duplicate 260100000003:reader2:checkin.duplicate 260100000009:reader1:checkin.accepted" \
    "$(q "select group_concat(ticket || ':' || device || ':' || kind, ' ') from (select ticket, device, kind
          from event where kind like 'checkin.%' and id > $MARK order by ticket)")"
t_eq "cards, lock gone: each says when it was presented" 3 \
    "$(q "select count(*) from event where kind like 'checkin.%' and id > $MARK and json_extract(payload, '\$.presented_at') is not null")"
sim reader1 remove >/dev/null
sim reader2 remove >/dev/null
t_rc "chain verifies" 0 ctl verify

# --- the idle client was closed -----------------------------------------------------
left=$((IDLE_T0 + 33 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
if kill -0 "$IDLEPID" 2>/dev/null; then
    t_fail "an idle client is closed after 30 s" "still connected"
    kill "$IDLEPID"
else
    t_ok "an idle client is closed after 30 s"
fi
exec {IDLEFD}>&-
t_contains "idle: logged" "sent nothing for too long; dropped" "$(cat "$LOG")"
t_eq "daemon alive at the end" 0 "$(daemon_alive && echo 0)"
kill -TERM "$DPID"
wait "$DPID"
t_eq "SIGTERM: exit 0 (no leak, no sanitizer report)" 0 $?
t_eq "no sanitizer report in the log" 0 "$(grep -c Sanitizer "$LOG")"
DPID=

t_done
