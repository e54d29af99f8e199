#!/usr/bin/env bash
# office.sh: the office's side of examcentral with the real binary: a
# seeded office (two sites' batches written by tests/data/office/mkoffice.py
# and tests/data/sync/mkbatch.py from the documented formats, posted as a
# station posts them), then
#   the users: passwd hashes (no password in the file), HTTP Basic on every
#     page and report (401 without, with a wrong password, an unknown
#     user), the station API and /healthz as before, no --users: no page;
#   results import: a good UTF-8 file, a GB18030 file with Chinese headers,
#     bad lines each named with nothing stored, a result for an absent and
#     for a never-seen candidate refused naming the ticket, --dry-run,
#     bounds (an over-long field, too many rows);
#   the reports, JSON and CSV (BOM, CRLF, formula cells neutralised): the
#     figures per exam, the pilots' verdicts under two shipped profiles and
#     a profile file;
#   the biweekly reports: the ended periods made soon after the batches
#     come, nothing more at a restart; under libfaketime:
#     made by the timer just after its period's midnight, a late one
#     counted as missed, two missed withdrawing; listed, downloadable;
#   hostile queries refused; nothing of an ID number on any page;
#   no sanitizer report.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"
t_needs jq sqlite3 curl openssl python3 iconv

. "$TOP/tests/data/office/lib-office.sh"

# --- the users file -------------------------------------------------------------
t_rc "passwd: a short password refused" 65 sh -c "echo short | $BIN/examcentral passwd --users $T/users office"
office_seed
t_eq "users file: two users, mode 0600" "2 600" "$(grep -c . "$T/users") $(stat -c %a "$T/users")"
t_eq "users file: PBKDF2 lines, no password" "2 0" \
    "$(grep -cE '^[a-z]+:\$pbkdf2-sha256\$1000\$[0-9a-f]{32}\$[0-9a-f]{64}$' "$T/users") $(grep -c 'pass' "$T/users")"
get() { curl -s -o "$T/got" -w '%{http_code}' "$@"; }

# --- who may read -----------------------------------------------------------------
for p in / /biweekly "/exam?site=S1&session=WEB-1" /v1/reports/exams /v1/reports/pilots \
    /v1/reports/biweekly "/v1/reports/attendance?date=$TODAY"; do
    t_eq "no login: $p refused" 401 "$(get "$OFFICE_URL$p")"
done
t_eq "401 asks for Basic" 1 "$(curl -s -D - -o /dev/null "$OFFICE_URL/" | grep -c '^WWW-Authenticate: Basic realm="examcentral"')"
t_eq "wrong password refused" 401 "$(get -u office:office-pass-1 "$OFFICE_URL/")"
t_eq "unknown user refused" 401 "$(get -u nobody:office-pass-2 "$OFFICE_URL/")"
t_eq "another user's password refused" 401 "$(get -u clerk:office-pass-2 "$OFFICE_URL/")"
t_eq "not Basic refused" 401 "$(get -H 'Authorization: Bearer x' "$OFFICE_URL/")"
t_eq "garbage Basic refused" 401 "$(get -H 'Authorization: Basic %%%%' "$OFFICE_URL/")"
t_eq "logged in: the page" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/")"
t_eq "the second user too" 200 "$(get -u clerk:other-pass-22 "$OFFICE_URL/v1/reports/pilots")"
echo 'third-pass-333' | "$BIN/examcentral" passwd --users "$T/users" --iterations 1000 third >/dev/null
t_eq "a user added: not yet" 401 "$(get -u third:third-pass-333 "$OFFICE_URL/")"
kill -HUP "${CPID[o]}"
reloaded() { grep -q 'users reloaded: 3' "${CLOG[o]}"; }
wait_for 50 reloaded && t_ok "SIGHUP reads the users again" || t_fail "SIGHUP reads the users again" "$(tail -3 "${CLOG[o]}")"
t_eq "  ...the new user logs in" 200 "$(get -u third:third-pass-333 "$OFFICE_URL/")"
cp "$T/users" "$T/users.good"
echo 'broken line' >>"$T/users"
kill -HUP "${CPID[o]}"
kept() { grep -q 'keeping the users' "${CLOG[o]}"; }
wait_for 50 kept && t_ok "a broken users file: refused, the old users kept" ||
    t_fail "a broken users file: refused, the old users kept" "$(tail -3 "${CLOG[o]}")"
t_eq "  ...they still log in" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/")"
cp "$T/users.good" "$T/users"
t_eq "healthz needs no login" 200 "$(get "$OFFICE_URL/healthz")"
t_eq "the station API keeps its own auth" 200 "$(get "$OFFICE_URL/v1/sites/S1/stations/st1/cursor")"
t_contains "a refused password is logged" "wrong user or password" "$(cat "${CLOG[o]}")"
central_start bare "sqlite:$T/bare.db" "$T/keys" || t_fail "examcentral without --users" "$(cat "${CLOG[bare]}")"
t_contains "without --users: says so" "serving the station API only" "$(cat "${CLOG[bare]}")"
t_eq "without --users: no page" 403 "$(get "${AUTH[@]}" "http://127.0.0.1:${CPORT[bare]}/")"
t_eq "without --users: no report" 403 "$(get "${AUTH[@]}" "http://127.0.0.1:${CPORT[bare]}/v1/reports/exams")"
central_stop bare

# --- results import ----------------------------------------------------------------
nres() { oq "$ODB" "select count(*) from result"; }
out=$(cli results import "$ODATA/results-bad.csv" 2>&1)
t_eq "bad lines: exit 65" 65 $?
for l in 3 4 5 6; do t_contains "bad line $l named" "results-bad.csv:$l: " "$out"; done
t_contains "  ...why (ticket)" "ticket '26#1' is not" "$out"
t_contains "  ...why (pass)" "pass 'maybe'" "$out"
t_contains "  ...why (score)" "score 'abc'" "$out"
t_contains "  ...why (twice)" "appears twice (also on line 2)" "$out"
t_contains "  ...nothing stored" "4 bad lines: nothing stored" "$out"
t_eq "bad file: nothing stored" 0 "$(nres)"
out=$(cli results import "$ODATA/results-absent.csv" 2>&1)
t_eq "absent candidate: exit 65" 65 $?
t_contains "the absent ticket named" "ticket $(ex '.["WEB-1"].absent[0]') was recorded absent in session WEB-1" "$out"
t_contains "the never-seen ticket named" "ticket 269999999 never checked in" "$out"
t_eq "absent file: nothing stored (not even its good line)" 0 "$(nres)"
out=$(cli results import "$ODATA/results-good.csv" --dry-run 2>&1)
t_contains "dry run: checked" "26 results (15 passed) for 2 exams, utf-8: checked, nothing stored" "$out"
t_eq "dry run: nothing stored" 0 "$(nres)"
out=$(cli results import "$ODATA/results-good.csv" 2>&1)
t_contains "good file stored" "26 results (15 passed) for 2 exams, utf-8: stored" "$out"
out=$(cli results import "$ODATA/results-gb.csv" 2>&1)
t_contains "GB18030 file, Chinese headers, no session column" "31 results (13 passed) for 3 exams, gb18030: stored" "$out"
t_eq "57 results kept, linked to their exams" "57 WEB-1:16 WEB-2:9 DB-1:10 DB-2:10 BIG-1:12" \
    "$(nres) $(for s in WEB-1 WEB-2 DB-1 DB-2 BIG-1; do printf 'WEB' >/dev/null; printf '%s:%s ' $s "$(oq "$ODB" "select count(*) from result where session='$s'")"; done | sed 's/ $//')"
t_eq "a result names its site" "S2" "$(oq "$ODB" "select distinct site from result where session='DB-2'")"
{ echo "ticket,session,score,pass"; echo "$(ex '.["WEB-1"].present[0]'),WEB-1,$(head -c 2000 /dev/zero | tr '\0' 9),yes"; } >"$T/long.csv"
out=$(cli results import "$T/long.csv" 2>&1)
t_eq "an over-long field: exit 65" 65 $?
t_contains "  ...names its line" "long.csv:2" "$out"
python3 -c 'import sys
print("ticket,session,score,pass")
for i in range(100001): print("T%d,WEB-1,1,yes" % i)' >"$T/many.csv"
out=$(cli results import "$T/many.csv" 2>&1)
t_contains "too many rows refused" "more than 100000 results" "$out"
t_eq "bounds: nothing more stored" 57 "$(nres)"
printf 'ticket,name\n1,2\n' >"$T/nohead.csv"
printf 'ticket,pass\n110105198911170000,yes\n' >"$T/idnum.csv"
out=$(cli results import "$T/idnum.csv" 2>&1)
t_eq "an ID number where the ticket belongs: refused, never echoed" "65 0 1" \
    "$(cli results import "$T/idnum.csv" >/dev/null 2>&1; echo $?) $(echo "$out" | grep -cE '[0-9]{17}[0-9Xx]') $(echo "$out" | grep -c '110105\*\*\*\*\*\*\*\*0000')"
t_contains "a file without result columns" "needs ticket (准考证号) and score (成绩) or pass (是否通过)" \
    "$(cli results import "$T/nohead.csv" 2>&1)"
# the two kinds of complaint (the file's own, then the record's) in file order
printf 'ticket,session,score,pass\n269999998,WEB-1,1,yes\n%s,WEB-1,abc,\n269999997,WEB-1,1,yes\n' \
    "$(ex '.["WEB-1"].present[0]')" >"$T/mixed.csv"
out=$(cli results import "$T/mixed.csv" 2>&1)
t_eq "bad lines of both kinds: printed in file order" "2 3 4" \
    "$(echo "$out" | sed -n 's/^.*mixed\.csv:\([0-9]*\): .*$/\1/p' | tr '\n' ' ' | sed 's/ $//')"
t_contains "--session picks the exam" "1 results (1 passed) for 1 exams" "$(
    printf 'ticket,pass\n%s,yes\n' "$(ex '.["WEB-1"].present[0]')" >"$T/one.csv"
    cli results import "$T/one.csv" --session WEB-1 --dry-run 2>&1)"
t_contains "--session for another exam: never checked in there" "never checked in for session DB-1" \
    "$(cli results import "$T/one.csv" --session DB-1 2>&1)"

# --- the reports ----------------------------------------------------------------------
t_eq "exams JSON" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/exams")"
cp "$T/got" "$T/exams.json"
x() { jq -r "$1" "$T/exams.json"; }
t_eq "six exams held, in date order (the future one not)" "DB-1 WEB-1 WEB-2 CLOUD-1 DB-2 BIG-1" "$(x '[.[].session] | join(" ")')"
t_eq "WEB-1: published expected present absent late" "20 20 16 4 1" \
    "$(x '.[] | select(.session=="WEB-1") | "\(.published) \(.expected) \(.present) \(.absent) \(.late)"')"
t_eq "WEB-1: results and pass rate" "16 13 0.8125" \
    "$(x '.[] | select(.session=="WEB-1") | "\(.with_result) \(.passed) \(.pass_rate)"')"
t_eq "WEB-1: incidents named in Chinese" "违纪·携带规定以外物品 迟到" "$(x '[.[] | select(.session=="WEB-1") | .incidents_named[].zh] | sort | join(" ")')"
t_eq "CLOUD-1: 10 of 40, red, attendance" "10 40 0.25 red attendance_below_min" \
    "$(x '.[] | select(.session=="CLOUD-1") | "\(.present) \(.published) \(.attendance_rate) \(.status) \(.verdicts[0].code)"')"
t_contains "CLOUD-1: the verdict in Chinese" "少于公布人数40的30%：撤销试点条件" "$(x '.[] | select(.session=="CLOUD-1") | .verdicts[0].zh')"
t_eq "CLOUD-1: its rooms" "<script> =2+3" "$(x '[.[] | select(.session=="CLOUD-1") | .rooms[].room] | sort | join(" ")')"
t_eq "pilots JSON" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/pilots")"
cp "$T/got" "$T/pilots.json"
p() { jq -r "$1" "$T/pilots.json"; }
t_eq "pilots and their status (default profile)" "Web前端开发:green 云计算:red 大数据分析:amber 数据库管理:red" \
    "$(p '[.[] | "\(.certificate):\(.status)"] | join(" ")')"
t_eq "数据库管理: below 30 % twice in a row" "pass_rate_below_min" "$(p '.[] | select(.certificate=="数据库管理") | .verdicts[0].code')"
t_contains "  ...in English" "pass rate below 30 % twice in a row" "$(p '.[] | select(.certificate=="数据库管理") | .verdicts[0].en')"
t_contains "  ...in Chinese" "通过率连续两次低于30%" "$(p '.[] | select(.certificate=="数据库管理") | .verdicts[0].zh')"
t_eq "大数据分析: one below, warned" "pass_rate_low_once" "$(p '.[] | select(.certificate=="大数据分析") | .verdicts[0].code')"
t_eq "pilot history in order" "WEB-1 WEB-2" "$(p '.[] | select(.certificate=="Web前端开发") | [.exams[].session] | join(" ")')"
t_eq "profile pass60-target90: statuses" "Web前端开发:amber 云计算:red 大数据分析:red 数据库管理:red" \
    "$("${C[@]}" --profile pass60-target90 --store "sqlite:$ODB" report pilots | jq -r '[.[] | "\(.certificate):\(.status)"] | join(" ")')"
t_contains "  ...the target verdict" "under the evaluation target of 90 %" \
    "$("${C[@]}" --profile pass60-target90 --store "sqlite:$ODB" report pilots | jq -r '.[] | select(.certificate=="Web前端开发") | .verdicts[].en')"
t_contains "profile funding80: the tier reached" "reaches the 80 % funding tier" \
    "$("${C[@]}" --profile funding80 --store "sqlite:$ODB" report pilots | jq -r '.[] | select(.certificate=="Web前端开发") | .verdicts[].en')"
sed 's/^min_percent = 30$/min_percent = 95/' "$TOP/central/profiles/default.ini" >"$T/strict.ini"
t_eq "a profile file (attendance 95 %)" "red" \
    "$("${C[@]}" --profile "$T/strict.ini" --store "sqlite:$ODB" report pilots | jq -r '.[] | select(.certificate=="Web前端开发") | .status')"
t_rc "an unknown profile: exit 64" 64 "${C[@]}" --profile nosuch --store "sqlite:$ODB" report pilots
t_contains "profiles lists the shipped ones" "pass60-target90" "$("$BIN/examcentral" profiles)"
t_contains "profiles NAME shows one" "times_in_row = 2" "$("$BIN/examcentral" profiles pass30-twice)"

t_eq "exams CSV" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/exams?format=csv")"
t_eq "CSV: BOM" efbbbf "$(head -c 3 "$T/got" | od -An -tx1 | tr -d ' \n')"
t_eq "CSV: CRLF on every line" "$(wc -l <"$T/got")" "$(grep -c $'\r$' "$T/got")"
t_contains "CSV: WEB-1 row" "WEB-1,Web前端开发,初级,,20,20,16,1,4,0,0.8000,V1:1 late:1,16,13,0.8125,green" "$(cat "$T/got")"
t_eq "the same CSV from the command line" "$(md5sum <"$T/got")" "$(cli report exams --csv | md5sum)"
DCLOUD=$(ex '.["CLOUD-1"].date')
t_eq "attendance CSV" 200 "$(get "${AUTH[@]}" -H 'Accept: text/csv' "$OFFICE_URL/v1/reports/attendance?date=$DCLOUD")"
t_contains "CSV: a formula-looking cell neutralised" "S1,CLOUD-1,'=2+3,云计算" "$(cat "$T/got")"
t_eq "CSV: no cell starts a formula" 0 "$(grep -cE '(^|,)[=+@-]' "$T/got")"
t_eq "pilots CSV" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/pilots?format=csv")"
t_contains "pilots CSV: the verdict in both languages" "通过率连续两次低于30%" "$(cat "$T/got")"
t_contains "  ...as a download" "attachment; filename=\"pilots.csv\"" \
    "$(curl -s -D - -o /dev/null "${AUTH[@]}" "$OFFICE_URL/v1/reports/pilots?format=csv")"

# --- hostile requests ---------------------------------------------------------------------
t_eq "unknown query parameter" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/exams?x=1")"
t_eq "bad format" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/exams?format=xml")"
t_eq "a parameter twice" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/exams?format=csv&format=json")"
t_eq "bad date" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/attendance?date=2026-02-30")"
t_eq "bad period" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/biweekly?period=20261210")"
t_eq "exam page: a session that is not an id" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/exam?site=S1&session=%3Cx%3E")"
t_eq "exam page: none such" 404 "$(get "${AUTH[@]}" "$OFFICE_URL/exam?site=S1&session=NOPE")"
t_eq "exam page: site missing" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/exam?session=WEB-1")"
t_eq "unknown path" 404 "$(get "${AUTH[@]}" "$OFFICE_URL/etc/passwd")"
t_eq "a long query" 400 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/exams?format=$(head -c 3000 /dev/zero | tr '\0' a)")"
t_eq "exam page with a hostile room name" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/exam?site=S1&session=CLOUD-1")"
t_eq "  ...the room shown as text" "0 2" "$(grep -c '<script' "$T/got") $(grep -o '&lt;script&gt;' "$T/got" | wc -l)"
t_eq "  ...markup in a note shown as text" 1 "$(grep -c '&lt;b&gt;夹带&lt;/b&gt;' "$T/got")"
all=$T/all.out
: >"$all"
for u in / /biweekly "/exam?site=S1&session=CLOUD-1" "/exam?site=S1&session=WEB-1" /v1/reports/exams \
    "/v1/reports/exams?format=csv" /v1/reports/pilots "/v1/reports/attendance?date=$DCLOUD"; do
    curl -s "${AUTH[@]}" "$OFFICE_URL$u" >>"$all"
done
t_eq "no ID number on any page or report (the note's is masked)" 0 "$(grep -cE '[0-9]{17}[0-9Xx]' "$all")"
t_contains "  ...masked as the logs mask it" "110105********0000" "$(cat "$all")"

# --- biweekly reports -----------------------------------------------------------------------
LIBFT=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
[ -n "$LIBFT" ] || { t_fail "needs libfaketime" "install faketime (scripts/install-deps)"; t_done; }
# fake WHEN CMD...: CMD with the wall clock starting at WHEN (site time)
FENV=(TZ=$ZONE FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$LIBFT"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0")
fake() {
    local when=$1
    shift
    env "${FENV[@]}" FAKETIME="@$when" "$@"
}
list() { cli report biweekly list | jq -r "$1"; }
# fake_start WHEN LOG: examcentral serving from WHEN (site time) on, as
# TPID; fake_run WHEN LOG: the same until it is ready, then stopped
fake_start() {
    # exec: TPID is examcentral itself, not a subshell waiting on it
    (exec env "${FENV[@]}" FAKETIME="@$1" "$BIN/examcentral" --listen 127.0.0.1:0 --store "sqlite:$ODB" --keys "$T/keys" \
        --timezone "$ZONE" >"$2" 2>&1) &
    TPID=$!
    t_on_exit "t_kill_child $TPID"
}
fake_run() {
    fake_start "$1" "$2"
    wait_for 150 grep -q 'ready:' "$2"
    kill $TPID
    wait $TPID 2>/dev/null
}
nper=$(list length)
t_eq "the periods since the first exam are listed" yes "$([ "$nper" -ge 1 ] && echo yes)"
t_contains "the batches' ended periods were made soon after they came" "biweekly: $nper report" "$(cat "${CLOG[o]}")"
t_eq "made up, kept, none missed" "$nper $nper 0" \
    "$(list '"\([.[] | select(.generated != null)] | length) \([.[] | select(.how == "catch-up" or .how == "timer")] | length) \([.[] | select(.counted and (.on_time | not))] | length)"')"
t_eq "  ...only one due today counts" "$(list "[.[] | select(.due == \"$TODAY\")] | length")" \
    "$(list '[.[] | select(.counted)] | length')"
central_stop o
central_start o "sqlite:$ODB" "$T/keys" --users "$T/users" --timezone "$ZONE" ||
    t_fail "examcentral restart" "$(tail -3 "${CLOG[o]}")"
OFFICE_URL=http://127.0.0.1:${CPORT[o]}
t_eq "a restart: nothing more to make" 1 "$(grep -c 'biweekly: [0-9]* report' "${CLOG[o]}")"
PFIRST=$(list '.[0].end')
out=$(cli report biweekly --period "$PFIRST")
t_eq "a kept report by its period" "$PFIRST" "$(echo "$out" | jq -r .period.end)"
t_eq "  ...its exams are the period's" "$(jq -r --arg s "$(echo "$out" | jq -r .period.start)" --arg e "$PFIRST" \
    '[to_entries[] | select(.key != "_events" and .value.date >= $s and .value.date <= $e) | .key] | length' "$ODATA/expect.json")" \
    "$(echo "$out" | jq -r .totals.exams)"
t_eq "biweekly over HTTP, CSV download" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/biweekly?period=$PFIRST&format=csv")"
t_eq "  ...BOM" efbbbf "$(head -c 3 "$T/got" | od -An -tx1 | tr -d ' \n')"
t_contains "  ...a totals row" "(total)" "$(cat "$T/got")"
t_eq "biweekly JSON download" 200 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/biweekly?period=$PFIRST&format=json")"
t_eq "  ...is the kept one" "$PFIRST" "$(jq -r .period.end "$T/got")"
t_eq "a period not kept: 404" 404 "$(get "${AUTH[@]}" "$OFFICE_URL/v1/reports/biweekly?period=2020-01-05")"
t_rc "generate: a period not over refused" 65 cli report biweekly generate --period "$TODAY"
t_contains "the biweekly page lists them" "data-period=\"$PFIRST\"" "$(curl -s "${AUTH[@]}" "$OFFICE_URL/biweekly")"
central_stop o

# the period that holds today: its report is made by the timer just after
# its last day's midnight (site time), once; started 3 s before midnight,
# nothing is due at the start
PEND=$(python3 -c "
import datetime as d; t = d.date.fromisoformat('$TODAY')
e = t.replace(day=10) if t.day <= 10 else t.replace(day=25) if t.day <= 25 else (t.replace(day=28) + d.timedelta(days=4)).replace(day=10)
print(e)")
PDUE=$(date -d "$PEND + 1 day" +%F)
fake_start "$PEND 23:59:57" "$T/timer.log"
timer_made() { grep -q 'biweekly: 1 report generated' "$T/timer.log"; }
wait_for 300 timer_made && t_ok "the timer made the report after midnight" ||
    t_fail "the timer made the report after midnight" "$(cat "$T/timer.log")"
kill $TPID
wait $TPID 2>/dev/null
t_eq "  ...once, at start nothing was due" 1 "$(grep -c 'biweekly:' "$T/timer.log")"
t_eq "  ...by the timer, on time, counted" "timer true true" \
    "$(fake "$PDUE 12:00:00" "${C[@]}" --store "sqlite:$ODB" report biweekly list | jq -r ".[] | select(.end == \"$PEND\") | \"\(.how) \(.on_time) \(.counted)\"")"
# the next period's report made 3 days late (examcentral was down): missed
P2=$(fake "$PDUE 12:00:00" python3 -c "
import datetime as d; t = d.date.fromisoformat('$PDUE')
print(t.replace(day=25) if t.day <= 25 else (t.replace(day=28) + d.timedelta(days=4)).replace(day=10))")
P2LATE=$(date -d "$P2 + 4 days" +%F)
fake_run "$P2LATE 09:00:00" "$T/late.log"
t_eq "a late report: catch-up, not on time, counted" "catch-up false true" \
    "$(fake "$P2LATE 12:00:00" "${C[@]}" --store "sqlite:$ODB" report biweekly list | jq -r ".[] | select(.end == \"$P2\") | \"\(.how) \(.on_time) \(.counted)\"")"
t_eq "one missed report: every pilot warned" "4 1" \
    "$(fake "$P2LATE 12:00:00" "${C[@]}" --store "sqlite:$ODB" report pilots | jq -r '"\([.[] | select(any(.verdicts[]; .code == "report_missed"))] | length) \(.[0].missed_reports)"')"
P3=$(date -d "$P2 + 20 days" +%F)
fake_run "$P3 09:00:00" "$T/late2.log"
t_eq "two missed: withdrawal condition (default: 2)" "reports_missed red" \
    "$(fake "$P3 12:00:00" "${C[@]}" --store "sqlite:$ODB" report pilots | jq -r '.[] | select(.certificate=="Web前端开发") | "\(.verdicts[0].code) \(.status)"')"
t_eq "two missed under pass60-target90 (3 withdraw): a warning" "report_missed" \
    "$(fake "$P3 12:00:00" "${C[@]}" --profile pass60-target90 --store "sqlite:$ODB" report pilots | jq -r '.[] | select(.certificate=="Web前端开发") | [.verdicts[].code] | map(select(startswith("report"))) | join(" ")')"

# --- a flood of connections held open, past the file-descriptor limit ------------
# The listening socket stays readable while accept() fails with EMFILE:
# examcentral must pause accepting, not spin, and serve again once they go.
(umask 077 && echo "FD/st1 $(openssl rand -hex 32)" >"$T/fd-keys")
old_nofile=$(ulimit -S -n)
ulimit -S -n 64
central_start fd "sqlite:$T/fd.db" "$T/fd-keys" || t_fail "examcentral with 64 fds" "$(cat "${CLOG[fd]}")"
ulimit -S -n "$old_nofile"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${CPID[fd]}/stat"; }
before=$(cpu_ticks)
python3 - "${CPORT[fd]}" <<'PY' &
import socket, sys, time
held = []
for _ in range(100):
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1))
    except OSError:
        break
time.sleep(3)
PY
flood=$!
sleep 2.5
used=$(($(cpu_ticks) - before))
t_eq "fds exhausted: examcentral pauses accepting (CPU ticks in 2.5 s under 50, was ~150 spinning)" yes \
    "$([ "$used" -lt 50 ] && echo yes || echo "no: $used")"
t_contains "  ...and says so" "not accepting for 1000 ms" "$(cat "${CLOG[fd]}")"
t_eq "  ...in a few lines, not a flood" yes \
    "$([ "$(grep -c 'accept:' "${CLOG[fd]}")" -lt 20 ] && echo yes || echo no)"
wait "$flood"
healthy_fd() { curl -sf -m 2 "http://127.0.0.1:${CPORT[fd]}/healthz" >/dev/null; }
wait_for 50 healthy_fd && t_ok "  ...and serves again once they are gone" ||
    t_fail "  ...and serves again once they are gone" "$(tail -3 "${CLOG[fd]}")"
central_stop fd

sanitizer_clean "no sanitizer report" "${CLOG[fd]}" "${CLOG[o]}" "${CLOG[bare]}" "$T/timer.log" "$T/late.log" "$T/late2.log"
t_done
