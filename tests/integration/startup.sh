#!/usr/bin/env bash
# startup.sh: examsited refuses to run, with one line saying why, rather
# than fail every candidate at the door:
#   the last event's hash cell damaged (nothing could be appended);
#   a candidate's id_hash swapped outside examctl (a stand-in's card would
#   be accepted);
#   a regenerated secret file (every card would be "not on the roster");
# and starts again once the cause is gone.  Needs $BIN, sqlite3.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"

command -v sqlite3 >/dev/null || {
    t_fail "needs sqlite3" "install it (scripts/install-deps)"
    t_done
}
pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
awk -F, 'NR == 1 || $4 == "ONTIME"' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""
CONF=$T/site.conf
write_conf "$CONF" ticket

# start_refused NAME WANT: examsited exits non-zero at once, saying WANT.
start_refused() {
    local out rc
    out=$(timeout 20 "$BIN/examsited" --config "$CONF" --foreground 2>&1)
    rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && t_ok "$1: refused (exit $rc)" ||
        t_fail "$1: refused" "exit $rc"
    t_contains "$1: says why" "$2" "$out"
    t_eq "$1: no socket left" no "$([ -e "$SOCK" ] && echo yes || echo no)"
}
# starts NAME: examsited starts and answers, then stops cleanly.
starts() {
    daemon_start "$CONF" "$T/d.log" && t_ok "$1: starts" ||
        t_fail "$1: starts" "$(tail -3 "$T/d.log")"
    kill -TERM "$DPID"
    wait "$DPID"
    DPID=
}

starts "a sound site"

# --- a damaged last hash ------------------------------------------------------
cp "$DB" "$T/good.db"
last=$(sqlite3 "$DB" "select max(id) from event")
sqlite3 "$DB" "drop trigger event_no_update;
    update event set hash = 'deadbeef' || substr(hash, 9) where id = $last" ||
    t_fail "damage the head" ""
start_refused "damaged head" "event $last, the last one, is damaged"
cp "$T/good.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
starts "the head mended (restored)"

# --- a roster edited outside the record ------------------------------------------
cp "$DB" "$T/good.db"
# a stand-in's card hash in place of the candidate's
sqlite3 "$DB" "update candidate set id_hash = randomblob(32) where ticket = '260100000001'" ||
    t_fail "replace an id_hash" ""
start_refused "edited roster" "candidate"
cp "$T/good.db" "$DB"
rm -f "$DB-wal" "$DB-shm"

# --- a regenerated secret ----------------------------------------------------------
cp "$DB.secret" "$T/good.secret"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DB.secret"
echo >>"$DB.secret"
chmod 600 "$DB.secret"
start_refused "regenerated secret" "does not belong to this database"
cp "$T/good.secret" "$DB.secret"
chmod 600 "$DB.secret"
starts "the right secret back"

t_done
