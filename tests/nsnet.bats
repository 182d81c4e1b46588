#!/usr/bin/env bats
# utils/nsnet on its own, without the front end: what `up` makes in one
# process and journals, how `check` and `up` refuse, how `up` rolls back a
# failure midway, what `down` undoes (exactly that, idempotently).
# Bridges: utns* (made here, deleted in teardown). Namespaces: uns-*. Host
# ends of veths: utv* (--veth). Addresses: 10.236.0.0/16, 10.237.0.0/16.

load helpers

# no marker processes here; a MARK of its own keeps kill_markers off others'
MARK=44

setup() {
	common_setup
	NS=$TOP/utils/nsnet
	[ -x "$NS" ] || need "utils/nsnet, built (make)"
	ND=$BATS_TEST_TMPDIR/net J=$BATS_TEST_TMPDIR/journal
}

teardown() {
	local n b i
	for n in $(ip netns list | awk '$1 ~ /^uns-/ {print $1}'); do ip netns del "$n" || true; done
	# a deleted namespace takes its veth along asynchronously
	for b in /sys/class/net/utns*; do
		[ -d "$b" ] || continue
		for i in $(seq 50); do
			[ -z "$(ls "$b/brif" 2>/dev/null)" ] && break
			sleep 0.1
		done
		ip link del "${b##*/}" || true
	done
	for b in /sys/class/net/utv*; do
		[ ! -e "$b" ] || ip link del "${b##*/}" 2>/dev/null || true
	done
	common_teardown
}

# nsup NAME ADDR [BRIDGE [OPTION...]]: nsnet up (bridge utns1), journal $J,
# host end utvSUFFIX (NAME without its uns-)
nsup() {
	local name=$1 addr=$2 br=${3:-utns1}
	shift 2
	[ $# -eq 0 ] || shift
	"$NS" up --net-dir "$ND" --journal "$J" --veth "utv${name#uns-}" "$@" "$br" "$name" "$addr"
}

mkbridge() {
	ip link add "$1" type bridge
	[ -z "${2:-}" ] || ip addr add "$2" dev "$1"
	ip link set "$1" up
}

leases() {
	[ -f "$ND/$1/hosts" ] || return 0
	grep -v -e '^#' -e '^127\.0\.0\.1	' -e '^::1	' "$ND/$1/hosts" || true
}


# ports_gone BRIDGE: wait (5 s at most) until BRIDGE has no port left
ports_gone() {
	local i
	for i in $(seq 50); do
		[ -z "$(ls "/sys/class/net/$1/brif")" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "it builds warning-free with musl-gcc, gcc and clang" {
	local cc inc built=0
	cd "$TOP"
	for cc in musl-gcc gcc clang; do
		command -v "$cc" >/dev/null || continue
		inc=''
		if [ "$cc" = musl-gcc ]; then
			[ -d build/kernel-include ] || continue # made by `make` with musl
			inc="-isystem build/kernel-include"
		fi
		# shellcheck disable=SC2086 # inc: zero or two words
		"$cc" -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes $inc -O2 \
			-o "$BATS_TEST_TMPDIR/nsnet.$cc" utils/nsnet.c
		"$BATS_TEST_TMPDIR/nsnet.$cc" --help | grep -q '^usage: nsnet check'
		built=$((built + 1))
	done
	[ "$built" -ge 2 ]
}

@test "usage errors: exit 125, one line" {
	for args in "" "frob" "up utns1 uns-a" "up utns1 uns-a auto" "check --frob utns1 uns-a auto" \
		"down" "up --net-dir rel --journal /j utns1 uns-a auto" \
		"up --netns-to 3 --net-dir /n --journal /j utns1 uns-a auto" "down --netns-to 3 --journal /j" \
		"up --netns-to 2 --net-dir /n --journal /j utns1 uns-a auto --exec /bin/true" \
		"up --trash /t --net-dir /n --journal /j utns1 uns-a auto" \
		"up --trash rel --net-dir /n --new-state /s utns1 uns-a auto"; do
		# shellcheck disable=SC2086 # the cases are words
		run --separate-stderr "$NS" $args
		echo "case: $args"
		one_error
	done
}

@test "up: one process makes it all, journaling each piece before it is made" {
	command -v strace >/dev/null || need "strace"
	mkbridge utns1 10.236.0.1/16
	printf 'hook hook.post\n' >"$J"
	run --separate-stderr strace -f -qq -e trace=execve,fork,vfork,clone,clone3 -o "$BATS_TEST_TMPDIR/trace" \
		"$NS" up --net-dir "$ND" --journal "$J" --veth utva utns1 uns-a auto
	echo "$output $stderr"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "$output" = 10.236.0.2/16 ]
	# one exec, no fork
	cat "$BATS_TEST_TMPDIR/trace"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/trace")" -eq 1 ]
	grep -q '^[0-9]* *execve(' "$BATS_TEST_TMPDIR/trace"
	# the journal: what was there, then lease, netns, veth (lib/state.sh's kinds)
	[ "$(cat "$J")" = "hook hook.post${nl:=$'\n'}lease utns1 10.236.0.2 uns-a${nl}netns uns-a${nl}veth utva uns-a" ]
	# the namespace as `ip netns add` makes one, in a shared /run/netns
	ip netns list | grep -q '^uns-a\b'
	awk '$5 == "/run/netns/uns-a" && $9 == "nsfs" {f=1} END {exit !f}' /proc/self/mountinfo
	awk '$5 == "/run/netns" && / shared:/ {f=1} END {exit !f}' /proc/self/mountinfo
	# the host end: on the bridge, up, marked
	[ "$(basename "$(readlink /sys/class/net/utva/master)")" = utns1 ]
	[ "$(cat /sys/class/net/utva/ifalias)" = unshared-cli:uns-a ]
	[ "$(cat /sys/class/net/utva/operstate)" = up ]
	# inside: lo and eth0 up, the address, the default route via the bridge
	ip -n uns-a -o link show lo | grep -q ',UP'
	ip -n uns-a -o -4 addr show dev eth0 | grep -q ' inet 10\.236\.0\.2/16 '
	# no IPv6 link-local of its own (addrgenmode none): nothing flooded to the bridge
	[ -z "$(ip -n uns-a -o -6 addr show dev eth0)" ]
	[ "$(ip netns exec uns-a cat /proc/sys/net/ipv6/conf/eth0/addr_gen_mode)" = 1 ]
	[[ "$(ip -n uns-a route show default)" == "default via 10.236.0.1 dev eth0 "* ]]
	ip netns exec uns-a busybox ping -c1 -W2 10.236.0.1 >/dev/null
	# the lease, and what the front end reads to check the next --addr
	[ "$(leases utns1)" = "10.236.0.2	uns-a" ]
	[ "$(cat "$ND/utns1/bridge")" = "$(cat /sys/class/net/utns1/ifindex) 10.236.0.1 16 mac-kernel" ]
}

@test "up --exec: PROG runs in the caller's directory, told the address; an exec that fails rolls back" {
	mkbridge utns1 10.236.0.1/16
	mkdir "$BATS_TEST_TMPDIR/here"
	cd "$BATS_TEST_TMPDIR/here"
	run --separate-stderr "$NS" up --net-dir "$ND" --journal "$J" --veth utvx utns1 uns-x auto \
		--exec /bin/sh -c 'echo "$UNSHARED_NSNET_ADDR $PWD $*"' sh a1 'a 2'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "10.236.0.2/16 $BATS_TEST_TMPDIR/here a1 a 2" ]
	"$NS" down --net-dir "$ND" --journal "$J"
	: >"$J"
	run --separate-stderr "$NS" up --net-dir "$ND" --journal "$J" --veth utvx utns1 uns-x auto \
		--exec /nonexistent/prog
	one_error
	[[ $stderr == *"exec /nonexistent/prog: No such file or directory" ]]
	[ ! -s "$J" ]
	[ ! -e /run/netns/uns-x ]
	[ -z "$(leases utns1)" ]
	ports_gone utns1
	run --separate-stderr "$NS" up --net-dir "$ND" --journal "$J" utns1 uns-x auto --exec
	one_error
	cd /
}

@test "a known bridge is taken from its cache only while the kernel agrees with it" {
	local idx
	mkbridge utns1 10.236.0.1/16
	run --separate-stderr nsup uns-a auto
	[ "$status" -eq 0 ] && [ "$output" = 10.236.0.2/16 ]
	# the address changed by hand: the next one is planned on the new subnet
	ip addr flush dev utns1
	ip addr add 10.236.5.1/24 dev utns1
	run --separate-stderr nsup uns-b auto
	echo "$output $stderr"
	[ "$status" -eq 0 ] && [ "$output" = 10.236.5.2/24 ]
	[ "$(cat "$ND/utns1/bridge")" = "$(cat /sys/class/net/utns1/ifindex) 10.236.5.1 24 mac-kernel" ]
	# a cache of the older format (no MAC field) is read again and rewritten
	idx=$(cat /sys/class/net/utns1/ifindex)
	echo "$idx 10.236.5.1 24" >"$ND/utns1/bridge"
	run --separate-stderr nsup uns-c auto
	[ "$status" -eq 0 ] && [ "$output" = 10.236.5.3/24 ]
	[ "$(cat "$ND/utns1/bridge")" = "$idx 10.236.5.1 24 mac-kernel" ]
	# the same name made anew (another index): read again, not trusted
	ip netns del uns-a && ip netns del uns-b && ip netns del uns-c
	ports_gone utns1
	ip link del utns1
	mkbridge utns1 10.236.7.1/24
	[ "$(cat /sys/class/net/utns1/ifindex)" != "$idx" ]
	run --separate-stderr nsup uns-d auto
	echo "$output $stderr"
	[ "$status" -eq 0 ] && [ "$output" = 10.236.7.2/24 ]
	[ "$(cat "$ND/utns1/bridge")" = "$(cat /sys/class/net/utns1/ifindex) 10.236.7.1 24 mac-kernel" ]
	# a bridge nsnet made (its MAC set) whose MAC was changed by hand: the
	# gateway's permanent entry inside has the new one, read afresh
	run --separate-stderr nsup uns-e auto utns2
	[ "$status" -eq 0 ]
	[[ "$(cat "$ND/utns2/bridge")" == *" mac-set" ]]
	ip link set utns2 address 02:11:22:33:44:55
	run --separate-stderr nsup uns-f auto utns2
	[ "$status" -eq 0 ]
	ip -n uns-f neigh show "$(cut -d' ' -f2 "$ND/utns2/bridge")" | grep -q "lladdr 02:11:22:33:44:55 PERMANENT"
}

@test "down: all of it goes, bottom-up; again is fine; the bridge and the hosts file's inode stay" {
	mkbridge utns1 10.236.0.1/16
	nsup uns-a auto
	nsup uns-b auto >/dev/null
	local ino
	ino=$(stat -c %i "$ND/utns1/hosts")
	cp "$J" "$BATS_TEST_TMPDIR/journal.copy"
	run --separate-stderr "$NS" down --net-dir "$ND" --journal "$J"
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	[ ! -e /run/netns/uns-a ] && [ ! -e /run/netns/uns-b ]
	[ -z "$(leases utns1)" ]
	[ "$(stat -c %i "$ND/utns1/hosts")" = "$ino" ]
	# the journal is the caller's: read, never changed
	cmp "$J" "$BATS_TEST_TMPDIR/journal.copy"
	ports_gone utns1
	[ ! -e /sys/class/net/utva ]
	run --separate-stderr "$NS" down --net-dir "$ND" --journal "$J"
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	# entries given one by one, the way lib/net.sh falls back to
	run --separate-stderr "$NS" down --net-dir "$ND" "veth utva uns-a" "netns uns-a" "lease utns1 10.236.0.2 uns-a"
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	[ -d /sys/class/net/utns1/bridge ]
}

@test "check and up refuse bad input: exit 125, one line, in the caller's words; nothing made" {
	mkbridge utns1 10.236.0.1/16
	mkbridge utns2
	nsup uns-a 10.236.0.7/16 >/dev/null
	ip link add utvq type veth peer name utvqp
	local before args
	before=$(cat "$ND/utns1/hosts")
	for args in "ut~s1 uns-b auto" "utns1234567890123 uns-b auto" "lo uns-b auto" "utvq uns-b auto" \
		"utns1 ../x auto" "utns1 uns-b 10.236.0.9" "utns1 uns-b 10.236.0.9/31" "utns1 uns-b 10.236.0.9/7" \
		"utns1 uns-b 010.236.0.9/16" "utns1 uns-b 10.236.0.256/16" "utns1 uns-b 10.236.0.9/016" \
		"utns1 uns-b 10.236.0.0/16" "utns1 uns-b 10.236.255.255/16" "utns1 uns-b 10.237.0.9/16" \
		"utns1 uns-b 10.236.0.9/24" "utns1 uns-b 10.236.0.1/16" "utns1 uns-b 10.236.0.7/16" \
		"utns2 uns-b auto" "utns3 uns-b 127.1.0.2/24"; do
		for verb in check up; do
			# shellcheck disable=SC2086 # the cases are words
			run --separate-stderr "$NS" $verb --net-dir "$ND" --journal "$J.$verb" --veth utvb $args
			echo "case: $verb $args"
			one_error
		done
	done
	[ "$(cat "$ND/utns1/hosts")" = "$before" ]
	[ ! -s "$J.up" ] && [ ! -e "$J.check" ]
	# (up takes the bridge's lock before it looks: only the lock file may be made)
	[ ! -e /sys/class/net/utns3 ] && [ ! -e "$ND/utns3/hosts" ] && [ ! -e /run/netns/uns-b ]
	# the words: as the front end's (spawn's) own
	run --separate-stderr "$NS" check --as spawn --labels --bridge --addr --net-dir "$ND" utns1 uns-b 10.237.0.9/16
	[ "$stderr" = "unshared-cli: spawn: --addr '10.237.0.9/16': outside the subnet of bridge 'utns1' (10.236.0.1/16)" ]
	run --separate-stderr "$NS" check --as initnetns --labels BRIDGE ADDR --net-dir "$ND" utns1 uns-b 10.236.0.7/16
	[ "$stderr" = "unshared-cli: initnetns: ADDR '10.236.0.7/16': already used on bridge 'utns1'" ]
	run --separate-stderr "$NS" check --net-dir "$ND" utns2 uns-b auto
	[ "$stderr" = "unshared-cli: nsnet: --addr auto: bridge 'utns2' has no IPv4 address to take a subnet from (give ADDRESS/PREFIX)" ]
	run --separate-stderr "$NS" check --net-dir "$ND" utns3 uns-b 127.1.0.2/24
	[ "$stderr" = "unshared-cli: nsnet: --addr '127.1.0.2/24': subnet 127.1.0.0/24 of the new bridge 'utns3' overlaps the host's 127.0.0.1/8" ]
	run --separate-stderr "$NS" check --net-dir "$ND" lo uns-b auto
	[ "$stderr" = "unshared-cli: nsnet: --bridge 'lo': an interface that is not a bridge" ]
	ip link del utvq
}

@test "a new bridge takes the subnet's first free address, marked, up; one without an address gives no route" {
	run --separate-stderr nsup uns-a 10.237.0.1/24 utns2
	[ "$status" -eq 0 ] && [ "$output" = 10.237.0.1/24 ]
	ip -o -4 addr show dev utns2 | grep -q ' inet 10\.237\.0\.2/24 '
	[ "$(cat /sys/class/net/utns2/ifalias)" = unshared-cli:bridge ]
	ip -o link show utns2 | grep -q '[<,]UP[,>]'
	[[ "$(ip -n uns-a route show default)" == "default via 10.237.0.2 dev eth0 "* ]]
	# its MAC is set, so the gateway's neighbour entry inside can be permanent
	[ "$(cat /sys/class/net/utns2/addr_assign_type)" = 3 ]
	ip -n uns-a neigh show 10.237.0.2 | grep -q "lladdr $(cat /sys/class/net/utns2/address) PERMANENT"
	mkbridge utns3
	run --separate-stderr nsup uns-b 10.237.1.9/24 utns3
	[ "$status" -eq 0 ] && [ "$output" = 10.237.1.9/24 ]
	[ -z "$(ip -n uns-b route show default)" ]
	[ "$(cat "$ND/utns3/bridge")" = "$(cat /sys/class/net/utns3/ifindex) - - mac-kernel" ]
	# a bridge of someone else's, its MAC left to the kernel: ARP as usual
	ip addr add 10.237.2.1/24 dev utns3
	rm "$ND/utns3/bridge"
	run --separate-stderr nsup uns-c 10.237.2.9/24 utns3
	[ "$status" -eq 0 ]
	[ -z "$(ip -n uns-c neigh show 10.237.2.1 | grep PERMANENT)" ]
}

@test "a failure midway rolls back: the journal as it was, nothing left; a bridge it cannot complete goes" {
	mkbridge utns1 10.236.0.1/16
	printf 'hook hook.post\n' >"$J"
	UNSHARED_TEST_NET_FAIL=addr run --separate-stderr nsup uns-x 10.236.0.5/16
	one_error
	[[ "$stderr" == "unshared-cli: nsnet: network of 'uns-x' on bridge 'utns1': address 10.236.0.5/16 on eth0: "* ]]
	[ "$(cat "$J")" = "hook hook.post" ]
	[ ! -e /run/netns/uns-x ]
	[ -z "$(leases utns1)" ]
	ports_gone utns1
	[ ! -e /sys/class/net/utvx ]
	# a bridge made for it stays (bridges are shared); nothing else does
	UNSHARED_TEST_NET_FAIL=addr run --separate-stderr nsup uns-x 10.237.0.5/24 utns2
	one_error
	[ -d /sys/class/net/utns2/bridge ]
	ports_gone utns2
	ip link del utns2
	# a bridge that cannot be completed goes at once
	UNSHARED_TEST_NET_FAIL=bridge run --separate-stderr nsup uns-x 10.237.0.5/24 utns2
	one_error
	[[ "$stderr" == "unshared-cli: nsnet: bridge 'utns2': cannot make it: 10.237.0.1/24, its address: "* ]]
	[ ! -e /sys/class/net/utns2 ]
	[ "$(cat "$J")" = "hook hook.post" ]
}

# recv_netns: PROG for up --netns-to 3 --exec: what came through fd 3 ("y" and
# the namespace's inode, or "nul"), as pivot --netns-from would take it
recv_netns() {
	python3 -c '
import array, os, socket
s = socket.socket(fileno=3)
msg, anc, _, _ = s.recvmsg(1, socket.CMSG_SPACE(4))
fds = array.array("i")
for level, kind, data in anc:
	fds.frombytes(data)
if msg == b"y" and len(fds) == 1:
	print("y", os.fstat(fds[0]).st_ino)
else:
	print("nul" if msg == b"\0" else "eof" if not msg else "?")'
}

@test "up --netns-to: a child makes the namespace, the veth and the inside while PROG starts, and sends the namespace" {
	local lf=$'\n'
	mkbridge utns1 10.236.0.1/16
	export -f recv_netns
	# shellcheck disable=SC2016 # PROG's own expansions
	run --separate-stderr "$NS" up --net-dir "$ND" --journal "$J" --veth utvc --netns-to 3 utns1 uns-c 10.236.0.7/16 \
		--exec /bin/bash -c 'recv_netns; echo "$UNSHARED_NSNET_ADDR"; ls /proc/self/fd'
	echo "$output $stderr"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	# the namespace sent is the one bound on /run/netns
	[ "${lines[0]}" = "y $(stat -L -c %i /run/netns/uns-c)" ]
	[ "${lines[1]}" = 10.236.0.7/16 ]
	# PROG got fd 3 and what the caller had, nothing else of nsnet's
	[ "$(printf '%s\n' "${lines[@]:2}" | sort -n | tr '\n' ' ')" = \
		"$( (/bin/bash -c 'ls /proc/self/fd'; echo 3) | sort -nu | tr '\n' ' ')" ]
	# the child's lines follow the lease, as up's own would
	[ "$(cat "$J")" = "lease utns1 10.236.0.7 uns-c${lf}netns uns-c${lf}veth utvc uns-c" ]
	ip netns exec uns-c ip -4 -o addr show dev eth0 | grep -q 'inet 10.236.0.7/16'
	ip netns exec uns-c ip route | grep -q '^default via 10.236.0.1 dev eth0'
	"$NS" down --net-dir "$ND" --journal "$J"
	[ ! -e /run/netns/uns-c ]
	[ -z "$(leases utns1)" ]
	ports_gone utns1
	# a failure in the child: its message, a NUL for the reader, the journal
	# left whole for the reader's cleanup (the supervisor's, in a spawn)
	: >"$J"
	UNSHARED_TEST_NET_FAIL=addr run --separate-stderr "$NS" up --net-dir "$ND" --journal "$J" --veth utvc \
		--netns-to 3 utns1 uns-c 10.236.0.7/16 --exec /bin/bash -c recv_netns
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = nul ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "unshared-cli: nsnet: network of 'uns-c' on bridge 'utns1': address 10.236.0.7/16 on eth0: "* ]]
	[ "$(cat "$J")" = "lease utns1 10.236.0.7 uns-c${lf}netns uns-c${lf}veth utvc uns-c" ]
	"$NS" down --net-dir "$ND" --journal "$J"
	[ ! -e /run/netns/uns-c ]
	[ -z "$(leases utns1)" ]
	ports_gone utns1
	# PROG that cannot be exec'd: the child is ended, what it made undone
	# with the rest, its lines cut off the journal with ours
	printf 'hook hook.post\n' >"$J"
	run --separate-stderr "$NS" up --net-dir "$ND" --journal "$J" --veth utvc --netns-to 3 utns1 uns-c \
		10.236.0.7/16 --exec "$BATS_TEST_TMPDIR/no-such-prog"
	one_error
	[[ "$stderr" == *"exec $BATS_TEST_TMPDIR/no-such-prog: No such file or directory" ]]
	[ "$(cat "$J")" = "hook hook.post" ]
	[ ! -e /run/netns/uns-c ]
	[ -z "$(leases utns1)" ]
	ports_gone utns1
}

@test "up leaves a namespace it did not make alone, and gives the lease back" {
	mkbridge utns1 10.236.0.1/16
	ip netns add uns-f
	run --separate-stderr nsup uns-f auto
	one_error
	[ "$stderr" = "unshared-cli: nsnet: network namespace 'uns-f' exists already (not this instance's): pick another name" ]
	[ ! -s "$J" ]
	[ -z "$(leases utns1)" ]
	ip netns exec uns-f true
	[ -z "$(ls /sys/class/net/utns1/brif)" ]
	ip netns del uns-f
}

@test "the host end is PREFIX, or PREFIXxK when the name is taken; the other interface is left alone" {
	mkbridge utns1 10.236.0.1/16
	ip link add utvb type veth peer name utvbp
	run --separate-stderr nsup uns-b auto
	[ "$status" -eq 0 ]
	[ "$(tail -n 1 "$J")" = "veth utvbx1 uns-b" ]
	[ "$(grep -c '^veth ' "$J")" -eq 1 ]
	[ "$(cat /sys/class/net/utvbx1/ifalias)" = unshared-cli:uns-b ]
	"$NS" down --net-dir "$ND" --journal "$J"
	[ -e /sys/class/net/utvb ] && [ ! -e /sys/class/net/utvb/master ]
	[ -z "$(cat /sys/class/net/utvb/ifalias)" ]
	ip link del utvb
}

@test "down of a veth: only with our mark for that name, only once its namespace is gone" {
	mkbridge utns1 10.236.0.1/16
	ip link add utv1 type veth peer name utv1p
	ip link add utv2 type veth peer name utv2p
	echo unshared-cli:uns-gone >/sys/class/net/utv1/ifalias
	echo unshared-cli:uns-other >/sys/class/net/utv2/ifalias
	nsup uns-a auto >/dev/null
	run --separate-stderr "$NS" down "veth utv1 uns-gone" "veth utv2 uns-gone" "veth utv9 uns-gone" "veth utva uns-a"
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	[ ! -e /sys/class/net/utv1 ]
	[ -e /sys/class/net/utv2 ]
	# its namespace is there: deleting that takes the veth, far cheaper
	[ -e /sys/class/net/utva ]
	ip link del utv2
	run --separate-stderr "$NS" down "veth ../x y" "netns a/b" "lease x"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	run --separate-stderr "$NS" down --quiet "netns a/b"
	[ "$status" -eq 1 ] && [ -z "$stderr" ]
}

@test "leases: auto takes the next after the latest held, wraps, skips the bridge; a full subnet says so" {
	mkbridge utns1 10.237.0.1/29
	local n
	for n in a b c; do J=$BATS_TEST_TMPDIR/j.$n nsup uns-$n auto; done
	"$NS" down --net-dir "$ND" --journal "$BATS_TEST_TMPDIR/j.b"
	J=$BATS_TEST_TMPDIR/j.d run nsup uns-d auto
	[ "$output" = 10.237.0.5/29 ]
	J=$BATS_TEST_TMPDIR/j.e nsup uns-e auto
	J=$BATS_TEST_TMPDIR/j.f run nsup uns-f auto
	[ "$output" = 10.237.0.3/29 ] # wrapped past .6 (.7 is the broadcast, .1 the bridge's, .2 held)
	J=$BATS_TEST_TMPDIR/j.g run --separate-stderr nsup uns-g auto
	one_error
	[ "$stderr" = "unshared-cli: nsnet: --addr auto: no free address left on bridge 'utns1'" ]
	[ ! -s "$BATS_TEST_TMPDIR/j.g" ]
	[ "$(leases utns1 | cut -f1 | sort -t. -k4 -n | tr '\n' ' ')" = "10.237.0.2 10.237.0.3 10.237.0.4 10.237.0.5 10.237.0.6 " ]
	for n in a c d e f; do "$NS" down --net-dir "$ND" --journal "$BATS_TEST_TMPDIR/j.$n"; done
	[ -z "$(leases utns1)" ]
}

@test "a line left for the same name (a crash) is replaced, not doubled" {
	mkbridge utns1 10.236.0.1/16
	nsup uns-a auto >/dev/null
	"$NS" down --net-dir "$ND" --journal "$J"
	printf '10.236.0.7\tuns-s\n' >>"$ND/utns1/hosts"
	: >"$J"
	run nsup uns-s auto
	[ "$output" = 10.236.0.8/16 ]
	[ "$(leases utns1)" = "10.236.0.8	uns-s" ]
}

@test "down of a lease: exactly its line, in place, under the bridge's lock" {
	mkdir -p "$ND/utns1"
	printf '# header\n127.0.0.1\tlocalhost\n10.236.0.2\tuns-a\n10.236.0.3\tuns-a\n10.236.0.4\tuns-ab\n10.236.0.5\tx uns-a\n' \
		>"$ND/utns1/hosts"
	local ino t0 t1
	ino=$(stat -c %i "$ND/utns1/hosts")
	flock "$ND/utns1/lock" sleep 1 &
	sleep 0.2
	t0=$EPOCHREALTIME
	run --separate-stderr "$NS" down --net-dir "$ND" "lease utns1 10.236.0.2 uns-a"
	t1=$EPOCHREALTIME
	wait
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	# it waited for the lock
	[ $((${t1/./} - ${t0/./})) -gt 500000 ]
	[ "$(cat "$ND/utns1/hosts")" = "# header${nl:=$'\n'}127.0.0.1	localhost${nl}10.236.0.3	uns-a${nl}10.236.0.4	uns-ab${nl}10.236.0.5	x uns-a" ]
	[ "$(stat -c %i "$ND/utns1/hosts")" = "$ino" ]
	# no hosts file, no such line: nothing to do
	run "$NS" down --net-dir "$ND" "lease utns1 10.236.0.9 uns-a" "lease utns9 10.236.0.2 uns-a"
	[ "$status" -eq 0 ]
	[ ! -e "$ND/utns9" ]
}
