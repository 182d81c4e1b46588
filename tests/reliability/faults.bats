#!/usr/bin/env bats
# Reliability: the front end and the supervisor SIGKILLed at each phase of setup
# and teardown; `gc` recovers everything; a teardown interrupted, then run twice.
# The pause points are the hooks themselves (--preexec: host setup, before the
# network; --prechroot: network up, supervisor and child exist; --postexec:
# teardown). Markers: sleep 57NN.

load ../helpers
load rel

setup() {
	rel_setup
	W=$T/w
	mkdir -p "$W"
	export REL_W=$W
}
teardown() { rel_teardown; }

# all_gone NAME: entry, netns, bridge ports, markers: nothing left
all_gone() {
	gone "$1" || { ls -la "$S/$1" >&2; return 1; }
	[ ! -e "/run/netns/$1" ] || { echo "netns $1 left" >&2; return 1; }
	# the kernel removes a veth with its namespace, asynchronously
	wait_for eval '[ -z "$(ip -o link show master ut-rel1 2>/dev/null)" ]' ||
		{ ip -o link show master ut-rel1 >&2; return 1; }
	! pgrep -f '^(/bin/)?sleep 57[0-9]{2}$' >&2
}

# gc_reclaims NAME: gc reports NAME reclaimed, a second gc has nothing to do
gc_reclaims() {
	run --separate-stderr "$UC" gc
	echo "gc: $status $output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"reclaimed $1 "* ]]
	all_gone "$1"
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
}

NET="--bridge ut-rel1 --addr 10.251.0.3/24"

@test "SIGKILL the front end during --preexec (host setup): gc recovers" {
	local p
	# shellcheck disable=SC2086
	"$UC" spawn --name rel-k1 --root "$BB" $NET --preexec 'sleep 0.8' \
		--postexec 'echo post >>"$REL_W/post"' -- /bin/sleep 5710 >/dev/null 2>&1 3>&- &
	p=$!
	wait_for test -f "$S/rel-k1/pid"
	kill -9 "$p"
	wait "$p" || true
	sleep 1 # the orphaned hook ends by itself
	gc_reclaims rel-k1
	[ "$(cat "$W/post")" = post ]
}

@test "SIGKILL the supervisor with the network up, the child in --prechroot: gc recovers" {
	local p
	# shellcheck disable=SC2086
	"$UC" spawn --name rel-k2 --root "$BB" $NET --prechroot 'sleep 5711' -- /bin/sleep 5712 >/dev/null 2>&1 3>&- &
	p=$!
	wait_for pgrep -f '^(/bin/)?sleep 5711$'
	[ -e /run/netns/rel-k2 ]
	kill -9 "$p"
	wait "$p" || true
	gc_reclaims rel-k2
}

@test "SIGKILL the supervisor of a running instance with daemons (no --pid): gc ends them" {
	local p
	# shellcheck disable=SC2086
	"$UC" spawn --name rel-k3 --root "$BB" $NET -- /bin/sh -c '
		setsid sleep 5713 </dev/null >/dev/null 2>&1 & (sleep 5714 &); exec sleep 5715' >/dev/null 2>&1 3>&- &
	p=$!
	wait_for running rel-k3 5715
	wait_for pgrep -f '^(/bin/)?sleep 5714$'
	kill -9 "$p"
	wait "$p" || true
	gc_reclaims rel-k3
}

@test "SIGKILL the supervisor of a --pid instance: its namespace dies, gc cleans the host side" {
	local p
	# shellcheck disable=SC2086
	"$UC" spawn --pid --name rel-k4 --root "$BB" $NET -- /bin/sh -c '(sleep 5716 &); exec sleep 5717' >/dev/null 2>&1 3>&- &
	p=$!
	wait_for running rel-k4 5717
	kill -9 "$p"
	wait "$p" || true
	gc_reclaims rel-k4
}

@test "SIGKILL the front end of --detach during setup: gc recovers" {
	local p
	# shellcheck disable=SC2086
	"$UC" spawn --detach --name rel-k5 --root "$BB" $NET --preexec 'sleep 0.5' -- /bin/sleep 5718 >/dev/null 2>&1 3>&- &
	p=$!
	wait_for test -f "$S/rel-k5/pid"
	kill -9 "$p"
	wait "$p" || true
	sleep 0.7
	gc_reclaims rel-k5
}

@test "SIGKILL the teardown during --postexec, then _teardown twice: idempotent" {
	local p td
	# shellcheck disable=SC2086
	"$UC" spawn --name rel-k6 --root "$BB" $NET --postexec '[ -e "$REL_W/go" ] || sleep 5719; echo post >>"$REL_W/post"' -- /bin/true >/dev/null 2>&1 3>&- &
	p=$!
	wait_for pgrep -f '^(/bin/)?sleep 5719$'
	td=$(pgrep -f "_teardown $S/rel-k6\$")
	[ -n "$td" ]
	touch "$W/go"
	kill -9 $td
	wait "$p" || true
	# the hook was a child of the teardown: it runs on, its sleep ended here
	pkill -9 -f '^(/bin/)?sleep 5719$' || true
	wait_for test -s "$W/post"
	: >"$W/post"
	[ -d "$S/rel-k6" ]
	# the entry is stale now: a teardown replays what is left, the second finds nothing
	run --separate-stderr "$UC" _teardown "$S/rel-k6"
	echo "1st: $status $stderr"
	[ "$status" -eq 0 ]
	[ "$(cat "$W/post")" = post ]
	run --separate-stderr "$UC" _teardown "$S/rel-k6"
	echo "2nd: $status $stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	all_gone rel-k6
}

@test "SIGKILL the supervisor during its teardown: the teardown finishes, gc has nothing to do" {
	local p
	# shellcheck disable=SC2086
	"$UC" spawn --name rel-k7 --root "$BB" $NET --postexec 'sleep 0.5; echo post >>"$REL_W/post"' -- /bin/true >/dev/null 2>&1 3>&- &
	p=$!
	wait_for pgrep -f "_teardown $S/rel-k7\$"
	kill -9 "$p"
	wait "$p" || true
	wait_for gone rel-k7
	[ "$(cat "$W/post")" = post ]
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	all_gone rel-k7
}

@test "gc leaves running instances and spawns in progress alone" {
	run --separate-stderr "$UC" spawn --detach --name rel-live --root "$BB" $NET -- /bin/sleep 5720
	[ "$status" -eq 0 ]
	"$UC" spawn --name rel-setup --root "$BB" --preexec 'sleep 5721' -- /bin/true >/dev/null 2>&1 3>&- &
	wait_for pgrep -f '^(/bin/)?sleep 5721$'
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	running rel-live 5720
	[ -d "$S/rel-setup" ]
	"$UC" stop rel-live
	pkill -f '^(/bin/)?sleep 5721$'
	wait
	wait_for gone rel-setup
}

@test "SIGKILL the front end of a lean --bridge spawn between nsnet up and forkn: gc recovers" {
	local p
	# shellcheck disable=SC2086
	UNSHARED_TEST_PAUSE=net "$UC" spawn --name rel-k9 --root "$BB" $NET -- /bin/sleep 5722 >/dev/null 2>&1 3>&- &
	p=$!
	# nsnet up pauses once the lease is taken (the namespace is made after)
	wait_for grep -q rel-k9 "$S/.net/ut-rel1/hosts"
	# nsnet wrote the front end's pid (--owner): gc sees it dead, not starting
	[ "$(cut -d' ' -f1 "$S/rel-k9/pid")" = "$p" ]
	kill -9 "$p"
	wait "$p" || true
	gc_reclaims rel-k9
	[ -z "$(grep rel-k9 "$S/.net/ut-rel1/hosts")" ]
}
