#!/usr/bin/env bash
# office-page.sh: the office's page in a real headless Chromium (Debian's
# chromium and chromium-driver, driven by tests/data/office/pagecheck.py
# over WebDriver with Python's standard library), on a seeded office
# (tests/data/office/lib-office.sh) with results and biweekly reports:
#   the console capture works (a probe page's error is seen), and the
#     overview, an exam's page (reached by clicking its link) and the
#     biweekly page load with no console message at all;
#   the overview shows every pilot with the status and verdicts the rules
#     give (the same as /v1/reports/pilots), a chart per pilot, the
#     embedded stylesheet applied, no script, no external asset;
#   the exam page shows its rooms and incidents, hostile names as text;
#   the biweekly page lists the kept reports with their downloads;
#   without a login the browser gets a 401 and no pilot;
#   screenshots at 1280 px: $T/shots/office-*.png (OFFICE_SHOTS=DIR keeps
#     them, e.g. docs/ for the committed ones).
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"
t_needs jq sqlite3 curl openssl python3 chromium chromedriver
. "$TOP/tests/data/office/lib-office.sh"

office_seed
t_rc "results (UTF-8)" 0 cli results import "$ODATA/results-good.csv"
t_rc "results (GB18030)" 0 cli results import "$ODATA/results-gb.csv"
curl -s "${AUTH[@]}" "$OFFICE_URL/v1/reports/pilots" >"$T/pilots.json"

SHOTS=${OFFICE_SHOTS:-$T/shots}
mkdir -p "$SHOTS"
timeout 120 python3 "$TOP/tests/data/office/pagecheck.py" "$OFFICE_URL" office office-pass-2 "$SHOTS" \
    >"$T/page.json" 2>"$T/page.err"
t_eq "the browser ran" 0 $?
[ -s "$T/page.json" ] || { t_fail "page check output" "$(tail -5 "$T/page.err")"; t_done; }
pg() { jq -r "$1" "$T/page.json"; }

t_contains "the console capture works (a probe's error is seen)" "probe-console-error" "$(pg '.probe[].message')"
for c in overview_console exam_console biweekly_console; do
    t_eq "no console message: ${c%_console}" "[]" "$(pg ".$c | tojson")"
done
t_eq "without a login: a 401 and no pilot" "1 0" \
    "$(pg '"\([.unauth_console[] | select(.message | test("status of 401"))] | length) \(.unauth_pilots)"')"
t_eq "title, Chinese first" "试点总览 · Pilots" "$(pg .title)"
t_eq "every pilot with its status, as the rules say" \
    "$(jq -r '[.[] | "\(.certificate):\(.status)"] | join(" ")' "$T/pilots.json")" \
    "$(pg '[.pilots[] | "\(.name):\(.status)"] | join(" ")')"
t_eq "  ...the seeded ones" "Web前端开发:green 云计算:red 大数据分析:amber 数据库管理:red" \
    "$(pg '[.pilots[] | "\(.name):\(.status)"] | join(" ")')"
t_eq "  ...with their verdicts" "$(jq -r '[.[] | [.verdicts[].code] | join(",")] | join(" ")' "$T/pilots.json")" \
    "$(pg '[.pilots[] | .verdicts | join(",")] | join(" ")')"
t_eq "  ...and the flags that matter" "attendance_below_min pass_rate_below_min" \
    "$(pg '[.pilots[] | select(.status == "red") | .verdicts[0]] | join(" ")')"
t_eq "a chart per pilot (bars drawn)" "yes yes yes yes" "$(pg '[.pilots[] | if .charts > 2 then "yes" else "no" end] | join(" ")')"
t_eq "exams listed per pilot" "2 1 1 2" "$(pg '[.pilots[].exams] | map(tostring) | join(" ")')"
t_eq "the embedded stylesheet applied" "rgb(31, 58, 95)" "$(pg .stylesheet_applied)"
t_eq "no script, no external asset" "0 []" "$(pg '"\(.scripts) \(.external | tojson)"')"
t_eq "drill-down by the exam's link" "/exam?site=S1&session=CLOUD-1" "$(pg .exam_url)"
t_eq "  ...its rooms, a hostile name as text" '["<script>","=2+3"]' "$(pg '.exam_rooms | tojson')"
t_contains "  ...its incidents named in Chinese" "作弊·抄袭他人答案 (C2)" "$(pg .exam_incidents)"
t_contains "  ...markup in a note as text, the ID number masked" "<b>夹带</b> 110105********0000" "$(pg .exam_incidents)"
t_contains "  ...its verdict" "撤销试点条件" "$(pg .exam_text)"
nkept=$(cli report biweekly list | jq '[.[] | select(.generated != null)] | length')
t_eq "biweekly page: every kept report listed" "$nkept" "$(pg '.biweekly_rows | length')"
t_eq "  ...each with CSV and JSON downloads" "$((nkept * 2))" "$(pg '.biweekly_links | length')"
first=$(pg '.biweekly_links[0]')
t_eq "  ...a download works" 200 "$(curl -s -o "$T/dl.csv" -w '%{http_code}' "${AUTH[@]}" "$OFFICE_URL$first")"
t_eq "  ...as CSV with a BOM" efbbbf "$(head -c 3 "$T/dl.csv" | od -An -tx1 | tr -d ' \n')"
for s in overview exam biweekly; do
    t_eq "screenshot $s: a 1280 px PNG" "PNG 1280" \
        "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(d[1:4].decode(), struct.unpack(">I", d[16:20])[0])' "$SHOTS/office-$s.png" 2>/dev/null)"
done
central_stop o
sanitizer_clean "no sanitizer report" "${CLOG[o]}"
t_done
