/* pivot: make namespaces, mount inside a new root, pivot_root into it, exec.
 *
 *   pivot [OPTIONS] NEWROOT [--] CMD [ARG...]
 *
 * See docs/ARCHITECTURE.md, "pivot". The shape: argv becomes an ordered list
 * of mount operations plus a few settings (parse); the list is checked once
 * against the filesystem before anything changes (validate); then main runs
 * fixed phases: enter namespaces, prepare images, prepare the root, apply the
 * operations in order, run the prechroot hooks, switch root, drop privileges
 * (ids, capabilities), exec (no_new_privs, seccomp last).
 *
 * How mounts are made: every new filesystem is built detached (fsopen,
 * fsmount), every bind is a detached clone (open_tree), its attributes
 * (nodev, read-only) are set before it becomes visible, and it is attached
 * with move_mount onto the O_PATH descriptor of its destination, which was
 * resolved inside the root by openat2(RESOLVE_IN_ROOT). The kernel attaches
 * on exactly the object that was resolved; no path is looked up a second
 * time, not even through /proc/self/fd (which, for NEWROOT /, an earlier
 * operation may already have covered).
 *
 * Every descriptor is O_CLOEXEC and closed once used; nothing here reaches
 * the host's mount table: a mount namespace is always unshared first and /
 * made private before the first mount. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "util.h"
#include "sys.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char usage_line[] = "usage: pivot [OPTIONS] NEWROOT [--] CMD [ARG...]";

/* --help (docs/pivot.1 says the same at length: keep them in step). */
__attribute__((noreturn)) static void usage(void)
{
	printf("%s\n\n"
	       "namespaces (a mount namespace is always made, or with --mount-ns-made was\n"
	       "made by the caller, forkn --pid --mount-ns, whose init follows the pivot_root):\n"
	       "  --unshare-uts --unshare-ipc --unshare-net --unshare-cgroup  --mount-ns-made\n"
	       "  --netns PATH  --netns-from N  --hostname NAME\n"
	       "mount operations, in the order given, every DST inside NEWROOT:\n"
	       "  --bind SRC DST  --ro-bind SRC DST  --dev-bind SRC DST\n"
	       "  --data-dir SRC:DST[:ro|:rw]  --tmpfs DST  --proc DST  --dev DST\n"
	       "  --mqueue DST  --remount-ro DST  --overlay SRC DST WORKDIR\n"
	       "  --squash IMAGE DST  --squash-overlay IMAGE DST WORKDIR\n"
	       "the root:\n"
	       "  --default-mounts  --read-only  --ephemeral  --overlay-dir DIR  --root-image IMAGE\n"
	       "  --chdir DIR  --prechroot STRING  --setenv KEY VALUE  --exec-fd N\n"
	       "the command (after pivot_root; no_new_privs is always set):\n"
	       "  --setuid UID  --setgid GID  --groups GID,...   (numbers)\n"
	       "  --cap-drop all|CAP,...  --cap-add CAP,...  --seccomp FILE\n",
	       usage_line);
	exit(0);
}

enum op_kind {
	OP_BIND,
	OP_RO_BIND,
	OP_DEV_BIND,
	OP_DATA_DIR,
	OP_TMPFS,
	OP_PROC,
	OP_MQUEUE,
	OP_REMOUNT_RO,
	OP_DEV,
	OP_OVERLAY,
	OP_SQUASH,
	OP_SQUASH_OVERLAY,
};

/* One row per mount option: its spelling, its name in messages, how many
 * arguments follow and what they are called (for "missing argument"). */
struct op_spec {
	const char *opt;
	const char *name;
	int nargs;
	const char *args;
	enum op_kind kind;
};

static const struct op_spec op_specs[] = {
	{ "--bind", "bind", 2, "SRC DST", OP_BIND },
	{ "--ro-bind", "ro-bind", 2, "SRC DST", OP_RO_BIND },
	{ "--dev-bind", "dev-bind", 2, "SRC DST", OP_DEV_BIND },
	{ "--data-dir", "data-dir", 1, "SRC:DST[:ro|:rw]", OP_DATA_DIR },
	{ "--tmpfs", "tmpfs", 1, "DST", OP_TMPFS },
	{ "--proc", "proc", 1, "DST", OP_PROC },
	{ "--mqueue", "mqueue", 1, "DST", OP_MQUEUE },
	{ "--remount-ro", "remount-ro", 1, "DST", OP_REMOUNT_RO },
	{ "--dev", "dev", 1, "DST", OP_DEV },
	{ "--overlay", "overlay", 3, "SRC DST WORKDIR", OP_OVERLAY },
	{ "--squash", "squash", 2, "IMAGE DST", OP_SQUASH },
	{ "--squash-overlay", "squash-overlay", 3, "IMAGE DST WORKDIR", OP_SQUASH_OVERLAY },
};

/* Options that are settings, not operations, and take values. */
struct value_spec {
	const char *opt;
	int nargs;
	const char *args;
};

static const struct value_spec value_specs[] = {
	{ "--netns", 1, "PATH" },	 { "--hostname", 1, "NAME" },
	{ "--chdir", 1, "DIR" },	 { "--overlay-dir", 1, "DIR" },
	{ "--prechroot", 1, "STRING" }, { "--setenv", 2, "KEY VALUE" },
	{ "--exec-fd", 1, "N" },	 { "--netns-from", 1, "N" },
	{ "--setuid", 1, "UID" },
	{ "--setgid", 1, "GID" },	 { "--groups", 1, "GID,..." },
	{ "--cap-drop", 1, "all|CAP,..." }, { "--cap-add", 1, "CAP,..." },
	{ "--seccomp", 1, "FILE" },	 { "--root-image", 1, "IMAGE" },
};

struct op {
	const struct op_spec *spec;
	const char *src;  /* host path: bind source, overlay lower dir, image */
	const char *dst;  /* path inside the root */
	const char *work; /* host directory that holds upper/ and work/ */
	bool ro;
	int mnt; /* squash: its filesystem, made ahead and still detached */
};

/* Who the command runs as and what it may do: set after pivot_root. */
struct privs {
	bool uid_given, gid_given, groups_given;
	unsigned int uid, gid;
	gid_t *groups;
	size_t ngroups;
	bool clear_groups; /* a new identity, and setgroups(2) allowed */
	bool caps_given; /* --cap-drop or --cap-add: the bounding set becomes cap_keep */
	uint64_t cap_drop, cap_add, cap_keep;
	const char *seccomp_path;
	struct sock_fprog seccomp; /* len 0: none */
};

struct config {
	struct op *ops;
	size_t nops;
	int unshare_flags;
	const char *netns, *hostname, *chdir_to, *overlay_dir;
	const char *root_image; /* a squashfs image mounted read-only on NEWROOT */
	char **prechroot; /* hooks, in order */
	size_t nprechroot;
	char ***setenv_at; /* each points at KEY; VALUE follows it in argv */
	size_t nsetenv;
	bool default_mounts, ephemeral, read_only;
	bool mount_ns_made; /* the caller made our mount namespace (forkn --mount-ns) */
	const char *root_arg;
	char *newroot;	/* realpath of root_arg */
	bool host_root; /* NEWROOT is /: no pivot_root */
	char **cmd;
	int rootfd; /* O_PATH, the root everything is resolved in */
	int netns_from; /* --netns-from N: the network namespace comes through N; -1: none */
	struct privs priv;
};

/* A filesystem option for fsconfig: val NULL means a flag. */
struct fs_opt {
	const char *key;
	const char *val;
};

/* ---- parse ------------------------------------------------------------ */

static const struct op_spec *find_op_spec(const char *opt)
{
	for (size_t i = 0; i < ARRAY_LEN(op_specs); i++)
		if (strcmp(op_specs[i].opt, opt) == 0)
			return &op_specs[i];
	return NULL;
}

/* a[0] is an option, avail counts it and what follows it in argv. */
static void need_args(int avail, char **a, int count, const char *names)
{
	if (avail <= count)
		die("%s: missing argument (%s)", a[0], names);
}

/* A mount operation: appended, so the operations keep their order. */
static int parse_op(struct config *cfg, const struct op_spec *spec, int avail, char **a)
{
	struct op *op = &cfg->ops[cfg->nops++];

	need_args(avail, a, spec->nargs, spec->args);
	op->spec = spec;
	op->mnt = -1;
	op->ro = spec->kind == OP_RO_BIND;
	if (spec->nargs == 1) {
		/* --data-dir keeps its whole SRC:DST[:MODE] in src until validate */
		if (spec->kind == OP_DATA_DIR)
			op->src = a[1];
		else
			op->dst = a[1];
	} else {
		op->src = a[1];
		op->dst = a[2];
		op->work = spec->nargs == 3 ? a[3] : NULL;
	}
	return spec->nargs + 1;
}

/* --exec-fd N, --netns-from N: an inherited descriptor, made close-on-exec:
 * the command gets neither. */
static int take_fd(const char *option, const char *arg)
{
	int fd = fd_option(option, arg);

	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		die_errno("%s %d", option, fd);
	return fd;
}

/* ---- privileges: parse ------------------------------------------------ */

/* Capability names, as capabilities(7) spells them without "CAP_". */
#define CAP_ROW(name) { #name, CAP_##name }
static const struct cap_name {
	const char *name;
	int cap;
} cap_names[] = {
	CAP_ROW(CHOWN), CAP_ROW(DAC_OVERRIDE), CAP_ROW(DAC_READ_SEARCH), CAP_ROW(FOWNER),
	CAP_ROW(FSETID), CAP_ROW(KILL), CAP_ROW(SETGID), CAP_ROW(SETUID), CAP_ROW(SETPCAP),
	CAP_ROW(LINUX_IMMUTABLE), CAP_ROW(NET_BIND_SERVICE), CAP_ROW(NET_BROADCAST), CAP_ROW(NET_ADMIN),
	CAP_ROW(NET_RAW), CAP_ROW(IPC_LOCK), CAP_ROW(IPC_OWNER), CAP_ROW(SYS_MODULE), CAP_ROW(SYS_RAWIO),
	CAP_ROW(SYS_CHROOT), CAP_ROW(SYS_PTRACE), CAP_ROW(SYS_PACCT), CAP_ROW(SYS_ADMIN), CAP_ROW(SYS_BOOT),
	CAP_ROW(SYS_NICE), CAP_ROW(SYS_RESOURCE), CAP_ROW(SYS_TIME), CAP_ROW(SYS_TTY_CONFIG), CAP_ROW(MKNOD),
	CAP_ROW(LEASE), CAP_ROW(AUDIT_WRITE), CAP_ROW(AUDIT_CONTROL), CAP_ROW(SETFCAP), CAP_ROW(MAC_OVERRIDE),
	CAP_ROW(MAC_ADMIN), CAP_ROW(SYSLOG), CAP_ROW(WAKE_ALARM), CAP_ROW(BLOCK_SUSPEND), CAP_ROW(AUDIT_READ),
	CAP_ROW(PERFMON), CAP_ROW(BPF), CAP_ROW(CHECKPOINT_RESTORE),
};

/* NAME, cap_name or CAP_NAME; "all" is every capability. */
static uint64_t cap_bit(const char *opt, const char *word, size_t len)
{
	if (len >= 4 && strncasecmp(word, "CAP_", 4) == 0) {
		word += 4;
		len -= 4;
	}
	if (len == 3 && strncasecmp(word, "all", 3) == 0)
		return ~0ULL;
	for (size_t i = 0; i < ARRAY_LEN(cap_names); i++)
		if (strlen(cap_names[i].name) == len && strncasecmp(cap_names[i].name, word, len) == 0)
			return 1ULL << cap_names[i].cap;
	die("%s: unknown capability '%.*s' (see capabilities(7))", opt, (int)len, word);
}

/* --cap-drop LIST, --cap-add LIST: comma-separated names, repeatable. */
static void parse_caps(struct privs *pv, const char *opt, const char *list)
{
	uint64_t *mask = strcmp(opt, "--cap-add") == 0 ? &pv->cap_add : &pv->cap_drop;
	const char *p = list;

	pv->caps_given = true;
	do {
		size_t len = strcspn(p, ",");

		if (len == 0)
			die("%s '%s': an empty capability name", opt, list);
		*mask |= cap_bit(opt, p, len);
		p += len;
	} while (*p++ == ',');
}

/* A decimal id: 0 to 4294967294 ((uid_t)-1 means "no change" to the kernel). */
static unsigned int parse_num_id(const char *opt, const char *arg, size_t len)
{
	char buf[16], *end;
	unsigned long v;

	if (len == 0 || len >= sizeof(buf) || strspn(arg, "0123456789") < len)
		die("%s '%s': a number from 0 to 4294967294 (pivot takes no names)", opt, arg);
	memcpy(buf, arg, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || v >= 0xffffffffUL)
		die("%s '%s': a number from 0 to 4294967294", opt, arg);
	return (unsigned int)v;
}

/* --groups G1,G2,...: the supplementary groups; "" for none. */
static void parse_groups(struct privs *pv, const char *list)
{
	size_t n = *list ? 1 : 0;

	for (const char *p = list; *p; p++)
		n += *p == ',';
	/* given again: the last one wins (make fuzz found the list kept growing
	 * into an array sized for the new one alone) */
	free(pv->groups);
	pv->ngroups = 0;
	pv->groups = calloc(n ? n : 1, sizeof(gid_t));
	if (!pv->groups)
		die("--groups: out of memory");
	pv->groups_given = true;
	if (!*list)
		return;
	do {
		size_t len = strcspn(list, ",");

		pv->groups[pv->ngroups++] = parse_num_id("--groups", list, len);
		list += len;
	} while (*list++ == ',');
}

/* The option is one of ours (a privilege setting): take its value. */
static bool parse_privilege(struct privs *pv, const char *opt, const char *arg)
{
	if (strcmp(opt, "--setuid") == 0) {
		pv->uid = parse_num_id(opt, arg, strlen(arg));
		pv->uid_given = true;
	} else if (strcmp(opt, "--setgid") == 0) {
		pv->gid = parse_num_id(opt, arg, strlen(arg));
		pv->gid_given = true;
	} else if (strcmp(opt, "--groups") == 0) {
		parse_groups(pv, arg);
	} else if (strcmp(opt, "--cap-drop") == 0 || strcmp(opt, "--cap-add") == 0) {
		parse_caps(pv, opt, arg);
	} else if (strcmp(opt, "--seccomp") == 0) {
		pv->seccomp_path = arg;
	} else {
		return false;
	}
	return true;
}

static int parse_value(struct config *cfg, int avail, char **a)
{
	const struct value_spec *spec = NULL;

	for (size_t i = 0; i < ARRAY_LEN(value_specs); i++)
		if (strcmp(value_specs[i].opt, a[0]) == 0)
			spec = &value_specs[i];
	if (!spec)
		die("%s: unknown option (%s)", a[0], usage_line);
	need_args(avail, a, spec->nargs, spec->args);
	if (parse_privilege(&cfg->priv, a[0], a[1]))
		return 2;
	if (strcmp(a[0], "--netns") == 0)
		cfg->netns = a[1];
	else if (strcmp(a[0], "--hostname") == 0)
		cfg->hostname = a[1];
	else if (strcmp(a[0], "--chdir") == 0)
		cfg->chdir_to = a[1];
	else if (strcmp(a[0], "--overlay-dir") == 0)
		cfg->overlay_dir = a[1];
	else if (strcmp(a[0], "--prechroot") == 0)
		cfg->prechroot[cfg->nprechroot++] = a[1];
	else if (strcmp(a[0], "--exec-fd") == 0)
		/* from forkn --exec-fd N: closed by our exec of the command,
		 * written to by die() (util.h) when it will never run */
		exec_notify_fd = take_fd(a[0], a[1]);
	else if (strcmp(a[0], "--netns-from") == 0)
		cfg->netns_from = take_fd(a[0], a[1]);
	else if (strcmp(a[0], "--root-image") == 0)
		cfg->root_image = a[1];
	else
		cfg->setenv_at[cfg->nsetenv++] = a + 1;
	return spec->nargs + 1;
}

static int parse_setting(struct config *cfg, int avail, char **a)
{
	if (strcmp(a[0], "--unshare-uts") == 0)
		cfg->unshare_flags |= CLONE_NEWUTS;
	else if (strcmp(a[0], "--unshare-ipc") == 0)
		cfg->unshare_flags |= CLONE_NEWIPC;
	else if (strcmp(a[0], "--unshare-net") == 0)
		cfg->unshare_flags |= CLONE_NEWNET;
	else if (strcmp(a[0], "--unshare-cgroup") == 0)
		cfg->unshare_flags |= CLONE_NEWCGROUP;
	else if (strcmp(a[0], "--default-mounts") == 0)
		cfg->default_mounts = true;
	else if (strcmp(a[0], "--ephemeral") == 0)
		cfg->ephemeral = true;
	else if (strcmp(a[0], "--read-only") == 0)
		cfg->read_only = true;
	else if (strcmp(a[0], "--mount-ns-made") == 0)
		cfg->mount_ns_made = true;
	else if (strcmp(a[0], "--help") == 0)
		usage();
	else
		return parse_value(cfg, avail, a);
	return 1;
}

/* --default-mounts: --dev /dev --proc /proc before every other operation,
 * wherever it was given. parse left two free slots in front of the list. */
static void prepend_default_mounts(struct config *cfg)
{
	cfg->ops -= 2;
	cfg->nops += 2;
	cfg->ops[0] = (struct op){ .spec = find_op_spec("--dev"), .dst = "/dev", .mnt = -1 };
	cfg->ops[1] = (struct op){ .spec = find_op_spec("--proc"), .dst = "/proc", .mnt = -1 };
}

/* Options in any order until the first non-option (NEWROOT), then an
 * optional "--", then CMD. A "--" before NEWROOT also ends the options (so
 * a NEWROOT starting with '-' can be given). Arrays are sized for the worst
 * case (every argument an option), so nothing grows while parsing. */
static void parse(int argc, char **argv, struct config *cfg)
{
	struct op *ops = calloc((size_t)argc + 2, sizeof(*ops));
	int i = 1;

	cfg->prechroot = calloc((size_t)argc, sizeof(*cfg->prechroot));
	cfg->setenv_at = calloc((size_t)argc, sizeof(*cfg->setenv_at));
	if (!ops || !cfg->prechroot || !cfg->setenv_at)
		die("parse arguments: out of memory");
	cfg->ops = ops + 2;
	while (i < argc && argv[i][0] == '-') {
		const struct op_spec *spec = find_op_spec(argv[i]);

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		i += spec ? parse_op(cfg, spec, argc - i, argv + i) : parse_setting(cfg, argc - i, argv + i);
	}
	if (i >= argc)
		die("NEWROOT: missing (%s)", usage_line);
	cfg->root_arg = argv[i++];
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		die("CMD: missing (%s)", usage_line);
	cfg->cmd = argv + i;
	if (cfg->default_mounts)
		prepend_default_mounts(cfg);
}

/* ---- validate --------------------------------------------------------- */

/* "NAME [SRC ]on DST" for messages; one buffer, valid until the next call. */
static const char *op_label(const struct op *op)
{
	static char buf[2 * PATH_MAX + 64];

	if (op->spec->kind == OP_DATA_DIR && !op->dst)
		snprintf(buf, sizeof(buf), "--data-dir %s", op->src);
	else if (op->spec->kind == OP_REMOUNT_RO)
		snprintf(buf, sizeof(buf), "remount-ro %s", op->dst);
	else if (op->src)
		snprintf(buf, sizeof(buf), "%s %s on %s", op->spec->name, op->src, op->dst);
	else
		snprintf(buf, sizeof(buf), "%s on %s", op->spec->name, op->dst);
	return buf;
}

/* --data-dir SRC:DST[:ro|:rw], rw by default. The mode is split off at the
 * LAST ':' only when what follows is exactly "ro" or "rw"; the rest is then
 * split at its FIRST ':' into SRC and DST. So SRC cannot contain ':' and DST
 * can (unless it ends in ":ro" or ":rw"); "/a:ro" is an error (no DST), not
 * "/a" on "ro". SRC must be absolute: a data dir names a host directory. */
static void split_data_dir(struct op *op)
{
	const char *whole = op->src;
	char *s = strdup(whole), *mode, *sep;

	if (!s)
		die("--data-dir %s: out of memory", whole);
	mode = strrchr(s, ':');
	if (mode && (strcmp(mode, ":ro") == 0 || strcmp(mode, ":rw") == 0)) {
		op->ro = mode[2] == 'o';
		*mode = '\0';
	}
	sep = strchr(s, ':');
	if (!sep || sep == s || sep[1] == '\0')
		die("--data-dir %s: expected SRC:DST[:ro|:rw]", whole);
	*sep = '\0';
	if (s[0] != '/')
		die("--data-dir %s: SRC must be an absolute path", whole);
	op->src = s;
	op->dst = sep + 1;
}

enum need { NEED_ANY, NEED_DIR, NEED_FILE, NEED_DIR_OR_FILE };

static void check_source(const char *path, enum need need, const char *what)
{
	static const char *const names[] = { "", "directory", "regular file", "directory or regular file" };
	struct stat st;
	bool dir, reg;

	if (stat(path, &st))
		die_errno("%s", what);
	dir = S_ISDIR(st.st_mode);
	reg = S_ISREG(st.st_mode);
	if ((need == NEED_DIR && !dir) || (need == NEED_FILE && !reg) ||
	    (need == NEED_DIR_OR_FILE && !dir && !reg))
		die("%s: %s is not a %s", what, path, names[need]);
}

/* A directory for upper/ and work/: made if missing (its parent must exist
 * then), but if it exists it must be a directory. */
static void check_workdir(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			die("%s: %s is not a directory", what, path);
	} else if (errno != ENOENT) {
		die_errno("%s: %s", what, path);
	}
}

static void validate_op(struct op *op)
{
	const char *what;

	if (op->spec->kind == OP_DATA_DIR)
		split_data_dir(op);
	what = op_label(op);
	if (op->dst[0] == '\0')
		die("%s: empty destination", what);
	switch (op->spec->kind) {
	case OP_BIND:
	case OP_RO_BIND:
	case OP_DEV_BIND:
		check_source(op->src, NEED_ANY, what);
		break;
	case OP_DATA_DIR:
		check_source(op->src, NEED_DIR_OR_FILE, what);
		break;
	case OP_OVERLAY:
		check_source(op->src, NEED_DIR, what);
		check_workdir(op->work, what);
		break;
	case OP_SQUASH_OVERLAY:
		check_workdir(op->work, what);
		/* fall through */
	case OP_SQUASH:
		check_source(op->src, NEED_FILE, what);
		break;
	default:
		break;
	}
}

static void validate_root(struct config *cfg)
{
	struct stat st;

	cfg->newroot = realpath(cfg->root_arg, NULL);
	if (!cfg->newroot || stat(cfg->newroot, &st))
		die_errno("NEWROOT %s", cfg->root_arg);
	if (!S_ISDIR(st.st_mode))
		die("NEWROOT %s: not a directory", cfg->root_arg);
	cfg->host_root = strcmp(cfg->newroot, "/") == 0;
	if (cfg->ephemeral && cfg->overlay_dir)
		die("--ephemeral, --overlay-dir: only one of them can be given");
	/* the overlay would have to become the root, which needs a pivot_root */
	if (cfg->host_root && (cfg->ephemeral || cfg->overlay_dir))
		die("%s: needs a NEWROOT other than /", cfg->ephemeral ? "--ephemeral" : "--overlay-dir");
	if (cfg->overlay_dir)
		check_workdir(cfg->overlay_dir, "--overlay-dir");
	if (cfg->root_image && (cfg->host_root || stat(cfg->root_image, &st) || !S_ISREG(st.st_mode)))
		die("--root-image %s: needs a regular file and a NEWROOT other than /", cfg->root_image);
}

static void validate_settings(const struct config *cfg)
{
	if (!!cfg->netns + (cfg->netns_from >= 0) + !!(cfg->unshare_flags & CLONE_NEWNET) > 1)
		die("--netns, --netns-from, --unshare-net: only one of them can be given");
	if (cfg->netns && access(cfg->netns, F_OK))
		die_errno("--netns %s", cfg->netns);
	if (cfg->hostname && (cfg->hostname[0] == '\0' || strlen(cfg->hostname) > HOST_NAME_MAX))
		die("--hostname %s: must be 1 to %d characters", cfg->hostname, HOST_NAME_MAX);
	if (cfg->chdir_to && cfg->chdir_to[0] == '\0')
		die("--chdir: empty directory");
	for (size_t i = 0; i < cfg->nsetenv; i++) {
		const char *key = cfg->setenv_at[i][0];

		if (key[0] == '\0' || strchr(key, '='))
			die("--setenv %s: not a valid variable name", key);
	}
}

/* ---- privileges: check, then apply after pivot_root -------------------- */

/* Every capability this kernel knows: the bounding set says EINVAL past the last. */
static uint64_t all_caps(void)
{
	uint64_t all = 0;

	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		all |= 1ULL << cap;
	return all;
}

static const char *cap_label(int cap)
{
	static char num[16];

	for (size_t i = 0; i < ARRAY_LEN(cap_names); i++)
		if (cap_names[i].cap == cap)
			return cap_names[i].name;
	snprintf(num, sizeof(num), "%d", cap);
	return num;
}

/* --seccomp FILE: read now, while FILE is still a host path; loaded last.
 * The format is bwrap's: a raw classic BPF program, an array of struct
 * sock_filter in host byte order (what libseccomp's seccomp_export_bpf writes). */
static void read_seccomp(struct privs *pv)
{
	const char *path = pv->seccomp_path;
	struct stat st;
	struct sock_filter *prog;
	size_t size, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		die_errno("--seccomp %s", path);
	size = (size_t)st.st_size;
	if (!S_ISREG(st.st_mode) || size == 0 || size % sizeof(*prog) || size > BPF_MAXINSNS * sizeof(*prog))
		die("--seccomp %s: not a BPF program (%zu-byte instructions, 1 to %d of them)", path, sizeof(*prog),
		    BPF_MAXINSNS);
	prog = malloc(size);
	if (!prog)
		die("--seccomp %s: out of memory", path);
	while (got < size) {
		ssize_t n = read(fd, (char *)prog + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die_code(EXIT_SETUP, n < 0 ? errno : EIO, "--seccomp %s: read", path);
		got += (size_t)n;
	}
	close(fd);
	pv->seccomp.len = (unsigned short)(size / sizeof(*prog));
	pv->seccomp.filter = prog;
}

/* setgroups(2) is refused for good in a user namespace whose gid map was
 * written without privilege ("deny" in /proc/self/setgroups). */
static bool setgroups_allowed(void)
{
	char buf[8];

	if (read_text_at(AT_FDCWD, "/proc/self/setgroups", 0, buf, sizeof(buf)) < 0) {
		if (errno == ENOENT)
			return true; /* before Linux 3.19: no such rule */
		die_errno("read /proc/self/setgroups");
	}
	return strncmp(buf, "deny", 4) != 0;
}

static void validate_privileges(struct privs *pv)
{
	bool groups_ok;

	if (pv->caps_given)
		pv->cap_keep = (all_caps() & ~pv->cap_drop) | (all_caps() & pv->cap_add);
	if (pv->seccomp_path)
		read_seccomp(pv);
	if (!pv->uid_given && !pv->gid_given && !pv->groups_given)
		return;
	groups_ok = setgroups_allowed();
	if (pv->groups_given && !groups_ok)
		die("--groups: setgroups(2) is denied in this user namespace (its gid map was written without privilege)");
	/* a new identity does not keep root's supplementary groups, where they can go */
	pv->clear_groups = !pv->groups_given && groups_ok;
}

/* The bounding set: what no later exec can ever bring back. */
static void bound_caps(uint64_t keep)
{
	for (int cap = 0; cap < 64; cap++) {
		if ((keep & (1ULL << cap)) || prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL) /* past the kernel's last capability */
			break;
		die_errno("--cap-drop: drop %s from the bounding set", cap_label(cap));
	}
}

__attribute__((noreturn)) static void die_id(const char *opt, unsigned int id)
{
	if (errno == EINVAL)
		die("%s %u: not mapped in this user namespace", opt, id);
	die_errno("%s %u", opt, id);
}

/* setgroups, setresgid, setresuid, in that order: each needs a privilege
 * (CAP_SETGID, CAP_SETUID) that the next one may take away. */
static void set_ids(const struct privs *pv)
{
	if (pv->groups_given && setgroups(pv->ngroups, pv->groups))
		die_id("--groups", pv->ngroups ? pv->groups[0] : 0);
	if (pv->clear_groups && setgroups(0, NULL))
		die_errno("drop the supplementary groups");
	if (pv->gid_given && setresgid(pv->gid, pv->gid, pv->gid))
		die_id("--setgid", pv->gid);
	if (pv->uid_given && setresuid(pv->uid, pv->uid, pv->uid))
		die_id("--setuid", pv->uid);
}

/* What the command keeps. Run as uid 0, it gets the bounding set at exec;
 * run as another uid, only the ambient set, which holds what --cap-add
 * names and nothing else. No inheritable or ambient capability reaches it
 * otherwise (a forkn --user child may have carried them this far). */
static void set_caps(const struct privs *pv)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	uint64_t perm, amb = 0;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) /* EINVAL: < 4.3 */
		die_errno("clear the ambient capabilities");
	if (sys_capget(&hdr, d))
		die_errno("read the capabilities");
	perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	if (pv->caps_given)
		perm &= pv->cap_keep;
	if (geteuid() != 0)
		amb = perm & pv->cap_add;
	for (int i = 0; i < 2; i++) {
		d[i].permitted = d[i].effective = (uint32_t)(perm >> (32 * i));
		d[i].inheritable = (uint32_t)(amb >> (32 * i));
	}
	if (sys_capset(&hdr, d))
		die_errno("set the capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0))
			die_errno("--cap-add: keep %s for uid %u", cap_label(cap), (unsigned int)geteuid());
}

/* After pivot_root, before exec: bound, change identity, trim the sets. */
static void drop_privileges(const struct privs *pv)
{
	if (pv->caps_given)
		bound_caps(pv->cap_keep);
	/* the permitted set survives a change to a non-zero uid only so */
	if (pv->caps_given && pv->uid_given && pv->uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		die_errno("keep the capabilities across --setuid");
	set_ids(pv);
	set_caps(pv);
}

/* Everything that can be checked before a change is: after this, only the
 * kernel can still refuse. */
static void validate(struct config *cfg)
{
	validate_root(cfg);
	for (size_t i = 0; i < cfg->nops; i++)
		validate_op(&cfg->ops[i]);
	validate_settings(cfg);
	validate_privileges(&cfg->priv);
	if (cfg->hostname)
		cfg->unshare_flags |= CLONE_NEWUTS;
}

/* ---- namespaces ------------------------------------------------------- */

/* --netns: joined before the other namespaces are made, so the mount
 * namespace made next is owned and used from inside that network. */
static void join_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die_errno("--netns %s: open", path);
	if (setns(fd, CLONE_NEWNET))
		die_errno("--netns %s: join the network namespace", path);
	close(fd);
}

/* A fresh network namespace has lo down: most programs expect it up. */
static void loopback_up(void)
{
	struct ifreq ifr;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sock < 0)
		die_errno("bring lo up: socket");
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr))
		die_errno("bring lo up: get its flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr))
		die_errno("bring lo up");
	close(sock);
}

/* --mount-ns-made: trusted only if our mount namespace is not the one our
 * caller ran in, which forkn --mount-ns names in UNSHARED_OUTER_MNTNS
 * (mount_ns_id): never mount in the host's. The variable goes with the check. */
static void check_own_mount_ns(void)
{
	const char *outer = getenv("UNSHARED_OUTER_MNTNS");
	char id[48];

	if (!outer)
		die("--mount-ns-made: UNSHARED_OUTER_MNTNS not set (run by forkn --mount-ns)");
	if (mount_ns_id(id, sizeof(id)) < 0)
		die_errno("--mount-ns-made: stat /proc/self/ns/mnt");
	if (strcmp(id, outer) == 0)
		die("--mount-ns-made: still in the caller's mount namespace");
	if (unsetenv("UNSHARED_OUTER_MNTNS") < 0)
		die_errno("--mount-ns-made: unsetenv");
}

static void enter_namespaces(const struct config *cfg)
{
	if (cfg->netns)
		join_netns(cfg->netns);
	/* the mount namespace always: nothing below may reach the host's mounts */
	if (cfg->mount_ns_made)
		check_own_mount_ns();
	if ((cfg->unshare_flags || !cfg->mount_ns_made) &&
	    unshare((cfg->mount_ns_made ? 0 : CLONE_NEWNS) | cfg->unshare_flags))
		die_errno("unshare the namespaces");
	/* private only now: before unshare this would change the host's / */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die_errno("make / private in the new mount namespace");
	if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)))
		die_errno("set the hostname to %s", cfg->hostname);
	if (cfg->unshare_flags & CLONE_NEWNET)
		loopback_up();
}

/* ---- mount building blocks ---------------------------------------------- */

/* The fs context keeps the kernel's reason ("e overlay: ..."): put it in
 * the one line we print. */
__attribute__((noreturn)) static void fs_fail(int fs, const char *what, const char *step)
{
	int err = errno;
	char msg[512];
	ssize_t n = read(fs, msg, sizeof(msg) - 1);

	if (n > 2) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		die_code(EXIT_SETUP, err, "%s: %s (%s)", what, step, msg + 2);
	}
	die_code(EXIT_SETUP, err, "%s: %s", what, step);
}

/* Create the superblock of a configured context and a detached mount of it. */
static int fs_finish(int fs, unsigned int attrs, const char *what)
{
	int mnt;

	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		fs_fail(fs, what, "create the filesystem");
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0)
		fs_fail(fs, what, "make a mount of the filesystem");
	close(fs);
	return mnt;
}

/* A new filesystem of TYPE, detached (not visible anywhere yet). */
static int fs_new(const char *type, const struct fs_opt *opts, size_t n, unsigned int attrs,
		  const char *what)
{
	int fs = sys_fsopen(type, FSOPEN_CLOEXEC);

	if (fs < 0)
		die_errno("%s: open a %s filesystem", what, type);
	for (size_t i = 0; i < n; i++) {
		int r = opts[i].val ? sys_fsconfig(fs, FSCONFIG_SET_STRING, opts[i].key, opts[i].val, 0)
				    : sys_fsconfig(fs, FSCONFIG_SET_FLAG, opts[i].key, NULL, 0);

		if (r)
			fs_fail(fs, what, opts[i].key);
	}
	return fs_finish(fs, attrs, what);
}

/* Put the detached mount MNT on the object DST refers to. */
static void attach(int mnt, int dst, const char *what)
{
	if (sys_move_mount(mnt, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
		die_errno("%s", what);
}

static void set_mount_attr(int fd, uint64_t set, uint64_t clr, bool recursive, const char *what)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	unsigned int flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);

	if (sys_mount_setattr(fd, "", flags, &attr, sizeof(attr)))
		die_errno("%s: %s", what, (set & MOUNT_ATTR_RDONLY) ? "make read-only" : "set mount attributes");
}

/* The mount and inode FD is on; the mount id tells a bind of the root
 * elsewhere in it from the root itself. */
static void mount_identity(int fd, struct statx *stx, const char *what)
{
	if (sys_statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, stx))
		die_errno("%s: stat the destination", what);
}

/* ---- destinations inside the root --------------------------------------- */

/* openat2 in the root: "..", absolute and relative symlinks all stay inside
 * it; /proc magic links (which jump anywhere) are refused. */
static int resolve(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return sys_openat2(rootfd, path, &how, sizeof(how));
}

/* PREFIX resolved in the root; when it is missing, its last component NAME
 * is made in PARENT (PREFIX minus NAME, resolved the same way) with
 * mkdirat/openat, which never follow a symlink in NAME itself. */
static int make_component(int rootfd, int parent, const char *prefix, const char *name, bool file,
			  const char *what)
{
	int fd = resolve(rootfd, prefix), made;

	if (fd >= 0 || errno != ENOENT)
		goto out;
	if (file) {
		made = openat(parent, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (made >= 0)
			close(made);
	} else {
		made = mkdirat(parent, name, 0755);
	}
	if (made < 0 && errno != EEXIST)
		die_errno("%s: create %s in the root", what, prefix);
	fd = resolve(rootfd, prefix);
	/* NAME exists but does not resolve: a symlink to a missing target */
	if (fd < 0 && errno == ENOENT)
		die("%s: %s is a symbolic link to nothing in the root", what, prefix);
out:
	if (fd < 0)
		die_errno("%s: resolve %s in the root", what, prefix);
	return fd;
}

/* mkdir -p inside the root: each prefix of DST is resolved from the root
 * again and the next component is created under that, so no symlink in DST
 * (absolute, relative, "..", dangling, in a parent) can lead a creation out
 * of the root. The last component is a directory, or an empty file to bind
 * a non-directory on. Returns the descriptor of that last component. */
static int create_path(int rootfd, const char *dst, bool file, const char *what)
{
	char buf[PATH_MAX];
	size_t len = strlen(dst), start = 0;
	int parent = resolve(rootfd, "/");

	if (len >= sizeof(buf))
		die_code(EXIT_SETUP, ENAMETOOLONG, "%s", what);
	if (parent < 0)
		die_errno("%s: open the root", what);
	memcpy(buf, dst, len + 1);
	for (;;) {
		size_t end;
		char saved;
		int fd;

		start += strspn(buf + start, "/");
		if (start == len)
			break;
		end = start + strcspn(buf + start, "/");
		saved = buf[end];
		buf[end] = '\0';
		fd = make_component(rootfd, parent, buf, buf + start, file && end + strspn(dst + end, "/") == len, what);
		buf[end] = saved;
		close(parent);
		parent = fd;
		start = end;
	}
	return parent;
}

/* The O_PATH descriptor of DST inside the root, made when missing. The root
 * itself is refused: a mount over it would hide the root every later
 * operation is resolved in. */
static int mount_point(int rootfd, const char *dst, bool file, const char *what)
{
	struct statx in, root;
	int fd = resolve(rootfd, dst);

	if (fd < 0 && errno == ENOENT)
		fd = create_path(rootfd, dst, file, what);
	if (fd < 0)
		die_errno("%s: resolve the destination in the root", what);
	mount_identity(fd, &in, what);
	mount_identity(rootfd, &root, what);
	if (in.stx_mnt_id == root.stx_mnt_id && in.stx_ino == root.stx_ino)
		die("%s: the destination is the root itself", what);
	return fd;
}

/* ---- the operations ----------------------------------------------------- */

/* --bind, --ro-bind, --dev-bind, --data-dir: a recursive clone of SRC with
 * its attributes set while still detached, so it is never visible writable
 * when it should not be, nor with devices when it should not have them. */
static void op_bind(int rootfd, const struct op *op, const char *what)
{
	struct stat st;
	uint64_t attrs = 0;
	int dst, tree = sys_open_tree(AT_FDCWD, op->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (tree < 0)
		die_errno("%s", what);
	if (fstat(tree, &st))
		die_errno("%s: stat the source", what);
	if (op->spec->kind != OP_DEV_BIND)
		attrs |= MOUNT_ATTR_NODEV;
	if (op->ro)
		attrs |= MOUNT_ATTR_RDONLY;
	set_mount_attr(tree, attrs, 0, true, what);
	dst = mount_point(rootfd, op->dst, !S_ISDIR(st.st_mode), what);
	attach(tree, dst, what);
	close(dst);
	close(tree);
}

/* A new proc, or, where the kernel refuses one (a user namespace that does
 * not own our pid namespace: --user without --pid), a recursive bind of the
 * /proc we see, which shows the same processes a new one would. */
static int proc_new(unsigned int attrs, const char *what)
{
	int fs = sys_fsopen("proc", FSOPEN_CLOEXEC), mnt = -1;

	if (fs < 0)
		die_errno("%s: open a proc filesystem", what);
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
		mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, attrs);
		if (mnt < 0 && errno != EPERM)
			fs_fail(fs, what, "make a mount of the filesystem");
	} else if (errno != EPERM) {
		fs_fail(fs, what, "create the filesystem");
	}
	close(fs);
	if (mnt >= 0)
		return mnt;
	mnt = sys_open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (mnt < 0)
		die_errno("%s: no new proc here (not the pid namespace's owner), nor a bind of /proc", what);
	set_mount_attr(mnt, attrs, 0, true, what);
	return mnt;
}

/* --tmpfs, --proc, --mqueue: a fresh filesystem. */
static void op_fresh(int rootfd, const struct op *op, const char *what)
{
	static const struct fs_opt tmpfs_mode[] = { { "mode", "0755" } };
	const unsigned int safe = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	int dst = mount_point(rootfd, op->dst, false, what), mnt;

	if (op->spec->kind == OP_TMPFS)
		mnt = fs_new("tmpfs", tmpfs_mode, ARRAY_LEN(tmpfs_mode), safe, what);
	else if (op->spec->kind == OP_PROC)
		mnt = proc_new(safe | MOUNT_ATTR_NOEXEC, what);
	else
		mnt = fs_new("mqueue", NULL, 0, safe | MOUNT_ATTR_NOEXEC, what);
	attach(mnt, dst, what);
	close(mnt);
	close(dst);
}

/* --remount-ro: an existing mount (and all below it) becomes read-only. */
static void op_remount_ro(int rootfd, const struct op *op, const char *what)
{
	struct statx stx;
	int dst = resolve(rootfd, op->dst);

	if (dst < 0)
		die_errno("%s", what);
	if (sys_statx(dst, "", AT_EMPTY_PATH, 0, &stx))
		die_errno("%s: stat", what);
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		die("%s: not a mount point", what);
	set_mount_attr(dst, MOUNT_ATTR_RDONLY, 0, true, what);
	close(dst);
}

/* ---- --dev ---------------------------------------------------------------- */

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

/* The host's nodes are bound, not made: mknod is refused in a user namespace,
 * and a bind never changes the host node's owner or mode. They are cloned
 * before the new /dev is attached: with NEWROOT / it covers the host's. */
static void dev_clone_nodes(int *trees, const char *what)
{
	char path[32];

	for (size_t i = 0; i < ARRAY_LEN(dev_nodes); i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		trees[i] = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (trees[i] < 0)
			die_errno("%s: bind %s", what, path);
	}
}

/* Each node on an empty file made in the new tmpfs (ours: no symlink in it). */
static void dev_attach_nodes(int dev, const int *trees, const char *what)
{
	for (size_t i = 0; i < ARRAY_LEN(dev_nodes); i++) {
		int fd = openat(dev, dev_nodes[i], O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);

		if (fd < 0)
			die_errno("%s: create %s", what, dev_nodes[i]);
		attach(trees[i], fd, what);
		close(fd);
		close(trees[i]);
	}
}

/* A fresh filesystem on the directory NAME made in the new /dev. */
static void dev_submount(int dev, const char *name, const char *type, const struct fs_opt *opts, size_t n,
			 unsigned int attrs, const char *what)
{
	int dir, mnt;

	if (mkdirat(dev, name, 0755))
		die_errno("%s: create %s", what, name);
	dir = openat(dev, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		die_errno("%s: open %s", what, name);
	mnt = fs_new(type, opts, n, attrs, what);
	attach(mnt, dir, what);
	close(mnt);
	close(dir);
}

static void dev_links(int dev, const char *what)
{
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" },		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};

	for (size_t i = 0; i < ARRAY_LEN(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]))
			die_errno("%s: create the symlink %s", what, links[i][1]);
}

/* --dev: a minimal /dev of its own: a tmpfs with the usual nodes, a private
 * devpts instance (ptys of the host stay out of reach) and its own shm. */
static void op_dev(int rootfd, const struct op *op, const char *what)
{
	static const struct fs_opt dev_opts[] = { { "mode", "0755" } };
	static const struct fs_opt pts_opts[] = { { "newinstance", NULL }, { "ptmxmode", "0666" }, { "mode", "620" } };
	static const struct fs_opt shm_opts[] = { { "mode", "1777" } };
	int trees[ARRAY_LEN(dev_nodes)], dst, dev;

	dev_clone_nodes(trees, what);
	dst = mount_point(rootfd, op->dst, false, what);
	dev = fs_new("tmpfs", dev_opts, ARRAY_LEN(dev_opts), MOUNT_ATTR_NOSUID, what);
	attach(dev, dst, what);
	/* dev still refers to the tmpfs root, now attached: fill it through it */
	dev_attach_nodes(dev, trees, what);
	dev_submount(dev, "pts", "devpts", pts_opts, ARRAY_LEN(pts_opts), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, what);
	dev_submount(dev, "shm", "tmpfs", shm_opts, ARRAY_LEN(shm_opts), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, what);
	dev_links(dev, what);
	close(dev);
	close(dst);
}

/* ---- overlays --------------------------------------------------------------- */

/* DIR in DIRFD, made when missing; FRESH says whether it was. */
static int ensure_dir(int dirfd, const char *name, mode_t mode, bool *fresh, const char *what)
{
	int made = mkdirat(dirfd, name, mode), fd;

	if (made && errno != EEXIST)
		die_errno("%s: create %s", what, name);
	if (fresh)
		*fresh = made == 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die_errno("%s: open %s", what, name);
	return fd;
}

/* A layer by descriptor (Linux 6.13+: no path, no escaping of ',' or ':');
 * older kernels get the same directory as /proc/self/fd/N. */
static void overlay_layer(int fs, const char *key, const char *old_key, int fd, const char *what)
{
	char path[32];

	if (sys_fsconfig(fs, FSCONFIG_SET_FD, key, NULL, fd) == 0)
		return;
	if (errno != EINVAL)
		fs_fail(fs, what, key);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (sys_fsconfig(fs, FSCONFIG_SET_STRING, old_key, path, 0))
		fs_fail(fs, what, old_key);
}

/* The merged root takes owner and mode from the upper directory: a fresh
 * upper copies them from the lower one, or the root of the view would
 * change (to 0755 root:root) just because it is an overlay. */
static void copy_owner_mode(int from, int to, const char *what)
{
	struct stat st;

	if (fstat(from, &st))
		die_errno("%s: stat the lower directory", what);
	/* EINVAL: its owner is not mapped in our user namespace (a rootless
	 * spawn of a root-owned root); the view's root is then ours */
	if (fchown(to, st.st_uid, st.st_gid) && errno != EINVAL)
		die_errno("%s: give the upper directory the lower one's owner", what);
	if (fchmod(to, st.st_mode & 07777))
		die_errno("%s: give the upper directory the lower one's mode", what);
}

/* A detached overlay of LOWER with upper/ and work/ in the directory BASE. */
static int overlay_new(int lower, int base, const char *what)
{
	bool fresh;
	int upper = ensure_dir(base, "upper", 0755, &fresh, what);
	int work = ensure_dir(base, "work", 0700, NULL, what);
	int fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);

	if (fs < 0)
		die_errno("%s: open an overlay filesystem", what);
	if (fresh)
		copy_owner_mode(lower, upper, what);
	overlay_layer(fs, "lowerdir+", "lowerdir", lower, what);
	overlay_layer(fs, "upperdir", "upperdir", upper, what);
	overlay_layer(fs, "workdir", "workdir", work, what);
	close(upper);
	close(work);
	return fs_finish(fs, 0, what);
}

/* An overlay of LOWER on the mount point TARGET, upper/work in WORKDIR (host). */
static void overlay_on(int lower, const char *workdir, int target, const char *what)
{
	int base = ensure_dir(AT_FDCWD, workdir, 0700, NULL, what);
	int mnt = overlay_new(lower, base, what);

	attach(mnt, target, what);
	close(mnt);
	close(base);
}

/* --overlay SRC DST WORKDIR */
static void op_overlay(int rootfd, const struct op *op, const char *what)
{
	int lower = open(op->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC), dst;

	if (lower < 0)
		die_errno("%s: open the lower directory", what);
	dst = mount_point(rootfd, op->dst, false, what);
	overlay_on(lower, op->work, dst, what);
	close(dst);
	close(lower);
}

/* ---- squashfs images -------------------------------------------------------- */

/* IMAGE on a free loop device, read-only, autoclear: the device goes back
 * when the last user (the squashfs mount) lets go of it. Another process can
 * take the same free device between GET_FREE and CONFIGURE: try again. */
static int loop_attach(const char *image, char *dev, size_t devlen, const char *what)
{
	struct loop_config lc = { .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR };
	int img = open(image, O_RDONLY | O_CLOEXEC), ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);

	if (img < 0 || ctl < 0)
		die_errno("%s: open %s", what, img < 0 ? image : "/dev/loop-control");
	lc.fd = (uint32_t)img;
	snprintf((char *)lc.info.lo_file_name, LO_NAME_SIZE, "%s", image);
	for (int attempt = 0; attempt < 32; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), fd;

		if (n < 0)
			die_errno("%s: find a free loop device", what);
		snprintf(dev, devlen, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			die_errno("%s: open %s", what, dev);
		if (ioctl(fd, LOOP_CONFIGURE, &lc) == 0) {
			close(img);
			close(ctl);
			return fd;
		}
		if (errno != EBUSY)
			die_errno("%s: attach %s", what, dev);
		close(fd);
	}
	die("%s: no free loop device", what);
}

/* The squashfs of IMAGE, detached. Made before any operation runs: the
 * block device is found as /dev/loopN, which a --dev on / would hide. */
static int squash_new(const char *image, const char *what)
{
	char dev[32];
	int loop = loop_attach(image, dev, sizeof(dev), what), mnt;
	const struct fs_opt opts[] = { { "source", dev }, { "ro", NULL } };

	mnt = fs_new("squashfs", opts, ARRAY_LEN(opts), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, what);
	/* the superblock holds the device now; autoclear frees it with the mount */
	close(loop);
	return mnt;
}

static void prepare_images(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nops; i++) {
		struct op *op = &cfg->ops[i];

		if (op->spec->kind == OP_SQUASH || op->spec->kind == OP_SQUASH_OVERLAY)
			op->mnt = squash_new(op->src, op_label(op));
	}
}

/* --squash IMAGE DST, --squash-overlay IMAGE DST WORKDIR (an overlay stacked
 * on the squashfs, the squashfs as its lower layer). */
static void op_squash(int rootfd, struct op *op, const char *what)
{
	int dst = mount_point(rootfd, op->dst, false, what), lower;

	attach(op->mnt, dst, what);
	if (op->spec->kind == OP_SQUASH_OVERLAY) {
		/* op->mnt now refers to the attached squashfs root, the top of DST */
		lower = openat(op->mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lower < 0)
			die_errno("%s: open the image's root", what);
		overlay_on(lower, op->work, op->mnt, what);
		close(lower);
	}
	close(op->mnt);
	op->mnt = -1;
	close(dst);
}

/* ---- the root ------------------------------------------------------------------ */

/* --ephemeral, --overlay-dir: the root is an overlay, NEWROOT its lower
 * layer. Ephemeral: upper/ and work/ go in a tmpfs mounted on NEWROOT itself
 * (in this mount namespace only) and the overlay is stacked on top, so the
 * root on disk is never written, not even for a mount point; the tmpfs stays
 * hidden under the overlay. --overlay-dir: they go in DIR and persist. */
static void overlay_root(const struct config *cfg)
{
	static const struct fs_opt opts[] = { { "mode", "0700" } };
	const char *what = cfg->ephemeral ? "--ephemeral" : "--overlay-dir";
	int lower = open(cfg->newroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC), base, mnt;

	if (lower < 0)
		die_errno("%s: open %s", what, cfg->newroot);
	if (cfg->ephemeral) {
		base = fs_new("tmpfs", opts, ARRAY_LEN(opts), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, what);
		if (sys_move_mount(base, "", AT_FDCWD, cfg->newroot, MOVE_MOUNT_F_EMPTY_PATH))
			die_errno("%s: mount a tmpfs on %s", what, cfg->newroot);
	} else {
		base = ensure_dir(AT_FDCWD, cfg->overlay_dir, 0700, NULL, what);
	}
	mnt = overlay_new(lower, base, what);
	if (sys_move_mount(mnt, "", AT_FDCWD, cfg->newroot, MOVE_MOUNT_F_EMPTY_PATH))
		die_errno("%s: mount the overlay on %s", what, cfg->newroot);
	close(mnt);
	close(base);
	close(lower);
}

/* --read-only, first half: every mount already under the root (what the
 * recursive bind brought along; for NEWROOT / the whole host tree) becomes
 * read-only now, while the root mount itself stays writable so that the
 * operations can still make their mount points; finish_read_only makes it
 * read-only after them. Mounts the operations add keep their own options
 * (a :rw data dir stays writable). A root that was read-only stays so. */
static void protect_submounts(int rootfd)
{
	struct statfs sfs;

	if (fstatfs(rootfd, &sfs))
		die_errno("--read-only: stat the root");
	set_mount_attr(rootfd, MOUNT_ATTR_RDONLY, 0, true, "--read-only");
	if (!(sfs.f_flags & ST_RDONLY))
		set_mount_attr(rootfd, 0, MOUNT_ATTR_RDONLY, false, "--read-only");
}

/* NEWROOT becomes a mount of its own (pivot_root needs one): a recursive bind
 * on itself, or the overlay. NEWROOT / is used as it is. */
/* --root-image: the image is the root, read-only; NEWROOT is only where it is
 * mounted (an empty directory the caller made), so nothing is bound on itself. */
static void image_root(const struct config *cfg)
{
	int mnt = squash_new(cfg->root_image, "--root-image");

	if (sys_move_mount(mnt, "", AT_FDCWD, cfg->newroot, MOVE_MOUNT_F_EMPTY_PATH))
		die_errno("--root-image: mount %s on %s", cfg->root_image, cfg->newroot);
	close(mnt);
}

static void prepare_root(struct config *cfg)
{
	if (cfg->root_image)
		image_root(cfg);
	if (cfg->ephemeral || cfg->overlay_dir)
		overlay_root(cfg); /* over the image, when there is one */
	else if (!cfg->host_root && !cfg->root_image &&
		 mount(cfg->newroot, cfg->newroot, NULL, MS_BIND | MS_REC, NULL))
		die_errno("bind the root %s on itself", cfg->newroot);
	cfg->rootfd = open(cfg->newroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfg->rootfd < 0)
		die_errno("open the root %s", cfg->newroot);
	if (cfg->read_only)
		protect_submounts(cfg->rootfd);
}

static void apply_op(int rootfd, struct op *op)
{
	const char *what = op_label(op);

	switch (op->spec->kind) {
	case OP_BIND:
	case OP_RO_BIND:
	case OP_DEV_BIND:
	case OP_DATA_DIR:
		op_bind(rootfd, op, what);
		break;
	case OP_TMPFS:
	case OP_PROC:
	case OP_MQUEUE:
		op_fresh(rootfd, op, what);
		break;
	case OP_REMOUNT_RO:
		op_remount_ro(rootfd, op, what);
		break;
	case OP_DEV:
		op_dev(rootfd, op, what);
		break;
	case OP_OVERLAY:
		op_overlay(rootfd, op, what);
		break;
	case OP_SQUASH:
	case OP_SQUASH_OVERLAY:
		op_squash(rootfd, op, what);
		break;
	}
}

static void apply_ops(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nops; i++)
		apply_op(cfg->rootfd, &cfg->ops[i]);
}

/* --prechroot: the host's /bin/sh, inside the namespaces, with every mount
 * made and the root still writable (it runs before --read-only is finished,
 * so it can prepare the root). Hooks run in the order given. */
static void run_hook(const char *code)
{
	int status, result;
	pid_t pid = fork();

	if (pid < 0)
		die_errno("prechroot hook: fork");
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", code, (char *)NULL);
		die_code(EXIT_NOTFOUND, errno, "prechroot hook: /bin/sh");
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die_errno("prechroot hook: wait");
	result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (result)
		die("prechroot hook failed (status %d)", result);
}

static void run_prechroot(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nprechroot; i++)
		run_hook(cfg->prechroot[i]);
}

/* --read-only, second half: the root mount alone (not AT_RECURSIVE: the
 * operations' mounts keep what they asked for; the mounts that came with
 * the root were made read-only by protect_submounts). */
static void finish_read_only(const struct config *cfg)
{
	if (cfg->read_only)
		set_mount_attr(cfg->rootfd, MOUNT_ATTR_RDONLY, 0, false, "--read-only");
}

/* pivot_root(".", "."): the old root is stacked on the new one and detached
 * right away, so no directory for it is needed in the root (which is never
 * modified for it). NEWROOT /: no pivot, the private tree is the root. */
static void switch_root(const struct config *cfg)
{
	const char *dir = cfg->chdir_to ? cfg->chdir_to : "/";

	if (!cfg->host_root) {
		if (chdir(cfg->newroot))
			die_errno("enter %s", cfg->newroot);
		if (sys_pivot_root(".", "."))
			die_errno("pivot_root into %s", cfg->newroot);
		if (umount2(".", MNT_DETACH))
			die_errno("detach the old root");
		if (chdir("/"))
			die_errno("chdir to the new root");
	}
	if (chdir(dir))
		die_errno("chdir into %s", dir);
}

static void exec_command(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nsetenv; i++)
		if (setenv(cfg->setenv_at[i][0], cfg->setenv_at[i][1], 1))
			die_errno("--setenv %s", cfg->setenv_at[i][0]);
	/* no setuid/file-capability gain inside: the root is not ours to trust */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die_errno("set no_new_privs");
	/* last: every call of ours before it is made (the exec is filtered) */
	if (cfg->priv.seccomp.len && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &cfg->priv.seccomp, 0, 0))
		die_errno("--seccomp %s: load the filter", cfg->priv.seccomp_path);
	/* the last descriptor pivot holds (CLOEXEC too; closed to leave none) */
	close(cfg->rootfd);
	exec_search(cfg->cmd[0], cfg->cmd);
	if (errno == ENOENT)
		die_code(EXIT_NOTFOUND, 0, "%s: command not found", cfg->cmd[0]);
	die_code(EXIT_NOEXEC, errno, "%s", cfg->cmd[0]);
}

/* --netns-from N (nsnet up --netns-to N, through forkn --keep-fd N): the
 * instance's network is being made by a child of nsnet on the other CPU
 * while the root is set up here. A socket: one byte 'y' comes with the
 * namespace's descriptor (SCM_RIGHTS), joined here, before the hooks and the
 * command; a NUL byte says its maker failed (it said why, and the
 * supervisor's cleanup undoes what it journaled). */
static void join_netns_sent(struct config *cfg)
{
	struct fd_msg f;
	struct msghdr *m = fd_msg_init(&f, 0);
	struct cmsghdr *h;
	int ns = -1;
	ssize_t n;

	if (cfg->netns_from < 0)
		return;
	while ((n = recvmsg(cfg->netns_from, m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		die_errno("--netns-from %d: receive", cfg->netns_from);
	h = CMSG_FIRSTHDR(m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&ns, CMSG_DATA(h), sizeof(int));
	if (n == 1 && f.byte != 'y')
		leave(EXIT_SETUP);
	if (n == 0)
		die("--netns-from %d: whoever was to make the network ended without a word", cfg->netns_from);
	if (ns < 0 || (m->msg_flags & MSG_CTRUNC))
		die("--netns-from %d: no network namespace came with the message", cfg->netns_from);
	if (setns(ns, CLONE_NEWNET) < 0)
		die_errno("--netns-from %d: join the network namespace", cfg->netns_from);
	if (close(ns) < 0 || close(cfg->netns_from) < 0)
		die_errno("--netns-from %d: close", cfg->netns_from);
	cfg->netns_from = -1;
}

int main(int argc, char **argv)
{
	struct config cfg = { .rootfd = -1, .netns_from = -1 };

	helper_name = "pivot";
	parse(argc, argv, &cfg);
	validate(&cfg);
#ifdef FUZZ_PARSE_ONLY
	return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
	enter_namespaces(&cfg);
	prepare_images(&cfg);
	prepare_root(&cfg);
	apply_ops(&cfg);
	join_netns_sent(&cfg);
	run_prechroot(&cfg);
	finish_read_only(&cfg);
	switch_root(&cfg);
	drop_privileges(&cfg.priv);
	exec_command(&cfg);
}
