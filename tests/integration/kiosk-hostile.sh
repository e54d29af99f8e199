#!/usr/bin/env bash
# kiosk-hostile.sh: examkiosk against a fake examsited (socat on a Unix
# socket, fed by this script) that sends what the real one never would:
# lines that are not JSON, JSON that is not an object, objects of unknown
# types, events with fields of the wrong type, another room's events,
# escape sequences and control characters inside names, invalid UTF-8,
# deep nesting, a 2 MiB line and a 700 KB line (past the kiosk's line
# limit), a flood of 5,000 lines.  The kiosk keeps running, shows no
# escape it was sent, and still shows the valid decision after each of
# them.  Then one decision for every refusal reason the daemon gives
# (and one it may give tomorrow): each headline is on the screen.  The
# server going away is shown at once; a new server is connected to.
# --monochrome: no colour, the refusal in reverse video with its mark.
# The bell rings on a refusal, and not with --no-bell.
# Needs tmux, socat, jq, $BIN.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/daemon/lib-kiosk.sh"
for tool in tmux socat jq; do
    command -v $tool >/dev/null || { t_fail "needs $tool" ""; t_done; }
done
mkdir -p "$T/asan"
S=$T/fake.sock

# server_start: a fake daemon for one connection; FEED is its input.
server_start() {
    rm -f "$T/feed"
    mkfifo "$T/feed"
    socat UNIX-LISTEN:"$S",unlink-early STDIO <"$T/feed" >>"$T/requests" 2>>"$T/socat.err" &
    SPID=$!
    t_on_exit '[ -n "${SPID:-}" ] && kill $SPID'
    exec {FEED}>"$T/feed"
    wait_for 50 test -S "$S"
}
send() { printf '%s\n' "$@" >&$FEED; }
now() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }
ID=100
# decision RESULT REASON NAME SEAT [EXTRA-PAYLOAD-JSON]: one event line,
# with the next id (the caller's shell counts them: see dsend).  No
# session: a check-in of the session shown at a seat it does not know
# makes the kiosk fetch room.state again (a new connection), and this
# fake serves one connection at a time.
decision() {
    jq -cn --argjson id $ID --arg t "$(now)" --arg r "$1" --arg reason "$2" \
        --arg name "$3" --arg seat "$4" --argjson extra "${5:-{\}}" \
        '{type: "event", event: {id: $id, time: $t, kind: (if $r == "denied"
          then "checkin.denied" else "checkin.accepted" end), session: null,
          room: "101", ticket: "********0001", device: "door1",
          payload: ({result: $r, name: $name, seat: $seat,
            message_zh: "守护进程的说明", message_en: ("daemon says " + $reason)}
            + (if $reason == "" then {} else {reason: $reason} end) + $extra)}}'
}
dsend() { ID=$((ID + 1)); send "$(decision "$@")"; }
STATE='{"ok":true,"room":"101","site":"S1","site_name":"假考点","station":"st1",
"timezone":"Asia/Shanghai","policy":"id","last_event":100,"last_sync":"2026-12-04T14:05:00.000Z",
"devices":[{"name":"door1","type":"scanner","attached":true}],
"session":{"code":"S","certificate":"测试证书","level":"初级","date":"2026-12-05",
"opens":"08:00","start":"09:00","cutoff":"09:15","end":"11:00","state":"open","sealed":false},
"seats":[{"seat":"01","name":"甲","ticket":"****0001","state":"none","late":false},
{"seat":"02","name":"乙","ticket":"****0002","state":"present","late":false}],
"recent":[],"counts":{"expected":2,"present":1,"late":0,"absent":0}}'

server_start || t_fail "fake server" "$(cat "$T/socat.err")"
tmux_start 100 30 "ASAN_OPTIONS=log_path=$T/asan/kiosk" "$BIN/examkiosk --socket $S --room 101 --hold 30"
wait_for 50 grep -q role.drop "$T/requests" || t_fail "role.drop asked" "$(cat "$T/requests")"
t_eq "the kiosk first asks to be served as a kiosk" '{"op":"role.drop","role":"kiosk"}' \
    "$(head -1 "$T/requests")"
send '{"ok":true,"role":"kiosk"}'
wait_for 50 grep -q room.state "$T/requests" || t_fail "room.state asked" "$(cat "$T/requests")"
t_eq "then asks for its room" '{"op":"room.state","room":"101"}' "$(sed -n 2p "$T/requests")"
send "$(tr -d '\n' <<<"$STATE")"
wait_for 50 grep -q subscribe "$T/requests" || t_fail "subscribe asked" "$(cat "$T/requests")"
t_eq "then subscribes since the state's last event" '{"op":"subscribe","room":"101","since":100}' \
    "$(sed -n 3p "$T/requests")"
send '{"ok":true,"subscribed":"101","last_event":100}'
t_shows "state shown: prompt" "请刷身份证"
t_shows "state shown: counts" "应到 Expected 2"
t_shows "state shown: connected" "✔ 已连接 connected"
t_shows "state shown: the last sync in the site's time, with its day" "同步 12-04 22:05"

bell() { $KTMUX display-message -p -t kiosk '#{window_bell_flag}'; }
t_eq "bell: none before a refusal" 0 "$(bell)"
# after_each NAME: the kiosk is alive and still shows a valid decision.
n=0
after_each() {
    n=$((n + 1))
    dsend accepted "" "好人$n" "0$((n % 10))"
    if shows "好人$n" && kiosk_alive; then t_ok "$1: alive, next decision shown"
    else t_fail "$1: alive, next decision shown" "$(pane | head -20)"; fi
}
send 'not json at all'
after_each "not JSON"
send '{' '[1,2,3]' '"a string"' '42' 'null' '{"a":1,"a":2}'
after_each "JSON, not an object"
send '{"type":5}' '{"type":"future","event":{}}' '{"no":"type"}' '{"type":"notice"}' \
    '{"type":"notice","notice":"unheard-of","message_zh":"x","message_en":"y"}'
after_each "unknown and odd types"
send '{"type":"event"}' '{"type":"event","event":"x"}' '{"type":"event","event":{"id":"7"}}' \
    "{\"type\":\"event\",\"event\":{\"id\":$((ID + 50)),\"kind\":7}}" \
    "{\"type\":\"event\",\"event\":{\"id\":$((ID + 51)),\"kind\":\"checkin.accepted\",\"room\":\"101\",\"payload\":[1]}}" \
    "{\"type\":\"event\",\"event\":{\"id\":$((ID + 52)),\"kind\":\"checkin.accepted\",\"room\":\"101\",\"time\":17,\"payload\":{\"result\":[],\"name\":{},\"seat\":1e300,\"warnings\":\"x\"}}}"
ID=$((ID + 52))
after_each "events with fields of the wrong type"
ID=$((ID + 1))
send "$(decision accepted "" "别的考场" 09 | jq -c '.event.room = "102"')"
after_each "another room's event"
t_not_shown "another room's event: not shown" "别的考场"
ID=$((ID + 1))
send "$(decision accepted "" $'\e[2J\e[31m清屏\a\b\u0007' 07 | sed 's/清屏/清屏\\u001b]0;title\\u0007\\u009b2J/')"
t_shows "escapes in a name: the name shown" "清屏"
# an OSC that reached the terminal would have set the pane's title
t_eq "escapes in a name: none reach the terminal" no \
    "$($KTMUX display-message -p -t kiosk '#{pane_title}' | grep -q title && echo yes || echo no)"
after_each "escapes and control characters"
printf '{"type":"notice","notice":"hint","room":"101","message_zh":"\xff\xfe坏","message_en":"bad"}\n' >&$FEED
after_each "invalid UTF-8"
printf '%*s' 100000 '' | tr ' ' '[' >&$FEED
echo >&$FEED
after_each "deep nesting"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' x >&$FEED
echo >&$FEED
after_each "a 2 MiB line"
printf '{"type":"notice","notice":"hint","room":"101","message_zh":"%s","message_en":"x"}\n' \
    "$(head -c 700000 /dev/zero | tr '\0' y)" >&$FEED
after_each "a 700 KB line, valid JSON"
for i in $(seq 1 5000); do echo '{"type":"noise","n":'$i'}'; done >&$FEED
after_each "5,000 lines of noise"

# --- every reason on the screen ---------------------------------------------------------
while IFS='|' read -r reason zh; do
    dsend denied "$reason" "某人" 05
    t_shows "reason $reason: headline" "$zh"
    t_shows "reason $reason: the daemon's text" "daemon says $reason"
done <<'EOF'
wrong_room|考场错误
not_on_roster|名单中没有您
too_early|检录尚未开始
closed|检录已截止
wrong_day|考试不在今天
card_expired|身份证已过期
card_invalid|身份证有效期无效
sealed|本场已封场
pair_mismatch|身份证与准考证不符
pair_timeout|未及时扫描准考证
id_number_as_ticket|请扫描准考证，不要用身份证号
withdrawn|报名已撤销
brand_new_reason|请到监考员处
EOF
t_eq "bell: rung on a refusal" 1 "$(bell)"
dsend denied wrong_room "走错的人" 05 '{"right_room":"302"}'
t_shows "wrong room: where to go" "请到考场 Go to room"
t_eq "wrong room: 302 in block digits" yes "$(has_reverse && echo yes || echo no)"
dsend accepted "" "迟到的人" 12 '{"late":true}'
t_shows "late: amber headline" "! 迟到 · 请入场"
dsend accepted "" "名字不同" 13 '{"warnings":["name_mismatch"]}'
t_shows "name mismatch: amber headline" "请监考员核对姓名"

# --- the server goes, another comes ---------------------------------------------------------
exec {FEED}>&-
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=
t_shows "server gone: said at once" "未连接检录系统"
kiosk_alive && t_ok "server gone: alive" || t_fail "server gone: alive" ""
: >"$T/requests"
server_start || t_fail "second server" ""
wait_for 100 grep -q role.drop "$T/requests" || t_fail "reconnects" "$(cat "$T/requests")"
send '{"ok":true,"role":"kiosk"}'
wait_for 50 grep -q room.state "$T/requests"
send "$(tr -d '\n' <<<"$STATE")"
wait_for 50 grep -q subscribe "$T/requests"
t_eq "reconnect: since the last event it applied" "$ID" \
    "$(sed -n 3p "$T/requests" | jq .since)"
send '{"ok":true,"subscribed":"101"}'
t_shows "reconnected" "✔ 已连接 connected"
send '{"ok":false,"error":"whatever","code":70}'
after_each "a stray error reply in the stream"
kill -TERM "$KPID"
sleep 1
kiosk_alive && t_fail "SIGTERM" "still running" || t_ok "SIGTERM stops it"
# --- monochrome: no colour at all, the panels told apart by video and marks ----
exec {FEED}>&-
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
: >"$T/requests"
server_start || t_fail "third server" ""
tmux_start 100 30 "ASAN_OPTIONS=log_path=$T/asan/kiosk" "$BIN/examkiosk --socket $S --room 101 --monochrome --no-bell"
# A daemon that will not serve it as a kiosk gets nothing asked of it.
wait_for 50 grep -q role.drop "$T/requests"
send '{"ok":false,"error":"unknown op","code":64}'
t_shows "role.drop refused: said on the screen" "未连接检录系统"
t_eq "role.drop refused: the room is not asked for" 0 "$(grep -c room.state "$T/requests")"
exec {FEED}>&-
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
: >"$T/requests"
server_start || t_fail "fourth server" ""
wait_for 100 grep -q role.drop "$T/requests"
send '{"ok":true,"role":"kiosk"}'
wait_for 50 grep -q room.state "$T/requests"
send "$(tr -d '\n' <<<"$STATE")"
wait_for 50 grep -q subscribe "$T/requests"
send '{"ok":true,"subscribed":"101"}'
dsend denied wrong_room "单色" 05 '{"right_room":"302"}'
t_shows "monochrome: the refusal's mark and headline" "✘ 考场错误"
t_eq "--no-bell: no bell on a refusal" 0 "$(bell)"
t_eq "monochrome: no colour sent" no "$(has_colour && echo yes || echo no)"
t_eq "monochrome: the refusal in reverse video" yes "$(has_reverse && echo yes || echo no)"
dsend accepted "" "单色二" 07
t_shows "monochrome: the accept's mark" "✔ 请入场"
kill -TERM "$KPID"
sleep 1
if ls "$T/asan"/kiosk* >/dev/null 2>&1; then
    t_fail "sanitizers" "$(head -30 "$T"/asan/kiosk*)"
else
    t_ok "sanitizers quiet"
fi
t_done
