# tests/helpers.bash: shared by every suite. Load with `load helpers`.
# shellcheck shell=bash
#
# Every test runs against the real kernel. common_setup snapshots the host (mounts,
# netns, links, loop devices, marker processes) and common_teardown ends the marker
# processes the test started, then fails the test if the host differs.
# Marker processes are `sleep NNNN` (four digits): each suite uses its own range.

bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
UC=$TOP/unshared-cli
export LC_ALL=C

# A busybox root, built once per file. busybox-static is the only requirement.
make_bbroot() {
	local r=$1 a
	[ -x "$r/bin/busybox" ] && return 0
	mkdir -p "$r/bin" "$r/etc" "$r/proc" "$r/dev" "$r/tmp" "$r/var" "$r/sys" "$r/usr/bin" "$r/sbin"
	cp "$(command -v busybox)" "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
}

# wait_for COND...: up to WAIT_TRIES (50) x 0.1 s for a command to succeed
# (the last try's status)
wait_for() {
	local i
	for i in $(seq "${WAIT_TRIES:-50}"); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# one_error: the last `run --separate-stderr` failed the way bad input does:
# 125 and one line in the tool's voice on stderr
one_error() {
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 125 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "unshared-cli: "* ]]
}

# skip, unless UNSHARED_MUST_WORK=1 (CI) turns skips into failures
need() {
	local why=$1
	if [ "${UNSHARED_MUST_WORK:-}" = 1 ]; then
		echo "required but missing: $why" >&2
		return 1
	fi
	skip "$why"
}

host_snapshot() {
	{
		echo "# mounts"; awk '{print $5}' /proc/self/mountinfo | sort
		echo "# netns"; ip netns list 2>/dev/null | awk '{print $1}' | sort
		echo "# links"; ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
		echo "# loops"; losetup -a 2>/dev/null | sort
		echo "# markers"; ps -eo args= | grep -E '^(/bin/)?sleep [0-9]{4}$' | sort
	} >"$1"
}

# kill_markers: end the `sleep NNNN` processes this suite started, by pid.
# A suite sets MARK to its two leading digits (spawn: 51) so that suites run
# side by side never end each other's processes.
kill_markers() {
	local p
	for p in $(pgrep -f "^(/bin/)?sleep ${MARK:-[0-9][0-9]}[0-9]{2}\$" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
}

common_setup() {
	export UNSHARED_STATE=$BATS_TEST_TMPDIR/state
	export UNSHARED_ROOT=${UNSHARED_ROOT_TEST:-$BATS_FILE_TMPDIR/roots}
	host_snapshot "$BATS_TEST_TMPDIR/host.before"
}

# host_unchanged: the test's own check, usable mid-test too
host_unchanged() {
	host_snapshot "$BATS_TEST_TMPDIR/host.after"
	diff -u "$BATS_TEST_TMPDIR/host.before" "$BATS_TEST_TMPDIR/host.after"
}

common_teardown() {
	local leaked=0 m
	kill_markers
	sleep 0.1
	# a leaked mount under our temp dir must never make rm -r delete through it
	for m in $(awk -v t="$BATS_TEST_TMPDIR" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
		leaked=1
	done
	# instance entries only: shared registries (.net, .events) start with a dot
	if [ -d "$UNSHARED_STATE" ] && [ -n "$(ls "$UNSHARED_STATE" 2>/dev/null)" ]; then
		echo "state left behind: $(ls "$UNSHARED_STATE")" >&2
		leaked=1
	fi
	host_unchanged >&2 || leaked=1
	[ "$leaked" = 0 ]
}
