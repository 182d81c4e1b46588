# lib/logs.sh: the output of a detached instance.

usage() {
	cat <<'EOF2'
Usage: unshared-cli logs [-f|--follow] NAME

Print the output (stdout and stderr) of instance NAME, started with --detach.
With -f, keep printing what it writes until the instance is gone.
EOF2
}

cmd_main() {
	o_follow='' o_name=''
	for _a in "$@"; do
		case $_a in
		-f | --follow) o_follow=1 ;;
		-*) die "unknown option '$_a' (see 'unshared-cli logs --help')" ;;
		*) [ -z "$o_name" ] || die "one instance at a time"; o_name=$_a ;;
		esac
	done
	[ -n "$o_name" ] || die "missing instance name (see 'unshared-cli logs --help')"
	check_name name "$o_name"
	. "$UNSHARED_LIB/state.sh"
	o_dir=$UNSHARED_STATE/$o_name
	[ -d "$o_dir" ] || die "no instance '$o_name' (see 'unshared-cli list')"
	{ command exec 3<"$o_dir/log"; } 2>/dev/null ||
		die "$o_name: no log (only instances started with --detach keep one)"
	[ -n "$o_follow" ] || exec cat <&3
	# fd 3 keeps the log open, so its offset moves on with each cat and what
	# was written last is still read after teardown has removed the file.
	# The pid file is read again each round: a detached spawn replaces the
	# front end's pid with the supervisor's.
	while :; do
		cat <&3
		state_status "$o_dir"
		if [ ! -d "$o_dir" ] || [ "$st" = stale ]; then
			break
		fi
		sleep 0.2
	done
	exec cat <&3
}
