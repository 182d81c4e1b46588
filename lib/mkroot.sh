# lib/mkroot.sh: build a root type from its recipe, atomically.
#
# The recipe (an executable called as RECIPE DEST) builds into
# $UNSHARED_ROOT/.TYPE.build.PID, beside the destination and so on its
# filesystem; that directory is renamed to TYPE only once the recipe succeeded.
# The recipe runs in a session of its own: an interrupt reaches us, and we end
# the whole of it (its children too) before removing what it made. Whatever ends
# a build early (the recipe fails, SIGINT, SIGTERM, SIGHUP), the EXIT trap ends
# the recipe, unmounts what it left mounted and removes the temporary directory:
# a half-built root never carries the real name. A build killed outright
# (SIGKILL) leaves its dot-named directory; the next mkroot of the type removes it.
#
# --force replaces a root in two renames (the old one away, the new one in; the
# gap between them is microseconds: renameat2(RENAME_EXCHANGE) has no sh tool on
# this distribution yet) and removes the old one only when nothing uses it.

. "$UNSHARED_LIB/roots.sh"

usage() {
	cat <<'EOF'
Usage: unshared-cli mkroot TYPE [--force] [--squash]

Build the root TYPE from its recipe into $UNSHARED_ROOT/TYPE (default
/var/lib/unshared/TYPE) and print its path. The build is atomic: it runs in a
temporary directory beside the destination, renamed when complete; a failed or
interrupted build leaves nothing behind. A root already built is kept.

  -f, --force   rebuild, and replace the root (and its image) atomically
  --squash      also make the squashfs image $UNSHARED_ROOT/TYPE.squashfs
                and print its path instead

'unshared-cli roots' lists the recipes. A recipe is an executable called as
'RECIPE DEST', found in the directories of UNSHARED_RECIPES (colon-separated),
then in the built-in roots/; it finds utils/mkchroot through UNSHARED_UTILS.
EOF
}

cmd_main() {
	force='' squash='' type=''
	while [ $# -gt 0 ]; do
		case $1 in
		-f | --force) force=1 ;;
		--squash) squash=1 ;;
		--) shift; [ $# -le 1 ] || die "one TYPE at a time"; type=${1:-$type}; break ;;
		-?*) die "unknown option '$1' (see 'unshared-cli mkroot --help')" ;;
		*) [ -z "$type" ] || die "one TYPE at a time ('$type', '$1')"; type=$1 ;;
		esac
		shift
	done
	[ -n "$type" ] || die "expected a TYPE (see 'unshared-cli roots')"
	check_name "root type" "$type"
	case $type in *.squashfs) die "root type '$type': .squashfs names an image, not a type" ;; esac
	if ! recipe_find "$type"; then
		_in=
		while IFS= read -r _d; do _in=$_in${_in:+, }$_d; done <<EOF
$recipe_dirs
EOF
		die "$type: no recipe (looked in $_in; see 'unshared-cli roots')"
	fi
	absolute "$UNSHARED_ROOT"
	UNSHARED_ROOT=${abs%/}
	dest=$UNSHARED_ROOT/$type
	img=$dest.squashfs
	job='' tmp='' old='' imgtmp='' built=''
	trap mkroot_abort EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	[ -d "$UNSHARED_ROOT" ] || mkdir -p -- "$UNSHARED_ROOT" 2>/dev/null ||
		die "$UNSHARED_ROOT: cannot create it (UNSHARED_ROOT names where roots are built)"
	sweep
	if [ -d "$dest" ] && [ -z "$force" ]; then
		say "$type: already built in $dest (--force rebuilds it)"
	else
		build
	fi
	[ -z "$squash" ] || squash
	trap - EXIT INT TERM HUP
	[ -z "$old" ] || retire "$old"
	if [ -n "$squash" ]; then printf '%s\n' "$img"; else printf '%s\n' "$dest"; fi
}

# say MESSAGE: a progress line on stderr (not with -q)
say() {
	[ -n "${UNSHARED_QUIET:-}" ] || warn "$@"
}

# build: run the recipe into a temporary directory, then rename it into place
build() {
	tmp=$UNSHARED_ROOT/.$type.build.$$
	mkdir -m 0755 -- "$tmp" || die "$tmp: cannot create it"
	say "$type: building with $recipe"
	_t0=$(date +%s)
	export UNSHARED_UTILS UNSHARED_RECIPES
	[ -z "${UNSHARED_QUIET:-}" ] || export UNSHARED_QUIET
	run_job "$recipe" "$tmp" || die "$type: the recipe failed (status $rc); nothing was installed"
	if [ -n "$(mounts_under "$tmp")" ]; then
		warn "$type: the recipe left mounts in the root; unmounting them"
		mounts_under "$tmp" | while IFS= read -r _m; do umount -l -- "$_m" || true; done
	fi
	[ -n "$(ls -A -- "$tmp")" ] || die "$type: the recipe made an empty root; nothing was installed"
	touch -- "$tmp"
	if [ -d "$dest" ]; then
		old=$UNSHARED_ROOT/.$type.old.$$
		mv -T -- "$dest" "$old" || die "$dest: cannot move the old root away"
	fi
	if ! mv -T -- "$tmp" "$dest"; then
		if [ -n "$old" ] || [ ! -d "$dest" ]; then die "$dest: cannot move the new root in"; fi
		# another mkroot won the race: its root is as good as ours
		say "$type: built meanwhile by another mkroot; keeping that one"
		return 0
	fi
	tmp=
	built=1
	say "$type: built in $(($(date +%s) - _t0))s: $dest"
}

# squash: the image TYPE.squashfs of the root, written beside and renamed in
squash() {
	if [ -f "$img" ] && [ -z "$force" ] && [ -z "$built" ]; then
		say "$type: image already made: $img (--force remakes it)"
		return 0
	fi
	if ! command -v mksquashfs >/dev/null 2>&1; then
		command -v apt-get >/dev/null 2>&1 || die "mksquashfs: not installed (install squashfs-tools)"
		say "installing squashfs-tools on the host"
		run_job env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			-o DPkg::Lock::Timeout=300 squashfs-tools || die "squashfs-tools: apt-get failed (status $rc)"
	fi
	imgtmp=$UNSHARED_ROOT/.$type.squashfs.tmp.$$
	say "$type: making the image $img"
	run_job mksquashfs "$dest" "$imgtmp" -noappend -no-progress -quiet ||
		die "$type: mksquashfs failed (status $rc)"
	mv -f -- "$imgtmp" "$img"
	imgtmp=
}

# run_job CMD...: CMD in a session of its own, stdin from /dev/null, stdout to
# stderr; `wait` is interruptible by our traps, a foreground command is not.
# Sets $rc; true when CMD succeeded.
run_job() {
	setsid "$@" </dev/null >&2 &
	job=$!
	if wait "$job"; then rc=0; else rc=$?; fi
	end_job
	[ "$rc" = 0 ]
}

# end_job: end what is left of the job's session: TERM, two seconds to go, KILL
end_job() {
	[ -n "$job" ] || return 0
	if group_alive "$job"; then
		kill -TERM "-$job" 2>/dev/null || true
		_i=0
		while [ "$_i" -lt 20 ] && group_alive "$job"; do
			sleep 0.1
			_i=$((_i + 1))
		done
		kill -KILL "-$job" 2>/dev/null || true
	fi
	wait "$job" 2>/dev/null || true
	job=
}

# group_alive PGID: a process of the group still runs (a zombie does not count;
# the comm field may hold spaces and ')', so the fields are cut after the last ')')
group_alive() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v g="$1" '{ sub(/.*\) /, "") } $3 == g && $1 != "Z" { f = 1 } END { exit !f }'
}

# mkroot_abort: the EXIT trap while building. Ends the recipe, puts a root that
# --force moved away back if the new one is not in, removes the temporaries.
mkroot_abort() {
	_st=$?
	trap - EXIT INT TERM HUP
	end_job
	if [ -n "$old" ] && [ -d "$old" ] && [ ! -e "$dest" ]; then
		mv -T -- "$old" "$dest" && old=
	fi
	[ -z "$tmp" ] || clear_dir "$tmp"
	[ -z "$imgtmp" ] || rm -f -- "$imgtmp"
	[ -z "$old" ] || retire "$old"
	exit "$_st"
}

# retire OLD: remove a replaced root, unless something still uses it
retire() {
	if root_busy "$1" "$dest"; then
		warn "$type: the replaced root is in use; kept as $1 (the next mkroot removes it once unused)"
		return 0
	fi
	say "$type: removing the replaced root"
	remove_tree "$1" || warn "$1: could not remove all of it"
}

# sweep: remove what earlier builds left behind: a temporary root or image of a
# build killed outright, a replaced root that was in use then. Their mkroot (the
# PID in the name) must be gone, and nothing may use the directory now.
sweep() {
	for _p in "$UNSHARED_ROOT"/.*.build.* "$UNSHARED_ROOT"/.*.old.* "$UNSHARED_ROOT"/.*.squashfs.tmp.*; do
		[ -e "$_p" ] || continue
		_pid=${_p##*.}
		case $_pid in '' | *[!0-9]*) continue ;; esac
		[ "$_pid" != $$ ] || continue
		! kill -0 "$_pid" 2>/dev/null || continue
		! root_busy "$_p" || continue
		say "removing ${_p##*/}, left by an earlier mkroot"
		clear_dir "$_p"
	done
}
