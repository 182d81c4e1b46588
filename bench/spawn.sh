#!/usr/bin/env bash
# bench/spawn.sh: figures (1) and (2), spawn latency against peers doing the
# same work, BENCH_N interleaved rounds, medians.
#   (1) spawn --mount --pid --ipc --uts --root R -- /bin/true
#       vs bwrap with the same namespaces and root, vs unshare(1) + chroot(8),
#       and /bin/true alone (the floor: what bash pays to fork and exec)
#   (2) the same with --net --bridge ubench0 --addr auto, vs the bwrap of (1)
#   (3) what --net --bridge adds to the spawn of (1): the network's setup and
#       teardown as a user pays them, front end included
. "${BASH_SOURCE[0]%/*}/lib.bash"

bench_root || exit 1
bench_need bwrap bubblewrap || exit 1
bench_need unshare util-linux || exit 1
make -s -C "$BENCH_TOP" all >&2 || exit 1

ours=("$UC" spawn --mount --pid --ipc --uts --root "$R" -- /bin/true)
bwrap=(bwrap --bind "$R" / --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts /bin/true)
unshare=(unshare -mpiuf chroot "$R" /bin/true)
floor=(/bin/true)
ours_br=("$UC" spawn --mount --pid --ipc --uts --net --bridge ubench0 --addr auto --root "$R" -- /bin/true)

# fails K LABEL: a command that failed in some rounds makes its figure void
fails() {
	[ "${FAILS[$1]}" -eq 0 ] && return 1
	note "$2: failed in ${FAILS[$1]} of $BENCH_N rounds; last errors:"
	tail -n 3 "$BENCH_TMP/errors" | while IFS= read -r l; do note "    $l"; done
}

# vs_row LABEL TARGET FAILED: the row of ours ($o us) against the peer ($b us),
# judged by the ratio TARGET in hundredths (100: <= 1.0); FAILED non-empty
# (a command failed in some rounds) voids it. Leaves $mo and $mb set.
vs_row() {
	ms "$o"; mo=$ms
	ms "$b"; mb=$ms
	ratio "$o" "$b"
	if [ -n "$3" ]; then
		verdict=FAILED
	else
		ms $((o - b * $2 / 100))
		judge "$r100" "$2" "$ms"
	fi
	row "$1" "$mo" "$mb" "$ratio" "<= $(($2 / 100)).$(($2 % 100 / 10))" "$verdict"
}

say "(1) spawn vs bwrap vs unshare+chroot vs /bin/true, $BENCH_N rounds"
interleave 5 ours bwrap unshare floor # warm the caches, not counted
interleave "$BENCH_N" ours bwrap unshare floor
median SAMPLES_0; o=$med o25=$p25 o75=$p75
median SAMPLES_1; b=$med b25=$p25 b75=$p75
median SAMPLES_2; u=$med
median SAMPLES_3; f=$med
failed=''
if fails 0 "(1) spawn" || fails 1 "(1) bwrap"; then failed=1; fi
vs_row "(1) spawn --mount --pid --ipc --uts --root R -- /bin/true, vs bwrap" 100 "$failed"
ms "$u"
ratio "$o" "$u"
row "(1) the same, vs unshare -mpiuf chroot R /bin/true" "$mo" "$ms" "$ratio" "-" "info"
ms "$f"; mf=$ms
ms $((o - f)); mof=$ms
ms $((b - f))
row "(1) floor: /bin/true (fork+exec from bash)" "$mf" "-" "-" "-" "ours-floor $mof, bwrap-floor $ms"
ms "$o25"; q1=$ms; ms "$o75"; q3=$ms; ms "$b25"; q1b=$ms; ms "$b75"
note "(1) spread (quartiles): spawn $q1 .. $q3; bwrap $q1b .. $ms"

# back to back, some kernel costs are paid once for many spawns (an RCU
# grace period shared by cgroup migrations): cold, each spawn pays its own
cold=$((BENCH_N / 4 > 10 ? BENCH_N / 4 : 10))
say "(1) cold: the same, 50 ms idle before each command, $cold rounds"
PAUSE=0.05 interleave "$cold" ours bwrap
median SAMPLES_0; o=$med
median SAMPLES_1; b=$med
failed=''
if fails 0 "(1) cold spawn"; then failed=1; fi
vs_row "(1) the same, cold (50 ms idle before each), vs bwrap" 100 "$failed"

say "(2) spawn --net --bridge vs bwrap, and vs the spawn of (1), $BENCH_N rounds"
# the first spawn makes the bridge: not counted
interleave 5 ours_br bwrap ours
interleave "$BENCH_N" ours_br bwrap ours
median SAMPLES_0; o=$med
median SAMPLES_1; b=$med
median SAMPLES_2; n=$med
failed=''
if fails 0 "(2) spawn --bridge" || fails 1 "(2) bwrap"; then failed=1; fi
vs_row "(2) spawn ... --net --bridge ubench0 --addr auto, vs bwrap of (1)" 150 "$failed"
# (3) seen from the outside: what --net --bridge adds to the spawn of (1),
# the network's setup and teardown with all the front end does for them
# (bench/net.sh times the network steps alone)
ms "$n"; mn=$ms
ms $((o - n)); mdiff=$ms
ms $((o - n - 4000)); judge $((o - n)) 4000 "$ms"
row "(3) what --net --bridge adds to the spawn of (1): setup+teardown" "$mdiff" "-" "-" "<= 4 ms (3+1)" "$verdict"
note "(3) spawn ... --net --bridge: $mo; the same without network: $mn (same rounds)"
bench_bridge_del ubench0
