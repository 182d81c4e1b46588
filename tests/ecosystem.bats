#!/usr/bin/env bats
# Ecosystem: help and version, man pages, bash and zsh completion, make install /
# uninstall, the installed copy on its own, Debian packaging (UNSHARED_TEST_DEB=1).

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

MANPAGES='unshared-cli.1 forkn.1 pivot.1 mkchroot.1 initnetns.8 destroynetns.8'

# the subcommands `help` lists
subcommands() {
	"$UC" help | awk '/^Subcommands:/ {in_ = 1; next} in_ && /^  [a-z]/ {print $1; next} in_ {exit}'
}

# options_of TEXT: the options a usage text lists: where a column starts
# (indentation, ", " or two spaces), or anywhere in a Usage line
options_of() {
	local line
	while IFS= read -r line; do
		if [[ $line =~ ^(Usage:|\ +unshared-cli\ ) ]]; then
			grep -oE -- '(^|[][ |])--?[A-Za-z][A-Za-z0-9-]*' <<<"$line" || true
		else
			grep -oE -- '(^ +|  |, )--?[A-Za-z][A-Za-z0-9-]*' <<<"$line" || true
		fi
	done <<<"$1" | sed -E 's/^( +|, |\[|\]|\|)//' | sort -u
}

# in_man PAGE OPTION: the page mentions OPTION, written with roff's \-
in_man() {
	grep -qF -- "$(printf '%s' "$2" | sed 's/-/\\-/g')" "$TOP/docs/$1"
}

# comp [VAR=VALUE...] WORD...: what the bash completion offers for the words
# typed (the last one is completed), one per line, sorted. The words are split
# as bash splits them for completion: "--root=x" is "--root" "=" "x", and
# COMP_LINE has them without blanks around = and :.
comp() {
	local -a env=()
	local line='' w prev=''
	while [[ $1 =~ ^[A-Z_]+= ]]; do
		env+=("$1")
		shift
	done
	for w; do
		case $w:$prev in
		=:* | ::* | *:= | *::) line+=$w ;;
		*) line+=${line:+ }$w ;;
		esac
		prev=$w
	done
	[[ -n $w ]] || line+=' '
	# shellcheck disable=SC2016 # expanded by the inner bash
	env "${env[@]}" bash -c '
		. "$1/completion/unshared-cli.bash"
		shift
		# a stand-in for ip(8): the host'\''s bridges are not the test'\''s business
		ip() { printf "7: ecobr0: <BROADCAST,MULTICAST,UP> mtu 1500\n9: ecobr1@if2: <BROADCAST> mtu 1500\n"; }
		COMP_LINE=$1; COMP_POINT=${#1}; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_unshared_cli
		printf "%s\n" "${COMPREPLY[@]}"
	' comp "$TOP" "$line" "$@" | sort
}

# has LINE...: each LINE is one of the lines of $output
has() {
	local l
	for l; do
		grep -qxF -- "$l" <<<"$output" || { echo "not offered: $l"; return 1; }
	done
}

@test "help: every subcommand's --help prints its usage on stdout and exits 0" {
	local sub n=0
	for sub in $(subcommands); do
		run --separate-stderr "$UC" "$sub" --help
		[ "$status" -eq 0 ] || { echo "$sub --help: status $status"; return 1; }
		[[ $output == Usage:* ]] || { echo "$sub --help: $output"; return 1; }
		[ -z "$stderr" ]
		run --separate-stderr "$UC" help "$sub"
		[ "$status" -eq 0 ]
		[[ $output == Usage:* ]]
		n=$((n + 1))
	done
	[ "$n" -ge 9 ]
}

@test "help: --help, -h and no subcommand list the subcommands" {
	local a
	for a in --help -h help; do
		run --separate-stderr "$UC" $a
		[ "$status" -eq 0 ]
		[[ $output == *Subcommands:* ]]
	done
	run --separate-stderr "$UC"
	[ "$status" -eq 0 ]
	[[ $output == *Subcommands:* ]]
}

@test "--version prints 'unshared-cli X.Y.Z', the version the man pages and debian/changelog carry" {
	local v p
	run --separate-stderr "$UC" --version
	[ "$status" -eq 0 ]
	[[ $output =~ ^unshared-cli\ ([0-9]+\.[0-9]+\.[0-9]+)$ ]]
	v=${BASH_REMATCH[1]}
	for p in $MANPAGES; do
		grep -q "^\.TH .* \"unshared\\\\-cli $v\"" "$TOP/docs/$p" || { echo "$p: not $v"; return 1; }
	done
	[ "$(sed -n '1s/^unshared-cli (\([^)]*\)).*/\1/p' "$TOP/debian/changelog")" = "$v" ]
}

@test "an unknown subcommand or option: one line naming it, status 125" {
	run --separate-stderr "$UC" frobnicate
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: unknown subcommand 'frobnicate' (see 'unshared-cli help')" ]
	run --separate-stderr "$UC" --frobnicate
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: "*"'--frobnicate'"* ]]
}

@test "man: every page renders with man --warnings and groff -ww without a warning" {
	local p
	command -v man >/dev/null || need "man (man-db)"
	for p in $MANPAGES; do
		[ -f "$TOP/docs/$p" ] || { echo "missing docs/$p"; return 1; }
		run --separate-stderr env MANWIDTH=80 man --warnings -l "$TOP/docs/$p"
		[ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$p: $stderr"; return 1; }
		[ "${#lines[@]}" -gt 20 ]
		run --separate-stderr groff -t -ww -man -Tutf8 -z "$TOP/docs/$p"
		[ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$p: $stderr"; return 1; }
	done
}

@test "man: unshared-cli(1) documents every subcommand and every option their usages list" {
	local sub o missing=
	for sub in $(subcommands); do
		grep -qF ".B $(printf '%s' "$sub" | sed 's/-/\\-/g')" "$TOP/docs/unshared-cli.1" ||
			missing="$missing $sub"
		for o in $(options_of "$("$UC" "$sub" --help)"); do
			in_man unshared-cli.1 "$o" || missing="$missing $sub:$o"
		done
	done
	for o in UNSHARED_ROOT UNSHARED_STATE UNSHARED_RECIPES UNSHARED_DEBUG EXIT\ STATUS FILES ENVIRONMENT EXAMPLES SEE\ ALSO; do
		grep -q "$o" "$TOP/docs/unshared-cli.1" || missing="$missing $o"
	done
	echo "missing:$missing"
	[ -z "$missing" ]
}

@test "man: forkn(1) and pivot(1) document every option of the helpers' --help" {
	local h o missing=
	for h in forkn pivot; do
		[ -x "$TOP/utils/$h" ] || need "utils/$h built (make)"
		for o in $("$TOP/utils/$h" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
			in_man "$h.1" "$o" || missing="$missing $h:$o"
		done
	done
	echo "missing:$missing"
	[ -z "$missing" ]
}

@test "completion: loads stand-alone, registers, and is shellcheck-clean" {
	run bash -c ". '$TOP/completion/unshared-cli.bash' && complete -p unshared-cli"
	[ "$status" -eq 0 ]
	[ "$output" = "complete -F _unshared_cli unshared-cli" ]
	command -v shellcheck >/dev/null || need "shellcheck"
	run shellcheck -s bash "$TOP/completion/unshared-cli.bash"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "completion: subcommands, called as bash-completion would and by hand" {
	run bash -c ". '$TOP/completion/unshared-cli.bash'; COMP_WORDS=(unshared-cli sp) COMP_CWORD=1 _unshared_cli; echo \${COMPREPLY[@]}"
	[ "$status" -eq 0 ]
	[ "$output" = spawn ]
	run comp "$UC" ''
	[ "$output" = "$(subcommands | sort)" ]
	has attach spawn stop
	run comp "$UC" help ro
	[ "$output" = roots ]
	run comp "$UC" --v
	[ "${lines[*]}" = "--verbose --version" ]
}

@test "completion: spawn offers every option of its usage, and values for them" {
	local want
	want=$(options_of "$("$UC" spawn --help)"; echo --help)
	run comp "$UC" spawn -
	[ "$output" = "$(echo "$want" | sort -u)" ]
	run comp "$UC" spawn --bri
	[ "$output" = --bridge ]
	run comp "$UC" spawn --bridge ''
	[ "${lines[*]}" = "ecobr0 ecobr1" ]
	run comp "$UC" spawn --addr a
	[ "$output" = auto ]
	# --opt=value: bash splits at "=", readline replaces what follows it
	run comp "$UC" spawn --addr = a
	[ "$output" = auto ]
	run comp "$UC" spawn --data-dir /usr : /x : r
	[ "${lines[*]}" = "ro rw" ]
	run comp "$UC" spawn --bind /u
	has /usr
	# an option's values are not options: the word after --bind SRC DST is
	run comp "$UC" spawn --bind /usr /x --na
	[ "$output" = --name ]
	# the command: after --, or at the first word that is not an option
	run comp "$UC" spawn --name x -- tru
	has true
	run comp "$UC" spawn --net trunca
	[ "$output" = truncate ]
	# seed-era hooks: words up to the next --option are shell code
	run comp "$UC" spawn --exec echo --ho
	[ "$output" = --hostname ]
}

@test "completion: instance names for attach, logs and stop; root types for --root and mkroot" {
	local fake=$BATS_TEST_TMPDIR/fake
	mkdir -p "$fake/state/web-1" "$fake/state/db" "$fake/roots/alpine" "$fake/recipes"
	: >"$fake/roots/alpine.squashfs"
	# names that would run code if the completion evaluated them (in $fake)
	mkdir "$fake/roots/\$(touch pwned)" "$fake/state/\`touch pwned\`" "$fake/state/\$(touch pwned)"
	cd "$fake"
	printf '#!/bin/sh\n' >"$fake/recipes/mine" && chmod +x "$fake/recipes/mine"
	set -- UNSHARED_STATE="$fake/state" UNSHARED_ROOT="$fake/roots" UNSHARED_RECIPES="$fake/recipes"
	run comp "$@" "$UC" stop ''
	[ "${lines[*]}" = "db web-1" ]
	run comp "$@" "$UC" stop --timeout 3 w
	[ "$output" = web-1 ]
	run comp "$@" "$UC" attach w
	[ "$output" = web-1 ]
	run comp "$@" "$UC" logs -f d
	[ "$output" = db ]
	run comp "$@" "$UC" spawn --root ''
	has alpine busybox mine
	[[ $output != *squashfs* ]]
	run comp "$@" "$UC" spawn --root = al
	[ "$output" = alpine ]
	run comp "$@" "$UC" mkroot m
	[ "$output" = mine ]
	run comp "$@" "$UC" get-root "$fake/ro"
	[ "$output" = "$fake/roots" ]
	[ ! -e "$fake/pwned" ]
}

@test "completion: zsh offers the subcommands and spawn's options" {
	command -v zsh >/dev/null || skip "zsh not installed (its completion is optional)"
	zsh -n "$TOP/completion/_unshared-cli"
	# drive an interactive zsh on a pseudo-terminal; compadd reports what it is given
	cat >"$BATS_TEST_TMPDIR/capture.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'compadd () { typeset -a h; builtin compadd -A h "$@"; local c; for c in $h; do print -r -- "CA""ND:$c"; done; }'
zpty -n -w z "$2"$'\t'
local out= chunk
integer quiet=0
while (( quiet < 10 )); do
	if zpty -rt z chunk; then out+=$chunk; quiet=0; else sleep 0.1; (( quiet++ )); fi
done
zpty -d z
print -r -- ${(F)${(u)${(M)${(f)${out//CAND:/$'\n'CAND:}}:#CAND:*}#CAND:}%$'\r'}
EOF
	export PATH=$TOP:$PATH
	run timeout 30 zsh -f "$BATS_TEST_TMPDIR/capture.zsh" "$TOP/completion" 'unshared-cli sp'
	[ "$output" = spawn ]
	run timeout 30 zsh -f "$BATS_TEST_TMPDIR/capture.zsh" "$TOP/completion" 'unshared-cli spawn --bri'
	[ "$output" = --bridge ]
}

# installed_files DIR: what `make install` must have put under DIR (PREFIX)
installed_files() {
	local f
	echo "$1/bin/unshared-cli"
	for f in "$TOP"/lib/*.sh; do echo "$1/lib/unshared-cli/lib/${f##*/}"; done
	for f in "$TOP"/lib/spawn/*; do echo "$1/lib/unshared-cli/lib/spawn/${f##*/}"; done
	for f in forkn pivot nsnet delayq initnetns destroynetns mkchroot; do
		[ ! -f "$TOP/utils/$f" ] || echo "$1/lib/unshared-cli/utils/$f"
	done
	for f in "$TOP"/roots/*; do [ ! -f "$f" ] || echo "$1/lib/unshared-cli/roots/${f##*/}"; done
	for f in $MANPAGES; do echo "$1/share/man/man${f##*.}/$f"; done
	echo "$1/share/bash-completion/completions/unshared-cli"
	echo "$1/share/zsh/site-functions/_unshared-cli"
}

@test "make install DESTDIR PREFIX=/usr: every file in its place; uninstall removes them all" {
	local d=$BATS_TEST_TMPDIR/dest f
	run make -C "$TOP" install DESTDIR="$d" PREFIX=/usr
	echo "$output"
	[ "$status" -eq 0 ]
	diff -u <(installed_files "$d/usr" | sort) <(find "$d" -type f | sort)
	[ -x "$d/usr/bin/unshared-cli" ]
	for f in forkn pivot; do [ -x "$d/usr/lib/unshared-cli/utils/$f" ]; done
	[ -x "$d/usr/lib/unshared-cli/roots/busybox" ]
	[ "$(stat -c %a "$d/usr/share/man/man1/unshared-cli.1")" = 644 ]
	# the installed man page and completion work where they are
	run --separate-stderr env MANWIDTH=80 man --warnings -l "$d/usr/share/man/man1/unshared-cli.1"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	bash -c ". '$d/usr/share/bash-completion/completions/unshared-cli' && complete -p unshared-cli"
	run make -C "$TOP" uninstall DESTDIR="$d" PREFIX=/usr
	[ "$status" -eq 0 ]
	[ -z "$(find "$d" -type f -o -type l)" ]
	[ ! -e "$d/usr/lib/unshared-cli" ]
}

@test "make uninstall keeps a recipe the user dropped into the installed roots/" {
	local d=$BATS_TEST_TMPDIR/dest
	make -C "$TOP" install DESTDIR="$d" PREFIX=/usr >/dev/null
	printf '#!/bin/sh\n' >"$d/usr/lib/unshared-cli/roots/mine"
	make -C "$TOP" uninstall DESTDIR="$d" PREFIX=/usr >/dev/null
	[ -f "$d/usr/lib/unshared-cli/roots/mine" ]
	[ ! -e "$d/usr/lib/unshared-cli/lib" ]
}

@test "make install refuses a LIBDIR where the front end would not look" {
	run make -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/dest" LIBDIR=/opt/elsewhere
	[ "$status" -ne 0 ]
	[[ $output == *"LIBDIR must be"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/dest" ]
}

@test "the installed copy runs on its own, from any directory, without the checkout" {
	local p=$BATS_TEST_TMPDIR/prefix
	make -C "$TOP" install PREFIX="$p" >/dev/null
	run --separate-stderr bash -c "cd / && '$p/bin/unshared-cli' spawn --mount -- /bin/true"
	echo "$stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr bash -c "cd / && '$p/bin/unshared-cli' spawn --pid -- /bin/sh -c 'echo \$\$; exit 7'"
	[ "$status" -eq 7 ]
	[ "$output" = 1 ] || [ "$output" = 2 ]
	# it uses its own helpers and recipes, not the checkout's
	run --separate-stderr env UNSHARED_DEBUG=1 "$p/bin/unshared-cli" spawn --mount -- /bin/true
	[ "$status" -eq 0 ]
	[[ $stderr == *"$p/lib/unshared-cli/utils/forkn"* ]]
	[[ $stderr != *"$TOP/utils"* ]]
	run --separate-stderr "$p/bin/unshared-cli" roots
	[ "$status" -eq 0 ]
	[[ $output == *busybox* ]]
	run "$p/bin/unshared-cli" --version
	[ "$output" = "$("$UC" --version)" ]
	make -C "$TOP" uninstall PREFIX="$p" >/dev/null
	[ -z "$(find "$p" -type f)" ]
}

@test "debian/: control declares the real dependencies; rules installs with PREFIX=/usr" {
	grep -qE '^Depends:.*util-linux' "$TOP/debian/control"
	grep -qE '^Depends:.*iproute2' "$TOP/debian/control"
	grep -qE '^Suggests:.*busybox-static' "$TOP/debian/control"
	grep -q 'debhelper-compat (= 13)' "$TOP/debian/control"
	grep -q 'PREFIX=/usr DESTDIR=' "$TOP/debian/rules"
	[ -x "$TOP/debian/rules" ]
	[ "$(cat "$TOP/debian/source/format")" = "3.0 (native)" ]
}

@test "make deb: a package that installs the tree under /usr and runs (UNSHARED_TEST_DEB=1)" {
	[ "${UNSHARED_TEST_DEB:-}" = 1 ] || skip "slow: set UNSHARED_TEST_DEB=1"
	local out=$BATS_TEST_TMPDIR/deb deb x=$BATS_TEST_TMPDIR/x
	run make -C "$TOP" deb DEBOUT="$out"
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	deb=$(ls "$out"/unshared-cli_*.deb)
	[ -f "$deb" ]
	dpkg-deb -f "$deb" Depends | grep -q util-linux
	dpkg-deb -f "$deb" Depends | grep -q iproute2
	dpkg-deb -f "$deb" Suggests | grep -q debootstrap
	run dpkg-deb -c "$deb"
	for f in ./usr/bin/unshared-cli ./usr/lib/unshared-cli/lib/spawn.sh ./usr/lib/unshared-cli/utils/forkn \
		./usr/lib/unshared-cli/utils/pivot ./usr/lib/unshared-cli/roots/busybox \
		./usr/share/man/man1/unshared-cli.1.gz ./usr/share/man/man8/initnetns.8.gz \
		./usr/share/bash-completion/completions/unshared-cli ./usr/share/zsh/vendor-completions/_unshared-cli; do
		[[ $output == *" $f"$'\n'* || $output == *" $f" ]] || { echo "not in the package: $f"; return 1; }
	done
	# the helpers stay static; the unpacked tree runs from where it is
	dpkg-deb -x "$deb" "$x"
	run readelf -d "$x/usr/lib/unshared-cli/utils/forkn"
	[[ $output != *NEEDED* ]]
	run --separate-stderr bash -c "cd / && '$x/usr/bin/unshared-cli' spawn --mount -- /bin/true"
	[ "$status" -eq 0 ]
}
