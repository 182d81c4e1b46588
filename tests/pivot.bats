#!/usr/bin/env bats
# utils/pivot: namespaces, mount operations inside a new root, pivot_root, exec.
# Needs root, busybox-static and mksquashfs. Every test builds a busybox root in
# its own BATS_TEST_TMPDIR; teardown fails the test if the host's mount table
# or /etc changed, or a mount leaked under the test's directory (pivot must only
# ever mount in its own mount namespace).
# The shell code run inside the root is in single quotes on purpose:
# shellcheck disable=SC2016

load helpers

PIVOT="$BATS_TEST_DIRNAME/../utils/pivot"

# The host's mount points. Other suites may run at the same time and mount
# their own network namespaces and instances (/run/netns, /run/unshared) or
# things under their own /tmp directories: those are left out. Anything pivot
# could leak lands on a path a test gave it: under BATS_TEST_TMPDIR (checked
# on its own in teardown) or on the host's own /, /etc, /dev, /proc.
mountpoints() {
	awk '{print $5}' /proc/self/mountinfo | grep -Ev '^/(run/netns|run/unshared|tmp)/' | sort
}

# snapshot DIR: names, sizes, modes, mtimes and contents of everything in DIR.
snapshot() {
	find "$1" -printf '%p %y %s %m %T@ %l\n' | sort
	find "$1" -type f -exec sha256sum {} + | sort
}

# pivot_error: a single line in pivot's voice.
pivot_error() {
	[ "${#lines[@]}" -eq 1 ] || { echo "expected one line, got: $output"; return 1; }
	[[ $output == "unshared-cli: pivot: "* ]] || { echo "not pivot's voice: $output"; return 1; }
}

# Loop devices are released asynchronously once the last mount is gone.
loops_settle() {
	local i
	for i in $(seq 50); do
		[ "$(losetup -a | sort)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "loop devices left: $(losetup -a)"
	return 1
}

setup() {
	[ -x "$PIVOT" ] || { echo "build it first: make utils/pivot"; return 1; }
	[ "$(id -u)" = 0 ] || need "root"
	command -v busybox >/dev/null || need "busybox-static"
	ROOT=$BATS_TEST_TMPDIR/root
	HOST=$BATS_TEST_TMPDIR/host
	make_bbroot "$ROOT"
	echo "root motd" >"$ROOT/etc/motd"
	mkdir -p "$HOST/data"
	echo "old" >"$HOST/data/old"
	echo "host file" >"$HOST/file.txt"
	mountpoints >"$BATS_TEST_TMPDIR/mounts.before"
	find /etc -maxdepth 1 | sort >"$BATS_TEST_TMPDIR/etc.before"
}

teardown() {
	local leaked m status=0
	[ -n "${NETNS_PID:-}" ] && kill "$NETNS_PID" 2>/dev/null
	leaked=$(awk -v d="$BATS_TEST_TMPDIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	for m in $leaked; do umount -l "$m"; done
	if [ -n "$leaked" ]; then
		echo "mounts leaked on the host: $leaked"
		status=1
	fi
	mountpoints | diff "$BATS_TEST_TMPDIR/mounts.before" - || status=1
	find /etc -maxdepth 1 | sort | diff "$BATS_TEST_TMPDIR/etc.before" - || status=1
	rm -rf "${BATS_TEST_TMPDIR:?}"/*
	return $status
}

@test "the command runs inside the root, host paths are absent" {
	run -0 "$PIVOT" "$ROOT" ls /
	[ "$output" = "$(ls "$ROOT")" ]
	run -0 "$PIVOT" "$ROOT" -- cat /etc/motd
	[ "$output" = "root motd" ]
	run -0 "$PIVOT" "$ROOT" sh -c "test ! -e /usr/lib && test ! -e /lib && test ! -e '$HOST' && pwd"
	[ "$output" = "/" ]
}

@test "the old root is out of reach: only the root's entries and mounts" {
	run -0 "$PIVOT" --proc /proc "$ROOT" sh -c 'ls -a /; awk "{print \$5}" /proc/self/mountinfo'
	[ "$output" = "$(ls -a "$ROOT"; printf '/\n/proc')" ]
}

@test "no_new_privs is set and pivot leaves no descriptor behind" {
	run -0 "$PIVOT" --proc /proc "$ROOT" grep NoNewPrivs /proc/self/status
	[ "$output" = "$(printf 'NoNewPrivs:\t1')" ]
	outside=$(busybox ls /proc/self/fd)
	inside=$("$PIVOT" --proc /proc "$ROOT" ls /proc/self/fd)
	[ "$inside" = "$outside" ]
}

@test "--data-dir rw: writes reach the host, existing files stay" {
	run -0 "$PIVOT" --data-dir "$HOST/data:/data" "$ROOT" sh -c 'cat /data/old; echo new >/data/new'
	[ "$output" = "old" ]
	[ "$(cat "$HOST/data/new")" = "new" ]
	[ "$(cat "$HOST/data/old")" = "old" ]
	run -0 "$PIVOT" --data-dir "$HOST/data:/data:rw" "$ROOT" sh -c 'echo again >/data/new'
	[ "$(cat "$HOST/data/new")" = "again" ]
}

@test "--data-dir :ro is read-only, recursively" {
	run -1 "$PIVOT" --data-dir "$HOST/data:/data:ro" "$ROOT" sh -c 'cat /data/old && echo x >/data/new'
	[[ $output == *old*"Read-only file system"* ]]
	[ ! -e "$HOST/data/new" ]
}

@test "--data-dir of a regular file, rw and ro" {
	run -0 "$PIVOT" --data-dir "$HOST/file.txt:/etc/conf.txt" "$ROOT" sh -c 'cat /etc/conf.txt; echo more >>/etc/conf.txt'
	[ "$output" = "host file" ]
	[ "$(cat "$HOST/file.txt")" = "$(printf 'host file\nmore')" ]
	# the mount point made inside the root is an empty file
	[ -f "$ROOT/etc/conf.txt" ] && [ ! -s "$ROOT/etc/conf.txt" ]
	run -1 "$PIVOT" --data-dir "$HOST/file.txt:/etc/conf.txt:ro" "$ROOT" sh -c 'echo x >>/etc/conf.txt'
	[[ $output == *"Read-only file system"* ]]
}

@test "--data-dir: a DST may contain ':' (SRC/DST split on the first ':')" {
	run -0 "$PIVOT" --dev /dev --data-dir "$HOST/data:/a:b:ro" "$ROOT" sh -c 'cat /a:b/old; ! touch /a:b/x 2>/dev/null'
	[ "$output" = "old" ]
}

@test "symlinks in destinations never lead out of the root" {
	ln -s /etc "$ROOT/abs"
	ln -s ../../../../../../../../../../etc "$ROOT/rel"
	ln -s "$HOST/dangling-target" "$ROOT/dang"
	ln -s "$HOST" "$ROOT/parent"
	ln -s "$HOST" "$ROOT/parent2"
	mkdir -p "$ROOT$HOST"
	ln -s /proc/self/root "$ROOT/magic"
	run -0 "$PIVOT" --proc /proc --tmpfs /abs/pivot-attack-abs --tmpfs /rel/pivot-attack-rel \
		--data-dir "$HOST/file.txt:/abs/pivot-attack-file" --tmpfs /parent2/sub/mnt \
		"$ROOT" awk '{print $5}' /proc/self/mountinfo
	[ "$output" = "$(printf '/\n/proc\n/etc/pivot-attack-abs\n/etc/pivot-attack-rel\n/etc/pivot-attack-file\n%s/sub/mnt' "$HOST")" ]
	# made inside the root (allowed), never on the host
	[ -d "$ROOT/etc/pivot-attack-abs" ] && [ -d "$ROOT/etc/pivot-attack-rel" ]
	[ -d "$ROOT$HOST/sub/mnt" ]
	[ ! -e /etc/pivot-attack-abs ] && [ ! -e /etc/pivot-attack-rel ] && [ ! -e /etc/pivot-attack-file ]
	[ ! -e "$HOST/sub" ]
	# a parent component pointing at a host path missing in the root: refused
	rm -r "$ROOT$HOST/sub"
	rmdir "$ROOT$HOST"
	run -125 "$PIVOT" --tmpfs /parent/sub/mnt "$ROOT" true
	pivot_error
	[[ $output == *"/parent is a symbolic link to nothing in the root" ]]
	[ ! -e "$HOST/sub" ]
	run -125 "$PIVOT" --tmpfs /dang/sub "$ROOT" true
	pivot_error
	[[ $output == *"symbolic link to nothing"* ]]
	run -125 "$PIVOT" --tmpfs /dang "$ROOT" true
	pivot_error
	[ ! -e "$HOST/dangling-target" ]
	run -125 "$PIVOT" --proc /proc --tmpfs /magic/etc/pivot-attack-magic "$ROOT" true
	pivot_error
	[ ! -e /etc/pivot-attack-magic ]
}

@test "--default-mounts in a root without dev/ and proc/" {
	bare=$BATS_TEST_TMPDIR/bare
	make_bbroot "$bare"
	rmdir "$bare/dev" "$bare/proc"
	run -0 "$PIVOT" --default-mounts "$bare" sh -c '
		for n in null zero full random urandom tty; do test -c /dev/$n || echo "no $n"; done
		echo x >/dev/null; head -c 3 /dev/zero | wc -c
		test -L /dev/ptmx && test -L /dev/fd && test -L /dev/stdin && test -k /dev/shm && ls /dev/pts
		test -r /proc/self/status && echo proc'
	[ "$output" = "$(printf '3\nptmx\nproc')" ]
	# the mount points were made inside the root (allowed), empty
	[ -d "$bare/dev" ] && [ -z "$(ls -A "$bare/dev")" ] && [ -d "$bare/proc" ]
}

@test "--default-mounts comes before every other operation" {
	run -0 "$PIVOT" --tmpfs /dev/extra --default-mounts "$ROOT" sh -c 'grep -c " /dev/extra " /proc/self/mountinfo'
	[ "$output" = 1 ]
}

@test "--ephemeral leaves the root on disk byte-identical" {
	rm -r "$ROOT/proc"
	chmod 0751 "$ROOT"
	before=$(snapshot "$ROOT")
	run -0 "$PIVOT" --ephemeral --default-mounts --tmpfs /new/mnt/point \
		--data-dir "$HOST/file.txt:/etc/conf.txt" "$ROOT" sh -c '
		rm /bin/ls /etc/motd; echo x >/new-file; mkdir /d; echo changed >/etc/other
		chmod 700 /etc; rm -r /tmp; ls -d /new/mnt/point /etc/conf.txt /new-file; stat -c %a /'
	[ "$output" = "$(printf '/etc/conf.txt\n/new-file\n/new/mnt/point\n751')" ]
	[ "$(snapshot "$ROOT")" = "$before" ]
}

@test "--overlay-dir keeps the changes in DIR across runs" {
	dir=$BATS_TEST_TMPDIR/persist
	before=$(snapshot "$ROOT")
	run -0 "$PIVOT" --overlay-dir "$dir" "$ROOT" sh -c 'echo persisted >/state; rm /etc/motd'
	run -0 "$PIVOT" --overlay-dir "$dir" "$ROOT" sh -c 'cat /state; test ! -e /etc/motd && echo gone'
	[ "$output" = "$(printf 'persisted\ngone')" ]
	[ "$(cat "$dir/upper/state")" = persisted ]
	[ "$(snapshot "$ROOT")" = "$before" ]
}

@test "--read-only: the root refuses writes, a :rw data dir and a tmpfs do not" {
	run -0 "$PIVOT" --read-only --default-mounts --data-dir "$HOST/data:/data:rw" --tmpfs /tmp "$ROOT" sh -c '
		touch /x 2>/dev/null && echo root-writable
		mkdir /etc/y 2>/dev/null && echo etc-writable
		echo ok >/data/new && echo ok >/tmp/new && echo writable'
	[ "$output" = writable ]
	[ "$(cat "$HOST/data/new")" = ok ]
	[ ! -e "$ROOT/x" ]
}

@test "--read-only on NEWROOT / makes the host's submounts read-only too" {
	run -0 "$PIVOT" --read-only / sh -c "
		touch '$HOST/x' 2>/dev/null && echo root-writable
		mkdir /dev/pivot-ro-test 2>/dev/null && echo dev-writable; echo done"
	rmdir /dev/pivot-ro-test 2>/dev/null || true
	[ "$output" = "done" ]
	[ ! -e "$HOST/x" ]
}

@test "--ro-bind is recursively read-only, --bind adds nodev, --dev-bind does not" {
	mkdir -p "$ROOT/src/sub"
	run -0 "$PIVOT" --default-mounts --tmpfs /src/sub --ro-bind "$ROOT/src" /ro "$ROOT" sh -c '
		touch /src/sub/x && echo submount-writable-at-source
		touch /ro/sub/y 2>/dev/null && echo ro-submount-writable
		touch /ro/z 2>/dev/null && echo ro-writable; grep -c " /ro/sub " /proc/self/mountinfo'
	[ "$output" = "$(printf 'submount-writable-at-source\n1')" ]
	run -0 "$PIVOT" --bind /dev/null /null "$ROOT" sh -c '(echo x >/null) 2>&- || echo nodev'
	[ "$output" = nodev ]
	run -0 "$PIVOT" --dev-bind /dev/null /null "$ROOT" sh -c 'echo x >/null && echo dev'
	[ "$output" = dev ]
}

@test "--tmpfs, --proc, --mqueue, --remount-ro" {
	run -0 "$PIVOT" --unshare-ipc --dev /dev --tmpfs /tmp --proc /proc --mqueue /mq --tmpfs /t --remount-ro /t "$ROOT" sh -c '
		echo x >/tmp/f && cat /tmp/f; touch /t/x 2>/dev/null || echo t-ro
		awk "{ for (i = 7; \$i != \"-\"; i++); print \$5, \$(i + 1) }" /proc/self/mountinfo | grep -v "^/dev"'
	[ "$output" = "$(printf 'x\nt-ro\n/ %s\n/tmp tmpfs\n/proc proc\n/mq mqueue\n/t tmpfs' "$(findmnt -no FSTYPE -T "$ROOT")")" ]
	[ ! -e "$ROOT/tmp/f" ]
	run -125 "$PIVOT" --remount-ro /etc "$ROOT" true
	pivot_error
	[[ $output == *"remount-ro /etc: not a mount point" ]]
}

@test "operations apply in order" {
	run -0 "$PIVOT" --tmpfs /a --data-dir "$HOST/data:/a/data" "$ROOT" cat /a/data/old
	[ "$output" = old ]
	run -0 "$PIVOT" --data-dir "$HOST/data:/a/data" --tmpfs /a "$ROOT" sh -c 'ls -A /a; echo end'
	[ "$output" = end ]
}

@test "a mount failure names the operation, its source and destination" {
	run -125 "$PIVOT" --bind "$HOST/file.txt" /etc "$ROOT" true
	pivot_error
	[[ $output == "unshared-cli: pivot: bind $HOST/file.txt on /etc: "* ]]
	run -125 "$PIVOT" --bind "$HOST/missing" /x "$ROOT" true
	[ "$output" = "unshared-cli: pivot: bind $HOST/missing on /x: No such file or directory" ]
	run -125 "$PIVOT" --tmpfs / "$ROOT" true
	pivot_error
}

@test "--hostname with --unshare-uts stays private" {
	host_name=$(hostname)
	run -0 "$PIVOT" --unshare-uts --hostname pivot-test-box "$ROOT" hostname
	[ "$output" = pivot-test-box ]
	run -0 "$PIVOT" --hostname implied-uts "$ROOT" hostname
	[ "$output" = implied-uts ]
	[ "$(hostname)" = "$host_name" ]
}

@test "--unshare-net: only lo, and it is up" {
	run -0 "$PIVOT" --unshare-net "$ROOT" ip -o link
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "1: lo: <LOOPBACK,UP,LOWER_UP>"* ]]
}

# netns_holder: a process in a network namespace of its own, NETNS_PID
# (teardown ends it), once it is there
netns_holder() {
	unshare -n sleep 60 3>&- &
	NETNS_PID=$!
	# until unshare has run, the pid is still in the host's network namespace
	for _ in $(seq 100); do
		[ "$(readlink "/proc/$NETNS_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && return 0
		sleep 0.05
	done
	return 1
}

@test "--netns joins a network namespace" {
	netns_holder
	run -0 "$PIVOT" --netns "/proc/$NETNS_PID/ns/net" "$ROOT" ip -o link
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "1: lo: <LOOPBACK>"* ]]
	run -125 "$PIVOT" --netns "/proc/$NETNS_PID/ns/net" --unshare-net "$ROOT" true
	pivot_error
}

# send_netns MODE NS PIVOT-ARGS...: pivot --netns-from 5 PIVOT-ARGS..., fed as
# nsnet up --netns-to feeds it: MODE y ("y" with NS's descriptor), bare ("y"
# alone), nul (a NUL byte), eof (nothing)
send_netns() {
	python3 -c '
import array, os, socket, subprocess, sys
mode, ns = sys.argv[1:3]
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
if a.fileno() == 5:
	a = socket.socket(fileno=os.dup(a.detach())) # dup2 below replaces 5
os.dup2(b.fileno(), 5)
p = subprocess.Popen(sys.argv[3:], pass_fds=(5,))
os.close(5)
b.close()
if mode == "y":
	fd = os.open(ns, os.O_RDONLY)
	a.sendmsg([b"y"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
elif mode == "bare":
	a.send(b"y")
elif mode == "nul":
	a.send(b"\0")
a.close()
sys.exit(p.wait())' "$@"
}

@test "--netns-from N: the network namespace sent through N is joined before the command" {
	netns_holder
	local ns=/proc/$NETNS_PID/ns/net
	run -0 send_netns y "$ns" "$PIVOT" --netns-from 5 --proc /proc "$ROOT" sh -c 'ip -o link; ls /proc/self/fd'
	[[ ${lines[0]} == "1: lo: <LOOPBACK>"* ]]
	# neither the socket nor the namespace's descriptor reaches the command
	[ "${lines[*]:1}" = "0 1 2 3" ]
	# a NUL: whoever made the network failed, and said so: not a word more
	run -125 --separate-stderr send_netns nul "$ns" "$PIVOT" --netns-from 5 "$ROOT" true
	[ -z "$output" ] && [ -z "$stderr" ]
	run -125 --separate-stderr send_netns eof "$ns" "$PIVOT" --netns-from 5 "$ROOT" true
	[ "$stderr" = "unshared-cli: pivot: --netns-from 5: whoever was to make the network ended without a word" ]
	run -125 --separate-stderr send_netns bare "$ns" "$PIVOT" --netns-from 5 "$ROOT" true
	[ "$stderr" = "unshared-cli: pivot: --netns-from 5: no network namespace came with the message" ]
	run -125 --separate-stderr send_netns y "$ns" "$PIVOT" --netns-from 5 --netns "$ns" "$ROOT" true
	[ "$stderr" = "unshared-cli: pivot: --netns, --netns-from, --unshare-net: only one of them can be given" ]
}

@test "exit status: 127 command not found, 126 not executable" {
	run -127 "$PIVOT" "$ROOT" no-such-command
	[ "$output" = "unshared-cli: pivot: no-such-command: command not found" ]
	run -127 "$PIVOT" "$ROOT" /bin/no-such-command
	run -126 "$PIVOT" "$ROOT" /etc/motd
	[ "$output" = "unshared-cli: pivot: /etc/motd: Permission denied" ]
	run -3 "$PIVOT" "$ROOT" sh -c 'exit 3'
}

@test "usage and validation errors: 125, one line, nothing made" {
	mkdir "$HOST/notdir" && touch "$HOST/notdir/f"
	while IFS= read -r args; do
		eval "set -- $args"
		echo "case: $args"
		run -125 "$PIVOT" --tmpfs /made "$@"
		pivot_error
		[ ! -e "$ROOT/made" ]
	done <<-EOF
		--frob "$ROOT" true
		--bind
		--bind /tmp
		"$ROOT"
		"$ROOT" --
		--data-dir relative:/x "$ROOT" true
		--data-dir "$HOST/data" "$ROOT" true
		--data-dir "$HOST/data:ro" "$ROOT" true
		--data-dir "$HOST/nope:/x" "$ROOT" true
		--bind "$HOST/nope" /x "$ROOT" true
		--overlay "$HOST/file.txt" /x "$HOST/w" "$ROOT" true
		--overlay "$HOST/data" /x "$HOST/file.txt" "$ROOT" true
		--squash "$HOST/data" /x "$ROOT" true
		--setenv "A=B" c "$ROOT" true
		--setenv ONLYKEY
		--hostname "" "$ROOT" true
		--ephemeral / true
		--ephemeral --overlay-dir "$HOST/o" "$ROOT" true
		--netns "$HOST/nope" "$ROOT" true
		"$HOST/nope" true
		"$HOST/file.txt" true
	EOF
	run -125 "$PIVOT"
	pivot_error
}

@test "--mount-ns-made: refused without forkn's word, or in the caller's own mount namespace" {
	run -125 "$PIVOT" --tmpfs /made --mount-ns-made "$ROOT" true
	pivot_error
	[[ $output == *"UNSHARED_OUTER_MNTNS not set"* ]]
	# forkn's word: the id of the mount at / ("m:ID"), as /proc/PID/fdinfo shows it
	run -125 env UNSHARED_OUTER_MNTNS="m:$(awk '/^mnt_id:/ { print $2 }' /proc/self/fdinfo/0 </)" \
		"$PIVOT" --tmpfs /made --mount-ns-made "$ROOT" true
	pivot_error
	[[ $output == *"still in the caller's mount namespace"* ]]
	[ ! -e "$ROOT/made" ]
}

@test "forkn --pid --mount-ns + pivot --mount-ns-made: the init follows the pivot_root" {
	run "$BATS_TEST_DIRNAME/../utils/forkn" --pid --mount-ns -- "$PIVOT" --mount-ns-made --proc /proc "$ROOT" \
		/bin/sh -c 'env | grep -c UNSHARED_OUTER_MNTNS; readlink /proc/1/root; readlink /proc/1/cwd; [ -e /proc/1/root/bin/sh ] && echo ours'
	[ "$status" -eq 0 ]
	[ "$output" = "0"$'\n'"/"$'\n'"/"$'\n'"ours" ]
}

@test "--chdir and --setenv" {
	run -0 "$PIVOT" --chdir /etc --setenv FOO bar --setenv EMPTY "" "$ROOT" sh -c 'pwd; echo "$FOO"; env | grep -c ^EMPTY=$'
	[ "$output" = "$(printf '/etc\nbar\n1')" ]
	run -125 "$PIVOT" --chdir /nope "$ROOT" true
	[ "$output" = "unshared-cli: pivot: chdir into /nope: No such file or directory" ]
}

@test "--prechroot runs on the host side before the pivot" {
	run -0 "$PIVOT" --tmpfs /t --prechroot "echo hooked >'$ROOT/t/f'" "$ROOT" cat /t/f
	[ "$output" = hooked ]
	[ ! -e "$ROOT/t/f" ]
	run -125 "$PIVOT" --prechroot 'exit 3' "$ROOT" true
	[ "$output" = "unshared-cli: pivot: prechroot hook failed (status 3)" ]
}

@test "NEWROOT /: operations on the host tree, privately, no pivot" {
	mkdir "$HOST/mnt"
	run -0 "$PIVOT" --tmpfs "$HOST/mnt" / sh -c "touch '$HOST/mnt/x' && ls '$HOST/mnt' && pwd"
	[ "$output" = "$(printf 'x\n/')" ]
	[ ! -e "$HOST/mnt/x" ]
	run -0 "$PIVOT" --default-mounts / sh -c 'ls /dev /dev/pts'
	[ "$output" = "$(printf '/dev:\nfd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n\n/dev/pts:\nptmx')" ]
}

@test "--overlay SRC DST WORKDIR: writes go to WORKDIR/upper" {
	run -0 "$PIVOT" --overlay "$HOST/data" /o "$HOST/work" "$ROOT" sh -c 'cat /o/old; echo up >/o/new; rm /o/old'
	[ "$output" = old ]
	[ "$(cat "$HOST/work/upper/new")" = up ]
	[ "$(cat "$HOST/data/old")" = old ] && [ ! -e "$HOST/data/new" ]
}

@test "--squash and --squash-overlay: read-only image, no loop device left" {
	command -v mksquashfs >/dev/null || need "mksquashfs (squashfs-tools)"
	mkdir "$HOST/image"
	echo "from the image" >"$HOST/image/hello"
	mksquashfs "$HOST/image" "$BATS_TEST_TMPDIR/img.sqfs" -quiet -noappend >/dev/null
	loops=$(losetup -a | sort)
	run -0 "$PIVOT" --dev /dev --squash "$BATS_TEST_TMPDIR/img.sqfs" /sq "$ROOT" sh -c 'cat /sq/hello; touch /sq/x 2>/dev/null || echo ro'
	[ "$output" = "$(printf 'from the image\nro')" ]
	loops_settle "$loops"
	run -0 "$PIVOT" --squash-overlay "$BATS_TEST_TMPDIR/img.sqfs" /sq "$HOST/work" "$ROOT" sh -c 'cat /sq/hello; echo w >/sq/new'
	[ "$output" = "from the image" ]
	[ "$(cat "$HOST/work/upper/new")" = w ]
	loops_settle "$loops"
	run -125 "$PIVOT" --squash "$HOST/file.txt" /sq "$ROOT" true
	pivot_error
	loops_settle "$loops"
}
