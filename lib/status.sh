# lib/status.sh: `unshared-cli status FILE`: how a topology is doing. The
# file's parser is lib/up.sh's: loaded first, then this module's own usage
# and cmd_main replace up's.

. "$UNSHARED_LIB/up.sh"

usage() {
	cat <<'EOF2'
Usage: unshared-cli status [--json] FILE

One line per instance of topology FILE, in the order up starts them: its
state (running, starting, stale, stopped), address, whether its `ready`
condition holds now, its shaping and the instances it is cut off from.

  --json   an array of objects: name, state, addr (string|null),
           bridge (string|null), ready (true|false|null: no condition or
           not running), shaping (string|null), cut_from (array of names)

Exit status: 0 when every instance runs, 1 when some do not, 125 on error.
EOF2
}

cmd_main() {
	s_json=''
	while [ $# -gt 0 ]; do
		case $1 in
		--json) s_json=1; shift ;;
		--) shift; break ;;
		-?*) die "unknown option '$1' (see 'unshared-cli status --help')" ;;
		*) break ;;
		esac
	done
	[ $# -eq 1 ] || die "needs one topology file (see 'unshared-cli status --help')"
	. "$UNSHARED_LIB/state.sh"
	. "$UNSHARED_LIB/ready.sh"
	. "$UNSHARED_LIB/fault.sh"
	topo_load "$1"
	fault_parts
	s_all=0 _so=$t_order _first=1
	[ -z "$s_json" ] || printf '['
	[ -n "$s_json" ] || printf '%-16s %-9s %-18s %-6s %-28s %s\n' NAME STATE ADDR READY SHAPING CUT-FROM
	while [ -n "$_so" ]; do
		t_name=${_so%%"$nl"*}
		_so=${_so#*"$nl"}
		status_one "$t_name"
		[ "$s_state" = running ] || s_all=1
		if [ -n "$s_json" ]; then
			[ -n "$_first" ] || printf ','
			_first=''
			status_json
		else
			printf '%-16s %-9s %-18s %-6s %-28s %s\n' "$t_name" "$s_state" "${i_addr:--}" \
				"${s_ready:--}" "${desc:--}" "${cuts:--}"
		fi
	done
	[ -z "$s_json" ] || printf '\n]\n'
	return "$s_all"
}

# status_one NAME -> $s_state $s_ready (yes|no|empty) $desc $cuts, i_* (info)
status_one() {
	_sd=$UNSHARED_STATE/$1
	s_state=stopped s_ready='' desc='' cuts=''
	i_addr='' i_bridge=''
	[ -d "$_sd" ] || return 0
	state_status "$_sd"
	s_state=$st
	state_info "$_sd"
	fault_load "$_sd"
	fault_describe
	fault_cuts "$_sd" "$1"
	topo_keyword "$1" ready
	[ -n "$value" ] || return 0
	[ "$st" = running ] && state_cmd "$_sd" || return 0
	s_ready=no
	! ready_test "$1" "$value" "$cmd_pid" || s_ready=yes
}

status_json() {
	ev_str "$t_name"
	printf '\n  {"name": %s, "state": "%s"' "$ev_s" "$s_state"
	for _k in addr:"$i_addr" bridge:"$i_bridge" shaping:"$desc"; do
		if [ -n "${_k#*:}" ]; then ev_str "${_k#*:}"; else ev_s=null; fi
		printf ', "%s": %s' "${_k%%:*}" "$ev_s"
	done
	case $s_ready in yes) _r=true ;; no) _r=false ;; *) _r=null ;; esac
	printf ', "ready": %s, "cut_from": [' "$_r"
	_c=$cuts _sep=''
	while [ -n "$_c" ]; do
		ev_str "${_c%%,*}"
		printf '%s%s' "$_sep" "$ev_s"
		_sep=', '
		case $_c in *,*) _c=${_c#*,} ;; *) _c='' ;; esac
	done
	printf ']}'
}
