# lib/ready.sh: shared by spawn, up, stop, net and the teardown: readiness
# conditions (spawn --ready) and the event log (unshared-cli events).
#
# The event log: $UNSHARED_STATE/.events, JSON lines, 0644, append-only. Each
# event is one printf of one line (well under PIPE_BUF) to a file opened with
# O_APPEND, so lines of concurrent writers never interleave. Kinds:
#   started NAME pid addr bridge   the command was started (forkn --events
#                                  writes it, and "exited", for the lean path)
#   ready NAME cond                its --ready condition held
#   failed NAME reason             not ready in time, or ended before it was
#   exited NAME status             teardown done (status null: reclaimed by gc)
#   stopped NAME                   `stop` saw it gone
#   partitioned / healed NAME peer
#   shaped NAME delay jitter loss rate link
# Fields: time (seconds since the epoch, hundredths), event, name, then the
# kind's own. Past 4 MiB the log moves to .events.1 (one generation kept).

ready_loaded=1

# --- events ---

# ev_now -> $ev_t: seconds since the epoch with hundredths, without a fork:
# the boot time (/proc/stat) plus the uptime
ev_now() {
	if [ -z "${ev_btime:-}" ]; then
		ev_btime=0
		while read -r _ev_k _ev_v; do
			if [ "$_ev_k" = btime ]; then ev_btime=$_ev_v; break; fi
		done 2>/dev/null </proc/stat
	fi
	read -r _ev_up _ 2>/dev/null </proc/uptime || _ev_up=0.00
	case $_ev_up in
	*.*) _ev_f=${_ev_up#*.}00; _ev_f=${_ev_f%"${_ev_f#??}"}; _ev_up=${_ev_up%%.*} ;;
	*) _ev_f=00 ;;
	esac
	ev_t=$((ev_btime + _ev_up)).$_ev_f
}

# ev_str VALUE -> $ev_s: VALUE as a JSON string (our values are names,
# addresses and words of our own: quotes and backslashes are escaped, other
# control characters dropped)
ev_str() {
	case $1 in
	*[\\\"[:cntrl:]]*) ;;
	*) ev_s="\"$1\""; return 0 ;;
	esac
	_ev_x=$1 ev_s=''
	while [ -n "$_ev_x" ]; do
		_ev_r=${_ev_x#?}
		_ev_c=${_ev_x%"$_ev_r"}
		_ev_x=$_ev_r
		case $_ev_c in
		\\ | \") ev_s="$ev_s\\$_ev_c" ;;
		[[:cntrl:]]) ;;
		*) ev_s=$ev_s$_ev_c ;;
		esac
	done
	ev_s="\"$ev_s\""
}

# event KIND NAME [KEY=STRING | KEY:=JSON]...: one line to the log (an empty
# value is null). A write
# that fails (a read-only state directory) is not the instance's failure.
event() {
	ev_now
	ev_str "$2"
	_ev_e="{\"time\": $ev_t, \"event\": \"$1\", \"name\": $ev_s"
	shift 2
	for _ev_a in "$@"; do
		case ${_ev_a%%=*} in
		*:)
			_ev_v=${_ev_a#*:=}
			_ev_e="$_ev_e, \"${_ev_a%%:=*}\": ${_ev_v:-null}" ;;
		*)
			ev_s=null
			[ -z "${_ev_a#*=}" ] || ev_str "${_ev_a#*=}"
			_ev_e="$_ev_e, \"${_ev_a%%=*}\": $ev_s" ;;
		esac
	done
	{ printf '%s}\n' "$_ev_e" >>"$UNSHARED_STATE/.events"; } 2>/dev/null || :
}

# ev_rotate: past 4 MiB, the log starts again (followers use tail -F, which
# follows the name). Called by the teardown, off every hot path.
ev_rotate() {
	[ -s "$UNSHARED_STATE/.events" ] || return 0
	[ -n "$(find "$UNSHARED_STATE/.events" -size +4096k 2>/dev/null)" ] || return 0
	mv -f "$UNSHARED_STATE/.events" "$UNSHARED_STATE/.events.1" 2>/dev/null || :
}

# --- readiness ---

# ready_spec OPTION COND: a condition spawn can check -> $ready_port (tcp) or
# nothing else to keep: the condition itself is the value
#   tcp:PORT    something listens on PORT in the instance's network namespace
#   file:PATH   PATH exists inside the instance's root
#   cmd:CODE    shell code run inside the instance (attach) exits 0
ready_spec() {
	case $2 in
	tcp:*)
		ready_port=${2#tcp:}
		case $ready_port in '' | 0* | *[!0-9]*) ready_port=0 ;; esac
		[ "${#ready_port}" -le 5 ] && [ "$ready_port" -ge 1 ] && [ "$ready_port" -le 65535 ] ||
			die "$1 '$2': expected tcp:PORT with PORT from 1 to 65535" ;;
	file:/*) no_newline "$1" "$2" ;;
	cmd:*[![:space:]]*) ;;
	*) die "$1 '$2': expected tcp:PORT, file:/PATH or cmd:COMMAND" ;;
	esac
}

# ready_secs OPTION VALUE -> $ready_cs: seconds (10, 2.5) in hundredths
ready_secs() {
	case $2 in
	'' | . | *[!0-9.]* | *.*.*) die "$1 '$2': expected seconds, like 30 or 2.5" ;;
	esac
	_i=${2%%.*} _f=''
	case $2 in *.*) _f=${2#*.} ;; esac
	_f=${_f}00
	_f=${_f%"${_f#??}"}
	ready_cs=$_i$_f
	while [ "${#ready_cs}" -gt 1 ] && [ "${ready_cs#0}" != "$ready_cs" ]; do ready_cs=${ready_cs#0}; done
	[ "${#ready_cs}" -le 9 ] || die "$1 '$2': too long"
	[ "$ready_cs" -gt 0 ] || die "$1 '$2': must be more than 0"
}

# ready_clock -> $now_cs: hundredths of a second since boot (no fork)
ready_clock() {
	read -r _up _ </proc/uptime
	case $_up in
	*.*) _f=${_up#*.}00; now_cs=${_up%%.*}${_f%"${_f#??}"} ;;
	*) now_cs=${_up}00 ;;
	esac
	while [ "${#now_cs}" -gt 1 ] && [ "${now_cs#0}" != "$now_cs" ]; do now_cs=${now_cs#0}; done
}

# ready_hex PORT -> $hex: four upper-case hex digits, as /proc/net/tcp has them
ready_hex() {
	hex='' _n=$1 _k=0
	while [ "$_k" -lt 4 ]; do
		_d=$((_n % 16))
		case $_d in 10) _d=A ;; 11) _d=B ;; 12) _d=C ;; 13) _d=D ;; 14) _d=E ;; 15) _d=F ;; esac
		hex=$_d$hex
		_n=$((_n / 16))
		_k=$((_k + 1))
	done
}

# ready_tcp PID PORT: a socket listens on PORT in PID's network namespace.
# /proc/PID/net/* is that namespace's view: no nsenter, no fork.
ready_tcp() {
	ready_hex "$2"
	for _f in "/proc/$1/net/tcp" "/proc/$1/net/tcp6"; do
		[ -r "$_f" ] || continue
		while read -r _ _loc _ _st _; do
			case $_loc:$_st in *:"$hex":0A) return 0 ;; esac
		done <"$_f"
	done
	return 1
}

# ready_test NAME COND PID: COND holds for instance NAME, whose command is PID
ready_test() {
	case $2 in
	tcp:*) ready_tcp "$3" "${2#tcp:}" ;;
	# the root as the command sees it, its mounts included
	file:*) [ -e "/proc/$3/root${2#file:}" ] ;;
	cmd:*)
		/bin/sh "$UNSHARED_SELF" attach "$1" -- /bin/sh -c "${2#cmd:}" \
			</dev/null >/dev/null 2>&1 7>&- 8>&- 9>&- ;;
	esac
}

# ready_wait DIR NAME COND CS: until COND holds (0), CS hundredths of a second
# have passed (1), or the instance has ended (2: its command exited)
ready_wait() {
	ready_clock
	_deadline=$((now_cs + $4))
	while :; do
		if state_cmd "$1"; then
			ready_test "$2" "$3" "$cmd_pid" && return 0
		else
			[ -d "$1" ] || return 2
			case $st in
			starting) ;; # forkn has not recorded the command yet
			running)
				# recorded, and not yet in its namespaces (pivot is at
				# work), or ended: the teardown is under way
				proc_stat "$st_cmdpid" && [ "$pstate" != Z ] || return 2 ;;
			*) return 2 ;;
			esac
		fi
		ready_clock
		[ "$now_cs" -lt "$_deadline" ] || return 1
		sleep 0.1
	done
}
