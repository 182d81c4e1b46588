#!/usr/bin/env bats
# spawn through the front end: namespaces, argv, exit codes, mounts, hooks, endings.
# Markers: sleep 51NN.

load helpers
MARK=51

setup_file() {
	make_bbroot "$BATS_FILE_TMPDIR/bb"
}

setup() {
	common_setup
	BB=$BATS_FILE_TMPDIR/bb
}

teardown() {
	common_teardown
}

@test "uts: --hostname is private to the instance" {
	run --separate-stderr "$UC" spawn --root "$BB" --hostname ut-inside -- /bin/hostname
	[ "$status" -eq 0 ]
	[ "$output" = ut-inside ]
	[ "$(hostname)" != ut-inside ]
}

@test "pid: a fresh /proc shows only the instance's processes" {
	run "$UC" spawn --pid --root "$BB" -- /bin/sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -le 3 ]
	[ "${lines[1]}" -le 4 ]
}

@test "pid without --root: /proc is fresh too" {
	run "$UC" spawn --pid -- /bin/sh -c 'ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	[ "$output" -le 4 ]
}

@test "ipc, net, cgroup namespaces differ from the host's" {
	run "$UC" spawn --ipc --net --cgroup --mount -- /bin/sh -c 'readlink /proc/self/ns/ipc /proc/self/ns/net /proc/self/ns/cgroup /proc/self/ns/mnt'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink /proc/self/ns/ipc)" ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/net)" ]
	[ "${lines[2]}" != "$(readlink /proc/self/ns/cgroup)" ]
	[ "${lines[3]}" != "$(readlink /proc/self/ns/mnt)" ]
}

@test "argv reaches the command verbatim: spaces, quotes, \$(...), ;, *, empty, newline" {
	local nlarg
	nlarg=$(printf 'two\nlines')
	run "$UC" spawn --root "$BB" -- /bin/busybox printf '[%s]' 'a b' '$(touch /tmp/ut-pwn)' '"q"' ';ls' '' "it's" '*' "$nlarg" '--name' '-x'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '[%s]' 'a b' '$(touch /tmp/ut-pwn)' '"q"' ';ls' '' "it's" '*' "$nlarg" '--name' '-x')" ]
	[ ! -e /tmp/ut-pwn ]
}

@test "a command without -- starts at the first non-option" {
	run "$UC" spawn --root "$BB" /bin/echo hello --root x
	[ "$status" -eq 0 ]
	[ "$output" = "hello --root x" ]
}

@test "exit status: the command's own" {
	for code in 0 1 3 42 124; do
		run "$UC" spawn --root "$BB" -- /bin/sh -c "exit $code"
		[ "$status" -eq "$code" ]
	done
}

@test "exit status: 128+N when the command dies of signal N" {
	run "$UC" spawn --root "$BB" -- /bin/sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run "$UC" spawn --root "$BB" -- /bin/sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
	run "$UC" spawn --pid --root "$BB" -- /bin/sh -c 'kill -USR1 $$'
	[ "$status" -eq 138 ]
}

@test "exit status: 127 not found, 126 not executable, 125 own failure" {
	run --separate-stderr "$UC" spawn --root "$BB" -- /no/such/cmd
	[ "$status" -eq 127 ]
	[[ "$stderr" == "unshared-cli: "* ]]
	run --separate-stderr "$UC" spawn --root "$BB" -- /etc/passwd
	[ "$status" -eq 126 ]
	run --separate-stderr "$UC" spawn --bogus -- true
	one_error
	[[ "$stderr" == "unshared-cli: spawn: unknown option '--bogus'"* ]]
}

@test "bad input: one line, exit 125, nothing created" {
	local bad
	for bad in "--root /no/such/root" "--root not-built-type" "--name a/b" "--name .." "--name -x" \
		"--name $(printf 'x%.0s' $(seq 65))" "--data-dir /nonexistent:/x" "--data-dir $BB" \
		"--data-dir $BB:relative" "--bind $BB" "--tmpfs" "--addr 10.0.0.1/24" "--exec" "--chdir"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$UC" spawn $bad -- /bin/true
		echo "$bad -> $status: $stderr"
		one_error
		[[ "$stderr" == "unshared-cli: spawn: "* ]]
	done
	[ -z "$(ls "$UNSHARED_STATE" 2>/dev/null)" ]
}

@test "an unbuilt root type says how to build it" {
	run --separate-stderr "$UC" spawn --root nosuchtype -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"mkroot nosuchtype"* ]]
}

@test "unknown subcommand and option are named, exit 125" {
	run --separate-stderr "$UC" frobnicate
	[ "$status" -eq 125 ]
	[[ "$stderr" == *frobnicate* ]]
	run --separate-stderr "$UC" --frob
	[ "$status" -eq 125 ]
	[[ "$stderr" == *--frob* ]]
}

@test "help, --help and --version" {
	run "$UC" --version
	[[ "$output" =~ ^unshared-cli\ [0-9]+\.[0-9]+ ]]
	run "$UC" help
	[ "$status" -eq 0 ]
	[[ "$output" == *spawn* ]]
	for sub in spawn get-root help; do
		run "$UC" "$sub" --help
		[ "$status" -eq 0 ]
		[[ "$output" == Usage:* ]]
	done
	run "$UC" help spawn
	[[ "$output" == *--data-dir* ]]
}

@test "get-root: absolute kept, name under UNSHARED_ROOT, none is /" {
	run "$UC" get-root /abs/path
	[ "$output" = /abs/path ]
	UNSHARED_ROOT=/x/y run "$UC" get-root erlang
	[ "$output" = /x/y/erlang ]
	run "$UC" get-root
	[ "$output" = / ]
	run "$UC" get-root ../etc
	[ "$status" -eq 125 ]
}

@test "data-dir: writes reach the host, nothing is lost; :ro is read-only" {
	mkdir -p "$BATS_TEST_TMPDIR/data"
	echo keep >"$BATS_TEST_TMPDIR/data/old"
	run "$UC" spawn --root "$BB" --data-dir "$BATS_TEST_TMPDIR/data:/var/data" -- \
		/bin/sh -c 'cat /var/data/old && echo new >/var/data/new'
	[ "$status" -eq 0 ]
	[ "$output" = keep ]
	[ "$(cat "$BATS_TEST_TMPDIR/data/new")" = new ]
	[ "$(cat "$BATS_TEST_TMPDIR/data/old")" = keep ]
	run "$UC" spawn --root "$BB" --data-dir "$BATS_TEST_TMPDIR/data:/var/data:ro" -- /bin/sh -c 'echo x >/var/data/ro'
	[ "$status" -ne 0 ]
	[ ! -e "$BATS_TEST_TMPDIR/data/ro" ]
}

@test "data-dir: a single file, and a relative source" {
	echo content >"$BATS_TEST_TMPDIR/file"
	cd "$BATS_TEST_TMPDIR"
	run "$UC" spawn --root "$BB" --data-dir file:/etc/motd -- /bin/cat /etc/motd
	[ "$status" -eq 0 ]
	[ "$output" = content ]
}

@test "data-dir without --root binds over a host path privately" {
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	echo seen >"$BATS_TEST_TMPDIR/a/f"
	run "$UC" spawn --data-dir "$BATS_TEST_TMPDIR/a:$BATS_TEST_TMPDIR/b" -- /bin/cat "$BATS_TEST_TMPDIR/b/f"
	[ "$status" -eq 0 ]
	[ "$output" = seen ]
	[ ! -e "$BATS_TEST_TMPDIR/b/f" ]
}

@test "a symlink in the root never redirects a mount onto the host" {
	local r=$BATS_TEST_TMPDIR/root
	cp -a "$BB" "$r"
	ln -s /etc "$r/evil"
	ln -s ../../../../../../../../etc "$r/rel"
	mkdir -p "$BATS_TEST_TMPDIR/payload"
	"$UC" spawn --root "$r" --data-dir "$BATS_TEST_TMPDIR/payload:/evil/ut-escape" -- /bin/true || true
	"$UC" spawn --root "$r" --data-dir "$BATS_TEST_TMPDIR/payload:/rel/ut-escape2" -- /bin/true || true
	[ ! -e /etc/ut-escape ]
	[ ! -e /etc/ut-escape2 ]
}

@test "a root without /dev nodes or /proc gets a minimal /dev and /proc" {
	local r=$BATS_TEST_TMPDIR/bare
	mkdir -p "$r/bin"
	cp "$BB/bin/busybox" "$r/bin/"
	ln -s busybox "$r/bin/sh"
	run "$UC" spawn --root "$r" -- /bin/busybox sh -c 'test -c /dev/null && test -c /dev/urandom && test -c /dev/zero && test -d /proc/self && echo fine'
	[ "$status" -eq 0 ]
	[ "$output" = fine ]
	run "$UC" spawn --root "$r" --no-default-mounts -- /bin/busybox sh -c 'test -c /dev/null || echo none'
	[ "$output" = none ]
}

@test "the old root is out of reach and /proc is the instance's" {
	run "$UC" spawn --pid --root "$BB" -- /bin/sh -c 'ls /; cat /proc/self/mountinfo'
	[ "$status" -eq 0 ]
	[[ "$output" != *"$BATS_TEST_TMPDIR"* ]] || [[ "$output" == *" / "* ]]
	[[ "$output" != *" /home "* ]]
	! grep -q "^work$" <<<"$output" || [ -d "$BB/work" ]
}

@test "--chdir, --tmpfs and --read-only" {
	run "$UC" spawn --root "$BB" --chdir /var --tmpfs /mnt --read-only -- /bin/sh -c 'pwd; echo x >/mnt/ok && cat /mnt/ok; touch /etc/nope 2>/dev/null || echo ro'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /var ]
	[ "${lines[1]}" = x ]
	[ "${lines[2]}" = ro ]
	[ ! -e "$BB/etc/nope" ]
}

@test "no COMMAND runs \$SHELL -i, falling back to /bin/sh" {
	run "$UC" spawn --root "$BB" <<<'echo from-shell; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *from-shell* ]]
}

@test "no_new_privs is set for the command" {
	run "$UC" spawn --root "$BB" -- /bin/grep NoNewPrivs /proc/self/status
	[[ "$output" == *1 ]]
}

@test "hooks: --preexec and --postexec run on the host with NAME in the environment" {
	local log=$BATS_TEST_TMPDIR/hooks
	run "$UC" spawn --name ut-hooks --preexec echo pre \$NAME ">>$log" --postexec echo post \$NAME \$UNSHARED_STATUS ">>$log" --root "$BB" -- /bin/sh -c 'exit 4'
	[ "$status" -eq 4 ]
	[ "$(cat "$log")" = "pre ut-hooks${NL:-
}post ut-hooks 4" ]
}

@test "hooks: --postexec runs even when --preexec fails, and spawn exits 125" {
	local log=$BATS_TEST_TMPDIR/hooks
	run "$UC" spawn --postexec echo post ">>$log" --preexec false --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[ "$(cat "$log")" = post ]
}

@test "hooks: --exec runs in order inside the root, then the command" {
	run "$UC" spawn --root "$BB" --exec echo one --exec 'echo two; test -x /bin/busybox && echo inside' -- /bin/echo three
	[ "$status" -eq 0 ]
	[ "$output" = "one${NL:-
}two
inside
three" ]
}

@test "hooks: --prechroot runs in the namespaces before the root is entered" {
	run "$UC" spawn --uts --hostname ut-pre --root "$BB" --prechroot 'test -d /usr/share && hostname > '"$BATS_TEST_TMPDIR/pre" -- /bin/true
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/pre")" = ut-pre ]
}

@test "hooks: --chroot wraps the entry into the root" {
	run "$UC" spawn --root "$BB" --chroot chroot -- /bin/sh -c 'test -x /bin/busybox && echo wrapped'
	[ "$status" -eq 0 ]
	[ "$output" = wrapped ]
}

@test "a double-forked daemon does not outlive the command, even without --pid" {
	run "$UC" spawn -- /bin/sh -c '(setsid sleep 5101 >/dev/null 2>&1 &); exit 0'
	[ "$status" -eq 0 ]
	sleep 0.2
	! pgrep -f '^sleep 5101$'
}

@test "SIGTERM to the front end is forwarded: tree gone, status 143" {
	"$UC" spawn --pid --root "$BB" -- /bin/sleep 5102 &
	local p=$!
	for _ in $(seq 50); do pgrep -f '^/bin/sleep 5102$' >/dev/null && break; sleep 0.05; done
	kill -TERM "$p"
	local rc=0
	wait "$p" || rc=$?
	[ "$rc" -eq 143 ]
	! pgrep -f 'sleep 5102'
}

@test "SIGINT during a run ends the command and tears down" {
	"$UC" spawn --name ut-int --root "$BB" -- /bin/sleep 5103 &
	local p=$!
	for _ in $(seq 50); do pgrep -f '^/bin/sleep 5103$' >/dev/null && break; sleep 0.05; done
	kill -INT "$p"
	local rc=0
	wait "$p" || rc=$?
	[ "$rc" -eq 130 ]
	[ ! -e "$UNSHARED_STATE/ut-int" ]
}

@test "a name in use is refused with 125; the first instance is untouched" {
	"$UC" spawn --name ut-dup --root "$BB" -- /bin/sleep 5104 &
	local p=$!
	for _ in $(seq 50); do [ -e "$UNSHARED_STATE/ut-dup/pid" ] && break; sleep 0.05; done
	run --separate-stderr "$UC" spawn --name ut-dup --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"in use"* ]]
	kill -0 "$p"
	kill -TERM "$p"
	wait "$p" || true
}

@test "the front end runs under dash, busybox ash and bash --posix" {
	local sh
	for sh in dash "busybox ash" "bash --posix"; do
		run $sh "$UC" spawn --root "$BB" -- /bin/echo "hi from $sh"
		[ "$status" -eq 0 ]
		[ "$output" = "hi from $sh" ]
	done
}

@test "nothing is left in the state directory after an instance ends" {
	"$UC" spawn --name ut-clean --root "$BB" -- /bin/true
	[ -z "$(ls "$UNSHARED_STATE")" ]
}

@test "the hot path forks nothing in sh: dash -> forkn -> init -> pivot -> command" {
	command -v strace >/dev/null || need strace
	mkdir -p "$UNSHARED_STATE" # made once per boot, not per spawn
	strace -f -e trace=execve,clone,clone3,fork,vfork -o "$BATS_TEST_TMPDIR/trace" \
		"$UC" spawn --mount --pid --ipc --uts --root "$BB" -- /bin/true
	grep -vE 'resumed|exited|\+\+\+' "$BATS_TEST_TMPDIR/trace" >"$BATS_TEST_TMPDIR/calls"
	cat "$BATS_TEST_TMPDIR/calls"
	[ "$(grep -c 'execve(' "$BATS_TEST_TMPDIR/calls")" -eq 4 ]
	[ "$(grep -cE 'clone3?\(|fork\(' "$BATS_TEST_TMPDIR/calls")" -eq 2 ]
}
