# lib/common.sh: sourced once by the front end. One error voice, name checks, paths.
# Nothing here forks: it runs on the hot path of every subcommand.

UNSHARED_VERSION=0.1.0

# where things live; every one can be overridden from the environment
: "${UNSHARED_ROOT:=/var/lib/unshared}"
: "${UNSHARED_RECIPES:=$UNSHARED_HOME/roots}"
: "${UNSHARED_UTILS:=$UNSHARED_HOME/utils}"

# self_ids: the caller's effective uid into $euid (no fork: /proc/self/status
# is this shell's own)
self_ids() {
	euid=''
	while IFS='	 ' read -r _k _ _e _; do
		case $_k in Uid:) euid=$_e; return 0 ;; esac
	done 2>/dev/null </proc/self/status
	return 1
}

if [ -z "${UNSHARED_STATE:-}" ]; then
	# root keeps its registry in /run; anyone else under their own runtime
	# dir, or else in a private directory named by uid (state_base checks it)
	if [ -w /run ]; then
		UNSHARED_STATE=/run/unshared
	elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		UNSHARED_STATE=$XDG_RUNTIME_DIR/unshared
	else
		self_ids || :
		UNSHARED_STATE=${TMPDIR:-/tmp}/unshared-${euid:-${LOGNAME:-user}}
	fi
fi

nl='
'

# die MESSAGE: the one error voice. Exit 125: unshared-cli itself failed.
die() {
	printf 'unshared-cli: %s%s\n' "${UNSHARED_SUB:+$UNSHARED_SUB: }" "$*" >&2
	exit 125
}

warn() {
	printf 'unshared-cli: %s%s\n' "${UNSHARED_SUB:+$UNSHARED_SUB: }" "$*" >&2
}

# verbose MESSAGE: only with -v
verbose() {
	[ -z "${UNSHARED_VERBOSE:-}" ] || warn "$@"
}

# check_name WHAT VALUE: instance and root-type names. An allow-list, so no
# '/', no '..', no leading '-' and no space can reach a path or an argv.
check_name() {
	name_chars "$1" "$2"
	[ "${#2}" -le 64 ] || die "$1 '$2': longer than 64 characters"
}

# check_ifname WHAT VALUE: an interface name (a bridge): the same allow-list,
# which the kernel takes too and which cannot lead anywhere as a path, at most
# 15 bytes
check_ifname() {
	name_chars "$1" "$2"
	[ "${#2}" -le 15 ] || die "$1 '$2': longer than 15 bytes (an interface name)"
}

# name_chars WHAT VALUE: the allow-list of both
name_chars() {
	case $2 in
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*)
		die "$1 '$2': use letters, digits, '_', '.', '-', starting with a letter or digit" ;;
	esac
}

# need_value OPTION COUNT LEFT [NEXT]: an option needs COUNT more words, LEFT
# remain, NEXT is the first of them; `--` ends the options, it is never a
# value, and an empty value is refused rather than taken for "not given"
need_value() {
	[ "$3" -ge "$2" ] && [ "${4-}" != -- ] || die "$1: needs $2 value(s)"
	[ $# -lt 4 ] || [ -n "$4" ] || die "$1: empty value"
}

# no_newline WHAT VALUE: values that end up in line-oriented state files
no_newline() {
	case $2 in *"$nl"*) die "$1: must not contain a newline" ;; esac
}

# absolute PATH -> $abs, made absolute against $PWD (no fork)
absolute() {
	case $1 in
	/*) abs=$1 ;;
	*) abs=${PWD%/}/$1 ;;
	esac
}

# root_path TYPE|PATH -> $root_dir: where a root lives (no check that it exists)
root_path() {
	case $1 in
	/*) root_dir=$1 ;;
	*) check_name "root type" "$1"; root_dir=$UNSHARED_ROOT/$1 ;;
	esac
}

# state_base: make sure the registry directory exists and is ours. Private
# (0700): in a shared /tmp, anyone could have made the name first, so one
# that is a symlink or someone else's is refused, never used.
state_base() {
	if [ ! -d "$UNSHARED_STATE" ] && [ ! -L "$UNSHARED_STATE" ]; then
		# shellcheck disable=SC2174 # only the last directory is ours to keep private
		mkdir -m 0700 -p "$UNSHARED_STATE" 2>/dev/null || die "state directory $UNSHARED_STATE: cannot create"
	fi
	[ ! -L "$UNSHARED_STATE" ] && [ -d "$UNSHARED_STATE" ] && [ -O "$UNSHARED_STATE" ] ||
		die "state directory $UNSHARED_STATE: not a directory owned by this user"
}
