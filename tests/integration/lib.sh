# lib.sh: the small harness integration tests source.
#   BIN      directory of the binaries under test (default build)
#   t_ok NAME / t_fail NAME MSG / t_eq NAME EXPECTED ACTUAL / t_rc NAME WANT CMD...
#   t_tmpdir           a temp dir, removed at exit (sets T)
#   t_kill_child PID   for t_on_exit: kill a background child, never a stranger
#   t_done             prints "N passed, N failed", exits 1 on failure
# Each test script is standalone: bash tests/integration/x.sh

set -u
BIN=${BIN:-build}
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
export BIN
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TOP
T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
T_CLEANUP=()

t_ok() {
    T_PASS=$((T_PASS + 1))
    [ -n "${T_VERBOSE:-}" ] && echo "ok   $1"
    return 0
}

t_fail() {
    T_FAIL=$((T_FAIL + 1))
    echo "FAIL $T_NAME: $1: ${2:-}" >&2
    return 0
}

t_eq() {
    if [ "$2" = "$3" ]; then t_ok "$1"; else t_fail "$1" "expected [$2], got [$3]"; fi
}

# t_contains NAME NEEDLE HAYSTACK
t_contains() {
    case "$3" in
        *"$2"*) t_ok "$1" ;;
        *) t_fail "$1" "[$2] not found in [$3]" ;;
    esac
}

# t_rc NAME WANT CMD... : run CMD, compare its exit code
t_rc() {
    local name=$1 want=$2 got
    shift 2
    "$@" >/dev/null 2>&1
    got=$?
    t_eq "$name" "$want" "$got"
}

# t_kill_child PID: kill PID only if it is still a child of this shell, so
# a cleanup never hits an unrelated process that got a recycled pid.
t_kill_child() {
    local ppid
    ppid=$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$ppid" = "$$" ] && kill "$1" 2>/dev/null
    return 0
}

# t_needs [--root] TOOL...: each TOOL on the PATH (and root, with --root),
# or one failure saying what to install, and the script ends there.
t_needs() {
    local tool
    if [ "${1:-}" = --root ]; then
        shift
        if [ "$(id -u)" -ne 0 ]; then
            t_fail "needs root" "it runs clients as other users"
            t_done
        fi
    fi
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            t_fail "needs $tool" "install it (scripts/install-deps)"
            t_done
        fi
    done
}

t_on_exit() {
    T_CLEANUP+=("$1")
}

t_run_cleanup() {
    local i
    for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${T_CLEANUP[$i]}" >/dev/null 2>&1 || true
    done
}
trap t_run_cleanup EXIT

t_tmpdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/examsite-test.XXXXXX")
    t_on_exit "rm -rf '$T'"
    export T
}

t_done() {
    echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
    exit $?
}
