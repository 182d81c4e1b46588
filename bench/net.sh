#!/bin/sh
# bench/net.sh [N]: per-instance cost of wiring a network namespace to a bridge,
# and of unwiring it, over N instances (default 100): the way spawn --bridge
# does it (lib/net.sh's net_check + net_setup: one `nsnet up`; the journal
# replayed through undo_entry: one `nsnet down`) against the naive way (one
# `ip` per step, the veth moved into the namespace, the host end deleted at
# the end). Prints medians, means and 90th percentiles in ms, and ratios.
#
# Runs under /bin/sh, as the front end does (a fork costs what it costs there).
# Root only; makes bridges ubenchn0 and ubenchn1 (10.250.0.0/16, 10.251.0.0/16)
# and namespaces bn-* / bm-*, and removes them at the end, whatever happens.
# Timestamps: /proc/timer_list (no fork), else date(1); the clock's own
# cost, measured ("clock"), is subtracted from every sample.
set -eu
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
N=${1:-100}
case $N in '' | *[!0-9]* | 0) echo "usage: bench/net.sh [N]" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
UNSHARED_HOME=$here UNSHARED_LIB=$here/lib
work=$(mktemp -d "${TMPDIR:-/tmp}/unshared-bench.XXXXXX")
UNSHARED_STATE=$work/state
export UNSHARED_STATE
. "$UNSHARED_LIB/common.sh"
UNSHARED_SUB=bench
. "$UNSHARED_LIB/state.sh"
. "$UNSHARED_LIB/net.sh"
mkdir -p "$UNSHARED_STATE"

for b in ubenchn0 ubenchn1; do
	[ ! -e "/sys/class/net/$b" ] || { echo "bench/net.sh: $b exists already: not touching it" >&2; rm -rf "$work"; exit 2; }
done

cleanup() {
	for f in /run/netns/bn-* /run/netns/bm-*; do
		[ -e "$f" ] && ip netns del "${f##*/}" 2>/dev/null || :
	done
	for v in /sys/class/net/bmv*; do
		[ -e "$v" ] && ip link del "${v##*/}" 2>/dev/null || :
	done
	ip link del ubenchn0 2>/dev/null || :
	ip link del ubenchn1 2>/dev/null || :
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip link add ubenchn0 type bridge && ip addr add 10.250.0.1/16 dev ubenchn0 && ip link set ubenchn0 up
ip link add ubenchn1 type bridge && ip addr add 10.251.0.1/16 dev ubenchn1 && ip link set ubenchn1 up

# us: microseconds now, into $us (its own cost is measured below). dash has
# no clock and date(1) is a process (~1 ms, as noisy as what it would time):
# the kernel's monotonic clock, from the third line of /proc/timer_list
# ("now at N nsecs"), costs no fork (~20 us here)
if { read -r _ _ && read -r _ _ && read -r _ _ _ns _ && [ -n "${_ns:-}" ]; } </proc/timer_list 2>/dev/null; then
	us() {
		{ read -r _ _; read -r _ _; read -r _ _ _ns _; } </proc/timer_list
		us=$((_ns / 1000))
	}
else
	us() { us=$(date +%s%6N); }
fi

# stats FILE: the median, mean and 90th percentile of the numbers in FILE,
# less the clock's own cost, into $med $mean $p90
stats() {
	# shellcheck disable=SC2046 # three numbers, split on purpose
	set -- $(sort -n "$1" | awk -v c="${clock:-0}" '{ v[NR] = $1; s += $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%d %d %d\n", m - c, s / NR - c, v[int((NR * 9 + 9) / 10)] - c }')
	med=$1 mean=$2 p90=$3
}

# the clock's own cost: two timestamps back to back
: >"$work/clock"
i=0
while [ "$i" -lt 50 ]; do
	us; a=$us; us; echo $((us - a)) >>"$work/clock"
	i=$((i + 1))
done
clock=0
stats "$work/clock"
clock=$med
# what one process costs here, for scale: each `ip`, each nsnet is one
: >"$work/true"
i=0
while [ "$i" -lt 50 ]; do
	us; a=$us; /bin/true; us; echo $((us - a)) >>"$work/true"
	i=$((i + 1))
done
stats "$work/true"
true_us=$med

# ours: what spawn --bridge NAME --addr auto runs, instance by instance
ours_up() {
	name=bn-$1 bridge=ubenchn0 addr=auto
	state=$UNSHARED_STATE/$name
	mkdir "$state"
	us; a=$us
	net_check
	net_setup
	us; echo $((us - a)) >>"$work/ours.up"
}
ours_down() {
	state=$UNSHARED_STATE/bn-$1 _rev=''
	while IFS= read -r _line; do _rev=$_line$nl$_rev; done <"$state/journal"
	us; a=$us
	while [ -n "$_rev" ]; do
		undo_entry "$state" "${_rev%%"$nl"*}"
		_rev=${_rev#*"$nl"}
	done
	us; echo $((us - a)) >>"$work/ours.down"
	rm -rf "$state"
}

# naive: one ip per step, the veth made in the host and moved (~16 ms), the
# host end deleted (~18 ms) before the namespace
naive_up() {
	n=bm-$1 v=bmv$1
	net_dot $(((10 << 24) + (251 << 16) + $1 + 2))
	us; a=$us
	ip netns add "$n"
	ip link add "$v" type veth peer name "${v}p"
	ip link set "${v}p" netns "$n"
	ip link set "$v" master ubenchn1
	ip link set "$v" up
	ip -n "$n" link set "${v}p" name eth0
	ip -n "$n" addr add "$dot/16" dev eth0
	ip -n "$n" link set eth0 up
	ip -n "$n" link set lo up
	ip -n "$n" route add default via 10.251.0.1
	us; echo $((us - a)) >>"$work/naive.up"
}
naive_down() {
	us; a=$us
	ip link del "bmv$1"
	ip netns del "bm-$1"
	us; echo $((us - a)) >>"$work/naive.down"
}

# ports_gone BRIDGE: microseconds until BRIDGE has no port left (the kernel
# removes a deleted namespace's veth asynchronously)
ports_gone() {
	us; a=$us
	while [ -n "$(ls "/sys/class/net/$1/brif")" ]; do sleep 0.01; done
	us; gone=$((us - a))
}

run() { # run WHO: N ups, then N downs
	: >"$work/$1.up"
	: >"$work/$1.down"
	i=0
	while [ "$i" -lt "$N" ]; do "${1}_up" "$i"; i=$((i + 1)); done
	i=0
	while [ "$i" -lt "$N" ]; do "${1}_down" "$i"; i=$((i + 1)); done
}

run ours
ports_gone ubenchn0
ours_gone=$gone
run naive
ports_gone ubenchn1
naive_gone=$gone

ms() { # ms MICROSECONDS -> $ms, two decimals
	[ "$1" -ge 0 ] || set -- 0
	ms=$(($1 / 1000)).$(printf '%02d' $(($1 % 1000 / 10)))
}
row() { # row LABEL OURS NAIVE: ms, ms, ratio
	ms "$2"; o=$ms
	ms "$3"; n=$ms
	r=-
	[ "$2" -le 0 ] || r=$(($3 * 10 / $2)); [ "$r" = - ] || r=$((r / 10)).$((r % 10))x
	printf '%-34s %10s %10s %8s\n' "$1" "$o" "$n" "$r"
}

printf 'network setup and teardown per instance, %s instances (ms; the clock'"'"'s own %s us subtracted)\n' "$N" "$clock"
ms "$true_us"
printf 'one fork+exec of /bin/true here: %s ms (ours runs 1 process per setup, 1 per teardown)\n' "$ms"
printf '%-34s %10s %10s %8s\n' '' unshared-cli naive ratio
for step in up down; do
	stats "$work/ours.$step"; om=$med oa=$mean op=$p90
	stats "$work/naive.$step"
	case $step in up) what=setup ;; *) what=teardown ;; esac
	row "$what, median" "$om" "$med"
	row "$what, mean" "$oa" "$mean"
	row "$what, 90th percentile" "$op" "$p90"
done
row "veths gone after all teardowns" "$ours_gone" "$naive_gone"
