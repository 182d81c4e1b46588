/* The kernel interfaces the helpers use that a C library may not wrap, spelled
 * once so that a glibc and a musl build run the same code (musl, preferred for
 * its cheaper static start-up, wraps none of the new mount API, nor
 * close_range, clone3, openat2, pivot_root or, before 1.2.5, statx).
 *
 * One static inline sys_<call> per system call, over syscall(2); the
 * constants and structures come from the kernel's own uapi headers (linux/,
 * which the Makefile hands a musl build on its own, without the rest of
 * /usr/include). Also exec_search: execvp(3) with glibc's rules, because
 * musl's differ; read_text_at and proc_stat_field, the small files the
 * helpers read; mount_ns_id (forkn --mount-ns, pivot --mount-ns-made); and
 * how forkn and nsnet write the registry (replace_file, take_dir). Needs
 * _GNU_SOURCE, like the helpers. */
#ifndef UNSHARED_SYS_H
#define UNSHARED_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
/* glibc's <sys/stat.h> brings struct statx (from <linux/stat.h>); musl before
 * 1.2.5 has none, from 1.2.5 its own, which the kernel's would clash with */
#ifndef STATX_TYPE
#include <linux/stat.h>
#endif

#ifndef SYS_clone3
#define SYS_clone3 435 /* the same number on every architecture */
#endif

/* ---- processes and descriptors ---- */

static inline int sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

/* The child returns 0: it comes from a raw clone, so the libc's cached
 * thread id is stale in it (see fork_with in forkn.c). */
static inline pid_t sys_clone3(struct clone_args *args, size_t size)
{
	return (pid_t)syscall(SYS_clone3, args, size);
}

/* clone(2) with no new stack: fork() with FLAGS (the argument order of the
 * raw call differs on s390 and CRIS). */
static inline pid_t sys_clone_flags(unsigned long flags)
{
#if defined(__s390__) || defined(__CRIS__)
	return (pid_t)syscall(SYS_clone, 0L, flags);
#else
	return (pid_t)syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
#endif
}

/* ---- credentials ---- */

/* capget/capset: libcap's, not the C library's (glibc declares neither,
 * musl neither) */
static inline int sys_capget(struct __user_cap_header_struct *hdr, struct __user_cap_data_struct *data)
{
	return (int)syscall(SYS_capget, hdr, data);
}

static inline int sys_capset(struct __user_cap_header_struct *hdr, const struct __user_cap_data_struct *data)
{
	return (int)syscall(SYS_capset, hdr, data);
}

/* ---- paths and mounts ---- */

static inline int sys_openat2(int dirfd, const char *path, struct open_how *how, size_t size)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, size);
}

static inline int sys_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
	return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}

static inline int sys_fsopen(const char *fstype, unsigned int flags)
{
	return (int)syscall(SYS_fsopen, fstype, flags);
}

static inline int sys_fsconfig(int fs, unsigned int cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fs, cmd, key, value, aux);
}

static inline int sys_fsmount(int fs, unsigned int flags, unsigned int attrs)
{
	return (int)syscall(SYS_fsmount, fs, flags, attrs);
}

static inline int sys_open_tree(int dirfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static inline int sys_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
				 unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

static inline int sys_mount_setattr(int dirfd, const char *path, unsigned int flags, struct mount_attr *attr,
				    size_t size)
{
	return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, size);
}

/* SIG_DFL straight from the kernel, for the signals a libc keeps for itself
 * (32..34: glibc's and musl's sigaction refuse them with EINVAL): a caller's
 * SIG_IGN on them would otherwise survive every exec. SIG_DFL is 0, so an
 * all-zero kernel struct sigaction means "default, no flags, empty mask" on
 * every layout; the last argument is the kernel's sigset size. */
static inline int sys_default_signal(int sig)
{
	unsigned long zero[4] = { 0, 0, 0, 0 };

	return (int)syscall(SYS_rt_sigaction, sig, zero, NULL, sizeof(unsigned long));
}

static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

#ifndef RENAME_EXCHANGE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static inline int sys_renameat2(int olddir, const char *oldpath, int newdir, const char *newpath, unsigned int flags)
{
	return (int)syscall(SYS_renameat2, olddir, oldpath, newdir, newpath, flags);
}

/* ---- exec with a PATH search ---- */

/* A file the kernel would not run (ENOEXEC: no #!, not ELF) goes to /bin/sh,
 * as glibc's execvp does. Returns with errno on failure. */
static inline void exec_as_script(const char *path, char *const argv[])
{
	size_t argc = 0;

	while (argv[argc])
		argc++;
	char *sh_argv[argc + 2];
	sh_argv[0] = (char *)"/bin/sh";
	sh_argv[1] = (char *)path;
	for (size_t i = 1; i <= argc; i++) /* argv[0] is replaced by PATH; the NULL too */
		sh_argv[i + 1] = argv[i];
	if (argc == 0)
		sh_argv[2] = NULL;
	execv(sh_argv[0], sh_argv);
}

/* execvp(3) with glibc's rules, whatever the libc (musl's execvp hands no
 * file to /bin/sh and searches another default PATH): a FILE with a '/' is run
 * as it is; otherwise each PATH entry in turn (an empty entry is the working
 * directory; PATH unset: /bin:/usr/bin), skipping the entries where it is
 * missing or denied. Returns only on failure, with errno: EACCES when some
 * candidate was denied and none ran, else the last error. */
static inline int exec_search(const char *file, char *const argv[])
{
	const char *path = getenv("PATH"), *p, *end;
	size_t flen = strlen(file);
	bool denied = false;

	if (flen == 0) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/')) {
		execv(file, argv);
		if (errno == ENOEXEC)
			exec_as_script(file, argv);
		return -1;
	}
	if (flen > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		char buf[PATH_MAX + NAME_MAX + 2];
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen < PATH_MAX) { /* longer: no such file can be named */
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + (dlen > 0), file, flen + 1);
			execv(buf, argv);
			if (errno == ENOEXEC)
				exec_as_script(buf, argv);
			switch (errno) {
			case EACCES:
				denied = true;
				/* fall through */
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break; /* not here: the next entry */
			default:
				return -1; /* found, but it would not run */
			}
		}
		if (*end == '\0')
			break;
	}
	if (denied)
		errno = EACCES;
	return -1;
}

/* ---- small files ---- */

/* The whole of the small file PATH (absolute, or relative to DIR) in BUF,
 * NUL-terminated; what does not fit in SIZE - 1 bytes is left unread. FLAGS
 * are added to open's (O_NOFOLLOW for the registry's own files). Returns the
 * length, or -1 with errno (that of the open, or of the read). */
static inline ssize_t read_text_at(int dir, const char *path, int flags, char *buf, size_t size)
{
	int fd = openat(dir, path, O_RDONLY | O_CLOEXEC | flags), err;
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Field FIELD (1-based, as in proc(5)) of /proc/PID/stat: 4 the parent, 22
 * the start time (what DIR/pid records beside the pid). The comm field may
 * hold spaces and ')', so counting starts after the last ')'. 0, or -1 with
 * errno (EINVAL: no such field). */
static inline int proc_stat_field(pid_t pid, int field, unsigned long long *out)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_text_at(AT_FDCWD, path, 0, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');
	for (int f = 2; p && f < field; f++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", out) != 1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- forkn --mount-ns, pivot --mount-ns-made ---- */

/* The identity of this process's mount namespace, as forkn --mount-ns passes
 * it (UNSHARED_OUTER_MNTNS) and pivot --mount-ns-made compares it: the id of
 * the mount at "/" ("m:ID": CLONE_NEWNS copies every mount, each copy with an
 * id of its own), one statx (~1 us); before Linux 5.8, the namespace's
 * DEV:INO from /proc ("n:DEV:INO", ~8 us in a process that never looked at
 * its /proc entry). -1 with errno when neither can be read. */
static inline int mount_ns_id(char *out, size_t size)
{
	struct statx stx;
	struct stat st;

	if (sys_statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID)) {
		snprintf(out, size, "m:%llu", (unsigned long long)stx.stx_mnt_id);
		return 0;
	}
	if (stat("/proc/self/ns/mnt", &st) < 0)
		return -1;
	snprintf(out, size, "n:%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return 0;
}

/* ---- the registry's files and directories (forkn, nsnet) ---- */

/* On this machine $UNSHARED_STATE is on ext4 mounted -o discard without a
 * journal: a block freed waits for a discard (~0.1 ms) before the call
 * returns. A file removed before writeback never had a block; a directory
 * always has one. On a tmpfs none of this costs anything, and it is not
 * worse there. */

/* Put the file TMP in place of NAME (both in DIR), atomically for readers.
 * An existing NAME is swapped out (RENAME_EXCHANGE) and then removed, not
 * renamed over: ext4 allocates the block of a file that replaces another at
 * once (auto_da_alloc), and on a filesystem mounted -o discard without a
 * journal, as here, its removal then waits for a discard (a rename over
 * 24 us, that removal 126 us; swap and remove 5 us, that removal 2 us). A
 * file removed before writeback never gets a block. */
static inline int replace_file(int dir, const char *tmp, const char *name)
{
	if (sys_renameat2(dir, tmp, dir, name, RENAME_EXCHANGE) == 0)
		return unlinkat(dir, tmp, 0);
	/* ENOENT: no NAME yet; EINVAL: a filesystem without the exchange */
	if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
		return -1;
	return renameat(dir, tmp, dir, name);
}

/* getdents64(2)'s records, read into a buffer on the stack: no malloc, no
 * DIR (this runs before the command starts) */
struct dirent_rec {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

#define DIRENT_TYPE_DIR 4 /* DT_DIR */

static inline long read_dirents(int fd, char *buf, size_t size)
{
	return syscall(SYS_getdents64, fd, buf, size);
}

/* Whether NAME in DIR is an empty 0700 directory of ours: nothing in it but
 * "." and "..", no symlink, no one else's. */
static inline bool empty_dir_of_ours(int dir, const char *name)
{
	_Alignas(8) char buf[256];
	struct stat st;
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	long n, off = 0;
	bool empty;

	if (fd < 0)
		return false;
	empty = fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) == 0700 && st.st_nlink == 2 &&
		(n = read_dirents(fd, buf, sizeof(buf))) > 0;
	for (; empty && off < n; off += ((struct dirent_rec *)(buf + off))->reclen) {
		const char *d = ((struct dirent_rec *)(buf + off))->name;

		empty = strcmp(d, ".") == 0 || strcmp(d, "..") == 0;
	}
	/* all of it in one read: a second one says nothing more is there */
	if (empty)
		empty = read_dirents(fd, buf, sizeof(buf)) == 0;
	close(fd);
	return empty;
}

/* In place of mkdir(DIR, 0700): an empty 0700 directory of ours renamed out
 * of TRASH, where forkn --trash puts the emptied state directories (the
 * rename costs ~3 us, the rmdir it saves ~0.1 ms here, and a loop of short
 * spawns no longer makes the trash grow). Returns 0 when DIR was taken or
 * made, -1 with errno (EEXIST: the name is in use). What is not an empty
 * directory of ours stays in TRASH, for gc. */
static inline int take_dir(const char *trash, const char *dir)
{
	_Alignas(8) char buf[1024];
	struct stat st;
	int tfd = trash ? open(trash, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	long n = 0;
	int rc = 1, tries = 0;

	/* a directory's links: 2, plus one per subdirectory */
	if (tfd >= 0 && fstat(tfd, &st) == 0 && st.st_nlink > 2)
		n = read_dirents(tfd, buf, sizeof(buf));
	for (long off = 0; off < n && rc > 0 && tries < 4; off += ((struct dirent_rec *)(buf + off))->reclen) {
		const struct dirent_rec *e = (struct dirent_rec *)(buf + off);

		if (e->type != DIRENT_TYPE_DIR || e->name[0] == '.' || !empty_dir_of_ours(tfd, e->name))
			continue;
		tries++;
		if (sys_renameat2(tfd, e->name, AT_FDCWD, dir, RENAME_NOREPLACE) == 0)
			rc = 0;
		else if (errno == EEXIST)
			rc = -1;
		else if (errno != ENOENT) /* ENOENT: another spawn took it first */
			break; /* EXDEV, EINVAL (no RENAME_NOREPLACE): mkdir */
	}
	if (tfd >= 0)
		close(tfd);
	return rc <= 0 ? rc : mkdir(dir, 0700);
}

#endif
