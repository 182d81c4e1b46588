#!/usr/bin/env bats
# Networking: instances on host bridges (spawn --net --bridge --addr), names
# resolved through the generated hosts file, rollback, the seed-era
# utils/initnetns and utils/destroynetns.
# Markers: sleep 43NN. Bridges: utn* only, made here and deleted in teardown.
# Addresses: 10.241.0.0/16 .. 10.249.0.0/16, and the auto default 10.213.0.0/16
# (or the next free /16). Network namespaces: un-*.

load helpers

# kill_markers (common_teardown) ends only this suite's markers, never those
# of another suite or another user of the host
MARK=43
BRIDGES="utn1 utn2 utn3 utnew utnauto utnseed utnsh"

setup_file() {
	make_bbroot "$BATS_FILE_TMPDIR/bb"
	# the seed example runs `nc -l PORT` (traditional netcat); busybox nc
	# spells it `nc -l -p PORT`
	make_bbroot "$BATS_FILE_TMPDIR/seedroot"
	rm -f "$BATS_FILE_TMPDIR/seedroot/bin/nc"
	printf '#!/bin/sh\n[ "$1" = -l ] && [ $# -eq 2 ] && exec busybox nc -l -p "$2"\nexec busybox nc "$@"\n' \
		>"$BATS_FILE_TMPDIR/seedroot/bin/nc"
	chmod 755 "$BATS_FILE_TMPDIR/seedroot/bin/nc"
}

setup() {
	common_setup
	BB=$BATS_FILE_TMPDIR/bb
	S=$UNSHARED_STATE
	[ -x "$TOP/utils/forkn" ] && [ -x "$TOP/utils/pivot" ] || need "the helpers, built (make)"
	command -v flock >/dev/null || need "flock (util-linux)"
}

teardown() {
	local d b n p
	# instances first: our markers end them (only ours: other suites may be
	# running), then any supervisor left is told to end; each tears down
	for p in $(pgrep -f '^(/bin/)?sleep 43[0-9]{2}$' 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	for n in $(seq 100); do
		[ -z "$(ls "$S" 2>/dev/null)" ] && break
		[ "$n" != 20 ] || for d in "$S"/*; do
			read -r p _ <"$d/pid" 2>/dev/null && kill "$p" 2>/dev/null || true
		done
		sleep 0.1
	done
	# what a failed test may have left: seed namespaces, a foreign namespace
	for d in "$S"/.net/seed/*; do
		[ -f "$d/info" ] || continue
		b=$(sed -n 's/^bridge=//p' "$d/info")
		"$TOP/utils/destroynetns" "$b" "${d##*/}" || true
	done
	for n in un-foreign un-seedx; do ip netns del "$n" 2>/dev/null || true; done
	for n in un-v1 un-v2; do ip link del "$n" 2>/dev/null || true; done
	# a deleted namespace takes its veth along asynchronously: wait for the
	# bridges to have no port left, then delete them (only the ones named here)
	for b in $BRIDGES; do
		[ -d "/sys/class/net/$b" ] || continue
		for n in $(seq 50); do
			[ -z "$(ls "/sys/class/net/$b/brif" 2>/dev/null)" ] && break
			sleep 0.1
		done
		ip link del "$b" 2>/dev/null || true
	done
	rm -rf "$S/.net"
	common_teardown
}


# running NAME MARKER: NAME's command is `sleep MARKER` already (pivot is done)
running() {
	local p
	p=$(cat "$S/$1/cmdpid" 2>/dev/null) || return 1
	[ -n "$p" ] && [ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "/bin/sleep $2 " ]
}

# bg NAME BRIDGE ADDR MARKER [SPAWN-OPTION...]: an instance running
# `sleep MARKER` in the background; returns once it runs
bg() {
	local name=$1 br=$2 addr=$3 mark=$4
	shift 4
	"$UC" spawn --net --bridge "$br" --addr "$addr" --name "$name" --root "$BB" "$@" \
		-- /bin/sleep "$mark" >>"$BATS_TEST_TMPDIR/bg.log" 2>&1 3>&- &
	wait_for running "$name" "$mark" || { cat "$BATS_TEST_TMPDIR/bg.log" >&2; return 1; }
}

# end NAME: end NAME's command; returns once its teardown is over
end() {
	kill "$(cat "$S/$1/cmdpid")"
	wait_for eval "[ ! -e '$S/$1' ]"
}

# leases BRIDGE: the instance lines of BRIDGE's hosts file
leases() {
	[ -f "$S/.net/$1/hosts" ] || return 0
	grep -v -e '^#' -e '^127\.0\.0\.1	' -e '^::1	' "$S/.net/$1/hosts" || true
}

# mkbridge NAME [CIDR]: a bridge made by the test, as a user would
mkbridge() {
	ip link add "$1" type bridge
	[ -z "${2:-}" ] || ip addr add "$2" dev "$1"
	ip link set "$1" up
}

# ours FILE: this suite's share of the host (other suites may run meanwhile):
# namespaces un-*, their mounts, bridges utn*, interfaces marked for un-*
ours() {
	local f a
	{
		echo "# netns"; ip netns list | awk '$1 ~ /^un-/ {print $1}'
		echo "# mounts"; awk '$5 ~ "^/run/netns/un-" {print $5}' /proc/self/mountinfo
		echo "# links"
		for f in /sys/class/net/*; do
			a=$(cat "$f/ifalias" 2>/dev/null) || a=''
			case ${f##*/}:$a in utn*:* | *:unshared-cli:un-*) echo "${f##*/} $a" ;; esac
		done
	} | sort >"$1"
}

# snap / unchanged: our share of the host against a mid-test snapshot
snap() { ours "$BATS_TEST_TMPDIR/mid.before"; }
unchanged() {
	ours "$BATS_TEST_TMPDIR/mid.after"
	diff -u "$BATS_TEST_TMPDIR/mid.before" "$BATS_TEST_TMPDIR/mid.after"
}

# inside_hosts NAME: /etc/hosts as NAME's command sees it
inside_hosts() {
	nsenter -t "$(cat "$S/$1/cmdpid")" -m cat /etc/hosts
}


@test "two instances on a bridge reach each other by address and by name" {
	bg un-a utn1 10.241.0.2/24 4301
	# the bridge was made, up, with the subnet's first free address
	ip -o -4 addr show dev utn1 | grep -q ' inet 10\.241\.0\.1/24 '
	[ "$(cat /sys/class/net/utn1/ifalias)" = unshared-cli:bridge ]
	run --separate-stderr "$UC" spawn --net --bridge utn1 --addr 10.241.0.3/24 --name un-b --root "$BB" -- /bin/sh -c '
		ping -c1 -W2 10.241.0.2 >/dev/null && echo byaddr
		ping -c1 -W2 un-a >/dev/null && echo byname
		ip -o link | grep -vc " lo:"
		ip route | grep -c "^default via 10\.241\.0\.1 "
		ip -o -4 addr show dev eth0 | grep -c " inet 10\.241\.0\.3/24 "'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "byaddr${nl:=$'\n'}byname${nl}1${nl}1${nl}1" ]
}

@test "the hosts file: newcomers and leavers are seen by running instances, in place" {
	bg un-a utn1 10.241.0.2/24 4302
	local ino
	ino=$(stat -c %i "$S/.net/utn1/hosts")
	bg un-b utn1 auto 4303
	# auto: the next free address
	[ "$(leases utn1)" = "10.241.0.2	un-a${nl:=$'\n'}10.241.0.3	un-b" ]
	inside_hosts un-a | grep -qx '10\.241\.0\.3	un-b'
	inside_hosts un-b | grep -qx '10\.241\.0\.2	un-a'
	inside_hosts un-a | grep -qx '127\.0\.0\.1	localhost'
	end un-b
	! inside_hosts un-a | grep -q un-b
	[ "$(leases utn1)" = "10.241.0.2	un-a" ]
	[ "$(stat -c %i "$S/.net/utn1/hosts")" = "$ino" ]
	# the root's own /etc/hosts is never written (at most made, empty, as a mount point)
	[ ! -s "$BB/etc/hosts" ]
}

@test "a line left for the same name (a crash) is replaced, not doubled" {
	bg un-a utn1 10.241.0.2/24 4310
	end un-a
	printf '10.241.0.7\tun-b\n' >>"$S/.net/utn1/hosts"
	bg un-b utn1 auto 4311
	[ "$(leases utn1)" = "10.241.0.8	un-b" ]
	end un-b
	[ -z "$(leases utn1)" ]
}

@test "ip netns exec NAME works from the host while the instance runs; then all of it goes" {
	bg un-a utn1 10.241.0.2/24 4304
	run ip netns exec un-a ip -o -4 addr show dev eth0
	[ "$status" -eq 0 ]
	[[ "$output" == *" inet 10.241.0.2/24 "* ]]
	# the host end: on the bridge, marked, a name within 15 bytes
	local veth
	veth=$(ls /sys/class/net/utn1/brif)
	[ "$(cat "/sys/class/net/$veth/ifalias")" = unshared-cli:un-a ]
	[ "${#veth}" -le 15 ]
	end un-a
	[ ! -e /run/netns/un-a ]
	[ -z "$(leases utn1)" ]
	wait_for eval "[ ! -e /sys/class/net/$veth ]"
	# the bridge stays: it is shared
	[ -d /sys/class/net/utn1/bridge ]
}

@test "an instance on another bridge cannot reach them" {
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || need "a host that does not route between its bridges (ip_forward=0)"
	bg un-a utn1 10.241.0.2/24 4305
	run --separate-stderr "$UC" spawn --net --bridge utn2 --addr 10.242.0.2/24 --name un-c --root "$BB" -- /bin/sh -c '
		ping -c1 -W1 10.241.0.2 >/dev/null 2>&1 && echo reached
		ping -c1 -W1 un-a >/dev/null 2>&1 && echo resolved
		ping -c1 -W1 10.242.0.1 >/dev/null && echo own-bridge'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = own-bridge ]
}

@test "--net alone: only lo, and it is up" {
	run --separate-stderr "$UC" spawn --net --root "$BB" -- /bin/ip -o link
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "1: lo: <"*",UP"* ]]
	run --separate-stderr "$UC" spawn --net -- ip -o link
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "1: lo: <"*",UP"* ]]
}

@test "bad input: exit 125, one line, nothing made" {
	mkbridge utn1 10.241.0.1/24
	mkbridge utn3
	bg un-a utn1 10.241.0.2/24 4306
	ip netns add un-foreign
	snap
	local hosts a args
	hosts=$(cat "$S/.net/utn1/hosts")
	for args in \
		"--bridge ut~n1 --addr auto" "--bridge ut/n1" "--bridge .. --addr auto" "--bridge utn12345678901234" \
		"--bridge ut:1" "--bridge ut@x --addr auto" "--bridge lo" "--bridge lo --addr 10.241.0.7/24" \
		"--addr 10.241.0.7/24" \
		"--bridge utn1 --addr 10.241.0.7" "--bridge utn1 --addr 10.241.0.7/33" "--bridge utn1 --addr 10.241.0.7/7" \
		"--bridge utn1 --addr 10.241.0.7/31" "--bridge utn1 --addr 10.241.0.7/" "--bridge utn1 --addr /24" \
		"--bridge utn1 --addr 10.241.0.256/24" "--bridge utn1 --addr 010.241.0.7/24" "--bridge utn1 --addr 10.241.0/24" \
		"--bridge utn1 --addr 10.241.0.7/24/1" "--bridge utn1 --addr a.b.c.d/24" "--bridge utn1 --addr 10.241.0.7/2x" \
		"--bridge utn1 --addr 10.241.0.0/24" "--bridge utn1 --addr 10.241.0.255/24" \
		"--bridge utn1 --addr 10.249.0.7/24" "--bridge utn1 --addr 10.241.0.7/16" \
		"--bridge utn1 --addr 10.241.0.1/24" "--bridge utn1 --addr 10.241.0.2/24" \
		"--bridge utn3 --addr auto" "--bridge utnew --addr 127.1.0.2/24" \
		"--bridge utn1 --addr auto --name un-foreign"; do
		# shellcheck disable=SC2086 # the cases are words
		run --separate-stderr "$UC" spawn --net $args --root "$BB" -- /bin/echo ran
		echo "case: $args"
		one_error
	done
	# a newline cannot get in either
	run --separate-stderr "$UC" spawn --net --bridge utn1 --addr "10.241.0.7/24${nl:=$'\n'}x" --root "$BB" -- /bin/true
	one_error
	unchanged
	[ "$(cat "$S/.net/utn1/hosts")" = "$hosts" ]
	[ "$(ls "$S")" = un-a ]
	[ ! -e "$S/.net/utnew" ]
}

@test "the messages say what is wrong" {
	mkbridge utn1 10.241.0.1/24
	run --separate-stderr "$UC" spawn --bridge utn1 --addr 10.249.0.7/24 -- /bin/true
	[ "$stderr" = "unshared-cli: spawn: --addr '10.249.0.7/24': outside the subnet of bridge 'utn1' (10.241.0.1/24)" ]
	run --separate-stderr "$UC" spawn --bridge utn1 --addr 10.241.0.1/24 -- /bin/true
	[ "$stderr" = "unshared-cli: spawn: --addr '10.241.0.1/24': the address of bridge 'utn1' itself" ]
	run --separate-stderr "$UC" spawn --bridge lo -- /bin/true
	[ "$stderr" = "unshared-cli: spawn: --bridge 'lo': an interface that is not a bridge" ]
	run --separate-stderr "$UC" spawn --bridge utn1 --addr 10.241.0.x/24 -- /bin/true
	[[ "$stderr" == "unshared-cli: spawn: --addr '10.241.0.x/24': expected ADDRESS/PREFIX"* ]]
}

@test "a failure midway (at the address) rolls back every step" {
	mkbridge utn1 10.241.0.1/24
	snap
	UNSHARED_TEST_NET_FAIL=addr run --separate-stderr "$UC" spawn --net --bridge utn1 --addr 10.241.0.5/24 \
		--name un-x --root "$BB" -- /bin/echo ran
	echo "$stderr"
	[ "$status" -eq 125 ]
	[ -z "$output" ]
	[[ "$stderr" == *"unshared-cli: spawn: network of 'un-x' on bridge 'utn1': "* ]]
	[ ! -e /run/netns/un-x ]
	[ -z "$(leases utn1)" ]
	[ -z "$(ls "$S")" ]
	wait_for eval '[ -z "$(ls /sys/class/net/utn1/brif)" ]'
	unchanged
	# a bridge made for the instance stays (it is shared); nothing else does
	UNSHARED_TEST_NET_FAIL=addr run --separate-stderr "$UC" spawn --net --bridge utnew --addr 10.246.0.5/24 \
		--name un-x --root "$BB" -- /bin/echo ran
	[ "$status" -eq 125 ]
	[ -d /sys/class/net/utnew/bridge ]
	wait_for eval '[ -z "$(ls /sys/class/net/utnew/brif)" ]'
	ip link del utnew
	unchanged
	# a bridge that cannot be completed goes too
	UNSHARED_TEST_NET_FAIL=bridge run --separate-stderr "$UC" spawn --net --bridge utnew --addr 10.246.0.5/24 \
		--name un-x --root "$BB" -- /bin/echo ran
	echo "$stderr"
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: spawn: bridge 'utnew': cannot make it: "* ]]
	unchanged
	[ -z "$(ls "$S")" ]
}

@test "64-character names: interface names stay within 15 bytes and never collide" {
	local base n1 n2 f
	base=un-$(printf 'x%.0s' $(seq 59))
	n1=${base}-1 n2=${base}-2
	[ "${#n1}" -eq 64 ]
	bg "$n1" utn1 10.241.0.2/24 4307
	run --separate-stderr "$UC" spawn --net --bridge utn1 --addr auto --name "$n2" --root "$BB" -- /bin/sh -c "
		ping -c1 -W2 $n1 >/dev/null && echo byname"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = byname ]
	ip netns exec "$n1" true
	for f in /sys/class/net/*; do
		f=${f##*/}
		[ "${#f}" -le 15 ]
	done
}

@test "--addr auto: 20 concurrent spawns on a new bridge get 20 distinct addresses" {
	local i p pids=() sub
	for i in $(seq 20); do
		"$UC" spawn --net --bridge utnauto --addr auto --name "un-auto$i" --root "$BB" \
			-- /bin/sleep 4308 >>"$BATS_TEST_TMPDIR/bg.log" 2>&1 3>&- &
	done
	for i in $(seq 20); do
		wait_for running "un-auto$i" 4308 || { cat "$BATS_TEST_TMPDIR/bg.log"; false; }
	done
	# the bridge was made once, on the documented default subnet (or the
	# next /16 when the host uses that one)
	run ip -o -4 addr show dev utnauto
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ \ inet\ (10\.2(1[3-9]|[2-4][0-9]|5[0-4])\.)0\.1/16\  ]]
	sub=${BASH_REMATCH[1]}
	for i in $(seq 20); do
		ip -n "un-auto$i" -o -4 addr show dev eth0 | awk '{print $4}'
	done >"$BATS_TEST_TMPDIR/addrs"
	cat "$BATS_TEST_TMPDIR/addrs"
	[ "$(sort -u "$BATS_TEST_TMPDIR/addrs" | wc -l)" -eq 20 ]
	! grep -v "^${sub//./\\.}0\.[0-9]*/16\$" "$BATS_TEST_TMPDIR/addrs"
	! grep -qx "${sub}0.1/16" "$BATS_TEST_TMPDIR/addrs"
	[ "$(leases utnauto | wc -l)" -eq 20 ]
	[ "$(ls /sys/class/net/utnauto/brif | wc -l)" -eq 20 ]
	for p in $(pgrep -f '^(/bin/)?sleep 4308$'); do kill "$p"; done
	wait_for eval '[ -z "$(ls "$S")" ]'
	[ -z "$(leases utnauto)" ]
}

@test "two concurrent spawns asking for the same address: exactly one gets it" {
	mkbridge utn1 10.241.0.1/24
	local i ok=0 bad=0
	for i in 1 2 3 4; do
		"$UC" spawn --net --bridge utn1 --addr 10.241.0.9/24 --name "un-same$i" --root "$BB" \
			-- /bin/sleep 4309 >>"$BATS_TEST_TMPDIR/bg.log" 2>&1 3>&- &
	done
	wait_for eval "[ \"\$(grep -c 'already used' '$BATS_TEST_TMPDIR/bg.log')\" -eq 3 ]" || { cat "$BATS_TEST_TMPDIR/bg.log"; false; }
	for i in 1 2 3 4; do
		if running "un-same$i" 4309; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	done
	[ "$ok" -eq 1 ] && [ "$bad" -eq 3 ]
	[ "$(leases utn1)" = "$(printf '10.241.0.9\tun-same')$(for i in 1 2 3 4; do running "un-same$i" 4309 && echo "$i"; done)" ]
	[ "$(ip netns list | grep -c '^un-same')" -eq 1 ]
}

@test "a bridge made for --addr takes the subnet's first free address" {
	run --separate-stderr "$UC" spawn --net --bridge utnew --addr 10.246.0.1/24 --name un-a --root "$BB" -- /bin/ip route
	[ "$status" -eq 0 ]
	[[ "$output" == "default via 10.246.0.2 dev eth0"* ]]
	ip -o -4 addr show dev utnew | grep -q ' inet 10\.246\.0\.2/24 '
	# and a bridge without an address: no default route, the address as given
	mkbridge utn3
	run --separate-stderr "$UC" spawn --net --bridge utn3 --addr 10.247.0.9/24 --name un-b --root "$BB" -- /bin/ip route
	[ "$status" -eq 0 ]
	[ "$output" = "10.247.0.0/24 dev eth0 scope link  src 10.247.0.9 " ]
}

@test "undo_veth: only an interface carrying our mark, only once its namespace is gone" {
	ip link add un-v1 type veth peer name un-v1p
	ip link add un-v2 type veth peer name un-v2p
	echo unshared-cli:un-gone >/sys/class/net/un-v1/ifalias
	echo unshared-cli:un-other >/sys/class/net/un-v2/ifalias
	# lib/net.sh out of the front end: only where the helpers are (common.sh's)
	UNSHARED_UTILS=$TOP/utils run sh -c '. "$1"; undo_veth /nowhere un-v1 un-gone &&
		undo_veth /nowhere un-v2 un-gone && undo_veth /nowhere un-v9 un-gone' sh "$TOP/lib/net.sh"
	[ "$status" -eq 0 ]
	[ ! -e /sys/class/net/un-v1 ]
	[ -e /sys/class/net/un-v2 ]
	ip link del un-v2
}

@test "initnetns and destroynetns: the seed's calls, idempotent, refusing what is not theirs" {
	local U=$TOP/utils
	run --separate-stderr "$U/initnetns" utnseed un-s1 10.245.0.2/24
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	run --separate-stderr "$U/initnetns" utnseed un-s1 10.245.0.2/24
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	run "$U/initnetns" utnseed un-s2 auto
	[ "$status" -eq 0 ]
	[ "$output" = 10.245.0.3/24 ]
	ip netns exec un-s1 ip -o -4 addr show dev eth0 | grep -q ' inet 10\.245\.0\.2/24 '
	ip netns exec un-s1 busybox ping -c1 -W2 10.245.0.3 >/dev/null
	[ "$(ls /sys/class/net/utnseed/brif | wc -l)" -eq 2 ]
	# refusals: nothing changes
	snap
	run --separate-stderr "$U/initnetns" utnseed un-s1 10.245.0.9/24
	one_error
	run --separate-stderr "$U/destroynetns" utn1 un-s1
	one_error
	ip netns add un-foreign
	snap
	run --separate-stderr "$U/destroynetns" utnseed un-foreign
	one_error
	[[ "$stderr" == *"not made by initnetns"* ]]
	run --separate-stderr "$U/initnetns" utnseed un-foreign 10.245.0.9/24
	one_error
	run --separate-stderr "$U/initnetns" lo un-s3 10.245.0.9/24
	one_error
	run --separate-stderr "$U/initnetns" utnseed un-s3
	one_error
	unchanged
	ip netns del un-foreign
	# a crash before initnetns finished: run again, it redoes it cleanly
	rm "$S/.net/seed/un-s2/info"
	run --separate-stderr "$U/initnetns" utnseed un-s2 10.245.0.3/24
	[ "$status" -eq 0 ]
	[ "$(ip netns list | grep -c '^un-s2 ')" -eq 1 ]
	wait_for eval '[ "$(ls /sys/class/net/utnseed/brif | wc -l)" -eq 2 ]'
	[ "$(leases utnseed)" = "10.245.0.2	un-s1${nl:=$'\n'}10.245.0.3	un-s2" ]
	# destroy, twice
	run --separate-stderr "$U/destroynetns" utnseed un-s1
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	run --separate-stderr "$U/destroynetns" utnseed un-s1
	[ "$status" -eq 0 ] && [ -z "$output$stderr" ]
	"$U/destroynetns" utnseed un-s2
	[ ! -e /run/netns/un-s1 ] && [ ! -e /run/netns/un-s2 ]
	[ -z "$(leases utnseed)" ]
	[ ! -e "$S/.net/seed/un-s1" ] && [ ! -e "$S/.net/seed/un-s2" ]
}

@test "the seed's example runs as written (paths adjusted)" {
	local U=$TOP/utils out=$BATS_TEST_TMPDIR/seed.out p name i
	# shellcheck disable=SC2016 # $NAME is for the hooks to expand
	"$UC" spawn --uts --ipc --root "$BATS_FILE_TMPDIR/seedroot" \
		--preexec "$U/initnetns" utnseed '$NAME' 10.245.0.7/24 \
		--chroot "$U/forkn" \''echo' 'die'\' /bin/ip netns exec '$NAME' chroot \
		--postexec "$U/destroynetns" utnseed '$NAME' -- /bin/nc -l 7001 >"$out" 2>&1 3>&- &
	p=$!
	name=u-$p
	# listening (port 7001 = 0x1B59, state 0A) in the instance's namespace
	wait_for eval "ip netns exec $name cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ':1B59 0*:0000 0A'"
	"$U/initnetns" utnseed un-seedx 10.245.0.8/24
	echo hello | timeout 10 ip netns exec un-seedx busybox nc 10.245.0.7 7001
	wait "$p"
	cat "$out"
	[ "$(cat "$out")" = "hello${nl:=$'\n'}die" ]
	[ ! -e "/run/netns/$name" ]
	[ ! -e "$S/.net/seed/$name" ]
	"$U/destroynetns" utnseed un-seedx
	[ -z "$(leases utnseed)" ]
}

@test "the front end and the seed tools run under dash, busybox ash and bash --posix" {
	local sh
	mkbridge utnsh 10.248.0.1/24
	for sh in dash "busybox ash" "bash --posix"; do
		run --separate-stderr $sh "$UC" spawn --net --bridge utnsh --addr auto --name un-sh --root "$BB" \
			-- /bin/sh -c 'ping -c1 -W2 10.248.0.1 >/dev/null && ip -o -4 addr show dev eth0 | grep -c " inet 10\.248\.0\.2/24 "'
		echo "$sh: $output $stderr"
		[ "$status" -eq 0 ] && [ "$output" = 1 ]
		run --separate-stderr $sh "$UC" spawn --net --bridge utnsh --addr 10.248.0.1/24 -- /bin/true
		one_error
		run --separate-stderr $sh "$TOP/utils/initnetns" utnsh un-sh 10.248.0.3/24
		[ "$status" -eq 0 ]
		run --separate-stderr $sh "$TOP/utils/destroynetns" utnsh un-sh
		[ "$status" -eq 0 ]
		[ ! -e /run/netns/un-sh ]
		wait_for eval '[ -z "$(ls /sys/class/net/utnsh/brif)" ]'
	done
	[ -z "$(leases utnsh)" ]
}
