#!/usr/bin/env bats
# Root types: recipes, mkroot (atomic builds, --force, --squash), roots,
# get-root, utils/mkchroot, spawning into built roots (busybox, erlang, debian),
# ephemeral roots. Markers: sleep 61NN.
#
# The busybox and erlang roots are built once, in setup_file, into
# $UNSHARED_ROOT_TEST (default: this file's temp dir); their build times are
# printed. debian needs the Debian mirror: only with UNSHARED_TEST_NETWORK=1.
# The shell code run inside roots is in single quotes on purpose:
# shellcheck disable=SC2016

load helpers

setup_file() {
	export UNSHARED_ROOT_TEST=${UNSHARED_ROOT_TEST:-$BATS_FILE_TMPDIR/roots}
	export UNSHARED_ROOT=$UNSHARED_ROOT_TEST
	export UNSHARED_STATE=$BATS_FILE_TMPDIR/state
	local t type
	for type in busybox erlang; do
		t=$SECONDS
		if "$UC" mkroot "$type" >"$BATS_FILE_TMPDIR/$type.log" 2>&1; then
			echo "# mkroot $type: $((SECONDS - t))s" >&3
		else
			echo "# mkroot $type FAILED: $(tail -n 3 "$BATS_FILE_TMPDIR/$type.log")" >&3
		fi
	done
}

teardown_file() {
	local m
	# never let bats' rm -r of the temp dir reach through a leaked mount
	for m in $(awk -v t="$BATS_FILE_TMPDIR" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

setup() {
	common_setup
	[ "$(id -u)" = 0 ] || need "root"
	R=$UNSHARED_ROOT
	RECIPES=$BATS_TEST_TMPDIR/recipes
	mkdir -p "$RECIPES"
}

teardown() {
	local n
	# what a failed test may have left running: its instances, the erlang bridge
	for n in ut-erl-a ut-erl-b ut-roots-busy; do
		[ ! -d "$UNSHARED_STATE/$n" ] || "$UC" stop "$n" >/dev/null 2>&1 || true
	done
	ip link del ut-erl 2>/dev/null || true
	rm -rf "$UNSHARED_STATE/.net"
	common_teardown
}

# need_root TYPE: the root built in setup_file
need_root() {
	[ -d "$R/$1" ] || need "mkroot $1 failed in setup_file: $(tail -n 3 "$BATS_FILE_TMPDIR/$1.log" 2>/dev/null)"
}

# need_helpers: spawn needs forkn and pivot
need_helpers() {
	[ -x "$TOP/utils/forkn" ] && [ -x "$TOP/utils/pivot" ] || need "helpers not built (make)"
}

# recipe NAME BODY: a recipe in $RECIPES
recipe() {
	printf '#!/bin/sh\nset -eu\n%s\n' "$2" >"$RECIPES/$1"
	chmod +x "$RECIPES/$1"
}

# leftovers TYPE: temporary entries a build of TYPE left in $R (none expected)
leftovers() {
	find "$R" -mindepth 1 -maxdepth 1 -name ".$1.*"
}

# tree DIR: every entry's path, type, size, mode, owner, mtime, link target,
# and every file's hash: equal listings mean a byte-identical tree
tree() {
	find "$1" -printf '%P %y %s %m %U:%G %T@ %l\n' | sort
	(cd "$1" && find . -type f -exec sha256sum {} + | sort)
}

# start_build TYPE: mkroot TYPE in the background with SIGINT at its default
# (a background job of a non-interactive shell ignores it, and sh cannot trap
# a signal ignored on entry); waits for the recipe to have started
start_build() {
	env --default-signal=INT "$UC" mkroot "$1" >"$BATS_TEST_TMPDIR/build.log" 2>&1 &
	BUILD=$!
	local i
	for i in $(seq 100); do
		ls "$R/.$1.build."*/started >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "the recipe never started: $(cat "$BATS_TEST_TMPDIR/build.log")"
	return 1
}

# a recipe that starts (writing its pid: mkroot runs it as the leader of its
# own session), leaves a child in the background, and sleeps
slow_recipe() {
	recipe slow 'mkdir -p "$1/bin"; echo x >"$1/bin/x"; echo $$ >"$1/started"
sh -c "sleep 6102" &
echo "slow: step 1" >&2
sleep 6101'
}

@test "mkroot busybox: busybox, applet links, /etc files, the usual directories" {
	need_root busybox
	local b=$R/busybox
	[ -x "$b/bin/busybox" ]
	[ "$(readlink "$b/bin/sh")" = busybox ]
	[ "$(readlink "$b/sbin/ip")" = ../bin/busybox ]
	[ "$(readlink "$b/usr/bin/env")" = ../../bin/busybox ]
	[ "$(cut -d: -f1 "$b/etc/passwd" | tr '\n' ' ')" = "root nobody " ]
	grep -q '^root:' "$b/etc/group"
	grep -q '^hosts:' "$b/etc/nsswitch.conf"
	grep -q localhost "$b/etc/hosts"
	[ "$(stat -c %a "$b/tmp")" = 1777 ]
	for d in dev proc sys var run root; do [ -d "$b/$d" ]; done
	[ -z "$(leftovers busybox)" ]
}

@test "get-root: TYPE under \$UNSHARED_ROOT, an absolute path as it is, a bad name refused" {
	run --separate-stderr "$UC" get-root busybox
	[ "$status" -eq 0 ]
	[ "$output" = "$R/busybox" ]
	run --separate-stderr "$UC" get-root /abs/path
	[ "$output" = /abs/path ]
	run --separate-stderr "$UC" get-root ../etc
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: get-root: root type '../etc'"* ]]
}

@test "spawn --root busybox runs a shell inside the root" {
	need_root busybox
	need_helpers
	run --separate-stderr "$UC" spawn --root busybox -- /bin/sh -c \
		'test -x /bin/busybox && test ! -e /etc/debian_version && echo inside; ip -o link | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inside ]
}

@test "spawn --root TYPE not built: says how to build it" {
	need_helpers
	run --separate-stderr "$UC" spawn --root nosuch -- /bin/true
	[ "$status" -eq 125 ]
	[[ $stderr == *"mkroot nosuch"* ]]
	[ ! -e "$R/nosuch" ]
}

@test "mkroot on a built root keeps it; --force replaces it, nothing left beside" {
	need_root busybox
	local ino
	ino=$(stat -c %i "$R/busybox")
	touch "$R/busybox/marker"
	run --separate-stderr "$UC" mkroot busybox
	[ "$status" -eq 0 ]
	[ "$output" = "$R/busybox" ]
	[[ $stderr == *"already built"* ]]
	[ "$(stat -c %i "$R/busybox")" = "$ino" ]
	[ -e "$R/busybox/marker" ]
	run --separate-stderr "$UC" mkroot --force busybox
	[ "$status" -eq 0 ]
	[ "$output" = "$R/busybox" ]
	[ "$(stat -c %i "$R/busybox")" != "$ino" ]
	[ ! -e "$R/busybox/marker" ]
	[ -x "$R/busybox/bin/busybox" ]
	[ -z "$(leftovers busybox)" ]
}

@test "--force while an instance uses the root: the old one is kept until unused, then swept" {
	need_root busybox
	need_helpers
	run --separate-stderr "$UC" spawn --detach --name ut-roots-busy --root busybox -- sleep 6103
	[ "$status" -eq 0 ]
	run --separate-stderr "$UC" mkroot --force busybox
	[ "$status" -eq 0 ]
	[[ $stderr == *"in use; kept as $R/.busybox.old."* ]]
	[ -n "$(leftovers busybox)" ]
	"$UC" stop ut-roots-busy
	run --separate-stderr "$UC" mkroot busybox
	[ "$status" -eq 0 ]
	[[ $stderr == *"removing .busybox.old."* ]]
	[ -z "$(leftovers busybox)" ]
}

@test "a recipe that fails halfway leaves nothing" {
	recipe half 'mkdir -p "$1/bin"; echo x >"$1/bin/x"; echo "half: step 1" >&2; exit 3'
	UNSHARED_RECIPES=$RECIPES run --separate-stderr "$UC" mkroot half
	[ "$status" -eq 125 ]
	[ -z "$output" ]
	[[ $stderr == *"half: step 1"* ]]
	[[ $stderr == *"unshared-cli: mkroot: half: the recipe failed (status 3); nothing was installed"* ]]
	[ ! -e "$R/half" ]
	[ -z "$(leftovers half)" ]
}

@test "a recipe that makes nothing installs nothing" {
	recipe empty 'true'
	UNSHARED_RECIPES=$RECIPES run --separate-stderr "$UC" mkroot empty
	[ "$status" -eq 125 ]
	[[ $stderr == *"empty root"* ]]
	[ ! -e "$R/empty" ]
	[ -z "$(leftovers empty)" ]
}

@test "SIGINT during a build: status 130, nothing left, the recipe's processes ended" {
	slow_recipe
	export UNSHARED_RECIPES=$RECIPES
	start_build slow
	kill -INT "$BUILD"
	local st=0
	wait "$BUILD" || st=$?
	[ "$st" -eq 130 ]
	[ ! -e "$R/slow" ]
	[ -z "$(leftovers slow)" ]
	! pgrep -f '^sleep 610[12]$'
}

@test "SIGTERM during a build: status 143, nothing left, the recipe's processes ended" {
	slow_recipe
	export UNSHARED_RECIPES=$RECIPES
	start_build slow
	kill -TERM "$BUILD"
	local st=0
	wait "$BUILD" || st=$?
	[ "$st" -eq 143 ]
	[ ! -e "$R/slow" ]
	[ -z "$(leftovers slow)" ]
	! pgrep -f '^sleep 610[12]$'
}

@test "SIGINT during --force keeps the old root in place" {
	slow_recipe
	export UNSHARED_RECIPES=$RECIPES
	mkdir -p "$R/slow"
	echo old >"$R/slow/version"
	env --default-signal=INT "$UC" mkroot --force slow >"$BATS_TEST_TMPDIR/build.log" 2>&1 &
	BUILD=$!
	local i st=0
	for i in $(seq 100); do ls "$R"/.slow.build.*/started >/dev/null 2>&1 && break; sleep 0.1; done
	kill -INT "$BUILD"
	wait "$BUILD" || st=$?
	[ "$st" -eq 130 ]
	[ "$(cat "$R/slow/version")" = old ]
	[ -z "$(leftovers slow)" ]
	rm -rf "$R/slow"
}

@test "a build killed outright (SIGKILL) is swept by the next mkroot" {
	slow_recipe
	export UNSHARED_RECIPES=$RECIPES
	start_build slow
	kill -KILL "$BUILD"
	wait "$BUILD" || true
	# the recipe's session outlives a mkroot killed outright: end it here
	kill -KILL -- "-$(cat "$R"/.slow.build.*/started)"
	[ -n "$(leftovers slow)" ]
	run --separate-stderr "$UC" mkroot busybox
	[ "$status" -eq 0 ]
	[[ $stderr == *"removing .slow.build."* ]]
	[ -z "$(leftovers slow)" ]
}

@test "mounts a recipe leaves behind are undone, on success and on failure" {
	recipe mounts 'mkdir -p "$1/proc" "$1/bin"; mount -t tmpfs ut-roots "$1/proc"; echo x >"$1/bin/x"; exit "${FAIL:-0}"'
	export UNSHARED_RECIPES=$RECIPES
	FAIL=1 run --separate-stderr "$UC" mkroot mounts
	[ "$status" -eq 125 ]
	[ ! -e "$R/mounts" ]
	[ -z "$(leftovers mounts)" ]
	run --separate-stderr "$UC" mkroot mounts
	[ "$status" -eq 0 ]
	[[ $stderr == *"left mounts in the root; unmounting them"* ]]
	[ -e "$R/mounts/bin/x" ]
	! grep -q ut-roots /proc/self/mountinfo
	rm -rf "$R/mounts"
}

@test "mkroot: usage errors stop with 125 in mkroot's voice and build nothing" {
	local before
	before=$(ls -A "$R")
	run --separate-stderr "$UC" mkroot
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: mkroot: expected a TYPE"* ]]
	run --separate-stderr "$UC" mkroot ../x
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: mkroot: root type '../x'"* ]]
	run --separate-stderr "$UC" mkroot nosuch
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: mkroot: nosuch: no recipe (looked in "*"$TOP/roots"* ]]
	run --separate-stderr "$UC" mkroot busybox --bogus
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: mkroot: unknown option '--bogus'"* ]]
	run --separate-stderr "$UC" mkroot busybox erlang
	[ "$status" -eq 125 ]
	run --separate-stderr "$UC" mkroot busybox.squashfs
	[ "$status" -eq 125 ]
	[ "$(ls -A "$R")" = "$before" ]
}

@test "roots: recipes with where they come from, built roots with size and date, images" {
	need_root busybox
	run --separate-stderr "$UC" roots
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "TYPE "*ROOT*SIZE*BUILT*RECIPE ]]
	echo "$output" | grep -Eq "^busybox +dir +[0-9.]+[KMG] +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} +$TOP/roots/busybox\$"
	echo "$output" | grep -Eq "^debian +- +- +- +$TOP/roots/debian\$"
	echo "$output" | grep -q "^erlang "
}

@test "UNSHARED_RECIPES: a colon-separated list searched first, the built-in roots/ last" {
	export UNSHARED_ROOT=$BATS_TEST_TMPDIR/r2
	mkdir -p "$RECIPES/a" "$RECIPES/b"
	printf '#!/bin/sh\nmkdir -p "$1/etc"; echo mine >"$1/etc/who"\n' >"$RECIPES/a/busybox"
	printf '#!/bin/sh\nmkdir -p "$1/etc"; echo extra >"$1/etc/who"\n' >"$RECIPES/b/extra"
	chmod +x "$RECIPES/a/busybox" "$RECIPES/b/extra"
	export UNSHARED_RECIPES=$RECIPES/a:$RECIPES/b
	run --separate-stderr "$UC" roots
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq "^busybox .* $RECIPES/a/busybox\$"
	echo "$output" | grep -Eq "^extra .* $RECIPES/b/extra\$"
	echo "$output" | grep -Eq "^erlang .* $TOP/roots/erlang\$"
	run --separate-stderr "$UC" mkroot busybox
	[ "$status" -eq 0 ]
	[ "$(cat "$UNSHARED_ROOT/busybox/etc/who")" = mine ]
	run --separate-stderr "$UC" mkroot extra
	[ "$status" -eq 0 ]
	[ "$(cat "$UNSHARED_ROOT/extra/etc/who")" = extra ]
}

@test "mkroot --squash: TYPE.squashfs beside the root, kept unless --force, listed" {
	need_root busybox
	command -v mksquashfs >/dev/null || need "squashfs-tools"
	run --separate-stderr "$UC" mkroot busybox --squash
	[ "$status" -eq 0 ]
	[ "$output" = "$R/busybox.squashfs" ]
	unsquashfs -l "$R/busybox.squashfs" | grep -qx 'squashfs-root/bin/busybox'
	local ino
	ino=$(stat -c %i "$R/busybox.squashfs")
	run --separate-stderr "$UC" mkroot busybox --squash
	[ "$status" -eq 0 ]
	[ "$(stat -c %i "$R/busybox.squashfs")" = "$ino" ]
	run --separate-stderr "$UC" mkroot --force --squash busybox
	[ "$status" -eq 0 ]
	[ "$(stat -c %i "$R/busybox.squashfs")" != "$ino" ]
	[ -z "$(leftovers busybox)" ]
	run --separate-stderr "$UC" roots
	echo "$output" | grep -Eq "^busybox +squashfs +[0-9.]+[KMG] "
}

@test "spawn --root TYPE.squashfs: the image, mounted read-only, released after" {
	need_root busybox
	need_helpers
	[ -f "$R/busybox.squashfs" ] || "$UC" mkroot busybox --squash 2>/dev/null
	run --separate-stderr "$UC" spawn --root "$R/busybox.squashfs" -- /bin/sh -c 'echo inside; touch /x 2>/dev/null || echo read-only'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inside ]
	[ "${lines[1]}" = read-only ]
	run --separate-stderr "$UC" spawn --root "$R/busybox.squashfs" --ephemeral -- /bin/sh -c 'touch /x && echo written'
	[ "$status" -eq 0 ]
	[ "$output" = written ]
}

@test "mkchroot DEST /bin/ls: chroot DEST /bin/ls / runs; a second run changes nothing" {
	local d=$BATS_TEST_TMPDIR/mini
	run --separate-stderr "$TOP/utils/mkchroot" "$d" /bin/ls
	[ "$status" -eq 0 ]
	run chroot "$d" /bin/ls /
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[@]}" | grep -qx bin
	printf '%s\n' "${lines[@]}" | grep -qx etc
	[ "$(cut -d: -f1 "$d/etc/passwd" | tr '\n' ' ')" = "root nobody " ]
	for f in group nsswitch.conf hosts; do [ -s "$d/etc/$f" ]; done
	[ -e "$d$(ldd /bin/ls | awk '/ld-linux/ {print $1}')" ]
	tree "$d" >"$BATS_TEST_TMPDIR/one"
	"$TOP/utils/mkchroot" "$d" /bin/ls
	tree "$d" >"$BATS_TEST_TMPDIR/two"
	diff "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

@test "mkchroot: a name on PATH, a symlink chain, a script's interpreter; no way out of DEST" {
	local d=$BATS_TEST_TMPDIR/mini s=$BATS_TEST_TMPDIR/bin
	mkdir -p "$s"
	printf '#!/bin/sh\necho script-ok\n' >"$s/real"
	chmod +x "$s/real"
	ln -s real "$s/link"
	run --separate-stderr "$TOP/utils/mkchroot" "$d" cat "$s/link"
	[ "$status" -eq 0 ]
	[ "$(chroot "$d" "$s/link")" = script-ok ]
	[ -L "$d$s/link" ]
	echo hi | chroot "$d" "$(command -v cat)" | grep -qx hi
	run --separate-stderr "$TOP/utils/mkchroot" "$d" nosuch-command
	[ "$status" -eq 125 ]
	[[ $stderr == "unshared-cli: mkchroot: nosuch-command: not found on PATH" ]]
	local e=$BATS_TEST_TMPDIR/escape
	mkdir -p "$e"
	ln -s "$BATS_TEST_TMPDIR/outside" "$e/lib"
	run --separate-stderr "$TOP/utils/mkchroot" "$e" /bin/ls
	[ "$status" -eq 125 ]
	[[ $stderr == *"leads out of"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/outside" ]
}

@test "recipes run stand-alone: roots/busybox DEST" {
	local d=$BATS_TEST_TMPDIR/bb
	run --separate-stderr env -u UNSHARED_UTILS "$TOP/roots/busybox" "$d"
	[ "$status" -eq 0 ]
	[ "$(chroot "$d" /bin/sh -c 'echo $((6 * 7))')" = 42 ]
}

@test "the front end's mkroot and roots run under dash and busybox ash" {
	local sh
	for sh in dash "busybox ash"; do
		export UNSHARED_ROOT=$BATS_TEST_TMPDIR/r-${sh%% *}
		run --separate-stderr $sh "$UC" mkroot busybox
		[ "$status" -eq 0 ]
		[ -x "$UNSHARED_ROOT/busybox/bin/busybox" ]
		run --separate-stderr $sh "$UC" -q mkroot --force busybox
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		run --separate-stderr $sh "$UC" roots
		[ "$status" -eq 0 ]
		echo "$output" | grep -Eq '^busybox +dir'
	done
}

@test "spawn --root busybox --ephemeral: changes seen inside, the tree byte-identical after" {
	need_root busybox
	need_helpers
	tree "$R/busybox" >"$BATS_TEST_TMPDIR/before"
	run --separate-stderr "$UC" spawn --root busybox --ephemeral -- /bin/sh -c \
		'echo x >/new; rm /bin/ls; chmod 700 /etc; echo y >>/etc/passwd; mkdir /var/d; touch /tmp/t
		 test -e /new && test ! -e /bin/ls && echo changed'
	[ "$status" -eq 0 ]
	[ "$output" = changed ]
	tree "$R/busybox" >"$BATS_TEST_TMPDIR/after"
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "spawn --root busybox --overlay-dir DIR: changes persist in DIR, the root untouched" {
	need_root busybox
	need_helpers
	local o=$BATS_TEST_TMPDIR/overlay
	tree "$R/busybox" >"$BATS_TEST_TMPDIR/before"
	run --separate-stderr "$UC" spawn --root busybox --overlay-dir "$o" -- /bin/sh -c 'echo kept >/state'
	[ "$status" -eq 0 ]
	run --separate-stderr "$UC" spawn --root busybox --overlay-dir "$o" -- /bin/cat /state
	[ "$output" = kept ]
	tree "$R/busybox" >"$BATS_TEST_TMPDIR/after"
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "erlang: erl runs inside and prints the OTP release" {
	need_root erlang
	need_helpers
	run --separate-stderr "$UC" spawn --root erlang -- erl -noshell -eval \
		'io:format("~s~n", [erlang:system_info(otp_release)]), halt().'
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]+$ ]]
}

@test "erlang: two nodes on a bridge see each other (net_adm:ping)" {
	need_root erlang
	need_helpers
	[ -f "$TOP/lib/net.sh" ] || skip "networking (lib/net.sh) is not there yet"
	local a=10.213.61.2 b=10.213.61.3
	run --separate-stderr "$UC" spawn --detach --name ut-erl-a --root erlang --ephemeral \
		--bridge ut-erl --addr "$a/24" -- erl -noshell -name "a@$a" -setcookie ut-roots
	echo "a: $status $output $stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr "$UC" spawn --name ut-erl-b --root erlang --ephemeral \
		--bridge ut-erl --addr "$b/24" -- erl -noshell -name "b@$b" -setcookie ut-roots -eval "
		Ping = fun(_, 0) -> pang;
		          (F, N) -> case net_adm:ping('a@$a') of
		                        pong -> pong;
		                        pang -> timer:sleep(200), F(F, N - 1)
		                    end
		       end,
		io:format(\"~s ~p~n\", [Ping(Ping, 50), lists:sort(nodes())]), halt()."
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "pong ['a@$a']" ]
}

@test "erlang: nodes find each other by instance name (-sname, the bridge's /etc/hosts)" {
	need_root erlang
	need_helpers
	[ -f "$TOP/lib/net.sh" ] || skip "networking (lib/net.sh) is not there yet"
	run --separate-stderr "$UC" spawn --detach --name ut-erl-a --root erlang --ephemeral \
		--bridge ut-erl --addr auto -- erl -noshell -sname a@ut-erl-a -setcookie ut-roots
	echo "a: $status $output $stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr "$UC" spawn --name ut-erl-b --root erlang --ephemeral \
		--bridge ut-erl --addr auto -- erl -noshell -sname b@ut-erl-b -setcookie ut-roots -eval "
		Ping = fun(_, 0) -> pang;
		          (F, N) -> case net_adm:ping('a@ut-erl-a') of
		                        pong -> pong;
		                        pang -> timer:sleep(200), F(F, N - 1)
		                    end
		       end,
		io:format(\"~s~n\", [Ping(Ping, 50)]), halt()."
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = pong ]
}

@test "debian: a full root with apt (UNSHARED_TEST_NETWORK=1 only)" {
	[ "${UNSHARED_TEST_NETWORK:-}" = 1 ] || skip "needs the Debian mirror: set UNSHARED_TEST_NETWORK=1"
	need_helpers
	local t=$SECONDS
	run --separate-stderr "$UC" mkroot debian
	echo "# mkroot debian: $((SECONDS - t))s" >&3
	[ "$status" -eq 0 ]
	run --separate-stderr "$UC" spawn --root debian -- /bin/sh -c 'apt-get --version | head -n 1; cat /etc/debian_version'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "apt "* ]]
}
