#!/usr/bin/env bash
# import-live.sh: a station's first roster imported while examsited runs
# (the daemon enabled first, the roster the day before the exam).  The
# import's fast path for an empty roster drops the seat and ID-number
# indexes inside its transaction and builds them again before it commits
# (docs/roster-format.md, "Import speed"); the daemon, open on the same
# database in WAL all along, must then find candidates by ticket and by ID
# card through the rebuilt indexes, and the record must verify.
# Needs $BIN, jq, sqlite3, faketime.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"

for tool in jq sqlite3; do
    command -v $tool >/dev/null || { t_fail "needs $tool" "install it (scripts/install-deps)"; t_done; }
done
pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null || t_fail "session import" ""
sim_start reader1 idcard || t_fail "examsim reader1" "no pty"
CONF=$T/site.conf
LOG=$T/daemon.log
write_conf "$CONF" id
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"
wait_for 100 all_attached 1 || t_fail "devices attached" "$(ctl devices 2>&1)"

card() { mark; sim reader1 place "$CARDS/$1" >/dev/null; decision; sim reader1 remove >/dev/null; sleep 0.9; }

# The first roster, with the daemon running; in WAL beside it.
grep -e '^ticket' -e ',ONTIME,' "$DDATA/roster.csv" >"$T/roster.csv"
n=$(($(wc -l <"$T/roster.csv") - 1))
t_rc "first roster imported beside the running daemon" 0 ctl roster import "$T/roster.csv"
t_eq "all its candidates stored" "$n" "$(q "select count(*) from candidate")"
t_eq "the indexes built again" "candidate_id candidate_seat candidate_withdrawn" \
    "$(q "select group_concat(name, ' ') from (select name from sqlite_master
          where type = 'index' and tbl_name = 'candidate' and sql is not null order by name)")"
t_eq "still in WAL" wal "$(q "pragma journal_mode")"

card 260000000001.json
check "after: the daemon finds the ID card by the rebuilt index" \
    '.kind == "checkin.accepted" and .ticket == "260100000001"'
card 260000000006.json
check "after: and another" '.kind == "checkin.accepted" and .ticket == "260100000009"'
t_rc "the daemon is alive and answering" 0 ctl devices
t_rc "the record verifies" 0 ctl verify
t_eq "nothing went wrong in the daemon's log" "" "$(grep -iE 'error|busy|schema' "$LOG" | grep -v 'not on the roster')"
t_done
