# lib/state.sh: the instance registry and the journal. Every subcommand that looks
# at instances asks this module; teardown lives here and nowhere else.
#
#   $UNSHARED_STATE/NAME/       0700, made by mkdir: the name lock (one spawn wins)
#     pid      "PID STARTTIME" of the supervisor; liveness survives pid reuse
#     cmdpid   host pid of the command (forkn writes it)
#     info     the plan as KEY=VALUE lines (forkn writes it from --info)
#     journal  "KIND ARG..." per resource, appended BEFORE the resource is made,
#              so a crash between the two leaves an entry whose undo finds nothing
#     hook.N   the shell code of a --postexec hook (journal: "hook hook.N")

# proc_starttime PID: field 22 of /proc/PID/stat, into $starttime (no fork).
# The command name (field 2) may hold spaces and ')', so cut after the last ')'.
proc_starttime() {
	starttime=
	read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
	_stat=${_stat##*) }
	# shellcheck disable=SC2086 # split the fields on purpose; no globbing below
	set -f; set -- $_stat; set +f
	[ $# -ge 20 ] || return 1
	shift 19
	starttime=$1
}

# state_alive DIR: the supervisor recorded in DIR/pid still runs
state_alive() {
	read -r _pid _start <"$1/pid" 2>/dev/null || return 1
	kill -0 "$_pid" 2>/dev/null || return 1
	proc_starttime "$_pid" && [ "$starttime" = "$_start" ]
}

# state_reclaim NAME: NAME's entry exists. A live supervisor keeps it (in use);
# so does an entry without a pid file (its spawn is between mkdir and the pid
# write); a dead supervisor's entry is torn down, so a crash never blocks a name.
state_reclaim() {
	if [ ! -f "$UNSHARED_STATE/$1/pid" ] || state_alive "$UNSHARED_STATE/$1"; then
		die "name '$1' is in use (see 'unshared-cli list')"
	fi
	state_teardown "$UNSHARED_STATE/$1" || die "name '$1': stale instance could not be torn down"
}

# state_take NAME: claim NAME (sets $state), reclaiming a stale entry first
state_take() {
	state_base
	state=$UNSHARED_STATE/$1
	if ! mkdir -m 0700 "$state" 2>/dev/null; then
		[ -d "$state" ] || die "state directory $state: cannot create"
		state_reclaim "$1"
		mkdir -m 0700 "$state" 2>/dev/null || die "name '$1' is in use"
	fi
	# the front end exec's into forkn: this pid is the supervisor's for good
	proc_starttime $$ || die "cannot read /proc/$$/stat"
	printf '%s %s\n' $$ "$starttime" >"$state/pid"
}

# journal KIND ARG...: record a resource before acquiring it
journal() {
	printf '%s\n' "$*" >>"$state/journal"
}

# state_teardown DIR: undo the journal bottom-up. Idempotent: what is already
# gone counts as undone. Carries on past errors, reports what it could not undo,
# and removes DIR only when everything was undone (otherwise gc tries again).
state_teardown() {
	_dir=$1 _rev='' _failed=0
	[ -d "$_dir" ] || return 0
	if [ -f "$_dir/journal" ]; then
		while IFS= read -r _line; do _rev=$_line$nl$_rev; done <"$_dir/journal"
	fi
	while [ -n "$_rev" ]; do
		_line=${_rev%%"$nl"*}
		_rev=${_rev#*"$nl"}
		undo_entry "$_dir" "$_line" || {
			_failed=1
			warn "teardown of ${_dir##*/}: could not undo '$_line'"
		}
	done
	[ "$_failed" = 0 ] || return 1
	rm -f -- "$_dir/journal" "$_dir/pid" "$_dir/cmdpid" "$_dir/info" "$_dir/log" "$_dir"/hook.* 2>/dev/null
	rmdir -- "$_dir" 2>/dev/null || [ ! -d "$_dir" ]
}

# undo_entry DIR LINE: one journal entry. Modules add kinds by defining undo_KIND.
undo_entry() {
	# shellcheck disable=SC2086 # journal lines are words we wrote ourselves
	set -f; set -- "$1" $2; set +f
	_kind=$2
	case $_kind in
	hook) run_hook "$1/$3" ;;
	netns | veth | lease | hosts | bridge)
		[ -n "${net_loaded:-}" ] || . "$UNSHARED_LIB/net.sh"
		_d=$1; shift 2
		"undo_$_kind" "$_d" "$@" ;;
	*) warn "unknown journal entry '$_kind'"; return 1 ;;
	esac
}

# run_hook FILE: shell code the user wrote; our values reach it through the
# environment (state_env), never pasted into the code
run_hook() {
	[ -f "$1" ] || return 0
	/bin/sh "$1"
}

# state_env DIR: export the instance's values for hooks (NAME ROOT NETNS ADDR BRIDGE PID)
state_env() {
	[ -f "$1/info" ] || return 0
	while IFS='=' read -r _k _v; do
		case $_k in
		name) NAME=$_v ;; root) ROOT=$_v ;; netns) NETNS=$_v ;;
		addr) ADDR=$_v ;; bridge) BRIDGE=$_v ;;
		esac
	done <"$1/info"
	read -r PID _ <"$1/pid" 2>/dev/null || PID=
	export NAME ROOT NETNS ADDR BRIDGE PID
}
