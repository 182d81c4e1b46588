#!/usr/bin/env bats
# Reliability: symlinks in roots and in the registry, mount propagation, the old
# root. Nothing may be created, mounted or removed outside the root and the
# test's own directory. Markers: sleep 57NN.

load ../helpers
load rel

setup() {
	rel_setup
	R=$T/root
	fresh_root "$R"
	# the host paths a symlink attack would reach: must never appear
	HOSTX=/tmp/ut-rel-escape.$$
	HOSTE=/etc/ut-rel-escape.$$
}
teardown() {
	local leak=''
	for f in "$HOSTX" "$HOSTE"; do
		[ -n "${f:-}" ] && { [ -e "$f" ] || [ -L "$f" ]; } && { leak="$leak $f"; rm -rf "$f"; }
	done
	rel_teardown || return 1
	[ -z "$leak" ] || { echo "escaped to the host:$leak" >&2; return 1; }
}

# contained: the last run did not escape; 0 (mounted inside) or 125 (refused)
contained() {
	echo "status $status: $output / $stderr"
	[ "$status" -eq 0 ] || one_error
	[ ! -e "$HOSTX" ] && [ ! -e "$HOSTE" ]
}

@test "symlinks: an absolute symlink destination resolves inside the root" {
	ln -s /tmp "$R/abs"
	run --separate-stderr "$UC" spawn --root "$R" --data-dir "$D:/abs/${HOSTX##*/}" -- /bin/cat "/tmp/${HOSTX##*/}/a"
	contained
	[ "$status" -eq 0 ]
	[ "$output" = one ]
	ln -s /etc "$R/etcl"
	run --separate-stderr "$UC" spawn --root "$R" --tmpfs "/etcl/${HOSTE##*/}" -- /bin/true
	contained
}

@test "symlinks: relative and '..' paths cannot climb out of the root" {
	ln -s ../../../../../../../../tmp "$R/rel"
	run --separate-stderr "$UC" spawn --root "$R" --data-dir "$D:/rel/${HOSTX##*/}" -- /bin/true
	contained
	run --separate-stderr "$UC" spawn --root "$R" --data-dir "$D:/../../../../../tmp/${HOSTX##*/}" -- /bin/true
	contained
	run --separate-stderr "$UC" spawn --root "$R" --tmpfs "/../../../../etc/${HOSTE##*/}" -- /bin/true
	contained
	run --separate-stderr "$UC" spawn --root "$R" --chdir /../../../.. -- /bin/pwd
	[ "$status" -eq 0 ]
	[ "$output" = / ]
}

@test "symlinks: a looping symlink destination is an error, not a hang" {
	ln -s loop1 "$R/loop2"
	ln -s loop2 "$R/loop1"
	run --separate-stderr timeout 20 "$UC" spawn --root "$R" --data-dir "$D:/loop1/x" -- /bin/true
	one_error
	run --separate-stderr timeout 20 "$UC" spawn --root "$R" --tmpfs /loop1 -- /bin/true
	one_error
}

@test "symlinks: /proc /dev /dev/pts /tmp of the root replaced by symlinks to the host" {
	local m
	for m in proc dev tmp; do
		rm -rf "${R:?}/$m"
		ln -s "/tmp/ut-rel-escape.$$" "$R/$m"
	done
	# the default mounts (/proc, /dev) and a --tmpfs /tmp go inside, or are refused
	run --separate-stderr "$UC" spawn --root "$R" --tmpfs /tmp -- /bin/sh -c 'echo x >/tmp/f; ls /proc/self >/dev/null'
	contained
	rm -f "$R/dev"
	mkdir "$R/dev"
	ln -s /tmp "$R/dev/pts"
	run --separate-stderr "$UC" spawn --root "$R" --dev /dev --proc /proc -- /bin/sh -c 'ls /dev/pts >/dev/null; echo x >/dev/pts/y 2>/dev/null; true'
	contained
	[ ! -e /tmp/y ]
}

@test "symlinks: the data dir itself a symlink: its target is bound, nothing written" {
	ln -s "$D" "$T/dlink"
	run --separate-stderr "$UC" spawn --root "$R" --data-dir "$T/dlink:/d:ro" -- /bin/sh -c 'cat /d/a; echo x >/d/new 2>/dev/null && echo wrote; true'
	[ "$status" -eq 0 ]
	[ "$output" = one ]
}

@test "propagation: under a shared / (private test namespace) nothing appears" {
	command -v unshare >/dev/null || need "unshare (util-linux)"
	cat >"$T/inner.sh" <<-'EOF'
		set -e
		mount --make-rshared /
		awk '{print $5}' /proc/self/mountinfo | sort >"$T/prop.before"
		"$UC" spawn --root "$R" --tmpfs /mnt --data-dir "$D:/d" --proc /p -- /bin/true
		"$UC" spawn --root / --tmpfs /mnt -- /bin/true
		"$UC" spawn --root "$R" --pid --ipc --uts --net -- /bin/true
		"$UC" spawn --name rel-prop --root "$R" --preexec true -- /bin/true
		awk '{print $5}' /proc/self/mountinfo | sort >"$T/prop.after"
		diff -u "$T/prop.before" "$T/prop.after"
	EOF
	run --separate-stderr env T="$T" UC="$UC" R="$R" D="$D" unshare -m --propagation shared sh "$T/inner.sh"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
}

@test "old root: not reachable from inside" {
	echo secret >"$T/hostonly"
	run --separate-stderr "$UC" spawn --root "$R" --pid -- /bin/sh -c '
		[ "$(stat -c %i /)" = "$(stat -c %i /..)" ] || echo "/.. differs"
		grep -c . /proc/self/mountinfo >/dev/null
		awk "{print \$5}" /proc/self/mountinfo | grep -vE "^/(|proc|dev|dev/.*|sys|etc/hosts)$" || true
		ls /proc/1/root/ >/dev/null
		[ -e /proc/1/root'"$T"'/hostonly ] && echo "host file visible"
		[ -e /proc/1/cwd'"$T"'/hostonly ] && echo "host file visible through the cwd"
		# the init (pid 1) followed the pivot_root: its root and cwd are ours
		[ "$(stat -L -c %d:%i /proc/1/root)" = "$(stat -c %d:%i /)" ] || echo "init root elsewhere"
		[ "$(stat -L -c %d:%i /proc/1/cwd)" = "$(stat -c %d:%i /)" ] || echo "init cwd elsewhere"
		find / -xdev -name hostonly 2>/dev/null
		true'
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "old root: without --pid, / is the root and no host file is found" {
	echo secret >"$T/hostonly"
	run --separate-stderr "$UC" spawn --root "$R" -- /bin/sh -c '
		[ "$(stat -c %i /)" = "$(stat -c %i /..)" ] || echo "/.. differs"
		find / -xdev -name hostonly 2>/dev/null
		true'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "state: a registry that is a symlink, or someone else's, is refused" {
	mkdir -p "$T/victim"
	echo keep >"$T/victim/info"
	ln -s "$T/victim" "$T/statelink"
	UNSHARED_STATE=$T/statelink run --separate-stderr "$UC" spawn --root "$R" --name rel-s -- /bin/true
	one_error
	[ "$(ls -A "$T/victim")" = info ]
	mkdir -m 0700 "$T/notmine"
	chown 1234 "$T/notmine"
	UNSHARED_STATE=$T/notmine run --separate-stderr "$UC" spawn --root "$R" --name rel-s --preexec true -- /bin/true
	one_error
	[ -z "$(ls -A "$T/notmine")" ]
}

@test "state: an entry pre-created as a symlink (NAME -> a directory) is refused and left alone" {
	local v=$T/victim
	mkdir -p "$S" "$v"
	# what a teardown would remove or replay, were it to follow the link
	printf 'keep\n' >"$v/info"
	printf 'keep\n' >"$v/log"
	printf 'hook hook.post\n' >"$v/journal"
	printf 'touch "$CANARY"\n' >"$v/hook.post"
	printf '999999 1\n' >"$v/pid"
	data_snap "$v" >"$T/victim.before"
	ln -s "$v" "$S/rel-link"
	touch -h -d '-5 min' "$S/rel-link"
	run --separate-stderr "$UC" spawn --root "$R" --name rel-link -- /bin/true
	one_error
	run --separate-stderr "$UC" spawn --root "$R" --name rel-link --preexec true -- /bin/true
	one_error
	run --separate-stderr "$UC" gc
	run --separate-stderr "$UC" list
	run --separate-stderr "$UC" stop rel-link
	run --separate-stderr "$UC" _teardown "$S/rel-link"
	local known=''
	data_snap "$v" >"$T/victim.after"
	diff -u "$T/victim.before" "$T/victim.after" || known=1
	[ ! -e "$CANARY" ] || { known=1; rm -f "$CANARY"; }
	rm -f "$S/rel-link"
	rm -rf "$v"
	# (before the fix in lib/state.sh, gc.sh, list.sh, stop.sh, _teardown.sh: gc ran
	# the target's hook and removed its info, log, journal, pid)
	[ -z "$known" ]
}
