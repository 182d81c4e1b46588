# lib/list.sh: the instances in the registry, as a table or as JSON.
#
# Light on purpose (scripts call it in loops): everything is read with the
# shell's own `read`, the only fork is one `getconf CLK_TCK` when some instance
# runs. Stale entries (dead supervisor) are reclaimed on the way, unless --no-gc.

usage() {
	cat <<'EOF'
Usage: unshared-cli list [--json] [--no-gc]

Show the instances: name, supervisor pid, command pid, root, namespaces,
bridge, address, uptime and state.

  --json     a JSON array, one object per instance:
               name (string), pid (supervisor, integer), cmdpid (integer|null),
               root (string), ns (array of strings), bridge (string|null),
               addr (string|null), netns (string|null), cmd (string),
               uptime (seconds, integer|null), state ("running"|"starting"|"stale")
  --no-gc    do not reclaim instances whose supervisor died (they show as stale)

A "starting" instance is still being set up (or its command has not started).
EOF
}

cmd_main() {
	l_json='' l_gc=1
	while [ $# -gt 0 ]; do
		case $1 in
		--json) l_json=1 ;;
		--no-gc) l_gc='' ;;
		-*) die "unknown option '$1' (see 'unshared-cli list --help')" ;;
		*) die "unexpected argument '$1' (see 'unshared-cli list --help')" ;;
		esac
		shift
	done
	. "$UNSHARED_LIB/state.sh"
	l_up='' l_tck=''
	if [ -n "$l_json" ]; then
		l_first=1
		printf '['
		list_each list_json
		if [ -n "$l_first" ]; then printf ']\n'; else printf '\n]\n'; fi
	else
		# the table is printed once the column widths are known
		l_rows='' l_w1=4 l_w2=3 l_w3=6 l_w4=4 l_w5=2 l_w6=6 l_w7=4 l_w8=6
		list_each list_row
		list_table
	fi
}

# list_each FUNCTION: call FUNCTION for every entry, with st_* and i_* set
list_each() {
	for l_dir in "$UNSHARED_STATE"/*; do
		[ -d "$l_dir" ] && [ ! -L "$l_dir" ] || continue
		state_status "$l_dir"
		if [ "$st" = stale ] && [ -n "$l_gc" ]; then
			state_reap "$l_dir" && continue
			[ -d "$l_dir" ] || continue
			state_status "$l_dir"
		fi
		state_info "$l_dir"
		# gone while we looked (an instance that just ended): not listed
		[ -d "$l_dir" ] || continue
		[ -n "$i_name" ] || i_name=${l_dir##*/}
		list_uptime
		"$1"
	done
}

# list_uptime: seconds since the supervisor started, into $l_uptime (empty if
# unknown). Start times are in clock ticks since boot; /proc/uptime in seconds.
list_uptime() {
	l_uptime=''
	[ "$st" != stale ] && [ -n "$st_start" ] || return 0
	if [ -z "$l_up" ]; then
		read -r l_up _ </proc/uptime
		l_tck=$(getconf CLK_TCK 2>/dev/null) || l_tck=100
		case $l_tck in '' | *[!0-9]* | 0) l_tck=100 ;; esac
		# centiseconds, as integers: "12345.67" -> 1234567
		case $l_up in
		*.*) _f=${l_up#*.}00; l_up=${l_up%%.*}${_f%"${_f#??}"} ;;
		*) l_up=${l_up}00 ;;
		esac
		while [ "${#l_up}" -gt 1 ] && [ "${l_up#0}" != "$l_up" ]; do l_up=${l_up#0}; done
	fi
	l_uptime=$(((l_up * l_tck / 100 - st_start) / l_tck))
	[ "$l_uptime" -ge 0 ] || l_uptime=0
}

# --- JSON ---

# json_str VALUE: VALUE as a JSON string, printed. Backslash, quote and the
# control characters are escaped; everything else goes out as it is (UTF-8).
json_str() {
	case $1 in
	*[\\\"[:cntrl:]]*) ;;
	*) printf '"%s"' "$1"; return 0 ;;
	esac
	_s=$1
	printf '"'
	while [ -n "$_s" ]; do
		_r=${_s#?}
		_c=${_s%"$_r"}
		_s=$_r
		case $_c in
		\\) printf '%s' "\\\\" ;;
		\") printf '\\"' ;;
		"$nl") printf '\\n' ;;
		[[:cntrl:]]) printf '\\u%04x' "'$_c" ;;
		*) printf '%s' "$_c" ;;
		esac
	done
	printf '"'
}

# json_opt VALUE: a JSON string, or null when VALUE is empty
json_opt() {
	if [ -n "$1" ]; then json_str "$1"; else printf 'null'; fi
}

# json_int VALUE: a JSON integer, or null
json_int() {
	case $1 in
	'' | *[!0-9]*) printf 'null' ;;
	*) printf '%s' "$1" ;;
	esac
}

list_json() {
	if [ -n "$l_first" ]; then printf '\n  {'; else printf ',\n  {'; fi
	l_first=''
	printf '"name": '; json_str "$i_name"
	printf ', "pid": '; json_int "$st_pid"
	printf ', "cmdpid": '; json_int "$st_cmdpid"
	printf ', "root": '; json_str "$i_root"
	printf ', "ns": ['
	_s=$i_ns _sep=''
	while [ -n "$_s" ]; do
		printf '%s' "$_sep"; json_str "${_s%%,*}"
		case $_s in *,*) _s=${_s#*,} ;; *) _s='' ;; esac
		_sep=', '
	done
	printf '], "bridge": '; json_opt "$i_bridge"
	printf ', "addr": '; json_opt "$i_addr"
	printf ', "netns": '; json_opt "$i_netns"
	printf ', "cmd": '; json_str "$i_cmd"
	printf ', "uptime": '; json_int "$l_uptime"
	printf ', "state": "%s"}' "$st"
}

# --- table ---

# list_row: one row, kept (one field per line: info values are lines, so none
# holds a newline) until every column width is known
list_row() {
	_up=-
	[ -z "$l_uptime" ] || duration "$l_uptime"
	set -- "$i_name" "${st_pid:--}" "${st_cmdpid:--}" "${i_root:--}" "${i_ns:--}" \
		"${i_bridge:--}" "${i_addr:--}" "$_up" "$st"
	[ "${#1}" -le "$l_w1" ] || l_w1=${#1}
	[ "${#2}" -le "$l_w2" ] || l_w2=${#2}
	[ "${#3}" -le "$l_w3" ] || l_w3=${#3}
	[ "${#4}" -le "$l_w4" ] || l_w4=${#4}
	[ "${#5}" -le "$l_w5" ] || l_w5=${#5}
	[ "${#6}" -le "$l_w6" ] || l_w6=${#6}
	[ "${#7}" -le "$l_w7" ] || l_w7=${#7}
	[ "${#8}" -le "$l_w8" ] || l_w8=${#8}
	l_rows=$l_rows$1$nl$2$nl$3$nl$4$nl$5$nl$6$nl$7$nl$8$nl$9$nl
}

list_table() {
	_fmt="%-${l_w1}s  %${l_w2}s  %${l_w3}s  %-${l_w4}s  %-${l_w5}s  %-${l_w6}s  %-${l_w7}s  %${l_w8}s  %s\n"
	# shellcheck disable=SC2059 # the format is built from numbers above
	printf "$_fmt" NAME PID CMDPID ROOT NS BRIDGE ADDR UPTIME STATE
	while [ -n "$l_rows" ]; do
		set --
		while [ $# -lt 9 ]; do
			set -- "$@" "${l_rows%%"$nl"*}"
			l_rows=${l_rows#*"$nl"}
		done
		# shellcheck disable=SC2059
		printf "$_fmt" "$@"
	done
}

# duration SECONDS -> $_up: 42s, 3m07s, 5h02m, 2d04h (no fork)
duration() {
	if [ "$1" -lt 60 ]; then
		_up=${1}s
	elif [ "$1" -lt 3600 ]; then
		two $(($1 % 60))
		_up=$(($1 / 60))m${_two}s
	elif [ "$1" -lt 86400 ]; then
		two $(($1 % 3600 / 60))
		_up=$(($1 / 3600))h${_two}m
	else
		two $(($1 % 86400 / 3600))
		_up=$(($1 / 86400))d${_two}h
	fi
}

two() {
	if [ "$1" -lt 10 ]; then _two=0$1; else _two=$1; fi
}
