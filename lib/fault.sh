# lib/fault.sh: breaking the network on purpose, and undoing it. Shared by
# spawn (--delay --jitter --loss --rate), net (set, partition, heal), graph,
# status and the teardown (lib/state.sh calls undo_shape and undo_part).
#
# Shaping applies to what an instance sends (the egress of its link), as
# containerlab and Pumba apply netem to a container's interface: between a
# delayed instance and an undelayed one the round trip grows by the delay.
#   with sch_netem   one netem qdisc on eth0 inside the instance's netns
#   without it (this project's CI kernel has none):
#     rate           tbf on eth0 inside the instance's netns
#     loss           nftables on the host, where the frame enters the bridge:
#                    table bridge unshared, map shape: iifname HOSTIF ->
#                    jump loss-HOSTIF { numgen random mod 10000 < N drop }.
#                    Dropped after it left the instance, so the sender's stack
#                    never hears of it (an output-hook drop would be EPERM)
#     delay, jitter  iptables NFQUEUE in the instance's netns (nftables' own
#                    `queue` needs CONFIG_NFT_QUEUE; the xt target does not),
#                    and utils/delayq bound to that queue inside the same netns
#   down, up         the host end of the veth (eth0 inside loses its carrier)
# Partitions: set part (ifname . ifname) of the same table, matched in its
# forward chain: frames between the two host ports are dropped both ways,
# broadcasts included; every other pair on the bridge is untouched. A chain
# per bridge would need `meta ibrname` (CONFIG_NFT_BRIDGE_META, often
# missing); port names are unique host-wide, so one set serves every bridge.
#
# State and journal:
#   DIR/shape        KEY=VALUE: delay jitter loss rate link (as shown), delay_us
#                    jitter_us (read by delayq on SIGHUP), delayq "PID START", mode
#   shape HOST NAME  journal entry, appended before the first shaping of NAME
#   part HA HB       journal entry in both instances' journals: the pair's
#                    elements go at the teardown of either
# Every change of the shared table takes a lock (flock on FAULT_LOCK): making
# the table is idempotent, but deleting it once empty must not race an add.

fault_loaded=1
: "${FAULT_LOCK:=/run/lock/unshared-cli.nft.lock}"
FAULT_TABLE='bridge unshared'
fault_if=eth0
fault_queue=7

# fault_which NAME: the host's NAME by absolute path, into $tool; 1 if missing.
# (busybox ash runs its own applets for bare names: their ip and tc lack -n.)
fault_which() {
	tool='' _fw_p=$PATH:
	while [ -n "$_fw_p" ]; do
		_fw_d=${_fw_p%%:*}
		_fw_p=${_fw_p#*:}
		case $_fw_d in /*) ;; *) continue ;; esac
		if [ -f "$_fw_d/$1" ] && [ -x "$_fw_d/$1" ]; then tool=$_fw_d/$1; return 0; fi
	done
	return 1
}

# fault_need NAME PACKAGE WHAT: $tool, or stop saying what needs it
fault_need() {
	fault_which "$1" || die "$3: needs $1 (Debian package $2), not found in $PATH"
}

# --- values ---

# fault_time OPTION VALUE -> $us: 100ms, 1.5s, 250us, plain numbers are ms
fault_time() {
	_v=$2 _m=1000
	case $_v in
	*us) _v=${_v%us} _m=1 ;;
	*ms) _v=${_v%ms} ;;
	*s) _v=${_v%s} _m=1000000 ;;
	esac
	fault_decimal "$_v" "$_m" || die "$1 '$2': expected a time like 100ms, 1.5s or 250us"
	us=$dec
	[ "$us" -le 60000000 ] || die "$1 '$2': more than a minute"
}

# fault_decimal NUMBER SCALE -> $dec: NUMBER (digits, at most one '.') times
# SCALE (1, 10, 100, ...), truncated to an integer; leading zeros dropped, so
# that sh arithmetic never reads it as octal
fault_decimal() {
	case $1 in '' | . | *[!0-9.]* | *.*.*) return 1 ;; esac
	_i=${1%%.*} _f=''
	case $1 in *.*) _f=${1#*.} ;; esac
	_s=$2
	while [ "$_s" -gt 1 ]; do
		if [ -n "$_f" ]; then
			_i=$_i${_f%"${_f#?}"}
			_f=${_f#?}
		else
			_i=${_i}0
		fi
		_s=$((_s / 10))
	done
	while [ "${#_i}" -gt 1 ] && [ "${_i#0}" != "$_i" ]; do _i=${_i#0}; done
	dec=${_i:-0}
	[ "${#dec}" -le 15 ] # no overflow
}

# fault_loss OPTION VALUE -> $bp: a percentage (1%, 0.5%, 12.25) in
# hundredths of a percent
fault_loss() {
	fault_decimal "${2%\%}" 100 || die "$1 '$2': expected a percentage like 1% or 0.5%"
	bp=$dec
	[ "$bp" -le 10000 ] || die "$1 '$2': more than 100%"
}

# fault_rate OPTION VALUE -> $bps: bits per second, in tc's units (kbit is
# 1000 bit/s, kbps 1000 bytes/s)
fault_rate() {
	_x=1
	case $2 in
	*gbit) _n=${2%gbit} _m=1000000000 ;;
	*mbit) _n=${2%mbit} _m=1000000 ;;
	*kbit) _n=${2%kbit} _m=1000 ;;
	*bit) _n=${2%bit} _m=1 ;;
	*gbps) _n=${2%gbps} _m=1000000000 _x=8 ;;
	*mbps) _n=${2%mbps} _m=1000000 _x=8 ;;
	*kbps) _n=${2%kbps} _m=1000 _x=8 ;;
	*bps) _n=${2%bps} _m=1 _x=8 ;;
	*) _n='' _m=1 ;;
	esac
	fault_decimal "$_n" "$_m" || die "$1 '$2': expected a rate like 10mbit, 512kbit or 1gbit (tc's units)"
	bps=$((dec * _x))
	[ "$bps" -ge 1000 ] || die "$1 '$2': less than 1kbit"
	[ "$bps" -le 100000000000 ] || die "$1 '$2': more than 100gbit"
}

# fault_show_time US / fault_show_loss BP / fault_show_rate BPS -> $show
fault_show_time() {
	if [ $(($1 % 1000000)) -eq 0 ]; then show=$(($1 / 1000000))s
	elif [ $(($1 % 1000)) -eq 0 ]; then show=$(($1 / 1000))ms
	else show=${1}us
	fi
}
fault_show_loss() {
	show=$(($1 / 100))
	_f=$(($1 % 100))
	if [ "$_f" -ge 10 ]; then show=$show.${_f%0}
	elif [ "$_f" -gt 0 ]; then show=$show.0$_f
	fi
	show=$show%
}
fault_show_rate() {
	if [ $(($1 % 1000000000)) -eq 0 ]; then show=$(($1 / 1000000000))gbit
	elif [ $(($1 % 1000000)) -eq 0 ]; then show=$(($1 / 1000000))mbit
	elif [ $(($1 % 1000)) -eq 0 ]; then show=$(($1 / 1000))kbit
	else show=${1}bit
	fi
}

# --- the shaping of one instance ---

# fault_reset: no shaping (the values the options change)
fault_reset() {
	sh_delay=0 sh_jitter=0 sh_loss=0 sh_rate=0 sh_link=up sh_delayq='' sh_mode=''
}

# fault_opt OPTION VALUE: one option of spawn or net set into sh_*; 0, off
# and none clear it
fault_opt() {
	case $2 in
	0 | off | none)
		case $1 in
		--delay) sh_delay=0 ;; --jitter) sh_jitter=0 ;; --loss) sh_loss=0 ;; --rate) sh_rate=0 ;;
		esac
		return 0 ;;
	esac
	case $1 in
	--delay) fault_time "$1" "$2"; sh_delay=$us ;;
	--jitter) fault_time "$1" "$2"; sh_jitter=$us ;;
	--loss) fault_loss "$1" "$2"; sh_loss=$bp ;;
	--rate) fault_rate "$1" "$2"; sh_rate=$bps ;;
	esac
}

# fault_shaped: some shaping is asked for (the link's state aside)
fault_shaped() {
	[ "$sh_delay$sh_jitter$sh_loss$sh_rate" != 0000 ]
}

# fault_describe -> $desc: the shaping in words ("delay 100ms jitter 10ms
# loss 1% rate 10mbit link down"); empty for none
fault_describe() {
	desc=''
	if [ "$sh_delay" != 0 ]; then fault_show_time "$sh_delay"; desc="$desc delay $show"; fi
	if [ "$sh_jitter" != 0 ]; then fault_show_time "$sh_jitter"; desc="$desc jitter $show"; fi
	if [ "$sh_loss" != 0 ]; then fault_show_loss "$sh_loss"; desc="$desc loss $show"; fi
	if [ "$sh_rate" != 0 ]; then fault_show_rate "$sh_rate"; desc="$desc rate $show"; fi
	[ "$sh_link" = up ] || desc="$desc link down"
	desc=${desc# }
}

# fault_event NAME: "shaped" in the event log (lib/ready.sh), one field per
# setting, null for none
fault_event() {
	_fe_d='' _fe_j='' _fe_l='' _fe_r=''
	if [ "$sh_delay" != 0 ]; then fault_show_time "$sh_delay"; _fe_d=$show; fi
	if [ "$sh_jitter" != 0 ]; then fault_show_time "$sh_jitter"; _fe_j=$show; fi
	if [ "$sh_loss" != 0 ]; then fault_show_loss "$sh_loss"; _fe_l=$show; fi
	if [ "$sh_rate" != 0 ]; then fault_show_rate "$sh_rate"; _fe_r=$show; fi
	event shaped "$1" delay="$_fe_d" jitter="$_fe_j" loss="$_fe_l" rate="$_fe_r" link="$sh_link"
}

# fault_load DIR: DIR/shape into sh_* (no file: no shaping)
fault_load() {
	fault_reset
	[ -f "$1/shape" ] || return 0
	while IFS='=' read -r _fl_k _fl_v; do
		case $_fl_k:$_fl_v in
		delay_us:[0-9]*) sh_delay=$_fl_v ;; jitter_us:[0-9]*) sh_jitter=$_fl_v ;;
		loss_bp:[0-9]*) sh_loss=$_fl_v ;; rate_bps:[0-9]*) sh_rate=$_fl_v ;;
		link:down) sh_link=down ;; delayq:*) sh_delayq=$_fl_v ;; mode:*) sh_mode=$_fl_v ;;
		esac
	done 2>/dev/null <"$1/shape"
}

# fault_save DIR: sh_* into DIR/shape, replaced whole (delayq re-reads it on
# SIGHUP and must never see half a file)
fault_save() {
	printf 'delay_us=%s\njitter_us=%s\nloss_bp=%s\nrate_bps=%s\nlink=%s\ndelayq=%s\nmode=%s\n' \
		"$sh_delay" "$sh_jitter" "$sh_loss" "$sh_rate" "$sh_link" "$sh_delayq" "$sh_mode" \
		>"$1/.shape.tmp" && mv -f "$1/.shape.tmp" "$1/shape"
}

# fault_target DIR NAME: NAME's host end and network namespace, from its
# journal (lib/net.sh journals "netns NAME" and "veth HOST NAME"), into
# $f_host and $f_netns (empty: none)
fault_target() {
	f_host='' f_netns=''
	[ -f "$1/journal" ] || return 0
	while read -r _ft_k _ft_a _ft_b _; do
		case $_ft_k in
		netns) f_netns=$_ft_a ;;
		veth) [ "$_ft_b" != "$2" ] || f_host=$_ft_a ;;
		esac
	done <"$1/journal"
}

# fault_netem: the kernel has sch_netem. Probed once per process on lo of a
# throwaway network namespace (never on a host link); UNSHARED_NETEM=yes|no
# overrides the probe.
fault_netem() {
	if [ -z "${fault_netem_rc:-}" ]; then
		case ${UNSHARED_NETEM:-} in
		yes) fault_netem_rc=0 ;;
		no) fault_netem_rc=1 ;;
		*)
			fault_netem_rc=1
			if fault_which unshare && _u=$tool && fault_which tc &&
				"$_u" --net "$tool" qdisc add dev lo root netem delay 1ms 2>/dev/null; then
				fault_netem_rc=0
			fi ;;
		esac
	fi
	return "$fault_netem_rc"
}

# fault_tc ARG...: tc in the instance's network namespace; a kernel without
# the qdisc gets a message naming it
fault_tc() {
	if ! _err=$("$f_tc" -n "$f_netns" "$@" 2>&1 >/dev/null); then
		case $_err in
		*'kind is unknown'* | *'Unknown qdisc'*)
			case $* in
			*netem*) die "shaping: the kernel has no sch_netem (CONFIG_NET_SCH_NETEM)" ;;
			*) die "--rate: the kernel has no tbf qdisc (CONFIG_NET_SCH_TBF)" ;;
			esac ;;
		esac
		die "shaping of ${f_name}: tc $*: ${_err%%"$nl"*}"
	fi
}

# fault_apply DIR NAME: make NAME's link what sh_* say, from what DIR/shape
# says it is (the first time: nothing). The caller has journaled
# "shape HOST NAME" before, so a failure midway is undone by the teardown.
fault_apply() {
	f_dir=$1 f_name=$2
	fault_target "$1" "$2"
	[ -n "$f_host" ] && [ -n "$f_netns" ] ||
		die "$2: no link on a bridge to shape (spawn it with --bridge)"
	# what is in force now
	n_delay=$sh_delay n_jitter=$sh_jitter n_loss=$sh_loss n_rate=$sh_rate n_link=$sh_link
	fault_load "$1"
	o_delay=$sh_delay o_jitter=$sh_jitter o_loss=$sh_loss o_rate=$sh_rate o_link=$sh_link
	sh_delay=$n_delay sh_jitter=$n_jitter sh_loss=$n_loss sh_rate=$n_rate sh_link=$n_link
	if [ -z "$sh_mode" ]; then
		if fault_netem; then sh_mode=netem; else sh_mode='split'; fi
	fi
	fault_save "$1" || die "cannot write $1/shape"
	if fault_shaped || [ "$o_delay$o_jitter$o_loss$o_rate" != 0000 ]; then
		fault_need tc iproute2 shaping
		f_tc=$tool
		if [ "$sh_mode" = netem ]; then fault_apply_netem; else fault_apply_split; fi
	fi
	if [ "$sh_link" != "$o_link" ]; then
		fault_need ip iproute2 "--$sh_link"
		"$tool" link set dev "$f_host" "$sh_link" || die "$2: cannot set its link $sh_link"
	fi
	fault_save "$1" || die "cannot write $1/shape"
}

fault_apply_netem() {
	if ! fault_shaped; then
		"$f_tc" -n "$f_netns" qdisc del dev "$fault_if" root 2>/dev/null || :
		return 0
	fi
	set -- limit 100000
	if [ "$sh_delay$sh_jitter" != 00 ]; then
		set -- "$@" delay "${sh_delay}us"
		[ "$sh_jitter" = 0 ] || set -- "$@" "${sh_jitter}us"
	fi
	if [ "$sh_loss" != 0 ]; then fault_show_loss "$sh_loss"; set -- "$@" loss "$show"; fi
	[ "$sh_rate" = 0 ] || set -- "$@" rate "${sh_rate}bit"
	fault_tc qdisc replace dev "$fault_if" root netem "$@"
}

# without netem: each part where the kernel can do it (see the top)
fault_apply_split() {
	if [ "$sh_rate" != 0 ]; then
		# a burst of 10 ms of traffic, at least a few full frames
		_burst=$((sh_rate / 800))
		[ "$_burst" -ge 4096 ] || _burst=4096
		fault_tc qdisc replace dev "$fault_if" root tbf rate "${sh_rate}bit" burst "$_burst" latency 200ms
	elif [ "$o_rate" != 0 ]; then
		"$f_tc" -n "$f_netns" qdisc del dev "$fault_if" root 2>/dev/null || :
	fi
	if [ "$sh_loss" != 0 ]; then
		fault_need nft nftables --loss
		fault_lock --loss
		fault_nft "$(fault_nft_base)
$(fault_nft_loss_add "$f_host" "$sh_loss")" ||
			{ fault_unlock; die "--loss: nft: $nft_err$(fault_nft_hint)"; }
		fault_unlock
	elif [ "$o_loss" != 0 ] && fault_which nft; then
		fault_lock --loss
		fault_loss_del "$f_host" || { fault_unlock; die "--loss: nft: $nft_err"; }
		fault_table_gc
		fault_unlock
	fi
	if [ "$sh_delay$sh_jitter" != 00 ]; then
		fault_delay_on
	elif [ "$o_delay$o_jitter" != 00 ] || [ -n "$sh_delayq" ]; then
		fault_delay_off
	fi
}

# fault_delay_on: delayq running with the values of DIR/shape (started, or
# told to re-read them), and the instance's packets queued to it
fault_delay_on() {
	fault_need nsenter util-linux --delay
	f_nsenter=$tool
	fault_need iptables iptables "--delay (its NFQUEUE target)"
	f_ipt=$tool
	[ -x "$UNSHARED_UTILS/delayq" ] || die "--delay: utils/delayq is not built (run 'make')"
	if fault_delayq_alive; then
		kill -HUP "$_dq_pid" 2>/dev/null || die "--delay: cannot signal delayq ($_dq_pid)"
	else
		# a failure to start is told on our stderr; later messages go to
		# the instance's log, when it has one
		set -- --netns "/run/netns/$f_netns" --queue "$fault_queue" --config "$f_dir/shape" --daemon
		[ ! -f "$f_dir/log" ] || set -- "$@" --log "$f_dir/log"
		_dq_pid=$("$UNSHARED_UTILS/delayq" "$@" 7>&- 8>&- 9>&-) || _dq_pid=''
		case $_dq_pid in '' | *[!0-9]*) die "--delay: delayq could not start" ;; esac
		proc_stat "$_dq_pid" || die "--delay: delayq ended as soon as it started"
		sh_delayq="$_dq_pid $starttime"
		fault_save "$f_dir" || die "cannot write $f_dir/shape"
		# into the instance's cgroup, when it has one: it ends with the instance
		if read -r _cg 2>/dev/null <"$f_dir/cgroup" && [ -f "$_cg/cgroup.procs" ]; then
			{ printf '%s\n' "$_dq_pid" >"$_cg/cgroup.procs"; } 2>/dev/null || :
		fi
	fi
	set -- -w -t mangle POSTROUTING -o "$fault_if" -j NFQUEUE --queue-num "$fault_queue" --queue-bypass
	if ! fault_ipt -C "$@"; then
		fault_ipt -A "$@" ||
			die "--delay: iptables: ${ipt_err%%"$nl"*} (the kernel needs CONFIG_NETFILTER_XT_TARGET_NFQUEUE and CONFIG_NETFILTER_NETLINK_QUEUE)"
	fi
}

# fault_ipt OP ARG...: iptables OP in the instance's network namespace
# (arguments as given, the chain moved after OP)
fault_ipt() {
	_op=$1 _w=$2 _t=$3 _tb=$4 _ch=$5
	shift 5
	ipt_err=$("$f_nsenter" --net="/run/netns/$f_netns" -- "$f_ipt" "$_w" "$_t" "$_tb" "$_op" "$_ch" "$@" 2>&1)
}

# fault_delay_off: no more queueing; delayq releases what it holds and ends
fault_delay_off() {
	if fault_which nsenter && f_nsenter=$tool && fault_which iptables && f_ipt=$tool; then
		set -- -w -t mangle POSTROUTING -o "$fault_if" -j NFQUEUE --queue-num "$fault_queue" --queue-bypass
		while fault_ipt -C "$@"; do fault_ipt -D "$@" || break; done
	fi
	fault_stop_delayq
	sh_delayq=''
}

# fault_delayq_alive: the delayq of sh_delayq still runs -> $_dq_pid
fault_delayq_alive() {
	_dq_pid=${sh_delayq%% *}
	[ -n "$sh_delayq" ] && proc_is "$_dq_pid" "${sh_delayq#* }"
}

# fault_stop_delayq: SIGTERM (it releases what it holds), SIGKILL after 2 s
fault_stop_delayq() {
	fault_delayq_alive || return 0
	kill -TERM "$_dq_pid" 2>/dev/null || :
	_fs_n=0
	while fault_delayq_alive; do
		[ "$_fs_n" -lt 20 ] || { kill -KILL "$_dq_pid" 2>/dev/null || :; return 0; }
		sleep 0.1
		_fs_n=$((_fs_n + 1))
	done
}

# --- nftables: table bridge unshared ---

# fault_lock WHAT / fault_unlock: the table's lock, on fd 7. fault_lock_try
# returns 1 instead of stopping (for the teardown).
fault_lock_try() {
	fault_which flock || return 1
	[ -d "${FAULT_LOCK%/*}" ] || mkdir -p "${FAULT_LOCK%/*}" 2>/dev/null || :
	{ command exec 7>>"$FAULT_LOCK"; } 2>/dev/null || return 1
	"$tool" -w 30 7 || { exec 7>&-; return 1; }
}
fault_lock() {
	fault_need flock util-linux "$1"
	fault_lock_try || die "$1: cannot take the lock $FAULT_LOCK"
}
fault_unlock() {
	exec 7>&-
}

# fault_nft BATCH: one nft transaction (all of it or nothing); $nft_err
fault_nft() {
	fault_which nft || { nft_err='nft (Debian package nftables) not found'; return 1; }
	nft_err=$(printf '%s\n' "$1" | "$tool" -f - 2>&1 >/dev/null) && return 0
	nft_err=${nft_err%%"$nl"*}
	return 1
}

# fault_nft_hint: what a kernel that refused the table may lack
fault_nft_hint() {
	case $nft_err in
	*'No such file or directory'* | *'Operation not supported'* | *'not supported'*)
		printf ' (the kernel needs CONFIG_NF_TABLES_BRIDGE and CONFIG_NFT_NUMGEN)' ;;
	esac
}

# fault_nft_base: make the table as it must be, idempotently: adding what
# exists is no error, and the two rules are flushed and added again in the
# same transaction (a plain `add rule` would pile them up)
fault_nft_base() {
	printf '%s\n' \
		"add table $FAULT_TABLE" \
		"add set $FAULT_TABLE part { type ifname . ifname; }" \
		"add map $FAULT_TABLE shape { type ifname : verdict; }" \
		"add chain $FAULT_TABLE forward { type filter hook forward priority 0; policy accept; }" \
		"add chain $FAULT_TABLE prerouting { type filter hook prerouting priority 0; policy accept; }" \
		"flush chain $FAULT_TABLE forward" \
		"flush chain $FAULT_TABLE prerouting" \
		"add rule $FAULT_TABLE forward iifname . oifname @part counter drop" \
		"add rule $FAULT_TABLE prerouting iifname vmap @shape"
}

# fault_nft_loss_add HOST BP: HOST's frames dropped with probability BP/10000
fault_nft_loss_add() {
	_fn_if="numgen random mod 10000 < $2 "
	[ "$2" -lt 10000 ] || _fn_if=''
	printf '%s\n' \
		"add chain $FAULT_TABLE loss-$1" \
		"flush chain $FAULT_TABLE loss-$1" \
		"add rule $FAULT_TABLE loss-$1 ${_fn_if}counter drop" \
		"add element $FAULT_TABLE shape { \"$1\" : jump loss-$1 }"
}

# fault_table: the table exists
fault_table() {
	fault_which nft && "$tool" list table bridge unshared >/dev/null 2>&1
}

# fault_loss_del HOST: no loss for HOST, whether it had some or not (added,
# then deleted, in one transaction: nft 1.0 has no `destroy`)
fault_loss_del() {
	fault_table || return 0
	fault_nft "$(printf '%s\n' \
		"add chain $FAULT_TABLE loss-$1" \
		"add element $FAULT_TABLE shape { \"$1\" : jump loss-$1 }" \
		"delete element $FAULT_TABLE shape { \"$1\" }" \
		"flush chain $FAULT_TABLE loss-$1" \
		"delete chain $FAULT_TABLE loss-$1")"
}

# fault_part_add HA HB / fault_part_del HA HB: the pair cut, both ways, or not
fault_part_add() {
	fault_nft "$(fault_nft_base)
add element $FAULT_TABLE part { \"$1\" . \"$2\", \"$2\" . \"$1\" }"
}
fault_part_del() {
	fault_table || return 0
	fault_nft "add element $FAULT_TABLE part { \"$1\" . \"$2\", \"$2\" . \"$1\" }
delete element $FAULT_TABLE part { \"$1\" . \"$2\", \"$2\" . \"$1\" }"
}

# fault_table_gc: no element left: the table goes (caller holds the lock)
fault_table_gc() {
	fault_which nft || return 0
	_fg_t=$("$tool" list table bridge unshared 2>/dev/null) || return 0
	case $_fg_t in *'elements = '*) return 0 ;; esac
	"$tool" delete table bridge unshared 2>/dev/null || :
}

# fault_sweep: cuts and loss rules that name an interface which is gone (the
# teardown that should have removed them could not, and its journal is lost
# with its state directory) would apply to the next veth of that name: gc
# removes them, and says so. 1 when the table is busy.
fault_sweep() {
	fault_table || return 0
	fault_lock_try || return 1
	fault_parts
	_fs_ifs=$("$tool" list map bridge unshared shape 2>/dev/null) || _fs_ifs=""
	_fs_done=$nl
	while IFS=' ' read -r _fs_a _fs_b; do
		[ -n "$_fs_a" ] && { [ ! -e "/sys/class/net/$_fs_a" ] || [ ! -e "/sys/class/net/$_fs_b" ]; } || continue
		# each cut is listed both ways: one removal, one line
		case $_fs_done in *"$nl$_fs_b $_fs_a$nl"*) continue ;; esac
		_fs_done=$_fs_done$_fs_a' '$_fs_b$nl
		fault_part_del "$_fs_a" "$_fs_b" && printf 'removed the cut %s - %s: an interface is gone\n' "$_fs_a" "$_fs_b"
	done <<-EOF
		$parts
	EOF
	# the map's elements: "HOST" : jump loss-HOST
	while :; do
		case $_fs_ifs in *'" : jump loss-'*) ;; *) break ;; esac
		_fs_h=${_fs_ifs%%'" : jump loss-'*}
		_fs_h=${_fs_h##*'"'}
		_fs_ifs=${_fs_ifs#*'" : jump loss-'}
		[ ! -e "/sys/class/net/$_fs_h" ] || continue
		fault_loss_del "$_fs_h" && printf 'removed the loss rule of %s: the interface is gone\n' "$_fs_h"
	done
	fault_table_gc
	fault_unlock
}

# fault_parts -> $parts: "HA HB" lines, one per cut direction
fault_parts() {
	parts=''
	fault_which nft || return 0
	_fp_t=$("$tool" list set bridge unshared part 2>/dev/null) || return 0
	case $_fp_t in *'elements = '*) _fp_t=${_fp_t#*elements = } ;; *) return 0 ;; esac
	while :; do
		case $_fp_t in *'"'*'"'*' . "'*'"'*) ;; *) break ;; esac
		_fp_t=${_fp_t#*\"}
		_fp_a=${_fp_t%%\"*}
		_fp_t=${_fp_t#*\"}
		_fp_t=${_fp_t#*\"}
		_fp_b=${_fp_t%%\"*}
		_fp_t=${_fp_t#*\"}
		parts=$parts$_fp_a' '$_fp_b$nl
	done
}

# fault_owner HOST -> $owner: the instance whose host end HOST is (its mark)
fault_owner() {
	owner=''
	read -r _fo_al 2>/dev/null <"/sys/class/net/$1/ifalias" || return 1
	case $_fo_al in unshared-cli:?*) owner=${_fo_al#unshared-cli:} ;; *) return 1 ;; esac
	[ "$owner" != bridge ]
}

# fault_unlearn DIR NAME PEER-DIR: NAME forgets the link address of the
# instance of PEER-DIR. An ARP entry that failed while they were cut off
# would hold the next packet until its next retry (up to a second), so a
# healed pair could not talk at once.
fault_unlearn() {
	fault_target "$1" "$2"
	state_info "$3"
	[ -n "$f_netns" ] && [ -n "$i_addr" ] && fault_which ip || return 0
	"$tool" -n "$f_netns" neigh flush to "${i_addr%/*}" dev "$fault_if" 2>/dev/null || :
}

# fault_cuts DIR NAME -> $cuts: "a,b", the instances NAME is cut off from
# (read from $parts: call fault_parts first)
fault_cuts() {
	cuts=''
	fault_target "$1" "$2"
	[ -n "$f_host" ] || return 0
	_fc_p=$parts
	while [ -n "$_fc_p" ]; do
		_fc_l=${_fc_p%%"$nl"*}
		_fc_p=${_fc_p#*"$nl"}
		[ "${_fc_l%% *}" = "$f_host" ] || continue
		fault_owner "${_fc_l#* }" || continue
		cuts=$cuts${cuts:+,}$owner
	done
}

# --- undo, called by the teardown (lib/state.sh): return 1, never die ---

# undo_shape DIR HOST NAME: delayq ended, HOST's loss rule gone; what lives in
# the instance's namespace (qdiscs, the NFQUEUE rule) goes with the namespace
undo_shape() {
	_fu_rc=0
	fault_load "$1"
	fault_stop_delayq
	! fault_delayq_alive || _fu_rc=1
	if fault_table; then
		if fault_lock_try; then
			fault_loss_del "$2" || _fu_rc=1
			fault_table_gc
			fault_unlock
		else
			_fu_rc=1
		fi
	fi
	[ "$_fu_rc" != 0 ] || rm -f "$1/shape" "$1/.shape.tmp"
	return "$_fu_rc"
}

# undo_part DIR HA HB: the pair's cut gone (the other instance's journal
# names it too: whichever ends first removes it)
undo_part() {
	fault_table || return 0
	fault_lock_try || return 1
	_fu_rc=0
	fault_part_del "$2" "$3" || _fu_rc=1
	fault_table_gc
	fault_unlock
	return "$_fu_rc"
}
