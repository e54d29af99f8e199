# lib-office.sh: a seeded office for office.sh and office-page.sh.  Source
# after tests/integration/lib.sh, t_tmpdir, tests/data/daemon/lib-daemon.sh
# and tests/data/sync/lib-sync.sh.
#
# office_seed: the seed (tests/data/office/mkoffice.py, exams dated from
# today at the site) in $ODATA, the stations' keys, users office
# (office-pass-2) and clerk (other-pass-22) in $T/users, examcentral "o"
# on $OSTORE (default: SQLite at $ODB) started, each site's batch posted
# (tests/data/sync/mkbatch.py) and the biweekly reports of the periods
# that ended made;
# sets OFFICE_URL, AUTH (curl's login), and ex (a query on the seed's
# figures).
ZONE=Asia/Shanghai
TODAY=$(TZ=$ZONE date +%F)
ODATA=$T/seed
ODB=$T/office.db
OSTORE=${OSTORE:-sqlite:$ODB}
C=("$BIN/examcentral" --timezone "$ZONE")
AUTH=(-u office:office-pass-2)
ex() { jq -r "$1" "$ODATA/expect.json"; }
cli() { "${C[@]}" --store "$OSTORE" "$@"; }

office_seed() {
    local s k
    python3 "$TOP/tests/data/office/mkoffice.py" "$ODATA" --today "$TODAY"
    echo 'office-pass-1' | "$BIN/examcentral" passwd --users "$T/users" --iterations 1000 office >/dev/null
    echo 'other-pass-22' | "$BIN/examcentral" passwd --users "$T/users" --iterations 1000 clerk >/dev/null
    echo 'office-pass-2' | "$BIN/examcentral" passwd --users "$T/users" --iterations 1000 office >/dev/null
    key_new "$T/k1"
    key_new "$T/k2"
    office_keys "$T/keys" "S1/st1=$T/k1" "S2/st1=$T/k2"
    central_start o "$OSTORE" "$T/keys" --users "$T/users" --timezone "$ZONE" ||
        t_fail "examcentral start" "$(cat "${CLOG[o]}")"
    OFFICE_URL=http://127.0.0.1:${CPORT[o]}
    for s in S1 S2; do
        k=$T/k1
        [ $s = S2 ] && k=$T/k2
        python3 "$SDATA/mkbatch.py" "$ODATA/$s-st1.db" "$(cat "$k")" "$T/$s.gz" --seq 1 \
            --first 1 --last "$(ex "._events.$s")" --site $s --station st1
        t_eq "batch of $s stored" 200 "$(post "$T/$s.gz" $s st1 1)"
    done
    # the periods that ended since the first exam: made soon after
    wait_for 300 grep -q 'biweekly: [0-9]* reports\{0,1\} generated' "${CLOG[o]}" ||
        t_fail "the batches' ended periods made soon" "$(tail -3 "${CLOG[o]}")"
}
