#!/usr/bin/env bats
# Users and privileges: user namespaces and id maps (forkn), rootless spawns
# run as `nobody`, --setuid/--setgid/--groups, capabilities, no_new_privs,
# seccomp (pivot), the clear errors, and host ownership left as it was.
# Markers: sleep 56NN.
# The shell code run inside the root is in single quotes on purpose:
# shellcheck disable=SC2016

load helpers
MARK=56

setup_file() {
	# what nobody runs must be readable by nobody: a root, data, state, all
	# under one directory of ours (the bats temp dirs are root's, 0700)
	NB=$(mktemp -d /tmp/unshared-users.XXXXXX)
	chmod 755 "$NB"
	make_bbroot "$NB/bb"
	# users and groups of the root's own, none of them the host's
	cat >>"$NB/bb/etc/passwd" <<-'EOF'
		svc:x:1234:1235:service:/:/bin/sh
		other:x:2000:2000::/:/bin/sh
	EOF
	cat >>"$NB/bb/etc/group" <<-'EOF'
		svcgrp:x:1235:
		extra:x:1240:other,svc
		more:x:1241:svc
		other:x:2000:
	EOF
	chmod -R a+rX "$NB"
	echo "$NB" >"$BATS_FILE_TMPDIR/nb"
}

teardown_file() {
	rm -rf --one-file-system "$(cat "$BATS_FILE_TMPDIR/nb")"
}

setup() {
	common_setup
	NB=$(cat "$BATS_FILE_TMPDIR/nb")
	BB=$NB/bb
	# this test's TMPDIR for nobody: its rootless state lands in NBT/unshared-65534
	NBT=$NB/t$BATS_TEST_NUMBER
	mkdir -m 1777 "$NBT"
}

teardown() {
	local left
	left=$(ls "$NBT"/unshared-* 2>/dev/null || true)
	[ -z "$left" ] || echo "rootless state left behind: $left" >&2
	common_teardown && [ -z "$left" ]
}

# as_nobody CMD [ARG...]: an argv run as nobody, in a clean environment (no
# UNSHARED_STATE from bats; TMPDIR is this test's), from /
as_nobody() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C TMPDIR="$NBT" \
		${XDG:+XDG_RUNTIME_DIR="$XDG"} su -s /bin/sh -c 'cd / && exec "$@"' -- nobody sh "$@"
}

need_nobody() {
	as_nobody test -x "$UC" -a -r "$TOP/lib/spawn.sh" -a -x "$BB/bin/busybox" ||
		need "the checkout readable by nobody (chmod -R a+rX $TOP)"
}

# capset VALUE NAME: the hex capability set NAME (CapEff, CapBnd, ...) in
# $output (lines of /proc/self/status) is VALUE
capset() {
	local v
	v=$(awk -v k="$2:" '$1 == k {print $2}' <<<"$output")
	[ "$((16#$v))" -eq "$(($1))" ] || { echo "$2 is $v, expected $1"; return 1; }
}

# fields N: line N (from 0) of $output, its words one space apart (a map line)
fields() {
	awk -v n="$(($1 + 1))" 'NR == n {$1 = $1; print}' <<<"$output"
}

# stat_tree DIR...: owner, group and mode of every file below DIR
stat_tree() {
	find "$@" -exec stat -c '%n %u %g %a' {} + | sort
}

# bpf_insn CODE JT JF K: one struct sock_filter, little-endian
bpf_insn() {
	local c=$1 k=$4
	# shellcheck disable=SC2059 # the format is the bytes
	printf "$(printf '\\x%02x' $((c & 255)) $((c >> 8 & 255)) "$2" "$3" \
		$((k & 255)) $((k >> 8 & 255)) $((k >> 16 & 255)) $((k >> 24 & 255)))"
}

# seccomp_deny FILE NR...: a raw BPF program (what --seccomp takes; libseccomp's
# seccomp_export_bpf writes the same) that fails syscalls NR... with EPERM,
# allows the rest and kills a process of another architecture
seccomp_deny() {
	local out=$1 arch n i=0 nr
	shift
	case $(uname -m) in
	x86_64) arch=0xc000003e ;;
	aarch64) arch=0xc00000b7 ;;
	*) return 1 ;;
	esac
	n=$#
	{
		bpf_insn 0x20 0 0 4                 # ld arch
		bpf_insn 0x15 0 $((n + 3)) "$arch"  # jeq arch, else kill
		bpf_insn 0x20 0 0 0                 # ld nr
		for nr in "$@"; do
			bpf_insn 0x15 $((n - i)) 0 "$nr" # jeq nr: EPERM
			i=$((i + 1))
		done
		bpf_insn 0x06 0 0 0x7fff0000        # allow
		bpf_insn 0x06 0 0 0x00050001        # errno EPERM
		bpf_insn 0x06 0 0 0x80000000        # kill process
	} >"$out"
}

# mkdir and mkdirat, by architecture
mkdir_nrs() {
	case $(uname -m) in
	x86_64) echo 83 258 ;;
	aarch64) echo 34 ;;
	*) return 1 ;;
	esac
}

# ---- root: user namespaces and maps ----

@test "root: --user --map-root-user: uid and gid 0 inside, mapped to 0" {
	run --separate-stderr "$UC" spawn --user --map-root-user --root "$BB" -- \
		/bin/sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ] && [ "${lines[1]}" = 0 ]
	[ "$(fields 2)" = "0 0 1" ] && [ "$(fields 3)" = "0 0 1" ]
	[ "${lines[4]}" != "$(readlink /proc/self/ns/user)" ]
}

@test "root: --uid-map/--gid-map: the maps inside, root inside is nobody outside" {
	run --separate-stderr "$UC" spawn --user --uid-map "0 65534 1" --gid-map "0 65534 1" --pid --root "$BB" -- \
		/bin/sh -c 'id -u; cat /proc/self/uid_map /proc/self/gid_map; echo $$'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(fields 1)" = "0 65534 1" ]
	[ "$(fields 2)" = "0 65534 1" ]
	[ "${lines[3]}" = 2 ]
	# several ranges, commas between them
	run --separate-stderr "$UC" spawn --uid-map "0 100000 1000,1000 1000 1" --gid-map "0 100000 1001" --root "$BB" -- \
		/bin/cat /proc/self/uid_map
	[ "$status" -eq 0 ]
	[ "$(fields 0)" = "0 100000 1000" ]
	[ "$(fields 1)" = "1000 1000 1" ]
}

@test "root: --map-auto: own id plus subordinate ranges (the default range without /etc/subuid)" {
	! grep -qs '^root:\|^0:' /etc/subuid || skip "root has /etc/subuid ranges here"
	run --separate-stderr "$UC" spawn --map-auto --root "$BB" -- /bin/cat /proc/self/uid_map /proc/self/gid_map
	[ "$status" -eq 0 ]
	[ "$(fields 0)" = "0 0 1" ]
	[ "$(fields 1)" = "1 1879048192 65536" ]
	[ "$(fields 3)" = "1 1879048192 65536" ]
}

@test "root: bad maps are one clear line, 125" {
	local bad
	for bad in "x" "0 0" "0 0 0" "0 0 1," "0 4294967295 1" "0 0 1;1 1 1"; do
		run --separate-stderr "$UC" spawn --uid-map "$bad" --root "$BB" -- /bin/true
		echo "$bad -> $status: $stderr"
		one_error
		[[ "$stderr" == "unshared-cli: "*"--uid-map"* ]]
	done
}

@test "root: --user with --bridge is refused before anything is made" {
	run --separate-stderr "$UC" spawn --user --map-root-user --bridge ut-nobr --addr auto --root "$BB" -- /bin/true
	one_error
	[[ "$stderr" == "unshared-cli: spawn: --user with --bridge: not supported yet"* ]]
	run ! ip link show ut-nobr
}

@test "root: --user with --pid, --net, --uts, --ipc, --proc, --tmpfs, --ephemeral" {
	run --separate-stderr "$UC" spawn --user --map-root-user --pid --net --uts --hostname ut-user --ipc \
		--tmpfs /scratch --proc /proc2 --ephemeral --root "$BB" -- \
		/bin/sh -c 'echo $$; hostname; ip -o link | wc -l; echo x >/scratch/f && cat /scratch/f; test -d /proc2/self && echo proc2; echo e >/etc/ut-eph && cat /etc/ut-eph'
	echo "$stderr"
	[ "$status" -eq 0 ]
	# the command is pid 2, under forkn's init
	[ "$output" = "2${NL:-
}ut-user
1
x
proc2
e" ]
	[ ! -e "$BB/etc/ut-eph" ]
}

# ---- root: identity, capabilities, no_new_privs, seccomp ----

@test "--setuid/--setgid by number: the ids, no capabilities, no supplementary groups" {
	run --separate-stderr "$UC" spawn --root "$BB" --setuid 1000 --setgid 1001 -- \
		/bin/sh -c 'id -u; id -g; grep -E "^(Groups|Cap...|NoNewPrivs):" /proc/self/status'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ] && [ "${lines[1]}" = 1001 ]
	[ -z "$(awk '$1 == "Groups:" {print $2}' <<<"$output")" ]
	capset 0 CapEff
	capset 0 CapPrm
	capset 0 CapAmb
	capset 0 CapInh
	grep -q '^NoNewPrivs:.1$' <<<"$output"
}

@test "--setuid NAME: the root's own passwd and group (gid and groups from there)" {
	run --separate-stderr "$UC" spawn --root "$BB" --setuid svc -- /bin/sh -c 'id -u; id -g; id -G'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1234 ]
	[ "${lines[1]}" = 1235 ]
	[ "${lines[2]}" = "1235 1240 1241" ]
	# a number found in the root's passwd brings its gid too
	run --separate-stderr "$UC" spawn --root "$BB" --setuid 2000 -- /bin/sh -c 'id -g; id -G'
	[ "${lines[0]}" = 2000 ]
	[ "${lines[1]}" = "2000 1240" ]
}

@test "--setgid NAME, --groups by name and number" {
	run --separate-stderr "$UC" spawn --root "$BB" --setuid svc --setgid extra --groups more,77 -- \
		/bin/sh -c 'id -u; id -g; id -G'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1234 ]
	[ "${lines[1]}" = 1240 ]
	[ "${lines[2]}" = "1240 77 1241" ] # the kernel sorts the groups
	# --groups "": none at all
	run --separate-stderr "$UC" spawn --root "$BB" --setuid svc --groups '' -- /bin/sh -c 'id -G'
	[ "$output" = 1235 ]
}

@test "names are looked up in the root, never on the host; unknown ones: 125" {
	grep -q '^daemon:' /etc/passwd || skip "no daemon user on the host"
	run --separate-stderr "$UC" spawn --root "$BB" --setuid daemon -- /bin/true
	one_error
	[[ "$stderr" == "unshared-cli: spawn: --setuid 'daemon': no such user in $BB/etc/passwd" ]]
	run --separate-stderr "$UC" spawn --root "$BB" --setgid nogroup-here -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: spawn: --setgid 'nogroup-here': no such group"* ]]
	run --separate-stderr "$UC" spawn --root "$BB" --groups extra,nope -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: spawn: --groups 'nope': no such group"* ]]
	[ -z "$(ls "$UNSHARED_STATE" 2>/dev/null)" ]
}

@test "a root whose /etc/passwd is a symlink: names refused, numbers fine" {
	local r=$BATS_TEST_TMPDIR/lroot
	cp -a "$BB" "$r"
	rm "$r/etc/passwd"
	ln -s /etc/passwd "$r/etc/passwd"
	run --separate-stderr "$UC" spawn --root "$r" --setuid root -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"symbolic link"* ]]
	run --separate-stderr "$UC" spawn --root "$r" --setuid 1000 -- /bin/sh -c 'id -u'
	[ "$status" -eq 0 ]
	[ "$output" = 1000 ]
}

@test "capabilities: by default as before; --cap-drop all empties every set" {
	local host_bnd
	host_bnd=$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)
	run --separate-stderr "$UC" spawn --root "$BB" -- /bin/grep ^Cap /proc/self/status
	capset "0x$host_bnd" CapBnd
	capset "0x$host_bnd" CapEff
	capset 0 CapAmb
	run --separate-stderr "$UC" spawn --root "$BB" --cap-drop all -- /bin/grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	capset 0 CapEff
	capset 0 CapPrm
	capset 0 CapBnd
	capset 0 CapAmb
}

@test "capabilities: --cap-drop names, --cap-add over --cap-drop all, any case" {
	run --separate-stderr "$UC" spawn --root "$BB" --cap-drop net_raw,CAP_SYS_ADMIN -- /bin/grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(($(awk '$1 == "CapBnd:" {print "0x" $2}' <<<"$output") & (1 << 13 | 1 << 21)))" -eq 0 ]
	[ "$(($(awk '$1 == "CapEff:" {print "0x" $2}' <<<"$output") & (1 << 0)))" -ne 0 ]
	run --separate-stderr "$UC" spawn --root "$BB" --cap-drop all --cap-add NET_BIND_SERVICE,kill -- /bin/grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	capset '1 << 10 | 1 << 5' CapEff
	capset '1 << 10 | 1 << 5' CapBnd
	capset 0 CapInh
}

@test "capabilities: a non-root --setuid keeps what --cap-add names (ambient), nothing else" {
	run --separate-stderr "$UC" spawn --root "$BB" --setuid 1000 --cap-drop all --cap-add net_bind_service -- \
		/bin/grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	capset '1 << 10' CapAmb
	capset '1 << 10' CapEff
	capset '1 << 10' CapPrm
	capset '1 << 10' CapBnd
	# without --cap-drop: only the added one is kept, the bounding set is whole
	run --separate-stderr "$UC" spawn --root "$BB" --setuid 1000 --cap-add NET_BIND_SERVICE -- /bin/grep ^Cap /proc/self/status
	capset '1 << 10' CapEff
	capset '1 << 10' CapAmb
}

@test "capabilities: unknown names are one line, 125, nothing made" {
	local bad
	for bad in "--cap-drop bogus" "--cap-add CAP_NOPE" "--cap-drop ," "--cap-add a;b" "--cap-drop"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$UC" spawn --root "$BB" $bad -- /bin/true
		echo "$bad -> $status: $stderr"
		one_error
		[[ "$stderr" == "unshared-cli: spawn: --cap-"* ]]
	done
	[ -z "$(ls "$UNSHARED_STATE" 2>/dev/null)" ]
}

@test "no_new_privs is set, as root, with --user and after --setuid" {
	local opts
	for opts in "" "--user --map-root-user" "--setuid 1000" "--user --map-root-user --pid --setuid 0"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$UC" spawn --proc /proc --root "$BB" $opts -- /bin/grep NoNewPrivs /proc/self/status
		echo "$opts -> $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *1 ]]
	done
}

@test "--seccomp: a BPF program that fails mkdir with EPERM" {
	mkdir_nrs >/dev/null || skip "no syscall numbers for $(uname -m) here"
	# shellcheck disable=SC2046
	seccomp_deny "$BATS_TEST_TMPDIR/nomkdir.bpf" $(mkdir_nrs)
	run --separate-stderr "$UC" spawn --root "$BB" --tmpfs /w --seccomp "$BATS_TEST_TMPDIR/nomkdir.bpf" -- \
		/bin/sh -c 'mkdir /w/d 2>&1; echo "mkdir $?"; echo ok >/w/f && cat /w/f'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Operation not permitted"* ]]
	[ "${lines[1]}" = "mkdir 1" ]
	[ "${lines[2]}" = ok ]
	# without it, mkdir works
	run --separate-stderr "$UC" spawn --root "$BB" --tmpfs /w -- /bin/sh -c 'mkdir /w/d && echo made'
	[ "$output" = made ]
	# rootless too (no_new_privs makes a filter loadable without privilege)
	need_nobody
	cp "$BATS_TEST_TMPDIR/nomkdir.bpf" "$NBT/f.bpf"
	run --separate-stderr as_nobody "$UC" spawn --user --map-root-user --root "$BB" --tmpfs /w --seccomp "$NBT/f.bpf" -- \
		/bin/sh -c 'mkdir /w/d 2>/dev/null; echo "mkdir $?"'
	[ "$status" -eq 0 ]
	[ "$output" = "mkdir 1" ]
}

@test "--seccomp: a file that is no BPF program is refused, 125" {
	printf 'abc' >"$BATS_TEST_TMPDIR/bad.bpf"
	run --separate-stderr "$UC" spawn --root "$BB" --seccomp "$BATS_TEST_TMPDIR/bad.bpf" -- /bin/true
	one_error
	[[ "$stderr" == *"not a BPF program"* ]]
	run --separate-stderr "$UC" spawn --root "$BB" --seccomp "$BATS_TEST_TMPDIR/none.bpf" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: spawn: --seccomp"*"no such file"* ]]
}

# ---- rootless: run as nobody ----

@test "rootless: --user --map-root-user with every namespace, data dir, tmpfs, proc, ephemeral" {
	need_nobody
	mkdir -p "$NB/data$BATS_TEST_NUMBER"
	chown nobody: "$NB/data$BATS_TEST_NUMBER"
	run --separate-stderr as_nobody "$UC" spawn --user --map-root-user --mount --pid --ipc --uts --net \
		--hostname ut-rootless --root "$BB" --data-dir "$NB/data$BATS_TEST_NUMBER:/srv" --tmpfs /scratch \
		--proc /proc2 --ephemeral -- /bin/sh -c 'id -u; echo $$; hostname; ip -o link | wc -l
			echo d >/srv/new; echo t >/scratch/t && cat /scratch/t; test -d /proc2/1 && echo proc2
			echo e >/ut-eph && cat /ut-eph; cat /proc/self/uid_map'
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 2 ]
	[ "${lines[2]}" = ut-rootless ]
	[ "${lines[3]}" = 1 ]
	[ "${lines[4]}" = t ]
	[ "${lines[5]}" = proc2 ]
	[ "${lines[6]}" = e ]
	[ "$(fields 7)" = "0 65534 1" ]
	# what it wrote belongs to nobody on the host; the root is untouched
	[ "$(stat -c %U "$NB/data$BATS_TEST_NUMBER/new")" = nobody ]
	[ ! -e "$BB/ut-eph" ]
}

@test "rootless: without --pid, /proc is the one we see (a new one is not ours to make)" {
	need_nobody
	run --separate-stderr as_nobody "$UC" spawn --map-root-user --root "$BB" -- /bin/sh -c 'test -d /proc/self && echo proc'
	[ "$status" -eq 0 ]
	[ "$output" = proc ]
}

@test "rootless: --user alone keeps your own ids; the command has no capabilities" {
	need_nobody
	run --separate-stderr as_nobody "$UC" spawn --user --root "$BB" -- \
		/bin/sh -c 'id -u; cat /proc/self/uid_map; grep ^Cap /proc/self/status'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534 ]
	[ "$(fields 1)" = "65534 65534 1" ]
	capset 0 CapEff
	capset 0 CapAmb
	capset 0 CapInh
}

@test "rootless: --cap-drop all, no_new_privs, the namespace's bounding set" {
	need_nobody
	run --separate-stderr as_nobody "$UC" spawn --map-root-user --pid --root "$BB" --cap-drop all -- \
		/bin/grep -E '^(Cap|NoNewPrivs)' /proc/self/status
	[ "$status" -eq 0 ]
	capset 0 CapEff
	capset 0 CapBnd
	grep -q '^NoNewPrivs:.1$' <<<"$output"
}

@test "rootless: what needs host privileges is one clear line, 125, nothing made" {
	need_nobody
	run --separate-stderr as_nobody "$UC" spawn --user --map-root-user --net --bridge ut-nobr --addr auto --root "$BB" -- /bin/true
	one_error
	[[ "$stderr" == "unshared-cli: spawn: --bridge, --addr: need root (CAP_NET_ADMIN"* ]]
	run ! ip link show ut-nobr
	touch "$NBT/img"
	run --separate-stderr as_nobody "$UC" spawn --user --map-root-user --squash "$NBT/img" /mnt --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"need root (CAP_SYS_ADMIN"* ]]
	run --separate-stderr as_nobody "$UC" spawn --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"not root: add --user --map-root-user"* ]]
	[ -z "$(ls "$NBT"/unshared-65534 2>/dev/null)" ]
}

@test "rootless: maps beyond your own id need newuidmap, said clearly, 125" {
	need_nobody
	! command -v newuidmap >/dev/null || skip "newuidmap is installed here"
	run --separate-stderr as_nobody "$UC" spawn --uid-map "0 0 1" --root "$BB" -- /bin/true
	one_error
	[[ "$stderr" == *"needs newuidmap (package uidmap)"* ]]
	run --separate-stderr as_nobody "$UC" spawn --map-auto --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"/etc/subuid"* || "$stderr" == *newuidmap* ]]
}

@test "rootless: state in a private TMPDIR/unshared-UID, or XDG_RUNTIME_DIR/unshared" {
	need_nobody
	run --separate-stderr as_nobody "$UC" spawn --map-root-user --root "$BB" -- /bin/true
	[ "$status" -eq 0 ]
	[ "$(stat -c '%U %a' "$NBT/unshared-65534")" = "nobody 700" ]
	rm -rf "$NBT/unshared-65534"
	mkdir -m 700 "$NBT/xdg"
	chown nobody: "$NBT/xdg"
	XDG=$NBT/xdg run --separate-stderr as_nobody "$UC" spawn --map-root-user --detach --name ut-xdg --root "$BB" -- /bin/sleep 5601
	[ "$status" -eq 0 ]
	[ -d "$NBT/xdg/unshared/ut-xdg" ]
	XDG=$NBT/xdg run --separate-stderr as_nobody "$UC" stop ut-xdg
	[ "$status" -eq 0 ]
	[ ! -e "$NBT/xdg/unshared/ut-xdg" ]
	[ ! -e "$NBT/unshared-65534" ]
}

@test "rootless: a state directory that is a symlink or someone else's is refused" {
	need_nobody
	mkdir "$NBT/elsewhere"
	ln -s "$NBT/elsewhere" "$NBT/unshared-65534"
	run --separate-stderr as_nobody "$UC" spawn --map-root-user --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"not a directory owned by this user"* ]]
	rm "$NBT/unshared-65534"
	mkdir "$NBT/unshared-65534"
	run --separate-stderr as_nobody "$UC" spawn --map-root-user --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"not a directory owned by this user"* ]]
	[ -z "$(ls -A "$NBT/unshared-65534")" ] && [ -z "$(ls -A "$NBT/elsewhere")" ]
	rmdir "$NBT/unshared-65534"
}

@test "rootless: --detach, list, attach and stop" {
	need_nobody
	run --separate-stderr as_nobody "$UC" spawn --map-root-user --pid --uts --hostname ut-rlh --detach --name ut-rl \
		--root "$BB" -- /bin/sleep 5602
	[ "$status" -eq 0 ]
	[ "$output" = ut-rl ]
	run --separate-stderr as_nobody "$UC" list
	[[ "$output" == *ut-rl*user*running* ]]
	# attach enters what differs (not the host's cgroup namespace, refused here)
	run --separate-stderr as_nobody "$UC" attach ut-rl -- /bin/sh -c 'id -u; hostname; test -x /bin/busybox && echo in-root'
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "0${NL:-
}ut-rlh
in-root" ]
	run --separate-stderr as_nobody "$UC" stop ut-rl
	[ "$status" -eq 0 ]
	run ! pgrep -f '^/bin/sleep 5602$'
}

# ---- host ownership ----

@test "host ownership never changes: data dirs, the root, /dev nodes, in every mode" {
	local d=$NB/own$BATS_TEST_NUMBER before after opts
	mkdir -p "$d/sub"
	echo a >"$d/root-file"
	echo b >"$d/sub/user-file"
	chown 1000:1000 "$d/sub/user-file"
	chown nobody: "$d" "$d/sub"
	chmod 640 "$d/root-file"
	before=$(stat_tree "$d" "$BB" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty)
	for opts in "" "--user --map-root-user" "--uid-map 0,65534,1 --gid-map 0,65534,1 --pid" "--map-auto" \
		"--setuid 1000 --setgid 1000"; do
		# one word per option; the maps' commas stand for spaces here
		# shellcheck disable=SC2086
		set -- $opts
		run "$UC" spawn "${@//,/ }" --root "$BB" --data-dir "$d:/srv" --ephemeral -- \
			/bin/sh -c 'ls -l /dev /srv >/dev/null; echo x >/srv/sub/new-$$ 2>/dev/null; true'
		echo "$opts -> $status $output"
		[ "$status" -eq 0 ]
	done
	if as_nobody test -x "$UC"; then
		run as_nobody "$UC" spawn --map-root-user --pid --root "$BB" --data-dir "$d:/srv" --ephemeral -- \
			/bin/sh -c 'echo y >/srv/sub/rootless; chown 0:0 /srv/sub/user-file 2>/dev/null; true'
		[ "$status" -eq 0 ]
	fi
	after=$(stat_tree "$d" "$BB" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | grep -v '/new-[0-9]*\|/rootless ')
	diff <(echo "$before") <(echo "$after")
}

# ---- forkn on its own ----

@test "forkn --user: options imply the namespace; unknown map syntax is 125" {
	local f=$TOP/utils/forkn
	run --separate-stderr "$f" --map-root-user -- /bin/cat /proc/self/uid_map
	[ "$status" -eq 0 ]
	[ "$(fields 0)" = "0 0 1" ]
	run --separate-stderr "$f" --uid-map "0 65534 1" --gid-map "0 65534 1" --pid -- /bin/sh -c 'echo $$; id -u'
	[ "$status" -eq 0 ]
	[ "$output" = "2${NL:-
}0" ]
	run --separate-stderr "$f" --uid-map "1 2" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: forkn: --uid-map '1 2': expected INSIDE OUTSIDE COUNT"* ]]
}
