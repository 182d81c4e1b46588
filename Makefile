# unshared-cli: build the C helpers, run the tests, install.
#   make            build utils/forkn and utils/pivot
#   make demo       install what is missing, build, run two instances on a bridge
#   make check      install what the tests need, build, run every test suite
#   make install PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib/unshared-cli
MANDIR = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions

# musl when it is installed: every spawn execs both helpers, and a static musl
# binary starts in well under half the time of a static glibc one. CC=gcc or
# CC=clang (command line or environment) still build them, with that libc.
ifeq ($(origin CC),default)
CC := $(shell command -v musl-gcc >/dev/null 2>&1 && echo musl-gcc || echo cc)
endif
CFLAGS ?= -O2
WARN = -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
# static when the toolchain allows, so the helpers run inside any root
STATIC := $(shell printf 'int main(void){return 0;}' | $(CC) -static -x c - -o /dev/null 2>/dev/null && echo -static)
LDFLAGS ?= $(STATIC)
# musl's include path has no kernel headers: give it those and only those (never
# /usr/include itself, whose glibc headers would mix into a musl build)
KERNEL_HEADERS ?= /usr/include
KINC = build/kernel-include
ifneq ($(findstring musl,$(notdir $(CC))),)
KASM := $(firstword $(wildcard $(KERNEL_HEADERS)/$(shell $(CC) -print-multiarch 2>/dev/null)/asm) \
	$(wildcard $(KERNEL_HEADERS)/asm))
WARN += -isystem $(KINC)
KINC_DEP = $(KINC)
endif

HELPERS = utils/forkn utils/pivot utils/delayq utils/nsnet
# Debian package -> a command it provides, for `make deps`
DEPS = util-linux:nsenter iproute2:ip bats:bats busybox-static:busybox shellcheck:shellcheck \
	python3:python3 squashfs-tools:mksquashfs procps:pgrep musl-tools:musl-gcc strace:strace \
	nftables:nft iptables:iptables etcd-server:etcd etcd-client:etcdctl graphviz:dot \
	bubblewrap:bwrap clang:clang zsh:zsh

all: $(HELPERS)

utils/%: utils/%.c utils/util.h utils/sys.h | $(KINC_DEP)
	$(CC) $(WARN) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(KINC):
	@[ -d '$(KERNEL_HEADERS)/linux' ] && [ -d '$(KERNEL_HEADERS)/asm-generic' ] && [ -n '$(KASM)' ] || \
		{ echo "no kernel headers in $(KERNEL_HEADERS) (apt-get install linux-libc-dev)" >&2; exit 1; }
	rm -rf $@.tmp; mkdir -p $@.tmp
	ln -sfn '$(KERNEL_HEADERS)/linux' $@.tmp/linux
	ln -sfn '$(KERNEL_HEADERS)/asm-generic' $@.tmp/asm-generic
	ln -sfn '$(KASM)' $@.tmp/asm
	rm -rf $@; mv -T $@.tmp $@

# install the packages whose commands are missing (Debian/Ubuntu, as root)
deps:
	@missing=; for d in $(DEPS); do command -v $${d#*:} >/dev/null 2>&1 || missing="$$missing $${d%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	fi

# all in a sub-make: CC is chosen when the Makefile is read, before deps may install musl
check: deps
	$(MAKE) all
	tests/run

check-sanitize:
	$(MAKE) clean
	$(MAKE) all CC=gcc LDFLAGS= CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" # ASan needs glibc
	# LeakSanitizer stops the world with ptrace: it cannot under strace (the
	# hot-path test) nor as pid 1 of a new pid namespace; ASan and UBSan still run
	ASAN_OPTIONS=detect_leaks=0 tests/run tests/forkn.bats tests/pivot.bats tests/spawn.bats tests/nsnet.bats; \
		rc=$$?; $(MAKE) clean; $(MAKE) all; exit $$rc

demo: deps all
	examples/demo

clean:
	rm -f $(HELPERS)
	rm -rf build

# install: the front end, its library, the helpers, the recipes, man pages and
# completion. The front end finds its library at $(BINDIR)/../lib/unshared-cli
# (the fallback in ./unshared-cli), so LIBDIR must stay $(PREFIX)/lib/unshared-cli
# beside BINDIR. The helpers go to $(LIBDIR)/utils only, never on PATH.
install: all
	@b='$(BINDIR)'; [ '$(LIBDIR)' = "$${b%/*}/lib/unshared-cli" ] || \
		{ echo "install: LIBDIR must be BINDIR/../lib/unshared-cli, where the front end looks" >&2; exit 1; }
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LIBDIR)/lib/spawn' '$(DESTDIR)$(LIBDIR)/utils' \
		'$(DESTDIR)$(LIBDIR)/roots' '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(MANDIR)/man8' \
		'$(DESTDIR)$(BASHCOMPDIR)' '$(DESTDIR)$(PREFIX)/share/zsh/site-functions'
	install -m 755 unshared-cli '$(DESTDIR)$(BINDIR)/unshared-cli'
	install -m 644 lib/*.sh '$(DESTDIR)$(LIBDIR)/lib/'
	install -m 644 lib/spawn/* '$(DESTDIR)$(LIBDIR)/lib/spawn/'
	for u in forkn pivot nsnet delayq initnetns destroynetns mkchroot; do \
		[ ! -f "utils/$$u" ] || install -m 755 "utils/$$u" '$(DESTDIR)$(LIBDIR)/utils/' || exit; \
	done
	for r in roots/*; do \
		[ -f "$$r" ] || continue; if [ -x "$$r" ]; then m=755; else m=644; fi; \
		install -m $$m "$$r" '$(DESTDIR)$(LIBDIR)/roots/' || exit; \
	done
	install -m 644 docs/*.1 '$(DESTDIR)$(MANDIR)/man1/'
	install -m 644 docs/*.8 '$(DESTDIR)$(MANDIR)/man8/'
	install -m 644 completion/unshared-cli.bash '$(DESTDIR)$(BASHCOMPDIR)/unshared-cli'
	install -m 644 completion/_unshared-cli '$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_unshared-cli'

# uninstall: what install put, and the directories that are ours once empty
# (recipes a user dropped into $(LIBDIR)/roots stay, and so does that directory)
uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/unshared-cli' '$(DESTDIR)$(LIBDIR)'/lib/*.sh
	for f in lib/spawn/*; do rm -f "$(DESTDIR)$(LIBDIR)/$$f"; done
	for u in forkn pivot nsnet delayq initnetns destroynetns mkchroot; do rm -f "$(DESTDIR)$(LIBDIR)/utils/$$u"; done
	for r in roots/*; do [ ! -f "$$r" ] || rm -f "$(DESTDIR)$(LIBDIR)/roots/$${r#roots/}"; done
	for m in docs/*.1; do rm -f "$(DESTDIR)$(MANDIR)/man1/$${m#docs/}"; done
	for m in docs/*.8; do rm -f "$(DESTDIR)$(MANDIR)/man8/$${m#docs/}"; done
	rm -f '$(DESTDIR)$(BASHCOMPDIR)/unshared-cli' '$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_unshared-cli'
	for d in lib/spawn lib utils roots; do rmdir "$(DESTDIR)$(LIBDIR)/$$d" 2>/dev/null || true; done
	rmdir '$(DESTDIR)$(LIBDIR)' 2>/dev/null || true

# deb: the Debian package, built by dpkg-buildpackage from a copy of this tree
# (the tree is left as it is); the .deb lands in DEBOUT (default: .., where
# dpkg-buildpackage puts it). Installs the build tools when they are missing.
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null && command -v cc >/dev/null || { \
		echo "installing: build-essential debhelper devscripts"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends build-essential debhelper devscripts >/dev/null; }
	@set -e; out='$(or $(DEBOUT),..)'; v=$$(dpkg-parsechangelog -S Version); \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/unshared-cli-$$v"; \
	tar -c --dereference --exclude=.git --exclude='*.deb' . | tar -x -C "$$tmp/unshared-cli-$$v"; \
	(cd "$$tmp/unshared-cli-$$v" && dpkg-buildpackage -us -uc -b); \
	mkdir -p "$$out"; cp "$$tmp"/unshared-cli_"$$v"_*.deb "$$out/"; \
	echo "built: $$(cd "$$out" && ls -d "$$PWD"/unshared-cli_"$$v"_*.deb)"

# bench: spawn latency against bwrap and unshare+chroot, network setup and
# teardown, 1000 instances on one bridge: one table (bench/run). As root.
# BENCHFLAGS: bench/run's options, e.g. -n 50, --scale 100, --record
bench: all
	bench/run $(BENCHFLAGS)

.PHONY: all deps check check-sanitize demo clean install uninstall deb bench

# ---- fuzz: the helpers' argument parsing under AFL++ (not in check, not in CI) ----
# make fuzz [FUZZ_SECONDS=60] [FUZZ_HELPERS="forkn pivot nsnet delayq"]
# Each helper is built from utils/HELPER.c by afl-clang-fast with ASan and
# UBSan, -DFUZZ_PARSE_ONLY (its FUZZ_PARSE_ONLY guards return once the
# arguments are parsed and checked, before the first action: a helper without
# them is refused) and -Dmain=fuzz_helper_main, behind tests/fuzz/argv.c, which
# turns the input (words separated by NUL bytes) into argv. afl-fuzz runs on
# each for FUZZ_SECONDS, one after the other, seeded from tests/fuzz/corpus/
# HELPER, with the option names of the source and the strings it compares
# against as a dictionary; inside bwrap when there is one (read-only host, no
# capabilities, its own network, pid and ipc namespaces), so that even a
# missing guard could act on nothing. Everything is written under build/fuzz:
# build/fuzz/out/HELPER/default/{crashes,hangs,queue}, build/fuzz/HELPER.log.
# A second run resumes the first; `rm -rf build/fuzz` starts afresh. Each
# crash kept becomes tests/fuzz/crashes/HELPER/NAME, replayed by tests/fuzz.bats.
FUZZ_SECONDS ?= 60
FUZZ_HELPERS ?= forkn pivot nsnet delayq
FUZZ_SRC ?= utils
FUZZ_DIR = build/fuzz
FUZZ_CC ?= afl-clang-fast
FUZZ_CFLAGS ?= -O1 -g -fno-omit-frame-pointer
FUZZ_AFLFLAGS ?= -t 1000
FUZZ_SANDBOX ?= $(if $(shell command -v bwrap 2>/dev/null),bwrap --ro-bind / / --dev /dev --proc /proc \
	--tmpfs /tmp --bind '$(CURDIR)/$(FUZZ_DIR)' '$(CURDIR)/$(FUZZ_DIR)' --unshare-all --cap-drop ALL \
	--die-with-parent --chdir '$(CURDIR)' --)
FUZZ_ENV = AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_AUTORESUME=1 AFL_FAST_CAL=1 \
	AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CRASHES=1

fuzz: $(FUZZ_HELPERS:%=$(FUZZ_DIR)/bin/%)
	@command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found (apt-get install afl++)" >&2; exit 1; }
	@mkdir -p $(FUZZ_DIR)/out; found=0; \
	for h in $(FUZZ_HELPERS); do \
		echo "fuzz: $$h, $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/$$h.log)"; \
		$(FUZZ_ENV) $(FUZZ_SANDBOX) afl-fuzz -V $(FUZZ_SECONDS) $(FUZZ_AFLFLAGS) -i tests/fuzz/corpus/$$h \
			-o $(FUZZ_DIR)/out/$$h -x $(FUZZ_DIR)/$$h.dict -- $(FUZZ_DIR)/bin/$$h \
			>$(FUZZ_DIR)/$$h.log 2>&1 || { tail -n 20 $(FUZZ_DIR)/$$h.log >&2; exit 1; }; \
		s=$(FUZZ_DIR)/out/$$h/default/fuzzer_stats; \
		awk -F' *: *' -v h=$$h '{ v[$$1] = $$2 } END { printf "fuzz: %s: %s execs in %s s (%s/s), %s paths, %s crashes, %s hangs\n", \
			h, v["execs_done"], v["run_time"], v["execs_per_sec"], v["corpus_count"], v["saved_crashes"], v["saved_hangs"] }' $$s; \
		for c in $(FUZZ_DIR)/out/$$h/default/crashes/id:*; do \
			[ -f "$$c" ] || continue; found=1; \
			printf '  crash: %s: argv' "$$c"; tr '\0' '\n' <"$$c" | head -c 300 | sed 's/^/ [/; s/$$/]/' | tr -d '\n'; echo; \
		done; \
	done; \
	[ "$$found" = 0 ] || { echo "fuzz: crashes found: keep each as tests/fuzz/crashes/HELPER/NAME (see tests/fuzz.bats)" >&2; exit 1; }

$(FUZZ_DIR)/bin/%: $(FUZZ_SRC)/%.c tests/fuzz/argv.c utils/util.h utils/sys.h
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (apt-get install afl++)" >&2; exit 1; }
	@grep -q '^#ifdef FUZZ_PARSE_ONLY' $< || { echo "fuzz: $< has no FUZZ_PARSE_ONLY guard" \
		"(#ifdef FUZZ_PARSE_ONLY / return 0; / #endif once its arguments are checked): refusing to fuzz a helper that would act" >&2; exit 1; }
	mkdir -p $(FUZZ_DIR)/obj $(@D)
	rm -f $(FUZZ_DIR)/$*.auto.dict
	AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_LLVM_DICT2FILE='$(CURDIR)/$(FUZZ_DIR)/$*.auto.dict' \
		$(FUZZ_CC) -std=c11 -Wall -Wextra -Iutils $(FUZZ_CFLAGS) -DFUZZ_PARSE_ONLY -Dmain=fuzz_helper_main \
		-c -o $(FUZZ_DIR)/obj/$*.o $<
	AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 $(FUZZ_CC) -std=c11 -Wall -Wextra $(FUZZ_CFLAGS) \
		-c -o $(FUZZ_DIR)/obj/$*-argv.o tests/fuzz/argv.c
	AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 $(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(FUZZ_DIR)/obj/$*.o $(FUZZ_DIR)/obj/$*-argv.o
	{ sed -nE 's/.*\{ *"([a-z][a-z-]*)", *(no|required)_argument.*/"--\1"/p' $<; \
		grep -oE '"--?[a-z][a-z-]*"' $<; cat $(FUZZ_DIR)/$*.auto.dict 2>/dev/null; } | \
		awk 'length($$0) <= 100 && !seen[$$0]++' >$(FUZZ_DIR)/$*.dict

.PHONY: fuzz
