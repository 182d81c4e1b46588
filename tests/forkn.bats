#!/usr/bin/env bats
# forkn, the supervisor helper: statuses, signal relay, descendants, pid
# namespace init, cleanup, --state, --detach, what the child inherits.
# Marker commands are `sleep 41NN`; teardown ends them and the forkn processes
# each test started, by pid.

bats_require_minimum_version 1.5.0

setup_file() {
	make -s -C "$BATS_TEST_DIRNAME/.." utils/forkn
}

setup() {
	FORKN="$BATS_TEST_DIRNAME/../utils/forkn"
	T="$BATS_TEST_TMPDIR"
}

teardown() {
	local p
	for p in $(cat "$T/bg" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in $(pgrep -f '^sleep 41[0-9][0-9]$'); do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}

# poll CMD... for up to 5 s
wait_until() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# forkn ARGS in the background (fd 3 closed: bats waits on it); pid in BG
start_bg() {
	"$FORKN" "$@" >"$T/out" 2>"$T/err" 3>&- &
	BG=$!
	echo "$BG" >>"$T/bg"
}

# PID has ended: gone, or a zombie its new parent has not reaped yet
dead() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

no_marker() {
	! pgrep -f "^sleep $1\$" >/dev/null
}

# ---- statuses ----

@test "seed form: cleanup runs once, status is the command's" {
	run --separate-stderr "$FORKN" "echo \"ran \$UNSHARED_STATUS\" >>'$T/c'" sh -c 'exit 3'
	[ "$status" -eq 3 ]
	[ "$(cat "$T/c")" = "ran 3" ]
}

@test "exit status 0 and 3 pass through" {
	run "$FORKN" -- true
	[ "$status" -eq 0 ]
	run "$FORKN" -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
}

@test "command not found: 127 and one message" {
	run -127 --separate-stderr "$FORKN" --cleanup "echo \$UNSHARED_STATUS >'$T/c'" -- "$T/nonexistent"
	[ "$status" -eq 127 ]
	[ "$stderr" = "unshared-cli: forkn: exec $T/nonexistent: No such file or directory" ]
	[ "$(cat "$T/c")" = 127 ]
}

@test "command not executable: 126" {
	printf 'echo no\n' >"$T/noexec"
	chmod 0644 "$T/noexec"
	run --separate-stderr "$FORKN" -- "$T/noexec"
	[ "$status" -eq 126 ]
	[ "$stderr" = "unshared-cli: forkn: exec $T/noexec: Permission denied" ]
}

@test "death by signal N: 128+N, not re-raised" {
	run "$FORKN" -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run "$FORKN" -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
	run "$FORKN" -- sh -c 'kill -INT $$'
	[ "$status" -eq 130 ]
}

@test "usage: unknown option, missing argument, missing command exit 125; --help 0" {
	run --separate-stderr "$FORKN" --bogus true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: unrecognized option '--bogus'" ]
	run --separate-stderr "$FORKN" --state
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: option '--state' requires an argument" ]
	run --separate-stderr "$FORKN" --pid --
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: forkn: missing command"* ]]
	run --separate-stderr "$FORKN" 'echo cleanup'
	[ "$status" -eq 125 ]
	run --separate-stderr "$FORKN" --mount-ns -- true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: --mount-ns needs --pid" ]
	run --separate-stderr "$FORKN" --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	[ -z "$stderr" ]
}

@test "the command's own options are not forkn's" {
	run "$FORKN" --cleanup true sh -c 'echo "$@"' x --pid -h
	[ "$status" -eq 0 ]
	[ "$output" = "--pid -h" ]
}

# ---- signals ----

# the command traps SIG and records it; SIG goes to forkn's pid
check_forwarded() {
	local sig=$1
	shift
	start_bg "$@" sh -c 'trap "echo $2 >\"\$0\"; kill \$! 2>/dev/null; exit 0" $2
		: >"$1"
		sleep 4101 &
		wait' "$T/got" "$T/ready" "$sig"
	wait_until [ -e "$T/ready" ]
	kill -s "$sig" "$BG"
	local rc=0
	wait "$BG" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(cat "$T/got")" = "$sig" ]
}

@test "forwards SIGINT" { check_forwarded INT --; }
@test "forwards SIGTERM" { check_forwarded TERM --; }
@test "forwards SIGHUP" { check_forwarded HUP --; }
@test "forwards SIGQUIT" { check_forwarded QUIT --; }
@test "forwards SIGUSR1" { check_forwarded USR1 --; }
@test "forwards SIGUSR2" { check_forwarded USR2 --; }
@test "forwards SIGWINCH" { check_forwarded WINCH --; }
@test "--pid: the init forwards SIGTERM and SIGUSR1 to the command" {
	check_forwarded TERM --pid --
	rm -f "$T/got" "$T/ready"
	check_forwarded USR1 --pid --
}

@test "untrapped SIGTERM to forkn ends the command: 143" {
	start_bg -- sleep 4102
	wait_until pgrep -f '^sleep 4102$'
	kill -TERM "$BG"
	local rc=0
	wait "$BG" || rc=$?
	[ "$rc" -eq 143 ]
	no_marker 4102
}

# ---- descendants ----

@test "a double-forked setsid orphan is killed when the command ends" {
	run "$FORKN" -- sh -c '(setsid sleep 4103 & echo $! >"$0") ; sleep 0.2; kill -0 $(cat "$0")' "$T/orphan"
	[ "$status" -eq 0 ]
	[ -s "$T/orphan" ]
	dead "$(cat "$T/orphan")"
	no_marker 4103
}

@test "cleanup runs after every descendant is reaped" {
	run "$FORKN" --cleanup "pgrep -f '^sleep 4104\$' >'$T/seen' && echo alive >>'$T/c' || echo gone >>'$T/c'" \
		-- sh -c '(sleep 4104 &); sleep 0.1'
	[ "$status" -eq 0 ]
	[ "$(cat "$T/c")" = gone ]
}

@test "SIGKILL of the supervisor kills the command (parent-death signal)" {
	mkdir "$T/st"
	start_bg --state "$T/st" -- sleep 4105
	wait_until [ -s "$T/st/cmdpid" ]
	local cmd
	cmd=$(cat "$T/st/cmdpid")
	kill -KILL "$BG"
	wait "$BG" || true
	wait_until dead "$cmd"
	no_marker 4105
}

@test "--pid: SIGKILL of the supervisor takes the namespace down" {
	mkdir "$T/st"
	start_bg --pid --state "$T/st" -- sleep 4106
	wait_until [ -s "$T/st/cmdpid" ]
	local cmd
	cmd=$(cat "$T/st/cmdpid")
	kill -KILL "$BG"
	wait "$BG" || true
	wait_until dead "$cmd"
	no_marker 4106
}

# ---- pid namespace ----

@test "--pid: the command is pid 2 and its status passes through the init" {
	run "$FORKN" --pid -- sh -c 'echo $$'
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	run "$FORKN" --pid -- sh -c 'exit 5'
	[ "$status" -eq 5 ]
	run "$FORKN" --pid -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run -127 "$FORKN" --pid -- "$T/nonexistent"
}

@test "--pid: the init reaps orphaned zombies; the rest dies with the command" {
	mkdir "$T/st"
	start_bg --pid --state "$T/st" -- sh -c 'sh -c "sleep 0.1 & sleep 0.1 &"; (sleep 4107 &); sleep 4108'
	wait_until [ -s "$T/st/cmdpid" ]
	wait_until pgrep -f '^sleep 4107$'
	sleep 0.5
	local cmd init kids marker
	cmd=$(cat "$T/st/cmdpid")
	init=$(awk '{print $4}' "/proc/$cmd/stat")
	[ "$(awk '{print $4}' "/proc/$init/stat")" = "$BG" ]
	[ "$(awk '{print $NF}' <(grep '^NSpid:' "/proc/$cmd/status"))" = 2 ]
	# pid 2 and the live orphan only: the two short sleeps were reaped
	marker=$(pgrep -f '^sleep 4107$')
	kids=$(tr ' ' '\n' <"/proc/$init/task/$init/children" | grep . | sort -n | tr '\n' ' ')
	[ "$kids" = "$(printf '%s\n' "$cmd" "$marker" | sort -n | tr '\n' ' ')" ]
	pkill -TERM -f '^sleep 4108$'
	local rc=0
	wait "$BG" || rc=$?
	[ "$rc" -eq 143 ]
	no_marker 4107
}

# ---- cleanup ----

@test "--cleanup-exec: arguments in order, UNSHARED_STATUS and PID" {
	cat >"$T/cl" <<-'EOF'
		#!/bin/sh
		printf '%s|' "$0" "$@" >"$OUT"
		echo >>"$OUT"
		echo "$UNSHARED_STATUS $PID $PPID" >>"$OUT"
	EOF
	chmod +x "$T/cl"
	OUT="$T/c" run "$FORKN" --cleanup-exec "$T/cl" --cleanup-arg 'a b' --cleanup-arg '' --cleanup-arg c \
		-- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	[ "$(head -n1 "$T/c")" = "$T/cl|a b||c|" ]
	read -r st pid ppid < <(tail -n1 "$T/c")
	[ "$st" = 7 ]
	[ "$pid" = "$ppid" ] # PID is the supervisor, the cleanup's parent
}

@test "cleanup failure is a warning, not a status" {
	run --separate-stderr "$FORKN" --cleanup 'exit 9' -- sh -c 'exit 4'
	[ "$status" -eq 4 ]
	[ "$stderr" = "unshared-cli: forkn: cleanup failed with status 9" ]
	run --separate-stderr "$FORKN" --cleanup-exec "$T/nonexistent" -- true
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"exec cleanup $T/nonexistent: No such file or directory"* ]]
}

@test "setup failure: 125, and the cleanup still runs once" {
	run --separate-stderr "$FORKN" --state "$T/missing" --cleanup "echo \$UNSHARED_STATUS >>'$T/c'" -- true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: forkn: open state directory $T/missing: No such file or directory" ]]
	[ "$(cat "$T/c")" = 125 ]
}

@test "signals during the cleanup do not kill forkn" {
	start_bg --cleanup "touch '$T/started'; sleep 0.5; echo done >'$T/c'" -- sh -c 'exit 6'
	wait_until [ -e "$T/started" ]
	kill -TERM "$BG"
	kill -INT "$BG"
	local rc=0
	wait "$BG" || rc=$?
	[ "$rc" -eq 6 ]
	[ "$(cat "$T/c")" = done ]
}

# ---- --state ----

@test "--state writes pid (pid and start time) and cmdpid, by rename" {
	mkdir "$T/st"
	start_bg --state "$T/st" -- sh -c 'echo $$ >"$0"; exec sleep 4109' "$T/me"
	wait_until [ -s "$T/me" ]
	wait_until [ -s "$T/st/cmdpid" ]
	[ "$(cat "$T/st/pid")" = "$BG $(awk '{print $22}' "/proc/$BG/stat")" ]
	[ "$(cat "$T/st/cmdpid")" = "$(cat "$T/me")" ]
	[ "$(ls -A "$T/st" | tr '\n' ' ')" = "cmdpid pid " ]
	kill -TERM "$BG"
	wait "$BG" || true
}

@test "--adopt-state: a DIR/pid that already names forkn is kept; another is replaced" {
	# the foreground spawn --bridge: the process that wrote DIR/pid (nsnet up
	# --owner) exec's forkn, so pid and start time are forkn's own
	mkdir "$T/st"
	bash -c 'read -r -a f <"/proc/$$/stat"; echo "$$ ${f[21]}" >"$1/pid"; stat -c %i "$1/pid" >"$2"
		exec "$3" --state "$1" --adopt-state -- sh -c "stat -c %i \"\$0/pid\"" "$1"' _ "$T/st" "$T/ino" "$FORKN" >"$T/out"
	[ "$(cat "$T/out")" = "$(cat "$T/ino")" ] # the same file, not a replacement
	[ ! -e "$T/st" ]
	mkdir "$T/st"
	echo "1 1" >"$T/st/pid"
	run "$FORKN" --state "$T/st" --adopt-state -- sh -c 'cat "$0/pid"' "$T/st"
	[ "$status" -eq 0 ]
	[ "$output" != "1 1" ]
	[[ $output =~ ^[0-9]+\ [0-9]+$ ]]
	[ ! -e "$T/st" ]
}

@test "--trash: the emptied state directory is moved aside, the next run takes or removes it" {
	run "$FORKN" --state "$T/st" --new-state --trash "$T/trash" --info "x=1" -- true
	[ "$status" -eq 0 ]
	[ ! -e "$T/st" ]
	[ -d "$T/trash/st.$(ls "$T/trash" | sed -n 's/^st\.//p')" ]
	[ -z "$(ls -A "$T/trash"/st.*)" ]
	# something left in it (never by forkn) keeps it there
	mkdir "$T/trash/kept.1" && touch "$T/trash/kept.1/f"
	run "$FORKN" --state "$T/st2" --new-state --trash "$T/trash" -- sleep 0.2
	[ "$status" -eq 0 ]
	[ "$(ls "$T/trash" | grep -c '^st\.')" = 0 ]
	[ -e "$T/trash/kept.1/f" ]
	run --separate-stderr "$FORKN" --state "$T/st3" --trash "$T/trash" -- true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: --trash needs --new-state or --adopt-state" ]
}

@test "--new-state --trash: an empty 0700 directory of ours is taken back from the trash, nothing else" {
	mkdir "$T/trash"
	mkdir -m 0700 "$T/trash/a.1" "$T/trash/full.1" "$T/trash/open.1" "$T/trash/sub.1" "$T/trash/sub.1/d"
	chmod 0755 "$T/trash/open.1"
	touch "$T/trash/full.1/f"
	ln -s "$T/elsewhere" "$T/trash/link.1"
	mkdir -m 0700 "$T/elsewhere"
	ino=$(stat -c %i "$T/trash/a.1")
	run "$FORKN" --state "$T/st" --new-state --trash "$T/trash" -- sh -c 'stat -c %i "$0"' "$T/st"
	[ "$status" -eq 0 ]
	[ "$output" = "$ino" ] # the directory of the trash, renamed
	[ ! -e "$T/trash/a.1" ]
	[ -e "$T/trash/full.1/f" ] && [ -d "$T/trash/open.1" ] && [ -d "$T/trash/sub.1/d" ] && [ -L "$T/trash/link.1" ]
	[ -d "$T/elsewhere" ]
	# and back there at the end, for the next one
	trashed() { set -- "$T"/trash/st.*; [ -e "$1" ] && echo $# || echo 0; }
	[ "$(trashed)" = 1 ]
	# a name in use stays in use: the trash is not touched
	mkdir "$T/st"
	run --separate-stderr "$FORKN" --state "$T/st" --new-state --trash "$T/trash" -- true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: $T/st: the name is in use" ]
	[ "$(trashed)" = 1 ]
}

@test "--new-state --trash: of 8 at once for one name, one takes it, whether from the trash or by mkdir" {
	mkdir "$T/trash"
	mkdir -m 0700 "$T"/trash/e.{1..4}
	local i rc ok=0 inuse=0
	# the one that gets the name runs until the other 7 have been refused
	for i in 1 2 3 4 5 6 7 8; do
		"$FORKN" --state "$T/st" --new-state --trash "$T/trash" -- \
			sh -c 'until [ -e "$0" ]; do sleep 0.05; done' "$T/go" 2>"$T/err.$i" &
		echo "$!" >>"$T/bg" # teardown ends them if this test fails
	done
	wait_until [ "$(cat "$T"/err.* | grep -c 'the name is in use')" = 7 ]
	touch "$T/go"
	for i in $(cat "$T/bg"); do
		rc=0
		wait "$i" || rc=$?
		case $rc in 0) ok=$((ok + 1)) ;; 125) inuse=$((inuse + 1)) ;; esac
	done
	[ "$ok" = 1 ] && [ "$inuse" = 7 ]
	[ "$(cat "$T"/err.* | grep -c 'the name is in use')" = 7 ]
	[ ! -e "$T/st" ]
}

@test "--trash keeps 4 empty directories for the next spawns, removes the rest once the command has run 10 ms" {
	mkdir "$T/trash"
	mkdir -m 0700 "$T"/trash/e.{1..10}
	run "$FORKN" --state "$T/st" --new-state --trash "$T/trash" -- sleep 0.2
	[ "$status" -eq 0 ]
	# one taken, 9 left, 5 removed, and the instance's own back at the end
	set -- "$T"/trash/*
	[ $# = 5 ]
	set -- "$T"/trash/st.*
	[ $# = 1 ] && [ -d "$1" ]
}

@test "--state --pid: cmdpid is the command's host pid" {
	mkdir "$T/st"
	start_bg --pid --state "$T/st" -- sh -c 'exec sleep 4110'
	wait_until [ -s "$T/st/cmdpid" ]
	local cmd
	cmd=$(cat "$T/st/cmdpid")
	[ "$(tr '\0' ' ' <"/proc/$cmd/cmdline")" = "sleep 4110 " ]
	[ "$(awk '{print $NF}' <(grep '^NSpid:' "/proc/$cmd/status"))" = 2 ]
	kill -TERM "$BG"
	wait "$BG" || true
}

# ---- --detach ----

@test "--detach: returns 0 at once, logs, SIGTERM to the supervisor ends all" {
	mkdir "$T/st"
	local t0 t1 sup cmd
	t0=$(date +%s%N)
	run --separate-stderr "$FORKN" --detach --state "$T/st" --log "$T/log" \
		--cleanup 'echo "cleaned $UNSHARED_STATUS"' -- sh -c 'echo hello; echo oops >&2; exec sleep 4111'
	t1=$(date +%s%N)
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ -z "$stderr" ]
	[ $(((t1 - t0) / 1000000)) -lt 1000 ]
	sup=$(cut -d' ' -f1 "$T/st/pid")
	echo "$sup" >>"$T/bg"
	cmd=$(cat "$T/st/cmdpid")
	# the supervisor leads its own session and is the command's parent
	[ "$(awk '{print $6}' "/proc/$sup/stat")" = "$sup" ]
	[ "$(awk '{print $4}' "/proc/$cmd/stat")" = "$sup" ]
	[ "$(readlink "/proc/$cmd/fd/0")" = /dev/null ]
	[ "$(stat -c %a "$T/log")" = 600 ]
	wait_until grep -q hello "$T/log"
	grep -q oops "$T/log"
	kill -TERM "$sup"
	wait_until dead "$cmd"
	wait_until dead "$sup"
	wait_until grep -q 'cleaned 143' "$T/log"
	no_marker 4111
}

@test "--detach: a setup failure is reported by the original process, 125" {
	run --separate-stderr "$FORKN" --detach --state "$T/missing" -- sleep 4112
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: open state directory $T/missing: No such file or directory" ]
	no_marker 4112
}

@test "--detach --pid: cmdpid written before returning" {
	mkdir "$T/st"
	run "$FORKN" --detach --pid --state "$T/st" -- sleep 4113
	[ "$status" -eq 0 ]
	local sup cmd
	sup=$(cut -d' ' -f1 "$T/st/pid")
	echo "$sup" >>"$T/bg"
	cmd=$(cat "$T/st/cmdpid")
	[ "$(tr '\0' ' ' <"/proc/$cmd/cmdline")" = "sleep 4113 " ]
	kill -TERM "$sup"
	wait_until dead "$cmd"
	no_marker 4113
}

# ---- what the command inherits ----

@test "the command gets an empty mask and no ignored signal, even when the caller ignored INT" {
	run --separate-stderr bash -c 'trap "" INT QUIT; grep "^SigIgn" /proc/self/status; exec "$0" -- grep -E "^Sig(Blk|Ign)" /proc/self/status' "$FORKN"
	printf '%s\n' "$output" "stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "SigIgn:	0000000000000000" ] # the caller did ignore something
	[ "${lines[1]}" = "SigBlk:	0000000000000000" ]
	[ "${lines[2]}" = "SigIgn:	0000000000000000" ]
	run bash -c 'trap "" INT; exec "$0" --pid -- grep -E "^Sig(Blk|Ign)" /proc/self/status' "$FORKN"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000')" ]
}

@test "no fd above 2 reaches the command" {
	run bash -c 'exec 7</dev/null 9>"$1"; exec "$0" -- ls /proc/self/fd' "$FORKN" "$T/f9"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n1\n2\n3')" ] # 3: ls reading the directory
	run bash -c 'exec 7</dev/null; exec "$0" --pid -- ls /proc/self/fd' "$FORKN"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n1\n2\n3')" ]
}

@test "--keep-fd N: the command inherits fd N as it is; the cleanup does not" {
	echo seven >"$T/seven"
	run bash -c 'exec 5</dev/null 7<"$1"; exec "$0" --keep-fd 7 --cleanup "ls /proc/self/fd >$2" \
		-- sh -c "ls /proc/self/fd; cat <&7"' "$FORKN" "$T/seven" "$T/cleanup"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n1\n2\n3\n7\nseven')" ] # 3: ls reading the directory
	run ! grep -qx 7 "$T/cleanup"
	# through the pid namespace's init, to its pid 2
	run bash -c 'exec 7<"$1"; exec "$0" --pid --keep-fd 7 -- sh -c "ls /proc/self/fd; cat <&7"' "$FORKN" "$T/seven"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n1\n2\n3\n7\nseven')" ]
	run --separate-stderr "$FORKN" --keep-fd 2 -- true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: --keep-fd '2': a descriptor number from 3 to 1023" ]
	run --separate-stderr "$FORKN" --keep-fd 9 -- true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: forkn: --keep-fd 9: Bad file descriptor" ]
}

@test "the command keeps forkn's working directory" {
	cd "$T"
	run "$FORKN" -- pwd
	[ "$output" = "$T" ]
}

@test "signals a libc keeps for itself (32, 33) are reset too, when the caller ignored them" {
	command -v cc >/dev/null || need cc
	cat >"$BATS_TEST_TMPDIR/ign.c" <<'C'
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	unsigned long ign[4] = { 1, 0, 0, 0 }; /* SIG_IGN, straight to the kernel */
	(void)argc;
	syscall(SYS_rt_sigaction, 32, ign, 0, 8);
	syscall(SYS_rt_sigaction, 33, ign, 0, 8);
	execv(argv[1], argv + 1);
	return 127;
}
C
	cc -o "$BATS_TEST_TMPDIR/ign" "$BATS_TEST_TMPDIR/ign.c"
	run "$BATS_TEST_TMPDIR/ign" /bin/grep SigIgn /proc/self/status
	[ "$output" = "SigIgn:	0000000180000000" ]
	run "$BATS_TEST_TMPDIR/ign" "$FORKN" -- /bin/grep SigIgn /proc/self/status
	[ "$output" = "SigIgn:	0000000000000000" ]
	run "$BATS_TEST_TMPDIR/ign" "$FORKN" --pid -- /bin/grep SigIgn /proc/self/status
	[ "$output" = "SigIgn:	0000000000000000" ]
}
