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
#     cgroup   path of the instance's cgroup (v2), written BEFORE it is made; the
#              command and all it forks stay in it whatever they do (setsid,
#              double fork), so gc finds them after the supervisor was SIGKILLed
#     log      output of a detached instance
#
# An entry is "running" (live supervisor, command known), "starting" (no pid
# file yet, or no command yet) or "stale" (the supervisor is dead). Only stale
# entries are ever reclaimed, and only under flock(2) on the entry's directory,
# so that two reclaimers (gc, list, stop, a spawn wanting the name) never tear
# one entry down twice nor touch a new entry that took the name meanwhile.

# proc_stat PID: fields 3, 4 and 22 of /proc/PID/stat, into $pstate, $ppid and
# $starttime (no fork). The command name (field 2) may hold spaces and ')', so
# cut after the last ')'.
proc_stat() {
	pstate='' ppid='' starttime=''
	read -r _stat 2>/dev/null <"/proc/$1/stat" || return 1
	_stat=${_stat##*) }
	set -f
	# shellcheck disable=SC2086 # split the fields on purpose; no globbing
	set -- $_stat
	set +f
	[ $# -ge 20 ] || return 1
	pstate=$1 ppid=$2
	shift 19
	starttime=$1
}

# proc_starttime PID: field 22 of /proc/PID/stat, into $starttime (no fork)
proc_starttime() {
	proc_stat "$1"
}

# proc_is PID STARTTIME: that very process still runs (a zombie has ended:
# a detached supervisor's parent is init, which may take its time to reap)
proc_is() {
	proc_stat "$1" && [ "$starttime" = "$2" ] && [ "$pstate" != Z ] && [ "$pstate" != X ]
}

# state_alive DIR: the supervisor recorded in DIR/pid still runs
state_alive() {
	read -r _pid _start 2>/dev/null <"$1/pid" || return 1
	proc_is "$_pid" "$_start"
}

# host_tool NAME: the absolute path of NAME in $PATH, into $tool (no fork).
# busybox ash runs its own applets for bare names (its `ip` has no netns, its
# `nsenter` no --all): a path is how to get the host's util-linux/iproute2.
host_tool() {
	tool=''
	_ifs=$IFS
	IFS=:
	set -f
	for _d in $PATH; do
		if [ -x "$_d/$1" ] && [ ! -d "$_d/$1" ]; then
			tool=$_d/$1
			break
		fi
	done
	set +f
	IFS=$_ifs
	[ -n "$tool" ] || die "$1: not found in $PATH"
}

# state_status DIR: what DIR's entry is, without forking. Sets $st (running,
# starting or stale), $st_pid and $st_start (the supervisor, empty when there is
# no pid file yet) and $st_cmdpid (empty until forkn has recorded the command).
# A missing, empty or unreadable pid file is "starting": its spawn is between
# mkdir and the pid write, and a spawn in progress must never be reclaimed.
state_status() {
	st=starting st_pid='' st_start='' st_cmdpid=''
	read -r st_pid st_start _ 2>/dev/null <"$1/pid" || [ -n "$st_start" ] || {
		st_pid='' st_start=''
		return 0
	}
	case $st_pid:$st_start in
	*[!0-9:]* | :* | *:) st_pid='' st_start=''; return 0 ;;
	esac
	read -r st_cmdpid _ 2>/dev/null <"$1/cmdpid" || [ -n "$st_cmdpid" ] || st_cmdpid=''
	case $st_cmdpid in *[!0-9]*) st_cmdpid='' ;; esac
	if proc_is "$st_pid" "$st_start"; then
		[ -z "$st_cmdpid" ] || st=running
	else
		st=stale
	fi
}

# state_info DIR: the plan in DIR/info into $i_name $i_root $i_cmd $i_ns
# $i_bridge $i_addr $i_netns (empty when unknown)
state_info() {
	i_name='' i_root='' i_cmd='' i_ns='' i_bridge='' i_addr='' i_netns=''
	[ -f "$1/info" ] || return 0
	while IFS= read -r _l || [ -n "$_l" ]; do
		case $_l in
		name=*) i_name=${_l#*=} ;; root=*) i_root=${_l#*=} ;; cmd=*) i_cmd=${_l#*=} ;;
		ns=*) i_ns=${_l#*=} ;; bridge=*) i_bridge=${_l#*=} ;; addr=*) i_addr=${_l#*=} ;;
		netns=*) i_netns=${_l#*=} ;;
		esac
	done 2>/dev/null <"$1/info"
}

# state_cmd DIR: the host pid of DIR's command into $cmd_pid, checked: a live
# child of the live supervisor (or, with --pid, of its init) that has entered
# its own mount namespace (pivot always makes one). A pid recorded by a
# supervisor that has gone, or reused meanwhile, is never returned.
state_cmd() {
	cmd_pid=''
	state_status "$1"
	[ -n "$st_cmdpid" ] && [ "$st" = running ] || return 1
	proc_stat "$st_cmdpid" || return 1
	if [ "$ppid" != "$st_pid" ]; then
		proc_stat "$ppid" && [ "$ppid" = "$st_pid" ] || return 1
	fi
	# -ef compares the namespace files' inodes: the namespace identity (not in
	# POSIX, but in dash, busybox ash and bash alike; readlink would fork)
	# shellcheck disable=SC3013
	[ ! "/proc/$st_cmdpid/ns/mnt" -ef "/proc/$$/ns/mnt" ] || return 1
	cmd_pid=$st_cmdpid
}

# state_reclaim NAME: NAME's entry exists. A live supervisor keeps it (in use);
# so does an entry without a pid file (its spawn is between mkdir and the pid
# write); a dead supervisor's entry is torn down, so a crash never blocks a name.
state_reclaim() {
	# an entry is a directory we made: a symlink is someone else's trap
	[ ! -L "$UNSHARED_STATE/$1" ] ||
		die "name '$1': $UNSHARED_STATE/$1 is a symbolic link, not an instance (remove it)"
	state_reap "$UNSHARED_STATE/$1" && return 0
	case $? in
	2) die "name '$1' is in use (see 'unshared-cli list')" ;;
	*) die "name '$1': stale instance could not be torn down" ;;
	esac
}

# state_reap DIR [abandoned]: tear down DIR if its supervisor is dead, after
# ending what the instance left running. With "abandoned", an entry that never
# got a pid file and is a minute old counts as dead too (its spawn died between
# mkdir and the pid write: a spawn in progress gets there in microseconds). Returns 0
# when DIR is gone (by us or meanwhile), 1 when teardown left something, 2 when
# DIR is not stale. Sets $reaped_procs: how many processes were ended.
#
# The flock on DIR itself (fd 8) serializes reclaimers of one entry; the second
# finds it gone, or finds a new entry (live or starting) under the same name
# and leaves it alone. The lock dies with the directory: no lock file to leak.
state_reap() {
	reaped_procs=0
	# never through a symlink: its target is not ours to tear down
	[ ! -L "$1" ] || return 2
	{ command exec 8<"$1"; } 2>/dev/null || return 0
	host_tool flock
	if ! "$tool" -w 60 8; then
		exec 8<&-
		warn "${1##*/}: busy (another teardown holds it)"
		return 1
	fi
	state_status "$1"
	if [ ! -d "$1" ]; then
		exec 8<&-
		return 0
	fi
	if [ "$st" != stale ] && { [ "${2:-}" != abandoned ] || [ -n "$st_pid" ] ||
		[ -z "$(find "$1" -maxdepth 0 -mmin +1 2>/dev/null)" ]; }; then
		exec 8<&-
		return 2
	fi
	state_kill_orphans "$1"
	NAME='' ROOT='' NETNS='' ADDR='' BRIDGE=''
	state_env "$1"
	_reap_rc=0
	state_teardown "$1" || _reap_rc=1
	exec 8<&-
	return "$_reap_rc"
}

# state_kill_orphans DIR: SIGKILL what a dead supervisor left: everything in
# the instance's cgroup (pid namespaces die with their init, so this is for the
# others) and anything still in its named network namespace.
state_kill_orphans() {
	_seen=' '
	if read -r _cg 2>/dev/null <"$1/cgroup" && [ -f "$_cg/cgroup.procs" ]; then
		while read -r _p; do
			_seen="$_seen$_p "
			reaped_procs=$((reaped_procs + 1))
		done 2>/dev/null <"$_cg/cgroup.procs"
		cgroup_kill "$_cg" || :
	fi
	state_info "$1"
	if [ -n "$i_netns" ] && [ -e "/run/netns/$i_netns" ]; then
		host_tool ip
		for _p in $("$tool" netns pids "$i_netns" 2>/dev/null); do
			kill -9 "$_p" 2>/dev/null || continue
			case $_seen in *" $_p "*) ;; *) reaped_procs=$((reaped_procs + 1)) ;; esac
		done
	fi
	return 0
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
	_dir=$1 _rev='' _failed=0 _ran=''
	[ ! -L "$_dir" ] || { warn "${_dir##*/}: a symbolic link, not an instance: left alone"; return 1; }
	[ -d "$_dir" ] || return 0
	# forkn recorded a command: its end goes to the event log (lib/ready.sh)
	[ ! -f "$_dir/cmdpid" ] || _ran=1
	# processes first: nothing of the instance may outlive its network or mounts
	if read -r _cg 2>/dev/null <"$_dir/cgroup"; then
		cgroup_end "$_cg" "$_dir" || {
			_failed=1
			warn "teardown of ${_dir##*/}: could not end cgroup $_cg"
		}
	fi
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
	if [ "$_failed" = 0 ]; then
		# an image root's mount point (empty: its mount died with the namespace)
	rmdir -- "$_dir/root" 2>/dev/null || :
	rm -f -- "$_dir/journal" "$_dir/pid" "$_dir/cmdpid" "$_dir/info" "$_dir/log" "$_dir/cgroup" \
			"$_dir"/hook.* "$_dir"/.*.tmp 2>/dev/null
		rmdir -- "$_dir" 2>/dev/null || [ ! -d "$_dir" ] || _failed=1
	fi
	# (forkn --events logs it itself, after this teardown: the lean path's
	# cleanup hands a journal with entries of `net` to this one)
	if [ -n "$_ran" ] && [ -z "${UNSHARED_FORKN_EVENTS:-}" ]; then
		[ -n "${ready_loaded:-}" ] || . "$UNSHARED_LIB/ready.sh"
		# status: the command's, from forkn (none when gc reclaims)
		_ran=''
		[ "$_failed" = 0 ] || _ran=1
		event exited "${_dir##*/}" status:="${UNSHARED_STATUS:-}" ${_ran:+teardown=incomplete}
		ev_rotate
	fi
	[ "$_failed" = 0 ]
}

# undo_entry DIR LINE: one journal entry. Modules add kinds by defining undo_KIND.
undo_entry() {
	set -f
	# shellcheck disable=SC2086 # journal lines are words we wrote ourselves
	set -- "$1" $2
	set +f
	_kind=$2
	case $_kind in
	hook)
		# user code, not a resource: a failure is reported, never retried
		# (gc would run a hook that fails every time at every pass, for ever)
		run_hook "$1/$3" || warn "--postexec hook failed (status $?)" ;;
	netns | veth | lease)
		[ -n "${net_loaded:-}" ] || . "$UNSHARED_LIB/net.sh"
		_d=$1; shift 2
		"undo_$_kind" "$_d" "$@" ;;
	shape | part)
		# shaping and partitions (spawn --delay..., net set, net partition)
		[ -n "${fault_loaded:-}" ] || . "$UNSHARED_LIB/fault.sh"
		_d=$1; shift 2
		"undo_$_kind" "$_d" "$@" ;;
	*) warn "unknown journal entry '$_kind'"; return 1 ;;
	esac
}

# run_hook FILE: shell code the user wrote; our values reach it through the
# environment (state_env), never pasted into the code
run_hook() {
	[ -f "$1" ] || return 0
	/bin/sh "$1" 8<&-
}

# cgroup_v2: where the unified hierarchy is mounted, into $cg_mnt (no fork):
# /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid). None: return 1.
cgroup_v2() {
	for cg_mnt in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ ! -f "$cg_mnt/cgroup.controllers" ] || return 0
	done
	cg_mnt=''
	return 1
}

# cgroup_kill CGROUP: SIGKILL every process in it, children cgroups included
cgroup_kill() {
	if [ -f "$1/cgroup.kill" ]; then
		{ printf '1\n' >"$1/cgroup.kill"; } 2>/dev/null && return 0
	fi
	# before Linux 5.14: one by one, until a round finds nobody (forks race us)
	_n=0
	while [ "$_n" -lt 50 ]; do
		_any=''
		for _f in "$1/cgroup.procs" "$1"/*/cgroup.procs; do
			[ -f "$_f" ] || continue
			while read -r _p; do _any=1; kill -9 "$_p" 2>/dev/null || :; done <"$_f"
		done
		[ -n "$_any" ] || return 0
		_n=$((_n + 1))
	done
	return 1
}

# cgroup_populated CGROUP -> $_pop: "0" once the cgroup has no process left
cgroup_populated() {
	_pop=''
	while IFS=' ' read -r _k _v; do
		[ "$_k" != populated ] || _pop=$_v
	done <"$1/cgroup.events"
}

# cgroup_end CGROUP DIR: end every process of the instance and remove its
# cgroup. forkn makes it and only its child is born in it: the supervisor and
# this teardown are never members.
cgroup_end() {
	_cg=$1
	[ -d "$_cg" ] || return 0
	cgroup_populated "$_cg"
	if [ "$_pop" != 0 ]; then
		cgroup_kill "$_cg" || return 1
		# SIGKILL is asynchronous: wait (up to ~5 s) until the cgroup is empty
		_n=0
		while [ "$_pop" != 0 ] && [ "$_n" -lt 100 ]; do
			sleep 0.05
			cgroup_populated "$_cg"
			_n=$((_n + 1))
		done
		[ "$_pop" = 0 ] || return 1
	fi
	# children cgroups (a nested instance's) go first; rmdir is how cgroups go
	rmdir "$_cg" 2>/dev/null && return 0
	find "$_cg" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
	rmdir "$_cg" 2>/dev/null || [ ! -d "$_cg" ]
}

# state_env DIR: export the instance's values for hooks (NAME ROOT NETNS ADDR BRIDGE PID)
state_env() {
	# the entry's name is its directory's, even before DIR/info is written
	NAME=${1##*/}
	export NAME
	[ -f "$1/info" ] || return 0
	while IFS='=' read -r _k _v; do
		case $_k in
		name) NAME=$_v ;; root) ROOT=$_v ;; netns) NETNS=$_v ;;
		addr) ADDR=$_v ;; bridge) BRIDGE=$_v ;;
		esac
	done <"$1/info"
	read -r PID _ 2>/dev/null <"$1/pid" || PID=
	export NAME ROOT NETNS ADDR BRIDGE PID
}
