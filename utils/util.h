/* Shared by the C helpers: one error voice and a few checked wrappers.
 * Every message is "unshared-cli: <helper>: <what failed>[: <why>]" on stderr;
 * every failure of a helper itself exits 125 (the command's own status is
 * never confused with ours: see the exit status table in docs/ARCHITECTURE.md). */
#ifndef UNSHARED_UTIL_H
#define UNSHARED_UTIL_H

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#define EXIT_SETUP 125 /* the helper itself failed */
#define EXIT_NOEXEC 126 /* command found but not executable */
#define EXIT_NOTFOUND 127 /* command not found */

static const char *helper_name = "helper";
/* A helper that reports "the command is running" by closing this fd at exec
 * (FD_CLOEXEC) says "it never will" by writing one byte before it dies. */
static int exec_notify_fd = -1;
/* Run once by die*() before the exit: a helper that holds something it must
 * give back on any failure (nsnet's state directory) sets it. */
static void (*die_hook)(void);

__attribute__((format(printf, 2, 0))) static inline void vwarn_msg(int err, const char *fmt, va_list ap)
{
	char buf[1024];

	/* a message never runs past one line: a clipped one ends in "..." */
	if (vsnprintf(buf, sizeof(buf), fmt, ap) >= (int)sizeof(buf))
		memcpy(buf + sizeof(buf) - 4, "...", 4);
	if (err)
		fprintf(stderr, "unshared-cli: %s: %s: %s\n", helper_name, buf, strerror(err));
	else
		fprintf(stderr, "unshared-cli: %s: %s\n", helper_name, buf);
}

__attribute__((format(printf, 1, 2))) static inline void warn_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_msg(0, fmt, ap);
	va_end(ap);
}

/* leave: a failure already reported (or reported by someone else): the
 * die_hook, the exec notification, then the exit with CODE. */
__attribute__((noreturn)) static inline void leave(int code)
{
	if (die_hook) {
		void (*hook)(void) = die_hook;

		die_hook = NULL;
		hook();
	}
	if (exec_notify_fd >= 0 && write(exec_notify_fd, "", 1) < 0)
		_exit(code); /* the waiter sees EOF and then our status: enough */
	_exit(code);
}

/* die_code: leave with an explicit status (126/127 for exec failures). */
__attribute__((noreturn, format(printf, 3, 4))) static inline void
die_code(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_msg(err, fmt, ap);
	va_end(ap);
	leave(code);
}

#define die(...) die_code(EXIT_SETUP, 0, __VA_ARGS__)
#define die_errno(...) die_code(EXIT_SETUP, errno, __VA_ARGS__)

/* OPTION's value ARG: an inherited descriptor number above the standard three. */
static inline int fd_option(const char *option, const char *arg)
{
	char *end;
	long fd = strtol(arg, &end, 10);

	if (*arg == '\0' || *end || fd < 3 || fd > 1023)
		die("%s '%s': a descriptor number from 3 to 1023", option, arg);
	return (int)fd;
}

/* One byte with room for one descriptor (SCM_RIGHTS) over a unix socket:
 * nsnet up --netns-to sends the network namespace, pivot --netns-from takes it. */
struct fd_msg {
	char byte;
	_Alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr m;
};

static inline struct msghdr *fd_msg_init(struct fd_msg *f, char byte)
{
	memset(f, 0, sizeof(*f));
	f->byte = byte;
	f->iov.iov_base = &f->byte;
	f->iov.iov_len = 1;
	f->m.msg_iov = &f->iov;
	f->m.msg_iovlen = 1;
	f->m.msg_control = f->ctl;
	f->m.msg_controllen = sizeof(f->ctl);
	return &f->m;
}

/* A usage error from getopt_long (run with opterr = 0 and optstring ":...")
 * names the offending argument, in the same one-line voice. */
__attribute__((noreturn)) static inline void bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		die("option '%s' requires an argument", arg);
	if (optopt > 0 && optopt < 256)
		die("unrecognized option '-%c'", optopt);
	die("unrecognized option '%s'", arg);
}

#endif
