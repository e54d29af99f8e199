# lib-sync.sh: helpers for the sync tests (sync.sh, sync-pg.sh,
# sync-tls.sh).  Source after tests/integration/lib.sh, t_tmpdir and
# tests/data/daemon/lib-daemon.sh.  Every process started here is a child
# of the test, killed at exit; every wait is bounded.
SDATA=$TOP/tests/data/sync
declare -A CPID CPORT CLOG

# key_new FILE: a station key (32 random bytes as one hex line), mode 0600.
key_new() {
    (umask 077 && openssl rand -hex 32 >"$1")
}

# office_keys FILE SITE/STATION=KEYFILE...: examcentral's keys file.
office_keys() {
    local f=$1 kv
    shift
    (umask 077 && : >"$f")
    for kv in "$@"; do
        echo "${kv%%=*} $(cat "${kv#*=}")" >>"$f"
    done
}

# central_start NAME STORE KEYS [ARGS...]: examcentral on 127.0.0.1 (the
# port CPORT[NAME] if set, else one the kernel picks); waits for "ready".
central_start() {
    local name=$1 store=$2 keys=$3 i port
    shift 3
    CLOG[$name]=$T/central-$name.log
    : >>"${CLOG[$name]}"
    local from
    from=$(wc -l <"${CLOG[$name]}")
    "$BIN/examcentral" --listen "127.0.0.1:${CPORT[$name]:-0}" --store "$store" \
        --keys "$keys" "$@" >>"${CLOG[$name]}" 2>&1 &
    CPID[$name]=$!
    t_on_exit "kill -9 ${CPID[$name]}"
    for ((i = 0; i < 150; i++)); do
        if tail -n +"$((from + 1))" "${CLOG[$name]}" | grep -q 'ready:'; then
            port=$(tail -n +"$((from + 1))" "${CLOG[$name]}" |
                sed -n 's|.*listening on https\{0,1\}://127.0.0.1:\([0-9]*\).*|\1|p' | tail -1)
            CPORT[$name]=$port
            return 0
        fi
        kill -0 "${CPID[$name]}" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# central_stop NAME [SIGNAL]
central_stop() {
    kill "-${2:-TERM}" "${CPID[$1]}" 2>/dev/null
    wait "${CPID[$1]}" 2>/dev/null
    return 0
}

# oq DB SQL: one query on an office's SQLite store.
oq() { sqlite3 -cmd ".timeout 5000" "$1" "$2"; }

# central_conf FILE URL KEYFILE [CAFILE] [MAX]: a [central] section
# appended to a station configuration.
central_conf() {
    printf '[central]\nurl = %s\nkey_file = %s\nbatch_max_events = %s\n' \
        "$2" "$3" "${5:-1000}" >>"$1"
    [ -n "${4:-}" ] && printf 'ca_file = %s\n' "$4" >>"$1"
    return 0
}

# post FILE SITE STATION SEQ [SIGFILE] [URL]: curl a batch file as the
# format page says; prints the HTTP status, the reply in $T/post.out.
post() {
    local sig=${5:-$1.sig}
    curl -s -o "$T/post.out" -w '%{http_code}' --max-time 60 \
        ${CURL_CA:+--cacert "$CURL_CA"} --data-binary @"$1" \
        -H 'Content-Encoding: gzip' -H "X-Examsite-Site: $2" \
        -H "X-Examsite-Station: $3" -H "X-Examsite-Seq: $4" \
        -H "X-Examsite-Signature: $(cat "$sig" 2>/dev/null)" \
        "${6:-$OFFICE_URL}/v1/batches"
}

# peak_kb PID: the process's peak resident set (VmHWM), KiB.
peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# sync_idle: the daemon's sync round is over (for wait_for).
sync_idle() {
    [ "$(ctl --json sync status | jq -r '.state')" = idle ]
}


# sanitizer_clean NAME LOG...: no sanitizer report in the logs (the
# processes were stopped with SIGTERM, so leaks are reported at exit).
sanitizer_clean() {
    local name=$1 f
    shift
    for f in "$@"; do
        if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" 2>/dev/null; then
            t_fail "$name" "$(grep -E -m1 -A12 'Sanitizer|runtime error' "$f")"
            return 0
        fi
    done
    t_ok "$name"
}
