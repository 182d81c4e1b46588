# lib/spawn.sh: spawn a command in new namespaces, inside a root, supervised.
#
# argv -> plan -> helper argv. The helper argv is built in "$@" itself (the only
# list POSIX sh has): each option's mount operation is appended as it is parsed,
# the command words stay at the front until they are rotated to the end, and the
# helpers' own options are prepended last. Nothing on this path forks until
# `exec forkn`, unless the plan has host-side steps (network, hooks, --detach).

usage() {
	cat <<'EOF'
Usage: unshared-cli spawn [OPTIONS] [--] [COMMAND [ARG...]]

Run COMMAND (default: $SHELL -i) in new namespaces, supervised; tear everything
down when it ends and exit with its status.

Namespaces:
  -m, --mount   -u, --uts   -i, --ipc   -n, --net   -p, --pid   -U, --user   -C, --cgroup
                         (a mount namespace is always made: nothing is mounted on the host)
Instance:
  --name NAME            instance name (default u-PID); [A-Za-z0-9][A-Za-z0-9_.-]*, <= 64
  --root TYPE|PATH       root filesystem: a type built by mkroot, or a directory
  --hostname NAME        hostname inside (implies --uts)
  --chdir DIR            working directory inside the root
  --detach, --fork       run in the background, print the name, return once started
  --pids-max N           at most N tasks in the instance (a fork bomb hits this wall)
Mounts (in the order given; destinations are inside the root):
  --data-dir SRC:DST[:ro|:rw]   bind host SRC (directory or file) on DST
  --bind SRC DST   --ro-bind SRC DST   --dev-bind SRC DST
  --tmpfs DST   --proc DST   --dev DST   --mqueue DST   --remount-ro DST
  --overlay SRC DST WORKDIR   --squash IMAGE DST   --squash-overlay IMAGE DST WORKDIR
  --read-only            the root read-only
  --ephemeral            changes to the root vanish at exit (overlay on tmpfs)
  --overlay-dir DIR      changes to the root persist in DIR
  --no-default-mounts    no minimal /dev and /proc inside the root
Users and privileges (rootless: run as non-root with --user --map-root-user):
  -U, --user             a user namespace (default map: your own uid and gid)
  -r, --map-root-user    your uid and gid are 0 inside (implies --user)
  --uid-map MAP  --gid-map MAP
                         "INSIDE OUTSIDE COUNT[,...]" (imply --user)
  --map-auto             root inside plus your /etc/subuid, /etc/subgid ranges
  --setuid UID|NAME  --setgid GID|NAME  --groups LIST
                         the command's ids (names from the root's /etc/passwd, /etc/group)
  --cap-drop CAPS  --cap-add CAPS
                         the capabilities the command keeps; CAPS: all or NAME[,NAME...]
                         (no_new_privs is always set)
  --seccomp FILE         a seccomp BPF program (raw struct sock_filter array) for the command
Network:
  --bridge BR            a veth on host bridge BR (implies --net)
  --addr CIDR|auto       the instance's address on BR
  --delay T  --jitter T  --loss P  --rate R
                         shape what the instance sends on its bridge (100ms,
                         1%, 10mbit): see 'unshared-cli net --help'
Readiness (with --detach):
  --ready COND           return only once COND holds inside the instance:
                         tcp:PORT, file:/PATH or cmd:'shell code'
  --ready-timeout S      give up after S seconds (default 30): the instance is
                         stopped and spawn exits 125
Hooks (seed-era: the words up to the next --option form shell code; NAME, ROOT,
NETNS, ADDR, BRIDGE, PID reach it in the environment):
  --preexec CMD...       on the host, before setup      --postexec CMD...  on the host, after exit
  --prechroot CMD...     in the namespaces, before entering the root
  --exec CMD...          inside the root, in order, before COMMAND
  --chroot CMD...        custom entry wrapper, called as CMD... ROOT COMMAND...

Exit status: COMMAND's; 128+N if it died of signal N; 125 if unshared-cli failed;
126 if COMMAND could not be executed; 127 if it was not found.
EOF
}

cmd_main() {
	ns_uts='' ns_ipc='' ns_net='' ns_pid='' ns_user='' ns_cgroup=''
	pids_max=''
	name='' root='' hostname='' chdir='' detach='' bridge='' addr='' defaults=1 ro_root=''
	ephemeral='' overlay_dir='' pre_hooks='' post_hooks='' exec_hooks='' prechroot='' chroot_wrap=''
	ready='' ready_to=30 shaping=''
	map_root='' map_auto='' uid_map='' gid_map='' set_uid='' set_gid='' set_groups='' groups_given=''
	cap_drop='' cap_add='' seccomp='' squash=''
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
		--uid-map | --gid-map | --setuid | --setgid | --groups | --cap-drop | --cap-add | --seccomp)
			# --groups '' is meaningful: no supplementary group at all
			case $a in
			--groups) need_value "$a" 1 "$n" ;;
			*) need_value "$a" 1 "$n" "${1-}" ;;
			esac
			case $a in
			--uid-map) check_map "$a" "$1"; ns_user=1 uid_map=$1 ;;
			--gid-map) check_map "$a" "$1"; ns_user=1 gid_map=$1 ;;
			--setuid) set_uid=$1 ;; --setgid) set_gid=$1 ;; --groups) set_groups=$1 groups_given=1 ;;
			--cap-drop) check_caps "$a" "$1"; cap_drop=$cap_drop${cap_drop:+,}$caps ;;
			--cap-add) check_caps "$a" "$1"; cap_add=$cap_add${cap_add:+,}$caps ;;
			--seccomp) check_src "$a" "$1"; seccomp=$abs ;;
			esac
			shift; n=$((n - 1)) ;;
		--ready | --ready-timeout | --delay | --jitter | --loss | --rate)
			need_value "$a" 1 "$n" "${1-}"
			case $a in
			--ready) ready=$1 ;;
			--ready-timeout) ready_to=$1 ;;
			*)
				# lib/fault.sh checks the value now, applies it after net_setup
				[ -n "$shaping" ] || { . "$UNSHARED_LIB/fault.sh"; fault_reset; }
				fault_opt "$a" "$1"
				shaping=1 ;;
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
		--overlay | --squash-overlay)
			need_value "$a" 3 "$n" "${1-}"
			[ "$a" != --squash-overlay ] || squash=1
			check_src "$a" "$1"; check_dst "$a" "$2"; _src=$abs; absolute "$3"
			set -- "$@" "$a" "$_src" "$2" "$abs"; shift 3; n=$((n - 3)) ;;
		--preexec | --postexec | --exec | --prechroot | --chroot)
			# seed-era: the words up to the next --option are one piece of shell code
			w=
			while [ "$n" -gt 0 ]; do
				case $1 in --*) break ;; esac
				w=$w${w:+ }$1; shift; n=$((n - 1))
			done
			[ -n "$w" ] || die "$a: needs a command"
			case $a in
			--preexec) pre_hooks=$pre_hooks$w$nl ;;
			--postexec) post_hooks=$post_hooks$w$nl ;;
			--exec) exec_hooks=$exec_hooks$w$nl ;;
			--prechroot) prechroot=$prechroot$w$nl ;;
			--chroot) chroot_wrap=$w ;;
			esac ;;
		*) die "unknown option '$a' (see 'unshared-cli spawn --help')" ;;
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
	[ -z "$ns_uts" ] || set -- --unshare-uts "$@"
	[ -z "$ns_ipc" ] || set -- --unshare-ipc "$@"
	[ -z "$ns_cgroup" ] || set -- --unshare-cgroup "$@"
	[ -z "$ns_net" ] || [ -n "$bridge" ] || set -- --unshare-net "$@"
	[ -z "$bridge" ] || set -- --netns "/run/netns/$name" "$@"
	[ -z "$bridge" ] || [ "$newroot" = / ] || set -- --ro-bind "$hosts_file" /etc/hosts "$@"
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

# check_map OPTION MAP: the characters of "INSIDE OUTSIDE COUNT[,...]"
# (forkn checks the rest: the numbers, the ranges)
check_map() {
	case $2 in
	*[!0-9\ ,]*) die "$1 '$2': expected INSIDE OUTSIDE COUNT[,INSIDE OUTSIDE COUNT...]" ;;
	esac
}

# capability names (capabilities(7), without CAP_): checked here, so that bad
# input stops before anything is made; pivot turns them into numbers
cap_names=,ALL,CHOWN,DAC_OVERRIDE,DAC_READ_SEARCH,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,LINUX_IMMUTABLE,
cap_names=${cap_names}NET_BIND_SERVICE,NET_BROADCAST,NET_ADMIN,NET_RAW,IPC_LOCK,IPC_OWNER,SYS_MODULE,SYS_RAWIO,
cap_names=${cap_names}SYS_CHROOT,SYS_PTRACE,SYS_PACCT,SYS_ADMIN,SYS_BOOT,SYS_NICE,SYS_RESOURCE,SYS_TIME,
cap_names=${cap_names}SYS_TTY_CONFIG,MKNOD,LEASE,AUDIT_WRITE,AUDIT_CONTROL,SETFCAP,MAC_OVERRIDE,MAC_ADMIN,SYSLOG,
cap_names=${cap_names}WAKE_ALARM,BLOCK_SUSPEND,AUDIT_READ,PERFMON,BPF,CHECKPOINT_RESTORE,

# check_caps OPTION LIST: NAME[,NAME...], any case, CAP_ optional -> $caps
# (upper case, no CAP_). Only lower-case input costs a fork (tr).
check_caps() {
	caps=''
	case $2 in
	'' | *[!A-Za-z0-9_,]* | ,* | *, | *,,*) die "$1 '$2': expected all or CAP[,CAP...] (see capabilities(7))" ;;
	esac
	_l=$2
	case $_l in *[a-z]*) _l=$(printf '%s' "$_l" | tr '[:lower:]' '[:upper:]') ;; esac
	_l=$_l,
	while [ -n "$_l" ]; do
		_c=${_l%%,*} _l=${_l#*,}
		_c=${_c#CAP_}
		case $cap_names in *",$_c,"*) ;; *) die "$1: unknown capability '$_c' (see capabilities(7))" ;; esac
		caps=$caps${caps:+,}$_c
	done
}

# plan_rootless: the caller is not root. What needs the host's privileges
# stops here, before anything is made; everything else runs in a user
# namespace, where the caller is root of its own namespaces only.
plan_rootless() {
	[ -z "$bridge$addr" ] ||
		die "--bridge, --addr: need root (CAP_NET_ADMIN on the host, for a veth on a host bridge); rootless, --net gives a network of its own with lo only"
	[ -z "$squash" ] ||
		die "--squash, --squash-overlay: need root (CAP_SYS_ADMIN on the host, to attach a loop device)"
	[ -n "$ns_user" ] ||
		die "not root: add --user --map-root-user to spawn in a user namespace of your own, or run as root"
}

# etc_file FILE KEY: the root's /etc/FILE is a plain file. A symlink could
# lead out of the root (to the host's): refused when KEY is a name to look up,
# passed over when it is a number (which needs no lookup)
etc_file() {
	if [ -L "$_etc" ] || [ -L "$_etc/$1" ]; then
		case $2 in *[!0-9]*) die "$_etc/$1: a symbolic link (it could lead out of the root): give numbers" ;; esac
		return 1
	fi
	[ -f "$_etc/$1" ]
}

# db_find FILE KEY: the entry of the root's /etc/FILE (passwd, group) whose
# name, or for a number whose id, is KEY -> $db_name $db_id $db_4 (field 4:
# the primary gid in passwd, the members in group). No fork: read only.
db_find() {
	db_name='' db_id='' db_4=''
	etc_file "$1" "$2" || return 1
	case $2 in *[!0-9]*) _f=1 ;; *) _f=3 ;; esac
	while IFS=: read -r _n _ _i _4 _; do
		case $_f in 1) [ "$_n" = "$2" ] ;; *) [ "$_i" = "$2" ] ;; esac || continue
		db_name=$_n db_id=$_i db_4=$_4
		return 0
	done <"$_etc/$1"
	return 1
}

# group_id OPTION GROUP: a group name or number -> $gr_id
group_id() {
	if db_find group "$2"; then
		gr_id=$db_id
		return 0
	fi
	case $2 in *[!0-9]*) die "$1 '$2': no such group in $_etc/group" ;; esac
	gr_id=$2
}

# resolve_ids: --setuid, --setgid, --groups into numbers $uid $gid $gids,
# from the root's own /etc/passwd and /etc/group (the command's view, not the
# host's). A user found there brings its gid and, as initgroups(3) would, the
# groups that list it, unless --setgid, --groups say otherwise.
resolve_ids() {
	_etc=${root_dir%/}/etc
	uid='' gid='' gids='' _user=''
	if [ -n "$set_uid" ]; then
		if db_find passwd "$set_uid"; then
			uid=$db_id _user=$db_name
			[ -n "$set_gid" ] || set_gid=$db_4
		else
			case $set_uid in *[!0-9]*) die "--setuid '$set_uid': no such user in $_etc/passwd" ;; esac
			uid=$set_uid
		fi
	fi
	if [ -n "$set_gid" ]; then
		group_id --setgid "$set_gid"
		gid=$gr_id
	fi
	if [ -n "$groups_given" ]; then
		_l=$set_groups${set_groups:+,}
		while [ -n "$_l" ]; do
			_g=${_l%%,*} _l=${_l#*,}
			[ -n "$_g" ] || die "--groups '$set_groups': an empty group name"
			group_id --groups "$_g"
			gids=$gids${gids:+,}$gr_id
		done
	elif [ -n "$_user" ] && etc_file group "$_user"; then
		while IFS=: read -r _n _ _i _4 _; do
			case ,$_4, in *",$_user,"*) gids=$gids${gids:+,}$_i ;; esac
		done <"$_etc/group"
		[ -z "$gids" ] || groups_given=1
	fi
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
		[ "$euid" = 0 ] || plan_rootless
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
		# a squashfs image (a file, or TYPE.squashfs when only the image was
		# built) is mounted read-only on a directory of the instance's state
		if [ -f "$root_dir" ]; then
			root_image=$root_dir
		elif [ ! -d "$root_dir" ] && [ -f "$root_dir.squashfs" ]; then
			root_image=$root_dir.squashfs
		fi
		if [ -n "$root_image" ]; then
			root_dir=$root_image newroot=$UNSHARED_STATE/$name/root
		elif [ ! -d "$root_dir" ]; then
			case $root in
			/*) die "--root '$root': no such directory or image" ;;
			*) die "--root '$root': root type not built (run 'unshared-cli mkroot $root'; 'unshared-cli roots' lists the types)" ;;
			esac
		elif [ "$root_dir" != / ]; then
			newroot=$root_dir
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
		. "$UNSHARED_LIB/net.sh"
		net_check
	fi
	# the instance's netns belongs to the host's user namespace: a process
	# inside a new one may not setns(2) into it (forkn would have to clone the
	# child there first)
	[ -z "$ns_user" ] || [ -z "$bridge" ] ||
		die "--user with --bridge: not supported yet (the bridge's network namespace is the host user namespace's, which a new one cannot join)"
	[ -z "$set_uid$set_gid$groups_given" ] || resolve_ids
	[ -z "$shaping" ] || [ -n "$bridge" ] || die "--delay, --jitter, --loss, --rate: need --bridge"
	if [ -n "$ready" ]; then
		[ -n "$detach" ] || die "--ready: needs --detach (a foreground spawn returns when its command ends)"
		. "$UNSHARED_LIB/ready.sh"
		ready_spec --ready "$ready"
		ready_secs --ready-timeout "$ready_to"
	fi
}

# plan_run PIVOT-ARGV...: take the name, do the host-side steps, exec the supervisor
plan_run() {
	NAME=$name ROOT=$root_dir NETNS='' ADDR='' BRIDGE=$bridge
	if [ -z "$bridge$pre_hooks$post_hooks$detach$root_image" ]; then
		# nothing to do on the host: forkn takes the name (mkdir) and gives it
		# back, and no sh runs at the end. The hot path forks nothing here.
		state_base
		state=$UNSHARED_STATE/$name
		[ ! -e "$state" ] || { . "$UNSHARED_LIB/state.sh"; state_reclaim "$name"; }
		plan_info
		set -- --state "$state" --new-state --info "$info" ${ns_pid:+--pid} \
			${ns_user:+--user} ${map_root:+--map-root-user} ${map_auto:+--map-auto} \
			${uid_map:+--uid-map "$uid_map"} ${gid_map:+--gid-map "$gid_map"} \
			${cgroup:+--cgroup "$cgroup"} ${pids_max:+--pids-max "$pids_max"} -- "$@"
		exec "$UNSHARED_UTILS/forkn" "$@"
	fi
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
		--cleanup-arg _teardown --cleanup-arg "$state" ${ns_pid:+--pid} \
		${ns_user:+--user} ${map_root:+--map-root-user} ${map_auto:+--map-auto} \
		${uid_map:+--uid-map "$uid_map"} ${gid_map:+--gid-map "$gid_map"} \
		${cgroup:+--cgroup "$cgroup"} ${pids_max:+--pids-max "$pids_max"} -- "$@"
	if [ -n "$detach" ]; then
		# from here the instance is forkn's: a signal now must not make this
		# shell tear down what forkn runs (forkn resets these for itself)
		trap '' INT TERM HUP
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

# spawn_ready: --ready, once the detached instance has started. Not ready in
# time, or ended first: it is stopped, its last output shown, spawn exits 125.
spawn_ready() {
	# the log, kept open: the teardown removes the file
	{ command exec 6<"$state/log"; } 2>/dev/null || exec 6</dev/null
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

# plan_info -> $info: the plan as KEY=VALUE lines, for list and for hooks run at
# teardown (built by expansion: a $(...) here would fork on the hot path)
plan_info() {
	info="name=$name${nl}root=$root_dir${nl}cmd=${cmd_line%%"$nl"*}$nl"
	info="${info}ns=mnt${ns_uts:+,uts}${ns_ipc:+,ipc}${ns_net:+,net}${ns_pid:+,pid}${ns_cgroup:+,cgroup}${ns_user:+,user}$nl"
	info="${info}bridge=$bridge${nl}addr=$ADDR${nl}netns=$NETNS$nl"
}
