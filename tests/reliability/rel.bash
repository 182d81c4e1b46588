# tests/reliability/rel.bash: shared by the reliability suites (load after ../helpers).
# shellcheck shell=bash
#
# Everything a reliability case makes is named so that it can be found and
# cleaned up without touching anybody else's: instances rel-*, bridges ut-rel*,
# addresses 10.25x.x.x, marker processes `sleep 57NN` (MARK=57).
# rel_setup / rel_teardown wrap common_setup / common_teardown and add the checks
# every case makes besides its own: no bridge port left, no zombie more, the
# data directory byte-identical (same size, mode, owner, content), the canary
# file never created.

MARK=57
# helpers.bash took TOP from this directory: the checkout is one level up
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
UC=$TOP/unshared-cli
REL_BRIDGES="ut-rel1 ut-rel2 ut-rel3 ut-rel4"

setup_file() {
	make_bbroot "$BATS_FILE_TMPDIR/bb"
}

# zombies: how many zombies wait for a parent other than pid 1 (this machine
# kind's pid 1 is no init: it never reaps, so what it inherits stays a zombie)
zombies() {
	ps -eo ppid=,stat= | awk '$1 != 1 && $2 ~ /^Z/' | wc -l
}

# ours FILE: this suite's share of the host, for checks in the middle of a case
# (other suites may run meanwhile): netns rel-*, their mounts, mounts under our
# temp dir, bridges ut-rel*, interfaces marked for rel-*, our markers
ours() {
	local f a
	{
		echo "# netns"; ip netns list | awk '$1 ~ /^rel-/ {print $1}'
		echo "# mounts"; awk -v t="$BATS_TEST_TMPDIR" '$5 ~ "^/run/netns/rel-" || index($5, t) == 1 {print $5}' /proc/self/mountinfo
		echo "# links"
		for f in /sys/class/net/*; do
			a=$(cat "$f/ifalias" 2>/dev/null) || a=''
			case ${f##*/}:$a in ut-rel*:* | *:unshared-cli:rel-*) echo "${f##*/} $a" ;; esac
		done
		echo "# markers"; pgrep -f '^(/bin/)?sleep 57[0-9]{2}$' || true
	} | sort >"$1"
}

# data_snap DIR: name, size, mode, owner, group and content hash of every file
data_snap() {
	[ -n "$1" ] && [ -d "$1" ] || { echo "data_snap: no directory '$1'" >&2; return 1; }
	(cd "$1" && find . -printf '%p %s %m %u %g\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

rel_setup() {
	REL_READY=''
	common_setup
	BB=$BATS_FILE_TMPDIR/bb
	S=$UNSHARED_STATE
	T=$BATS_TEST_TMPDIR
	[ -x "$TOP/utils/forkn" ] && [ -x "$TOP/utils/pivot" ] || need "the helpers, built (make)"
	# relative paths a bad value may produce land here, never in the checkout
	cd "$T" || return 1
	CANARY=$T/canary
	export CANARY
	D=$T/data
	mkdir -p "$D/sub"
	printf 'one\n' >"$D/a"
	printf 'two\n' >"$D/sub/b"
	chown 1234:1234 "$D/sub/b"
	chmod 0640 "$D/sub/b"
	data_snap "$D" >"$T/data.before"
	DATA_WRITTEN=''
	Z0=$(zombies)
	ours "$T/ours.before"
	REL_READY=1
}

# rel_cleanup: what a failed case may have left, only ours
rel_cleanup() {
	local d p n b
	kill_markers
	# supervisors of our instances: told to end, then killed; each tears down
	for n in $(seq 60); do
		[ -n "$(ls "$S" 2>/dev/null)" ] || break
		if [ "$n" = 10 ] || [ "$n" = 40 ]; then
			for d in "$S"/*; do
				[ -f "$d/pid" ] && [ ! -L "$d" ] || continue
				read -r p _ <"$d/pid" 2>/dev/null || continue
				kill "$([ "$n" = 40 ] && echo -9 || echo -TERM)" "$p" 2>/dev/null || true
			done
		fi
		[ "$n" != 50 ] || UNSHARED_STATE=$S "$UC" gc >/dev/null 2>&1 || true
		sleep 0.1
	done
	for d in /run/netns/rel-*; do
		[ -e "$d" ] || continue
		for p in $(ip netns pids "${d##*/}" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "${d##*/}" 2>/dev/null || true
	done
	REL_PORTS_LEFT=''
	for b in $REL_BRIDGES; do
		[ -d "/sys/class/net/$b" ] || continue
		for n in $(seq 50); do
			[ -n "$(ip -o link show master "$b" 2>/dev/null)" ] || break
			sleep 0.1
		done
		p=$(ip -o link show master "$b" 2>/dev/null | awk -F': ' '{print $2}')
		[ -z "$p" ] || REL_PORTS_LEFT="$REL_PORTS_LEFT $b:[$p]"
		ip link del "$b" 2>/dev/null || true
	done
	rm -rf "$S/.net" "$S/.events" "$S/.events.1" "$S/.trash"
}

rel_teardown() {
	local bad=0 i z
	cd / || true
	rel_cleanup
	if [ -n "$REL_PORTS_LEFT" ]; then
		echo "bridge ports left:$REL_PORTS_LEFT" >&2
		bad=1
	fi
	if [ -e "${CANARY:-}" ]; then
		echo "the canary was created: injected code ran" >&2
		bad=1
	fi
	if [ -z "${REL_READY:-}" ]; then
		# rel_setup did not finish (a skip): only the common checks
		common_teardown
		return
	fi
	if [ -z "$DATA_WRITTEN" ]; then
		data_snap "$D" >"$T/data.after"
		diff -u "$T/data.before" "$T/data.after" >&2 || bad=1
	fi
	# zombies: reaping is asynchronous; other suites may run, so allow a moment
	for i in $(seq 20); do
		z=$(zombies)
		[ "$z" -gt "$Z0" ] || break
		sleep 0.1
	done
	if [ "$z" -gt "$Z0" ]; then
		echo "zombies: $Z0 before, $z after" >&2
		ps -eo pid,ppid,stat,args | awk '$3 ~ /^Z/' >&2
		bad=1
	fi
	common_teardown || bad=1
	[ "$bad" = 0 ]
}


# nothing_made: no instance entry, nothing of ours on the host (mid-test)
nothing_made() {
	[ -z "$(ls "$S" 2>/dev/null)" ] || { ls -la "$S" >&2; return 1; }
	ours "$T/ours.after"
	diff -u "$T/ours.before" "$T/ours.after" >&2
}

# wait_for (helpers.bash): up to 10 s here (2 cores, suites side by side)
WAIT_TRIES=100

# running NAME MARKER: NAME's command is `sleep MARKER` (pivot is done)
running() {
	local p
	p=$(cat "$S/$1/cmdpid" 2>/dev/null) || return 1
	[ -n "$p" ] || return 1
	case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
	"/bin/sleep $2 " | "sleep $2 ") return 0 ;;
	esac
	return 1
}

gone() { [ ! -e "$S/$1" ] && [ ! -L "$S/$1" ]; }

# sup NAME: the supervisor pid of NAME
sup() { awk '{print $1}' "$S/$1/pid"; }

# fresh_root DIR: a private copy of the busybox root the case may spoil
fresh_root() {
	cp -a "$BB" "$1"
}
