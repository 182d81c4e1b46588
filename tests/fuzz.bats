#!/usr/bin/env bats
# The helpers' argument parsing on the real helpers (utils/*, built by make),
# fed what `make fuzz` works from: every input that once crashed a helper
# (tests/fuzz/crashes/HELPER/*), the seed corpus (tests/fuzz/corpus/HELPER/*),
# and a few nasty vectors. A file is an argv: words separated by NUL bytes, as
# tests/fuzz/argv.c reads them. A helper may refuse (125, one line) or print
# its help (0); it must never die of a signal.
#
# Nothing here may act: each replayed vector gets a few words that make the
# helper refuse it once parsed, whatever the vector holds (see replay), and
# every nasty vector is one that the parsing refuses. No namespace, mount,
# link, process or file is ever made.

load helpers

# no marker processes here; a MARK of its own keeps kill_markers off others'
MARK=47

setup() {
	common_setup
	local h
	for h in forkn pivot nsnet delayq; do
		[ -x "$TOP/utils/$h" ] || need "utils/$h, built (make)"
	done
}

teardown() {
	common_teardown
}

# replay HELPER FILE: run the helper on FILE's words, made harmless:
#   forkn  --cleanup x --cleanup-exec y first: once the options are read,
#          "exclude each other" (or an earlier refusal), never a run
#   pivot  --unshare-net --netns /nonexistent/... first: refused by the
#          checks before any namespace is made, if parse has not already
#   nsnet  --journal /nonexistent/... after the verb, and --replay-stop 1 2 3
#          4 5 at the end: an unknown option, or an option's value followed by
#          at least 4 operands (up and check take 3), or down with both a
#          --journal and entries; down's entries "1".."5" are no entries of ours
#   delayq -- replay-extra at the end: an operand, which delayq takes none of
# Sets ARGV (what was run), status, output (stdout) and stderr.
replay() {
	local h=$1 f=$2 words=()
	mapfile -d '' -t words <"$f"
	case $h in
	forkn) ARGV=(--cleanup x --cleanup-exec y "${words[@]}") ;;
	pivot) ARGV=(--unshare-net --netns /nonexistent/fuzz-replay "${words[@]}") ;;
	nsnet)
		ARGV=("${words[@]:0:1}" --journal /nonexistent/fuzz-replay "${words[@]:1}" --replay-stop 1 2 3 4 5)
		;;
	delayq) ARGV=("${words[@]}" -- replay-extra) ;;
	esac
	# fd 3 (bats' own) would be pivot's --exec-fd 3 of the seeds: give it /dev/null
	run --separate-stderr "$TOP/utils/$h" "${ARGV[@]}" 3>/dev/null </dev/null
}

# refused [HELPER]: not a signal; 0 only for the help; 125 with one line
# "unshared-cli: ..." on stderr
refused() {
	local first=${stderr%%$'\n'*}
	if [ "$status" -ge 128 ]; then
		echo "died of signal $((status - 128)): ${ARGV[*]:0:40}" >&2
		return 1
	fi
	if [ "$status" -eq 0 ]; then
		[[ $output == *[Uu]sage:* ]] || { echo "status 0 without the help: ${ARGV[*]:0:40}" >&2; return 1; }
		return 0
	fi
	[ "$status" -eq 125 ] || { echo "status $status: ${ARGV[*]:0:40}" >&2; return 1; }
	[[ $first == "unshared-cli: "* ]] && [ "$stderr" = "$first" ] || {
		echo "not one 'unshared-cli: ...' line: $stderr" >&2
		return 1
	}
}

# replay_dir HELPER DIR: every file of DIR (none is fine), each refused
replay_dir() {
	local h=$1 f n=0
	for f in "$2"/*; do
		[ -f "$f" ] || continue
		replay "$h" "$f"
		refused "$h" || { echo "input: $f" >&2; return 1; }
		n=$((n + 1))
	done
	echo "# $h: $n inputs from ${2#"$TOP"/}" >&3
}

# nasty HELPER EXPECTED WORD...: run as it is (every such vector is refused
# by the parsing: see each), 125 and EXPECTED in the one line
nasty() {
	local h=$1 want=$2
	shift 2
	ARGV=("$@")
	run --separate-stderr "$TOP/utils/$h" "$@" 3>/dev/null </dev/null
	refused "$h" || return 1
	[ "$status" -eq 125 ] && [[ $stderr == *"$want"* ]] || {
		echo "expected 125 and '$want', got $status: $stderr" >&2
		return 1
	}
}

# a word of N characters
long() {
	printf "%${1}s" '' | tr ' ' "${2:-a}"
}

@test "fuzz: the inputs that crashed a helper are refused, never a signal" {
	local h
	for h in forkn pivot nsnet delayq; do
		replay_dir "$h" "$TOP/tests/fuzz/crashes/$h"
	done
}

@test "fuzz: the seed corpus is parsed and refused, never a signal" {
	local h
	for h in forkn pivot nsnet delayq; do
		replay_dir "$h" "$TOP/tests/fuzz/corpus/$h"
	done
}

@test "fuzz: forkn refuses empty, huge, missing and endless values" {
	nasty forkn "missing command" ''
	nasty forkn "missing command" --
	nasty forkn "requires an argument" --state
	nasty forkn "a descriptor number" --detach --exec-fd '' -- true
	nasty forkn "a descriptor number" --detach --exec-fd 99999999999999999999999 -- true
	nasty forkn "a number of tasks" --cgroup x --pids-max -1 -- true
	# a 10000-character word: the line is cut at 1 KiB, after the word's start
	nasty forkn "unrecognized option '--$(long 50)" "--$(long 10000)" -- true
	# the maps are read after the options: each of these is refused there
	nasty forkn "expected INSIDE OUTSIDE COUNT" --uid-map '' -- /nonexistent/fuzz
	nasty forkn "expected INSIDE OUTSIDE COUNT" --uid-map '0 0 99999999999999999999' -- /nonexistent/fuzz
	nasty forkn "beyond the last id" --gid-map '4294967295 0 1' -- /nonexistent/fuzz
	nasty forkn "more than 340 ranges" --uid-map "$(for i in $(seq 2000); do printf '%s,' "$i $i 1"; done)0 0 1" \
		-- /nonexistent/fuzz
}

@test "fuzz: pivot refuses empty, huge, missing and endless values" {
	nasty pivot "NEWROOT: missing" --
	nasty pivot "missing argument" --overlay a b
	nasty pivot "a number from 0 to 4294967294" --setuid 99999999999999999999 / -- true
	nasty pivot "a number from 0 to 4294967294" --groups 1,,2 / -- true
	nasty pivot "an empty capability name" --cap-drop , / -- true
	nasty pivot "unknown capability 'aaaa" --cap-add "$(long 10000)" / -- true
	nasty pivot "pivot: --$(long 50)" "--$(long 10000)" / -- true
	nasty pivot "a descriptor number" --exec-fd '' / -- true
	# refused by the checks after parse, before any namespace
	nasty pivot "--hostname $(long 50)" --hostname "$(long 10000)" / -- true
	nasty pivot "not a valid variable name" --setenv '' x / -- true
	nasty pivot "expected SRC:DST" --data-dir /a:ro / -- true
	nasty pivot "NEWROOT" "/nonexistent/$(long 10000)" -- true
}

@test "fuzz: nsnet refuses empty, huge, missing and endless values" {
	nasty nsnet "expected check, up or down"
	nasty nsnet "expected check, up or down" ''
	nasty nsnet "missing value" check --net-dir
	nasty nsnet "must be an absolute path" check --net-dir '' br0 x auto
	nasty nsnet "expected BRIDGE NAME ADDR" up
	nasty nsnet "longer than 15 bytes" check "b$(long 15)" x auto
	nasty nsnet "--bridge 'b$(long 50)" check "b$(long 10000)" x auto
	nasty nsnet "at most 64" check br0 "n$(long 64)" auto
	nasty nsnet "name 'n$(long 50)" check br0 "n$(long 10000)" auto
	nasty nsnet "expected ADDRESS/PREFIX" check br0 x 10.0.0.1/99999999999999999999
	nasty nsnet "expected ADDRESS/PREFIX" check br0 x 999.0.0.1/24
	nasty nsnet "expected ADDRESS/PREFIX" check br0 x ''
	nasty nsnet "network or broadcast" check br0 x 10.0.0.255/24
	nasty nsnet "PROG an absolute path" down --journal /nonexistent/fuzz "netns x"
	nasty nsnet "expected ENTRY" down
}

@test "fuzz: delayq refuses empty, huge, missing and endless values" {
	nasty delayq "expected a number from 0 to 65535" --netns /x --config /y --queue ''
	nasty delayq "expected a number from 0 to 65535" --netns /x --config /y --queue 99999999999999999999
	nasty delayq "--queue '$(long 50 9)" --netns /x --config /y --queue "$(long 10000 9)"
	nasty delayq "option '--netns' requires an argument" --netns
	nasty delayq "are required" --netns /x
	nasty delayq "unexpected argument 'x'" --netns /x --config /y x
	nasty delayq "unrecognized option '--aaaa" "--$(long 10000)"
	# a message never runs past one line: a clipped one ends in "..."
	[ "${#stderr}" -le 1100 ] && [[ $stderr == *... ]]
}
