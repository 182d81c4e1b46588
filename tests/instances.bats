#!/usr/bin/env bats
# Instances: spawn --detach, list, list --json, attach, logs, stop, gc; the name
# lock; every ending, including kill -9 of the supervisor followed by gc.
# Markers: sleep 53NN. Bridges: ut-inst only. Network namespaces: ut-*.

load helpers

setup_file() {
	make_bbroot "$BATS_FILE_TMPDIR/bb"
}

setup() {
	common_setup
	BB=$BATS_FILE_TMPDIR/bb
	S=$UNSHARED_STATE
}

teardown() {
	# end what a failed test left, through the tool first, by hand after
	"$UC" stop --all --timeout 1 >/dev/null 2>&1 || true
	"$UC" gc >/dev/null 2>&1 || true
	ip netns del ut-ns4 2>/dev/null || true
	ip link del ut-inst 2>/dev/null || true
	rm -rf "$S/.net"
	common_teardown
	# no cgroup of ours may outlive its instance
	[ -z "$(ls -d /sys/fs/cgroup/unshared-ui-* /sys/fs/cgroup/unified/unshared-ui-* 2>/dev/null)" ]
}

net_ready() {
	[ -f "$TOP/lib/net.sh" ]
}

# no_leases: no address lease is left on ut-inst; then the bridge (shared, so
# it stays after its instances) and the network module's cache of it go
no_leases() {
	local leases
	leases=$(grep -v -e '^#' -e localhost "$S/.net/ut-inst/hosts" 2>/dev/null || true)
	ip link del ut-inst 2>/dev/null || true
	rm -rf "$S/.net"
	[ -z "$leases" ]
}

# sup NAME / cmdpid NAME: the pids the state directory records
sup() { read -r p _ <"$S/$1/pid" && echo "$p"; }
cmdpid() { cat "$S/$1/cmdpid"; }


# count N MARKER: exactly N processes `sleep MARKER` run
count() { [ "$(pgrep -fc "^(/bin/)?sleep $2\$")" -eq "$1" ]; }
running() { pgrep -f "^(/bin/)?sleep $1\$" >/dev/null; }
gone() { ! running "$1"; }
no_entry() { [ ! -e "$S/$1" ]; }

# json EXPR: evaluate a python expression on `list --json` (bound to d)
json() {
	"$UC" list --json | python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

@test "spawn --detach prints the name and returns while the command runs" {
	run --separate-stderr "$UC" spawn --detach --name ui-web --root "$BB" -- /bin/sleep 5301
	[ "$status" -eq 0 ]
	[ "$output" = ui-web ]
	running 5301
	[ -d "$S/ui-web" ]
	kill -0 "$(sup ui-web)"
	# --fork is the seed's word for it
	run "$UC" spawn --fork --name ui-fork --root "$BB" -- /bin/sleep 5302
	[ "$status" -eq 0 ]
	[ "$output" = ui-fork ]
	running 5302
}

@test "list: a table with name, pids, root, namespaces, bridge, address, uptime" {
	"$UC" spawn --detach --name ui-a --pid --uts --root "$BB" -- /bin/sleep 5303
	"$UC" spawn --detach --name ui-b --root "$BB" -- /bin/sleep 5304
	run --separate-stderr "$UC" list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^NAME\ +PID\ +CMDPID\ +ROOT\ +NS\ +BRIDGE\ +ADDR\ +UPTIME\ +STATE$ ]]
	read -r n p c r ns br ad up st <<<"${lines[1]}"
	[ "$n" = ui-a ]
	[ "$p" = "$(sup ui-a)" ]
	[ "$c" = "$(cmdpid ui-a)" ]
	[ "$r" = "$BB" ]
	[ "$ns" = mnt,uts,pid ]
	[ "$br" = - ]
	[ "$ad" = - ]
	[[ "$up" =~ ^[0-9]+s$ ]]
	[ "$st" = running ]
	[[ "${lines[2]}" == ui-b\ * ]]
}

@test "list --json: an array of objects with the documented types" {
	"$UC" spawn --detach --name ui-a --pid --root "$BB" -- /bin/sleep 5305
	sleep 1.1
	"$UC" list --json >"$BATS_TEST_TMPDIR/l.json"
	python3 - "$BATS_TEST_TMPDIR/l.json" "$(sup ui-a)" "$(cmdpid ui-a)" "$BB" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1, d
i = d[0]
assert i["name"] == "ui-a", i
assert i["pid"] == int(sys.argv[2]) and isinstance(i["pid"], int), i
assert i["cmdpid"] == int(sys.argv[3]), i
assert i["root"] == sys.argv[4], i
assert i["ns"] == ["mnt", "pid"], i
assert i["bridge"] is None and i["addr"] is None, i
assert isinstance(i["uptime"], int) and 1 <= i["uptime"] < 60, i
assert i["state"] == "running", i
assert i["cmd"] == "/bin/sleep 5305", i
PY
}

@test "list --json escapes quotes, backslashes and control characters" {
	local tab=$'\t' weird
	weird="a\"b\\c${tab}d$(printf '\001')e"
	"$UC" spawn --detach --name ui-q --root "$BB" -- /bin/sh -c 'exec sleep 5306' "$weird"
	"$UC" list --json >"$BATS_TEST_TMPDIR/l.json"
	python3 - "$BATS_TEST_TMPDIR/l.json" "$weird" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d[0]["cmd"].endswith(sys.argv[2]), d
PY
}

@test "list with nothing running: a header, and [] as JSON" {
	run --separate-stderr "$UC" list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	run --separate-stderr "$UC" list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin))')" = "[]" ]
	run --separate-stderr "$UC" list --bogus
	[ "$status" -eq 125 ]
	[[ "$stderr" == "unshared-cli: list: unknown option '--bogus'"* ]]
}

@test "attach enters the instance's pid namespace, network namespace and root" {
	"$UC" spawn --detach --name ui-at --pid --net --uts --hostname ui-inside --root "$BB" -- /bin/sleep 5307
	local c
	c=$(cmdpid ui-at)
	wait_for running 5307
	touch "$BB/tmp/ui-marker"
	# shellcheck disable=SC2016 # the script runs inside
	run --separate-stderr "$UC" attach ui-at -- /bin/sh -c \
		'hostname; for n in pid net mnt; do readlink /proc/self/ns/$n; done; ls /proc | grep -c "^[0-9]"; ps -o args | grep -c "^/bin/sleep 5307"; ls /tmp/ui-marker; ip -o link | grep -vc " lo:"; true'
	rm -f "$BB/tmp/ui-marker"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ui-inside ]
	[ "${lines[1]}" = "$(readlink /proc/"$c"/ns/pid)" ]
	[ "${lines[2]}" = "$(readlink /proc/"$c"/ns/net)" ]
	[ "${lines[3]}" = "$(readlink /proc/"$c"/ns/mnt)" ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/pid)" ]
	[ "${lines[4]}" -le 6 ]
	[ "${lines[5]}" = 1 ]
	[ "${lines[6]}" = /tmp/ui-marker ]
	[ "${lines[7]}" = 0 ]
}

@test "attach: the command's exit status, 127 not found; an unknown name 125" {
	"$UC" spawn --detach --name ui-st --root "$BB" -- /bin/sleep 5308
	run "$UC" attach ui-st -- /bin/sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run -127 "$UC" attach ui-st -- /no/such/command
	run "$UC" attach ui-st /bin/sh -c 'exit 5'
	[ "$status" -eq 5 ]
	run --separate-stderr "$UC" attach ui-none -- true
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: attach: no instance 'ui-none' (see 'unshared-cli list')" ]
	run --separate-stderr "$UC" attach ../ui-st -- true
	[ "$status" -eq 125 ]
}

@test "attach without a command runs a shell inside" {
	"$UC" spawn --detach --name ui-sh --root "$BB" -- /bin/sleep 5309
	run bash -c "echo 'echo inside-\$((1+2)); ls /bin/busybox; exit 3' | SHELL=/bin/nosuchshell '$UC' attach ui-sh 2>/dev/null"
	[ "$status" -eq 3 ]
	[[ "$output" == *inside-3* ]]
	[[ "$output" == */bin/busybox* ]]
}

@test "attach: what it runs joins the instance and ends with it" {
	"$UC" spawn --detach --name ui-j --root "$BB" -- /bin/sleep 5310
	"$UC" attach ui-j -- /bin/sleep 5311 &
	wait_for running 5311
	"$UC" stop ui-j
	wait_for gone 5311
	wait || true
}

@test "attach, seed form: NETNS COMMAND runs in that network namespace" {
	ip netns add ut-ns4
	run --separate-stderr "$UC" attach ut-ns4 readlink /proc/self/ns/net
	[ "$status" -eq 0 ]
	[ "$output" = "$(ip netns exec ut-ns4 readlink /proc/self/ns/net)" ]
	[ "$output" != "$(readlink /proc/self/ns/net)" ]
	ip netns del ut-ns4
}

@test "logs prints a detached instance's output; -f follows until it is gone" {
	"$UC" spawn --detach --name ui-log --root "$BB" -- /bin/sh -c 'echo one; echo err >&2; exec sleep 5312'
	wait_for grep -q err "$S/ui-log/log"
	run --separate-stderr "$UC" logs ui-log
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = one ]
	[ "${lines[1]}" = err ]
	"$UC" spawn --detach --name ui-f --root "$BB" -- /bin/sh -c 'echo first; sleep 1; echo last'
	run timeout 10 "$UC" logs -f ui-f
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'first\nlast')" ]
	no_entry ui-f
	run --separate-stderr "$UC" logs ui-none
	[ "$status" -eq 125 ]
}

@test "logs: a foreground instance keeps no log" {
	"$UC" spawn --name ui-fg --root "$BB" -- /bin/sleep 5313 &
	wait_for test -s "$S/ui-fg/cmdpid"
	run --separate-stderr "$UC" logs ui-fg
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"no log"* ]]
	"$UC" stop ui-fg
	wait || true
}

@test "stop: SIGTERM, teardown, exit 0 once everything is gone" {
	"$UC" spawn --detach --name ui-s --root "$BB" -- /bin/sleep 5314
	"$UC" spawn --detach --name ui-sp --pid --root "$BB" -- /bin/sleep 5315
	run --separate-stderr "$UC" stop ui-s
	[ "$status" -eq 0 ]
	no_entry ui-s
	gone 5314
	run --separate-stderr "$UC" stop ui-sp
	[ "$status" -eq 0 ]
	no_entry ui-sp
	gone 5315
	host_unchanged
}

@test "stop --timeout: a command that ignores SIGTERM is killed after the timeout" {
	"$UC" spawn --detach --name ui-i --root "$BB" -- /bin/sh -c 'trap "" TERM; sleep 5317 & exec sleep 5316'
	"$UC" spawn --detach --name ui-ip --pid --root "$BB" -- /bin/sh -c 'trap "" TERM; exec sleep 5318'
	wait_for running 5317
	local t0=$SECONDS
	run --separate-stderr "$UC" stop --timeout 1 ui-i ui-ip
	[ "$status" -eq 0 ]
	# in parallel: both within one timeout and the teardown
	[ $((SECONDS - t0)) -ge 1 ]
	[ $((SECONDS - t0)) -le 4 ]
	no_entry ui-i
	no_entry ui-ip
	gone 5316
	gone 5317
	gone 5318
}

@test "stop --all stops every instance; unknown names are refused first" {
	local i
	for i in 1 2 3; do "$UC" spawn --detach --name "ui-$i" --root "$BB" -- /bin/sleep "532$i"; done
	run --separate-stderr "$UC" stop ui-1 ui-none
	[ "$status" -eq 125 ]
	[ "$stderr" = "unshared-cli: stop: no instance 'ui-none' (see 'unshared-cli list')" ]
	running 5321
	run --separate-stderr "$UC" stop --all
	[ "$status" -eq 0 ]
	[ -z "$(ls "$S")" ]
	gone 5321
	gone 5322
	gone 5323
	run "$UC" stop --all
	[ "$status" -eq 0 ]
	run "$UC" stop --timeout x ui-1
	[ "$status" -eq 125 ]
}

@test "a name in use is refused with 125 and the first instance is untouched" {
	"$UC" spawn --detach --name ui-dup --root "$BB" -- /bin/sleep 5324
	local p
	p=$(sup ui-dup)
	run --separate-stderr "$UC" spawn --name ui-dup --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"'ui-dup'"*"in use"* ]] || [[ "$stderr" == *ui-dup*"in use"* ]]
	run --separate-stderr "$UC" spawn --detach --name ui-dup --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	[ "$(sup ui-dup)" = "$p" ]
	running 5324
	[ "$(json 'd[0]["state"]')" = running ]
}

@test "two spawns racing for one name: exactly one wins (fresh and stale name)" {
	local round won i
	for round in fresh stale; do
		if [ "$round" = stale ]; then
			"$UC" spawn --detach --name ui-race --root "$BB" -- /bin/sleep 5325
			kill -9 "$(sup ui-race)"
			wait_for gone 5325
		fi
		for i in 1 2 3 4; do
			"$UC" spawn --detach --name ui-race --root "$BB" -- /bin/sleep 5326 >"$BATS_TEST_TMPDIR/race.$i" 2>&1 &
		done
		wait
		won=$(grep -lx ui-race "$BATS_TEST_TMPDIR"/race.* | wc -l)
		cat "$BATS_TEST_TMPDIR"/race.*
		[ "$won" -eq 1 ]
		wait_for count 1 5326
		sleep 0.2
		count 1 5326
		"$UC" stop ui-race
		rm -f "$BATS_TEST_TMPDIR"/race.*
	done
}

@test "names with '/', '..', spaces, a leading '-' or 65 characters are refused" {
	local n long
	long=$(printf 'a%.0s' $(seq 65))
	for n in a/b .. ../x 'a b' -x "$long" .hidden 'a;b' $'a\nb'; do
		run --separate-stderr "$UC" spawn --detach --name "$n" --root "$BB" -- /bin/sleep 5327
		[ "$status" -eq 125 ]
		[[ "$stderr" == "unshared-cli: spawn: name "* ]]
		[ "${#lines[@]}" -eq 0 ]
	done
	gone 5327
	[ -z "$(ls "$S" 2>/dev/null)" ]
	# 64 characters are fine
	run "$UC" spawn --name "${long%a}" --root "$BB" -- /bin/true
	[ "$status" -eq 0 ]
}

@test "kill -9 of the supervisor (no pid namespace), then gc: orphans, state and cgroup gone" {
	local extra=()
	net_ready && extra=(--net --bridge ut-inst --addr auto)
	# the command leaves a daemon behind: it is not the supervisor's child
	"$UC" spawn --detach --name ui-k "${extra[@]}" --root "$BB" -- /bin/sh -c 'sleep 5329 & exec sleep 5328'
	wait_for running 5329
	local cg
	cg=$(cat "$S/ui-k/cgroup" 2>/dev/null || true)
	kill -9 "$(sup ui-k)"
	wait_for gone 5328
	running 5329
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" == "reclaimed ui-k (supervisor "*" died"* ]]
	gone 5329
	no_entry ui-k
	[ -z "$cg" ] || [ ! -d "$cg" ]
	[ -z "$(ip netns list | awk '$1 == "ui-k"')" ]
	# idempotent
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" != *reclaimed* ]]
	no_leases
	host_unchanged
}

@test "kill -9 of the supervisor (pid namespace), then gc" {
	local extra=()
	net_ready && extra=(--net --bridge ut-inst --addr auto)
	"$UC" spawn --detach --pid --name ui-kp "${extra[@]}" --root "$BB" -- /bin/sh -c 'sleep 5331 & exec sleep 5330'
	wait_for running 5331
	kill -9 "$(sup ui-kp)"
	wait_for gone 5331
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" == "reclaimed ui-kp "* ]]
	gone 5330
	no_entry ui-kp
	[ -z "$(ip netns list | awk '$1 == "ui-kp"')" ]
	no_leases
	host_unchanged
}

@test "kill -9 of the front end during setup (a --preexec hook), then gc" {
	export UI_POST=$BATS_TEST_TMPDIR/post
	# shellcheck disable=SC2016 # hook code: NAME comes from the environment
	"$UC" spawn --detach --name ui-ks --root "$BB" --preexec 'exec sleep 5332' \
		--postexec 'touch "$UI_POST.$NAME"' -- /bin/sleep 5333 &
	local fe=$!
	wait_for running 5332
	[ "$(sup ui-ks)" = "$fe" ]
	# a spawn in progress is left alone
	run "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" != *reclaimed* ]]
	[ -d "$S/ui-ks" ]
	kill -9 "$fe"
	wait "$fe" || true
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" == "reclaimed ui-ks "* ]]
	no_entry ui-ks
	# the journal was replayed: the --postexec hook ran, with NAME set
	[ -e "$UI_POST.ui-ks" ]
	gone 5333
}

@test "kill -9 of the supervisor while the instance enters its root, then gc" {
	local extra=()
	net_ready && extra=(--net --bridge ut-inst --addr auto)
	# --prechroot runs inside the namespaces, after the host-side setup; --detach
	# waits for the command's exec, so it is still waiting: end it too, first
	"$UC" spawn --detach --name ui-kc "${extra[@]}" --root "$BB" --prechroot 'exec sleep 5342' -- /bin/sleep 5343 >/dev/null 2>&1 &
	local fe=$!
	wait_for running 5342
	gone 5343
	kill -9 $(pgrep -P "$fe") "$fe"
	kill -9 "$(sup ui-kc)"
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" == "reclaimed ui-kc "* ]]
	wait_for gone 5342
	gone 5343
	no_entry ui-kc
	[ -z "$(ip netns list | awk '$1 == "ui-kc"')" ]
	no_leases
	host_unchanged
}

@test "gc and list leave running instances and spawns in progress alone" {
	"$UC" spawn --detach --name ui-live --root "$BB" -- /bin/sleep 5334
	# an entry between mkdir and its pid write (fresh), and one abandoned there
	mkdir -m 0700 "$S/ui-fresh" "$S/ui-old"
	touch -d '2 minutes ago' "$S/ui-old"
	run --separate-stderr "$UC" list --json
	[ "$status" -eq 0 ]
	[ -d "$S/ui-fresh" ]
	[ -d "$S/ui-old" ]
	[ "$(json '" ".join(i["name"] + ":" + i["state"] for i in d)')" = "ui-fresh:starting ui-live:running ui-old:starting" ]
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reclaimed ui-old (abandoned during setup)" ]
	[ -d "$S/ui-fresh" ]
	[ -d "$S/ui-live" ]
	running 5334
	# a spawn for the name of an entry in progress is refused
	run "$UC" spawn --name ui-fresh --root "$BB" -- /bin/true
	[ "$status" -eq 125 ]
	rmdir "$S/ui-fresh"
}

@test "gc removes an instance cgroup left empty a minute ago, and only that" {
	local v2=/sys/fs/cgroup/unified
	[ -f $v2/cgroup.controllers ] || v2=/sys/fs/cgroup
	[ -f $v2/cgroup.controllers ] || need "a cgroup v2 hierarchy"
	mkdir "$v2/unshared-ui-old.1" "$v2/unshared-ui-new.2" "$v2/unshared-ui-busy.3"
	touch -d '2 minutes ago' "$v2/unshared-ui-old.1" "$v2/unshared-ui-busy.3"
	sleep 5344 &
	echo $! >"$v2/unshared-ui-busy.3/cgroup.procs"
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed empty cgroup $v2/unshared-ui-old.1"* ]]
	[ ! -d "$v2/unshared-ui-old.1" ]
	[ -d "$v2/unshared-ui-new.2" ]
	[ -d "$v2/unshared-ui-busy.3" ]
	kill -9 $!
	wait $! || true
	wait_for rmdir "$v2/unshared-ui-busy.3"
	rmdir "$v2/unshared-ui-new.2"
}

@test "an ended instance's state goes to .trash; gc empties it, leaving what is not empty" {
	"$UC" spawn --name ui-tr --root "$BB" -- /bin/true
	[ ! -e "$UNSHARED_STATE/ui-tr" ]
	[ -n "$(ls "$UNSHARED_STATE/.trash" | grep '^ui-tr\.')" ]
	mkdir "$UNSHARED_STATE/.trash/ui-full.1" && touch "$UNSHARED_STATE/.trash/ui-full.1/f"
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[[ $stderr == *".trash/ui-full.1: not empty, left alone"* ]]
	[ "$(ls "$UNSHARED_STATE/.trash")" = ui-full.1 ]
	rm -r "$UNSHARED_STATE/.trash/ui-full.1"
}

@test "gc removes the registry of a bridge deleted by hand: no lease left, a minute old" {
	local n=$UNSHARED_STATE/.net
	mkdir -p "$n/ut-gone1" "$n/ut-gone2" "$n/ut-gone3"
	printf '127.0.0.1\tlocalhost\n' >"$n/ut-gone1/hosts"
	printf '127.0.0.1\tlocalhost\n10.9.0.2\tsomeone\n' >"$n/ut-gone2/hosts"
	: >"$n/ut-gone1/lock"
	touch -d '2 minutes ago' "$n/ut-gone1" "$n/ut-gone2"
	run --separate-stderr "$UC" gc
	[ "$status" -eq 0 ]
	[ "$output" = "removed the registry of bridge ut-gone1 (gone)" ]
	# a lease left, or made just now: kept
	[ -d "$n/ut-gone2" ] && [ -d "$n/ut-gone3" ]
	rm -r "$n/ut-gone2" "$n/ut-gone3"
}

@test "list reclaims stale entries unless --no-gc; a stale name can be reused" {
	"$UC" spawn --detach --name ui-st --root "$BB" -- /bin/sleep 5335
	kill -9 "$(sup ui-st)"
	wait_for gone 5335
	run --separate-stderr "$UC" list --no-gc --json
	[ "$status" -eq 0 ]
	[[ "$output" == *'"state": "stale"'* ]]
	[ -d "$S/ui-st" ]
	run --separate-stderr "$UC" list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	no_entry ui-st
	# and spawn reclaims a stale name by itself
	"$UC" spawn --detach --name ui-st --root "$BB" -- /bin/sleep 5336
	kill -9 "$(sup ui-st)"
	wait_for gone 5336
	run "$UC" spawn --detach --name ui-st --root "$BB" -- /bin/sleep 5337
	[ "$status" -eq 0 ]
	running 5337
}

@test "50 parallel detached spawns with auto names: all distinct, all torn down" {
	local i extra=() n u
	if net_ready; then
		extra=(--net --bridge ut-inst --addr auto)
		# the bridge first: this test is about names and teardown, not about
		# spawns racing to create a bridge (tests/network.bats has that)
		"$UC" spawn --detach --name ui-first "${extra[@]}" --root "$BB" -- /bin/sleep 5340
	fi
	for i in $(seq 50); do
		"$UC" spawn --detach "${extra[@]}" --root "$BB" -- /bin/sleep 5338 >"$BATS_TEST_TMPDIR/p.$i" 2>&1 &
	done
	wait
	cat "$BATS_TEST_TMPDIR"/p.* | grep -v '^u-' || true
	n=$(cat "$BATS_TEST_TMPDIR"/p.* | grep -c '^u-')
	u=$(cat "$BATS_TEST_TMPDIR"/p.* | grep '^u-' | sort -u | wc -l)
	[ "$n" -eq 50 ]
	[ "$u" -eq 50 ]
	wait_for count 50 5338
	if net_ready; then
		[ "$(json 'len(d)')" -eq 51 ]
		[ "$(json 'len(set(i["addr"] for i in d if i["addr"]))')" -eq 51 ]
	else
		[ "$(json 'len(d)')" -eq 50 ]
	fi
	run --separate-stderr "$UC" stop --all
	[ "$status" -eq 0 ]
	[ -z "$(ls "$S")" ]
	wait_for gone 5338
	gone 5340
	no_leases
	host_unchanged
}

@test "the instance commands run under dash, busybox ash and bash --posix" {
	local sh
	for sh in dash "busybox ash" "bash --posix"; do
		$sh "$UC" spawn --detach --name ui-sh --root "$BB" -- /bin/sh -c 'echo hello; exec sleep 5339'
		wait_for grep -q hello "$S/ui-sh/log"
		$sh "$UC" list | grep -q '^ui-sh '
		[ "$($sh "$UC" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')" = ui-sh ]
		# shellcheck disable=SC2016 # the script runs inside
		[ "$($sh "$UC" attach ui-sh -- /bin/sh -c 'echo $((6*7))')" = 42 ]
		[ "$($sh "$UC" logs ui-sh)" = hello ]
		kill -9 "$(sup ui-sh)"
		wait_for gone 5339
		[[ "$($sh "$UC" gc)" == "reclaimed ui-sh "* ]]
		$sh "$UC" spawn --detach --name ui-sh --root "$BB" -- /bin/sleep 5339
		$sh "$UC" stop ui-sh
		no_entry ui-sh
		gone 5339
	done
}
