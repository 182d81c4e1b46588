# lib/netctl.sh: `unshared-cli net`: break the network of running instances on
# purpose, and mend it. The mechanisms are lib/fault.sh's (shared with spawn
# and the teardown); this module parses, checks the instances, journals, and
# logs the events.

usage() {
	cat <<'EOF'
Usage: unshared-cli net partition A[,A...] B[,B...]
       unshared-cli net heal A[,A...] [B[,B...]]
       unshared-cli net set NAME [--delay T] [--jitter T] [--loss P] [--rate R]
                                 [--down | --up] [--clear]
       unshared-cli net show [NAME...]

partition  cut every instance of the first group off from every instance of
           the second, both ways (broadcasts too); all other pairs keep
           talking. Lasts until heal, or until either instance ends.
heal       restore those pairs; with one group, every cut of its instances.
set        change the shaping of what NAME sends, live. Options not given
           keep their value; 0 (or off) clears one, --clear clears all:
  --delay T      added latency: 100ms, 1.5s, 250us (a plain number is ms)
  --jitter T     the delay varies uniformly by +-T (packets keep their order)
  --loss P       drop P percent of what it sends: 1%, 0.5
  --rate R       at most R: 10mbit, 512kbit, 1gbit, 100kbps (tc's units)
  --down, --up   take its link down (no carrier), bring it up again
show       the shaping and the cuts of each instance (default: all).

The instances must be on a bridge (spawn --bridge). With sch_netem in the
kernel, one netem qdisc does delay, jitter, loss and rate; without it, rate
is a tbf qdisc, loss an nftables rule on the host bridge, delay and jitter
utils/delayq on an NFQUEUE (iptables). Partitions need nft (nftables).
EOF
}

cmd_main() {
	[ $# -gt 0 ] || die "missing action: partition, heal, set or show (see 'unshared-cli net --help')"
	_act=$1
	shift
	. "$UNSHARED_LIB/state.sh"
	. "$UNSHARED_LIB/ready.sh"
	. "$UNSHARED_LIB/fault.sh"
	case $_act in
	partition) net_partition "$@" ;;
	heal) net_heal "$@" ;;
	set) net_set "$@" ;;
	show) net_show "$@" ;;
	*) die "unknown action '$_act' (see 'unshared-cli net --help')" ;;
	esac
}

# net_running NAME: NAME is a running instance with a link on a bridge ->
# $n_dir, $f_host (its host end), $f_netns
net_running() {
	check_name name "$1"
	n_dir=$UNSHARED_STATE/$1
	[ -d "$n_dir" ] || die "no instance '$1' (see 'unshared-cli list')"
	state_cmd "$n_dir" || die "instance '$1' is not running"
	fault_target "$n_dir" "$1"
	[ -n "$f_host" ] && [ -n "$f_netns" ] ||
		die "instance '$1' has no link on a bridge (spawn it with --bridge)"
}

# net_group LIST -> $group: the names of A,B,C one per line, each running
net_group() {
	group='' ng_g=$1,
	while [ -n "$ng_g" ]; do
		ng_n=${ng_g%%,*}
		ng_g=${ng_g#*,}
		[ -n "$ng_n" ] || die "'$1': an empty name in the group"
		net_running "$ng_n"
		group=$group$ng_n$nl
	done
}

# net_journal DIR LINE [SAME]: LINE in DIR's journal, unless it or SAME (the
# same resource, other words) is there already (before the resource is made)
net_journal() {
	while IFS= read -r nj_l; do
		[ "$nj_l" != "$2" ] && [ "$nj_l" != "${3-}" ] || return 0
	done 2>/dev/null <"$1/journal"
	printf '%s\n' "$2" >>"$1/journal"
}

# net_pairs A-GROUP B-GROUP -> $pairs: "A HA B HB" lines, every A with every B
net_pairs() {
	pairs=''
	net_group "$1"
	np_ga=$group
	net_group "$2"
	np_gb=$group
	while [ -n "$np_ga" ]; do
		np_a=${np_ga%%"$nl"*}
		np_ga=${np_ga#*"$nl"}
		fault_target "$UNSHARED_STATE/$np_a" "$np_a"
		np_ha=$f_host
		np_r=$np_gb
		while [ -n "$np_r" ]; do
			np_b=${np_r%%"$nl"*}
			np_r=${np_r#*"$nl"}
			[ "$np_a" != "$np_b" ] || die "'$np_a' is in both groups"
			fault_target "$UNSHARED_STATE/$np_b" "$np_b"
			pairs="$pairs$np_a $np_ha $np_b $f_host$nl"
		done
	done
}

# each_pair FUNC: FUNC A HOST_A B HOST_B for every line of $pairs
each_pair() {
	ep_p=$pairs
	while [ -n "$ep_p" ]; do
		ep_l=${ep_p%%"$nl"*}
		ep_p=${ep_p#*"$nl"}
		set -f
		# shellcheck disable=SC2086 # four words we made
		set -- "$1" $ep_l
		set +f
		"$@"
		set -- "$1"
	done
}

net_partition() {
	[ $# -eq 2 ] || die "partition: needs two instances or groups (see 'unshared-cli net --help')"
	net_pairs "$1" "$2"
	fault_need nft nftables partition
	# journaled in both instances first: the teardown of either undoes it
	nc_batch=''
	each_pair partition_journal
	fault_lock partition
	fault_nft "$(fault_nft_base)
add element bridge unshared part { ${nc_batch%, } }" ||
		{ fault_unlock; die "partition: nft: $nft_err$(fault_nft_hint)"; }
	fault_unlock
	nr_gone=''
	each_pair partition_recheck
	[ -z "$nr_gone" ] || die "partition: an instance ended meanwhile (see 'unshared-cli list')"
	each_pair partition_event
}

partition_journal() {
	net_journal "$UNSHARED_STATE/$1" "part $2 $4" "part $4 $2"
	net_journal "$UNSHARED_STATE/$3" "part $2 $4" "part $4 $2"
	nc_batch="$nc_batch\"$2\" . \"$4\", \"$4\" . \"$2\", "
}

# partition_recheck: both instances still run. One that ended meanwhile may
# have read its journal before our line: its cuts are undone here.
partition_recheck() {
	if ! state_cmd "$UNSHARED_STATE/$1" || ! state_cmd "$UNSHARED_STATE/$3"; then
		undo_part '' "$2" "$4" || :
		nr_gone=1
	fi
}

partition_event() {
	event partitioned "$1" peer="$3"
}

net_heal() {
	[ $# -ge 1 ] && [ $# -le 2 ] || die "heal: needs one or two instances or groups (see 'unshared-cli net --help')"
	fault_parts
	if [ $# -eq 2 ]; then
		net_pairs "$1" "$2"
	else
		# every cut of the group's instances
		net_group "$1"
		pairs='' nh_p=$parts
		while [ -n "$nh_p" ]; do
			nh_l=${nh_p%%"$nl"*}
			nh_p=${nh_p#*"$nl"}
			nh_ha=${nh_l%% *} nh_hb=${nh_l#* }
			fault_owner "$nh_ha" || continue
			nh_a=$owner
			fault_owner "$nh_hb" || continue
			case $nl$group in *"$nl$nh_a$nl"*) pairs="$pairs$nh_a $nh_ha $owner $nh_hb$nl" ;; esac
		done
	fi
	nh_done=''
	[ -z "$pairs" ] || fault_lock heal
	each_pair heal_pair
	[ -z "$pairs" ] || { fault_table_gc; fault_unlock; }
}

heal_pair() {
	# a pair the other way round is the same cut
	case " $nh_done " in *" $4:$2 "*) return 0 ;; esac
	nh_done="$nh_done $2:$4"
	case $nl$parts in *"$nl$2 $4$nl"*) ;; *) return 0 ;; esac
	fault_part_del "$2" "$4" || { fault_unlock; die "heal: nft: $nft_err"; }
	fault_unlearn "$UNSHARED_STATE/$1" "$1" "$UNSHARED_STATE/$3"
	fault_unlearn "$UNSHARED_STATE/$3" "$3" "$UNSHARED_STATE/$1"
	event healed "$1" peer="$3"
}

net_set() {
	[ $# -gt 0 ] || die "set: missing instance name (see 'unshared-cli net --help')"
	nset_name=$1
	shift
	[ $# -gt 0 ] || die "set: nothing to set (see 'unshared-cli net --help')"
	# the options are checked before anything is touched, then applied over
	# what is in force
	fault_reset
	net_set_opts "$@"
	net_running "$nset_name"
	fault_load "$n_dir"
	net_set_opts "$@"
	[ -f "$n_dir/shape" ] || net_journal "$n_dir" "shape $f_host $nset_name"
	# an instance that ends meanwhile may have read its journal before our
	# line: what we made is undone here, whether fault_apply got through or not
	trap 'net_set_gone' EXIT
	fault_apply "$n_dir" "$nset_name"
	trap - EXIT
	if ! state_cmd "$n_dir"; then
		undo_shape "$n_dir" "$f_host" "$nset_name" || :
		die "instance '$nset_name' ended meanwhile"
	fi
	fault_event "$nset_name"
	fault_describe
	verbose "$nset_name: ${desc:-no shaping}"
}

# net_set_gone: net set is stopping (on an error): if the instance has ended
# meanwhile, undo what was made of its shaping
net_set_gone() {
	! state_cmd "$n_dir" || return 0
	# a delayq we started, whose pid the teardown may have removed with the entry
	ng_dq=$sh_delayq
	undo_shape "$n_dir" "$f_host" "$nset_name" || :
	sh_delayq=$ng_dq
	fault_stop_delayq
}

# net_set_opts OPTION...: into sh_*
net_set_opts() {
	while [ $# -gt 0 ]; do
		case $1 in
		--*=*) no_o=${1%%=*} no_v=${1#*=} ;;
		--delay | --jitter | --loss | --rate)
			[ $# -ge 2 ] || die "$1: needs a value"
			no_o=$1 no_v=$2
			shift ;;
		--down) sh_link=down; shift; continue ;;
		--up) sh_link=up; shift; continue ;;
		--clear) sh_delay=0 sh_jitter=0 sh_loss=0 sh_rate=0; shift; continue ;;
		*) die "set: unknown option '$1' (see 'unshared-cli net --help')" ;;
		esac
		case $no_o in
		--delay | --jitter | --loss | --rate) fault_opt "$no_o" "$no_v" ;;
		*) die "set: unknown option '$no_o' (see 'unshared-cli net --help')" ;;
		esac
		shift
	done
}

# net_show [NAME...]: one line per instance: name, shaping, cut from
net_show() {
	if [ $# -eq 0 ]; then
		for ns_d in "$UNSHARED_STATE"/*; do
			[ -d "$ns_d" ] && set -- "$@" "${ns_d##*/}"
		done
	fi
	fault_parts
	for ns_n in "$@"; do
		check_name name "$ns_n"
		[ -d "$UNSHARED_STATE/$ns_n" ] || die "no instance '$ns_n' (see 'unshared-cli list')"
		fault_load "$UNSHARED_STATE/$ns_n"
		fault_describe
		fault_cuts "$UNSHARED_STATE/$ns_n" "$ns_n"
		printf '%s\t%s\t%s\n' "$ns_n" "${desc:--}" "${cuts:+cut from $cuts}"
	done
}
