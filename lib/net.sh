# lib/net.sh: instances on host bridges, the front end of utils/nsnet. One
# implementation for every caller: spawn (net_check while validating,
# net_setup after the name was taken), the teardown (state.sh calls
# undo_lease, undo_netns, undo_veth), and the seed-era utils/initnetns and
# utils/destroynetns, which source this file too.
#
# Per instance NAME on bridge BR:
#   /run/netns/NAME      the network namespace, named after the instance, so
#                        `ip netns exec NAME ...` works from the host
#   ucPID[xK] -- eth0    a veth pair: the host end (<= 15 bytes whatever NAME is;
#                        ifalias "unshared-cli:NAME") enslaved to BR, the other end
#                        inside with the address; lo up; default route via BR's
#                        address when BR has one
#   BR                   created, up, when missing (ifalias "unshared-cli:bridge");
#                        it stays when the instances end: bridges are shared
# Per bridge, in $UNSHARED_STATE/.net/BR/:
#   lock     flock(2) on it serializes allocation on BR
#   hosts    the lease table, in /etc/hosts form: "ADDR<TAB>NAME" per instance.
#            Bind-mounted read-only on /etc/hosts inside each instance on BR
#            whose root is not the host's; only ever rewritten in place (same
#            inode), so running instances see newcomers and leavers
#   bridge   "IFINDEX ADDR PREFIX": BR's address as nsnet last saw it ("-" for
#            none), trusted while BR keeps its ifindex, so that net_check
#            forks nothing for a spawn on a known bridge. Changing the address
#            of a bridge behind our back is not supported: delete and re-create it
# Seed namespaces (initnetns): $UNSHARED_STATE/.net/seed/NAME/{journal,info}.
#
# Journal entries, appended (by nsnet) before each resource is made, undone
# bottom-up:
#   lease BR ADDR NAME    the hosts line
#   netns NAME            /run/netns/NAME (deleting it takes the veth along)
#   veth HOST NAME        the host end, for when the namespace is already gone
#
# Speed: the whole setup is one process, `ADDR=$(nsnet up ...)`: lock, bridge,
# lease, namespace, veth (its peer made inside: nothing is moved between
# namespaces, a move costs ~16 ms), addresses and route, by rtnetlink. The
# whole teardown is one `nsnet down` (see net_undo). net_check forks nothing
# for a bridge it knows (the bridge file above), else one `nsnet check`.
# bench/net.sh measures both.
#
# Addresses: --addr ADDRESS/PREFIX (prefix 8..30) or auto. A bridge that does
# not exist yet is made with the subnet of the first --addr (the bridge takes
# its first host address the instance leaves free), or for auto with
# 10.213.0.0/16 (bridge 10.213.0.1), else the first of 10.214.0.0/16 ...
# 10.254.0.0/16 that overlaps no address or route of the host. A subnet that
# overlaps the host's addresses or routes is refused for a new bridge: it
# would take traffic from them. No NAT, no forwarding is ever set up.
#
# UNSHARED_TEST_NET_FAIL=addr|bridge (tests only) makes nsnet fail at that
# step the way the kernel would, to prove the rollback.

net_loaded=1
net_done=''

# messages name the values as the caller's user knows them
: "${net_lbl_bridge:=--bridge}" "${net_lbl_addr:=--addr}"

# net_ip4 STRING -> $ip4: a dotted quad as an integer. Octets are 0..255 in
# decimal without leading zeros (sh arithmetic would read 010 as octal).
net_ip4() {
	_s=$1. ip4=0 _k=0
	while [ "$_k" -lt 4 ]; do
		_o=${_s%%.*}
		_s=${_s#*.}
		case $_o in
		[0-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-5]) ;;
		*) return 1 ;;
		esac
		ip4=$((ip4 * 256 + _o))
		_k=$((_k + 1))
	done
	[ -z "$_s" ]
}

# net_dot INT -> $dot: an integer as a dotted quad
net_dot() {
	dot=$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))
}

# net_mask PREFIX -> $mask
net_mask() {
	mask=$(((0xffffffff << (32 - $1)) & 0xffffffff))
}

# net_cidr CIDR: ADDR/PREFIX with PREFIX 8..30 -> $c_ip $c_len $c_net $c_last
# ($c_last: the last host address). Returns 1 when it is not one.
net_cidr() {
	case $1 in */*) ;; *) return 1 ;; esac
	c_len=${1#*/}
	case $c_len in [8-9] | [12][0-9] | 30) ;; *) return 1 ;; esac
	net_ip4 "${1%/*}" || return 1
	c_ip=$ip4
	net_mask "$c_len"
	c_net=$((c_ip & mask))
	c_last=$((c_net + (~mask & 0xffffffff) - 1))
}

# net_check_bridge: $bridge is a name the kernel takes and cannot lead
# anywhere as a path (an allow-list), and not an interface of another kind
net_check_bridge() {
	check_ifname "$net_lbl_bridge" "$bridge"
	if [ -e "/sys/class/net/$bridge" ] && [ ! -d "/sys/class/net/$bridge/bridge" ]; then
		die "$net_lbl_bridge '$bridge': an interface that is not a bridge"
	fi
	net_dir=$UNSHARED_STATE/.net/$bridge
	hosts_file=$net_dir/hosts
}

# net_bridge_known: $bridge exists and nsnet has seen it with an address
# (the bridge file, same ifindex) -> $br_gw $br_len. Forks nothing.
net_bridge_known() {
	read -r _i 2>/dev/null <"/sys/class/net/$bridge/ifindex" || return 1
	read -r _c _g _l _m 2>/dev/null <"$net_dir/bridge" || return 1
	[ "$_c" = "$_i" ] && net_ip4 "$_g" || return 1
	case $_l in [0-9] | [12][0-9] | 3[0-2]) ;; *) return 1 ;; esac
	br_gw=$ip4 br_len=$_l
}

# net_check_known: $addr against a known bridge, in sh: nsnet check's rules
# and words for this one case, so that the common spawn forks nothing here
# (nsnet up checks all of it again under the lock)
net_check_known() {
	[ "$addr" != auto ] || return 0
	net_cidr "$addr" ||
		die "$net_lbl_addr '$addr': expected ADDRESS/PREFIX (prefix 8 to 30), e.g. 10.99.0.2/24, or auto"
	if [ "$c_ip" -le "$c_net" ] || [ "$c_ip" -gt "$c_last" ]; then
		die "$net_lbl_addr '$addr': the network or broadcast address of its subnet"
	fi
	net_mask "$br_len"
	if [ "$c_len" != "$br_len" ] || [ $((c_ip & mask)) -ne $((br_gw & mask)) ]; then
		net_dot "$br_gw"
		die "$net_lbl_addr '$addr': outside the subnet of bridge '$bridge' ($dot/$br_len)"
	fi
	[ "$c_ip" != "$br_gw" ] || die "$net_lbl_addr '$addr': the address of bridge '$bridge' itself"
	[ -f "$hosts_file" ] || return 0
	net_dot "$c_ip"
	while IFS= read -r _l; do
		case $_l in "$dot	"*) die "$net_lbl_addr '$addr': already used on bridge '$bridge'" ;; esac
	done <"$hosts_file"
}

# net_check: validate $bridge, $addr (CIDR or auto; empty means auto) and $name
# for `spawn --bridge`, before anything is made. Sets $hosts_file.
net_check() {
	[ -x "$UNSHARED_UTILS/nsnet" ] || die "helpers not built in $UNSHARED_UTILS: run 'make'"
	net_check_bridge
	[ -n "$addr" ] || addr=auto
	case $addr in *"$nl"*) die "$net_lbl_addr: must not contain a newline" ;; esac
	if net_bridge_known; then
		net_check_known
	else
		# a new bridge (the host's addresses and routes decide its subnet),
		# or one not seen yet: nsnet asks the kernel; it says what is wrong
		"$UNSHARED_UTILS/nsnet" check ${UNSHARED_SUB:+--as} ${UNSHARED_SUB:+"$UNSHARED_SUB"} \
			--labels "$net_lbl_bridge" "$net_lbl_addr" --net-dir "$UNSHARED_STATE/.net" \
			"$bridge" "$name" "$addr" || exit 125
	fi
	# a namespace of that name: ours to reclaim when the instance of that name
	# is stale (state_take tears it down), anyone else's otherwise
	if [ -e "/run/netns/$name" ] && [ ! -d "${net_owner-$UNSHARED_STATE/$name}" ]; then
		die "network namespace '$name' exists already (not this instance's): pick another name"
	fi
}

# net_setup: host side of `spawn --bridge` (and of initnetns), after
# net_check and after the name was taken ($state). Sets NETNS and ADDR. One
# process: nsnet journals each resource in $state/journal before making it,
# and undoes what it made if a step fails. The host end of the veth is named
# after the supervisor's pid ($$: the front end exec's into it), unique among
# live instances; nsnet appends xK when a crashed one left that name.
net_setup() {
	ADDR=$("$UNSHARED_UTILS/nsnet" up ${UNSHARED_SUB:+--as} ${UNSHARED_SUB:+"$UNSHARED_SUB"} \
		--labels "$net_lbl_bridge" "$net_lbl_addr" --net-dir "$UNSHARED_STATE/.net" \
		--journal "$state/journal" --veth "uc$$" "$bridge" "$name" "$addr") || exit 125
	NETNS=$name
}

# undo_lease DIR BR ADDR NAME: the hosts line, under BR's lock
# undo_netns DIR NAME: the named namespace (the veth goes with it,
#   asynchronously, once nothing holds the namespace any more)
# undo_veth DIR HOST NAME: the host end, only when its namespace is already
#   gone (else deleting the namespace takes it, far cheaper) and only if it
#   carries our mark for NAME: never an interface we did not make
# Already gone is success, for each. The work is nsnet's (net_undo).
undo_lease() { net_undo "$1" "lease $2 $3 $4"; }
undo_netns() { net_undo "$1" "netns $2"; }
undo_veth() { net_undo "$1" "veth $2 $3"; }

# net_undo DIR ENTRY: one network entry of DIR's journal. The first one a
# teardown reaches undoes all of DIR's network entries in one nsnet, bottom-up
# as the teardown would (one net_setup journaled them together); each later
# one then finds itself on $net_done and is crossed off. If that nsnet fails,
# every entry is undone on its own, and says what went wrong.
net_undo() {
	case $net_done in
	*"$nl$2$nl"*)
		net_done=${net_done%%"$nl$2$nl"*}$nl${net_done#*"$nl$2$nl"}
		return 0 ;;
	esac
	_entry=$2 _all=''
	if [ -f "$1/journal" ]; then
		while IFS= read -r _l; do
			case $_l in 'lease '* | 'netns '* | 'veth '*) _all=$_l$nl$_all ;; esac
		done <"$1/journal"
	fi
	case $nl$_all in
	*"$nl$_entry$nl"*)
		_ifs=$IFS
		IFS=$nl
		set -f
		# shellcheck disable=SC2086 # one entry per line, spaces inside kept
		set -- $_all
		IFS=$_ifs
		set +f
		if "$UNSHARED_UTILS/nsnet" down --quiet ${UNSHARED_SUB:+--as} ${UNSHARED_SUB:+"$UNSHARED_SUB"} \
			${UNSHARED_STATE:+--net-dir} ${UNSHARED_STATE:+"$UNSHARED_STATE/.net"} "$@"; then
			net_done=$net_done$nl$_all
			net_done=${net_done%%"$nl$_entry$nl"*}$nl${net_done#*"$nl$_entry$nl"}
			return 0
		fi ;;
	esac
	"$UNSHARED_UTILS/nsnet" down ${UNSHARED_SUB:+--as} ${UNSHARED_SUB:+"$UNSHARED_SUB"} \
		${UNSHARED_STATE:+--net-dir} ${UNSHARED_STATE:+"$UNSHARED_STATE/.net"} "$_entry"
}
