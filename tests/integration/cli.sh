#!/usr/bin/env bash
# cli.sh: what a person typing gets told.
#   - examctl usage errors of status, events, verify, devices, checkin,
#     incident, idnumber, idcard and device: exit 64, one line
#     "examctl: usage: WHAT ..." naming what was wrong, nothing on stdout,
#     nothing created;
#   - examsim: --help lists exactly the stdin commands its simulators take
#     (the words sim_idcard.c and sim_scanner.c compare, and quit), each of
#     them is accepted, an unknown one is refused, and examsim.1 documents
#     exactly the listed commands and fault kinds;
#   - no page in docs/ cites design files outside the tree, and every
#     docs/ file a page cites exists.
# Standalone: BIN=build bash tests/integration/cli.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_tmpdir
EX="$BIN/examctl"
SIM="$BIN/examsim"

# --- examctl usage errors ---------------------------------------------------------
usage_case() {   # usage_case NAME EXPECTED-SUBSTRING ARGS...
    local name=$1 want=$2
    shift 2
    "$EX" --db "$T/none.db" --socket "$T/none.sock" "$@" >"$T/o" 2>"$T/e"
    t_eq "usage, $name: exit 64" 64 "$?"
    t_eq "usage, $name: one line" 1 "$(wc -l <"$T/e")"
    t_contains "usage, $name: says what" "examctl: usage: $want" "$(cat "$T/e")"
    t_eq "usage, $name: nothing on stdout" "" "$(cat "$T/o")"
}
usage_case "status, unknown option" "unknown option '--frob': examctl status [--session CODE]" \
    status --frob
usage_case "status, option without argument" "option '--room' needs an argument" status --room
usage_case "status, an argument" "status takes no arguments, not 'now'" status now
usage_case "events, bad --since" "--since needs an event id (0 or more), not 'x': examctl events" \
    events --since x
usage_case "events, negative --since" "--since needs an event id (0 or more), not '-3'" \
    events --since -3
usage_case "events, unknown option" "unknown option '--tail'" events --tail
usage_case "events, an argument" "events takes no arguments, not '5'" events 5
usage_case "verify, an argument" "verify takes no arguments, not 'now': examctl verify" verify now
usage_case "devices, an argument" "devices takes no arguments, not 'all'" devices all
usage_case "checkin, no subcommand" "checkin needs 'manual'" checkin
usage_case "checkin manual, no --reason" "checkin manual needs --reason: examctl checkin manual" \
    checkin manual 260000000001 --operator 王老师
usage_case "checkin manual, no ticket" "checkin manual needs the TICKET" \
    checkin manual --operator x --reason y
usage_case "incident, unknown subcommand" "unknown incident subcommand 'remove'" incident remove
usage_case "incident add, no --kind" "incident add needs --kind" \
    incident add --ticket 260000000001 --operator x
usage_case "incident add, ticket and seat" "incident add takes --ticket or --seat, not both" \
    incident add --ticket 260000000001 --seat 101:01 --kind V1 --operator x
usage_case "incident add, unknown option" "unknown option '--severity'" \
    incident add --severity 3 --ticket 260000000001 --kind V1 --operator x
usage_case "incident amend, not an id" "'x12' is not an event id: examctl incident amend" \
    incident amend x12 --operator x --note y
usage_case "incident amend, no --note" "incident amend needs --note" \
    incident amend 12 --operator x
usage_case "incident list, unknown option" "unknown option '--all': examctl incident list" \
    incident list --all
usage_case "incident list, an argument" "incident list takes no arguments, not 'today'" \
    incident list today
usage_case "idnumber, no subcommand" "idnumber needs 'check'" idnumber
usage_case "idnumber check, no number" "idnumber check needs the NUMBER" idnumber check
usage_case "idnumber check, two numbers" "idnumber check takes one NUMBER, not 2" \
    idnumber check 11010519491231002X 11010519491231002X
usage_case "idcard, unknown subcommand" "unknown idcard subcommand 'read'" idcard read
usage_case "idcard decode, unknown option" "unknown option '--mask': examctl idcard decode" \
    idcard decode --mask
usage_case "idcard decode, two files" "idcard decode takes one FILE at most, not 2" \
    idcard decode a.hex b.hex
usage_case "device, unknown subcommand" "unknown device subcommand 'scan'" device scan
usage_case "device listen, no device" "device listen needs --usb or --serial" \
    device listen --type scanner
usage_case "device listen, bad --type" "--type must be idcard or scanner, not 'reader'" \
    device listen --serial /dev/null --type reader
usage_case "device listen, bad --usb" "--usb must be VID:PID in hex, not '0400'" \
    device listen --usb 0400 --type idcard
usage_case "device listen, two devices" "give one device: --usb or --serial, once" \
    device listen --usb 0400:c35a --serial /dev/null --type idcard
usage_case "device listen, --count without a number" "option '--count' needs an argument" \
    device listen --serial /dev/null --type idcard --count
usage_case "device udev-rules, no --config" "device udev-rules needs --config FILE" \
    device udev-rules
t_eq "usage errors created nothing" no \
    "$([ -e "$T/none.db" ] || [ -e "$T/none.sock" ] && echo yes || echo no)"

# --- examsim: the commands it takes, listed and documented -------------------------
"$SIM" --help >"$T/sim.help" 2>&1
t_eq "examsim --help: exit 0" 0 "$?"
"$SIM" >/dev/null 2>"$T/sim.usage"
t_eq "examsim without arguments: exit 64" 64 "$?"
t_eq "examsim without arguments: the usage on stderr" "$(cat "$T/sim.help")" "$(cat "$T/sim.usage")"
# help_cmds DEVICE: the first words of the DEVICE: line of --help, sorted
help_cmds() {
    sed -n "s/^  $1: *//p" "$T/sim.help" | tr '|' '\n' | awk 'NF { print $1 }' | sort
}
# code_cmds FILE: the command words FILE compares, and quit (examsim.c's)
code_cmds() {
    { grep -o 'strcmp(word, "[a-z-]*")' "$TOP/tools/$1" | cut -d'"' -f2; echo quit; } | sort -u
}
# man_cmds DEVICE: the first word of each .TP entry of examsim.1's DEVICE section
man_cmds() {
    awk -v s="$1" '/^\.S[SH]/ { keep = ($1 == ".SS" && $2 == s) }
        keep && tag { print $2 } { tag = ($0 == ".TP") }' "$TOP/docs/examsim.1" | sort
}
for dev in idcard:sim_idcard.c scanner:sim_scanner.c; do
    d=${dev%%:*}
    t_eq "examsim --help lists what $d takes" "$(code_cmds "${dev#*:}" | paste -sd' ')" \
        "$(help_cmds "$d" | paste -sd' ')"
    t_eq "examsim.1 documents what --help lists for $d" "$(help_cmds "$d" | paste -sd' ')" \
        "$(man_cmds "$d" | paste -sd' ')"
done
t_eq "examsim --help names commands" yes "$([ "$(help_cmds idcard | wc -l)" -ge 5 ] &&
    [ "$(help_cmds scanner | wc -l)" -ge 4 ] && echo yes || echo no)"
# the fault kinds: --help, the code's table and the man page agree
kinds_help=$(sed -n '/KIND:/{N;p}' "$T/sim.help" | sed 's/.*KIND://' |
    tr ' ' '\n' | grep . | sort | paste -sd' ')
kinds_code=$({ sed -n '/sim_faults\[\] = {/,/^};/p' "$TOP/tools/sim_idcard.c" |
    grep -o '{"[a-z-]*"' | cut -d'"' -f2; echo clear; } | sort | paste -sd' ')
t_eq "examsim --help: every fault kind" "$kinds_code" "$kinds_help"
man_text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$TOP/docs/examsim.1" | tr '\n' ' ')
for k in $kinds_code; do
    t_contains "examsim.1: fault $k" "$k" "$man_text"
done

# Every listed command is accepted: one run per device, commands on stdin
# (a pipe: libevent cannot watch a regular file).
CARD=$(ls "$TOP"/examples/cards/*.json | head -1)
{
    echo "place $CARD"
    for k in $kinds_code; do [ "$k" = clear ] || echo "fault $k"; done
    echo "fault clear"
    echo "fault no-card"
    echo status
    echo remove
    echo frobnicate
    echo quit
} >"$T/idcard.in"
cat "$T/idcard.in" | timeout 20 "$SIM" idcard --pty >"$T/idcard.out" 2>&1
t_eq "examsim idcard: exit 0" 0 "$?"
t_eq "examsim idcard: the pty first" yes "$(head -1 "$T/idcard.out" | grep -q '^/dev/pts/' && echo yes || echo no)"
tail -n +2 "$T/idcard.out" >"$T/idcard.ans"
n=$(wc -l <"$T/idcard.in")
t_eq "examsim idcard: one answer per command" "$n" "$(wc -l <"$T/idcard.ans")"
t_eq "examsim idcard: every listed command accepted" "" \
    "$(paste -d'\t' "$T/idcard.in" "$T/idcard.ans" | grep -v '^frobnicate' | grep -v $'\tok' | head -3)"
t_eq "examsim idcard: status" "ok present=1 faults=no-card" "$(grep '^ok present' "$T/idcard.ans")"
t_eq "examsim idcard: an unknown command refused" 'error: unknown command "frobnicate"' \
    "$(paste -d'\t' "$T/idcard.in" "$T/idcard.ans" | sed -n 's/^frobnicate\t//p')"
printf 'scan 260000000001\ntype 260000000002\njunk 100\nfrobnicate\n' >"$T/scanner.in"
cat "$T/scanner.in" | timeout 20 "$SIM" scanner --pty >"$T/scanner.out" 2>&1
t_eq "examsim scanner: end of input is quit (exit 0)" 0 "$?"
t_eq "examsim scanner: listed commands accepted, an unknown one refused" \
    'ok ok ok error: unknown command "frobnicate"' "$(tail -n +2 "$T/scanner.out" | paste -sd' ')"

# --- docs cite what is in the tree ---------------------------------------------------
t_eq "no page in docs/ cites design files outside the tree" "" \
    "$(cd "$TOP" && grep -ln -e 'shared/[n]otes' -e 'DESIGN\.md' -e 'INTERFACES\.md' -e 'STYLE\.md' \
        docs/* README.md | tr '\n' ' ')"
for f in $(cd "$TOP" && grep -rhoE 'docs/[a-z0-9-]+\.(md|[158])' docs README.md | sort -u); do
    t_eq "cited $f exists" yes "$([ -f "$TOP/$f" ] && echo yes || echo no)"
done
t_contains "hardware.md cites the protocol notes in the tree" "docs/idcard-protocol.md" \
    "$(sed -n 1,8p "$TOP/docs/hardware.md")"

t_done
