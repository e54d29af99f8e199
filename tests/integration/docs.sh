#!/usr/bin/env bash
# docs.sh: the documentation says what the binaries do.
#   - every option (--name) in a binary's --help (for examctl: the top
#     level and every command's --help) is in its man page, and every
#     option in the man page's SYNOPSIS, OPTIONS and COMMANDS sections is
#     in some --help;
#   - every command examctl --help lists has a man page entry, and back;
#   - every folder the README's layout lists exists (with the subfolders
#     named on its line), and every make target it names is in the
#     Makefile;
#   - the Debian packages (debian/*.install) ship every man page and unit;
#   - `make install` (DESTDIR, PREFIX=/usr) installs every man page of
#     docs/ in its section, each one man(1) renders without an error, and
#     every binary has its page installed;
#   - no source cites design files that are not in the tree, and the docs
#     they cite instead exist.
# Standalone: BIN=build bash tests/integration/docs.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_tmpdir

# options WORDS...: the --options in the text on stdin, one per line, sorted
options() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

# man_options PAGE: the options a man page documents: SYNOPSIS and every
# section whose title has OPTIONS or COMMANDS (other sections may mention
# other programs' options).
man_options() {
    awk '/^\.SH/ { keep = ($0 ~ /SYNOPSIS|OPTIONS|COMMANDS/) } keep' "$1" |
        sed 's/\\-/-/g; s/\\f[BIRP]//g' | options
}

# compare NAME HELP-OPTIONS-FILE MAN-OPTIONS-FILE
compare() {
    local only_help only_man
    only_help=$(comm -23 "$2" "$3" | tr '\n' ' ')
    only_man=$(comm -13 "$2" "$3" | tr '\n' ' ')
    t_eq "$1: every --help option is in the man page" "" "$only_help"
    t_eq "$1: every man page option is in --help" "" "$only_man"
    t_eq "$1: options found" yes "$([ -s "$2" ] && echo yes || echo no)"
}

# --- examctl ------------------------------------------------------------------
EX="$BIN/examctl"
if [ -x "$EX" ]; then
    "$EX" --help >"$T/examctl.help" 2>&1
    t_eq "examctl --help: exit" 0 "$?"
    # the commands: the words that start the indented lines of --help
    cmds=$(grep -E '^  [a-z]' "$T/examctl.help" | awk '{ print $1 }' | sort -u)
    t_eq "examctl --help lists commands" yes "$([ "$(echo "$cmds" | wc -l)" -ge 10 ] && echo yes)"
    : >"$T/examctl.all"
    for c in $cmds; do
        "$EX" "$c" --help >"$T/o" 2>&1
        t_eq "examctl $c --help: exit" 0 "$?"
        t_contains "examctl $c --help: usage" "usage:" "$(cat "$T/o")"
        cat "$T/o" >>"$T/examctl.all"
    done
    cat "$T/examctl.help" "$T/examctl.all" | options >"$T/help.opts"
    man_options "$TOP/docs/examctl.1" >"$T/man.opts"
    compare examctl "$T/help.opts" "$T/man.opts"
    # commands: the first word of each .TP/.TQ entry of COMMANDS
    awk '/^\.SH/ { keep = ($0 ~ /COMMANDS/) }
         keep && tag && $1 == ".B" { print $2 }
         { tag = ($0 == ".TP" || $0 == ".TQ") }' "$TOP/docs/examctl.1" |
        sed 's/\\-/-/g' | sort -u >"$T/man.cmds"
    echo "$cmds" >"$T/help.cmds"
    t_eq "examctl: every command of --help has a man page entry" "" \
        "$(comm -23 "$T/help.cmds" "$T/man.cmds" | tr '\n' ' ')"
    t_eq "examctl: every man page command is in --help" "" \
        "$(comm -13 "$T/help.cmds" "$T/man.cmds" | tr '\n' ' ')"
else
    t_fail examctl "no $EX"
fi

# --- the other binaries: one --help each ---------------------------------------
for pair in examsited:8 examsim:1 examkiosk:1 examcentral:8; do
    b=${pair%:*}
    page="$TOP/docs/$b.${pair#*:}"
    if [ ! -x "$BIN/$b" ]; then
        # not built (kiosk/, central/ are planned): no page to check either
        [ -e "$TOP/$b" ] && t_fail "$b" "sources but no binary"
        continue
    fi
    t_eq "$b has a man page" yes "$([ -f "$page" ] && echo yes || echo no)"
    "$BIN/$b" --help >"$T/$b.help" 2>&1
    t_eq "$b --help: exit" 0 "$?"
    options <"$T/$b.help" >"$T/$b.help.opts"
    man_options "$page" >"$T/$b.man.opts"
    compare "$b" "$T/$b.help.opts" "$T/$b.man.opts"
done

# the comparison can fail: a control
printf -- '--one\n--two\n' >"$T/a"
printf -- '--one\n' >"$T/b"
t_eq "the comparison sees a missing option" "--two " "$(comm -23 "$T/a" "$T/b" | tr '\n' ' ')"

# --- README layout -----------------------------------------------------------------
awk '/^## Layout/ { inl = 1; next } inl && /^```/ { n++; if (n == 2) exit; next }
     inl && n == 1' "$TOP/README.md" >"$T/layout"
t_eq "README has a layout block" yes "$([ "$(wc -l <"$T/layout")" -ge 8 ] && echo yes)"
while read -r first rest; do
    [ -n "$first" ] || continue
    case "$first" in
        */)
            t_eq "README layout: $first exists" yes "$([ -d "$TOP/$first" ] && echo yes || echo no)"
            for sub in $(echo "$rest" | grep -o '\b[a-z][a-z0-9_-]*/' | sort -u); do
                t_eq "README layout: $first$sub exists" yes \
                    "$([ -d "$TOP/$first$sub" ] && echo yes || echo no)"
            done
            ;;
        Makefile)
            t_eq "README layout: Makefile exists" yes "$([ -f "$TOP/Makefile" ] && echo yes)"
            for tgt in $(echo "${rest#*:}" | tr ',' ' '); do
                t_eq "README layout: make $tgt is a target" yes \
                    "$(grep -q "^$tgt:" "$TOP/Makefile" && echo yes || echo no)"
            done
            ;;
        *) t_fail "README layout" "entry '$first' is neither a folder nor the Makefile" ;;
    esac
done <"$T/layout"
# every top-level folder of the tree is in the layout
for d in "$TOP"/*/; do
    d=$(basename "$d")
    case "$d" in build) continue ;; esac
    t_eq "README layout lists $d/" yes "$(grep -q "^$d/" "$T/layout" && echo yes || echo no)"
done

# --- the Debian packages ship every man page and unit ------------------------------
# (tests/integration/deb.sh builds them; this only reads debian/.)
for m in "$TOP"/docs/*.[158]; do
    f=usr/share/man/man${m##*.}/$(basename "$m")
    t_eq "debian/ installs $f" 1 "$(cat "$TOP"/debian/*.install | grep -cx "$f")"
done
for u in "$TOP"/systemd/*.service; do
    f=lib/systemd/system/$(basename "$u")
    t_eq "debian/ installs $f" 1 "$(cat "$TOP"/debian/*.install | grep -cx "$f")"
done
t_eq "make deb builds the packages" 1 "$(grep -c '^deb:$' "$TOP/Makefile")"
t_eq "  ...with scripts/build-deb" 1 "$(grep -A1 '^deb:$' "$TOP/Makefile" | grep -c 'scripts/build-deb')"

# --- make install: the man pages --------------------------------------------------
if [ -x "$BIN/examctl" ]; then
    # -o all: the binaries under test as they are, never rebuilt here
    make -s -C "$TOP" -o all install B="$BIN" PREFIX=/usr DESTDIR="$T/root" >"$T/o" 2>"$T/e"
    t_eq "make install DESTDIR: exit 0" 0 "$?"
    n=0
    for m in "$TOP"/docs/*.[1-8]; do
        sec=${m##*.}
        f=$T/root/usr/share/man/man$sec/$(basename "$m")
        n=$((n + 1))
        t_eq "make install: $(basename "$m") in man$sec" yes "$(cmp -s "$m" "$f" && echo yes || echo no)"
        if command -v man >/dev/null; then
            out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>&1 >/dev/null | grep -v 'cannot adjust line')
            t_eq "man -l $(basename "$m"): renders without an error" "" "$out"
        fi
    done
    t_eq "make install: man pages found in docs/" yes "$([ "$n" -ge 6 ] && echo yes || echo no)"
    for pair in examctl:1 examsited:8 examsim:1 examkiosk:1 examcentral:8; do
        b=${pair%:*}
        [ -x "$T/root/usr/bin/$b" ] || continue
        t_eq "make install: $b has its page" yes \
            "$([ -f "$T/root/usr/share/man/man${pair#*:}/$b.${pair#*:}" ] && echo yes || echo no)"
    done
    t_eq "make install: examsite.conf(5)" yes \
        "$([ -f "$T/root/usr/share/man/man5/examsite.conf.5" ] && echo yes || echo no)"
fi

# --- citations of files not in the tree ------------------------------------------------
cites=$(cd "$TOP" && grep -rln -e 'DESIGN\.md' -e 'INTERFACES\.md' -e 'STYLE\.md' -e 'shared/notes' \
    --include='*.c' --include='*.h' --include='*.sh' --include=Makefile --exclude=docs.sh \
    common chain db daemon drivers kiosk central tools tests bench scripts Makefile 2>/dev/null | tr '\n' ' ')
t_eq "no source cites design files outside the tree" "" "$cites"
for f in $(cd "$TOP" && grep -rhoE 'docs/[a-z0-9-]+\.(md|[158])' --include='*.c' --include='*.h' \
    common chain db daemon drivers kiosk central tools tests | sort -u); do
    t_eq "cited $f exists" yes "$([ -f "$TOP/$f" ] && echo yes || echo no)"
done

t_done
