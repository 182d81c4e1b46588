#!/usr/bin/env bats
# Cluster testing: readiness (spawn --ready), link shaping (spawn --delay
# --jitter --loss --rate, net set), partitions (net partition/heal), events,
# topology files (up, down, status), graph, and the 3-node etcd example.
# Markers: sleep 54NN. Bridges: ut-cl* only, made here and deleted in
# teardown. Addresses: 10.244.0.0/16 (and 10.243.0.0/24, the example's).
# Instances and network namespaces: cl-* (the example's: etcd-1..3).

load helpers
MARK=54

BRIDGES="ut-cl1 ut-cl2 ut-cl-up ut-cl-rb ut-cl-etcd"

setup_file() {
	make_bbroot "$BATS_FILE_TMPDIR/bb"
}

setup() {
	common_setup
	BB=$BATS_FILE_TMPDIR/bb
	S=$UNSHARED_STATE
	[ -x "$TOP/utils/forkn" ] && [ -x "$TOP/utils/pivot" ] && [ -x "$TOP/utils/delayq" ] ||
		need "the helpers, built (make)"
	command -v nft >/dev/null || need "nft (nftables)"
	command -v iptables >/dev/null || need "iptables (for its NFQUEUE target)"
}

teardown() {
	local b n
	# an `events` follower a failed test left running
	[ -z "${EVPID:-}" ] || kill "$EVPID" 2>/dev/null || true
	"$UC" stop --all --timeout 2 >/dev/null 2>&1 || true
	"$UC" gc >/dev/null 2>&1 || true
	for b in $BRIDGES; do
		[ -d "/sys/class/net/$b" ] || continue
		# veths go with their namespaces, asynchronously; lingering ones
		# (sockets left in FIN_WAIT keep a namespace) are ours to delete
		for n in $(seq 30); do
			[ -z "$(ls "/sys/class/net/$b/brif" 2>/dev/null)" ] && break
			sleep 0.1
		done
		for n in $(ls "/sys/class/net/$b/brif" 2>/dev/null); do ip link del "$n" 2>/dev/null || true; done
		ip link del "$b" 2>/dev/null || true
	done
	rm -rf "$S/.net"
	# no delayq of ours, no nft element naming an interface that is gone
	not pgrep -f '^/.*/delayq --netns /run/netns/cl-' >&2
	nft_clean
	common_teardown
}

nl=$'\n'

# not CMD...: CMD fails (a bare `! CMD` never fails a bats test: errexit
# ignores it)
not() {
	! "$@"
}

# nft_clean: table bridge unshared is gone, or every element it holds names a
# live interface (a suite running beside us may own some)
nft_clean() {
	local t n
	t=$(nft list table bridge unshared 2>/dev/null) || return 0
	for n in $(printf '%s\n' "$t" | grep -oE '"[^"]+"' | tr -d '"' | sort -u); do
		[ -e "/sys/class/net/$n" ] || { echo "nft: an element for $n, which is gone" >&2; return 1; }
	done
}

# in_table TEXT: table bridge unshared exists and holds TEXT
in_table() {
	nft list table bridge unshared 2>/dev/null | grep -qF -- "$1"
}

# bg NAME ADDR [SPAWN-OPTION...] -- CMD...: a detached instance on ut-cl1
bg() {
	local name=$1 addr=$2
	shift 2
	"$UC" spawn --detach --name "$name" --net --bridge ut-cl1 --addr "$addr" --root "$BB" "$@" >/dev/null
}

# sleeper NAME ADDR MARK [OPTION...]: `sleep MARK` on ut-cl1
sleeper() {
	local name=$1 addr=$2 mark=$3
	shift 3
	bg "$name" "$addr" "$@" -- /bin/sleep "$mark"
}

# reach FROM ADDR: one ping from instance FROM gets an answer from ADDR
reach() {
	"$UC" attach "$1" -- /bin/ping -c1 -W1 "$2" >/dev/null 2>&1
}

# rtt FROM ADDR N: the average round trip in whole ms over N pings
rtt() {
	"$UC" attach "$1" -- /bin/ping -c "$3" -i 0.2 -W 3 "$2" |
		sed -n 's|.*min/avg/max = [0-9.]*/\([0-9]*\).*|\1|p'
}

# host_of NAME: the host end of NAME's veth (its journal says)
host_of() {
	awk -v n="$1" '$1 == "veth" && $3 == n {print $2}' "$S/$1/journal"
}

# events_json FILE: each line one JSON object; prints "event name" per line
events_json() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert isinstance(e["time"], float), e
    print(e["event"], e["name"], e.get("status", ""), e.get("peer", ""))
' "$1"
}


# ---- readiness ----

@test "--ready tcp: spawn --detach returns once the port listens, and it answers" {
	bg cl-web 10.244.0.2/24 --ready tcp:8080 --ready-timeout 10 -- /bin/sh -c 'sleep 1; exec httpd -f -p 8080'
	sleeper cl-cli 10.244.0.3/24 5401
	run "$UC" attach cl-cli -- /bin/sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 10.244.0.2 8080 | head -1'
	[[ "$output" == HTTP/* ]]
}

@test "--ready file: and cmd: are checked inside the instance (its root, its namespaces)" {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$UC" spawn --detach --name cl-f --root "$BB" --tmpfs /run \
		--ready file:/run/up --ready-timeout 10 -- /bin/sh -c 'sleep 0.5; touch /run/up; exec sleep 5402'
	t1=$(date +%s%N)
	[ "$status" -eq 0 ]
	[ "$output" = cl-f ]
	[ $(((t1 - t0) / 1000000)) -ge 450 ]
	# the file is in the instance's tmpfs, not on the host
	[ ! -e /run/up ]
	# shellcheck disable=SC2016 # for the instance's shell
	run --separate-stderr "$UC" spawn --detach --name cl-c --net --root "$BB" \
		--ready 'cmd:ip -o link show lo | grep -q UP && [ "$(hostname)" = cl-inside ]' --hostname cl-inside \
		--ready-timeout 10 -- /bin/sleep 5403
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = cl-c ]
}

@test "--ready timeout: 125, the instance is torn down, its last output shown" {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$UC" spawn --detach --name cl-slow --net --bridge ut-cl1 --addr 10.244.0.2/24 \
		--root "$BB" --ready tcp:9 --ready-timeout 1.5 -- /bin/sh -c 'echo warming up; exec sleep 5404'
	t1=$(date +%s%N)
	echo "$stderr"
	[ "$status" -eq 125 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "unshared-cli: spawn: cl-slow: not ready after 1.5s (tcp:9); its last output:" ]
	[ "${stderr_lines[1]}" = "warming up" ]
	[ $(((t1 - t0) / 1000000)) -ge 1400 ]
	[ $(((t1 - t0) / 1000000)) -lt 8000 ]
	[ ! -e "$S/cl-slow" ]
	[ ! -e /run/netns/cl-slow ]
	not pgrep -f '^/bin/sleep 5404$'
}

@test "--ready: a command that ends first fails spawn at once, with its output" {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$UC" spawn --detach --name cl-dies --root "$BB" --ready tcp:80 -- /bin/sh -c 'echo no config >&2; exit 3'
	t1=$(date +%s%N)
	[ "$status" -eq 125 ]
	[ "${stderr_lines[0]}" = "unshared-cli: spawn: cl-dies: ended before it was ready (tcp:80); its last output:" ]
	[ "${stderr_lines[1]}" = "no config" ]
	[ $(((t1 - t0) / 1000000)) -lt 5000 ]
	[ ! -e "$S/cl-dies" ]
}

@test "--ready: the output of a command that ends at once is never lost (its log is open before it starts)" {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run --separate-stderr "$UC" spawn --detach --name cl-dies --root "$BB" --ready tcp:80 -- /bin/sh -c 'echo no config >&2; exit 3'
		[ "$status" -eq 125 ]
		[ "${stderr_lines[1]}" = "no config" ]
		[ ! -e "$S/cl-dies" ]
	done
}

@test "bad readiness and shaping options: 125, one line, nothing made" {
	local args
	for args in "--ready tcp:80 -- true" "--detach --ready tcp:0 -- true" "--detach --ready tcp:70000 -- true" \
		"--detach --ready udp:53 -- true" "--detach --ready file:relative -- true" "--detach --ready cmd: -- true" \
		"--detach --ready tcp:80 --ready-timeout soon -- true" "--detach --ready tcp:80 --ready-timeout 0 -- true" \
		"--delay 10ms -- true" "--bridge ut-cl1 --delay 10parsecs -- true" "--bridge ut-cl1 --delay 2min -- true" \
		"--bridge ut-cl1 --loss 101% -- true" "--bridge ut-cl1 --loss lots -- true" \
		"--bridge ut-cl1 --rate 10furlongs -- true" "--bridge ut-cl1 --rate 10bit -- true" \
		"--bridge ut-cl1 --jitter -1ms -- true"; do
		# shellcheck disable=SC2086 # the words of one case
		run --separate-stderr "$UC" spawn --name cl-bad --root "$BB" $args
		echo "$args: $status $stderr"
		one_error
		[[ "$stderr" == "unshared-cli: spawn: "* ]]
	done
	[ ! -e "$S/cl-bad" ]
	[ ! -e /sys/class/net/ut-cl1 ]
}

# ---- partitions ----

@test "net partition A B: cut both ways, everyone else still talks; heal restores it" {
	sleeper cl-a 10.244.0.2/24 5405
	sleeper cl-b 10.244.0.3/24 5406
	sleeper cl-c 10.244.0.4/24 5407
	run --separate-stderr "$UC" net partition cl-a cl-b
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	not reach cl-a 10.244.0.3
	not reach cl-b 10.244.0.2
	reach cl-a 10.244.0.4
	reach cl-b 10.244.0.4
	reach cl-c 10.244.0.2
	# the bridge's own address stays reachable for both
	reach cl-a 10.244.0.1
	run "$UC" net show cl-a cl-b cl-c
	[ "$output" = "cl-a	-	cut from cl-b${nl}cl-b	-	cut from cl-a${nl}cl-c	-	" ]
	# again: nothing changes, no line doubles in the journals
	"$UC" net partition cl-b cl-a
	[ "$(grep -c '^part ' "$S/cl-a/journal")" -eq 1 ]
	run --separate-stderr "$UC" net heal cl-a cl-b
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	reach cl-a 10.244.0.3
	reach cl-b 10.244.0.2
	# healing what is whole is no error
	"$UC" net heal cl-a cl-b
	# the table goes once it holds nothing
	if nft list table bridge unshared >/dev/null 2>&1; then in_table elements; fi
}

@test "net partition of groups; net heal NAME heals every cut of NAME" {
	sleeper cl-a 10.244.0.2/24 5408
	sleeper cl-b 10.244.0.3/24 5409
	sleeper cl-c 10.244.0.4/24 5410
	"$UC" net partition cl-a cl-b,cl-c
	not reach cl-a 10.244.0.3
	not reach cl-a 10.244.0.4
	reach cl-b 10.244.0.4
	"$UC" net heal cl-a
	reach cl-a 10.244.0.3
	reach cl-a 10.244.0.4
	run --separate-stderr "$UC" net partition cl-a cl-a,cl-b
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: net: 'cl-a' is in both groups" ]
}

@test "a partition is undone when either instance ends" {
	local ha hb
	sleeper cl-a 10.244.0.2/24 5411
	sleeper cl-b 10.244.0.3/24 5412
	sleeper cl-c 10.244.0.4/24 5413
	ha=$(host_of cl-a) hb=$(host_of cl-b)
	"$UC" net partition cl-a cl-b
	"$UC" net partition cl-b cl-c
	nft list set bridge unshared part | grep -q "\"$ha\" . \"$hb\""
	"$UC" stop cl-a
	not in_table "\"$ha\""
	# the other cut of cl-b stays
	not reach cl-b 10.244.0.4
	"$UC" stop cl-c
	reach cl-b 10.244.0.1
	not in_table "\"$hb\""
}

@test "gc sweeps the cuts and loss rules of interfaces that are gone, and only those" {
	local ha hb
	sleeper cl-a 10.244.0.2/24 5416
	sleeper cl-b 10.244.0.3/24 5417
	ha=$(host_of cl-a) hb=$(host_of cl-b)
	"$UC" net partition cl-a cl-b
	# what a teardown whose journal was lost (its state directory deleted) leaves
	nft add element bridge unshared part '{ "utgone1" . "utgone2", "utgone2" . "utgone1" }'
	nft add chain bridge unshared loss-utgone3
	nft add element bridge unshared shape '{ "utgone3" : jump loss-utgone3 }'
	run --separate-stderr "$UC" gc
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ $output == *"removed the cut utgone"[12]" - utgone"[12]": an interface is gone"* ]]
	[ "$(grep -c 'removed the cut' <<<"$output")" = 1 ]
	[[ $output == *"removed the loss rule of utgone3: the interface is gone"* ]]
	not in_table utgone
	# the live cut stays
	in_table "\"$ha\" . \"$hb\""
	not reach cl-a 10.244.0.3
	"$UC" net heal cl-a
}

@test "net: unknown, stopped and bridge-less instances are refused with 125" {
	sleeper cl-a 10.244.0.2/24 5414
	"$UC" spawn --detach --name cl-nobr --root "$BB" -- /bin/sleep 5415 >/dev/null
	run --separate-stderr "$UC" net partition cl-a cl-none
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: net: no instance 'cl-none' (see 'unshared-cli list')" ]
	run --separate-stderr "$UC" net partition cl-a cl-nobr
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: net: instance 'cl-nobr' has no link on a bridge (spawn it with --bridge)" ]
	run --separate-stderr "$UC" net set cl-a
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: net: set: nothing to set (see 'unshared-cli net --help')" ]
	run --separate-stderr "$UC" net set cl-a --delay soon
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: net: --delay 'soon': expected a time like 100ms, 1.5s or 250us" ]
	run --separate-stderr "$UC" net frobnicate
	[ "$status" -eq 125 ]
	run --separate-stderr "$UC" net partition cl-a
	[ "$status" -eq 125 ]
	[ ! -e "$S/cl-a/shape" ]
}

# ---- shaping ----

@test "spawn --delay: what the instance sends is delayed; net set changes it live; 0 clears it" {
	local r
	sleeper cl-a 10.244.0.2/24 5416
	sleeper cl-b 10.244.0.3/24 5417 --delay 100ms
	r=$(rtt cl-a 10.244.0.3 3)
	echo "rtt $r"
	[ "$r" -ge 95 ]
	[ "$r" -lt 400 ]
	# the other direction is the same round trip; cl-a itself is not delayed
	r=$(rtt cl-a 10.244.0.1 3)
	[ "$r" -lt 50 ]
	"$UC" net set cl-b --delay 250ms
	r=$(rtt cl-a 10.244.0.3 3)
	echo "rtt $r"
	[ "$r" -ge 240 ]
	[ "$r" -lt 600 ]
	pgrep -f "delayq --netns /run/netns/cl-b " >/dev/null
	"$UC" net set cl-b --delay 0
	r=$(rtt cl-a 10.244.0.3 3)
	[ "$r" -lt 50 ]
	# no delay left, no delayq left
	wait_for eval '! pgrep -f "delayq --netns /run/netns/cl-b " >/dev/null'
}

@test "--jitter: round trips spread around the delay, in order" {
	local out min max
	sleeper cl-a 10.244.0.2/24 5418
	sleeper cl-b 10.244.0.3/24 5419 --delay 100ms --jitter 40ms
	out=$("$UC" attach cl-a -- /bin/ping -c 15 -i 0.2 -W 3 10.244.0.3 | tail -1)
	echo "$out"
	min=$(echo "$out" | sed -n 's|.*= \([0-9]*\)[.0-9]*/[0-9.]*/\([0-9]*\).*|\1|p')
	max=$(echo "$out" | sed -n 's|.*= \([0-9]*\)[.0-9]*/[0-9.]*/\([0-9]*\).*|\2|p')
	[ "$min" -ge 59 ]
	[ "$max" -le 300 ]
	[ $((max - min)) -ge 10 ]
}

@test "--loss: 30% drops about a third of what it sends, 100% all of it; 0 restores" {
	local out lost
	sleeper cl-a 10.244.0.2/24 5420
	sleeper cl-b 10.244.0.3/24 5421 --loss 1%
	# both ARP caches warm first: a lost ARP reply would stall a second of pings
	wait_for reach cl-a 10.244.0.3
	"$UC" net set cl-b --loss 30%
	out=$("$UC" attach cl-a -- /bin/ping -c 100 -i 0.02 -W 2 10.244.0.3 | grep 'packet loss')
	echo "$out"
	lost=$(echo "$out" | sed -n 's/.* \([0-9]*\)% packet loss.*/\1/p')
	[ "$lost" -ge 12 ]
	[ "$lost" -le 50 ]
	"$UC" net set cl-b --loss 100%
	not reach cl-a 10.244.0.3
	"$UC" net set cl-b --loss 0
	wait_for reach cl-a 10.244.0.3
	not in_table "loss-$(host_of cl-b)"
}

# server NAME ADDR [OPTION...]: an instance serving /big (1 MB) on port 8080
server() {
	local name=$1 addr=$2
	shift 2
	bg "$name" "$addr" --tmpfs /w --ready tcp:8080 "$@" -- /bin/sh -c \
		'dd if=/dev/zero of=/w/big bs=1k count=1000 2>/dev/null; exec httpd -f -p 8080 -h /w'
}

# fetch FROM ADDR: milliseconds for FROM to download http://ADDR:8080/big
fetch() {
	local t0 t1
	t0=$(date +%s%N)
	"$UC" attach "$1" -- /bin/wget -q -O /dev/null "http://$2:8080/big"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

@test "--rate: what the instance sends is capped" {
	local ms
	sleeper cl-a 10.244.0.2/24 5422
	server cl-b 10.244.0.3/24 --rate 4mbit
	server cl-c 10.244.0.4/24
	# 1 MB at 4 mbit/s: 2 s at least; unshaped: far less
	ms=$(fetch cl-a 10.244.0.3)
	echo "shaped: $ms ms"
	[ "$ms" -ge 1600 ]
	[ "$ms" -lt 10000 ]
	ms=$(fetch cl-a 10.244.0.4)
	echo "unshaped: $ms ms"
	[ "$ms" -lt 1000 ]
	# live: 16 mbit/s, a quarter of the time
	"$UC" net set cl-b --rate 16mbit
	ms=$(fetch cl-a 10.244.0.3)
	echo "16mbit: $ms ms"
	[ "$ms" -ge 400 ]
	[ "$ms" -lt 1500 ]
}

@test "net set --down takes the link down (no carrier), --up brings it back" {
	sleeper cl-a 10.244.0.2/24 5423
	sleeper cl-b 10.244.0.3/24 5424
	"$UC" net set cl-b --down
	not reach cl-a 10.244.0.3
	run "$UC" attach cl-b -- /bin/ip -o link show eth0
	[[ "$output" == *NO-CARRIER* ]]
	run "$UC" net show cl-b
	[ "$output" = "cl-b	link down	" ]
	"$UC" net set cl-b --up
	wait_for reach cl-a 10.244.0.3
}

@test "shaping combines; graph and net show say what is in force; teardown undoes all of it" {
	local host
	sleeper cl-a 10.244.0.2/24 5425 --delay 30ms --jitter 5ms --loss 1% --rate 10mbit
	host=$(host_of cl-a)
	run "$UC" net show cl-a
	[ "$output" = "cl-a	delay 30ms jitter 5ms loss 1% rate 10mbit	" ]
	pgrep -f "delayq --netns /run/netns/cl-a " >/dev/null
	nft list chain bridge unshared "loss-$host" | grep -q 'numgen random mod 10000 < 100'
	run "$UC" attach cl-a -- /bin/tc qdisc show dev eth0
	[[ "$output" == *tbf* ]]
	"$UC" stop cl-a
	not pgrep -f "delayq --netns /run/netns/cl-a " >/dev/null
	not in_table "$host"
}

@test "without sch_netem, forcing netem gets a clear error naming it; nothing is left" {
	zcat /proc/config.gz 2>/dev/null | grep -q '^# CONFIG_NET_SCH_NETEM is not set' || need "a kernel without sch_netem"
	UNSHARED_NETEM=yes run --separate-stderr "$UC" spawn --name cl-n --net --bridge ut-cl1 --addr 10.244.0.2/24 \
		--root "$BB" --delay 10ms -- /bin/true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: spawn: shaping: the kernel has no sch_netem (CONFIG_NET_SCH_NETEM)" ]
	[ ! -e "$S/cl-n" ]
	[ ! -e /run/netns/cl-n ]
}

# ---- events ----

@test "events --json: one object per line for start, ready, shaping, cuts, stop and exit" {
	local ev=$BATS_TEST_TMPDIR/events p
	"$UC" events --json >"$ev" &
	p=$! EVPID=$!
	sleep 0.3
	bg cl-a 10.244.0.2/24 --ready tcp:8080 -- /bin/sh -c 'exec httpd -f -p 8080'
	sleeper cl-b 10.244.0.3/24 5426
	"$UC" net partition cl-a cl-b
	"$UC" net heal cl-a cl-b
	"$UC" net set cl-b --delay 10ms
	"$UC" stop cl-a cl-b
	"$UC" spawn --name cl-x --root "$BB" --postexec true -- /bin/sh -c 'exit 7'  || true
	sleep 0.3
	kill "$p"
	wait "$p" || true
	cat "$ev"
	run events_json "$ev"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"started cl-a"*"ready cl-a"*"started cl-b"*"partitioned cl-a  cl-b"*"healed cl-a  cl-b"*"shaped cl-b"* ]]
	[[ "$output" == *"exited cl-a 143 "* ]]
	[[ "$output" == *"stopped cl-a"* ]]
	[[ "$output" == *"stopped cl-b"* ]]
	[[ "$output" == *"started cl-x"*"exited cl-x 7 "* ]]
	grep -q '"event": "started", "name": "cl-a", "pid": [0-9]*, "addr": "10.244.0.2/24", "bridge": "ut-cl1"}' "$ev"
	grep -q '"event": "shaped", "name": "cl-b", "delay": "10ms", "jitter": null, "loss": null, "rate": null, "link": "up"}' "$ev"
	[ "$(stat -c %a "$S/.events")" = 644 ]
}

@test "events: words without --json; --since-start --no-follow replays the log" {
	sleeper cl-a 10.244.0.2/24 5427
	"$UC" stop cl-a
	run --separate-stderr "$UC" events --since-start --no-follow
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{2}\ started\ +cl-a\ pid=[0-9]+\ addr=10.244.0.2/24\ bridge=ut-cl1$ ]]
	[[ "${lines[1]}" =~ \ exited\ +cl-a\ status=143$ ]]
	[[ "${lines[2]}" =~ \ stopped\ +cl-a$ ]]
	run "$UC" events --since-start --no-follow --json
	[ "${#lines[@]}" -eq 3 ]
}

@test "events: 20 concurrent writers, no line interleaved" {
	local i
	for i in $(seq 20); do
		"$UC" spawn --name "cl-w$i" --root "$BB" --postexec true -- /bin/true &
	done
	wait
	run events_json "$S/.events"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^exited cl-w' <<<"$output")" -eq 20 ]
	[ "$(grep -c '^started cl-w' <<<"$output")" -eq 20 ]
}

# ---- topology files ----

# topo NAME CONTENT: a topology file in the test's directory
topo() {
	printf '%s\n' "$2" >"$BATS_TEST_TMPDIR/$1"
	echo "$BATS_TEST_TMPDIR/$1"
}

@test "up: in dependency order, each ready first; again: nothing changes; status; down: reverse, bridge gone" {
	local f ev=$BATS_TEST_TMPDIR/events p
	ln -s "$BB" "$BATS_TEST_TMPDIR/bb"
	f=$(topo t.topo "# three nodes
bridge ut-cl-up addr 10.244.1.1/24
instance cl-c root ./bb bridge ut-cl-up addr 10.244.1.4/24 after cl-b \\
	ready 'cmd:wget -q -O - http://10.244.1.3:8080/ | grep -q b' -- /bin/sleep 5428
instance cl-a root ./bb bridge ut-cl-up addr 10.244.1.2/24 ready tcp:8080 pid \\
	-- /bin/sh -c 'sleep 0.5; mkdir -p /w; echo a >/w/index.html; exec httpd -f -p 8080 -h /w'
instance cl-b root ./bb bridge ut-cl-up addr auto after cl-a ready tcp:8080 delay 20ms tmpfs /w \\
	-- /bin/sh -c \"wget -q -O /w/a http://10.244.1.2:8080/ && echo b >/w/index.html && exec httpd -f -p 8080 -h /w\"   # b serves after a")
	"$UC" events --json >"$ev" &
	p=$! EVPID=$!
	sleep 0.2
	run --separate-stderr "$UC" up "$f"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "cl-a: started${nl}cl-b: started${nl}cl-c: started" ]
	[ "$(cat /sys/class/net/ut-cl-up/ifalias)" = unshared-cli:bridge ]
	ip -o -4 addr show dev ut-cl-up | grep -q ' inet 10\.244\.1\.1/24 '
	run --separate-stderr "$UC" up "$f"
	[ "$status" -eq 0 ]
	[ "$output" = "cl-a: running${nl}cl-b: running${nl}cl-c: running" ]
	run --separate-stderr "$UC" status "$f"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^cl-a\ +running\ +10\.244\.1\.2/24\ +yes\ +-\ +-$ ]]
	[[ "${lines[2]}" =~ ^cl-b\ +running\ +10\.244\.1\.3/24\ +yes\ +delay\ 20ms\ +-$ ]]
	[[ "${lines[3]}" =~ ^cl-c\ +running\ +10\.244\.1\.4/24\ +yes ]]
	"$UC" net partition cl-a cl-c
	run "$UC" status --json "$f"
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert [x["name"] for x in d] == ["cl-a", "cl-b", "cl-c"], d
assert d[0]["cut_from"] == ["cl-c"] and d[2]["cut_from"] == ["cl-a"], d
assert d[1]["shaping"] == "delay 20ms" and d[0]["shaping"] is None, d
assert all(x["state"] == "running" and x["ready"] is True for x in d), d
' "$output"
	run --separate-stderr "$UC" down "$f"
	[ "$status" -eq 0 ]
	[ "$output" = "cl-c: stopped${nl}cl-b: stopped${nl}cl-a: stopped" ]
	[ ! -e /sys/class/net/ut-cl-up ]
	run --separate-stderr "$UC" status "$f"
	[ "$status" -eq 1 ]
	[[ "${lines[1]}" =~ ^cl-a\ +stopped ]]
	run --separate-stderr "$UC" down "$f"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	kill "$p"
	wait "$p" || true
	# the order up kept, as events saw it
	[ "$(grep -o '"event": "ready", "name": "cl-[abc]"' "$ev" | cut -d'"' -f8 | tr '\n' ' ')" = "cl-a cl-b cl-c " ]
	[ "$(grep -o '"event": "stopped", "name": "cl-[abc]"' "$ev" | cut -d'"' -f8 | tr '\n' ' ')" = "cl-c cl-b cl-a " ]
}

@test "up rolls back everything it started when one instance fails" {
	local f
	"$UC" spawn --detach --name cl-pre --root "$BB" -- /bin/sleep 5429 >/dev/null
	f=$(topo rb.topo "bridge ut-cl-rb addr 10.244.2.1/24
instance cl-pre root $BB -- /bin/sleep 5429
instance cl-1 root $BB bridge ut-cl-rb addr 10.244.2.2/24 -- /bin/sleep 5430
instance cl-2 root $BB bridge ut-cl-rb addr 10.244.2.3/24 after cl-1 ready tcp:1 ready-timeout 1 -- /bin/sleep 5431
instance cl-3 root $BB bridge ut-cl-rb addr 10.244.2.4/24 after cl-2 -- /bin/sleep 5432")
	run --separate-stderr "$UC" up "$f"
	echo "$output${nl}$stderr"
	[ "$status" -eq 125 ]
	[ "$output" = "cl-pre: running${nl}cl-1: started" ]
	[ "${stderr_lines[-1]}" = "unshared-cli: up: cl-2: could not be started; stopped again what this run started" ]
	[ ! -e "$S/cl-1" ]
	[ ! -e "$S/cl-2" ]
	[ ! -e "$S/cl-3" ]
	not pgrep -f '^/bin/sleep 543[012]$'
	[ ! -e /sys/class/net/ut-cl-rb ]
	# what ran before up is not up's to stop
	[ -d "$S/cl-pre" ]
}

@test "topology files: words as sh splits them, nothing expanded; comments; continued lines" {
	local f out=$BATS_TEST_TMPDIR/out
	mkdir "$BATS_TEST_TMPDIR/data"
	f=$(topo w.topo "instance cl-args root $BB data data:/out \\
  -- /bin/sh -c 'for a; do printf \"<%s>\\n\" \"\$a\"; done >/out/argv; exec sleep 5433' sh \\
  plain 'single \$HOME *' \"double \\\"q\\\" \\\$x\" back\\ slash '' \"\" # a comment
# a line of comment")
	cat "$f"
	"$UC" up "$f"
	wait_for test -s "$BATS_TEST_TMPDIR/data/argv"
	cat "$BATS_TEST_TMPDIR/data/argv"
	[ "$(cat "$BATS_TEST_TMPDIR/data/argv")" = "<plain>${nl}<single \$HOME *>${nl}<double \"q\" \$x>${nl}<back slash>${nl}<>${nl}<>" ]
	"$UC" down "$f"
}

@test "topology files: errors name the file and line; nothing starts" {
	local f
	for case in "instance cl-a root x|:1: instance cl-a: needs -- COMMAND" \
		"instance cl-a root x frob y -- true|:1: instance cl-a: unknown keyword 'frob'" \
		"instance cl-a after cl-b -- true|:1: instance cl-a: after 'cl-b', which the file does not declare" \
		"instance cl-a after cl-b -- true${nl}instance cl-b after cl-a -- true|: the 'after' lines make a cycle among: cl-a cl-b" \
		"instance cl-a -- sh -c 'oops|:1: unterminated '" \
		"# nothing${nl}bridge ut-cl-x addr 10.244.9.1|:2: bridge ut-cl-x: addr '10.244.9.1': expected ADDRESS/PREFIX, e.g. 10.240.0.1/24" \
		"node cl-a|:1: expected 'bridge' or 'instance', not 'node'" \
		"instance cl-a -- true${nl}instance cl-a -- true|:2: instance cl-a: declared twice" \
		"instance ../x -- true|:1: instance '../x': use letters, digits, '_', '.', '-', starting with a letter or digit" \
		"# empty|: no instance in it"; do
		f=$(topo e.topo "${case%%|*}")
		run --separate-stderr "$UC" up "$f"
		echo "$case: $status $stderr"
		[ "$status" -eq 125 ]
		[ "$stderr" = "unshared-cli: up: $f${case#*|}" ] || [[ "$stderr" == "unshared-cli: up: $f${case#*|}"* ]]
	done
	run --separate-stderr "$UC" up "$BATS_TEST_TMPDIR/missing.topo"
	[ "$status" -eq 125 ]
	[ ! -e "$S/cl-a" ]
}

# ---- graph ----

@test "graph: bridges, instances, addresses, shaping, partitions: text, dot, svg" {
	sleeper cl-a 10.244.0.2/24 5434
	sleeper cl-b 10.244.0.3/24 5435 --delay 50ms
	sleeper cl-c 10.244.0.4/24 5436
	"$UC" spawn --detach --name cl-solo --root "$BB" -- /bin/sleep 5437 >/dev/null
	"$UC" net partition cl-a cl-c
	run --separate-stderr "$UC" graph
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ut-cl1 (bridge 10.244.0.1/24)" ]
	[[ "${lines[1]}" =~ ^\|--\ cl-a\ +10\.244\.0\.2/24\ +running$ ]]
	[[ "${lines[2]}" =~ ^\|--\ cl-b\ +10\.244\.0\.3/24\ +running\ +delay\ 50ms$ ]]
	[[ "${lines[3]}" =~ ^\`--\ cl-c\ +10\.244\.0\.4/24\ +running$ ]]
	[ "${lines[4]}" = "on no bridge:" ]
	[[ "${lines[5]}" =~ ^\ +cl-solo\ +-\ +running$ ]]
	[ "${lines[6]}" = "partitions:" ]
	[ "${lines[7]}" = "  cl-a  x  cl-c" ]
	run --separate-stderr "$UC" graph --format dot
	[ "$status" -eq 0 ]
	[[ "$output" == *'"bridge:ut-cl1" -- "cl-b" [color=orange, fontcolor=orange, label="delay 50ms"];'* ]]
	[[ "$output" == *'"cl-a" -- "cl-c" [style=dashed, color=red'* ]]
	if command -v dot >/dev/null; then
		echo "$output" | dot -Tsvg >/dev/null
		run --separate-stderr "$UC" graph --format svg
		[ "$status" -eq 0 ]
		[[ "$output" == *"<svg"* ]]
		[[ "$output" == *solo* ]]
	fi
	run --separate-stderr "$UC" graph --format png
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: graph: --format 'png': expected text, dot or svg" ]
}

@test "graph --format svg without Graphviz: a clear error" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin" /bin/sh -c '
		PATH=/usr/sbin:/usr/bin:/sbin:/bin
		exec "$0" graph --format svg' "$UC"
	# the front end sets its own PATH: only a host without dot can show it
	command -v dot >/dev/null && skip "Graphviz is installed (the error path needs a host without it)"
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"needs Graphviz's dot (Debian package graphviz)"* ]]
}

# ---- shells ----

@test "net, up, status, down, graph, events under dash, busybox ash and bash --posix" {
	local sh f
	f=$(topo s.topo "bridge ut-cl2 addr 10.244.3.1/24
instance cl-s1 root $BB bridge ut-cl2 addr 10.244.3.2/24 -- /bin/sleep 5438
instance cl-s2 root $BB bridge ut-cl2 addr 10.244.3.3/24 after cl-s1 ready file:/bin/sh -- /bin/sleep 5439")
	for sh in dash "busybox ash" "bash --posix"; do
		echo "== $sh"
		$sh "$UC" up "$f"
		$sh "$UC" net partition cl-s1 cl-s2
		not "$UC" attach cl-s1 -- /bin/ping -c1 -W1 10.244.3.3 >/dev/null 2>&1
		$sh "$UC" net set cl-s2 --delay 5ms --loss 1% --rate 1mbit
		$sh "$UC" status "$f" | grep -q 'delay 5ms loss 1% rate 1mbit  *cl-s1'
		$sh "$UC" graph | grep -q 'cl-s1  x  cl-s2'
		$sh "$UC" net heal cl-s2
		# cl-s2 still drops 1% of what it sends: one reply of three is enough
		"$UC" attach cl-s1 -- /bin/ping -c3 -i0.2 -W1 10.244.3.3 >/dev/null
		$sh "$UC" down "$f"
		$sh "$UC" events --since-start --no-follow | grep -q 'stopped  *cl-s1'
		[ ! -e /sys/class/net/ut-cl2 ]
	done
}

# ---- the example ----

@test "example: a 3-node etcd cluster notices a partition, survives, heals; nothing left" {
	command -v etcd >/dev/null && command -v etcdctl >/dev/null || need "etcd-server and etcd-client (Debian)"
	run --separate-stderr "$TOP/examples/cluster-3node/run"
	echo "$output"
	echo "$stderr" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"new leader: etcd-"*"(elected without etcd-"* ]]
	[[ "$output" == *"refused (no quorum)"* ]]
	[[ "$output" == *"(written while it was cut off)"* ]]
	[ ! -e /sys/class/net/ut-cl-etcd ]
	not pgrep -x etcd
}
