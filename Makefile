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

CC ?= cc
CFLAGS ?= -O2
WARN = -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
# static when the toolchain allows, so the helpers run inside any root
STATIC := $(shell printf 'int main(void){return 0;}' | $(CC) -static -x c - -o /dev/null 2>/dev/null && echo -static)
LDFLAGS ?= $(STATIC)

HELPERS = utils/forkn utils/pivot
# Debian package -> a command it provides, for `make deps`
DEPS = util-linux:nsenter iproute2:ip bats:bats busybox-static:busybox shellcheck:shellcheck \
	python3:python3 squashfs-tools:mksquashfs procps:pgrep

all: $(HELPERS)

utils/%: utils/%.c utils/util.h
	$(CC) $(WARN) $(CFLAGS) -o $@ $< $(LDFLAGS)

# install the packages whose commands are missing (Debian/Ubuntu, as root)
deps:
	@missing=; for d in $(DEPS); do command -v $${d#*:} >/dev/null 2>&1 || missing="$$missing $${d%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	fi

check: deps all
	tests/run

check-sanitize:
	$(MAKE) clean
	$(MAKE) all LDFLAGS= CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"
	tests/run tests/forkn.bats tests/pivot.bats tests/spawn.bats; rc=$$?; $(MAKE) clean; $(MAKE) all; exit $$rc

demo: deps all
	@./unshared-cli get-root busybox >/dev/null
	@[ -d "$$(./unshared-cli get-root busybox)" ] || ./unshared-cli mkroot busybox
	./unshared-cli spawn --name demo-a --net --bridge demo0 --addr 10.213.0.2/16 --root busybox --detach -- httpd -f -p 80 -h /etc
	./unshared-cli spawn --name demo-b --net --bridge demo0 --addr auto --root busybox -- \
		/bin/sh -c 'echo "demo-b: my address: $$(ip -o -4 addr show eth0 | awk "{print \$$4}")"; \
		wget -q -O - http://demo-a/hostname && echo "demo-b: fetched /etc/hostname from demo-a over the bridge"'
	./unshared-cli stop demo-a
	ip link del demo0

clean:
	rm -f $(HELPERS)

.PHONY: all deps check check-sanitize demo clean
