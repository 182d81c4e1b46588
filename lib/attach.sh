# lib/attach.sh: run a command inside a running instance.

usage() {
	cat <<'EOF'
Usage: unshared-cli attach NAME [--] [COMMAND [ARG...]]
       unshared-cli attach NETNS COMMAND [ARG...]      (seed form)

Enter every namespace of instance NAME (mount, pid, net, uts, ipc, cgroup) and
its root and working directory, and run COMMAND there (default: $SHELL -i, or
/bin/sh -i when the root has no $SHELL). The command joins the instance's
cgroup too, so stopping the instance ends it.

Seed form: when NETNS is not an instance but a network namespace known to
`ip netns`, run COMMAND in that network namespace only (ip netns exec).

Exit status: COMMAND's; 125 if unshared-cli failed (no such instance, not
running); 126/127 if COMMAND could not be executed or found.
EOF
}

cmd_main() {
	[ $# -gt 0 ] || die "missing instance name (see 'unshared-cli attach --help')"
	a_name=$1
	shift
	case $a_name in -*) die "unknown option '$a_name' (see 'unshared-cli attach --help')" ;; esac
	a_dd=''
	if [ "${1:-}" = -- ]; then
		a_dd=1
		shift
	fi
	. "$UNSHARED_LIB/state.sh"
	# neither an instance nor an `ip netns` name may hold a '/' or be . or ..
	case $a_name in
	*/* | . | .. | '') check_name name "$a_name" ;;
	esac
	a_dir=$UNSHARED_STATE/$a_name
	if [ ! -d "$a_dir" ]; then
		# the seed form: an `ip netns` name and a command, no --
		if [ -z "$a_dd" ] && [ $# -gt 0 ] && [ -e "/run/netns/$a_name" ]; then
			host_tool ip
			exec "$tool" netns exec "$a_name" "$@"
		fi
		check_name name "$a_name"
		die "no instance '$a_name' (see 'unshared-cli list')"
	fi
	state_cmd "$a_dir" || case $st in
	stale) die "instance '$a_name' is not running (its supervisor died: see 'unshared-cli gc')" ;;
	*) die "instance '$a_name' is not running yet (still starting)" ;;
	esac
	if [ $# -eq 0 ]; then
		a_sh=${SHELL:-/bin/sh}
		case $a_sh in /*) ;; *) a_sh=/bin/sh ;; esac
		# the instance's root as the host sees it: the command's /proc/PID/root
		[ -x "/proc/$cmd_pid/root$a_sh" ] || a_sh=/bin/sh
		set -- "$a_sh" -i
	fi
	# join the instance's cgroup (when it has one): what we run ends with it
	if read -r a_cg 2>/dev/null <"$a_dir/cgroup" && [ -f "$a_cg/cgroup.procs" ]; then
		{ printf '%s\n' $$ >"$a_cg/cgroup.procs"; } 2>/dev/null || verbose "cannot join cgroup $a_cg"
	fi
	# every namespace that differs from ours, compared by inode (-ef, no fork):
	# nsenter --all would also re-enter the ones we share, and a rootless
	# caller, once in its own user namespace, may not setns(2) into the host's
	# cgroup or time namespace. --root/--wd: the command's root and working
	# directory. With a pid namespace nsenter forks, so the command is inside it.
	set -- --root --wd -- "$@"
	for a_ns in time cgroup ipc uts net pid mount user; do
		a_f=/proc/$cmd_pid/ns/${a_ns%ount}nt
		[ "$a_ns" = mount ] || a_f=/proc/$cmd_pid/ns/$a_ns
		# shellcheck disable=SC3013
		[ ! -e "$a_f" ] || [ "$a_f" -ef "/proc/$$/ns/${a_f##*/}" ] || set -- "--$a_ns" "$@"
	done
	# a user namespace mapped without privilege refuses setgroups(2), which
	# nsenter calls to become its root: keep our ids (they are its root's)
	a_sg=''
	read -r a_sg 2>/dev/null <"/proc/$cmd_pid/setgroups" || :
	[ "$a_sg" != deny ] || set -- --preserve-credentials "$@"
	host_tool nsenter
	exec "$tool" --target "$cmd_pid" "$@"
}
