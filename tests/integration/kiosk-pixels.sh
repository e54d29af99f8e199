#!/usr/bin/env bash
# kiosk-pixels.sh: the real rendering.  examkiosk on a real examsited,
# started by the shipped launcher (systemd/examkiosk-screen: cage, foot,
# the WenQuanYi Zen Hei Mono font) under a headless wlroots backend, as
# a throwaway user in a throwaway kiosk group (cage refuses root), with
# its own XDG_RUNTIME_DIR.  grim takes a screenshot after an accepted
# check-in and after a refused one: neither is blank, the first has the
# green panel (#008700) and no red, the second the red one (#d70000).
# KIOSK_SCREENSHOTS=DIR keeps the two PNGs there (docs/ holds a pair).
# Needs root, cage, foot, grim, xwayland, fonts-wqy-zenhei, $BIN.
. "$(dirname "$0")/lib.sh"
t_tmpdir
[ -n "${T_KEEP:-}" ] && t_on_exit "rm -rf '$T_KEEP'; cp -r '$T' '$T_KEEP'"
. "$TOP/tests/data/daemon/lib-daemon.sh"
for tool in cage foot grim runuser useradd jq sqlite3 od; do
    command -v $tool >/dev/null || { t_fail "needs $tool" "scripts/install-deps"; t_done; }
done
[ "$(id -u)" -eq 0 ] || { t_fail "needs root" "useradd, runuser"; t_done; }
fc-list | grep -q "WenQuanYi Zen Hei" || t_fail "needs fonts-wqy-zenhei" ""

chmod 755 "$T"
KG=expx$$
KU=expxu$$
groupadd "$KG" && t_on_exit "groupdel $KG"
useradd -r -M -d /nonexistent -s /usr/sbin/nologin -g "$KG" "$KU" && t_on_exit "userdel $KU"

pick_zone
site_init "$T"
{
    echo "code,certificate,level,date,start,end,opens_before,late_after"
    echo "ONTIME,Web前端开发,初级,$TODAY,$(at 20),$(at 120),60,15"
} >"$T/sessions.csv"
ctl session import "$T/sessions.csv" >/dev/null
grep -e '^ticket' -e ',ONTIME,' "$DDATA/roster.csv" >"$T/roster.csv"
ctl roster import "$T/roster.csv" >/dev/null || t_fail "roster import" ""
sim_start door1 scanner || t_fail "examsim" "no pty"
write_conf "$T/site.conf" ticket 60 "kiosk_group = $KG"
daemon_start "$T/site.conf" "$T/daemon.log" || t_fail "daemon start" "$(tail -5 "$T/daemon.log")"

XDG=$T/xdg
mkdir -m 0700 "$XDG"
mkdir -m 0777 "$T/asan"
chown "$KU" "$XDG"
# Xwayland's sockets live in /tmp/.X11-unix, which must be root's or the
# user's: a private one, in a mount namespace of cage's own.
[ -d /tmp/.X11-unix ] || install -d -m 1777 -o root -g root /tmp/.X11-unix
unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=1777 tmpfs /tmp/.X11-unix && exec "$@"' sh \
    runuser -u "$KU" -- env -i PATH=/usr/bin:/bin HOME="$XDG" XDG_RUNTIME_DIR="$XDG" \
    WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman \
    ASAN_OPTIONS="log_path=$T/asan/kiosk" \
    EXAMKIOSK_SOCKET="$SOCK" EXAMKIOSK_BIN="$BIN/examkiosk" EXAMKIOSK_FONT_SIZE=16 \
    EXAMKIOSK_FOOT_INI="$TOP/systemd/examkiosk-foot.ini" \
    "$TOP/systemd/examkiosk-screen" 101 >"$T/cage.log" 2>&1 &
CPID=$!
t_on_exit "kill $CPID"
wait_for 100 sh -c "ls '$XDG' | grep -q '^wayland-[0-9]*\$'" ||
    t_fail "cage started" "$(tail -5 "$T/cage.log")"
WD=$(ls "$XDG" | grep -m1 '^wayland-[0-9]*$')
wait_for 100 pgrep -u "$KU" -x examkiosk || t_fail "examkiosk under cage" "$(tail -5 "$T/cage.log")"

# shot NAME: a PNG (kept) and a quarter-size PPM (counted) of the output.
shot() {
    runuser -u "$KU" -- env XDG_RUNTIME_DIR="$XDG" WAYLAND_DISPLAY="$WD" grim "$XDG/$1.png" &&
        runuser -u "$KU" -- env XDG_RUNTIME_DIR="$XDG" WAYLAND_DISPLAY="$WD" \
            grim -s 0.25 -t ppm "$XDG/$1.ppm" &&
        mv "$XDG/$1.png" "$XDG/$1.ppm" "$T/"
}
# colours FILE: "pixels green red other-than-black" of a P6 PPM.
colours() {
    local w h
    read -r w h < <(head -c 20 "$1" | sed -n 2p)
    tail -c $((w * h * 3)) "$1" | od -An -v -tu1 -w3 | awk '
        { n++ }
        $1 < 30 && $2 > 110 && $2 < 160 && $3 < 30 { g++ }
        $1 > 190 && $1 < 240 && $2 < 30 && $3 < 30 { r++ }
        $1 + $2 + $3 > 60 { lit++ }
        END { printf "%d %d %d %d\n", n, g, r, lit }'
}

# wait for the prompt to be drawn: some light pixels
for i in $(seq 1 50); do
    shot idle && read -r n g r lit < <(colours "$T/idle.ppm") && [ "$lit" -gt 100 ] && break
    sleep 0.2
done
t_eq "idle screen drawn" yes "$([ "${lit:-0}" -gt 100 ] && echo yes || echo "no (lit ${lit:-0})")"

mark
sim door1 scan 260100000006 >/dev/null
decision
sleep 1
shot accepted || t_fail "screenshot" "grim failed"
read -r n g r lit < <(colours "$T/accepted.ppm")
echo "accepted: $n pixels, green $g, red $r, lit $lit" >&2
t_eq "accepted: not blank" yes "$([ "$lit" -gt $((n / 10)) ] && echo yes || echo no)"
t_eq "accepted: the green panel" yes "$([ "$g" -gt $((n / 5)) ] && echo yes || echo no)"
t_eq "accepted: no red" yes "$([ "$r" -lt $((n / 100)) ] && echo yes || echo no)"

mark
sim door1 scan 260100000010 >/dev/null
decision
sleep 1
shot refused || t_fail "screenshot" "grim failed"
read -r n g r lit < <(colours "$T/refused.ppm")
echo "refused: $n pixels, green $g, red $r, lit $lit" >&2
t_eq "refused: not blank" yes "$([ "$lit" -gt $((n / 10)) ] && echo yes || echo no)"
t_eq "refused: the red panel" yes "$([ "$r" -gt $((n / 5)) ] && echo yes || echo no)"
t_eq "refused: no green panel" yes "$([ "$g" -lt $((n / 100)) ] && echo yes || echo no)"

if [ -n "${KIOSK_SCREENSHOTS:-}" ]; then
    cp "$T/accepted.png" "$KIOSK_SCREENSHOTS/kiosk-accepted.png"
    cp "$T/refused.png" "$KIOSK_SCREENSHOTS/kiosk-refused.png"
fi
kill "$CPID"
wait "$CPID" 2>/dev/null
if ls "$T/asan"/kiosk* >/dev/null 2>&1; then
    t_fail "sanitizers" "$(head -30 "$T"/asan/kiosk*)"
else
    t_ok "sanitizers quiet"
fi
t_done
