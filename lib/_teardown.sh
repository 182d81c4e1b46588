# lib/_teardown.sh: internal. forkn runs `unshared-cli _teardown DIR` once the
# command has ended; the journal is replayed by state_teardown (lib/state.sh).

usage() {
	printf 'Usage: unshared-cli _teardown STATE_DIR   (internal: run by the supervisor)\n'
}

cmd_main() {
	[ $# -eq 1 ] || die "usage: _teardown STATE_DIR"
	. "$UNSHARED_LIB/state.sh"
	case $1 in "$UNSHARED_STATE"/*) ;; *) die "$1: not under $UNSHARED_STATE" ;; esac
	[ ! -L "$1" ] || die "$1: a symbolic link, not an instance"
	NAME='' ROOT='' NETNS='' ADDR='' BRIDGE=''
	state_env "$1"
	state_teardown "$1"
}
