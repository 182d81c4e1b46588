# lib/help.sh: the list of subcommands, or one subcommand's usage.

usage() {
	cat <<'EOF2'
Usage: unshared-cli [-v|-q] SUBCOMMAND [OPTIONS] [ARGS]
       unshared-cli help [SUBCOMMAND]
       unshared-cli --version

Subcommands:
  spawn      run a command in new namespaces, inside a root, supervised
  list       show running instances (--json for scripts)
  attach     enter a running instance
  logs       show a detached instance's output
  stop       stop instances and tear them down
  gc         tear down instances whose supervisor died
  net        partition, heal and shape the links of running instances
  events     follow the lifecycle events of all instances (--json)
  up         bring up a topology file (bridges, instances, readiness)
  down       tear down a topology file
  status     show a topology file's instances
  graph      the live topology: bridges, instances, addresses, shaping
  get-root   print where a root type lives
  mkroot     build a root type from its recipe
  roots      list root types
  help       this text, or 'help SUBCOMMAND'

'unshared-cli SUBCOMMAND --help' prints the usage of one subcommand.
EOF2
}

cmd_main() {
	if [ $# -eq 0 ]; then
		usage
		return 0
	fi
	case $1 in
	'' | -* | _* | *[!a-z-]* | common | state | ready | fault | netctl) m='' ;;
	net) m=netctl ;;
	*) m=$1 ;;
	esac
	[ -n "$m" ] && [ -f "$UNSHARED_LIB/$m.sh" ] || die "unknown subcommand '$1'"
	. "$UNSHARED_LIB/$m.sh"
	usage
}
