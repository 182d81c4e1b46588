# lib/get-root.sh: print where a root type lives.

usage() {
	cat <<'EOF2'
Usage: unshared-cli get-root [TYPE|PATH]

Print the directory of a root: an absolute PATH as it is, a TYPE as
$UNSHARED_ROOT/TYPE (default /var/lib/unshared/TYPE), nothing given: /.
EOF2
}

cmd_main() {
	[ $# -le 1 ] || die "expected one TYPE or PATH"
	root_path "${1:-/}"
	printf '%s\n' "$root_dir"
}
