# lib/spawn/opts.sh: spawn's options seldom given, sourced by cmd_main's loop
# (lib/spawn.sh) for each option it does not know itself: $a is the option,
# "$@" still holds the words after it and $n how many of them are left. Like
# the loop, it takes its values from the front of "$@" (shift, n) and appends
# mount operations to the end. Sourced, not defined as functions, so that a
# spawn that gives none of these options does not parse them; opts_check,
# which plan_check calls once they are all known, comes with them.

case $a in
--uid-map | --gid-map | --setuid | --setgid | --groups | --cap-drop | --cap-add | --seccomp)
	[ -n "${ids_loaded:-}" ] || . "$UNSHARED_LIB/spawn/ids.sh"
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
opts=1

# opts_check: what these options imply, once all options are known (plan_check)
opts_check() {
	if [ -n "$set_uid$set_gid$groups_given" ]; then
		[ -n "${ids_loaded:-}" ] || . "$UNSHARED_LIB/spawn/ids.sh"
		resolve_ids
	fi
	[ -z "$shaping" ] || [ -n "$bridge" ] || die "--delay, --jitter, --loss, --rate: need --bridge"
	if [ -n "$ready" ]; then
		[ -n "$detach" ] || die "--ready: needs --detach (a foreground spawn returns when its command ends)"
		. "$UNSHARED_LIB/ready.sh"
		ready_spec --ready "$ready"
		ready_secs --ready-timeout "$ready_to"
	fi
}
