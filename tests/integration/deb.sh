#!/usr/bin/env bash
# deb.sh: the Debian packages as scripts/build-deb (make deb) builds them,
# read without installing them (make check-systemd installs them):
# lintian passes (build-deb fails otherwise); every binary the Makefile
# builds, every man page in docs/ and every unit in systemd/ is in exactly
# one package, the units unchanged; the configuration and PAM files are
# conffiles; the binaries carry the hardening flags (PIE, full RELRO,
# BIND_NOW, stack protector, fortify); the dependencies the scripts need
# (procps for ExecReload's /bin/kill; the kiosk's cage, Xwayland, foot,
# font and pam_systemd as Recommends); the maintainer scripts create the users
# before the state directory, start nothing on a fresh install and
# restart what runs after an upgrade; purge deletes /var/lib/examsite.
# Needs dpkg-dev, debhelper, fakeroot, lintian, binutils; $BIN (the
# binaries the Makefile builds, for their names).
. "$(dirname "$0")/lib.sh"
t_tmpdir
t_needs dpkg-buildpackage dh fakeroot lintian readelf

out=$(cd "$TOP" && DEB_OUT=$T/deb scripts/build-deb 2>&1)
t_eq "build-deb (dpkg-buildpackage, lintian) exits 0" 0 "$?"
V=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
A=$(dpkg --print-architecture)
S=$T/deb/examsite_${V}_$A.deb
C=$T/deb/examsite-central_${V}_$A.deb
for d in "$S" "$C"; do
    [ -f "$d" ] || { t_fail "built $(basename "$d")" "$(tail -5 <<<"$out")"; t_done; }
done
t_eq "lintian: no error or warning tags" 0 "$(grep -c '^[EW]: ' "$T/deb/lintian.log")"
dpkg-deb -c "$S" | awk '{ print substr($6, 2) }' >"$T/s.list"
dpkg-deb -c "$C" | awk '{ print substr($6, 2) }' >"$T/c.list"
# in_one PATH: PATH is in exactly one of the two packages
in_one() { cat "$T/s.list" "$T/c.list" | grep -cx "$1"; }

for b in "$BIN"/exam*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    t_eq "ships /usr/bin/$(basename "$b")" 1 "$(in_one "/usr/bin/$(basename "$b")")"
done
t_eq "examcentral is the office's" 1 "$(grep -cx /usr/bin/examcentral "$T/c.list")"
for m in "$TOP"/docs/*.[158]; do
    t_eq "ships man page $(basename "$m")" 1 "$(in_one "/usr/share/man/man${m##*.}/$(basename "$m").gz")"
done
mkdir "$T/s" "$T/c"
dpkg-deb -x "$S" "$T/s"
dpkg-deb -x "$C" "$T/c"
for u in "$TOP"/systemd/*.service; do
    n=$(basename "$u")
    t_eq "ships $n" 1 "$(in_one "/lib/systemd/system/$n")"
    f=$(ls "$T"/[sc]/lib/systemd/system/"$n" 2>/dev/null | head -1)
    t_eq "  ...unchanged" yes "$(cmp -s "$u" "$f" && echo yes || echo no)"
done
t_eq "ships the udev rules" 1 "$(in_one /lib/udev/rules.d/70-examsite.rules)"
t_eq "ships the sysusers file" 1 "$(in_one /usr/lib/sysusers.d/examsite.conf)"
t_eq "ships the tmpfiles file" 1 "$(in_one /usr/lib/tmpfiles.d/examsite.conf)"
t_eq "ships the kiosk launcher, executable" yes \
    "$([ -x "$T/s/usr/lib/examsite/examkiosk-screen" ] && echo yes || echo no)"

mkdir "$T/sc" "$T/cc"
dpkg-deb -e "$S" "$T/sc"
dpkg-deb -e "$C" "$T/cc"
t_eq "conffiles" "/etc/examsite/examsite.conf /etc/pam.d/examkiosk" "$(sort "$T/sc/conffiles" | tr '\n' ' ' | sed 's/ $//')"
t_eq "the conffile is the example configuration" yes \
    "$(cmp -s "$TOP/systemd/examsite.conf.example" "$T/s/etc/examsite/examsite.conf" && echo yes || echo no)"

# hardening: dpkg-buildflags' hardening=+all reached the compiler and linker
for b in "$T"/s/usr/bin/* "$T"/c/usr/bin/*; do
    n=$(basename "$b")
    h=$(readelf -hW "$b" | awk '/Type:/ { print $2 }')
    h="$h $(readelf -lW "$b" | grep -c GNU_RELRO)"
    h="$h $(readelf -dW "$b" | grep -c 'FLAGS.*BIND_NOW')"
    h="$h $(readelf -sW --dyn-syms "$b" | grep -c '__stack_chk_fail')"
    h="$h $(readelf -sW --dyn-syms "$b" | grep -cE '__[a-z]+_chk@')"
    t_eq "$n: PIE, RELRO, BIND_NOW, stack protector, fortify" "DYN 1 1 1 yes" \
        "$(awk '{ print $1, $2, $3, ($4 > 0), ($5 > 0 ? "yes" : "no") }' <<<"$h")"
done

dep() { dpkg-deb -f "$1" "$2" | tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g'; }
t_eq "examsite depends on procps (ExecReload= runs /bin/kill)" 1 "$(dep "$S" Depends | grep -cx procps)"
t_eq "examcentral.service runs no /bin/kill (no procps needed)" 0 "$(grep -c '/bin/kill' "$TOP/systemd/examcentral.service")"
t_eq "the kiosk's programs are recommended" "cage fonts-wqy-zenhei foot libpam-systemd xwayland" \
    "$(dep "$S" Recommends | sort | tr '\n' ' ' | sed 's/ $//')"
t_eq "examsite depends on its libraries (shlibs)" 1 "$(dep "$S" Depends | grep -cx libsqlite3-0)"

# maintainer scripts
pi=$T/sc/postinst
t_eq "postinst: systemd-sysusers before systemd-tmpfiles" yes \
    "$(awk '/systemd-sysusers/ && !u { u = NR } /systemd-tmpfiles/ && !t { t = NR } END { print (u && t && u < t) ? "yes" : "no" }' "$pi")"
t_eq "postinst: starts nothing on a fresh install" 0 "$(grep -cE 'deb-systemd-invoke (start|restart) ' "$pi" "$T/cc/postinst" | awk -F: '{ s += $2 } END { print s }')"
t_eq "postinst: try-restart examsited after an upgrade" 1 "$(grep -c "try-restart 'examsited.service'" "$pi")"
t_eq "postinst: try-restart the kiosk screens after an upgrade" 1 "$(grep -c "try-restart 'examkiosk@\*.service'" "$pi")"
t_eq "postinst: try-restart examcentral after an upgrade" 1 "$(grep -c "try-restart 'examcentral.service'" "$T/cc/postinst")"
t_eq "prerm: stops examsited on remove" 1 "$(grep -c 'deb-systemd-invoke stop examsited.service' "$T/sc/prerm")"
t_eq "postrm: purge deletes /var/lib/examsite" 1 "$(grep -c 'rm -rf /var/lib/examsite ' "$T/sc/postrm")"
t_eq "postrm: purge deletes the office store" 1 "$(grep -c 'rm -rf /var/lib/examsite-central /var/lib/private/examsite-central' "$T/cc/postrm")"
# dh_installsystemd --no-enable: symlinks only for a unit the admin enabled
t_eq "postinst: enables examsited only if it was enabled before" 1 \
    "$(grep -c "if deb-systemd-helper debian-installed 'examsited.service'" "$pi")"
t_done
