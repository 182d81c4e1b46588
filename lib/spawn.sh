# lib/spawn.sh: spawn a command in new namespaces, inside a root, supervised.
#
# argv -> plan -> helper argv. The helper argv is built in "$@" itself (the only
# list POSIX sh has): each option's mount operation is appended as it is parsed,
# the command words stay at the front until they are rotated to the end, and the
# helpers' own options are prepended last. Nothing on this path forks until
# `exec forkn`, except nsnet up for --bridge and forkn --detach's wait.
#
# What is seldom needed is sourced only when it is (the parse of every line
# sourced costs time on each spawn, ~18 us per KB here): lib/spawn/opts.sh
# (the options seldom given), lib/spawn/ids.sh (--uid-map, --cap-*,
# --setuid...), lib/spawn/detach.sh (--detach), lib/spawn/host.sh (hooks,
# shaping, image roots; --ready), lib/spawn/usage.txt (--help).

# the help text is read only when asked for
usage() {
	while IFS= read -r _l; do printf '%s\n' "$_l"; done <"$UNSHARED_LIB/spawn/usage.txt"
}

cmd_main() {
	ns_uts='' ns_ipc='' ns_net='' ns_pid='' ns_user='' ns_cgroup=''
	pids_max=''
	name='' root='' hostname='' chdir='' detach='' bridge='' addr='' defaults=1 ro_root=''
	ephemeral='' overlay_dir='' pre_hooks='' post_hooks='' exec_hooks='' prechroot='' chroot_wrap=''
	ready='' ready_to=30 shaping=''
	map_root='' map_auto='' uid_map='' gid_map='' set_uid='' set_gid='' set_groups='' groups_given=''
	cap_drop='' cap_add='' seccomp='' squash='' opts=''
	n=$#
	while [ "$n" -gt 0 ]; do
		case $1 in
		--) shift; n=$((n - 1)); break ;;
		--*=*) # --opt=value: split in place
			a=$1; shift; set -- "${a%%=*}" "${a#*=}" "$@"; n=$((n + 1)); continue ;;
		-?*) ;;
		*) break ;;
		esac
		a=$1; shift; n=$((n - 1))
		case $a in
		-m | --mount) ;;
		-u | --uts) ns_uts=1 ;;
		-i | --ipc) ns_ipc=1 ;;
		-n | --net) ns_net=1 ;;
		-p | --pid) ns_pid=1 ;;
		-U | --user) ns_user=1 ;;
		-r | --map-root-user) ns_user=1 map_root=1 ;;
		--map-auto) ns_user=1 map_auto=1 ;;
		-C | --cgroup) ns_cgroup=1 ;;
		-f | --fork | -d | --detach) detach=1 ;;
		--read-only) ro_root=1; set -- "$@" --read-only ;;
		--ephemeral) ephemeral=1 ;;
		--no-default-mounts) defaults= ;;
		--name | --root | --hostname | --chdir | --bridge | --addr | --overlay-dir | --pids-max)
			need_value "$a" 1 "$n" "${1-}"
			case $a in
			--name) name=$1 ;; --root) root=$1 ;; --hostname) hostname=$1 ;;
			--chdir) check_dst "$a" "$1"; chdir=$1 ;; --bridge) bridge=$1 ;; --addr) addr=$1 ;;
			--overlay-dir) absolute "$1"; overlay_dir=$abs ;;
			--pids-max)
				case $1 in *[!0-9]* | 0*) die "--pids-max '$1': a number of tasks from 1" ;; esac
				pids_max=$1 ;;
			esac
			shift; n=$((n - 1)) ;;
		--data-dir)
			need_value "$a" 1 "$n" "${1-}"
			data_dir "$1"
			shift; n=$((n - 1))
			set -- "$@" --data-dir "$abs:$dst$mode" ;;
		--tmpfs | --proc | --dev | --mqueue | --remount-ro)
			need_value "$a" 1 "$n" "${1-}"
			check_dst "$a" "$1"
			set -- "$@" "$a" "$1"; shift; n=$((n - 1)) ;;
		--bind | --ro-bind | --dev-bind | --squash)
			need_value "$a" 2 "$n" "${1-}"
			[ "$a" != --squash ] || squash=1
			check_src "$a" "$1"; check_dst "$a" "$2"
			set -- "$@" "$a" "$abs" "$2"; shift 2; n=$((n - 2)) ;;
		*)
			# the options seldom given, and the unknown option's error
			. "$UNSHARED_LIB/spawn/opts.sh" ;;
		esac
	done
	plan_check
	# the command: rotate its n words from the front to the end, after ROOT --
	set -- "$@" "$newroot" --
	[ -z "$chroot_wrap" ] || set -- "$@" /bin/sh -c "$chroot_wrap \"\$@\"" unshared-cli-chroot "$root_dir"
	[ -z "$exec_hooks" ] || set -- "$@" /bin/sh -c "$exec_hooks"'[ $# -eq 0 ] || exec "$@"' unshared-cli-exec
	[ "$n" -gt 0 ] || [ -n "$exec_hooks" ] || set -- "$@" "$login_shell" -i
	cmd_line=
	while [ "$n" -gt 0 ]; do
		cmd_line=$cmd_line${cmd_line:+ }$1
		set -- "$@" "$1"; shift; n=$((n - 1))
	done
	# pivot's own options, prepended (order among them does not matter)
	[ -z "$seccomp" ] || set -- --seccomp "$seccomp" "$@"
	[ -z "$cap_add" ] || set -- --cap-add "$cap_add" "$@"
	[ -z "$cap_drop" ] || set -- --cap-drop "$cap_drop" "$@"
	[ -z "$groups_given" ] || set -- --groups "$gids" "$@"
	[ -z "$set_gid" ] || set -- --setgid "$gid" "$@"
	[ -z "$set_uid" ] || set -- --setuid "$uid" "$@"
	[ -z "$prechroot" ] || set -- --prechroot "$prechroot" "$@"
	[ -z "$chdir" ] || set -- --chdir "$chdir" "$@"
	[ -z "$ephemeral" ] || set -- --ephemeral "$@"
	[ -z "$root_image" ] || set -- --root-image "$root_image" "$@"
	[ -z "$overlay_dir" ] || set -- --overlay-dir "$overlay_dir" "$@"
	[ -z "$fresh_proc" ] || set -- --proc /proc "$@"
	[ -z "$defaults" ] || set -- --default-mounts "$@"
	[ -z "$hostname" ] || set -- --hostname "$hostname" "$@"
	# --pid: the init starts in the command's new mount namespace and follows
	# its pivot_root (one mount namespace to make and to end, not two)
	mount_ns=
	[ -z "$ns_pid" ] || [ "$newroot" = / ] || { mount_ns=1; set -- --mount-ns-made "$@"; }
	[ -z "$ns_uts" ] || set -- --unshare-uts "$@"
	[ -z "$ns_ipc" ] || set -- --unshare-ipc "$@"
	[ -z "$ns_cgroup" ] || set -- --unshare-cgroup "$@"
	[ -z "$ns_net" ] || [ -n "$bridge" ] || set -- --unshare-net "$@"
	[ -z "$bridge" ] || [ "$newroot" = / ] || set -- --ro-bind "$hosts_file" /etc/hosts "$@"
	# first, where plan_lean looks for it
	[ -z "$bridge" ] || set -- --netns "/run/netns/$name" "$@"
	set -- "$UNSHARED_UTILS/pivot" "$@"
	plan_run "$@"
}

# data_dir SPEC: SRC:DST[:ro|:rw] -> $abs (absolute SRC), $dst, $mode (":ro" or "")
data_dir() {
	mode=
	case $1 in
	*:ro) mode=:ro; _spec=${1%:ro} ;;
	*:rw) _spec=${1%:rw} ;;
	*) _spec=$1 ;;
	esac
	case $_spec in
	*:*) ;;
	*) die "--data-dir '$1': expected SRC:DST[:ro|:rw]" ;;
	esac
	dst=${_spec#*:}
	check_src --data-dir "${_spec%%:*}"
	check_dst --data-dir "$dst"
}

# check_src OPTION PATH: a host path that must exist; sets $abs
check_src() {
	[ -n "$2" ] || die "$1: empty source path"
	no_newline "$1" "$2"
	absolute "$2"
	[ -e "$abs" ] || die "$1 '$2': no such file or directory"
}

# check_dst OPTION PATH: a destination inside the root
check_dst() {
	case $2 in
	/*) ;;
	'') die "$1: empty destination" ;;
	*) die "$1 '$2': the destination must be an absolute path inside the root" ;;
	esac
	no_newline "$1" "$2"
}

# plan_check: everything the options imply, checked before anything is made
plan_check() {
	[ -x "$UNSHARED_UTILS/forkn" ] && [ -x "$UNSHARED_UTILS/pivot" ] ||
		die "helpers not built in $UNSHARED_UTILS: run 'make'"
	# root owns /: one stat tells root from the rest, /proc/self/status only then
	if [ -O / ]; then
		euid=0
	else
		self_ids || die "cannot read the caller's uid from /proc/self/status"
		[ "$euid" = 0 ] || { [ -n "${ids_loaded:-}" ] || . "$UNSHARED_LIB/spawn/ids.sh"; plan_rootless; }
	fi
	[ -z "$hostname" ] || ns_uts=1
	# a cgroup holds what leaves the process tree (setsid, double forks) after a
	# SIGKILLed supervisor; a pid namespace already dies whole with its init,
	# so it needs one only for --pids-max (each cgroup costs ~0.15 ms)
	cgroup=''
	[ -n "$name" ] || name=u-$$
	[ -n "$ns_pid" ] && [ -z "$pids_max" ] || cgroup=unshared-$name
	check_name name "$name"
	root_dir=/ newroot=/ root_image=''
	if [ -n "$root" ]; then
		root_path "$root"
		no_newline --root "$root_dir"
		if [ -d "$root_dir" ]; then
			[ "$root_dir" = / ] || newroot=$root_dir
		else
			# an image, or nothing: lib/spawn/host.sh (image roots take the host path)
			. "$UNSHARED_LIB/spawn/host.sh"
			root_image_check
		fi
	fi
	# --chroot brings its own way into the root: we only make the namespaces
	if [ -n "$chroot_wrap" ]; then newroot=/ defaults=; fi
	[ "$newroot" != / ] || defaults=
	[ -z "$ephemeral$overlay_dir" ] || [ "$newroot" != / ] || die "--ephemeral, --overlay-dir: need --root"
	fresh_proc=
	if [ -n "$ns_pid" ] && [ -z "$defaults" ] && [ -d "${newroot%/}/proc" ]; then fresh_proc=1; fi
	login_shell=${SHELL:-/bin/sh}
	[ -x "${newroot%/}$login_shell" ] || login_shell=/bin/sh
	if [ -n "$bridge$addr" ]; then
		[ -n "$bridge" ] || die "--addr: needs --bridge"
		ns_net=1
		if [ -n "$pre_hooks$post_hooks$shaping$root_image" ]; then
			. "$UNSHARED_LIB/net.sh"
			net_check
		else
			# the lean path: nsnet up checks the rest, before it makes
			# anything (lib/net.sh's rules and words)
			check_ifname --bridge "$bridge"
			[ -n "$addr" ] || addr=auto
			no_newline --addr "$addr"
			[ -x "$UNSHARED_UTILS/nsnet" ] || die "helpers not built in $UNSHARED_UTILS: run 'make'"
			hosts_file=$UNSHARED_STATE/.net/$bridge/hosts
		fi
	fi
	# the instance's netns belongs to the host's user namespace: a process
	# inside a new one may not setns(2) into it (forkn would have to clone the
	# child there first)
	[ -z "$ns_user" ] || [ -z "$bridge" ] ||
		die "--user with --bridge: not supported yet (the bridge's network namespace is the host user namespace's, which a new one cannot join)"
	# what the options seldom given imply (lib/spawn/opts.sh defined it)
	[ -z "$opts" ] || opts_check
}

# plan_run PIVOT-ARGV...: take the name, do the host-side steps, exec the supervisor
plan_run() {
	NAME=$name ROOT=$root_dir NETNS='' ADDR='' BRIDGE=$bridge
	# no step of the shell's own on the host (a hook, shaping, an image to
	# mount): the helpers take the name and give it back, no sh at the end
	[ -n "$pre_hooks$post_hooks$shaping$root_image" ] || plan_lean "$@"
	. "$UNSHARED_LIB/spawn/host.sh"
	plan_host "$@"
}

# plan_lean PIVOT-ARGV...: the lean path. forkn takes the name (mkdir, or an
# empty directory renamed out of the trash) or,
# with --bridge, nsnet up does (in the one process that makes the network;
# with --ready and no --bridge, this shell does),
# forkn's cleanup is `nsnet down` itself and forkn removes the state and
# logs the events. It forks nothing but forkn --detach: in the foreground,
# with --bridge, this shell becomes nsnet up, which becomes forkn. What only
# --detach does is in lib/spawn/detach.sh.
plan_lean() {
	state_base
	state=$UNSHARED_STATE/$name
	[ ! -e "$state" ] || { . "$UNSHARED_LIB/state.sh"; state_reclaim "$name"; }
	_own=--new-state
	[ -z "$bridge" ] || NETNS=$name _own=--adopt-state
	[ -z "$detach" ] || { . "$UNSHARED_LIB/spawn/detach.sh"; detach_setup; }
	# (in the foreground, nsnet up tells forkn the address: info's addr= is filled in)
	plan_info
	# fd 3: with --detach, pivot closes it at the exec of the command (forkn
	# --detach waits for that). In the foreground with --bridge, nsnet up's
	# child makes the namespace while pivot sets the root up, and sends it
	# through fd 3 (forkn passes it on: --keep-fd) instead of pivot's
	# `--netns PATH`, its first two arguments (plan)
	_fd3=
	if [ -n "$detach" ]; then
		_pivot=$1; shift
		set -- "$_pivot" --exec-fd 3 "$@"
	elif [ -n "$bridge" ]; then
		_pivot=$1; shift 3
		set -- "$_pivot" --netns-from 3 "$@"
		_fd3=3
	fi
	set -- --state "$state" "$_own" ${_fd3:+--keep-fd "$_fd3"} --trash "$UNSHARED_STATE/.trash" --info "$info" \
		--events "$UNSHARED_STATE/.events" ${ns_pid:+--pid} ${mount_ns:+--mount-ns} \
		${ns_user:+--user} ${map_root:+--map-root-user} ${map_auto:+--map-auto} \
		${uid_map:+--uid-map "$uid_map"} ${gid_map:+--gid-map "$gid_map"} \
		${cgroup:+--cgroup "$cgroup"} ${pids_max:+--pids-max "$pids_max"} -- "$@"
	if [ -n "$bridge" ]; then
		# `net partition` and `net set` may add entries of their own to the
		# journal: nsnet then hands it all to the sh teardown
		set -- --cleanup-exec "$UNSHARED_UTILS/nsnet" --cleanup-arg down --cleanup-arg --net-dir \
			--cleanup-arg "$UNSHARED_STATE/.net" --cleanup-arg --journal --cleanup-arg "$state/journal" \
			--cleanup-arg /bin/sh --cleanup-arg "$UNSHARED_SELF" --cleanup-arg _teardown --cleanup-arg "$state" "$@"
	fi
	[ -z "$detach" ] || detach_run "$@"
	[ -z "$bridge" ] || lean_net_up --netns-to 3 --exec "$UNSHARED_UTILS/forkn" "$@"
	exec "$UNSHARED_UTILS/forkn" "$@"
}

# lean_net_up [--netns-to N] [--exec PROG ARG...]: this shell becomes nsnet
# up for the instance (it takes the name and makes the network)
lean_net_up() {
	_nto=
	[ "${1:-}" != --netns-to ] || { _nto=$2; shift 2; }
	exec "$UNSHARED_UTILS/nsnet" up ${UNSHARED_SUB:+--as} ${UNSHARED_SUB:+"$UNSHARED_SUB"} \
		--net-dir "$UNSHARED_STATE/.net" --new-state "$state" --trash "$UNSHARED_STATE/.trash" --owner $$ \
		--veth "uc$$" ${_nto:+--netns-to "$_nto"} "$bridge" "$name" "$addr" "$@"
}

# plan_info -> $info: the plan as KEY=VALUE lines, for list and for hooks run at
# teardown (built by expansion: a $(...) here would fork on the hot path)
plan_info() {
	info="name=$name${nl}root=$root_dir${nl}cmd=${cmd_line%%"$nl"*}$nl"
	info="${info}ns=mnt${ns_uts:+,uts}${ns_ipc:+,ipc}${ns_net:+,net}${ns_pid:+,pid}${ns_cgroup:+,cgroup}${ns_user:+,user}$nl"
	info="${info}bridge=$bridge${nl}addr=$ADDR${nl}netns=$NETNS$nl"
}
