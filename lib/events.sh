# lib/events.sh: follow the event log that spawn, stop, net, the teardown
# (lib/ready.sh: event) and forkn --events (started, exited) append to. tail(1) does the following; this module
# only picks where to start and, without --json, turns lines into words.

usage() {
	cat <<'EOF'
Usage: unshared-cli events [--json] [--since-start] [--no-follow]

Print lifecycle events of every instance as they happen, until interrupted:
  started NAME pid addr bridge      ready NAME cond       failed NAME reason
  exited NAME status                stopped NAME
  partitioned NAME peer             healed NAME peer
  shaped NAME delay jitter loss rate link

  --json         one JSON object per line: time (seconds since the epoch),
                 event, name, then the event's own fields
  --since-start  begin with every event logged so far, not from now
  --no-follow    print what is logged and return (with --since-start)

Without --json: "HH:MM:SS.cc EVENT NAME KEY=VALUE..." (UTC). Events are kept
in $UNSHARED_STATE/.events, past 4 MiB moved to .events.1 (one generation).
EOF
}

cmd_main() {
	e_json='' e_since='' e_follow=1
	for _a in "$@"; do
		case $_a in
		--json) e_json=1 ;;
		--since-start) e_since=1 ;;
		--no-follow) e_follow='' ;;
		-*) die "unknown option '$_a' (see 'unshared-cli events --help')" ;;
		*) die "unexpected argument '$_a' (see 'unshared-cli events --help')" ;;
		esac
	done
	. "$UNSHARED_LIB/state.sh"
	state_base
	e_file=$UNSHARED_STATE/.events
	[ -e "$e_file" ] || { : >>"$e_file"; } 2>/dev/null || die "cannot create $e_file"
	host_tool tail
	if [ -n "$e_since" ]; then set -- -n +1; else set -- -n 0; fi
	if [ -z "$e_follow" ]; then
		[ -n "$e_json" ] || { "$tool" "$@" -- "$e_file" | events_text; return 0; }
		exec "$tool" "$@" -- "$e_file"
	fi
	# -F: follow the name, so a rotated log is followed into its new file
	set -- "$@" -F
	[ -z "$e_json" ] || exec "$tool" "$@" -- "$e_file"
	# a pipeline: tail must not outlive us when we are killed (GNU --pid)
	! "$tool" --pid=$$ -n 0 /dev/null >/dev/null 2>&1 || set -- "$@" --pid=$$
	"$tool" "$@" -- "$e_file" | events_text
}

# events_text: the log's JSON lines as words. The lines are ours (flat, no
# quote inside a value), so a few expansions read them.
events_text() {
	while IFS= read -r _l; do
		_l=${_l#\{}
		_l=${_l%\}}
		_t='' _e='' _n='' _rest=''
		while [ -n "$_l" ]; do
			_was=$_l
			_l=${_l#\"}
			_k=${_l%%\"*}
			_l=${_l#*\": }
			case $_l in
			\"*)
				_l=${_l#\"}
				_v=${_l%%\"*}
				_l=${_l#*\"} ;;
			*)
				_v=${_l%%,*}
				_l=${_l#"$_v"} ;;
			esac
			_l=${_l#, }
			case $_k in
			time) _t=$_v ;; event) _e=$_v ;; name) _n=$_v ;;
			*) [ "$_v" = null ] || _rest="$_rest $_k=$_v" ;;
			esac
			[ "$_l" != "$_was" ] || break
		done
		events_clock "$_t"
		printf '%s %-11s %s%s\n' "$_clock" "$_e" "$_n" "$_rest"
	done
}

# events_clock SECONDS.HH -> $_clock: HH:MM:SS.hh, UTC (no fork per line)
events_clock() {
	_s=${1%%.*} _h=00
	case $1 in *.*) _h=${1#*.} ;; esac
	case $_s in '' | *[!0-9]*) _clock=--:--:--.--; return 0 ;; esac
	_d=$((_s % 86400))
	_hh=$((_d / 3600)) _mm=$((_d % 3600 / 60)) _ss=$((_d % 60))
	[ "$_hh" -ge 10 ] || _hh=0$_hh
	[ "$_mm" -ge 10 ] || _mm=0$_mm
	[ "$_ss" -ge 10 ] || _ss=0$_ss
	_clock=$_hh:$_mm:$_ss.$_h
}
