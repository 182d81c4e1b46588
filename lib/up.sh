# lib/up.sh: `unshared-cli up FILE`: bring up a topology, and the topology
# file's parser, which down and status source too (lib/down.sh and
# lib/status.sh load this file first, then define their own usage and cmd_main).
#
# The file, line by line (a small format a POSIX sh reads: no YAML):
#
#   # a comment (a '#' at the start of a word, to the end of the line)
#   bridge NAME [addr CIDR]
#   instance NAME [KEYWORD VALUE | FLAG]... -- COMMAND [ARG...]
#
# Instance keywords (each one a spawn option; relative paths are taken from
# the file's directory):
#   root TYPE|PATH   bridge BR   addr CIDR|auto   hostname H
#   data SRC:DST[:ro|:rw]   tmpfs DST          (both repeatable)
#   delay T   jitter T   loss P   rate R       shaping of what it sends
#   ready tcp:PORT|file:/PATH|cmd:CODE   ready-timeout S
#   after NAME[,NAME...]                       start once those are ready
#   pid   net   ephemeral                      flags: --pid --net --ephemeral
# Words are split as sh splits them, quotes included ('...', "...", \), but
# nothing is expanded: no variables, no globs, no command substitution. A
# backslash at the end of a line continues it on the next.

usage() {
	cat <<'EOF'
Usage: unshared-cli up [--timeout S] FILE

Start the instances of topology FILE, each one once the instances it comes
`after` are ready, waiting for its own `ready` condition. If one cannot be
started or made ready, every instance this run started is stopped again and
up exits 125. Instances already running are left as they are, so running up
again changes nothing. A `bridge NAME addr CIDR` line makes that bridge when
it is missing (down removes it again).

  --timeout S   the ready-timeout of instances that set none (default 30)

FILE:
  # comment
  bridge NAME [addr CIDR]
  instance NAME [KEYWORD VALUE | FLAG]... -- COMMAND [ARG...]

  keywords: root TYPE|PATH, bridge BR, addr CIDR|auto, hostname H,
            data SRC:DST[:ro|:rw], tmpfs DST, delay T, jitter T, loss P,
            rate R, ready tcp:PORT|file:/PATH|cmd:CODE, ready-timeout S,
            after NAME[,NAME...]
  flags:    pid, net, ephemeral
  quoting as in sh ('...', "...", \), without any expansion

See also: unshared-cli down FILE, unshared-cli status FILE.
EOF
}

cmd_main() {
	t_timeout=''
	while [ $# -gt 0 ]; do
		case $1 in
		--timeout) [ $# -ge 2 ] || die "--timeout: needs a value"; t_timeout=$2; shift 2 ;;
		--timeout=*) t_timeout=${1#*=}; shift ;;
		--) shift; break ;;
		-?*) die "unknown option '$1' (see 'unshared-cli up --help')" ;;
		*) break ;;
		esac
	done
	[ $# -eq 1 ] || die "needs one topology file (see 'unshared-cli up --help')"
	. "$UNSHARED_LIB/state.sh"
	. "$UNSHARED_LIB/ready.sh"
	[ -z "$t_timeout" ] || ready_secs --timeout "$t_timeout"
	topo_load "$1"
	state_base
	t_started='' t_made=''
	trap 'topo_rollback; exit 130' INT
	trap 'topo_rollback; exit 143' TERM HUP
	topo_bridges_make
	_o=$t_order
	while [ -n "$_o" ]; do
		t_name=${_o%%"$nl"*}
		_o=${_o#*"$nl"}
		if [ -d "$UNSHARED_STATE/$t_name" ]; then
			state_status "$UNSHARED_STATE/$t_name"
			if [ "$st" != stale ]; then
				printf '%s: %s\n' "$t_name" "$st"
				continue
			fi
		fi
		if ! topo_spawn "$t_name"; then
			_why="$t_name: could not be started${t_started:+; stopped again what this run started}"
			topo_rollback
			die "$_why"
		fi
		t_started=$t_started$t_name$nl
		printf '%s: started\n' "$t_name"
	done
	trap - INT TERM HUP
}

# --- the parser ---

# topo_words LINE -> $words: LINE's words, each ended by a newline. Returns 1
# with $topo_err on an unterminated quote.
topo_words() {
	words='' _w='' _in='' _s=$1
	while [ -n "$_s" ]; do
		_r=${_s#?}
		_c=${_s%"$_r"}
		_s=$_r
		case $_c in
		' ' | '	')
			[ -z "$_in" ] || words=$words$_w$nl
			_w='' _in='' ;;
		\')
			case $_s in *\'*) ;; *) topo_err="unterminated '"; return 1 ;; esac
			_w=$_w${_s%%\'*}
			_s=${_s#*\'}
			_in=1 ;;
		\")
			_in=1
			while :; do
				[ -n "$_s" ] || { topo_err='unterminated "'; return 1; }
				_r=${_s#?}
				_c=${_s%"$_r"}
				_s=$_r
				case $_c in
				\") break ;;
				\\)
					_r=${_s#?}
					_d=${_s%"$_r"}
					case $_d in
					\" | \\ | \$ | \`) _w=$_w$_d; _s=$_r ;;
					*) _w=$_w$_c ;;
					esac ;;
				*) _w=$_w$_c ;;
				esac
			done ;;
		\\)
			[ -n "$_s" ] || { topo_err='a \ ends the line'; return 1; }
			_r=${_s#?}
			_w=$_w${_s%"$_r"}
			_s=$_r
			_in=1 ;;
		'#')
			[ -n "$_in" ] || break
			_w=$_w$_c ;;
		*) _w=$_w$_c; _in=1 ;;
		esac
	done
	[ -z "$_in" ] || words=$words$_w$nl
	return 0
}

# topo_line N -> $line: the line that starts at line N of the file (kept in
# $t_text), with the lines a trailing backslash continues it with; $t_next:
# the number of the line after it
topo_line() {
	_t=$t_text _k=1
	while [ "$_k" -lt "$1" ]; do
		_t=${_t#*"$nl"}
		_k=$((_k + 1))
	done
	line=${_t%%"$nl"*}
	_t=${_t#*"$nl"}
	t_next=$(($1 + 1))
	while [ "${line%\\}" != "$line" ] && [ "$t_next" -le "$t_lines" ]; do
		line=${line%\\}${_t%%"$nl"*}
		_t=${_t#*"$nl"}
		t_next=$((t_next + 1))
	done
}

# topo_die N MESSAGE
topo_die() {
	die "$t_file:$1: $2"
}

# topo_load FILE: read and check the whole file before anything starts.
# Sets $t_file $t_dir $t_text; $t_insts ("NAME LINE" lines, in file order),
# $t_bridges ("NAME CIDR|-" lines: every bridge named anywhere), $t_deps
# ("NAME AFTER" lines) and $t_order (names, dependencies first).
topo_load() {
	t_file=$1
	[ -f "$1" ] && [ -r "$1" ] || die "$1: no such readable file"
	absolute "$1"
	t_dir=${abs%/*}
	t_text='' t_insts='' t_bridges='' t_deps='' t_lines=0
	while IFS= read -r _tl_l || [ -n "$_tl_l" ]; do
		t_text=$t_text$_tl_l$nl
		t_lines=$((t_lines + 1))
	done <"$1"
	_tl_n=1
	while [ "$_tl_n" -le "$t_lines" ]; do
		topo_line "$_tl_n"
		topo_words "$line" || topo_die "$_tl_n" "$topo_err"
		if [ -n "$words" ]; then
			case ${words%%"$nl"*} in
			bridge) topo_bridge_line "$_tl_n" ;;
			instance) topo_instance_line "$_tl_n" ;;
			*) topo_die "$_tl_n" "expected 'bridge' or 'instance', not '${words%%"$nl"*}'" ;;
			esac
		fi
		_tl_n=$t_next
	done
	[ -n "$t_insts" ] || die "$t_file: no instance in it"
	topo_check_deps
	topo_order
}

# topo_next -> $word: the next of $words (set $more when there was one)
topo_next() {
	more='' word=''
	[ -n "$words" ] || return 1
	word=${words%%"$nl"*}
	words=${words#*"$nl"}
	more=1
}

topo_bridge_line() {
	topo_next
	topo_next || topo_die "$1" "bridge: needs a name"
	_br=$word _cidr=-
	topo_check_bridge "$1" "$_br"
	if topo_next; then
		[ "$word" = addr ] || topo_die "$1" "bridge $_br: unknown keyword '$word' (only addr CIDR)"
		topo_next || topo_die "$1" "bridge $_br: addr needs a CIDR"
		topo_cidr "$word" || topo_die "$1" "bridge $_br: addr '$word': expected ADDRESS/PREFIX, e.g. 10.240.0.1/24"
		_cidr=$word
		! topo_next || topo_die "$1" "bridge $_br: unexpected '$word'"
	fi
	case $nl$t_bridges in
	*"$nl$_br -$nl"*)
		# named by an instance first: now with its address
		_bl=$t_bridges t_bridges=''
		while [ -n "$_bl" ]; do
			_b=${_bl%%"$nl"*}
			_bl=${_bl#*"$nl"}
			[ "$_b" != "$_br -" ] || _b="$_br $_cidr"
			t_bridges=$t_bridges$_b$nl
		done ;;
	*"$nl$_br "*) topo_die "$1" "bridge $_br: declared twice" ;;
	*) t_bridges="$t_bridges$_br $_cidr$nl" ;;
	esac
}

# topo_check_bridge LINE NAME: an interface name (the rules of lib/net.sh)
topo_check_bridge() {
	case $2 in
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*)
		topo_die "$1" "bridge '$2': use letters, digits, '_', '.', '-', starting with a letter or digit" ;;
	esac
	[ "${#2}" -le 15 ] || topo_die "$1" "bridge '$2': longer than 15 bytes (an interface name)"
}

# topo_cidr CIDR: a.b.c.d/len, octets 0..255, len 8..30 -> $c_addr $c_len
topo_cidr() {
	case $1 in */*) ;; *) return 1 ;; esac
	c_len=${1#*/} c_addr=${1%/*}
	case $c_len in [89] | [12][0-9] | 30) ;; *) return 1 ;; esac
	_q=$c_addr. _k=0
	while [ "$_k" -lt 4 ]; do
		case ${_q%%.*} in
		[0-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-5]) ;;
		*) return 1 ;;
		esac
		_q=${_q#*.}
		_k=$((_k + 1))
	done
	[ -z "$_q" ]
}

topo_instance_line() {
	topo_next
	topo_next || topo_die "$1" "instance: needs a name"
	_in=$word
	case $_in in
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*)
		topo_die "$1" "instance '$_in': use letters, digits, '_', '.', '-', starting with a letter or digit" ;;
	esac
	[ "${#_in}" -le 64 ] || topo_die "$1" "instance '$_in': longer than 64 characters"
	case $nl$t_insts in *"$nl$_in "*) topo_die "$1" "instance $_in: declared twice" ;; esac
	_cmd=''
	while topo_next; do
		case $word in
		--) _cmd=1; break ;;
		pid | net | ephemeral) ;;
		root | addr | hostname | data | tmpfs | delay | jitter | loss | rate | ready | ready-timeout)
			_kw=$word
			topo_next || topo_die "$1" "instance $_in: $_kw needs a value" ;;
		bridge)
			topo_next || topo_die "$1" "instance $_in: bridge needs a value"
			topo_check_bridge "$1" "$word"
			case $nl$t_bridges in *"$nl$word "*) ;; *) t_bridges="$t_bridges$word -$nl" ;; esac ;;
		after)
			topo_next || topo_die "$1" "instance $_in: after needs names"
			_a=$word,
			while [ -n "$_a" ]; do
				[ -n "${_a%%,*}" ] || topo_die "$1" "instance $_in: after '$word': an empty name"
				t_deps="$t_deps$_in ${_a%%,*} $1$nl"
				_a=${_a#*,}
			done ;;
		*) topo_die "$1" "instance $_in: unknown keyword '$word'" ;;
		esac
	done
	[ -n "$_cmd" ] && [ -n "$words" ] || topo_die "$1" "instance $_in: needs -- COMMAND [ARG...] at the end"
	t_insts="$t_insts$_in $1$nl"
}

# topo_check_deps: every `after` names an instance of the file, not itself
topo_check_deps() {
	_d=$t_deps
	while [ -n "$_d" ]; do
		_l=${_d%%"$nl"*}
		_d=${_d#*"$nl"}
		set -f
		# shellcheck disable=SC2086 # three words we made
		set -- $_l
		set +f
		[ "$1" != "$2" ] || topo_die "$3" "instance $1: after itself"
		case $nl$t_insts in *"$nl$2 "*) ;; *) topo_die "$3" "instance $1: after '$2', which the file does not declare" ;; esac
	done
}

# topo_order -> $t_order: every instance after the ones it names, otherwise
# in file order (Kahn's algorithm); a cycle is an error
topo_order() {
	t_order='' _to_left=$t_insts
	while [ -n "$_to_left" ]; do
		_to_next='' _to_prog=''
		while [ -n "$_to_left" ]; do
			_to_l=${_to_left%%"$nl"*}
			_to_left=${_to_left#*"$nl"}
			_to_i=${_to_l%% *}
			if topo_deps_met "$_to_i"; then
				t_order=$t_order$_to_i$nl
				_to_prog=1
			else
				_to_next=$_to_next$_to_l$nl
			fi
		done
		_to_left=$_to_next
		if [ -z "$_to_prog" ] && [ -n "$_to_left" ]; then
			_to_names=''
			while [ -n "$_to_next" ]; do
				_to_names="$_to_names ${_to_next%% *}"
				_to_next=${_to_next#*"$nl"}
			done
			die "$t_file: the 'after' lines make a cycle among:$_to_names"
		fi
	done
}

# topo_deps_met NAME: every instance NAME comes after is in $t_order
topo_deps_met() {
	_dm_d=$t_deps
	while [ -n "$_dm_d" ]; do
		_dm_l=${_dm_d%%"$nl"*}
		_dm_d=${_dm_d#*"$nl"}
		[ "${_dm_l%% *}" = "$1" ] || continue
		_dm_l=${_dm_l#* }
		case $nl$t_order in *"$nl${_dm_l%% *}$nl"*) ;; *) return 1 ;; esac
	done
}

# topo_inst NAME -> $t_line: the line number of NAME's instance line
topo_inst() {
	t_line=''
	_l=$nl$t_insts
	case $_l in *"$nl$1 "*) ;; *) return 1 ;; esac
	_l=${_l#*"$nl$1 "}
	t_line=${_l%%"$nl"*}
}

# topo_keyword NAME KEYWORD -> $value: the value of KEYWORD on NAME's line
# (the last one), empty when it has none
topo_keyword() {
	value=''
	topo_inst "$1" || return 1
	topo_line "$t_line"
	topo_words "$line"
	topo_next
	topo_next
	while topo_next; do
		case $word in
		--) break ;;
		pid | net | ephemeral) ;;
		"$2") topo_next; value=$word ;;
		*) topo_next ;;
		esac
	done
}

# --- up ---

# topo_spawn NAME: spawn --detach NAME as its line says; waits for its ready
topo_spawn() {
	topo_inst "$1"
	topo_line "$t_line"
	topo_words "$line"
	topo_next
	topo_next
	set -- --detach --name "$1"
	_rt=''
	while topo_next; do
		case $word in
		--) break ;;
		pid | net | ephemeral) set -- "$@" "--$word" ;;
		after) topo_next ;;
		root)
			topo_next
			case $word in
			/*) ;;
			*/*) word=$t_dir/$word ;;
			esac
			set -- "$@" --root "$word" ;;
		data)
			topo_next
			case $word in /*) ;; *) word=$t_dir/$word ;; esac
			set -- "$@" --data-dir "$word" ;;
		ready-timeout) topo_next; _rt=1; set -- "$@" --ready-timeout "$word" ;;
		bridge | addr | hostname | tmpfs | delay | jitter | loss | rate | ready)
			_kw=$word
			topo_next
			set -- "$@" "--$_kw" "$word" ;;
		esac
	done
	[ -n "$_rt" ] || [ -z "$t_timeout" ] || set -- "$@" --ready-timeout "$t_timeout"
	set -- "$@" --
	while topo_next; do set -- "$@" "$word"; done
	/bin/sh "$UNSHARED_SELF" spawn "$@" >/dev/null 7>&- 8>&- 9>&-
}

# topo_bridges_make: the bridges declared with an address that do not exist
topo_bridges_make() {
	_bm_b=$t_bridges
	while [ -n "$_bm_b" ]; do
		_bm_l=${_bm_b%%"$nl"*}
		_bm_b=${_bm_b#*"$nl"}
		[ "${_bm_l#* }" != - ] || continue
		[ ! -e "/sys/class/net/${_bm_l%% *}" ] || continue
		topo_bridge_make "${_bm_l%% *}" "${_bm_l#* }"
		t_made=$t_made${_bm_l%% *}$nl
	done
}

# topo_bridge_make NAME CIDR: up, with that address, marked as ours. A subnet
# that overlaps the host's addresses or routes is refused: it would take
# their traffic. No NAT, no forwarding.
topo_bridge_make() {
	host_tool ip
	_ip=$tool
	topo_overlap "$2"
	[ -z "$overlap" ] || die "bridge $1: $2 overlaps the host's $overlap"
	if ! _err=$("$_ip" -batch - 2>&1 <<EOF
link add $1 type bridge
addr add $2 dev $1
link set $1 up
EOF
	); then
		"$_ip" link del "$1" 2>/dev/null || :
		topo_rollback
		die "bridge $1: cannot make it: ${_err%%"$nl"*}"
	fi
	{ printf 'unshared-cli:bridge\n' >"/sys/class/net/$1/ifalias"; } 2>/dev/null || :
}

# topo_ip4 A.B.C.D -> $ip4 (checked by topo_cidr before)
topo_ip4() {
	_q=$1. ip4=0
	while [ -n "$_q" ]; do
		ip4=$((ip4 * 256 + ${_q%%.*}))
		_q=${_q#*.}
	done
}

# topo_overlap CIDR -> $overlap: a host address or route overlapping CIDR
topo_overlap() {
	overlap=''
	topo_cidr "$1"
	topo_ip4 "$c_addr"
	_net=$ip4 _len=$c_len
	_out=$(printf 'addr show\nroute show\n' | "$_ip" -o -4 -batch - 2>/dev/null) || _out=''
	set -f
	while IFS= read -r _l; do
		# shellcheck disable=SC2086 # ip's words, split on purpose
		set -- $_l
		case ${1:-} in
		[0-9]*:) _p=${4:-} ;;
		default) continue ;;
		[0-9]*) _p=$1 ;;
		*) continue ;;
		esac
		case $_p in */*) ;; *) _p=$_p/32 ;; esac
		_pl=${_p#*/}
		case $_pl in '' | *[!0-9]*) continue ;; esac
		topo_cidr "${_p%/*}/30" || continue
		topo_ip4 "${_p%/*}"
		[ "$_pl" -le "$_len" ] || _pl=$_len
		_m=$(((0xffffffff << (32 - _pl)) & 0xffffffff))
		if [ $((ip4 & _m)) -eq $((_net & _m)) ]; then overlap=$_p; break; fi
	done <<EOF
$_out
EOF
	set +f
}

# topo_rollback: stop what this run started (last first) and remove the
# bridges it made
topo_rollback() {
	trap - INT TERM HUP
	if [ -n "$t_started" ]; then
		set --
		_rb_s=$t_started
		while [ -n "$_rb_s" ]; do
			set -- "${_rb_s%%"$nl"*}" "$@"
			_rb_s=${_rb_s#*"$nl"}
		done
		/bin/sh "$UNSHARED_SELF" stop --timeout 5 -- "$@" >/dev/null 7>&- 8>&- 9>&- || :
	fi
	_rb_m=$t_made
	while [ -n "$_rb_m" ]; do
		topo_bridge_drop "${_rb_m%%"$nl"*}" || :
		_rb_m=${_rb_m#*"$nl"}
	done
	t_started='' t_made=''
}

# topo_bridge_drop NAME: remove bridge NAME if it carries our mark and no
# port is left but the veths of this topology's instances once they are gone.
# Those go with their namespaces, asynchronously, and a namespace lives on
# while sockets its processes left linger (a TCP connection in FIN_WAIT2 to
# a peer that died too: up to tcp_fin_timeout, 60 s): a host end still marked
# for an instance that is gone (no entry, no /run/netns) is deleted here.
topo_bridge_drop() {
	[ -d "/sys/class/net/$1/bridge" ] || return 0
	read -r _al 2>/dev/null <"/sys/class/net/$1/ifalias" || return 0
	[ "$_al" = unshared-cli:bridge ] || return 0
	host_tool ip
	_k=0
	while :; do
		_busy=''
		for _p in "/sys/class/net/$1/brif"/*; do
			[ -e "$_p" ] || continue
			_busy=1
			read -r _al 2>/dev/null <"/sys/class/net/${_p##*/}/ifalias" || _al=''
			# a port of someone else's: the bridge is in use, it stays
			case $_al in
			unshared-cli:?*) case $nl$t_insts in *"$nl${_al#unshared-cli:} "*) ;; *) return 0 ;; esac ;;
			*) return 0 ;;
			esac
			_o=${_al#unshared-cli:}
			if [ "$_k" -ge 5 ] && [ ! -e "$UNSHARED_STATE/$_o" ] && [ ! -e "/run/netns/$_o" ]; then
				"$tool" link del "${_p##*/}" 2>/dev/null || :
			fi
		done
		[ -n "$_busy" ] || break
		[ "$_k" -lt 30 ] || return 1
		sleep 0.1
		_k=$((_k + 1))
	done
	"$tool" link del "$1" 2>/dev/null || [ ! -e "/sys/class/net/$1" ]
}
