# lib/spawn/host.sh: the host path of spawn, sourced by lib/spawn.sh only when
# the plan has a step of the shell's own on the host: a --preexec/--postexec
# hook, shaping (--delay ...), a squashfs root image to mount. The shell takes
# the name, journals each step, and forkn's cleanup is `unshared-cli
# _teardown`, which replays the journal (lib/state.sh). Also --ready's wait,
# shared with the lean path.

# root_image_check: --root names no directory (plan_check). A squashfs image (a
# file, or TYPE.squashfs when only the image was built) is mounted read-only
# on a directory of the instance's state; anything else is an error.
root_image_check() {
	if [ -f "$root_dir" ]; then
		root_image=$root_dir
	elif [ -f "$root_dir.squashfs" ]; then
		root_image=$root_dir.squashfs
	else
		case $root in
		/*) die "--root '$root': no such directory or image" ;;
		*) die "--root '$root': root type not built (run 'unshared-cli mkroot $root'; 'unshared-cli roots' lists the types)" ;;
		esac
	fi
	root_dir=$root_image newroot=$UNSHARED_STATE/$name/root
}

# plan_host PIVOT-ARGV...: take the name, do the host-side steps, exec the supervisor
plan_host() {
	. "$UNSHARED_LIB/state.sh"
	[ -n "${ready_loaded:-}" ] || . "$UNSHARED_LIB/ready.sh"
	state_take "$name"
	[ -z "$root_image" ] || mkdir "$state/root" || die "cannot make $state/root"
	trap 'state_teardown "$state"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	# info first: a teardown from any later point knows the instance's values
	plan_info
	printf '%s' "$info" >"$state/info"
	if [ -n "$pre_hooks$post_hooks" ]; then
		export NAME ROOT NETNS ADDR BRIDGE
	fi
	if [ -n "$post_hooks" ]; then
		# journaled first, so it runs last: after the network is gone
		printf '%s' "$post_hooks" >"$state/hook.post"
		journal hook hook.post
	fi
	if [ -n "$pre_hooks" ]; then
		/bin/sh -c "$pre_hooks" || die "--preexec failed (status $?)"
	fi
	if [ -n "$bridge" ]; then
		net_setup
		plan_info
		printf '%s' "$info" >"$state/info"
	fi
	if [ -n "$shaping" ]; then
		fault_target "$state" "$name"
		journal shape "$f_host" "$name"
		fault_apply "$state" "$name"
		fault_event "$name"
	fi
	if [ -n "$detach" ]; then
		# --detach returns once the command has really started: pivot closes
		# fd 3 at its exec of the command, or writes to it if it never will
		_pivot=$1; shift
		set -- "$_pivot" --exec-fd 3 "$@"
	fi
	# a cgroup holds the instance: forkn's child and all it forks, never the
	# hooks above, never the supervisor (gc ends what a killed one left)
	set -- --state "$state" --cleanup-exec /bin/sh --cleanup-arg "$UNSHARED_SELF" \
		--cleanup-arg _teardown --cleanup-arg "$state" ${ns_pid:+--pid} ${mount_ns:+--mount-ns} \
		${ns_user:+--user} ${map_root:+--map-root-user} ${map_auto:+--map-auto} \
		${uid_map:+--uid-map "$uid_map"} ${gid_map:+--gid-map "$gid_map"} \
		${cgroup:+--cgroup "$cgroup"} ${pids_max:+--pids-max "$pids_max"} -- "$@"
	if [ -n "$detach" ]; then
		# from here the instance is forkn's: a signal now must not make this
		# shell tear down what forkn runs (forkn resets these for itself)
		trap '' INT TERM HUP
		[ -z "$ready" ] || ready_log_open
		"$UNSHARED_UTILS/forkn" --detach --exec-fd 3 --log "$state/log" "$@" </dev/null || exit 125
		trap - EXIT
		read -r _sup _ 2>/dev/null <"$state/pid" || _sup=''
		event started "$name" pid:="$_sup" addr="$ADDR" bridge="$bridge"
		[ -z "$ready" ] || spawn_ready
		printf '%s\n' "$name"
		exit 0
	fi
	trap - EXIT INT TERM HUP
	event started "$name" pid:=$$ addr="$ADDR" bridge="$bridge"
	exec "$UNSHARED_UTILS/forkn" "$@"
}

# ready_log_open: --ready shows the last output of a command that ended
# first, even at once: its log is made and opened (fd 6) before forkn
# --detach appends to it, and its teardown removes the file (a command that
# exits at once was gone with it before spawn_ready could open it)
ready_log_open() {
	# (forkn would make it 0600; the front end's umask is 022)
	{ umask 077 && : >>"$state/log" && umask 022 && exec 6<"$state/log"; } || die "cannot open $state/log"
}

# spawn_ready: --ready, once the detached instance has started (its log on
# fd 6: ready_log_open). Not ready in time, or ended first: it is stopped,
# its last output shown, spawn exits 125.
spawn_ready() {
	trap 'spawn_unready interrupted; exit 130' INT
	trap 'spawn_unready interrupted; exit 143' TERM HUP
	_rc=0
	ready_wait "$state" "$name" "$ready" "$ready_cs" || _rc=$?
	trap - INT TERM HUP
	case $_rc in
	0) event ready "$name" cond="$ready"; exec 6<&-; return 0 ;;
	1) spawn_unready "not ready after ${ready_to}s ($ready)" ;;
	*) spawn_unready "ended before it was ready ($ready)" ;;
	esac
	exit 125
}

spawn_unready() {
	event failed "$name" reason="$1"
	/bin/sh "$UNSHARED_SELF" stop --timeout 5 -- "$name" >/dev/null 2>&1 6<&- || :
	warn "$name: $1; its last output:"
	tail -n 20 <&6 >&2 || :
}
