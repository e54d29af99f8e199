# lib-daemon.sh: helpers for the examsited integration tests (daemon.sh,
# control.sh, crash.sh).  Source after tests/integration/lib.sh and
# t_tmpdir.  Every wait here is bounded; every process started here is
# killed at exit through t_on_exit.
DDATA=$TOP/tests/data/daemon
CARDS=$TOP/examples/cards

# pick_zone: the site's zone.  Asia/Shanghai while its clock is well inside
# the day (sessions are made relative to now, from 45 minutes back to three
# hours ahead, and must stay on today); otherwise a fixed-offset zone in
# which it is about noon, so the tests pass at any hour.
pick_zone() {
    ZONE=$("$TOP/scripts/day-zone")
    NOW0=$(($(date +%s) / 60 * 60))    # this minute, the base of at()
    TODAY=$(TZ=$ZONE date -d "@$NOW0" +%F)
    TOMORROW=$(TZ=$ZONE date -d "@$((NOW0 + 86400))" +%F)
    export ZONE NOW0 TODAY TOMORROW
}

# at MIN: site-local HH:MM of this minute plus MIN minutes.
at() { TZ=$ZONE date -d "@$((NOW0 + $1 * 60))" +%H:%M; }

# idnum PREFIX17: a valid 18-character resident ID number (GB 11643 check
# digit) from its first 17 digits.
idnum() {
    local p=$1 w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) s=0 i c=10X98765432
    for ((i = 0; i < 17; i++)); do s=$((s + ${p:i:1} * w[i])); done
    echo "$p${c:s%11:1}"
}

# q SQL: one query on the site database (read-only use).
q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }

# wait_for TENTHS CMD...: until CMD succeeds, at most TENTHS/10 seconds.
wait_for() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# sql_is EXPECTED SQL: the query answers EXPECTED (for wait_for).
sql_is() { [ "$(q "$2")" = "$1" ]; }
# sql_ge N SQL: the query answers a number >= N.
sql_ge() { local v; v=$(q "$2"); [ -n "$v" ] && [ "$v" -ge "$1" ]; }

# --- simulators ------------------------------------------------------------
declare -A SIMFD SIMPTY SIMPID

# sim_start NAME KIND: examsim KIND --pty with its stdin on a fifo held
# open here; sets SIMPTY[NAME].
sim_start() {
    local name=$1 kind=$2 fd i
    rm -f "$T/$name.in" "$T/$name.out"
    mkfifo "$T/$name.in"
    "$BIN/examsim" "$kind" --pty <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
    SIMPID[$name]=$!
    t_on_exit "kill ${SIMPID[$name]}"
    exec {fd}>"$T/$name.in"
    SIMFD[$name]=$fd
    for ((i = 0; i < 50; i++)); do
        SIMPTY[$name]=$(head -n 1 "$T/$name.out" 2>/dev/null)
        [ -n "${SIMPTY[$name]}" ] && break
        sleep 0.1
    done
    [ -n "${SIMPTY[$name]}" ] && [ -e "${SIMPTY[$name]}" ]
}

# sim NAME CMD...: one command; waits for its answer line and prints it.
sim() {
    local name=$1 want i
    shift
    want=$(($(wc -l <"$T/$name.out") + 1))
    echo "$*" >&"${SIMFD[$name]}"
    for ((i = 0; i < 50; i++)); do
        if [ "$(wc -l <"$T/$name.out")" -ge "$want" ]; then
            sed -n "${want}p" "$T/$name.out"
            return 0
        fi
        sleep 0.1
    done
    echo "no answer"
    return 1
}

DAEMON_ENV=()

# --- the site --------------------------------------------------------------
# site_init DIR: a fresh site database in DIR (sets DB, SOCK).
site_init() {
    DB=$1/site.db
    SOCK=$1/ctl.sock
    "$BIN/examctl" --db "$DB" init --site-id S1 --site-name "Test site" \
        --station st1 --timezone "$ZONE" >/dev/null
}

# ctl ARGS...: examctl on this site (database and socket given explicitly,
# so it works while the configuration file is broken on purpose).
ctl() { "$BIN/examctl" --db "$DB" --socket "$SOCK" "$@"; }

# daemon_start CONF LOG: examsited in the foreground, in the background;
# sets DPID; waits until it answers on its socket.
daemon_start() {
    env "${DAEMON_ENV[@]}" "$BIN/examsited" --config "$1" --foreground >>"$2" 2>&1 &
    DPID=$!
    # Killed at exit by the variable, not the number: a daemon restarted
    # many times must not leave stale pids to kill (they get reused).
    if [ -z "${_DPID_CLEANUP:-}" ]; then
        t_on_exit '[ -n "${DPID:-}" ] && kill -9 $DPID'
        _DPID_CLEANUP=1
    fi
    wait_for 150 ctl devices
}

# clock_faked: the daemons started from now on read a wall clock that the
# test steps with clock_step (libfaketime, offset in $T/clock).  Only the
# wall clock moves, as when a real clock is set: CLOCK_MONOTONIC stays true.
clock_faked() {
    local lib
    for lib in /usr/lib/*/faketime/libfaketime.so.1; do [ -e "$lib" ] && break; done
    [ -e "$lib" ] || return 1
    echo "+0" >"$T/clock"
    # the sanitizer runtime is then not first in the library list: fine
    DAEMON_ENV=(FAKETIME_TIMESTAMP_FILE="$T/clock" FAKETIME_NO_CACHE=1
        FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$lib"
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0")
}
# clock_step SECONDS: the faked wall clock, SECONDS (signed) from the real.
clock_step() { printf '%+ds\n' "$1" >"$T/clock"; }

# daemon_alive: the daemon's process is there and answers.
daemon_alive() { kill -0 "$DPID" 2>/dev/null && ctl devices >/dev/null 2>&1; }

# all_attached N: `examctl devices` lists N devices, all attached.
all_attached() {
    [ "$(ctl --json devices | jq '[.[] | select(.attached)] | length')" = "$1" ]
}

# follow_start FILE [SINCE]: `examctl events --follow --json [--since ID]`
# appending to FILE; sets FPID.
follow_start() {
    ctl --json events --follow ${2:+--since "$2"} >>"$1" 2>>"$1.err" &
    FPID=$!
    if [ -z "${_FPID_CLEANUP:-}" ]; then
        t_on_exit '[ -n "${FPID:-}" ] && kill $FPID'
        _FPID_CLEANUP=1
    fi
}

# write_conf FILE MODE [PAIR_SECONDS] [EXTRA]: a station configuration
# serving room 101 with scanner door1, scanner door2 and reader reader1
# (those of SIMPTY that exist), policy MODE.
write_conf() {
    local f=$1 mode=$2 pair=${3:-60} extra=${4:-}
    {
        printf '[site]\nid = S1\nstation = st1\ndatabase = %s\ntimezone = %s\n\n' "$DB" "$ZONE"
        printf '[control]\nsocket = %s\n%s\n\n' "$SOCK" "$extra"
        printf '[policy]\nmode = %s\npair_window_seconds = %s\n\n' "$mode" "$pair"
        [ -n "${SIMPTY[door1]:-}" ] &&
            printf '[device door1]\ntype = scanner\ntransport = serial\npath = %s\nroom = 101\n\n' "${SIMPTY[door1]}"
        [ -n "${SIMPTY[door2]:-}" ] &&
            printf '[device door2]\ntype = scanner\ntransport = serial\npath = %s\nroom = 101\n\n' "${SIMPTY[door2]}"
        [ -n "${SIMPTY[reader1]:-}" ] &&
            printf '[device reader1]\ntype = idcard\ntransport = serial\npath = %s\nbaud = 115200\nroom = 101\n\n' "${SIMPTY[reader1]}"
    } >"$f"
}

# --- decisions -------------------------------------------------------------
mark() { MARK=$(q "select coalesce(max(id), 0) from event"); }
# decision: the first check-in event after MARK, as JSON in D (10 s at most).
decision() {
    local i
    D=
    for ((i = 0; i < 100; i++)); do
        D=$(q "select json_object('id', id, 'kind', kind, 'ticket', ticket,
               'session', session, 'room', room, 'device', device,
               'operator', operator, 'payload', json(payload))
               from event where id > $MARK and kind like 'checkin.%' order by id limit 1")
        [ -n "$D" ] && return 0
        sleep 0.1
    done
    return 1
}
# check NAME JQ: the last decision satisfies the jq condition.
check() {
    if [ -n "$D" ] && jq -e "$2" <<<"$D" >/dev/null 2>&1; then
        t_ok "$1"
    else
        t_fail "$1" "decision [$D] fails: $2"
    fi
}

# --- clients as other users -------------------------------------------------
# roles_setup ROLE...: throwaway groups $G-ROLE (removed at exit); then
# gid ROLE is a group's gid and as ROLE CMD... runs CMD as uid 65534 in
# that group ("none": in no group).  Needs root.
roles_setup() {
    local r
    G=exs$$
    for r in "$@"; do
        groupadd -f "$G-$r" || t_fail "groupadd $G-$r" ""
        t_on_exit "groupdel $G-$r"
    done
}
gid() { getent group "$G-$1" | cut -d: -f3; }
as() {
    local role=$1
    shift
    if [ "$role" = none ]; then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
    else
        setpriv --reuid=65534 --regid=65534 --groups="$(gid "$role")" "$@"
    fi
}
