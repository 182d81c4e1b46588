#!/usr/bin/env bats
# Reliability: processes and signals. Every forwarded signal arrives; what
# ignores SIGTERM is killed after the stop timeout; zombies are reaped; daemons
# end with the instance; the command starts clean whatever the caller ignored or
# blocked; Ctrl-C during setup rolls back. Markers: sleep 57NN.

load ../helpers
load rel

setup() {
	rel_setup
	W=$T/w
	export REL_W=$W
	mkdir -p "$W"
	chmod 0777 "$W"
}
teardown() { rel_teardown; }

# lines FILE: how many lines FILE has (0 when missing)
lines_of() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# pgroup CMD... &: (in the background only: it execs) CMD as the leader of a new process group, SIGINT and SIGQUIT
# back to default (bats' background jobs start with them ignored, a terminal's don't)
pgroup() {
	exec perl -e 'setpgrp(0, 0); $SIG{INT} = $SIG{QUIT} = "DEFAULT"; exec @ARGV or die "exec: $!"' "$@"
}

# ctrl_c PID: SIGINT to PID's process group, as a terminal's Ctrl-C does;
# PID's exit status into $status, its output ($T/out) shown
ctrl_c() {
	kill -INT -- "-$1" || { cat "$T/out"; return 1; }
	status=0
	wait "$1" || status=$?
	echo "status $status; $(cat "$T/out")"
}

@test "signals: INT TERM HUP QUIT USR1 USR2 WINCH all reach the command" {
	local p s n=0
	"$UC" spawn --name rel-sig --root "$BB" --data-dir "$W:/w" -- /bin/sh -c '
		for s in INT TERM HUP QUIT USR1 USR2 WINCH; do trap "echo $s >>/w/got" $s; done
		echo up >/w/up
		while [ "$(cat /w/got 2>/dev/null | wc -l)" -lt 7 ]; do sleep 0.05; done' 3>&- &
	p=$!
	wait_for test -f "$W/up"
	for s in INT TERM HUP QUIT USR1 USR2 WINCH; do
		n=$((n + 1))
		kill -"$s" "$p"
		wait_for eval "[ \"\$(lines_of '$W/got')\" -ge $n ]"
	done
	wait "$p"
	[ "$(tr '\n' ' ' <"$W/got")" = "INT TERM HUP QUIT USR1 USR2 WINCH " ]
	wait_for gone rel-sig
}

@test "signals: a command that ignores SIGTERM is killed after stop --timeout 1" {
	run --separate-stderr "$UC" spawn --detach --name rel-ign --root "$BB" -- /bin/sh -c 'trap "" TERM; exec sleep 5701'
	[ "$status" -eq 0 ]
	wait_for running rel-ign 5701
	local t0=$SECONDS
	run --separate-stderr "$UC" stop --timeout 1 rel-ign
	[ "$status" -eq 0 ]
	[ $((SECONDS - t0)) -le 5 ]
	gone rel-ign
	! pgrep -f '^(/bin/)?sleep 5701$'
}

@test "signals: orphans are reaped while the command runs (with and without --pid)" {
	local pid flag sup z
	for flag in "" --pid; do
		"$UC" spawn $flag --name rel-z --root "$BB" -- /bin/sh -c '
			(sleep 0.1 &); (sleep 0.1 &); (sleep 0.1 &); exec sleep 5702' 3>&- &
		wait_for running rel-z 5702
		sup=$(sup rel-z)
		sleep 0.6
		# nothing of the instance is a zombie: forkn (a subreaper) or its init reaps
		z=$(ps -eo ppid=,stat=,pid= | awk -v s="$sup" '$2 ~ /^Z/ {print}' | grep -c . || true)
		pid=$(cat "$S/rel-z/cmdpid")
		[ -z "$(ps -o stat= --ppid "$sup" | grep '^Z')" ]
		kill "$pid"
		wait_for gone rel-z
		wait
	done
}

@test "signals: setsid and double-fork daemons end with the instance" {
	local flag
	for flag in "" --pid; do
		run --separate-stderr "$UC" spawn $flag --name rel-dm --root "$BB" -- /bin/sh -c '
			setsid sleep 5703 </dev/null >/dev/null 2>&1 &
			(setsid sh -c "sleep 5704 &" </dev/null >/dev/null 2>&1 &)
			sleep 0.2; exit 3'
		[ "$status" -eq 3 ]
		gone rel-dm
		! pgrep -f '^(/bin/)?sleep 570[34]$'
	done
	# detached, stopped: the same
	run --separate-stderr "$UC" spawn --detach --name rel-dm --root "$BB" -- /bin/sh -c '
		setsid sleep 5703 </dev/null >/dev/null 2>&1 & (sleep 5704 &); exec sleep 5705'
	[ "$status" -eq 0 ]
	wait_for running rel-dm 5705
	wait_for pgrep -f '^(/bin/)?sleep 5704$'
	run --separate-stderr "$UC" stop rel-dm
	[ "$status" -eq 0 ]
	! pgrep -f '^(/bin/)?sleep 570[345]$'
}

@test "signals: default dispositions and an empty mask, whatever the caller ignored or blocked" {
	local want='SigBlk:	0000000000000000
SigIgn:	0000000000000000'
	run --separate-stderr bash -c 'trap "" INT TERM HUP QUIT USR1 USR2 PIPE; exec "$0" spawn --root "$1" -- /bin/grep -E "^Sig(Blk|Ign)" /proc/self/status' "$UC" "$BB"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	run --separate-stderr perl -MPOSIX -e '
		sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGINT, SIGTERM, SIGUSR1, SIGHUP, SIGCHLD));
		$SIG{USR2} = "IGNORE"; $SIG{PIPE} = "IGNORE";
		exec @ARGV' "$UC" spawn --root "$BB" --pid --preexec true -- /bin/grep -E '^Sig(Blk|Ign)' /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}

@test "signals: the command's exit status, and 128+N for a signal" {
	run "$UC" spawn --root "$BB" -- /bin/sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run "$UC" spawn --root "$BB" -- /bin/sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run "$UC" spawn --root "$BB" --pid --preexec true -- /bin/sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "ctrl-c: SIGINT to the process group during --preexec rolls back" {
	local p
	pgroup "$UC" spawn --name rel-cc --root "$BB" --preexec 'sleep 1' --postexec 'echo post >>"$REL_W/post"' \
		-- /bin/sleep 5706 >"$T/out" 2>&1 3>&- &
	p=$!

	wait_for test -d "$S/rel-cc"
	sleep 0.3
	ctrl_c "$p"
	[ "$status" -eq 130 ] || [ "$status" -eq 125 ]
	wait_for gone rel-cc
	# the --postexec hook, journaled first, ran once
	[ "$(cat "$W/post")" = post ]
	! pgrep -f '^(/bin/)?sleep 5706$'
}

@test "ctrl-c: SIGINT to the process group after the network is up rolls back" {
	local p
	pgroup "$UC" spawn --name rel-cn --root "$BB" --bridge ut-rel1 --addr 10.251.0.2/24 \
		--prechroot 'sleep 1' -- /bin/sleep 5707 >"$T/out" 2>&1 3>&- &
	p=$!
	wait_for test -e /run/netns/rel-cn
	sleep 0.3
	ctrl_c "$p"
	[ "$status" -eq 130 ] || [ "$status" -eq 125 ]
	wait_for gone rel-cn
	[ ! -e /run/netns/rel-cn ]
	[ -z "$(ip -o link show master ut-rel1)" ]
}

@test "ctrl-c: SIGINT to the process group between nsnet up and forkn (lean path) rolls back" {
	local p
	# UNSHARED_TEST_PAUSE=net: nsnet up waits 3 s once the lease is taken,
	# before it hands the rest (namespace, veth) to a child and becomes forkn
	UNSHARED_TEST_PAUSE=net pgroup "$UC" spawn --name rel-cl --root "$BB" --bridge ut-rel1 \
		--addr 10.251.0.4/24 -- /bin/sleep 5708 >"$T/out" 2>&1 3>&- &
	p=$!
	wait_for grep -q rel-cl "$S/.net/ut-rel1/hosts"
	ctrl_c "$p"
	[ "$status" -eq 130 ]
	[[ "$(cat "$T/out")" == *"rel-cl: stopped during setup (SIGINT): undone"* ]]
	gone rel-cl
	[ ! -e /run/netns/rel-cl ]
	wait_for eval '[ -z "$(ip -o link show master ut-rel1)" ]'
	[ -z "$(grep rel-cl "$S/.net/ut-rel1/hosts")" ]
	! pgrep -f '^(/bin/)?sleep 5708$'
}
