# lib-kiosk.sh: helpers for the examkiosk tests (kiosk.sh, kiosk-hostile.sh,
# kiosk-pixels.sh).  Source after lib.sh, t_tmpdir and lib-daemon.sh.
#   kiosk_group        a throwaway kiosk group (KGROUP, KGID), removed at exit
#   as_kiosk CMD...    CMD as uid 65534 in that group
#   tmux_start W H CMD a private tmux server with CMD in a W x H window
#   pane / pane_e      the screen as text / with colours (SGR escapes)
#   shows TEXT         wait (5 s at most) until the screen shows TEXT
#   t_shows NAME TEXT  a test: the screen shows TEXT
#   kiosk_alive        the kiosk process is still there
KTMUX="tmux -L examsite-test-$$ -f /dev/null"

kiosk_group() {
    KGROUP=exk$$
    groupadd -f "$KGROUP" || return 1
    t_on_exit "groupdel $KGROUP"
    KGID=$(getent group "$KGROUP" | cut -d: -f3)
    mkdir -p "$T/asan"
    chmod 1777 "$T/asan"
    chmod 755 "$T"
}

as_kiosk() { setpriv --reuid=65534 --regid=65534 --groups="$KGID" "$@"; }

# tmux_start W H CMD: CMD runs in a tmux window of W x H (a server of its
# own, killed at exit); KPID is CMD's process.  CMD is a child of the
# pane's shell, not the pane's process itself: tmux sends SIGCONT to a
# pane process that stops, which would undo a test's SIGSTOP.
tmux_start() {
    local w=$1 h=$2 pane i
    shift 2
    $KTMUX kill-server 2>/dev/null
    $KTMUX new-session -d -s kiosk -x "$w" -y "$h" \
        "env TERM=tmux-256color LANG=C.UTF-8 $*; exit \$?" || return 1
    t_on_exit "$KTMUX kill-server"
    $KTMUX set-option -g default-terminal tmux-256color >/dev/null
    pane=$($KTMUX display-message -p -t kiosk '#{pane_pid}')
    for ((i = 0; i < 50; i++)); do
        KPID=$(pgrep -P "$pane" | head -1)
        [ -n "$KPID" ] && return 0
        sleep 0.1
    done
    return 1
}

pane() { $KTMUX capture-pane -p -t kiosk 2>/dev/null; }
pane_e() { $KTMUX capture-pane -p -e -t kiosk 2>/dev/null; }
shows() {
    local i
    for ((i = 0; i < 50; i++)); do
        pane | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    return 1
}
t_shows() {
    if shows "$2"; then t_ok "$1"; else t_fail "$1" "[$2] not on the screen:
$(pane)"; fi
}
t_not_shown() {
    if pane | grep -qF -- "$2"; then t_fail "$1" "[$2] is on the screen:
$(pane)"; else t_ok "$1"; fi
}
# the screen's colours include 256-colour background N (SGR 48;5;N)
has_bg() { pane_e | grep -q "48;5;$1m"; }
t_bg() {
    local i
    for ((i = 0; i < 30; i++)); do
        has_bg "$2" && { t_ok "$1"; return 0; }
        sleep 0.1
    done
    t_fail "$1" "no background colour $2 on the screen"
}
# alive: there, and not a zombie waiting for tmux to reap it
# the screen has reverse video (SGR 7, alone or among others)
has_reverse() { pane_e | grep -qE $'\e\\[([0-9]+;)*7(;[0-9]+)*m'; }
# the screen has a colour other than the defaults (SGR 30-37, 40-47, 38;5, 48;5, 90-107)
has_colour() { pane_e | grep -qE $'\e\\[([0-9]+;)*(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9]+)*m'; }
kiosk_alive() {
    local st
    st=$(sed 's/^.*) //' "/proc/$KPID/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ]
}
