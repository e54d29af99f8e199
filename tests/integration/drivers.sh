#!/usr/bin/env bash
# drivers.sh: the device drivers end to end through the real binaries:
# examsim on a pseudo-terminal as the device, `examctl device listen` as
# the host (the same drivers/ code the daemon runs), each simulator fault
# in turn, the serial scanner, and `examctl idcard decode` on real frames.
# Needs $BIN (binaries directory) and jq.  Every wait is bounded.
. "$(dirname "$0")/lib.sh"
t_tmpdir
CARDS=$TOP/examples/cards
CORPUS=$TOP/tests/fuzz/corpus/idframe

# --- simulator helpers ------------------------------------------------
# sim_start KIND: start examsim KIND --pty with stdin on fd 3; sets PTY.
sim_start() {
    rm -f "$T/sim.in" "$T/sim.out"
    mkfifo "$T/sim.in"
    "$BIN/examsim" "$1" --pty <"$T/sim.in" >"$T/sim.out" 2>"$T/sim.err" &
    SIM_PID=$!
    t_on_exit "t_kill_child $SIM_PID"
    exec 3>"$T/sim.in"
    PTY=
    for _ in $(seq 50); do
        PTY=$(head -n 1 "$T/sim.out" 2>/dev/null)
        [ -n "$PTY" ] && break
        sleep 0.1
    done
    [ -n "$PTY" ] && [ -e "$PTY" ]
}

# sim CMD...: send one command, wait (5 s, or $SIM_WAIT tenths) for its
# answer line; prints it.
# (Counts lines afresh each time: it often runs in a $(...) subshell.)
sim() {
    local want
    want=$(($(wc -l <"$T/sim.out") + 1))
    echo "$*" >&3
    for _ in $(seq "${SIM_WAIT:-50}"); do
        if [ "$(wc -l <"$T/sim.out")" -ge "$want" ]; then
            sed -n "${want}p" "$T/sim.out"
            return 0
        fi
        sleep 0.1
    done
    echo "no answer"
}

sim_stop() {
    echo quit >&3 2>/dev/null
    exec 3>&-
    for _ in $(seq 30); do
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
}

# listen ARGS...: examctl device listen with a hard outer bound.
listen() {
    timeout 30 "$BIN/examctl" device listen "$@"
}

jqv() { jq -r "$1" 2>/dev/null; }

# --- idcard decode ----------------------------------------------------
out=$("$BIN/examctl" idcard decode <<'EOF'
AA AA AA 96 69 00 03 20 01 22
AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97
AA AA AA 96 69 00 04 00 00 80 84
AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C
AA AA AA 96 69 00 04 00 00 41 45
AA AA AA 96 69 00 04 00 00 90 94
aa aa aa 96 69 00 03 20 01 21
EOF
)
t_eq "decode rc" 0 $?
t_eq "decode count" 7 "$(echo "$out" | jqv '.frames | length')"
t_eq "decode find cmd" "command 2001 true" \
    "$(echo "$out" | jqv '.frames[0] | "\(.kind) \(.cmd) \(.checksum_ok)"')"
t_eq "decode find ok" "response 00009f card_found" \
    "$(echo "$out" | jqv '.frames[1] | "\(.kind) \(.sw) \(.status)"')"
t_eq "decode find fail" "000080 no_card" \
    "$(echo "$out" | jqv '.frames[2] | "\(.sw) \(.status)"')"
t_eq "decode select ok" "000090 ok true" \
    "$(echo "$out" | jqv '.frames[3] | "\(.sw) \(.status) \(.checksum_ok)"')"
t_eq "decode read fail" "read_failed" "$(echo "$out" | jqv '.frames[4].status')"
t_eq "decode sam ok" "ok" "$(echo "$out" | jqv '.frames[5].status')"
t_eq "decode wrong checksum" "false" \
    "$(echo "$out" | jqv '.frames[6].checksum_ok')"
t_contains "decode wrong checksum error" "checksum" \
    "$(echo "$out" | jqv '.frames[6].error')"

# A full 1,295-byte read answer as raw bytes (the seed corpus file minus
# its first byte, which the fuzzer uses for chunking).
tail -c +2 "$CORPUS/read-resident" >"$T/read.bin"
out=$("$BIN/examctl" idcard decode "$T/read.bin")
t_eq "decode raw rc" 0 $?
t_eq "decode raw card" "测试甲 男 汉 19491231 110105********002X 长期 1024" \
    "$(echo "$out" | jqv '.frames[0].card | "\(.name) \(.gender) \(.nation) \(.birth) \(.id_number) \(.valid_to) \(.photo_bytes)"')"
out=$("$BIN/examctl" idcard decode --reveal "$T/read.bin")
t_eq "decode reveal" "11010519491231002X" \
    "$(echo "$out" | jqv '.frames[0].card.id_number')"
# Same frame as hex text with garbage in front and a truncated tail.
{ echo "00 13 aa"; od -An -tx1 -v "$T/read.bin"; echo "aa aa aa 96 69 05 08 00"; } \
    >"$T/read.hex"
out=$("$BIN/examctl" idcard decode <"$T/read.hex")
t_eq "decode hex rc" 0 $?
t_eq "decode hex entries" "3" "$(echo "$out" | jqv '.frames | length')"
t_contains "decode hex garbage" "not a frame" "$(echo "$out" | jqv '.frames[0].error')"
t_eq "decode hex card" "测试甲" "$(echo "$out" | jqv '.frames[1].card.name')"
t_contains "decode hex truncated" "truncated" "$(echo "$out" | jqv '.frames[2].error')"
# Foreigner (I) and HK/Macau/Taiwan (J) layouts.
tail -c +2 "$CORPUS/read-foreigner" >"$T/readI.bin"
t_eq "decode I" "foreigner SMITH JOHN CAN ***********0105" \
    "$("$BIN/examctl" idcard decode "$T/readI.bin" | jqv '.frames[0].card | "\(.type) \(.name_en) \(.nationality) \(.id_number)"')"
tail -c +2 "$CORPUS/read-hkmotw" >"$T/readJ.bin"
t_eq "decode J" "hkmotw 陈大文 810000********0026 H12345678" \
    "$("$BIN/examctl" idcard decode "$T/readJ.bin" | jqv '.frames[0].card | "\(.type) \(.name) \(.id_number) \(.pass_number)"')"
# Hex text that cannot decode: 65.  Help: 0.
t_rc "decode odd hex" 65 sh -c "echo 'AA A' | '$BIN/examctl' idcard decode"
t_rc "decode help" 0 "$BIN/examctl" idcard decode --help
t_rc "listen help" 0 "$BIN/examctl" device listen --help
t_rc "listen usage" 64 "$BIN/examctl" device listen --type idcard
t_rc "listen absent" 69 "$BIN/examctl" device listen --serial "$T/nope" \
    --type idcard --count 1 --timeout 2
# A USB device that is not plugged in: "not found" at once, not after
# --timeout.
t0=$(date +%s%N)
out=$(timeout 60 "$BIN/examctl" device listen --usb 1234:5678 --type scanner \
    --count 1 --timeout 30 2>&1)
t_eq "listen usb absent rc" 69 $?
t_contains "listen usb absent says" "usb 1234:5678: not found" "$out"
t_eq "listen usb absent at once" 1 $(( $(date +%s%N) - t0 < 5000000000 ))

# --- ID-card reader on a pty -------------------------------------------
if sim_start idcard; then t_ok "sim start"; else t_fail "sim start" "no pty"; fi
t_eq "sim place" ok "$(sim place "$CARDS/260000000001.json")"
out=$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>"$T/err")
t_eq "listen rc" 0 $?
t_eq "listen card" "黄伟 女 19891117 110105********0000 20400315" \
    "$(echo "$out" | jqv '"\(.name) \(.gender) \(.birth) \(.id_number) \(.valid_to)"')"
t_eq "listen one line" 1 "$(echo "$out" | wc -l)"
out=$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 --reveal 2>/dev/null)
t_eq "listen reveal" "110105198911170000" "$(echo "$out" | jqv .id_number)"

# Each fault: the listener rides it out and reads the card; the
# simulator's status shows the fault was used up.
for f in no-card bad-checksum truncated garbage no-answer sam-fail; do
    sim fault clear >/dev/null
    t_eq "fault $f set" ok "$(sim fault "$f")"
    out=$(listen --serial "$PTY" --type idcard --count 1 --timeout 15 2>"$T/err")
    t_eq "fault $f rc" 0 $?
    t_eq "fault $f card" "黄伟 110105********0000" \
        "$(echo "$out" | jqv '"\(.name) \(.id_number)"')"
    t_eq "fault $f used" "ok present=1 faults=none" "$(sim status)"
done
t_contains "fault sam-fail reported" "SAM status 60" "$(cat "$T/err")"

# The card vanishes mid-read: an error, no card; the next card is read.
sim fault clear >/dev/null
sim fault removed-mid-read >/dev/null
listen --serial "$PTY" --type idcard --count 1 --timeout 15 \
    >"$T/out" 2>"$T/err" &
LPID=$!
t_on_exit "t_kill_child $LPID"
for _ in $(seq 100); do
    grep -q "read failed" "$T/err" && break
    sleep 0.1
done
t_contains "mid-read reported" "card read failed" "$(cat "$T/err")"
t_eq "mid-read no card" "" "$(cat "$T/out")"
t_eq "mid-read card gone" "ok present=0 faults=none" "$(sim status)"
# A person takes longer than one poll (400 ms) to lay the next card; the
# reader must see the reader empty before it reads again.
sleep 1.5
sim place "$CARDS/260000000002.json" >/dev/null
wait $LPID
t_eq "mid-read then rc" 0 $?
t_eq "mid-read then card" "林芳 310104********0017" \
    "$(jqv '"\(.name) \(.id_number)"' <"$T/out")"
t_eq "mid-read one card" 1 "$(wc -l <"$T/out")"

# Other card types through the simulator.
sim place "$CARDS/foreigner-I.json" >/dev/null
t_eq "sim I card" "foreigner SMITH JOHN 史密斯 ***********0105" \
    "$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>/dev/null | jqv '"\(.type) \(.name_en) \(.name) \(.id_number)"')"
sim place "$CARDS/hkmo-J.json" >/dev/null
t_eq "sim J card" "hkmotw 陈大文 810000********0026" \
    "$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>/dev/null | jqv '"\(.type) \(.name) \(.id_number)"')"
sim place "$CARDS/expired.json" >/dev/null
t_eq "sim expired card" "20240101" \
    "$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>/dev/null | jqv .valid_to)"

# Dates of the right shape that are not a period: the card is read, and
# says so.  A card without a name is a bad read: an error, no card.
jq '.valid_from = "20340101" | .valid_to = "20240101"' \
    "$CARDS/expired.json" >"$T/reversed.json"
jq '.valid_from = "20230230"' "$CARDS/expired.json" >"$T/baddate.json"
jq '.name = ""' "$CARDS/260000000001.json" >"$T/noname.json"
sim place "$CARDS/260000000001.json" >/dev/null
t_eq "sim period ok" "ok" \
    "$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>/dev/null | jqv .validity_period)"
sim place "$T/reversed.json" >/dev/null
t_eq "sim reversed period" "reversed 20340101 20240101" \
    "$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>/dev/null | jqv '"\(.validity_period) \(.valid_from) \(.valid_to)"')"
sim place "$T/baddate.json" >/dev/null
t_eq "sim bad date" "bad_date 20230230" \
    "$(listen --serial "$PTY" --type idcard --count 1 --timeout 10 2>/dev/null | jqv '"\(.validity_period) \(.valid_from)"')"
t_eq "sim place no name" ok "$(sim place "$T/noname.json")"
out=$(listen --serial "$PTY" --type idcard --count 1 --timeout 4 2>"$T/err")
t_eq "no name rc" 69 $?
t_eq "no name no card" "" "$out"
t_contains "no name reported" "no name" "$(cat "$T/err")"

# No card: a bounded wait, 69.
sim remove >/dev/null
t_rc "listen timeout" 69 listen --serial "$PTY" --type idcard --count 1 --timeout 2

# The device goes away mid-listen: reported, no crash, 69 at the timeout.
listen --serial "$PTY" --type idcard --count 1 --timeout 4 \
    >"$T/out" 2>"$T/err" &
LPID=$!
t_on_exit "t_kill_child $LPID"
sleep 1
sim_stop
wait $LPID
t_eq "unplug rc" 69 $?
t_contains "unplug reported" "detached" "$(cat "$T/err")"

# --- scanner on a pty ----------------------------------------------------
if sim_start scanner; then t_ok "scanner start"; else t_fail "scanner start" "no pty"; fi
listen --serial "$PTY" --type scanner --count 2 --timeout 10 \
    >"$T/out" 2>"$T/err" &
LPID=$!
t_on_exit "t_kill_child $LPID"
for _ in $(seq 50); do
    grep -q attached "$T/err" && break
    sleep 0.1
done
t_eq "scan 1" ok "$(sim scan 260000000001)"
t_eq "scan 2" ok "$(sim scan 'ABC-12 3/二维码')"
wait $LPID
t_eq "scanner rc" 0 $?
t_eq "scanner codes" "260000000001|ABC-12 3/二维码" \
    "$(jq -r .code <"$T/out" | paste -sd'|')"

# A scanner set to send no terminator: the inter-character gap ends each
# code (never "260700000002260700000003"); 10 MB without a terminator is
# one error, and the next good code after it is read.
listen --serial "$PTY" --type scanner --count 4 --timeout 60 \
    >"$T/out" 2>"$T/err" &
LPID=$!
t_on_exit "t_kill_child $LPID"
for _ in $(seq 50); do
    grep -q attached "$T/err" && break
    sleep 0.1
done
t_eq "type 1" ok "$(sim type 260700000002)"
sleep 0.5
t_eq "type 2" ok "$(sim type 260700000003)"
sleep 0.5
t_eq "scan after type" ok "$(sim scan 260700000004)"
t_eq "junk 10 MB" ok "$(SIM_WAIT=600 sim junk 10485760)"
sleep 0.5
t_eq "scan after junk" ok "$(sim scan 260700000005)"
wait $LPID
t_eq "gap listen rc" 0 $?
t_eq "gap codes" "260700000002|260700000003|260700000004|260700000005" \
    "$(jq -r .code <"$T/out" | paste -sd'|')"
t_eq "junk one error" 1 "$(grep -c 'longer than 128' "$T/err")"
sim_stop

# --- udev rules from a configuration ---------------------------------------------
cat >"$T/udev.conf" <<'CONF'
[site]
id = S1
[device r1]
type = idcard
transport = usb
usb = 0400:C35A
room = 101
[device r2]
type = idcard
transport = usb
usb = 0400:c35a
room = 102
[device s1]
type = scanner
transport = usb
usb = 05e0:1200
room = 101
[device s2]
type = scanner
transport = serial
path = /dev/ttyACM0
room = 102
CONF
rules=$("$BIN/examctl" --config "$T/udev.conf" device udev-rules)
t_eq "udev-rules: one rule per USB VID:PID" 2 "$(grep -c '^SUBSYSTEM==' <<<"$rules")"
t_contains "udev-rules: reader rule" 'ATTR{idVendor}=="0400", ATTR{idProduct}=="c35a", GROUP="examsite", MODE="0660"' "$rules"
t_contains "udev-rules: scanner rule" 'ATTR{idVendor}=="05e0", ATTR{idProduct}=="1200"' "$rules"
t_rc "udev-rules: needs a configuration" 64 env -u EXAMSITE_CONFIG "$BIN/examctl" --db "$T/none.db" device udev-rules

# --- the simulator's timing model ---------------------------------------
# examsim --baud/--latency: the answer really arrives late and in pieces
# (bytes at the rate), and the bytes are the same as without timing.  The
# host is a small script on the pty: find, select, read back to back.
t_rc "examsim: --baud takes a number" 64 "$BIN/examsim" idcard --pty --baud fast
t_rc "examsim: --latency takes find=MS,..." 64 "$BIN/examsim" idcard --pty --latency find=x
t_rc "examsim: --latency knows its commands" 64 "$BIN/examsim" idcard --pty --latency sam=3
t_rc "examsim: --timing is real or none" 64 "$BIN/examsim" idcard --pty --timing fast
t_rc "examsim: an option needs its value" 64 "$BIN/examsim" idcard --pty --baud
t_needs python3
cat >"$T/host.py" <<'PY'
import os, select, subprocess, sys, time, tty
sim = subprocess.Popen(sys.argv[1:3] + ["--pty"] + sys.argv[4:], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, text=True)
fd = os.open(sim.stdout.readline().strip(), os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
sim.stdin.write("place %s\n" % sys.argv[3]); sim.stdin.flush(); sim.stdout.readline()
out = open(os.environ["OUT"], "wb")
for cmd, want in (("2001", 15), ("2002", 19), ("3001", 1295)):
    body = bytes.fromhex("0003" + cmd)
    chk = 0
    for b in body: chk ^= b
    t0 = time.monotonic(); os.write(fd, bytes.fromhex("AAAAAA9669") + body + bytes([chk]))
    got, chunks = b"", 0
    while len(got) < want:
        if not select.select([fd], [], [], 10)[0]: break
        got += os.read(fd, 4096); chunks += 1
    out.write(got)
    print("%s %d %d %d" % (cmd, round((time.monotonic() - t0) * 1000), len(got), chunks))
sim.stdin.write("quit\n"); sim.stdin.flush(); sim.wait()
PY
CARD1=$CARDS/260000000001.json
OUT=$T/timed.bin timeout 30 python3 "$T/host.py" "$BIN/examsim" idcard "$CARD1" \
    --baud 9600 --latency find=30,select=40,read=200 >"$T/timed.txt"
OUT=$T/untimed.bin timeout 30 python3 "$T/host.py" "$BIN/examsim" idcard "$CARD1" >"$T/untimed.txt"
# (10 + 1,295 bytes) x 10 bits at 9600 baud = 1,359 ms, + 200 ms latency
read -r _ ms n chunks < <(grep '^3001' "$T/timed.txt")
t_eq "timing: the whole read answer" 1295 "${n:-0}"
t_eq "timing: the read answer not before its latency and wire time" yes \
    "$([ "${ms:-0}" -ge 1559 ] && echo yes || echo "no (${ms:-?} ms)")"
t_eq "timing: the read answer comes in pieces, at the rate" yes \
    "$([ "${chunks:-0}" -ge 100 ] && echo yes || echo "no (${chunks:-?} reads)")"
read -r _ ms _ _ < <(grep '^2001' "$T/timed.txt")
t_eq "timing: find not before its latency and wire time (56 ms)" yes \
    "$([ "${ms:-0}" -ge 56 ] && echo yes || echo "no (${ms:-?} ms)")"
read -r _ ms _ _ < <(grep '^2002' "$T/timed.txt")
t_eq "timing: select not before its latency and wire time (70 ms)" yes \
    "$([ "${ms:-0}" -ge 70 ] && echo yes || echo "no (${ms:-?} ms)")"
t_eq "timing: the same bytes as without timing" yes \
    "$(cmp -s "$T/timed.bin" "$T/untimed.bin" && [ -s "$T/timed.bin" ] && echo yes || echo no)"
t_eq "timing: the read decodes" "黄伟" \
    "$(tail -c 1295 "$T/timed.bin" | "$BIN/examctl" idcard decode | jqv '.frames[0].card.name')"

t_done
