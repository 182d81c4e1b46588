#!/usr/bin/env bats
# Lint: the shell is POSIX and shellcheck-clean; the C is warning-free.

load helpers

sh_files() {
	cd "$TOP" || return 1
	{
		echo unshared-cli
		ls lib/*.sh lib/spawn/*.sh
		grep -lE '^#! */(usr/)?bin/(env )?sh' utils/* roots/* bench/* tests/run 2>/dev/null
	} | sort -u
}

@test "shellcheck -s sh: every shell file is clean" {
	command -v shellcheck >/dev/null || need "shellcheck"
	cd "$TOP"
	run shellcheck -s sh $(sh_files)
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sh files parse under dash, busybox ash and bash --posix" {
	cd "$TOP"
	for f in $(sh_files); do
		dash -n "$f"
		busybox ash -n "$f"
		bash --posix -n "$f"
	done
}

@test "C helpers build warning-free with clang too" {
	command -v clang >/dev/null || need "clang"
	cd "$TOP"
	for h in forkn pivot nsnet delayq; do
		clang -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
			-fsyntax-only "utils/$h.c"
	done
}
