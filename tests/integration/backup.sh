#!/usr/bin/env bash
# backup.sh: `examctl backup` of a live station, and a restore, as
# docs/operations.md tells an operator to do them:
#   a backup taken while examsited decides check-ins: the daemon's
#     decisions go on meanwhile; the copy (0640) and its secret (0600)
#     verify, and hold every event up to the copy's head;
#   an existing target, or a secret that is not the database's: refused,
#     nothing left behind;
#   the station's disk lost after the backup: the backup restored verifies,
#     the daemon starts on it, the check-ins go on, and the sync delivers
#     every event the office did not have, each once (the office's chain
#     is the restored station's);
#   a backup older than what the office already holds: the sync refuses it
#     in one line and the office is untouched (what operations.md says to
#     expect).
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"
t_needs jq sqlite3 curl openssl python3 socat

pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after,published"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,60,30"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
grep -e '^ticket' -e ',ONTIME,' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""
key_new "$T/st1.key"
office_keys "$T/keys" "S1/st1=$T/st1.key"
ODB=$T/office.db
central_start o "sqlite:$ODB" "$T/keys" || t_fail "examcentral start" "$(cat "${CLOG[o]}")"
sim_start door1 scanner || t_fail "examsim door1" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" ticket
central_conf "$CONF" "http://127.0.0.1:${CPORT[o]}" "$T/st1.key"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"

scan() { mark; sim door1 scan "$1" >/dev/null; decision; }
office_is_station() {
    [ "$(q "select group_concat(id || ':' || hash, ' ') from (select * from event order by id)")" = \
        "$(oq "$ODB" "select group_concat(id || ':' || hash, ' ') from (select * from event where station = 'st1' order by id)")" ]
}

scan 260100000001
scan 260100000002
t_rc "first sync" 0 ctl sync now
# a long log, so the copy takes a while; then check-ins while it is made
python3 "$SDATA/addevents.py" "$DB" 30000
mkdir "$T/bk"
ctl backup "$T/bk/site.db" >"$T/backup.out" 2>&1 &
BPID=$!
ok=0
for tk in 260100000003 260100000004 260100000005; do
    scan "$tk" && check "check-in $tk during the backup" '.kind == "checkin.accepted"' && ok=$((ok + 1))
done
wait $BPID
t_eq "backup of a live station: exit 0" 0 "$?"
t_contains "backup: says the copy verified" "chain verified" "$(cat "$T/backup.out")"
t_eq "the daemon decided meanwhile" 3 "$ok"
t_eq "backup: database mode 0640" 640 "$(stat -c %a "$T/bk/site.db")"
t_eq "backup: secret mode 0600" 600 "$(stat -c %a "$T/bk/site.db.secret")"
t_eq "backup: the secret copied" "$(cat "$T/site.db.secret")" "$(cat "$T/bk/site.db.secret")"
bhead=$("$BIN/examctl" --db "$T/bk/site.db" --json verify | jq -r .last_id)
t_eq "backup: examctl verify on the copy" 0 "$("$BIN/examctl" --db "$T/bk/site.db" verify >/dev/null 2>&1; echo $?)"
t_eq "backup: its events are the station's up to its head" \
    "$(q "select group_concat(hash, ' ') from (select hash from event where id <= $bhead order by id)")" \
    "$(sqlite3 "$T/bk/site.db" "select group_concat(hash, ' ') from (select hash from event order by id)")"
t_contains "backup: the head it printed" "head: event $bhead," "$(cat "$T/backup.out")"

# --- refusals leave nothing ------------------------------------------------------------
before=$(ls "$T/bk" | tr '\n' ' ')
t_rc "an existing target: refused (73)" 73 ctl backup "$T/bk/site.db"
t_eq "  ...the backup untouched" "$before" "$(ls "$T/bk" | tr '\n' ' ')"
mkdir "$T/other"
"$BIN/examctl" --db "$T/other/site.db" init --site-id S2 --site-name Other --station x \
    --timezone "$ZONE" >/dev/null
cp "$T/site.db.secret" "$T/other/site.db.secret"
out=$("$BIN/examctl" --db "$T/other/site.db" backup "$T/bk/other.db" 2>&1)
t_eq "a secret that is not the database's: refused (78)" 78 "$?"
t_contains "  ...says why" "does not belong" "$out"
t_eq "  ...nothing left behind" "" "$(ls "$T/bk" | grep other)"
t_eq "the backup is one file and its secret" "site.db site.db.secret " "$before"

# --- the disk lost; the backup restored ---------------------------------------------------
ctl incident add --ticket 260100000003 --kind V1 --operator 张老师 --note "after the backup" >/dev/null
lost=$(q "select count(*) from event where id > $bhead")
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
rm -f "$T"/site.db "$T"/site.db-wal "$T"/site.db-shm "$T"/site.db.secret
install -m 0640 "$T/bk/site.db" "$T/site.db"
install -m 0600 "$T/bk/site.db.secret" "$T/site.db.secret"
t_rc "restored: examctl verify" 0 ctl verify
t_eq "restored: the backup's head (what came after it went with the disk)" "$bhead" \
    "$(ctl --json verify | jq -r .last_id)"
daemon_start "$CONF" "$LOG" || t_fail "daemon on the restored database" "$(tail -5 "$LOG")"
echo "restored a backup of $bhead events; $lost events after it were lost with the disk"
scan 260100000006
check "restored: check-ins go on" '.kind == "checkin.accepted"'
out=$(ctl sync now 2>&1)
t_eq "restored: sync now exit 0" 0 "$?"
t_contains "restored: the events the office lacked are sent" "sent" "$out"
office_is_station && t_ok "restored: the office holds the restored station's chain, each event once" ||
    t_fail "restored: office = station" "$(oq "$ODB" "select count(*), max(id) from event") vs $(q "select count(*), max(id) from event")"
t_eq "restored: the office's cursor is the station's head" "$(ctl --json verify | jq -r .head_hash)" \
    "$(curl -s "http://127.0.0.1:${CPORT[o]}/v1/sites/S1/stations/st1/cursor" | jq -r .chain_hash)"

# --- a backup older than the office's copy ---------------------------------------------------
ctl backup "$T/bk/old.db" >/dev/null || t_fail "second backup" ""
scan 260100000007
t_rc "sync after the second backup" 0 ctl sync now
n_office=$(oq "$ODB" "select count(*) from event")
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
rm -f "$T"/site.db "$T"/site.db-wal "$T"/site.db-shm
install -m 0640 "$T/bk/old.db" "$T/site.db"
daemon_start "$CONF" "$LOG" || t_fail "daemon on the older backup" "$(tail -5 "$LOG")"
t_rc "older backup: verifies" 0 ctl verify
out=$(ctl sync now 2>&1)
t_eq "older backup: sync refused (65)" 65 "$?"
t_contains "older backup: says why" "restored from an older copy" "$out"
t_eq "older backup: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
t_eq "older backup: the office untouched" "$n_office" "$(oq "$ODB" "select count(*) from event")"

kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
central_stop o TERM
sanitizer_clean "no sanitizer report" "$LOG" "${CLOG[o]}"
t_done
