#!/usr/bin/env bash
# foundation.sh: examctl on a real site database, from the outside.
#   - every bad input of tests/data/bad-inputs.tsv is refused with its exit
#     code and its FILE:LINE: reason, and leaves the database byte-for-byte
#     as it was (sqlite3 .dump before and after);
#   - the good path: sample sessions and roster (UTF-8 and GB18030), --json,
#     --skip-invalid, --dry-run, re-import;
#   - privacy: no full ID number in any output or in the database files;
#   - status/verify/events/idnumber/init/usage/--help exit codes and shapes;
#   - verify catches rows edited, deleted and inserted with the sqlite3 CLI,
#     and roster tables edited outside examctl (naming the table); it prints
#     the head; an empty log is not intact; a damaged head is said;
#   - the account on examctl's events; a regenerated secret is refused;
#   - readers answer at once while another process holds the write lock,
#     a writer gives up with 75; an older schema: readers and writers say
#     "run 'examctl migrate'", which migrates.
# Standalone: BIN=build bash tests/integration/foundation.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EX="$BIN/examctl"
DATA="$TOP/tests/data"
SAMPLES="$TOP/examples"
t_tmpdir
OUT="$T/all-output.log"     # every stdout and stderr of the good path
: >"$OUT"

if [ ! -x "$EX" ]; then
    t_fail setup "no examctl at $EX"
    t_done
fi
for tool in sqlite3 jq; do
    command -v "$tool" >/dev/null || { t_fail setup "$tool is not installed"; t_done; }
done

# ex DIR ARGS...: run examctl on DIR/site.db; stdout in $T/o, stderr in
# $T/e, exit code in RC; both also appended to $OUT.
ex() {
    local dir=$1
    shift
    "$EX" --db "$dir/site.db" "$@" >"$T/o" 2>"$T/e"
    RC=$?
    cat "$T/o" "$T/e" >>"$OUT"
    return 0
}

dump() { sqlite3 "$1/site.db" .dump; }

# --- templates: a site with the sample sessions, and one with the roster too
mkdir -p "$T/tpl-sessions" "$T/tpl-roster"
ex "$T/tpl-sessions" init --site-id HZVC-01 --site-name "杭州职业技术学院考点" --station door-101
t_eq "init exit" 0 "$RC"
t_contains "init says the site" "site HZVC-01" "$(cat "$T/o")"
t_eq "secret file mode" 600 "$(stat -c %a "$T/tpl-sessions/site.db.secret")"
ex "$T/tpl-sessions" session import "$SAMPLES/sessions.csv"
t_eq "session import exit" 0 "$RC"
t_contains "session import summary" "imported 2 sessions" "$(cat "$T/o")"
cp -p "$T/tpl-sessions/site.db" "$T/tpl-sessions/site.db.secret" "$T/tpl-roster/"
ex "$T/tpl-roster" roster import "$SAMPLES/roster.csv"
t_eq "roster import exit" 0 "$RC"
t_contains "roster import summary" "imported 40 candidates, 0 already present, 0 rejected" "$(cat "$T/o")"

# fresh SITE_TEMPLATE NAME: a copy of a template site in $T/NAME
fresh() {
    rm -rf "${T:?}/$2"
    mkdir -p "$T/$2"
    cp -p "$T/$1/site.db" "$T/$1/site.db.secret" "$T/$2/"
}

# --- the bad-input table -----------------------------------------------------
n=0
while IFS=$'\t' read -r file cmd want_rc want_err extra; do
    case "$file" in '#'* | '') continue ;; esac
    n=$((n + 1))
    case "$cmd" in
        roster) fresh tpl-roster "bad-$n" ;;
        session) fresh tpl-sessions "bad-$n" ;;
        *) t_fail "$file" "unknown command '$cmd' in bad-inputs.tsv"; continue ;;
    esac
    d="$T/bad-$n"
    cp "$DATA/bad/$file" "$d/"
    before=$(dump "$d")
    # shellcheck disable=SC2086  # extra holds options, split on purpose
    (cd "$d" && "$EX" --db site.db "$cmd" import "$file" $extra >"$d/out" 2>"$d/err")
    rc=$?
    t_eq "$file: exit code" "$want_rc" "$rc"
    t_contains "$file: stderr" "examctl: $want_err" "$(cat "$d/err")"
    t_eq "$file: every stderr line is one examctl: message" 0 \
        "$(grep -cv '^examctl: ' "$d/err")"
    t_eq "$file: database unchanged" "$before" "$(dump "$d")"
    t_eq "$file: nothing on stdout" "" "$(cat "$d/out")"
done <"$DATA/bad-inputs.tsv"
t_eq "bad-input cases run" yes "$([ "$n" -ge 20 ] && echo yes || echo "only $n")"

# the same refusal in JSON: the errors array carries line and reason
fresh tpl-roster json-bad
ex "$T/json-bad" --json roster import "$DATA/bad/dup-ticket.csv"
t_eq "json bad: exit" 65 "$RC"
t_eq "json bad: shape" true "$(jq -c '.imported == 0 and .rejected == 1 and
    (.errors | length == 1) and .errors[0].line == 4 and
    (.errors[0].reason | test("appears twice"))' "$T/o")"

# --- good path ---------------------------------------------------------------
G="$T/good"
fresh tpl-sessions good
ex "$G" --json roster import "$SAMPLES/roster.csv"
t_eq "json import: exit" 0 "$RC"
t_eq "json import: shape" '{"imported":40,"unchanged":0,"rejected":0,"errors":[]}' \
    "$(jq -c '{imported, unchanged, rejected, errors}' "$T/o")"
t_eq "json import: types" true "$(jq '(.imported|type) == "number" and (.rejected|type) == "number" and (.errors|type) == "array"' "$T/o")"

before=$(dump "$G")
ex "$G" roster import "$SAMPLES/roster-gb18030.csv"
t_eq "gb18030 re-import: exit" 0 "$RC"
t_contains "gb18030 re-import: nothing changed" "nothing changed: all 40 candidates" "$(cat "$T/o")"
ex "$G" roster import "$SAMPLES/roster.csv"
t_contains "utf-8 re-import: nothing changed" "nothing changed: all 40 candidates" "$(cat "$T/o")"
ex "$G" session import "$SAMPLES/sessions.csv"
t_contains "sessions re-import: nothing changed" "nothing changed: all 2 sessions" "$(cat "$T/o")"
t_eq "re-imports wrote nothing" "$before" "$(dump "$G")"
ex "$G" --json roster import "$SAMPLES/roster-gb18030.csv"
t_eq "json re-import" '{"imported":0,"unchanged":40,"rejected":0,"errors":[]}' "$(cat "$T/o")"

# header only: a file with no rows imports nothing and is not an error
head -n 1 "$SAMPLES/roster.csv" >"$T/header-only.csv"
ex "$G" roster import "$T/header-only.csv"
t_eq "header only: exit" 0 "$RC"
t_contains "header only: says so" "no data rows" "$(cat "$T/o")"
t_eq "header only: wrote nothing" "$before" "$(dump "$G")"

# --dry-run: everything checked, nothing written
D="$T/dry"
fresh tpl-sessions dry
before=$(dump "$D")
ex "$D" roster import --dry-run "$SAMPLES/roster.csv"
t_eq "dry run: exit" 0 "$RC"
t_contains "dry run: says what it would do" "dry run, nothing written: 40 candidates would be imported" "$(cat "$T/o")"
t_eq "dry run: database unchanged" "$before" "$(dump "$D")"
ex "$D" roster import --dry-run "$DATA/bad/bad-checkdigit.csv"
t_eq "dry run of a bad file: exit" 65 "$RC"
t_eq "dry run of a bad file: database unchanged" "$before" "$(dump "$D")"

# --skip-invalid: the good rows in, the bad still reported, exit 0
S="$T/skip"
fresh tpl-roster skip
cat >"$T/mixed.csv" <<'EOF'
ticket,name,id_number,session,room,seat
270000000001,周杰,320102199503151016,WEB-2026-12A,101,11
270000000002,吴敏,32010219960420202X,DB-2026-12B,101,11
270000000003,郑强,320102199705253038,WEB-2026-12A,101,12
270000000004,冯刚,320102199806304040,NOPE,101,12
EOF
ex "$S" roster import --skip-invalid "$T/mixed.csv"
t_eq "skip-invalid: exit" 0 "$RC"
t_contains "skip-invalid: line 4 reported" "mixed.csv:4: ID number 320102********3038: the check digit is wrong" "$(cat "$T/e")"
t_contains "skip-invalid: line 5 reported" "mixed.csv:5: session 'NOPE' is not known" "$(cat "$T/e")"
t_contains "skip-invalid: summary" "imported 2 candidates, 0 already present, 2 rejected" "$(cat "$T/o")"
ex "$S" --json roster list
t_eq "skip-invalid: 42 on the roster" 42 "$(jq '.candidates | length' "$T/o")"
t_eq "skip-invalid: the good rows are there" 2 \
    "$(jq '[.candidates[] | select(.ticket == "270000000001" or .ticket == "270000000002")] | length' "$T/o")"
fresh tpl-roster skip-json
ex "$T/skip-json" --json roster import --skip-invalid "$T/mixed.csv"
t_eq "skip-invalid json" true "$(jq '.imported == 2 and .rejected == 2 and ([.errors[].line] == [4, 5])' "$T/o")"

# --- roster show / list: masked ID numbers ------------------------------------
ex "$G" roster show 260000000014
t_eq "roster show: exit" 0 "$RC"
t_contains "roster show: masked" "**************013X" "$(cat "$T/o")"
t_contains "roster show: name" "赵梓涵" "$(cat "$T/o")"
ex "$G" --json roster show 260000000001
t_eq "roster show json" '"**************0000"' "$(jq -c .id_number "$T/o")"
ex "$G" roster show 999
t_eq "roster show unknown: exit" 65 "$RC"
ex "$G" roster list --session WEB-2026-12A --room 102
t_eq "roster list filtered: header + 10 lines" 11 "$(wc -l <"$T/o")"
ex "$G" events
ex "$G" --json events
ex "$G" status
ex "$G" verify

# --- privacy: no full ID number anywhere ------------------------------------
cut -d, -f3 "$SAMPLES/roster.csv" | tail -n +2 >"$T/ids"
t_eq "sample ID numbers listed" 40 "$(grep -c . "$T/ids")"
t_eq "no full ID number in any output" 0 "$(grep -c -F -f "$T/ids" "$OUT")"
t_eq "output log is not empty" yes "$([ -s "$OUT" ] && echo yes)"
for db in "$G" "$S" "$T/tpl-roster"; do
    for f in "$db"/site.db*; do
        [ "$f" = "$db/site.db.secret" ] && continue
        t_eq "no full ID number in $(basename "$db")/$(basename "$f")" 0 \
            "$(grep -a -c -F -f "$T/ids" "$f")"
    done
done
# the grep can find one: a control, so the check above can fail
t_eq "the privacy grep works" 1 "$(grep -a -c -F -f "$T/ids" "$SAMPLES/roster.csv" >/dev/null && echo 1)"
t_eq "secret mode after imports" 600 "$(stat -c %a "$G/site.db.secret")"

# --- status --json ---------------------------------------------------------
ex "$G" --json status
t_eq "status json: exit" 0 "$RC"
t_eq "status json: shape" true "$(jq '(.sessions | length) == 4 and
    all(.sessions[]; (keys | sort) == ["absent","code","denied","expected","incidents","late","present","room"])
    and ([.sessions[].expected] | add) == 40 and ([.sessions[].present] | add) == 0' "$T/o")"
ex "$G" --json status --session DB-2026-12B --room 102
t_eq "status json filtered" '[{"code":"DB-2026-12B","room":"102","expected":10}]' \
    "$(jq -c '[.sessions[] | {code, room, expected}]' "$T/o")"

# --- events ----------------------------------------------------------------
ex "$G" --json events
t_eq "events json: one object per line" 4 "$(jq -s length "$T/o")"
t_eq "events json: kinds" '["site.created","session.added","session.added","roster.imported"]' \
    "$(jq -sc '[.[].kind]' "$T/o")"
t_eq "events json: hashes" true "$(jq -s 'all(.[]; (.hash | test("^[0-9a-f]{64}$")) and (.prev_hash | length) == 64)
    and .[0].prev_hash == ("0" * 64) and ([range(1; length) as $i | .[$i].prev_hash == .[$i - 1].hash] | all)' "$T/o")"
ex "$G" --json events --since 3
t_eq "events --since" "[4]" "$(jq -sc '[.[].id]' "$T/o")"

# --- verify ---------------------------------------------------------------
ex "$G" verify
t_eq "verify intact: exit" 0 "$RC"
t_contains "verify intact: count" "chain intact: 4 events" "$(cat "$T/o")"

# tamper DIR SQL: as an attacker with the sqlite3 CLI (triggers dropped first)
tamper() {
    sqlite3 "$1/site.db" "DROP TRIGGER event_no_update; DROP TRIGGER event_no_delete; $2"
}
fresh tpl-roster v-edit
tamper "$T/v-edit" "UPDATE event SET payload = '{\"rows\":41}' WHERE id = 2"
ex "$T/v-edit" verify
t_eq "verify edited: exit" 1 "$RC"
t_contains "verify edited: reason" "event 2: contents do not match its hash (edited)" "$(cat "$T/e")"
fresh tpl-roster v-delete
tamper "$T/v-delete" "DELETE FROM event WHERE id = 2"
ex "$T/v-delete" verify
t_eq "verify deleted: exit" 1 "$RC"
t_contains "verify deleted: reason" "event 3 follows event 1: rows are missing (deleted)" "$(cat "$T/e")"
fresh tpl-roster v-delete-last
tamper "$T/v-delete-last" "DELETE FROM event WHERE id = (SELECT max(id) FROM event)"
ex "$T/v-delete-last" verify
t_eq "verify last deleted: exit" 1 "$RC"
t_contains "verify last deleted: reason" "rows at the end were deleted" "$(cat "$T/e")"
fresh tpl-roster v-insert
tamper "$T/v-insert" "INSERT INTO event (time, tz_offset, kind, ticket, payload, prev_hash, hash)
    SELECT time, tz_offset, 'checkin.manual', '260000000001', '{}', hash, hash FROM event
    WHERE id = (SELECT max(id) FROM event)"
ex "$T/v-insert" verify
t_eq "verify inserted: exit" 1 "$RC"
t_contains "verify inserted: reason" "event 5: contents do not match its hash" "$(cat "$T/e")"
ex "$T/v-insert" --json verify
t_eq "verify json broken" true "$(jq '.intact == false and .bad_event == 5 and (.reason | length) > 0' "$T/o")"
fresh tpl-roster v-ok
ex "$T/v-ok" --json events
head_hash=$(jq -rs '.[-1].hash' "$T/o")
t_eq "events: the last hash is a hash" true "$(echo "$head_hash" | grep -Eqx '[0-9a-f]{64}' && echo true)"
ex "$T/v-ok" --json verify
t_eq "verify json intact" "{\"intact\":true,\"checked\":4,\"last_id\":4,\"head_hash\":\"$head_hash\"}" "$(cat "$T/o")"
ex "$T/v-ok" verify
t_contains "verify prints the head" "head: event 4, hash $head_hash" "$(cat "$T/o")"

# --- idnumber check ---------------------------------------------------------
for good in 11010519491231002X 11010519491231002x 440524188001010014 440524188001015368 53010219200508011X; do
    t_rc "idnumber $good valid" 0 "$EX" idnumber check "$good"
done
"$EX" idnumber check 110105194912310021 >"$T/o" 2>"$T/e"
t_eq "idnumber bad check digit: exit" 1 "$?"
t_contains "idnumber bad check digit: reason" "check digit" "$(cat "$T/e")"
"$EX" idnumber check 110105194902310026 >"$T/o" 2>"$T/e"
t_eq "idnumber Feb 31: exit" 1 "$?"
t_contains "idnumber Feb 31: reason" "birth date" "$(cat "$T/e")"
t_rc "idnumber short" 1 "$EX" idnumber check 1101051949123100
t_rc "idnumber letters" 1 "$EX" idnumber check 1101051949123100AX
t_eq "idnumber valid prints valid" valid "$("$EX" idnumber check 11010519491231002X 2>/dev/null)"

# --- init refuses an existing database -------------------------------------------
before=$(dump "$G")
ex "$G" init --site-id OTHER --site-name other
t_eq "init over an existing db: exit 73" 73 "$RC"
t_contains "init over an existing db: says so" "already exists" "$(cat "$T/e")"
t_eq "init over an existing db: unchanged" "$before" "$(dump "$G")"
mkdir -p "$T/secret-only"
echo 00 >"$T/secret-only/site.db.secret"
ex "$T/secret-only" init --site-id S1 --site-name X
t_eq "init with a stray secret: exit 73" 73 "$RC"
t_eq "init with a stray secret: no db left" no "$([ -e "$T/secret-only/site.db" ] && echo yes || echo no)"

# --- usage errors: 64 ---------------------------------------------------------
t_rc "no command" 64 "$EX"
t_rc "unknown command" 64 "$EX" --db "$G/site.db" frobnicate
t_rc "unknown global option" 64 "$EX" --frob status
t_rc "roster without subcommand" 64 "$EX" --db "$G/site.db" roster
t_rc "roster import without file" 64 "$EX" --db "$G/site.db" roster import
t_rc "roster import bad encoding" 64 "$EX" --db "$G/site.db" roster import --encoding latin1 "$SAMPLES/roster.csv"
t_rc "session import without file" 64 "$EX" --db "$G/site.db" session import
t_rc "init without site id" 64 "$EX" --db "$T/u.db" init --site-name X
t_rc "init bad site id" 64 "$EX" --db "$T/u.db" init --site-id "a b" --site-name X
t_rc "idnumber without number" 64 "$EX" idnumber check
t_rc "events bad --since" 64 "$EX" --db "$G/site.db" events --since x
t_rc "verify extra argument" 64 "$EX" --db "$G/site.db" verify now
t_eq "usage errors created nothing" no "$([ -e "$T/u.db" ] && echo yes || echo no)"

# --- missing database: 66 -----------------------------------------------------
for cmd in status verify events "roster list" "session list" "roster import $SAMPLES/roster.csv"; do
    # shellcheck disable=SC2086
    "$EX" --db "$T/missing.db" $cmd >/dev/null 2>"$T/e"
    t_eq "missing db, $cmd: exit 66" 66 "$?"
done
t_contains "missing db: says what to do" "run 'examctl init' first" "$(cat "$T/e")"
t_eq "missing db: not created" no "$([ -e "$T/missing.db" ] && echo yes || echo no)"
EXAMSITE_DB="$T/missing.db" "$EX" status >/dev/null 2>&1
t_eq "EXAMSITE_DB is used" 66 "$?"
EXAMSITE_DB="$G/site.db" "$EX" verify >/dev/null 2>&1
t_eq "EXAMSITE_DB finds a site" 0 "$?"

# --- --help on every command: 0 ---------------------------------------------------
for cmd in "" init session "session import" "session add" "session list" roster \
    "roster import" "roster list" "roster show" status events verify idnumber \
    "idnumber check" idcard device "device listen"; do
    # shellcheck disable=SC2086
    "$EX" $cmd --help >"$T/o" 2>/dev/null
    rc=$?
    t_eq "examctl $cmd --help: exit" 0 "$rc"
    t_contains "examctl $cmd --help: usage" "usage:" "$(cat "$T/o")"
done

# --- the record proves itself: reference tables, head, empty log ---------------
# The roster tables are tied to the chain: every edit made outside an event
# with the sqlite3 CLI is caught by verify, naming its table.
ref_edit() {   # NAME TABLE SQL
    fresh tpl-roster "r-$1"
    sqlite3 "$T/r-$1/site.db" "$3"
    ex "$T/r-$1" verify
    t_eq "ref $1: verify exit" 1 "$RC"
    t_contains "ref $1: names the table" "roster tables differ from the record: table $2 was edited outside examctl" "$(cat "$T/e")"
    ex "$T/r-$1" --json verify
    t_eq "ref $1: json" true "$(jq --arg t "$2" '.intact == false and .table == $t and
        .last_id == 4 and (has("bad_event") | not) and (.reason | test("edited outside examctl"))' "$T/o")"
}
# a stand-in's card: ticket ...01's ID hash replaced by ...02's (another session)
ref_edit idhash candidate "UPDATE candidate SET id_hash = (SELECT id_hash FROM candidate
    WHERE ticket = '260000000002') WHERE ticket = '260000000001'"
ref_edit seat candidate "UPDATE candidate SET seat = '99' WHERE ticket = '260000000002'"
ref_edit removed candidate "DELETE FROM candidate WHERE ticket = '260000000003'"
ref_edit window session "UPDATE session SET late_after = 200 WHERE code = 'WEB-2026-12A'"
ref_edit zone site "UPDATE site SET timezone = 'Asia/Urumqi'"
# examctl's own changes keep it intact
fresh tpl-roster r-proper
ex "$T/r-proper" session add EXTRA-1 --certificate "Web前端开发" --level 初级 --date 2026-12-06 --start 09:00 --end 10:00
t_eq "ref proper: session add" 0 "$RC"
ex "$T/r-proper" roster import --skip-invalid "$T/mixed.csv"
t_eq "ref proper: import" 0 "$RC"
ex "$T/r-proper" verify
t_eq "ref proper: verify intact" 0 "$RC"
t_contains "ref proper: tables as recorded" "roster tables: as recorded by event 6" "$(cat "$T/o")"

# the account examctl ran as, on every event it wrote itself
ex "$G" --json events
t_eq "account on examctl's events" true "$(jq -s --argjson uid "$(id -u)" --arg user "$(id -un)" '
    length == 4 and all(.[]; .payload.account == {"uid": $uid, "user": $user})' "$T/o")"
t_eq "refdigest on examctl's events" true "$(jq -s 'all(.[]; .payload.refdigest.v == 1 and
    (.payload.refdigest.candidate | test("^[0-9a-f]{64}$")))' "$T/o")"

# an empty log is no site's record
fresh tpl-roster empty-log
tamper "$T/empty-log" "DELETE FROM event; DELETE FROM sqlite_sequence"
ex "$T/empty-log" verify
t_eq "empty log: exit 1" 1 "$RC"
t_contains "empty log: says so" "the event log is empty, not even site.created" "$(cat "$T/e")"
ex "$T/empty-log" --json verify
t_eq "empty log: json" true "$(jq '.intact == false and .checked == 0 and .head_hash == null and (.reason | test("empty"))' "$T/o")"

# a damaged head: writes say why instead of failing blind
fresh tpl-roster bad-head
tamper "$T/bad-head" "UPDATE event SET hash = 'zz' WHERE id = 4"
ex "$T/bad-head" session add EXTRA-2 --certificate c --level 初级 --date 2026-12-06 --start 09:00 --end 10:00
t_eq "damaged head: write refused" 65 "$RC"
t_contains "damaged head: why" "event 4, the last one, is damaged: its hash is not 64 lower-case hex digits" "$(cat "$T/e")"
ex "$T/bad-head" verify
t_eq "damaged head: verify" 1 "$RC"

# --- the secret belongs to its database -----------------------------------------
fresh tpl-roster wrong-secret
t_eq "init stored the secret's check value" 1 "$(sqlite3 "$T/wrong-secret/site.db" 'SELECT count(*) FROM secret_check')"
before=$(dump "$T/wrong-secret")
rm "$T/wrong-secret/site.db.secret"
mkdir -p "$T/other-site"
"$EX" --db "$T/other-site/site.db" init --site-id X --site-name x >/dev/null 2>&1
cp -p "$T/other-site/site.db.secret" "$T/wrong-secret/site.db.secret"   # a regenerated secret
ex "$T/wrong-secret" roster import "$SAMPLES/roster.csv"
t_eq "regenerated secret: import refused" 78 "$RC"
t_contains "regenerated secret: says so" "site.db.secret: the secret file does not belong to this database (" "$(cat "$T/e")"
t_eq "regenerated secret: nothing written" "$before" "$(dump "$T/wrong-secret")"
ex "$T/wrong-secret" roster import --dry-run "$SAMPLES/roster.csv"
t_eq "regenerated secret: dry run refused too" 78 "$RC"

# --- read-only commands stay read-only --------------------------------------------
# Another process holds the write lock: every reader answers at once (WAL),
# a writer gives up with 75 and says why.
L="$T/locked"
fresh tpl-roster locked
(echo 'BEGIN IMMEDIATE;'; echo "INSERT INTO room VALUES ('held');"; sleep 12; echo 'COMMIT;') | sqlite3 "$L/site.db" &
holder=$!
t_on_exit "t_kill_child $holder"
sleep 1
for cmd in status "roster list" "roster show 260000000001" "session list" events verify \
    "export attendance --session WEB-2026-12A"; do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    ex "$L" $cmd
    t1=$(date +%s%N)
    t_eq "locked: $cmd: exit 0" 0 "$RC"
    t_eq "locked: $cmd answers at once" yes "$([ $(((t1 - t0) / 1000000)) -lt 2000 ] && echo yes || echo "took $(((t1 - t0) / 1000000)) ms")"
done
ex "$L" session add EXTRA-3 --certificate c --level 初级 --date 2026-12-06 --start 09:00 --end 10:00
t_eq "locked: a writer gives up with 75" 75 "$RC"
t_contains "locked: and says why" "another process kept it locked for writing" "$(cat "$T/e")"
wait "$holder"
ex "$L" session add EXTRA-3 --certificate c --level 初级 --date 2026-12-06 --start 09:00 --end 10:00
t_eq "unlocked: the writer gets through" 0 "$RC"

# readers never migrate: an older schema is said, with what to run
O="$T/old-schema"
fresh tpl-roster old-schema
sqlite3 "$O/site.db" "DROP INDEX event_reference; DROP TABLE secret_check; PRAGMA user_version = 1"
before=$(dump "$O")
for cmd in status verify events "roster list" "session list"; do
    # shellcheck disable=SC2086
    ex "$O" $cmd
    t_eq "old schema: $cmd: exit 66" 66 "$RC"
    t_contains "old schema: $cmd: what to run" "run 'examctl migrate' (or start the daemon)" "$(cat "$T/e")"
done
ex "$O" roster import "$SAMPLES/roster.csv"
t_eq "old schema: writers do not migrate either" 66 "$RC"
t_eq "old schema: nothing changed by trying" "$before" "$(dump "$O")"
ex "$O" migrate
t_eq "migrate: exit" 0 "$RC"
t_contains "migrate: says what it did" "schema 1 -> 2" "$(cat "$T/o")"
ex "$O" --json migrate
t_eq "migrate again: nothing to do" '{"from":2,"to":2}' "$(cat "$T/o")"
ex "$O" status
t_eq "migrated: status" 0 "$RC"
# the first write that loads the secret records its check value
t_eq "migrated: no check value yet" 0 "$(sqlite3 "$O/site.db" 'SELECT count(*) FROM secret_check')"
ex "$O" roster import "$SAMPLES/roster.csv"
t_eq "migrated: import" 0 "$RC"
t_eq "migrated: check value recorded" 1 "$(sqlite3 "$O/site.db" 'SELECT count(*) FROM secret_check')"
ex "$O" verify
t_eq "migrated: verify" 0 "$RC"
t_rc "migrate: missing db" 66 "$EX" --db "$T/missing.db" migrate
t_rc "migrate: usage" 64 "$EX" --db "$O/site.db" migrate now
"$EX" migrate --help >"$T/o" 2>/dev/null
t_contains "migrate --help" "usage:" "$(cat "$T/o")"
t_eq "migrate: missing db not created" no "$([ -e "$T/missing.db" ] && echo yes || echo no)"

t_done
