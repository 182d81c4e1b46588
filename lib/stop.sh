# lib/stop.sh: stop instances and wait until every trace of them is gone.
#
# The supervisor does the work: SIGTERM reaches the command through it, and when
# the command ends it kills what is left and replays the journal. stop only
# escalates (SIGKILL to the command after the timeout) and waits; when the
# supervisor itself is dead, it reclaims the entry as gc would.

usage() {
	cat <<'EOF'
Usage: unshared-cli stop [--timeout SECONDS] NAME...
       unshared-cli stop [--timeout SECONDS] --all

Send SIGTERM to each instance's command (through its supervisor), SIGKILL it
when it is still running after the timeout (default 10 seconds), wait for the
teardown, and exit 0 once every instance named is gone. Several instances are
stopped in parallel. An instance whose supervisor died is torn down directly.

Exit status: 0 when every instance is gone; 125 for an unknown name or when
some teardown could not finish (the message says which).
EOF
}

cmd_main() {
	s_timeout=10 s_all=''
	# options are taken from the front, names rotated to the end
	n=$#
	while [ "$n" -gt 0 ]; do
		a=$1
		shift
		n=$((n - 1))
		case $a in
		--)
			while [ "$n" -gt 0 ]; do
				set -- "$@" "$1"
				shift
				n=$((n - 1))
			done ;;
		--timeout=*) s_timeout=${a#*=} ;;
		--timeout | -t)
			[ "$n" -gt 0 ] || die "$a: needs a value"
			s_timeout=$1
			shift
			n=$((n - 1)) ;;
		-a | --all) s_all=1 ;;
		-*) die "unknown option '$a' (see 'unshared-cli stop --help')" ;;
		*) set -- "$@" "$a" ;;
		esac
	done
	# tenths of a second, as an integer: 10 -> 100, 2.5 -> 25, .5 -> 5
	case $s_timeout in
	*[!0-9.]* | *.*.* | . | '') die "--timeout '$s_timeout': expected seconds, like 10 or 0.5" ;;
	*.*) _f=${s_timeout#*.}0; s_ticks=${s_timeout%%.*}${_f%"${_f#?}"} ;;
	*) s_ticks=${s_timeout}0 ;;
	esac
	# no leading zero: sh arithmetic would read the number as octal
	while [ "${#s_ticks}" -gt 1 ] && [ "${s_ticks#0}" != "$s_ticks" ]; do s_ticks=${s_ticks#0}; done
	. "$UNSHARED_LIB/state.sh"
	if [ -n "$s_all" ]; then
		[ $# -eq 0 ] || die "--all: takes no names"
		for _d in "$UNSHARED_STATE"/*; do
			[ -d "$_d" ] && [ ! -L "$_d" ] && set -- "$@" "${_d##*/}"
		done
		[ $# -gt 0 ] || return 0
	else
		[ $# -gt 0 ] || die "missing instance name (see 'unshared-cli stop --help')"
		# every name is checked before anything is stopped
		for _n in "$@"; do
			check_name name "$_n"
			[ -d "$UNSHARED_STATE/$_n" ] && [ ! -L "$UNSHARED_STATE/$_n" ] ||
				die "no instance '$_n' (see 'unshared-cli list')"
		done
	fi
	if [ $# -eq 1 ]; then
		stop_one "$1" && stop_event "$1"
		return
	fi
	# in parallel: one subshell per instance, then every status
	s_jobs=''
	for _n in "$@"; do
		{ stop_one "$_n" && stop_event "$_n"; } &
		s_jobs="$s_jobs $!"
	done
	s_rc=0
	for _j in $s_jobs; do
		wait "$_j" || s_rc=125
	done
	return "$s_rc"
}

# stop_event NAME: "stopped" in the event log (lib/ready.sh)
stop_event() {
	[ -n "${ready_loaded:-}" ] || . "$UNSHARED_LIB/ready.sh"
	event stopped "$1"
}

# stop_one NAME: returns 0 once NAME's entry is gone
stop_one() {
	_dir=$UNSHARED_STATE/$1
	state_status "$_dir"
	[ -d "$_dir" ] || return 0
	# a spawn between mkdir and its pid write: give it the timeout to get there
	_t=0
	while [ -z "$st_pid" ] && [ "$_t" -lt "$s_ticks" ]; do
		sleep 0.1
		_t=$((_t + 1))
		[ -d "$_dir" ] || return 0
		state_status "$_dir"
	done
	if [ "$st" != stale ] && [ -n "$st_pid" ]; then
		_sup=$st_pid _start=$st_start
		kill -TERM "$_sup" 2>/dev/null || :
		stop_wait "$_dir" "$s_ticks" || {
			# the command ignored SIGTERM: SIGKILL it, the supervisor tears down
			if state_cmd "$_dir"; then
				verbose "$1: still running after ${s_timeout}s: SIGKILL"
				kill -KILL "$cmd_pid" 2>/dev/null || :
			elif [ "$st" != stale ]; then
				# no command yet (or a supervisor stuck in setup): end the supervisor
				stop_kill_sup
			fi
			# teardown gets its own time; a supervisor stuck in it is ended
			stop_wait "$_dir" 100 || stop_kill_sup
		}
	fi
	[ -d "$_dir" ] || return 0
	# a dead supervisor, or a spawn that died before its pid write (a minute ago)
	state_reap "$_dir" abandoned && return 0
	case $? in
	2) warn "$1: still running" ;;
	*) warn "$1: teardown could not finish (see 'unshared-cli gc')" ;;
	esac
	return 125
}

# stop_kill_sup: SIGKILL the supervisor recorded when we started, if it is
# still that process (start time checked: a reused pid is left alone)
stop_kill_sup() {
	proc_is "$_sup" "$_start" || return 0
	kill -KILL "$_sup" 2>/dev/null || :
	stop_wait "$_dir" 20 || :
}

# stop_wait DIR TENTHS: until DIR is gone or its supervisor is dead (0), or
# TENTHS tenths of a second have passed (1)
stop_wait() {
	_t=0
	while [ "$_t" -lt "$2" ]; do
		[ -d "$1" ] || return 0
		proc_is "$_sup" "$_start" || return 0
		sleep 0.1
		_t=$((_t + 1))
	done
	return 1
}
