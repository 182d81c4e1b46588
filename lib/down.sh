# lib/down.sh: `unshared-cli down FILE`: stop a topology, last started first.
# The file's parser is lib/up.sh's: loaded first, then this module's own usage
# and cmd_main replace up's.

. "$UNSHARED_LIB/up.sh"

usage() {
	cat <<'EOF2'
Usage: unshared-cli down [--timeout S] FILE

Stop the instances of topology FILE in the reverse of the order up starts
them (an instance before those it comes `after`), each one's teardown done
before the next is stopped. Then remove the bridges the file names that
unshared-cli made, once no other instance uses them. Instances already
stopped are skipped, so down may run any number of times.

  --timeout S   SIGKILL an instance still running S seconds after SIGTERM
                (default 10; see 'unshared-cli stop')

Exit status: 0 once everything is down; 125 when some teardown could not
finish (see 'unshared-cli gc').
EOF2
}

cmd_main() {
	d_timeout=10
	while [ $# -gt 0 ]; do
		case $1 in
		--timeout) [ $# -ge 2 ] || die "--timeout: needs a value"; d_timeout=$2; shift 2 ;;
		--timeout=*) d_timeout=${1#*=}; shift ;;
		--) shift; break ;;
		-?*) die "unknown option '$1' (see 'unshared-cli down --help')" ;;
		*) break ;;
		esac
	done
	[ $# -eq 1 ] || die "needs one topology file (see 'unshared-cli down --help')"
	. "$UNSHARED_LIB/state.sh"
	topo_load "$1"
	# the reverse of up's order
	_do=$t_order _rev=''
	while [ -n "$_do" ]; do
		_rev=${_do%%"$nl"*}$nl$_rev
		_do=${_do#*"$nl"}
	done
	d_rc=0
	while [ -n "$_rev" ]; do
		t_name=${_rev%%"$nl"*}
		_rev=${_rev#*"$nl"}
		[ -d "$UNSHARED_STATE/$t_name" ] || continue
		if /bin/sh "$UNSHARED_SELF" stop --timeout "$d_timeout" -- "$t_name" 7>&- 8>&- 9>&-; then
			printf '%s: stopped\n' "$t_name"
		else
			d_rc=125
		fi
	done
	_db=$t_bridges
	while [ -n "$_db" ]; do
		topo_bridge_drop "${_db%% *}" || warn "bridge ${_db%% *}: still has ports, kept"
		_db=${_db#*"$nl"}
	done
	return "$d_rc"
}
