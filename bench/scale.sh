#!/usr/bin/env bash
# bench/scale.sh: figures (4) and (5). BENCH_SCALE detached instances on one
# bridge (ubench1), started by BENCH_PAR spawners in parallel:
#   spawn --detach --net --bridge ubench1 --addr auto --root R -- /bin/sleep SECS
#   (SECS: over an hour, and unique to the run: on a shared machine, other
#   people's cleanups kill every `sleep 3800` they see, ours included)
#   (4) time until every spawn has returned (each returns once its command
#       runs) and `list --json` shows them all running; time until every
#       instance answers ICMP echo from the host through the bridge (and a
#       sample answers from inside another instance); time for `stop --all`
#       to end them all; supervisor VmRSS per instance
#   (5) the supervisors' peak RSS (VmHWM), the largest of them
# When the full count cannot be reached (a spawn fails), what came up is
# reported, everything is stopped and the figure is taken again at 100.
. "${BASH_SOURCE[0]%/*}/lib.bash"

bench_root || exit 1
make -s -C "$BENCH_TOP" all >&2 || exit 1
BR=ubench1
P=$BENCH_PAR
SECS=$((3800 + BENCH_ID % 100000 * 10))

# instances NAME-PREFIX -> $names $addrs (arrays) of the running instances
# with that prefix, from `list --json`; $list_us: how long list took
instances() {
	local t0=$EPOCHREALTIME t1
	"$UC" list --json >"$BENCH_TMP/list.json" 2>>"$BENCH_TMP/errors"
	t1=$EPOCHREALTIME
	list_us=$((${t1/./} - ${t0/./}))
	mapfile -t names < <(python3 -c '
import json, sys
for i in json.load(sys.stdin):
    if i["name"].startswith(sys.argv[1]) and i["state"] == "running":
        print(i["name"], (i.get("addr") or "-").split("/")[0])
' "$1" <"$BENCH_TMP/list.json")
	addrs=("${names[@]#* }")
	names=("${names[@]%% *}")
}

# rss -> $rss_avg $rss_max $hwm_max $anon_avg (KiB) over the supervisors of
# our instances (DIR/pid), $rss_n of them
rss() {
	local d p s k v sum=0 asum=0 kb
	rss_n=0 rss_max=0 hwm_max=0
	for d in "$UNSHARED_STATE"/ub"$BENCH_ID"-s*/; do
		read -r p s 2>/dev/null <"$d/pid" || continue
		bench_is "$p" "$s" || continue
		local r='' h='' an=''
		while read -r k v _; do
			case $k in VmRSS:) r=$v ;; VmHWM:) h=$v ;; RssAnon:) an=$v ;; esac
		done <"/proc/$p/status"
		[ -n "$r" ] || continue
		rss_n=$((rss_n + 1)) sum=$((sum + r)) asum=$((asum + ${an:-0}))
		[ "$r" -le "$rss_max" ] || rss_max=$r
		[ "$h" -le "$hwm_max" ] || hwm_max=$h
	done
	kb=$((rss_n > 0 ? rss_n : 1))
	rss_avg=$((sum / kb)) anon_avg=$((asum / kb))
}

# arp -> $arp_entries $arp_fulls: the kernel's ARP table (one for all network
# namespaces, bounded by the host's gc_thresh3): entries now, and how often
# an entry could not be made since boot (summed over the CPUs)
arp() {
	local -a h v
	local k i=-1 e=-1
	arp_entries=0 arp_fulls=0
	{
		read -r -a h
		for k in "${!h[@]}"; do
			case ${h[k]} in entries) e=$k ;; table_fulls) i=$k ;; esac
		done
		while read -r -a v; do
			[ "$e" -lt 0 ] || arp_entries=$((16#${v[e]}))
			[ "$i" -lt 0 ] || arp_fulls=$((arp_fulls + 16#${v[i]}))
		done
	} </proc/net/stat/arp_cache 2>/dev/null
}

# scale N: one complete round; sets the figures, returns 1 when not all came up
scale() {
	local n=$1 w i t0 t1 fails
	local prefix=ub$BENCH_ID-s
	: >"$BENCH_TMP/spawnfail"
	say "(4) $n detached instances on $BR, $P spawners in parallel"
	t0=$EPOCHREALTIME
	for ((w = 1; w <= P; w++)); do
		(
			for ((i = w; i <= n; i += P)); do
				s0=$EPOCHREALTIME
				"$UC" spawn --detach --name "$prefix$i" --net --bridge "$BR" --addr auto --root "$R" \
					-- /bin/sleep "$SECS" >/dev/null 2>>"$BENCH_TMP/errors" || echo "$i" >>"$BENCH_TMP/spawnfail"
				s1=$EPOCHREALTIME
				echo "$i $((${s1/./} - ${s0/./}))"
			done >"$BENCH_TMP/spawn.$w"
		) &
	done
	wait
	t1=$EPOCHREALTIME
	up_ms=$(((${t1/./} - ${t0/./}) / 1000))
	fails=$(wc -l <"$BENCH_TMP/spawnfail")
	# one spawn's time as the bridge fills: the first tenth against the last
	local -a each first last
	mapfile -t each < <(sort -n "$BENCH_TMP"/spawn.* | while read -r _ v; do echo "$v"; done)
	first=("${each[@]:0:n/10}") last=("${each[@]:n-n/10}")
	median first; ms "$med"; spawn_first=$ms
	median last; ms "$med"; spawn_last=$ms
	instances "$prefix"
	up_n=${#names[@]}
	# `list` itself: part of knowing they are up
	up_all_ms=$((up_ms + list_us / 1000))
	say "(4) $up_n of $n running after $up_ms ms ($fails spawns failed); list --json took $((list_us / 1000)) ms"
	say "(4) one spawn --detach, median: $spawn_first for the first $((n / 10)) instances, $spawn_last for the last $((n / 10))"

	rss
	say "(4) supervisors: $rss_n, VmRSS avg $rss_avg KiB (anon $anon_avg KiB), max $rss_max KiB, VmHWM max $hwm_max KiB"

	# reachable: every instance from the host (the bridge has the gateway
	# address), and a sample of them from inside the first instance
	reach='' reach_ms=0 sample_ok=0 sample_n=0
	arp; local fulls0=$arp_fulls
	if [ "$up_n" -gt 0 ]; then
		read -r reach_ok reach_total reach_ms < <(python3 "$BENCH_DIR/icmp.py" 20 "${addrs[@]}" 2>>"$BENCH_TMP/errors")
		reach="${reach_ok:-0}/${reach_total:-$up_n}"
		for ((i = 1; i < up_n; i += (up_n + 4) / 5)); do
			sample_n=$((sample_n + 1))
			ip netns exec "${names[0]}" busybox ping -c 1 -W 2 "${addrs[i]}" >/dev/null 2>&1 &&
				sample_ok=$((sample_ok + 1))
		done
		say "(4) ICMP: $reach answered the host in $reach_ms ms; $sample_ok/$sample_n answered ${names[0]}"
	fi
	arp
	local thresh
	read -r thresh 2>/dev/null </proc/sys/net/ipv4/neigh/default/gc_thresh3 || thresh='?'
	arp_full=$((arp_fulls - fulls0)) arp_thresh=$thresh
	arp_note="ARP table (all namespaces): $arp_entries entries after the check, gc_thresh3 $thresh, full $arp_full times during it"
	say "(4) $arp_note"

	say "(4) stop --all"
	t0=$EPOCHREALTIME
	"$UC" stop --all >/dev/null 2>>"$BENCH_TMP/errors"
	stop_rc=$?
	t1=$EPOCHREALTIME
	down_ms=$(((${t1/./} - ${t0/./}) / 1000))
	left=0
	for d in "$UNSHARED_STATE"/"$prefix"*; do [ ! -d "$d" ] || left=$((left + 1)); done
	# the veths go asynchronously with their namespaces: until the bridge is empty
	local k=0 ports
	while ports=$(compgen -G "/sys/class/net/$BR/brif/*" | wc -l) && [ "$ports" -gt 0 ] && [ "$k" -lt 300 ]; do
		sleep 0.1
		k=$((k + 1))
	done
	t1=$EPOCHREALTIME
	empty_ms=$(((${t1/./} - ${t0/./}) / 1000))
	say "(4) stop --all: status $stop_rc after $down_ms ms, $left entries left; bridge empty after $empty_ms ms ($ports ports left)"
	[ "$up_n" -eq "$n" ] && [ "$fails" -eq 0 ]
}

# report N: the rows of one round
report() {
	local n=$1
	sec "$up_all_ms"; local s=$sec
	local target=$((n * 10)) # 10 s for 1000: 10 ms each
	sec "$target"; local ts=$sec
	if [ "$up_n" -eq "$n" ]; then
		sec $((up_all_ms - target)); judge "$up_all_ms" "$target" "$sec"
	else
		verdict="FAILED: $up_n of $n up"
	fi
	row "(4) $n instances up (detached, one bridge, $P spawners)" "$s" "-" "-" "< $ts" "$verdict"
	note "(4) $n: one spawn --detach takes $spawn_first (median) for the first $((n / 10)) instances on the bridge, $spawn_last for the last $((n / 10)); list --json of all $((list_us / 1000)) ms"
	if [ -n "$reach" ] && [ "${reach_ok:-0}" -eq "$n" ] && [ "$sample_ok" -eq "$sample_n" ]; then
		verdict=ok
	elif [ "${arp_full:-0}" -gt 0 ]; then
		# each instance that talks to the host takes two entries (one on each side)
		verdict="MISS: $((n - ${reach_ok:-0})) silent; host ARP table full (gc_thresh3 $arp_thresh < 2 x $n)"
	else
		verdict="MISS: $((n - ${reach_ok:-0})) silent"
	fi
	row "(4) $n reachable: ICMP from the host; from inside one" "$reach in $reach_ms ms; $sample_ok/$sample_n" "-" "-" "all" "$verdict"
	note "(4) $n: $arp_note"
	sec "$down_ms"; s=$sec
	target=$((n * 5))
	sec "$target"; ts=$sec
	if [ "$left" -eq 0 ] && [ "$stop_rc" -eq 0 ]; then
		sec $((down_ms - target)); judge "$down_ms" "$target" "$sec"
	else
		verdict="FAILED: stop --all status $stop_rc, $left left"
	fi
	row "(4) $n instances down (stop --all)" "$s" "-" "-" "< $ts" "$verdict"
	sec "$empty_ms"
	note "(4) $n: the bridge had no port left $sec after stop --all began (veths go with their namespaces, asynchronously)"
	kib "$rss_avg"; s=$kib
	judge "$rss_avg" 1023 "$((rss_avg - 1024)) KiB"
	row "(4) supervisor VmRSS per instance (avg of $rss_n)" "$s" "-" "-" "< 1 MiB" "$verdict"
	note "(4) supervisor RSS, of which anonymous: $anon_avg KiB on average; largest VmRSS $rss_max KiB"
	kib "$hwm_max"; s=$kib
	judge "$hwm_max" 1023 "$((hwm_max - 1024)) KiB"
	row "(5) supervisor peak RSS (largest VmHWM of $rss_n)" "$s" "-" "-" "< 1 MiB" "$verdict"
}

# does the machinery work at all? one instance: detach, list, stop
say "(4) probe: one detached instance, list --json, stop"
probe=ub$BENCH_ID-probe
if ! "$UC" spawn --detach --name "$probe" --net --bridge "$BR" --addr auto --root "$R" -- /bin/sleep "$SECS" \
	>/dev/null 2>>"$BENCH_TMP/errors"; then
	row "(4) $BENCH_SCALE instances on one bridge" "-" "-" "-" "-" "NOT RUN: spawn --detach --net --bridge fails"
	tail -n 3 "$BENCH_TMP/errors" | while IFS= read -r l; do note "(4) $l"; done
	exit 0
fi
instances "$probe"
"$UC" stop "$probe" >/dev/null 2>>"$BENCH_TMP/errors"
if [ "${#names[@]}" -ne 1 ] || [ -d "$UNSHARED_STATE/$probe" ]; then
	row "(4) $BENCH_SCALE instances on one bridge" "-" "-" "-" "-" "NOT RUN: list --json or stop does not work"
	exit 0
fi

if scale "$BENCH_SCALE"; then
	report "$BENCH_SCALE"
else
	report "$BENCH_SCALE"
	tail -n 3 "$BENCH_TMP/errors" | while IFS= read -r l; do note "(4) $l"; done
	bench_reset
	if [ "$BENCH_SCALE" -gt 100 ]; then
		scale 100
		report 100
	fi
fi
bench_bridge_del "$BR"
