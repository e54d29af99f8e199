#!/usr/bin/env bash
# foundation.sh: examctl on a real site database, from the outside.
#   - every bad input of tests/data/bad-inputs.tsv is refused with its exit
#     code and its FILE:LINE: reason, and leaves the database byte-for-byte
#     as it was (sqlite3 .dump before and after);
#   - the good path: sample sessions and roster (UTF-8 and GB18030), --json,
#     --skip-invalid, --dry-run, re-import;
#   - privacy: no full ID number in any output or in the database files;
#   - status/verify/events/idnumber/init/usage/--help exit codes and shapes;
#   - what Excel and tired administrators do: rows of only commas, a ticket
#     in scientific notation, several errors in one row, a roster before
#     its sessions (one line), usage errors (one line naming the problem),
#     init's file modes and its chown hint;
#   - with a running examsited (simulated readers): roster import starts the
#     readers of its rooms, `examctl reload`, export attendance in site time
#     with formula cells neutralised, the -wal file's mode;
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

# A first import (no candidate yet) keeps the seat and ID-number keys
# itself while their indexes are rebuilt after the rows
# (docs/roster-format.md, "Import speed"): the same refusals, the same
# words, nothing written, the indexes back.
for file in dup-ticket.csv dup-seat.csv dup-id.csv; do
    want_err=$(awk -F'\t' -v f="$file" '$1 == f { print $4 }' "$DATA/bad-inputs.tsv")
    fresh tpl-sessions "first-$file"
    d="$T/first-$file"
    before=$(dump "$d")
    (cd "$d" && cp "$DATA/bad/$file" . && "$EX" --db site.db roster import "$file" >"$d/out" 2>"$d/err")
    t_eq "first import, $file: exit code" 65 "$?"
    t_contains "first import, $file: stderr" "examctl: $want_err" "$(cat "$d/err")"
    t_eq "first import, $file: database unchanged" "$before" "$(dump "$d")"
    t_eq "first import, $file: indexes there" 2 "$(sqlite3 "$d/site.db" \
        "SELECT count(*) FROM sqlite_master WHERE name IN ('candidate_id', 'candidate_seat')")"
done

# A first import out of ticket order: recorded as the tables are
fresh tpl-sessions unordered
{ head -1 "$SAMPLES/roster.csv"; tail -n +2 "$SAMPLES/roster.csv" | sort -r; } >"$T/unordered.csv"
ex "$T/unordered" roster import "$T/unordered.csv"
t_eq "first import out of ticket order: exit" 0 "$RC"
ex "$T/unordered" verify
t_eq "first import out of ticket order: verify" 0 "$RC"
t_eq "first import out of ticket order: the same rows as in order" \
    "$(sqlite3 "$T/tpl-roster/site.db" 'SELECT ticket, id_hash, seat FROM candidate ORDER BY ticket' | md5sum)" \
    "$(sqlite3 "$T/unordered/site.db" 'SELECT ticket, id_hash, seat FROM candidate ORDER BY ticket' | md5sum)"
ex "$T/tpl-roster" verify
t_eq "first import in ticket order: verify" 0 "$RC"

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
t_contains "skip-invalid: line 5 reported" "mixed.csv:5: session 'NOPE' is not defined" "$(cat "$T/e")"
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

# --- init: file modes and the hand-over to the service ------------------------
mkdir -p "$T/modes"
(umask 077 && "$EX" --db "$T/modes/site.db" init --site-id S1 --site-name X >"$T/o" 2>"$T/e")
t_eq "init (umask 077): exit" 0 "$?"
t_eq "init: database mode 0640" 640 "$(stat -c %a "$T/modes/site.db")"
t_eq "init: secret mode 0600" 600 "$(stat -c %a "$T/modes/site.db.secret")"
t_contains "init: says how to hand them to the service" \
    "chown examsite:examsite $T/modes/site.db $T/modes/site.db.secret" "$(cat "$T/o")"
mkdir -p "$T/modes/with space"
"$EX" --db "$T/modes/with space/site.db" init --site-id S1 --site-name X >"$T/o" 2>&1
t_contains "init: the chown line is quoted for the shell" \
    "chown examsite:examsite '$T/modes/with space/site.db' '$T/modes/with space/site.db.secret'" "$(cat "$T/o")"

# --- a roster before its sessions: one line -----------------------------------
ex "$T/modes" roster import "$SAMPLES/roster.csv"
t_eq "roster before sessions: exit" 65 "$RC"
t_eq "roster before sessions: one line" 1 "$(wc -l <"$T/e")"
t_contains "roster before sessions: says what to do" \
    "examctl: $SAMPLES/roster.csv:2: session 'WEB-2026-12A' is not defined: import the sessions first" "$(cat "$T/e")"
t_eq "roster before sessions: nothing imported" 0 "$(sqlite3 "$T/modes/site.db" 'select count(*) from candidate')"

# --- Excel's files: comma rows, several errors in a row -------------------------
fresh tpl-sessions excel
{
    printf 'ticket,name,id_number,session,room,seat\r\n,,,,,\r\n'
    sed -n 2,3p "$SAMPLES/roster.csv" | sed 's/$/\r/'
    printf ',,,,,\r\n,,,,,\r\n'
} >"$T/commas.csv"
ex "$T/excel" roster import "$T/commas.csv"
t_eq "comma-only rows: exit" 0 "$RC"
t_contains "comma-only rows: skipped" "imported 2 candidates, 0 already present, 0 rejected" "$(cat "$T/o")"
t_eq "comma-only rows: no complaint" "" "$(cat "$T/e")"
printf 'ticket,name,id_number,session,room,seat\n2.60000E+11,,3.20102E+17,WEB-2026-12A,1/01,\n' >"$T/many.csv"
ex "$T/excel" roster import "$T/many.csv"
t_eq "several errors in a row: exit" 65 "$RC"
t_eq "several errors in a row: one line each, and the summary" 6 "$(wc -l <"$T/e")"
t_eq "several errors in a row: all at line 2" 5 "$(grep -c "^examctl: $T/many.csv:2: " "$T/e")"
t_contains "several errors: the Excel hint" "ticket number '2.60000E+11' is in scientific notation: Excel turned the column into numbers" "$(cat "$T/e")"
t_contains "several errors: the name" "many.csv:2: name is empty" "$(cat "$T/e")"
t_contains "several errors: the seat" "many.csv:2: seat is empty" "$(cat "$T/e")"

# --- usage errors: one line, naming what was wrong -------------------------------
usage_case() {   # usage_case NAME EXPECTED-SUBSTRING ARGS...
    local name=$1 want=$2
    shift 2
    "$EX" "$@" >"$T/o" 2>"$T/e"
    t_eq "usage, $name: exit 64" 64 "$?"
    t_eq "usage, $name: one line" 1 "$(wc -l <"$T/e")"
    t_contains "usage, $name: says what" "examctl: usage: $want" "$(cat "$T/e")"
    t_eq "usage, $name: nothing on stdout" "" "$(cat "$T/o")"
}
usage_case "no command" "no command given" --db "$G/site.db"
usage_case "unknown command" "unknown command 'frobnicate'" --db "$G/site.db" frobnicate
usage_case "unknown global option" "unknown option '--frob'" --frob status
usage_case "global option without argument" "option '--db' needs an argument" --db
usage_case "unknown import option" "unknown option '--overwrite': examctl roster import FILE" \
    --db "$G/site.db" roster import --overwrite "$SAMPLES/roster.csv"
usage_case "missing option argument" "option '--encoding' needs an argument" \
    --db "$G/site.db" roster import "$SAMPLES/roster.csv" --encoding
usage_case "bad encoding" "--encoding must be auto, utf-8 or gb18030, not 'latin1'" \
    --db "$G/site.db" roster import --encoding latin1 "$SAMPLES/roster.csv"
usage_case "missing file" "roster import needs the FILE" --db "$G/site.db" roster import
usage_case "missing subcommand" "roster needs import, list or show" --db "$G/site.db" roster
usage_case "unknown subcommand" "unknown session subcommand 'frob'" --db "$G/site.db" session frob
usage_case "missing required option" "session add needs --level" \
    --db "$G/site.db" session add X1 --certificate C --date 2026-12-05 --start 09:00 --end 11:00
usage_case "init without --site-name" "init needs --site-name" --db "$T/u.db" init --site-id S1
usage_case "export without --session" "export attendance needs --session" --db "$G/site.db" export attendance
usage_case "reload with an argument" "reload takes no arguments" reload now
t_eq "usage errors created nothing (2)" no "$([ -e "$T/u.db" ] && echo yes || echo no)"

# --- with a running examsited ------------------------------------------------------
. "$TOP/tests/data/daemon/lib-daemon.sh"
L="$T/live"
mkdir -p "$L"
pick_zone
site_init "$L"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
} >"$L/sessions.csv"
ctl session import "$L/sessions.csv" >/dev/null
sim_start r101 idcard || t_fail "live: examsim r101" "no pty"
sim_start r102 idcard || t_fail "live: examsim r102" "no pty"
{
    printf '[site]\nid = S1\nstation = st1\ndatabase = %s\ntimezone = %s\n' "$DB" "$ZONE"
    printf '[control]\nsocket = %s\n[policy]\nmode = ticket\n' "$SOCK"
    printf '[device r101]\ntype = idcard\ntransport = serial\npath = %s\nroom = 101\n' "${SIMPTY[r101]}"
    printf '[device r102]\ntype = idcard\ntransport = serial\npath = %s\nroom = 109\n' "${SIMPTY[r102]}"
} >"$L/site.conf"
daemon_start "$L/site.conf" "$L/daemon.log" || t_fail "live: daemon start" "$(tail -5 "$L/daemon.log")"
wait_for 100 all_attached 2 || t_fail "live: readers attached" "$(ctl devices 2>&1)"
polling() { [ "$(ctl --json devices | jq -r ".[] | select(.name == \"$1\") | .polling")" = "$2" ]; }
t_eq "live: no roster yet, r101 idle" yes "$(polling r101 false && echo yes)"
t_eq "live: db-wal mode follows the database" 640 "$(stat -c %a "$DB-wal" 2>&1)"

{
    grep -E '^ticket|,ONTIME,' "$DDATA/roster.csv"
    echo "260100000091,\"=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\",$(idnum 11010519900101001),ONTIME,101,91"
    echo "260100000092,+86 123,$(idnum 11010519900101002),ONTIME,101,92"
    echo "260100000093,-minus,$(idnum 11010519900101003),ONTIME,101,93"
    echo "260100000094,@SUM(A1),$(idnum 11010519900101004),ONTIME,101,94"
} >"$L/roster.csv"
ctl roster import "$L/roster.csv" >"$T/o" 2>"$T/e"
t_eq "live: roster import exit" 0 "$?"
t_eq "live: roster import told the daemon (no complaint)" "" "$(cat "$T/e")"
wait_for 50 polling r101 true && t_ok "live: roster import starts r101" ||
    t_fail "live: roster import starts r101" "$(ctl devices 2>&1)"
t_eq "live: room 109 has no candidates, r102 idle" yes "$(polling r102 false && echo yes)"

# a change behind examctl's back is seen after `examctl reload`
q "INSERT INTO room VALUES ('109'); UPDATE candidate SET room = '109' WHERE ticket = '260100000002'"
sleep 1
t_eq "live: not told, r102 still idle" yes "$(polling r102 false && echo yes)"
ctl reload >"$T/o" 2>"$T/e"
t_eq "live: reload exit" 0 "$?"
t_contains "live: reload says so" "examsited re-read the sessions and the roster" "$(cat "$T/o")"
wait_for 50 polling r102 true && t_ok "live: reload starts r102" ||
    t_fail "live: reload starts r102" "$(ctl devices 2>&1)"
t_eq "live: reload --json" '{"reloaded":true}' "$(ctl --json reload)"

# export attendance: check-in time in the site's zone, formulas neutralised
ctl checkin manual 260100000001 --operator 王老师 --reason "forgot ID card" >/dev/null 2>&1 ||
    t_fail "live: manual check-in" "$(ctl checkin manual 260100000001 --operator x --reason y 2>&1)"
utc=$(q "select time from event where kind = 'checkin.manual' and ticket = '260100000001'")
ctl export attendance --session ONTIME >"$L/att.csv" 2>"$T/e"
t_eq "live: export exit" 0 "$?"
t_contains "live: export time in site time ($ZONE)" \
    "\"260100000001\",\"黄伟\",\"ONTIME\",\"101\",\"01\",\"present\",\"$(TZ=$ZONE date -d "$utc" +%H:%M:%S)\"" "$(cat "$L/att.csv")"
t_contains "live: =formula neutralised" '"'"'"'=HYPERLINK(""http://x.example"",""y"")"' "$(cat "$L/att.csv")"
t_contains "live: +cell neutralised" '"'"'"'+86 123"' "$(cat "$L/att.csv")"
t_contains "live: -cell neutralised" '"'"'"'-minus"' "$(cat "$L/att.csv")"
t_contains "live: @cell neutralised" '"'"'"'@SUM(A1)"' "$(cat "$L/att.csv")"
t_eq "live: no cell starts with a formula character" 0 \
    "$(grep -c '\(^\|,\)"[=+@-]' "$L/att.csv")"
kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
ctl reload >/dev/null 2>"$T/e"
t_eq "reload without a daemon: exit 69" 69 "$?"
t_contains "reload without a daemon: says so" "examsited is not answering" "$(cat "$T/e")"
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
t_eq "refdigest on examctl's events" true "$(jq -s 'all(.[]; .payload.refdigest.v == 2 and
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
# the schema this build makes, then as version 1 left it (without 002's
# objects and those of later migrations)
LATEST=$(sqlite3 "$O/site.db" 'PRAGMA user_version')
sqlite3 "$O/site.db" "DROP INDEX event_reference; DROP TABLE secret_check;
    DROP TABLE IF EXISTS sync_batch; DROP TABLE IF EXISTS sync_cursor;
    PRAGMA user_version = 1"
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
t_contains "migrate: says what it did" "schema 1 -> $LATEST" "$(cat "$T/o")"
ex "$O" --json migrate
t_eq "migrate again: nothing to do" "{\"from\":$LATEST,\"to\":$LATEST}" "$(cat "$T/o")"
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

# --- the import's journal ---------------------------------------------------
# Alone with the database the import writes through a rollback journal and
# leaves it in WAL; with another connection open (a running daemon) it
# stays in WAL and neither waits for the other.
mkdir -p "$T/journal"
cp -p "$T/tpl-sessions/site.db" "$T/tpl-sessions/site.db.secret" "$T/journal/"
ex "$T/journal" roster import "$SAMPLES/roster.csv"
t_eq "journal: import alone" 0 "$RC"
t_eq "journal: WAL again after it" wal "$(sqlite3 "$T/journal/site.db" 'PRAGMA journal_mode')"
t_eq "journal: no rollback journal left" "" "$(ls "$T/journal" | grep -- '-journal$')"
t_eq "journal: the rows are there" 40 "$(sqlite3 "$T/journal/site.db" 'SELECT count(*) FROM candidate')"
mkdir -p "$T/journal2"
cp -p "$T/tpl-sessions/site.db" "$T/tpl-sessions/site.db.secret" "$T/journal2/"
mkfifo "$T/journal2/hold"
sqlite3 "$T/journal2/site.db" <"$T/journal2/hold" >"$T/journal2/reader.out" 2>&1 &
HOLD=$!
exec 4>"$T/journal2/hold"
echo "SELECT count(*) FROM session;" >&4
for _ in $(seq 50); do [ -s "$T/journal2/reader.out" ] && break; sleep 0.1; done
t_eq "journal: another connection is open" 2 "$(head -1 "$T/journal2/reader.out")"
timeout 8 "$EX" --db "$T/journal2/site.db" roster import "$SAMPLES/roster.csv" >"$T/o" 2>"$T/e"
t_eq "journal: import beside another connection, without waiting for it" 0 "$?"
echo "SELECT count(*) FROM candidate;" >&4
# the other connection's card read by the indexes the import rebuilt
echo "SELECT count(*) FROM candidate WHERE id_hash = (SELECT id_hash FROM candidate WHERE ticket = '260000000001');" >&4
echo "EXPLAIN QUERY PLAN SELECT ticket, name, seat FROM candidate WHERE id_hash = x'00';" >&4
exec 4>&-
wait "$HOLD"
t_eq "journal: the other connection sees the import" 40 "$(sed -n 2p "$T/journal2/reader.out")"
t_eq "journal: the other connection reads a card" 1 "$(sed -n 3p "$T/journal2/reader.out")"
t_contains "journal: ... by the rebuilt index" "INDEX candidate_id (id_hash=?)" "$(cat "$T/journal2/reader.out")"
t_eq "journal: still WAL" wal "$(sqlite3 "$T/journal2/site.db" 'PRAGMA journal_mode')"

t_done
