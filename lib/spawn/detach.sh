# lib/spawn/detach.sh: what only `spawn --detach` does on the lean path
# (lib/spawn.sh's plan_lean): the name and network taken before forkn starts,
# forkn --detach waited for, --ready, and the undoing when the front end is
# stopped in between. Sourced by plan_lean only with --detach.

# detach_setup: before the plan is complete. With --bridge, nsnet up takes the
# name and makes the network now (its address goes into info)
detach_setup() {
	if [ -n "$ready" ]; then
		# --ready opens the log before the command can end (ready_log_open):
		# without --bridge, this shell takes the name (mkdir) for that
		. "$UNSHARED_LIB/state.sh"
		. "$UNSHARED_LIB/spawn/host.sh"
		[ -n "$bridge" ] || { state_take "$name"; _own=--adopt-state; }
	fi
	if [ "$_own" = --adopt-state ]; then
		# a signal before forkn has taken over: the shell gives it all back
		trap 'lean_undo INT; exit 130' INT
		trap 'lean_undo TERM; exit 143' TERM HUP
	fi
	if [ -n "$bridge" ]; then
		ADDR=$(lean_net_up) || exit 125
		# tests only: a window to signal or kill the front end in
		[ "${UNSHARED_TEST_PAUSE:-}" != net ] || sleep 3
	fi
}

# detach_run FORKN-ARGV...: forkn --detach returns once the command has really
# started (pivot closes fd 3 at its exec); on a failure forkn has undone it all
detach_run() {
	[ -z "$ready" ] || ready_log_open
	trap '' INT TERM HUP
	if ! "$UNSHARED_UTILS/forkn" --detach --exec-fd 3 --log "$state/log" "$@" </dev/null; then
		# forkn undid it all, unless it died before it could
		[ "$_own" = --new-state ] || lean_undo '' || :
		exit 125
	fi
	[ -z "$ready" ] || spawn_ready
	printf '%s\n' "$name"
	exit 0
}

# lean_undo [SIGNAL]: the network and name taken here, when the front end is
# stopped before forkn took over (nsnet up already rolled back a failure of
# its own)
lean_undo() {
	trap '' INT TERM HUP
	[ -z "${1:-}" ] || warn "$name: stopped during setup (SIG$1): undone"
	# ours while DIR/pid still names this shell (nsnet up --owner $$): a
	# supervisor that took it over rewrote it, and undoes it on its own
	read -r _p _ 2>/dev/null <"$state/pid" && [ "$_p" = $$ ] || return 0
	"$UNSHARED_UTILS/nsnet" down --net-dir "$UNSHARED_STATE/.net" --journal "$state/journal" &&
		rm -f -- "$state/journal" "$state/pid" "$state/log" && rmdir -- "$state"
}
