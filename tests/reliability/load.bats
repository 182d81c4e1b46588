#!/usr/bin/env bats
# Reliability: churn and load. Many cycles leave no growth in mounts, links,
# cgroups or the fds of this shell; many parallel instances with their
# supervisors SIGKILLed at random are all recovered by gc. Markers: sleep 57NN.
# REL_CYCLES (default 200) sets the number of start/stop cycles.

load ../helpers
load rel

setup() { rel_setup; }
teardown() { rel_teardown; }

# counts: mounts (other suites' netns mounts aside), our links and netns, fds
# of this shell, instance cgroups of ours (other suites may run meanwhile)
counts() {
	local f a l=0
	for f in /sys/class/net/*; do
		a=$(cat "$f/ifalias" 2>/dev/null) || a=''
		case ${f##*/}:$a in ut-rel*:* | *:unshared-cli:rel-*) l=$((l + 1)) ;; esac
	done
	printf 'mounts %s\nlinks %s\nnetns %s\nfds %s\ncgroups %s\n' \
		"$(awk '$5 !~ "^/run/netns/" || $5 ~ "^/run/netns/rel-"' /proc/self/mountinfo | wc -l)" "$l" \
		"$(ip netns list | grep -c '^rel-' || true)" "$(ls /proc/$$/fd | wc -l)" \
		"$(find /sys/fs/cgroup/unified /sys/fs/cgroup -maxdepth 3 -type d -name 'unshared-rel-*' 2>/dev/null | grep -c . || true)"
}

@test "load: ${REL_CYCLES:-200} start/stop cycles with networking, no growth" {
	local i n=${REL_CYCLES:-200} t0 ms
	# the bridge exists first: the cycles measure instances, not its creation
	run --separate-stderr "$UC" spawn --name rel-l --root "$BB" --bridge ut-rel4 --addr 10.254.0.2/24 -- /bin/ip -o -4 addr show dev eth0
	[ "$status" -eq 0 ]
	[[ "$output" == *" 10.254.0.2/24 "* ]]
	# its veth goes with its namespace, asynchronously: count once it has
	wait_for eval '[ -z "$(ip -o link show master ut-rel4)" ]'
	counts >"$T/c.before"
	t0=$(date +%s%N)
	for i in $(seq "$n"); do
		"$UC" spawn --name rel-l --root "$BB" --bridge ut-rel4 --addr 10.254.0.2/24 -- /bin/true 3>&- ||
			{ echo "cycle $i failed" >&2; return 1; }
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "# $n cycles in ${ms} ms ($((ms / n)) ms each)" >&3
	# a deleted namespace takes its veth along asynchronously
	wait_for eval '[ -z "$(ip -o link show master ut-rel4)" ]'
	counts >"$T/c.after"
	diff -u "$T/c.before" "$T/c.after"
}

@test "load: 20 detached start/stop cycles with networking, no growth" {
	local i
	"$UC" spawn --name rel-d --root "$BB" --bridge ut-rel4 --addr 10.254.0.3/24 -- /bin/true
	wait_for eval '[ -z "$(ip -o link show master ut-rel4)" ]'
	counts >"$T/c.before"
	for i in $(seq 20); do
		"$UC" spawn --detach --name rel-d --root "$BB" --bridge ut-rel4 --addr 10.254.0.3/24 -- /bin/sleep 5780 >/dev/null
		"$UC" stop rel-d
	done
	wait_for eval '[ -z "$(ip -o link show master ut-rel4)" ]'
	counts >"$T/c.after"
	diff -u "$T/c.before" "$T/c.after"
}

@test "load: 100 parallel detached spawns, random supervisors SIGKILLed, gc, nothing left" {
	local i p rc=0 pids='' killed=0 reclaimed
	counts >"$T/c.before"
	for i in $(seq 100); do
		"$UC" spawn --detach --name "rel-p$i" --root "$BB" -- /bin/sh -c '(sleep 5781 &); exec sleep 5782' \
			>"$T/p$i.out" 2>&1 3>&- &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || { cat "$T"/p*.out; false; }
	[ "$(ls "$S" | grep -c '^rel-p')" = 100 ]
	for i in $(seq 100); do
		[ $((RANDOM % 2)) = 0 ] || continue
		kill -9 "$(sup "rel-p$i")"
		killed=$((killed + 1))
	done
	sleep 0.2
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	reclaimed=$(printf '%s\n' "$output" | grep -c '^reclaimed rel-p' || true)
	echo "killed $killed, reclaimed $reclaimed: $stderr"
	[ "$reclaimed" = "$killed" ]
	run --separate-stderr "$UC" stop --all
	[ "$status" -eq 0 ]
	[ -z "$(ls "$S")" ]
	! pgrep -f '^(/bin/)?sleep 578[12]$'
	counts >"$T/c.after"
	diff -u "$T/c.before" "$T/c.after"
}

@test "load: a fork bomb inside a --pid instance with --pids-max does not take the host down" {
	"$UC" spawn --help | grep -q -- --pids-max || skip "known: no --pids-max"
	run --separate-stderr timeout 60 "$UC" spawn --pid --pids-max 64 --root "$BB" -- /bin/sh -c '
		b() { b | b & }; b 2>/dev/null; sleep 2; exit 0'
	[ "$status" -ne 125 ]
	# the host still forks
	run /bin/true
	[ "$status" -eq 0 ]
}
