# lib/spawn/ids.sh: spawn's checks of --uid-map, --gid-map, --cap-*, and the
# ids of --setuid, --setgid, --groups, resolved in the root's own /etc files.
# Sourced by lib/spawn.sh only when one of those options is given.

ids_loaded=1

# capability names (capabilities(7), without CAP_): checked here, so that bad
# input stops before anything is made; pivot turns them into numbers
cap_names=,ALL,CHOWN,DAC_OVERRIDE,DAC_READ_SEARCH,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,LINUX_IMMUTABLE,
cap_names=${cap_names}NET_BIND_SERVICE,NET_BROADCAST,NET_ADMIN,NET_RAW,IPC_LOCK,IPC_OWNER,SYS_MODULE,SYS_RAWIO,
cap_names=${cap_names}SYS_CHROOT,SYS_PTRACE,SYS_PACCT,SYS_ADMIN,SYS_BOOT,SYS_NICE,SYS_RESOURCE,SYS_TIME,
cap_names=${cap_names}SYS_TTY_CONFIG,MKNOD,LEASE,AUDIT_WRITE,AUDIT_CONTROL,SETFCAP,MAC_OVERRIDE,MAC_ADMIN,SYSLOG,
cap_names=${cap_names}WAKE_ALARM,BLOCK_SUSPEND,AUDIT_READ,PERFMON,BPF,CHECKPOINT_RESTORE,

# check_map OPTION MAP: the characters of "INSIDE OUTSIDE COUNT[,...]"
# (forkn checks the rest: the numbers, the ranges)
check_map() {
	case $2 in
	*[!0-9\ ,]*) die "$1 '$2': expected INSIDE OUTSIDE COUNT[,INSIDE OUTSIDE COUNT...]" ;;
	esac
}

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
