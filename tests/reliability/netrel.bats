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

# held NAME MARKER: spawn NAME on ut-rel2, hold its namespace from the host
# (`ip netns exec`, in $holder), wait AGE seconds, stop it
held() {
	run --separate-stderr "$UC" spawn --detach --name "$1" --root "$BB" --bridge ut-rel2 --addr 10.252.0.2/24 -- /bin/sleep "$2"
	[ "$status" -eq 0 ]
	ip netns exec "$1" sleep "$(($2 + 1))" &
	holder=$!
	wait_for pgrep -f "^(/bin/)?sleep $(($2 + 1))\$"
	sleep "$3"
	run --separate-stderr "$UC" stop "$1"
	echo "stop: $status $stderr"
	[ "$status" -eq 0 ]
	gone "$1"
	[ ! -e "/run/netns/$1" ]
}

@test "net: teardown while a host process still holds the netns" {
	local holder left
	# an instance of some age: its veth goes with the teardown itself
	held rel-h 5730 1.2
	left=$(ports ut-rel2)
	kill -0 "$holder"
	echo "ports left while held: $left"
	[ "$left" = 0 ]
	kill -9 "$holder"
	wait "$holder" || true
	# a young one may be alive for a moment on its own (the kernel frees some
	# references after a grace period): its veth goes within a second
	held rel-h2 5732 0
	wait_for eval '[ "$(ports ut-rel2)" = 0 ]'
	kill -0 "$holder"
	kill -9 "$holder"
	wait "$holder" || true
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
