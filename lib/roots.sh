# lib/roots.sh: list root types. Also the root-types module that mkroot asks:
# where a recipe is found, whether a root is in use, how a root is removed.
#
#   $UNSHARED_ROOT/TYPE              a built root (a directory)
#   $UNSHARED_ROOT/TYPE.squashfs     its image (mkroot --squash)
#   $UNSHARED_ROOT/.TYPE.build.PID   a build in progress (renamed to TYPE when complete)
#   $UNSHARED_ROOT/.TYPE.old.PID     a root replaced by --force, removed once unused
#   $UNSHARED_ROOT/.TYPE.squashfs.tmp.PID   an image being written
# Dot names can never be types (check_name), so they never collide with one.

usage() {
	cat <<'EOF'
Usage: unshared-cli roots

List the root types: every recipe (and where it comes from), every built
root (size and date), every squashfs image.

Recipes are looked up in the directories of UNSHARED_RECIPES (colon-separated),
then in the built-in roots/; the first one found wins. Roots are built into
$UNSHARED_ROOT (default /var/lib/unshared) by 'unshared-cli mkroot TYPE'.
EOF
}

cmd_main() {
	[ $# -eq 0 ] || die "expected no arguments (see 'unshared-cli roots --help')"
	recipe_dirs
	_types=
	while IFS= read -r _d; do
		[ -d "$_d" ] || continue
		for _f in "$_d"/*; do
			[ -f "$_f" ] && [ -x "$_f" ] && is_type "${_f##*/}" && _types=$_types${_f##*/}$nl
		done
	done <<EOF
$recipe_dirs
EOF
	for _f in "$UNSHARED_ROOT"/*; do
		case $_f in
		*.squashfs) [ -f "$_f" ] || continue; _t=${_f##*/}; _t=${_t%.squashfs} ;;
		*) [ -d "$_f" ] || continue; _t=${_f##*/} ;;
		esac
		is_type "$_t" && _types=$_types$_t$nl
	done
	printf '%-16s %-9s %6s  %-16s  %s\n' TYPE ROOT SIZE BUILT RECIPE
	[ -n "$_types" ] || return 0
	_types=$(printf '%s' "$_types" | sort -u)
	while IFS= read -r _t; do
		recipe_find "$_t" || recipe=-
		_any=
		if [ -d "$UNSHARED_ROOT/$_t" ]; then
			list_root "$_t" dir "$UNSHARED_ROOT/$_t"
			_any=1
		fi
		if [ -f "$UNSHARED_ROOT/$_t.squashfs" ]; then
			list_root "$_t" squashfs "$UNSHARED_ROOT/$_t.squashfs"
			_any=1
		fi
		[ -n "$_any" ] || printf '%-16s %-9s %6s  %-16s  %s\n' "$_t" - - - "$recipe"
	done <<EOF
$_types
EOF
}

# list_root TYPE KIND PATH: one line of the listing
list_root() {
	_size=$(du -sxh -- "$3" 2>/dev/null) || _size='?'
	_date=$(date -r "$3" '+%Y-%m-%d %H:%M' 2>/dev/null) || _date='?'
	printf '%-16s %-9s %6s  %-16s  %s\n' "$1" "$2" "${_size%%[	 ]*}" "$_date" "$recipe"
}

# is_type NAME: NAME is a valid type name (check_name's rule, without dying)
is_type() {
	case $1 in
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]* | *.squashfs) return 1 ;;
	esac
	[ "${#1}" -le 64 ]
}

# recipe_dirs -> $recipe_dirs: the search path, one absolute directory per line,
# UNSHARED_RECIPES first, the built-in roots/ last, each directory once
recipe_dirs() {
	recipe_dirs=
	_ifs=$IFS
	IFS=:
	set -f
	# shellcheck disable=SC2086 # split the colon-separated list on purpose
	set -- $UNSHARED_RECIPES "$UNSHARED_HOME/roots"
	set +f
	IFS=$_ifs
	for _d; do
		[ -n "$_d" ] || continue
		absolute "$_d"
		while :; do
			case $abs in
			*/./*) abs=${abs%%/./*}/${abs#*/./} ;;
			*/.) abs=${abs%/.} ;;
			*) break ;;
			esac
		done
		[ "$abs" = / ] || abs=${abs%/}
		case $nl$recipe_dirs$nl in *"$nl$abs$nl"*) continue ;; esac
		recipe_dirs=$recipe_dirs${recipe_dirs:+$nl}$abs
	done
}

# recipe_find TYPE -> $recipe: the first executable named TYPE on the search path
recipe_find() {
	recipe_dirs
	recipe=
	while IFS= read -r _d; do
		if [ -f "$_d/$1" ] && [ -x "$_d/$1" ]; then
			recipe=$_d/$1
			return 0
		fi
	done <<EOF
$recipe_dirs
EOF
	return 1
}

# mounts_under DIR: mount points on or under DIR in our mount namespace, deepest
# first, one per line (mountinfo escapes space, tab, newline and backslash)
mounts_under() {
	awk -v d="$1" '
		function unesc(s) {
			gsub(/\\040/, " ", s); gsub(/\\011/, "\t", s)
			gsub(/\\012/, "\n", s); gsub(/\\134/, "\\", s)
			return s
		}
		{ m = unesc($5); if (m == d || index(m, d "/") == 1) print m }
	' /proc/self/mountinfo | sort -r
}

# root_busy DIR [PATH]: DIR is in use, so it must not be removed: something is mounted
# on or under it here; an instance's mount namespace holds it (the bind mount
# pivot made of it, seen in any process's mountinfo as the same device and
# directory, or an overlay naming it); or a process has its root or working
# directory in it (a seed-style chroot). The path is the one DIR has now: the
# kernel reports a renamed directory under its new name, but an overlay's options
# keep the name it was mounted with: PATH, if DIR was renamed from there.
root_busy() {
	_dir=$(cd -P -- "$1" 2>/dev/null && pwd -P) || return 1
	_was=${2:-$_dir}
	[ -z "$(mounts_under "$_dir")" ] || return 0
	# where DIR is on its filesystem: device and path from that filesystem's root
	_where=$(awk -v d="$_dir" '
		{ m = $5; if ((m == d || m == "/" || index(d, m "/") == 1) && length(m) >= best) {
			best = length(m); dev = $3
			rel = (m == "/") ? d : substr(d, length(m) + 1)
			rel = ($4 == "/") ? rel : $4 rel } }
		END { if (dev != "") print dev " " rel }
	' /proc/self/mountinfo)
	[ -n "$_where" ] || return 1
	# one awk over every mount namespace's table (processes may end meanwhile)
	cat /proc/[0-9]*/mountinfo 2>/dev/null | awk -v dev="${_where%% *}" -v rel="${_where#* }" -v d="$_dir" -v w="$_was" '
		($3 == dev && ($4 == rel || index($4, rel "/") == 1)) { found = 1; exit }
		{ o = $0; sub(/.* - /, "", o); o = o ","
		  if (index(o, d ",") || index(o, d ":") || index(o, d "/") ||
		      index(o, w ",") || index(o, w ":") || index(o, w "/")) { found = 1; exit } }
		END { exit !found }
	' && return 0
	# shellcheck disable=SC2012 # the link targets: find -lname is not in busybox
	ls -l /proc/[0-9]*/root /proc/[0-9]*/cwd 2>/dev/null | awk -v d="$_dir" '
		{ i = index($0, " -> "); if (!i) next; t = substr($0, i + 4)
		  if (t == d || index(t, d "/") == 1) { found = 1; exit } }
		END { exit !found }'
}

# remove_tree PATH: rm -rf that never crosses into another filesystem (what is
# mounted under PATH is left alone, not emptied). busybox rm has no
# --one-file-system: there, find -xdev lists what is on PATH's filesystem.
remove_tree() {
	rm -rf --one-file-system -- "$1" 2>/dev/null || [ ! -e "$1" ] ||
		{ find "$1" -xdev ! -type d -exec rm -f -- {} + &&
			find "$1" -xdev -depth -type d -exec rmdir -- {} +; }
}

# clear_dir PATH: remove a temporary root or image, unmounting what a recipe may
# have left mounted in it first; never crosses into another filesystem
clear_dir() {
	[ -e "$1" ] || [ -L "$1" ] || return 0
	mounts_under "$1" | while IFS= read -r _m; do umount -l -- "$_m" || true; done
	remove_tree "$1"
}
