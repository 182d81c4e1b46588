# bench/lib.bash: sourced by the bench scripts (bash). Timing without forks,
# shellcheck shell=bash
# interleaved runs, medians, the row protocol, and the one cleanup.
#
# Row protocol (stdout of every bench/*.sh, collected by bench/run):
#   row<TAB>FIGURE<TAB>OURS<TAB>PEER<TAB>RATIO<TAB>TARGET<TAB>VERDICT
#   note<TAB>TEXT                 a line printed under the table
# Anything else a script prints on stdout is kept verbatim as a note; progress
# goes to stderr.
#
# Everything a bench makes is named so that it can be found and removed again:
#   instances   in a private registry, UNSHARED_STATE=/run/unshared-bench.ID
#               (same file system as /run/unshared: the same costs), named ubID-*
#   bridges     ubench0 (spawn figures), ubench1 (scale)
# bench_cleanup removes all of it; it runs on every exit (trap), failures too.

set -u
export LC_ALL=C

BENCH_DIR=$(cd "${BASH_SOURCE[0]%/*}" && pwd) || exit 1
BENCH_TOP=${BENCH_DIR%/*}
UC=$BENCH_TOP/unshared-cli
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# what bench/run hands down (a script run on its own makes its own)
# BENCH_ID: names our registry and instances. Not just $$: in a pid namespace
# every run is pid 1 or so, and /run may be shared with other such runs
if [ -z "${BENCH_ID:-}" ]; then
	until BENCH_ID=$((($$ % 1000) * 100000 + RANDOM % 100000)) &&
		mkdir -m 0700 "/run/unshared-bench.$BENCH_ID" 2>/dev/null; do :; done
fi
: "${BENCH_N:=200}"          # rounds of each interleaved comparison
: "${BENCH_NET_N:=100}"      # instances for bench/net.sh, figure (3)
: "${BENCH_SCALE:=1000}"     # instances for the scale figure
: "${BENCH_PAR:=$(nproc)}"   # parallel spawners for the scale figure
export BENCH_ID BENCH_N BENCH_NET_N BENCH_SCALE BENCH_PAR
export UNSHARED_STATE=/run/unshared-bench.$BENCH_ID
# under bench/run (BENCH_RUN=1), run cleans up; a script run on its own
# cleans up after itself, and removes the temporary directory it made
bench_owner='' bench_tmp_made=''
[ -n "${BENCH_RUN:-}" ] || bench_owner=1
if [ -z "${BENCH_TMP:-}" ]; then
	BENCH_TMP=$(mktemp -d /tmp/unshared-bench.XXXXXX) || exit 1
	bench_tmp_made=1
	export BENCH_TMP
fi

say() { printf 'bench: %s\n' "$*" >&2; }
row() { local IFS=$'\t'; printf 'row\t%s\n' "$*"; }
note() { printf 'note\t%s\n' "$*"; }

# --- time ----------------------------------------------------------------
# now: microseconds since the epoch into $t, from bash's EPOCHREALTIME (no fork)
now() { t=${EPOCHREALTIME/./}; }

# interleave N ARRAY...: N rounds; each round runs the commands held in the
# named arrays one after the other (A B C A B C ...), each timed in us.
# Samples of command k: SAMPLES_k (arrays); failures: FAILS[k].
# PAUSE=SECONDS: idle that long before each command (untimed), so that each
# one starts cold, as a single command typed by a user does
interleave() {
	local n=$1 i k t0 t1 K
	shift
	K=$#
	local -a cmds=("$@")
	FAILS=()
	for ((k = 0; k < K; k++)); do
		FAILS[k]=0
		eval "SAMPLES_$k=()"
	done
	for ((i = 0; i < n; i++)); do
		for ((k = 0; k < K; k++)); do
			local -n _c=${cmds[k]}
			[ -z "${PAUSE:-}" ] || sleep "$PAUSE"
			t0=$EPOCHREALTIME
			"${_c[@]}" >/dev/null 2>>"$BENCH_TMP/errors" || FAILS[k]=$((FAILS[k] + 1))
			t1=$EPOCHREALTIME
			eval "SAMPLES_$k+=($((${t1/./} - ${t0/./})))"
			unset -n _c
		done
	done
}

# median ARRAYNAME -> $med (the middle sample; the upper one of an even count),
# $p25 $p75 (quartiles, for the spread)
median() {
	local -n _a=$1
	local -a s
	mapfile -t s < <(printf '%s\n' "${_a[@]}" | sort -n)
	local c=${#s[@]}
	med=${s[c / 2]} p25=${s[c / 4]} p75=${s[c * 3 / 4]}
}

# --- formatting ------------------------------------------------------------
# ms US -> $ms: "12.34 ms"; sec MS -> $sec: "1.23 s"; kib KIB -> $kib
ms() { local v=$((($1 + 5) / 10)); printf -v ms '%d.%02d ms' $((v / 100)) $((v % 100)); }
sec() { local v=$((($1 + 5) / 10)); printf -v sec '%d.%02d s' $((v / 100)) $((v % 100)); }
kib() { if [ "$1" -ge 10240 ]; then kib="$(($1 / 1024)) MiB"; else kib="$1 KiB"; fi; }

# ratio A B -> $ratio: A/B with two decimals, and $r100 = round(100*A/B)
ratio() {
	r100=$(((200 * $1 / $2 + 1) / 2))
	printf -v ratio '%d.%02d' $((r100 / 100)) $((r100 % 100))
}

# judge VALUE LIMIT TEXT: VALUE <= LIMIT (integers in one unit) -> $verdict
# "ok", or "MISS +P% (TEXT over)" where TEXT says by how much in words
judge() {
	if [ "$1" -le "$2" ]; then
		verdict=ok
	else
		verdict="MISS: +$((($1 - $2) * 100 / $2))% ($3 over)"
	fi
}

# --- the root ------------------------------------------------------------------
# bench_root -> $R: a small busybox root of our own (not the project's recipes,
# so the figures do not move with them); made once per run
bench_root() {
	R=$BENCH_TMP/root
	[ -x "$R/bin/busybox" ] && return 0
	local bb a
	bb=$(command -v busybox) || { bench_apt busybox-static && bb=$(command -v busybox); } || return 1
	mkdir -p "$R"/{bin,proc,dev,tmp,etc,sys,sbin,usr/bin,var}
	cp "$bb" "$R/bin/busybox"
	for a in $("$R/bin/busybox" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
	echo "root:x:0:0:root:/:/bin/sh" >"$R/etc/passwd"
	echo "root:x:0:" >"$R/etc/group"
}

# bench_apt PACKAGE...: install what a peer needs (Debian/Ubuntu)
bench_apt() {
	say "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@" >/dev/null 2>&1; }
}

# bench_need COMMAND PACKAGE: COMMAND on PATH, installing PACKAGE when missing
bench_need() {
	command -v "$1" >/dev/null 2>&1 || bench_apt "$2"
	command -v "$1" >/dev/null 2>&1 || { say "$1 missing (package $2)"; return 1; }
}

# --- cleanup -----------------------------------------------------------------
# bench_cleanup: bench_reset, then our registry and (when we made it) our
# temporary directory removed. On every exit.
bench_cleanup() {
	bench_reset
	if [ -d "$UNSHARED_STATE" ] && ! compgen -G "$UNSHARED_STATE/[!.]*" >/dev/null; then
		rm -rf "$UNSHARED_STATE"
	fi
	[ -z "$bench_tmp_made" ] || rm -rf "$BENCH_TMP"
}

# bench_reset: every instance of our registry stopped (or reclaimed), our
# namespaces and bridges deleted; the registry stays ours. Idempotent.
bench_reset() {
	local d p s ns l
	if [ -d "$UNSHARED_STATE" ]; then
		if compgen -G "$UNSHARED_STATE/[!.]*" >/dev/null; then
			"$UC" stop --all --timeout 2 >/dev/null 2>&1
			# supervisors that would not stop: SIGKILL them (pid and start time
			# checked, a reused pid is left alone), then gc reclaims the entries
			for d in "$UNSHARED_STATE"/*/; do
				read -r p s 2>/dev/null <"$d/pid" || continue
				bench_is "$p" "$s" && kill -KILL "$p" 2>/dev/null
			done
			"$UC" gc >/dev/null 2>&1
		fi
	fi
	for ns in /run/netns/ub"$BENCH_ID"-*; do
		[ -e "$ns" ] && ip netns del "${ns##*/}" 2>/dev/null
	done
	for l in ubench0 ubench1; do
		[ -e "/sys/class/net/$l" ] && ip link del "$l" 2>/dev/null
	done
	return 0
}

# bench_bridge_del BR: a bridge we made, once its instances are gone
bench_bridge_del() {
	[ ! -e "/sys/class/net/$1" ] || ip link del "$1" 2>/dev/null
}

# bench_is PID STARTTIME: that very process (field 22 of /proc/PID/stat) runs
bench_is() {
	local st want=$2
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	# shellcheck disable=SC2086 # the fields, split on purpose
	set -- $st
	[ "${20:-}" = "$want" ]
}

if [ -n "$bench_owner" ]; then
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
fi
