# lib/gc.sh: reclaim the instances whose supervisor died (SIGKILL, OOM kill).
#
# For each stale entry: end what the instance left running (its cgroup, its
# named network namespace; a pid namespace died with its init), then replay
# its journal (lib/state.sh: state_reap). Entries of live supervisors and
# spawns in progress are never touched, so gc may run at any time. Then what
# no journal names any more: empty instance cgroups, cuts and loss rules of
# interfaces that are gone (lib/fault.sh: fault_sweep), .trash.

usage() {
	cat <<'EOF2'
Usage: unshared-cli gc

Tear down every instance whose supervisor is gone, with what it left running,
and print one line per instance reclaimed. Running instances and spawns in
progress are left alone; an entry that never got past its first step (no pid
file) is reclaimed once it is a minute old, and so is an instance cgroup left
empty (its entry deleted by hand). Partition cuts and loss rules that name an
interface which is gone (their journal lost with its entry) are removed, and
so are the emptied directories in the registry's .trash and the registry of a
bridge deleted by hand (no lease left, a minute old). Running gc again does
nothing.

Exit status: 0, or 125 when some teardown could not finish (gc tries again).
EOF2
}

cmd_main() {
	[ $# -eq 0 ] || die "unexpected argument '$1' (see 'unshared-cli gc --help')"
	. "$UNSHARED_LIB/state.sh"
	g_rc=0
	for g_dir in "$UNSHARED_STATE"/*; do
		[ -d "$g_dir" ] && [ ! -L "$g_dir" ] || continue
		state_status "$g_dir"
		g_how=''
		if [ "$st" = stale ]; then
			g_how="supervisor $st_pid died"
		elif [ -z "$st_pid" ] && [ -n "$(find "$g_dir" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
			# its spawn died between mkdir and the pid write, a minute ago or more
			g_how="abandoned during setup"
		else
			continue
		fi
		if state_reap "$g_dir" ${g_how:+abandoned}; then
			[ "$reaped_procs" = 0 ] || g_how="$g_how; ended $reaped_procs process(es)"
			printf 'reclaimed %s (%s)\n' "${g_dir##*/}" "$g_how"
		else
			case $? in
			2) ;; # came alive: a new spawn took the name meanwhile
			*) warn "${g_dir##*/}: teardown could not finish"; g_rc=125 ;;
			esac
		fi
	done
	# emptied state directories that forkn --trash moved aside (rmdir only:
	# one that is not empty stays, and says so)
	for g_dir in "$UNSHARED_STATE"/.trash/*; do
		[ -d "$g_dir" ] && [ ! -L "$g_dir" ] || continue
		rmdir -- "$g_dir" 2>/dev/null || warn "${g_dir#"$UNSHARED_STATE"/}: not empty, left alone"
	done
	gc_cgroups
	gc_registries
	. "$UNSHARED_LIB/fault.sh"
	fault_sweep || warn "the nftables table bridge unshared is busy: not swept"
	return "$g_rc"
}

# gc_registries: the per-bridge registry (.net/BRIDGE: lock, hosts, bridge) of
# a bridge that is gone (deleted by hand: the tool never deletes a bridge),
# with no lease left in it, untouched for a minute (a spawn making that
# bridge right now has just made it), under the bridge's lock
gc_registries() {
	host_tool flock
	for g_dir in "$UNSHARED_STATE"/.net/*; do
		[ -d "$g_dir" ] && [ ! -L "$g_dir" ] || continue
		[ ! -e "/sys/class/net/${g_dir##*/}" ] || continue
		[ -n "$(find "$g_dir" -maxdepth 0 -mmin +1 2>/dev/null)" ] || continue
		g_lease=''
		if [ -f "$g_dir/hosts" ]; then
			while IFS= read -r _l; do
				case $_l in '' | '#'* | '127.0.0.1'* | '::1'*) ;; *) g_lease=1 ;; esac
			done <"$g_dir/hosts"
		fi
		[ -z "$g_lease" ] || continue
		{ command exec 8>>"$g_dir/lock"; } 2>/dev/null || continue
		if "$tool" -n 8 && [ ! -e "/sys/class/net/${g_dir##*/}" ]; then
			rm -f -- "$g_dir/hosts" "$g_dir/bridge" "$g_dir/.bridge.tmp" "$g_dir/lock" &&
				rmdir -- "$g_dir" 2>/dev/null &&
				printf 'removed the registry of bridge %s (gone)\n' "${g_dir##*/}"
		fi
		exec 8>&-
	done
}

# gc_cgroups: remove the empty instance cgroups nobody will remove any more
# (their entry was deleted by hand, or its teardown was killed), a minute old
# or more, below the unified root and below our own cgroup. An empty one is
# never in use: a supervisor sits in its instance's cgroup from the start, and
# a spawn that loses a cgroup it has just made runs without one.
gc_cgroups() {
	cgroup_v2 || return 0
	g_own=''
	while IFS= read -r _l; do
		case $_l in 0::/*) g_own=${_l#0::} ;; esac
	done <"/proc/$$/cgroup"
	for g_cg in "$cg_mnt"/unshared-*.[0-9]* "$cg_mnt${g_own%/}"/unshared-*.[0-9]*; do
		[ -f "$g_cg/cgroup.events" ] || continue
		_pop=''
		while IFS=' ' read -r _k _v; do
			[ "$_k" != populated ] || _pop=$_v
		done 2>/dev/null <"$g_cg/cgroup.events"
		[ "$_pop" = 0 ] && [ -n "$(find "$g_cg" -maxdepth 0 -mmin +1 2>/dev/null)" ] || continue
		rmdir "$g_cg" 2>/dev/null && printf 'removed empty cgroup %s\n' "$g_cg"
	done
	return 0
}
