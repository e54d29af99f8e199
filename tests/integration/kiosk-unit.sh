#!/usr/bin/env bash
# kiosk-unit.sh: what ships for a kiosk box.  examkiosk@.service scores
# exposure <= 2.0 under `systemd-analyze security --offline=true` and
# runs unprivileged in the kiosk group (not root, no capabilities, the
# examkiosk user that sysusers creates in examsite-kiosk); make install's
# scripts/install-files
# puts the unit, the launcher, foot's settings and the PAM file in place
# and points them at the prefix; the launcher refuses a font size that is
# not a number (64) and hands examkiosk the room.
# Needs systemd-analyze, $BIN.
. "$(dirname "$0")/lib.sh"
t_tmpdir
command -v systemd-analyze >/dev/null || { t_fail "needs systemd-analyze" ""; t_done; }
U=$TOP/systemd/examkiosk@.service
cp "$U" "$T/examkiosk@101.service"
out=$(systemd-analyze security --offline=true "$T/examkiosk@101.service" 2>&1)
score=$(grep -o 'exposure level for examkiosk@101.service: [0-9.]*' <<<"$out" | awk '{print $NF}')
t_eq "exposure <= 2.0 (got ${score:-none})" yes "$(awk -v s="${score:-99}" 'BEGIN { print (s <= 2.0) ? "yes" : "no" }')"
t_eq "User=examkiosk" examkiosk "$(sed -n 's/^User=//p' "$U")"
t_eq "Group=examsite-kiosk" examsite-kiosk "$(sed -n 's/^Group=//p' "$U")"
t_eq "no capabilities" "" "$(sed -n 's/^CapabilityBoundingSet=//p' "$U")"
t_eq "restarted whatever ends it" always "$(sed -n 's/^Restart=//p' "$U")"
t_eq "the room is the instance" "/usr/lib/examsite/examkiosk-screen %i" "$(sed -n 's/^ExecStart=//p' "$U")"
t_eq "sysusers: examkiosk in the kiosk group" 1 \
    "$(grep -c '^u examkiosk -:examsite-kiosk ' "$TOP/systemd/examsite.sysusers")"

# what `make install` runs once the binaries are built
(cd "$TOP" && scripts/install-files "$T/root" /usr "$BIN") >/dev/null 2>&1 ||
    t_fail "install-files" ""
for f in usr/lib/systemd/system/examkiosk@.service usr/lib/examsite/examkiosk-screen \
    usr/share/examsite/examkiosk-foot.ini etc/pam.d/examkiosk usr/bin/examkiosk; do
    t_eq "installed: $f" yes "$([ -e "$T/root/$f" ] && echo yes || echo no)"
done
t_eq "installed launcher is executable" yes "$([ -x "$T/root/usr/lib/examsite/examkiosk-screen" ] && echo yes || echo no)"
if command -v foot >/dev/null; then
    t_rc "foot accepts its settings" 0 foot --config="$TOP/systemd/examkiosk-foot.ini" --check-config
fi

# The launcher, with stand-ins for cage and foot that print what they got.
mkdir "$T/bin"
printf '#!/bin/sh\n[ "$1" = -- ] && shift; exec "$@"\n' >"$T/bin/cage"
printf '#!/bin/sh\necho "foot $*"\n' >"$T/bin/foot"
chmod 755 "$T/bin/cage" "$T/bin/foot"
out=$(PATH="$T/bin:$PATH" EXAMKIOSK_FONT_SIZE=30 EXAMKIOSK_SOCKET=/run/x.sock \
    "$TOP/systemd/examkiosk-screen" 302 2>&1)
t_contains "launcher: font and size" "--font=WenQuanYi Zen Hei Mono:size=30" "$out"
t_contains "launcher: the room" "--socket /run/x.sock --room 302" "$out"
PATH="$T/bin:$PATH" EXAMKIOSK_FONT_SIZE=big "$TOP/systemd/examkiosk-screen" 302 >/dev/null 2>&1
t_eq "launcher: a size that is not a number is 64" 64 $?
t_done
