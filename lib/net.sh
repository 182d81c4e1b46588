# lib/net.sh: instances on host bridges. One implementation for every caller:
# spawn (net_check while validating, net_setup after the name was taken), the
# teardown (state.sh calls undo_lease, undo_netns, undo_veth), and the seed-era
# utils/initnetns and utils/destroynetns, which source this file too.
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
#   lock     flock(1) on it serializes allocation on BR (fd 9 while held)
#   hosts    the lease table, in /etc/hosts form: "ADDR<TAB>NAME" per instance.
#            Bind-mounted read-only on /etc/hosts inside each instance on BR
#            whose root is not the host's; only ever rewritten in place (same
#            inode), so running instances see newcomers and leavers
#   bridge   "IFINDEX ADDR PREFIX": BR's address as last read ("-" for none),
#            trusted while BR keeps its ifindex, so a spawn on an existing
#            bridge forks no `ip` to learn its subnet. Changing the address of
#            a bridge behind our back is not supported: delete and re-create it
# Seed namespaces (initnetns): $UNSHARED_STATE/.net/seed/NAME/{journal,info}.
#
# Journal entries, appended before each resource is made, undone bottom-up:
#   lease BR ADDR NAME    the hosts line
#   netns NAME            /run/netns/NAME (deleting it takes the veth along)
#   veth HOST NAME        the host end, for when the namespace is already gone
#
# Speed (the hot path of `spawn --bridge`): one flock, then one unshare(1) that
# makes the named namespace and execs one `ip -batch` inside it. That ip makes
# the veth with its host end created straight in the host's namespace (netns
# PID) and enslaved by index (master ifN): nothing is moved between namespaces
# (a move costs ~16 ms, a delete ~18 ms). Teardown: one flock, one
# `ip netns del`. Nothing else forks, but for one `ip` the first time a bridge
# is seen (bench/net.sh measures both paths).
#
# Addresses: --addr ADDRESS/PREFIX (prefix 8..30) or auto. A bridge that does
# not exist yet is made with the subnet of the first --addr (the bridge takes
# its first host address the instance leaves free), or for auto with
# 10.213.0.0/16 (bridge 10.213.0.1), else the first of 10.214.0.0/16 ...
# 10.254.0.0/16 that overlaps no address or route of the host. A subnet that
# overlaps the host's addresses or routes is refused for a new bridge: it
# would take traffic from them. No NAT, no forwarding is ever set up.
#
# UNSHARED_TEST_NET_FAIL=addr|bridge (tests only) makes that step fail the way
# the kernel would, to prove the rollback.

net_loaded=1

# net_tools: the host's ip, unshare, flock and mount, by path (found once, no
# fork). Under busybox ash a bare name runs busybox's own applet first, and
# its ip knows no netns. Returns 1 when one is missing ($net_missing).
net_tools() {
	[ -z "${net_ip:-}" ] || return 0
	net_missing=''
	for _t in ip unshare flock mount; do
		_p=$PATH: _w=''
		while [ -n "$_p" ]; do
			_d=${_p%%:*}
			_p=${_p#*:}
			case $_d in /*) ;; *) continue ;; esac
			if [ -f "$_d/$_t" ] && [ -x "$_d/$_t" ]; then _w=$_d/$_t; break; fi
		done
		[ -n "$_w" ] || net_missing="$net_missing $_t"
		eval "net_$_t=\${_w:-\$_t}"
	done
	[ -z "$net_missing" ]
}

# net_need: net_tools, or stop with what is missing
net_need() {
	net_tools || die "needs ip (iproute2), unshare, flock and mount (util-linux): missing$net_missing"
}

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
	case $bridge in
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*)
		die "$net_lbl_bridge '$bridge': use letters, digits, '_', '.', '-', starting with a letter or digit" ;;
	esac
	[ "${#bridge}" -le 15 ] || die "$net_lbl_bridge '$bridge': longer than 15 bytes (an interface name)"
	if [ -e "/sys/class/net/$bridge" ] && [ ! -d "/sys/class/net/$bridge/bridge" ]; then
		die "$net_lbl_bridge '$bridge': an interface that is not a bridge"
	fi
	net_dir=$UNSHARED_STATE/.net/$bridge
	hosts_file=$net_dir/hosts
}

# net_bridge_read: what the bridge is now -> $br_index (empty: no such bridge),
# $br_gw $br_len (its address and prefix; empty: it has none). Forks `ip` only
# when the cache does not know this bridge (new ifindex) or knew no address.
net_bridge_read() {
	br_index='' br_gw='' br_len='' net_cache_new=''
	[ -e "/sys/class/net/$bridge" ] || return 0
	read -r br_index 2>/dev/null <"/sys/class/net/$bridge/ifindex" || return 0
	if read -r _i _g _l 2>/dev/null <"$net_dir/bridge" &&
		[ "$_i" = "$br_index" ] && [ "$_g" != - ] && net_ip4 "$_g"; then
		br_gw=$ip4 br_len=$_l
		return 0
	fi
	net_cache_new=1
	_out=$("$net_ip" -o -4 addr show dev "$bridge" 2>/dev/null) || _out=''
	set -f
	# shellcheck disable=SC2086 # ip's words, split on purpose; no globbing
	set -- ${_out%%"$nl"*}
	set +f
	while [ $# -gt 1 ]; do
		if [ "$1" = inet ] && net_cidr "$2"; then
			br_gw=$c_ip br_len=$c_len
			return 0
		fi
		shift
	done
}

# net_host_prefixes -> $net_prefixes: "ADDR/PREFIX ..." of every IPv4 address
# and route of the host (not the default route). Only when a bridge is made.
net_host_prefixes() {
	net_prefixes=''
	_out=$(printf 'addr show\nroute show\n' | "$net_ip" -o -4 -batch - 2>/dev/null) || _out=''
	set -f
	while IFS= read -r _l; do
		# shellcheck disable=SC2086 # ip's words, split on purpose
		set -- $_l
		case ${1:-} in
		[0-9]*:) [ "${3:-}" != inet ] || net_prefixes="$net_prefixes ${4:-}" ;;
		[0-9]*) net_prefixes="$net_prefixes $1" ;;
		unreachable | blackhole | prohibit | throw | unicast) net_prefixes="$net_prefixes ${2:-}" ;;
		esac
	done <<EOF
$_out
EOF
	set +f
}

# net_overlap NET PREFIX -> $overlap: the first host address or route that
# overlaps NET/PREFIX (empty: none)
net_overlap() {
	overlap=''
	for _p in $net_prefixes; do
		case $_p in */*) _pl=${_p#*/} ;; *) _pl=32 ;; esac
		net_ip4 "${_p%/*}" || continue
		[ "$_pl" -le "$2" ] || _pl=$2
		net_mask "$_pl"
		if [ $((ip4 & mask)) -eq $(($1 & mask)) ]; then
			overlap=$_p
			return 0
		fi
	done
}

# net_check_addr: $addr against the bridge as net_bridge_read found it. Sets
# $a_ip (0 for auto), $a_len, and for a bridge to make $br_gw $br_len.
net_check_addr() {
	a_ip=0 a_len=''
	if [ "$addr" != auto ]; then
		net_cidr "$addr" ||
			die "$net_lbl_addr '$addr': expected ADDRESS/PREFIX (prefix 8 to 30), e.g. 10.99.0.2/24, or auto"
		a_ip=$c_ip a_len=$c_len
		if [ "$c_ip" -le "$c_net" ] || [ "$c_ip" -gt "$c_last" ]; then
			die "$net_lbl_addr '$addr': the network or broadcast address of its subnet"
		fi
	fi
	if [ -n "$br_index" ]; then
		if [ -z "$br_len" ]; then
			[ "$addr" != auto ] || die "$net_lbl_addr auto: bridge '$bridge' has no IPv4 address to take a subnet from (give ADDRESS/PREFIX)"
			return 0
		fi
		[ "$addr" != auto ] || return 0
		net_dot "$br_gw"
		net_mask "$br_len"
		if [ "$a_len" != "$br_len" ] || [ $((a_ip & mask)) -ne $((br_gw & mask)) ]; then
			die "$net_lbl_addr '$addr': outside the subnet of bridge '$bridge' ($dot/$br_len)"
		fi
		[ "$a_ip" != "$br_gw" ] || die "$net_lbl_addr '$addr': the address of bridge '$bridge' itself"
		return 0
	fi
	# a bridge to make: its subnet must not take traffic from the host's own
	net_host_prefixes
	if [ "$addr" = auto ]; then
		_b=213
		while :; do
			_sub=$(((10 << 24) + (_b << 16)))
			net_overlap "$_sub" 16
			[ -n "$overlap" ] || break
			[ "$_b" -lt 254 ] || die "$net_lbl_addr auto: no free /16 in 10.213.0.0 to 10.254.0.0 for new bridge '$bridge' (give ADDRESS/PREFIX)"
			_b=$((_b + 1))
		done
		br_gw=$((_sub + 1)) br_len=16
		return 0
	fi
	net_overlap "$c_net" "$a_len"
	net_dot "$c_net"
	[ -z "$overlap" ] || die "$net_lbl_addr '$addr': subnet $dot/$a_len of the new bridge '$bridge' overlaps the host's $overlap"
	# the bridge takes the subnet's first host address the instance leaves free
	br_gw=$((c_net + 1)) br_len=$a_len
	[ "$br_gw" != "$a_ip" ] || br_gw=$((c_net + 2))
}

# net_leases: read the hosts file -> $net_used (" ADDR ... " of the leases),
# $net_last (the address on the last line: the latest lease still held; lines
# are appended), $net_stale (a line already names $name: left by a crashed
# instance of that name, for we hold the name now)
net_leases() {
	net_used=' ' net_last='' net_stale=''
	[ -f "$hosts_file" ] || return 0
	while IFS= read -r _l; do
		case $_l in '' | '#'* | 127.0.0.1[!0-9]* | ::1[!0-9a-f:]*) continue ;; esac
		net_last=${_l%%	*}
		net_used="$net_used$net_last "
		[ "${_l#*	}" != "$name" ] || net_stale=1
	done <"$hosts_file"
}

# net_check: validate $bridge, $addr (CIDR or auto; empty means auto) and $name
# for `spawn --bridge`, before anything is made. Sets $hosts_file.
net_check() {
	net_need
	net_check_bridge
	[ -n "$addr" ] || addr=auto
	case $addr in *"$nl"*) die "$net_lbl_addr: must not contain a newline" ;; esac
	net_bridge_read
	net_check_addr
	if [ "$addr" != auto ]; then
		net_leases
		net_dot "$a_ip"
		case $net_used in *" $dot "*) die "$net_lbl_addr '$addr': already used on bridge '$bridge'" ;; esac
	fi
	# a namespace of that name: ours to reclaim when the instance of that name
	# is stale (state_take tears it down), anyone else's otherwise
	if [ -e "/run/netns/$name" ] && [ ! -d "${net_owner-$UNSHARED_STATE/$name}" ]; then
		die "network namespace '$name' exists already (not this instance's): pick another name"
	fi
}

# net_lock / net_unlock: the bridge's allocation lock, on fd 9. The lock is on
# the open file, so it is held from flock(1)'s return until fd 9 is closed here.
net_lock() {
	[ -d "$net_dir" ] || mkdir -p "$net_dir" || die "cannot create $net_dir"
	{ command exec 9>>"$net_dir/lock"; } 2>/dev/null || die "cannot open $net_dir/lock"
	"$net_flock" -w 30 9 || die "bridge '$bridge': its lock is busy (another spawn hangs?)"
}
net_unlock() {
	exec 9>&-
}

# net_iperr FILE: ip's complaint -> $ip_err (its first line) and $ip_line
# (the batch line that failed, 0 when unknown)
net_iperr() {
	ip_err='' ip_line=0
	while IFS= read -r _l; do
		case $_l in
		'Command failed '*:[0-9]*) ip_line=${_l##*:} ;;
		*) [ -n "$ip_err" ] || ip_err=$_l ;;
		esac
	done 2>/dev/null <"$1"
	case $ip_line in '' | *[!0-9]*) ip_line=0 ;; esac
	ip_err=${ip_err:-failed}
}

# net_bridge_make: make the bridge, up, with $br_gw/$br_len. Not journaled:
# a bridge stays. If it cannot be completed, what was made of it goes.
net_bridge_make() {
	net_dot "$br_gw"
	_two="addr add $dot/$br_len dev $bridge"
	[ "${UNSHARED_TEST_NET_FAIL:-}" != bridge ] || _two="addr add $dot/$br_len dev ucfail"
	if ! "$net_ip" -batch - 2>"$state/.net.tmp" <<EOF; then
link add $bridge type bridge
$_two
link set $bridge up
EOF
		net_iperr "$state/.net.tmp"
		[ "$ip_line" = 1 ] || "$net_ip" link del "$bridge" 2>/dev/null || :
		die "bridge '$bridge': cannot make it: $ip_err"
	fi
	{ printf 'unshared-cli:bridge\n' >"/sys/class/net/$bridge/ifalias"; } 2>/dev/null || :
	read -r br_index <"/sys/class/net/$bridge/ifindex" || die "bridge '$bridge': gone as soon as made"
	net_cache_new=1
}

# net_hosts_write CONTENT: the hosts file, rewritten in place (the instances
# have this inode bound on their /etc/hosts: it must never be replaced)
net_hosts_write() {
	printf '%s' "$1" >"$hosts_file"
}

# net_lease: under the lock, pick $a_ip (auto: the first free one after the
# latest lease still held, wrapping around the subnet; no per-line parsing, as
# this runs on every spawn) and append the hosts line, journaled
net_lease() {
	if [ "$addr" = auto ]; then
		net_leases
		ip4=0
		[ -z "$net_last" ] || net_ip4 "$net_last" || ip4=0
		net_mask "$br_len"
		_net=$((br_gw & mask))
		_last=$((_net + (~mask & 0xffffffff) - 1))
		_c=$((ip4 + 1)) _n=0
		while :; do
			[ "$_c" -gt "$_net" ] && [ "$_c" -le "$_last" ] || _c=$((_net + 1))
			net_dot "$_c"
			if [ "$_c" != "$br_gw" ]; then
				case $net_used in *" $dot "*) ;; *) break ;; esac
			fi
			_n=$((_n + 1))
			[ "$_n" -le $((_last - _net)) ] || die "$net_lbl_addr auto: no free address left on bridge '$bridge'"
			_c=$((_c + 1))
		done
		a_ip=$_c a_len=$br_len
	else
		net_leases
		net_dot "$a_ip"
		case $net_used in *" $dot "*) die "$net_lbl_addr '$addr': already used on bridge '$bridge'" ;; esac
	fi
	journal lease "$bridge" "$dot" "$name"
	if [ ! -f "$hosts_file" ]; then
		net_hosts_write "# /etc/hosts of the instances on bridge $bridge, kept by unshared-cli:
# one line per instance, rewritten in place as they come and go.
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
$dot	$name
" || die "cannot write $hosts_file"
		return 0
	fi
	[ -z "$net_stale" ] || net_hosts_drop "$name" || die "cannot write $hosts_file"
	printf '%s\t%s\n' "$dot" "$name" >>"$hosts_file" || die "cannot write $hosts_file"
}

# net_hosts_drop NAME [ADDR]: remove NAME's lines (only the one with ADDR,
# when given), in place. Exact: whole fields compared, never a pattern.
net_hosts_drop() {
	_keep='' _hit=''
	while IFS= read -r _l; do
		case $_l in
		*"	$1")
			if [ "${_l%%	*}	$1" = "$_l" ] && { [ -z "${2:-}" ] || [ "$_l" = "$2	$1" ]; }; then
				_hit=1
				continue
			fi ;;
		esac
		_keep=$_keep$_l$nl
	done <"$hosts_file"
	[ -z "$_hit" ] || net_hosts_write "$_keep"
}

# net_unjournal: drop the journal's last line (it named something we then
# found was not ours to make, so the teardown must not undo it)
net_unjournal() {
	_j='' _prev=''
	while IFS= read -r _l; do
		_j=$_j$_prev
		_prev=$_l$nl
	done <"$state/journal"
	printf '%s' "$_j" >"$state/journal"
}

# net_runnetns: /run/netns as ip-netns(8) makes it (a shared mount, so that a
# deleted namespace file is unmounted in the mount namespaces made after it)
net_runnetns() {
	[ ! -d /run/netns ] || return 0
	mkdir -p /run/netns || die "cannot create /run/netns"
	"$net_mount" --make-rshared /run/netns 2>/dev/null ||
		{ "$net_mount" --rbind /run/netns /run/netns && "$net_mount" --make-rshared /run/netns; } ||
		die "cannot make /run/netns a shared mount"
}

# net_setup: host side of `spawn --bridge` (and of initnetns), after
# net_check and after the name was taken ($state). Sets NETNS and ADDR.
net_setup() {
	net_need
	net_lock
	if [ -z "$br_index" ]; then
		if [ -e "/sys/class/net/$bridge" ]; then
			# made meanwhile (by a concurrent spawn): check against it as it is
			net_check_bridge
			net_bridge_read
			[ -n "$br_index" ] || die "$net_lbl_bridge '$bridge': appeared and went while we looked"
			net_check_addr
		else
			net_bridge_make
		fi
	fi
	if [ -n "$net_cache_new" ]; then
		dot=-
		[ -z "$br_gw" ] || net_dot "$br_gw"
		printf '%s %s %s\n' "$br_index" "$dot" "${br_len:--}" >"$net_dir/bridge"
	fi
	net_lease
	net_unlock
	ADDR=$dot/$a_len
	# the host end: the supervisor's pid makes it unique among live instances;
	# K skips what a crashed one left (or earlier instances of this shell)
	net_veth=uc$$${net_k:+x$net_k}
	while [ -e "/sys/class/net/$net_veth" ]; do
		net_k=$((${net_k:-0} + 1))
		net_veth=uc$$x$net_k
	done
	net_runnetns
	journal netns "$name"
	set -C
	if ! true 2>/dev/null >"/run/netns/$name"; then
		set +C
		net_unjournal
		die "network namespace '$name' exists already (not this instance's): pick another name"
	fi
	set +C
	journal veth "$net_veth" "$name"
	_gw=''
	if [ -n "$br_gw" ]; then net_dot "$br_gw"; _gw="route add default via $dot"; fi
	_three="addr add $ADDR dev eth0"
	[ "${UNSHARED_TEST_NET_FAIL:-}" != addr ] || _three="addr add $ADDR dev ucfail"
	# unshare(1) makes the namespace and binds it on /run/netns/NAME, then the
	# one ip, inside it, makes the veth with its host end in our namespace
	if ! "$net_unshare" --net="/run/netns/$name" "$net_ip" -batch - 2>"$state/.net.tmp" <<EOF; then
link set lo up
link add $net_veth netns $$ master if$br_index up type veth peer name eth0
$_three
link set eth0 up
$_gw
EOF
		net_iperr "$state/.net.tmp"
		die "network of '$name' on bridge '$bridge': $ip_err"
	fi
	{ printf 'unshared-cli:%s\n' "$name" >"/sys/class/net/$net_veth/ifalias"; } 2>/dev/null || :
	NETNS=$name
}

# undo_lease DIR BR ADDR NAME: remove the hosts line, under BR's lock
undo_lease() {
	bridge=$2
	net_dir=$UNSHARED_STATE/.net/$2
	hosts_file=$net_dir/hosts
	[ -f "$hosts_file" ] || return 0
	net_tools || :
	{ command exec 9>>"$net_dir/lock"; } 2>/dev/null && "$net_flock" -w 30 9 || return 1
	_rc=0
	net_hosts_drop "$4" "$3" || _rc=1
	exec 9>&-
	return "$_rc"
}

# undo_netns DIR NAME: delete the named namespace (the veth goes with it,
# asynchronously, once nothing holds the namespace any more)
undo_netns() {
	[ -e "/run/netns/$2" ] || return 0
	net_tools || :
	"$net_ip" netns del "$2" 2>/dev/null || [ ! -e "/run/netns/$2" ]
}

# undo_veth DIR HOST NAME: the host end, only when its namespace is already
# gone (else deleting the namespace takes it, far cheaper) and only if it
# carries our mark for NAME: never an interface we did not make
undo_veth() {
	[ -e "/sys/class/net/$2" ] || return 0
	[ ! -e "/run/netns/$3" ] || return 0
	read -r _al 2>/dev/null <"/sys/class/net/$2/ifalias" || return 0
	[ "$_al" = "unshared-cli:$3" ] || return 0
	net_tools || :
	"$net_ip" link del "$2" 2>/dev/null || [ ! -e "/sys/class/net/$2" ]
}
