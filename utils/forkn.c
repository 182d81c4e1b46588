/* forkn: the supervisor of one command.
 *
 * It blocks the signals it relays and takes them synchronously, forks the
 * command (or, with --pid, an init that forks the command as pid 2 of a new pid
 * namespace; with --user, in a new user namespace whose maps it writes from
 * outside), forwards signals, reaps, and when the command ends kills and
 * reaps every descendant left, runs the cleanup exactly once and exits with
 * the command's status.  See "forkn" and "Users and privileges" in
 * docs/ARCHITECTURE.md.
 *
 * Two kinds of failure: a process forked from the supervisor uses die*() (it
 * exits 125 and never runs the cleanup); the supervisor itself uses fail(),
 * which also ends the child, reaps, and runs the cleanup once. */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include <stdint.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "sys.h"

/* relayed to the command; SIGCHLD is taken too but never relayed */
static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
#define NRELAYED (sizeof(relayed) / sizeof(relayed[0]))

static struct {
	const char *cleanup_sh; /* --cleanup / seed form */
	char *cleanup_exec; /* --cleanup-exec */
	char **cleanup_argv; /* PATH, --cleanup-arg..., NULL */
	size_t cleanup_argc;
	bool pidns;
	bool mount_ns; /* --mount-ns: the init follows the command's pivot_root */
	bool userns; /* --user, or any map option */
	bool map_root; /* --map-root-user */
	bool map_auto; /* --map-auto */
	const char *uid_spec, *gid_spec; /* --uid-map, --gid-map as given */
	bool detach;
	const char *state_dir;
	bool new_state; /* --new-state: forkn makes DIR and removes it at the end */
	bool adopt_state; /* --adopt-state: the caller made DIR; forkn removes it */
	const char *events; /* --events FILE: started and exited, as JSON lines */
	const char *trash; /* --trash DIR: where the state directory goes to be removed */
	const char *info; /* --info TEXT: DIR/info */
	const char *cgroup; /* --cgroup PATH: the instance's own cgroup (v2) */
	int exec_fd; /* --exec-fd N: the command's fd N closes at its exec */
	int keep_fd; /* --keep-fd N: the command inherits fd N as it is */
	const char *pids_max; /* --pids-max N: at most N tasks in the instance */
	const char *log_file;
	char **cmd;
} cfg;

/* the supervisor's run, as far as fail() needs to know it */
static pid_t child_pid = -1; /* direct child (command or init), until reaped */
static int report_fd = -1; /* --detach: the waiting original process */
static int state_fd = -1; /* --state DIR */

static void run_cleanup(int status);
static void end_descendants(void);
static void remove_state(void);
static void log_exited(int status);
static void end_cgroup(void);
static void end_pids_limit(void);

/* ---- failure of the supervisor itself ---- */

/* The detached original is waiting: hand it the message to print, since the
 * supervisor's own stderr is the log or /dev/null. */
static void report_failure(const char *msg, int err)
{
	char line[1200];
	int len;

	if (report_fd < 0)
		return;
	if (err)
		len = snprintf(line, sizeof(line), "unshared-cli: forkn: %s: %s\n", msg, strerror(err));
	else
		len = snprintf(line, sizeof(line), "unshared-cli: forkn: %s\n", msg);
	if (len > (int)sizeof(line) - 1)
		len = (int)sizeof(line) - 1;
	if (write(report_fd, line, (size_t)len) < 0 || close(report_fd) < 0)
		warn_msg("report failure to the detaching process: %s", strerror(errno));
	report_fd = -1;
}

/* Setup or supervision failed: end whatever was started, replay the cleanup
 * (the caller's journal must still be undone), exit 125. */
__attribute__((noreturn, format(printf, 2, 3))) static void fail(int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err)
		warn_msg("%s: %s", msg, strerror(err));
	else
		warn_msg("%s", msg);
	if (child_pid > 0 && kill(child_pid, SIGKILL) < 0)
		warn_msg("kill %d: %s", (int)child_pid, strerror(errno));
	end_descendants();
	end_cgroup();
	end_pids_limit();
	run_cleanup(EXIT_SETUP);
	remove_state();
	log_exited(EXIT_SETUP);
	/* only now: the detaching caller must not return while our cleanup
	 * still runs, or its own failure path would run a second one beside it */
	report_failure(msg, err);
	exit(EXIT_SETUP);
}

/* ---- command line ---- */

__attribute__((noreturn)) static void usage(void)
{
	fputs("usage: forkn CLEANUP CMD [ARG...]\n"
	      "       forkn [OPTIONS] [--] CMD [ARG...]\n"
	      "\n"
	      "Run CMD as a supervised child: relay INT TERM HUP QUIT USR1 USR2 WINCH,\n"
	      "kill every descendant left when it ends, run the cleanup once, and exit\n"
	      "with its status (128+N when it died of signal N).\n"
	      "\n"
	      "  --cleanup STRING      shell code run by /bin/sh -c once the command has ended\n"
	      "  --cleanup-exec PATH   a program run (no shell) once the command has ended\n"
	      "  --cleanup-arg ARG     an argument for --cleanup-exec (repeatable)\n"
	      "  --pid                 run CMD as pid 2 under an init in a new pid namespace\n"
	      "  --mount-ns            with --pid: the init and CMD start in one new mount namespace,\n"
	      "                        which CMD must pivot_root out of the host's tree (pivot\n"
	      "                        --mount-ns-made does); the init follows it there\n"
	      "  --user                make the child in a new user namespace (before any other)\n"
	      "  --uid-map MAP         uid map: \"INSIDE OUTSIDE COUNT[,INSIDE OUTSIDE COUNT...]\"\n"
	      "  --gid-map MAP         gid map, the same syntax (both imply --user; default:\n"
	      "                        your own id mapped to itself)\n"
	      "  --map-root-user       map your uid and gid to 0 inside (implies --user)\n"
	      "  --map-auto            --map-root-user plus your /etc/subuid, /etc/subgid ranges\n"
	      "                        from 1 up (newuidmap/newgidmap unless run as root)\n"
	      "  --state DIR           write DIR/pid (\"PID STARTTIME\") and DIR/cmdpid\n"
	      "  --new-state           with --state: make DIR (fails if it exists), remove it at the end\n"
	      "  --adopt-state         with --state: DIR was made for us (nsnet up --new-state):\n"
	      "                        remove it at the end; a journal left by a failed cleanup\n"
	      "                        keeps it for gc\n"
	      "  --events FILE         append \"started\" and \"exited\" events (JSON lines) to FILE\n"
	      "  --info TEXT           with --state: write TEXT to DIR/info\n"
	      "  --trash TRASH         with --new-state or --adopt-state: at the end, move the\n"
	      "                        emptied DIR into TRASH (same filesystem; made if missing)\n"
	      "                        instead of removing it; once its command has run 10 ms\n"
	      "                        (at once past 256 entries) forkn removes up to 8 empty\n"
	      "                        directories from TRASH beyond the 4 it keeps, which\n"
	      "                        --new-state takes back (renamed) instead of making DIR\n"
	      "  --cgroup NAME         run CMD in a new cgroup (v2) NAME.PID below forkn's own (or at\n"
	      "                        NAME, if absolute), removed at the end; best effort: without a\n"
	      "                        writable cgroup v2 CMD runs where it is\n"
	      "  --detach              run in the background, return once CMD has started\n"
	      "  --log FILE            with --detach: append output to FILE\n"
	      "  --pids-max N          with --cgroup: at most N tasks in the instance (pids controller)\n"
	      "  --exec-fd N           with --detach: give the command fd N, which it closes when\n"
	      "                        it has really started (exec with FD_CLOEXEC) or writes to\n"
	      "                        when it never will (pivot --exec-fd N); --detach returns then\n"
	      "  --keep-fd N           the command inherits fd N as it is (every other fd above 2\n"
	      "                        is closed); forkn closes its own copy once the child exists\n"
	      "  -h, --help            show this help\n"
	      "\n"
	      "The cleanup sees UNSHARED_STATUS (the final status) and PID (forkn's pid).\n",
	      stdout);
	exit(fflush(stdout) == 0 ? 0 : EXIT_SETUP);
}

enum {
	OPT_CLEANUP = 256, OPT_CLEANUP_EXEC, OPT_CLEANUP_ARG, OPT_PID, OPT_STATE,
	OPT_NEW_STATE, OPT_INFO, OPT_CGROUP, OPT_DETACH, OPT_LOG, OPT_EXEC_FD,
	OPT_USER, OPT_UID_MAP, OPT_GID_MAP, OPT_MAP_ROOT, OPT_MAP_AUTO, OPT_PIDS_MAX,
	OPT_ADOPT_STATE, OPT_EVENTS, OPT_MOUNT_NS, OPT_TRASH, OPT_KEEP_FD
};

static const char *parse_pids_max(const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (*arg == '\0' || *end || n < 1 || n > 4194304)
		die("--pids-max '%s': a number of tasks from 1 to 4194304", arg);
	return arg;
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cleanup", required_argument, NULL, OPT_CLEANUP },
		{ "cleanup-exec", required_argument, NULL, OPT_CLEANUP_EXEC },
		{ "cleanup-arg", required_argument, NULL, OPT_CLEANUP_ARG },
		{ "pid", no_argument, NULL, OPT_PID },
		{ "mount-ns", no_argument, NULL, OPT_MOUNT_NS },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "new-state", no_argument, NULL, OPT_NEW_STATE },
		{ "adopt-state", no_argument, NULL, OPT_ADOPT_STATE },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "trash", required_argument, NULL, OPT_TRASH },
		{ "info", required_argument, NULL, OPT_INFO },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "detach", no_argument, NULL, OPT_DETACH },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "exec-fd", required_argument, NULL, OPT_EXEC_FD },
		{ "keep-fd", required_argument, NULL, OPT_KEEP_FD },
		{ "pids-max", required_argument, NULL, OPT_PIDS_MAX },
		{ "user", no_argument, NULL, OPT_USER },
		{ "uid-map", required_argument, NULL, OPT_UID_MAP },
		{ "gid-map", required_argument, NULL, OPT_GID_MAP },
		{ "map-root-user", no_argument, NULL, OPT_MAP_ROOT },
		{ "map-auto", no_argument, NULL, OPT_MAP_AUTO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	/* "+": the command's own options are not ours */
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage();
		case OPT_CLEANUP: cfg.cleanup_sh = optarg; break;
		case OPT_CLEANUP_EXEC: cfg.cleanup_exec = optarg; break;
		case OPT_CLEANUP_ARG: cfg.cleanup_argv[++cfg.cleanup_argc] = optarg; break;
		case OPT_PID: cfg.pidns = true; break;
		case OPT_MOUNT_NS: cfg.mount_ns = true; break;
		case OPT_STATE: cfg.state_dir = optarg; break;
		case OPT_NEW_STATE: cfg.new_state = true; break;
		case OPT_ADOPT_STATE: cfg.adopt_state = true; break;
		case OPT_EVENTS: cfg.events = optarg; break;
		case OPT_TRASH: cfg.trash = optarg; break;
		case OPT_INFO: cfg.info = optarg; break;
		case OPT_CGROUP: cfg.cgroup = optarg; break;
		case OPT_DETACH: cfg.detach = true; break;
		case OPT_LOG: cfg.log_file = optarg; break;
		case OPT_EXEC_FD: cfg.exec_fd = fd_option("--exec-fd", optarg); break;
		case OPT_KEEP_FD: cfg.keep_fd = fd_option("--keep-fd", optarg); break;
		case OPT_PIDS_MAX: cfg.pids_max = parse_pids_max(optarg); break;
		case OPT_USER: cfg.userns = true; break;
		case OPT_UID_MAP: cfg.uid_spec = optarg; cfg.userns = true; break;
		case OPT_GID_MAP: cfg.gid_spec = optarg; cfg.userns = true; break;
		case OPT_MAP_ROOT: cfg.map_root = cfg.userns = true; break;
		case OPT_MAP_AUTO: cfg.map_auto = cfg.userns = true; break;
		default: bad_option(c, argv);
		}
	}
	cfg.cmd = argv + optind;
}

/* ---- --user: the maps, planned before anything is made ---- */

/* A map of the kernel's: up to 340 lines "INSIDE OUTSIDE COUNT" (Linux 4.15+). */
#define MAX_EXTENTS 340
/* root without a line of its own in /etc/subuid: 65536 ids from 0x70000000,
 * above what useradd (100000-600100000) and systemd-nspawn (0x80000-0x6fffffff)
 * hand out, below the ids some tools take for negative numbers */
#define DEFAULT_SUBID_START 1879048192UL
#define DEFAULT_SUBID_COUNT 65536UL

struct extent {
	unsigned long in, out, count;
};

struct id_map {
	const char *kind; /* "uid" or "gid": names the files and the helper */
	const char *option; /* what the user wrote, for messages */
	unsigned long self; /* our effective id outside */
	struct extent ext[MAX_EXTENTS];
	size_t n;
	bool privileged; /* CAP_SETUID (CAP_SETGID): any map we may write ourselves */
	char helper[PATH_MAX]; /* newuidmap (newgidmap) when we may not: setuid, reads /etc/sub?id */
};

static struct id_map uid_map = { .kind = "uid" }, gid_map = { .kind = "gid" };

static void add_extent(struct id_map *m, unsigned long in, unsigned long out, unsigned long count)
{
	if (m->n == MAX_EXTENTS)
		die("%s: more than %d ranges", m->option, MAX_EXTENTS);
	/* ids are 32 bits; (uid_t)-1 is no id at all */
	if (count == 0 || in + count > 0xffffffffUL || out + count > 0xffffffffUL)
		die("%s: the range %lu %lu %lu is empty or beyond the last id", m->option, in, out, count);
	m->ext[m->n++] = (struct extent){ in, out, count };
}

static bool parse_id(const char **p, unsigned long *out)
{
	char *end;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (**p < '0' || **p > '9')
		return false;
	errno = 0;
	*out = strtoul(*p, &end, 10);
	*p = end;
	return errno == 0 && *out <= 0xffffffffUL;
}

/* "INSIDE OUTSIDE COUNT[,INSIDE OUTSIDE COUNT...]" (jchroot, nsroot) */
static void parse_map(struct id_map *m, const char *spec)
{
	const char *p = spec;

	do {
		unsigned long in, out, count;

		if (!parse_id(&p, &in) || !parse_id(&p, &out) || !parse_id(&p, &count))
			die("%s '%s': expected INSIDE OUTSIDE COUNT[,INSIDE OUTSIDE COUNT...]", m->option, spec);
		add_extent(m, in, out, count);
		while (*p == ' ' || *p == '\t')
			p++;
	} while (*p == ',' && p++);
	if (*p)
		die("%s '%s': expected INSIDE OUTSIDE COUNT[,INSIDE OUTSIDE COUNT...]", m->option, spec);
}

/* The name of UID in /etc/passwd, without NSS (a static binary has none). */
static bool user_name(unsigned long uid, char *name, size_t size)
{
	char line[1024], *u;
	FILE *f = fopen("/etc/passwd", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon || !(u = strchr(colon + 1, ':')))
			continue;
		*colon = '\0';
		found = strtoul(u + 1, NULL, 10) == uid && u[1] >= '0' && u[1] <= '9' && strlen(line) < size;
		if (found)
			memcpy(name, line, strlen(line) + 1);
	}
	fclose(f);
	return found;
}

/* Our ranges in /etc/subuid (subgid), by user name or number, mapped from
 * inside id 1 up in file order. Returns how many ids were added. */
static unsigned long add_subids(struct id_map *m, const char *file, unsigned long uid)
{
	char line[1024], name[256] = "", num[16];
	unsigned long next = 1;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	user_name(uid, name, sizeof(name));
	snprintf(num, sizeof(num), "%lu", uid);
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		const char *p;
		unsigned long start, count;

		if (!colon)
			continue;
		*colon = '\0';
		p = colon + 1;
		if (strcmp(line, num) != 0 && (!name[0] || strcmp(line, name) != 0))
			continue;
		if (!parse_id(&p, &start) || *p++ != ':' || !parse_id(&p, &count))
			die("%s: a bad line for %s", file, line);
		add_extent(m, next, start, count);
		next += count;
	}
	fclose(f);
	return next - 1;
}

/* The kernel lets an unprivileged writer map its own id alone, once. */
static bool own_id_only(const struct id_map *m)
{
	return m->n == 1 && m->ext[0].out == m->self && m->ext[0].count == 1;
}

/* CAP in our effective set: the right to write any map (of ids we have). */
static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (sys_capget(&hdr, data) < 0)
		die_errno("read our capabilities");
	return data[cap / 32].effective & (1U << (cap % 32));
}

/* An executable NAME in PATH (the front end's fixed one), into OUT. */
static bool find_in_path(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;

	for (p = path ? path : "/usr/bin:/bin";; p = end + 1) {
		end = strchrnul(p, ':');
		if (end > p && snprintf(out, size, "%.*s/%s", (int)(end - p), p, name) < (int)size &&
		    access(out, X_OK) == 0)
			return true;
		if (*end == '\0')
			return false;
	}
}

/* One map: what was asked for, or the default; and who will write it. */
static void plan_map(struct id_map *m, const char *spec, const char *option, unsigned long self, int cap)
{
	char subfile[16];

	m->self = self;
	m->option = spec ? option : cfg.map_auto ? "--map-auto" : cfg.map_root ? "--map-root-user" : "--user";
	snprintf(subfile, sizeof(subfile), "/etc/sub%s", m->kind);
	if (spec) {
		parse_map(m, spec);
	} else if (cfg.map_auto) {
		add_extent(m, 0, self, 1);
		/* both files are keyed by the user: its name or its uid */
		if (add_subids(m, subfile, (unsigned long)geteuid()) == 0) {
			if (geteuid() != 0)
				die("--map-auto: %s has no range for uid %lu (see subuid(5))", subfile,
				    (unsigned long)geteuid());
			add_extent(m, 1, DEFAULT_SUBID_START, DEFAULT_SUBID_COUNT);
		}
	} else {
		add_extent(m, cfg.map_root ? 0 : self, self, 1);
	}
	m->privileged = have_cap(cap);
	if (m->privileged || own_id_only(m))
		return;
	snprintf(subfile, sizeof(subfile), "new%smap", m->kind);
	if (!find_in_path(subfile, m->helper, sizeof(m->helper)))
		die("%s: mapping %ss other than your own (%lu) needs %s (package uidmap), not found in PATH",
		    m->option, m->kind, self, subfile);
}

static void plan_maps(void)
{
	plan_map(&uid_map, cfg.uid_spec, "--uid-map", (unsigned long)geteuid(), CAP_SETUID);
	plan_map(&gid_map, cfg.gid_spec, "--gid-map", (unsigned long)getegid(), CAP_SETGID);
}

/* Run by `nsnet up --exec`, which made the network and knows the address
 * (UNSHARED_NSNET_ADDR): it goes in the empty "addr=" line of --info. The
 * variable is nsnet's word to us, for nobody after us. */
static void fill_addr(void)
{
	const char *addr = getenv("UNSHARED_NSNET_ADDR");
	const char *at;
	char *info;
	size_t head;

	if (!addr)
		return;
	if (cfg.info && (at = strstr(cfg.info, "\naddr=\n")) != NULL && !strchr(addr, '\n')) {
		head = (size_t)(at - cfg.info) + 6;
		info = malloc(strlen(cfg.info) + strlen(addr) + 1);
		if (!info)
			die("out of memory");
		memcpy(info, cfg.info, head);
		strcpy(info + head, addr);
		strcat(info, cfg.info + head);
		cfg.info = info;
	}
	if (unsetenv("UNSHARED_NSNET_ADDR") < 0)
		die_errno("unsetenv UNSHARED_NSNET_ADDR");
}

static void parse_args(int argc, char **argv)
{
	/* room for PATH, every argument, NULL: an upper bound on --cleanup-arg */
	cfg.exec_fd = cfg.keep_fd = -1;
	cfg.cleanup_argv = calloc((size_t)argc + 2, sizeof(char *));
	if (!cfg.cleanup_argv)
		die_errno("allocate the cleanup arguments");
	if (argc > 1 && argv[1][0] != '-') {
		/* seed form: forkn CLEANUP CMD [ARG...] */
		cfg.cleanup_sh = argv[1];
		cfg.cmd = argv + 2;
	} else {
		parse_options(argc, argv);
	}
	if (!cfg.cmd[0])
		die("missing command (see forkn --help)");
	if (cfg.cleanup_sh && cfg.cleanup_exec)
		die("--cleanup and --cleanup-exec exclude each other");
	if (cfg.cleanup_argc && !cfg.cleanup_exec)
		die("--cleanup-arg needs --cleanup-exec");
	if (cfg.log_file && !cfg.detach)
		die("--log needs --detach");
	if (cfg.pids_max && !cfg.cgroup)
		die("--pids-max needs --cgroup");
	if (cfg.mount_ns && !cfg.pidns)
		die("--mount-ns needs --pid");
	if (cfg.exec_fd >= 0 && !cfg.detach)
		die("--exec-fd needs --detach");
	if (cfg.keep_fd >= 0 && cfg.keep_fd == cfg.exec_fd)
		die("--keep-fd %d: --exec-fd has that number", cfg.keep_fd);
	if (cfg.keep_fd >= 0 && fcntl(cfg.keep_fd, F_GETFD) < 0)
		die_errno("--keep-fd %d", cfg.keep_fd);
	if ((cfg.new_state || cfg.adopt_state || cfg.info) && !cfg.state_dir)
		die("--new-state, --adopt-state and --info need --state");
	if (cfg.events && !cfg.state_dir)
		die("--events needs --state");
	if (cfg.trash && !(cfg.new_state || cfg.adopt_state))
		die("--trash needs --new-state or --adopt-state");
	if (cfg.new_state && cfg.adopt_state)
		die("--new-state and --adopt-state exclude each other");
	cfg.cleanup_argv[0] = cfg.cleanup_exec;
	fill_addr();
	if (cfg.userns)
		plan_maps();
}

/* ---- small helpers ---- */

static int exit_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return EXIT_SETUP;
}

static sigset_t taken_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NRELAYED; i++)
		sigaddset(&set, relayed[i]);
	sigaddset(&set, SIGCHLD);
	return set;
}

/* Our own pipes and files must never land on 0-2, where a child would keep
 * them as stdio: give a closed standard fd /dev/null. */
static void ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int nfd = open("/dev/null", O_RDWR | O_NOCTTY); /* lowest free: fd */
		if (nfd < 0)
			fail(errno, "open /dev/null");
		if (nfd != fd)
			fail(0, "/dev/null opened as fd %d, not %d", nfd, fd);
	}
}

static int close_by_scan(unsigned int lo, unsigned int hi)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *ent;

	if (!dir)
		return -1;
	while ((ent = readdir(dir))) {
		char *end;
		unsigned long fd = strtoul(ent->d_name, &end, 10);

		if (*end || end == ent->d_name || fd < lo || fd > hi || (int)fd == dirfd(dir))
			continue;
		close((int)fd); /* best effort: this is the fallback of a fallback */
	}
	return closedir(dir);
}

static int close_between(unsigned int lo, unsigned int hi)
{
	if (lo > hi)
		return 0;
	if (sys_close_range(lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return close_by_scan(lo, hi); /* kernel before 5.9 */
}

/* Close every fd above 2 but the exec pipe, --keep-fd's and keep_a, keep_b
 * (-1: none). */
static int exec_pipe[2] = { -1, -1 };

static int close_fds_except(int keep_a, int keep_b)
{
	enum { NKEEP = 4 };
	int keep[NKEEP] = { keep_a, keep_b, exec_pipe[1], cfg.keep_fd }, t;
	unsigned int lo = 3;

	for (int i = 0; i < NKEEP; i++) /* sort four */
		for (int j = i + 1; j < NKEEP; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i < NKEEP; i++) {
		if (keep[i] < (int)lo)
			continue;
		if (close_between(lo, (unsigned int)keep[i] - 1) < 0)
			return -1;
		lo = (unsigned int)keep[i] + 1;
	}
	return close_between(lo, ~0U);
}

static ssize_t read_full(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* ---- /proc ---- */

/* Without CONFIG_PROC_CHILDREN: every process whose ppid is PARENT. */
static ssize_t scan_children(pid_t parent, pid_t *out, size_t max)
{
	DIR *dir = opendir("/proc");
	struct dirent *ent;
	size_t n = 0;

	if (!dir)
		return -1;
	while (n < max && (ent = readdir(dir))) {
		char *end;
		long pid = strtol(ent->d_name, &end, 10);
		unsigned long long ppid;

		if (*end || end == ent->d_name || proc_stat_field((pid_t)pid, 4, &ppid) < 0)
			continue; /* not a pid, or gone meanwhile */
		if ((pid_t)ppid == parent)
			out[n++] = (pid_t)pid;
	}
	if (closedir(dir) < 0)
		return -1;
	return (ssize_t)n;
}

/* Parse "PID PID ... " as it streams, whatever its length. */
static ssize_t parse_pid_list(int fd, pid_t *out, size_t max)
{
	char buf[4096];
	size_t n = 0;
	long cur = -1;
	ssize_t got;

	while ((got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else if (cur >= 0) {
				if (n < max)
					out[n++] = (pid_t)cur;
				cur = -1;
			}
		}
	}
	if (cur >= 0 && n < max)
		out[n++] = (pid_t)cur;
	return (ssize_t)n;
}

/* Up to MAX children of PARENT (single-threaded: its only task is itself). */
static ssize_t list_children(pid_t parent, pid_t *out, size_t max)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return scan_children(parent, out, max);
	if (fd < 0)
		return -1;
	n = parse_pid_list(fd, out, max);
	if (close(fd) < 0)
		return -1;
	return n;
}

/* ---- --state DIR ---- */

/* Readers must never see a half-written file: write a temp, rename it over. */
static void write_state(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void write_state(const char *name, const char *fmt, ...)
{
	char tmp[64], text[PATH_MAX + 16];
	va_list ap;
	int fd, len;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		fail(errno, "open %s/%s", cfg.state_dir, tmp);
	if (write(fd, text, (size_t)len) != len)
		fail(errno, "write %s/%s", cfg.state_dir, tmp); /* fd: closed by exit */
	if (close(fd) < 0)
		fail(errno, "close %s/%s", cfg.state_dir, tmp);
	if (replace_file(state_fd, tmp, name) < 0)
		fail(errno, "rename %s/%s to %s", cfg.state_dir, tmp, name);
}

/* DIR/info: the plan, as the front end wrote it (KEY=VALUE lines). */
static void write_info(void)
{
	size_t len = strlen(cfg.info);
	int fd = openat(state_fd, "info", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		fail(errno, "create %s/info", cfg.state_dir);
	if (write(fd, cfg.info, len) != (ssize_t)len)
		fail(errno, "write %s/info", cfg.state_dir); /* fd: closed by exit */
	if (close(fd) < 0)
		fail(errno, "close %s/info", cfg.state_dir);
}

/* --new-state: the directory is the instance's name lock. mkdir is atomic, so
 * of two supervisors racing for one name exactly one wins. */
static void make_state(void)
{
	if (take_dir(cfg.trash, cfg.state_dir) < 0) {
		if (errno == EEXIST)
			die("%s: the name is in use", cfg.state_dir);
		die_errno("make state directory %s", cfg.state_dir);
	}
}

/* --new-state, --adopt-state, at the very end: the instance's files go, and
 * the journal once the cleanup has undone it. Anything else found there (a
 * journal the cleanup could not replay) keeps the directory for gc. */
static bool cleanup_failed; /* the cleanup ran and did not exit 0 */
static bool state_left; /* the directory could not be removed */

/* --trash: an emptied state directory is renamed away (~3 us) rather than
 * removed (rmdir costs ~80 us on ext4, on the path to our exit); a later
 * supervisor removes it while its own command runs (see idle_trash). false:
 * not done (rmdir it). */
static bool trash_state(void)
{
	char to[PATH_MAX];
	const char *name = strrchr(cfg.state_dir, '/');

	if (!cfg.trash || cleanup_failed)
		return false;
	name = name ? name + 1 : cfg.state_dir;
	if (snprintf(to, sizeof(to), "%s/%s.%d", cfg.trash, name, (int)getpid()) >= (int)sizeof(to))
		return false;
	if (rename(cfg.state_dir, to) == 0)
		return true;
	if (errno != ENOENT || (mkdir(cfg.trash, 0700) < 0 && errno != EEXIST))
		return false;
	return rename(cfg.state_dir, to) == 0;
}

/* What the trash keeps: empty directories for the next spawns to take back
 * instead of making one (take_dir): each rmdir here waits ~0.1 ms for a
 * discard (ext4 -o discard, no journal), a rename out of the trash ~3 us. */
#define TRASH_KEEP 4

/* Remove up to 8 empty directories from --trash, leaving TRASH_KEEP there
 * (rmdir only: what is not empty stays, for gc to see). Others may be at it
 * too: ENOENT is fine. */
static void empty_trash(void)
{
	int fd, n = 0, excess = 8;
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (!cfg.trash || (fd = open(cfg.trash, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	/* a directory's links: 2 + its subdirectories (1: not counted, as on btrfs) */
	if (fstat(fd, &st) == 0 && st.st_nlink != 1) {
		long long over = (long long)st.st_nlink - 2 - TRASH_KEEP;

		excess = over < 8 ? (int)over : 8;
	}
	d = excess > 0 ? fdopendir(fd) : NULL;
	if (!d) {
		close(fd);
		return;
	}
	while (n < excess && (e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0)
			n++;
	closedir(d);
}

/* When to empty the trash: not while the command starts (the rmdirs, on the
 * other core, still cost its start ~80 us here), but once it has run for
 * TRASH_IDLE_MS; or at once when the trash holds more than TRASH_MAX (a loop
 * of commands that all end sooner than that). */
#define TRASH_IDLE_MS 10
#define TRASH_MAX 256

static void trash_if_full(void)
{
	struct stat st;

	/* (a filesystem that does not count subdirectories says 1: look) */
	if (cfg.trash && stat(cfg.trash, &st) == 0 && (st.st_nlink > 2 + TRASH_MAX || st.st_nlink == 1))
		empty_trash();
}

/* Wait TRASH_IDLE_MS for the first signal; none came: the trash goes. One
 * that came is put back (pending again, still blocked) for relay_until_exit. */
static void idle_trash(void)
{
	struct timespec idle = { 0, TRASH_IDLE_MS * 1000000L };
	sigset_t set = taken_signals();
	int sig;

	if (!cfg.trash)
		return;
	while ((sig = sigtimedwait(&set, NULL, &idle)) < 0 && errno == EINTR)
		;
	if (sig > 0) {
		if (kill(getpid(), sig) < 0)
			warn_msg("keep signal %d: %s", sig, strerror(errno));
		return;
	}
	empty_trash();
}

static void remove_state(void)
{
	static const char *const files[] = { "pid", "cmdpid", "info", "cgroup", "log", "journal" };
	size_t n = sizeof(files) / sizeof(files[0]);

	if (!(cfg.new_state || cfg.adopt_state) || state_fd < 0)
		return;
	if (cleanup_failed)
		n--; /* the journal stays: gc replays it */
	for (size_t i = 0; i < n; i++)
		if (unlinkat(state_fd, files[i], 0) < 0 && errno != ENOENT)
			warn_msg("remove %s/%s: %s", cfg.state_dir, files[i], strerror(errno));
	if (trash_state())
		return;
	if (rmdir(cfg.state_dir) < 0 && errno != ENOENT) {
		if (!cleanup_failed)
			warn_msg("remove %s: %s", cfg.state_dir, strerror(errno));
		state_left = true;
	}
}

/* DIR/pid: the supervisor, with its start time so a reused pid is told apart. */
static void open_state(void)
{
	if (!cfg.state_dir)
		return;
	state_fd = open(cfg.state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (state_fd < 0)
		fail(errno, "open state directory %s", cfg.state_dir);
}

/* Whether DIR/NAME holds exactly TEXT (LEN bytes). */
static bool state_holds(const char *name, const char *text, size_t len)
{
	char buf[64];

	return read_text_at(state_fd, name, O_NOFOLLOW, buf, sizeof(buf)) == (ssize_t)len && memcmp(buf, text, len) == 0;
}

/* DIR/pid, "PID STARTTIME": ours, for stop, list and gc. Written once the
 * child is on its way (an entry without it reads as "starting"). A spawn
 * --bridge in the foreground is one process from the front end to us (it
 * exec'd nsnet up, which exec'd forkn): nsnet up's DIR/pid already names us
 * and stays (not even the swap of replace_file is needed). */
static void write_pid(void)
{
	unsigned long long start;
	char text[48];
	int len;

	if (state_fd < 0)
		return;
	if (proc_stat_field(getpid(), 22, &start) < 0)
		fail(errno, "read the start time of pid %d", (int)getpid());
	len = snprintf(text, sizeof(text), "%d %llu\n", (int)getpid(), start);
	if (cfg.adopt_state && state_holds("pid", text, (size_t)len))
		return;
	write_state("pid", "%s", text);
}

/* ---- --events FILE ---- */

/* The event log of lib/ready.sh, written the same way: one line per event,
 * one write(2) with O_APPEND, so concurrent writers never interleave. A write
 * that fails is not the instance's failure. */
#define EVENTS_ROTATE (4096L * 1024) /* past this the log moves to FILE.1 */

static bool cmd_started; /* DIR/cmdpid was written: "exited" is due */

/* V (LEN bytes) as a JSON string, as ev_str does: quotes and backslashes
 * escaped, control characters dropped; nothing at all is null. */
static void json_str(char *out, size_t size, const char *v, size_t len)
{
	size_t o = 0;

	if (!v || !len) {
		snprintf(out, size, "null");
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len && o + 3 < size; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* KEY's value in the --info text ("KEY=VALUE" lines), or NULL */
static const char *info_value(const char *key, size_t *len)
{
	size_t klen = strlen(key);

	for (const char *p = cfg.info; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			*len = n - klen - 1;
			return p + klen + 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* The time as lib/ready.sh's ev_now tells it, so that the lines of both
 * writers sort: the boot time of /proc/stat plus the time since boot. */
static bool event_time(long long *sec, long *cs)
{
	static long long btime = -1;
	struct timespec up;

	if (btime < 0) {
		char buf[8192], *p;

		if (read_text_at(AT_FDCWD, "/proc/stat", 0, buf, sizeof(buf)) <= 0)
			return false;
		p = strstr(buf, "\nbtime ");
		if (!p || sscanf(p + 7, "%lld", &btime) != 1)
			return false;
	}
	if (clock_gettime(CLOCK_BOOTTIME, &up) < 0)
		return false;
	*sec = btime + up.tv_sec;
	*cs = up.tv_nsec / 10000000;
	return true;
}

static void log_event(const char *kind, const char *fields)
{
	char name[320], line[1024], old[PATH_MAX];
	const char *v;
	size_t len = 0;
	long long sec;
	long cs;
	struct stat st;
	int fd, n;

	if (!cfg.events)
		return;
	v = info_value("name", &len);
	if (!v) {
		v = strrchr(cfg.state_dir, '/');
		v = v ? v + 1 : cfg.state_dir;
		len = strlen(v);
	}
	json_str(name, sizeof(name), v, len);
	if (!event_time(&sec, &cs))
		return;
	n = snprintf(line, sizeof(line), "{\"time\": %lld.%02ld, \"event\": \"%s\", \"name\": %s%s}\n",
		     sec, cs, kind, name, fields);
	if (n < 0 || n >= (int)sizeof(line))
		return;
	fd = open(cfg.events, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) == n && fstat(fd, &st) == 0 && st.st_size > EVENTS_ROTATE &&
	    snprintf(old, sizeof(old), "%s.1", cfg.events) < (int)sizeof(old))
		rename(cfg.events, old); /* followers use tail -F: the name */
	close(fd);
}

/* "started": the command runs; the supervisor's pid, the address and bridge */
static void log_started(void)
{
	char fields[512], addr[64], bridge[64];
	const char *v;
	size_t len = 0;

	if (!cfg.events)
		return;
	v = info_value("addr", &len);
	json_str(addr, sizeof(addr), v, v ? len : 0);
	v = info_value("bridge", &len);
	json_str(bridge, sizeof(bridge), v, v ? len : 0);
	snprintf(fields, sizeof(fields), ", \"pid\": %d, \"addr\": %s, \"bridge\": %s", (int)getpid(), addr,
		 bridge);
	log_event("started", fields);
}

/* "exited", once the teardown is over (only for a command that started) */
static void log_exited(int status)
{
	char fields[96];

	if (!cmd_started)
		return;
	snprintf(fields, sizeof(fields), ", \"status\": %d%s", status,
		 state_left ? ", \"teardown\": \"incomplete\"" : "");
	log_event("exited", fields);
}

/* ---- --cgroup PATH ---- */

/* Without a pid namespace, what the command forks can leave our tree (setsid,
 * double forks) and would outlive a supervisor killed by SIGKILL. A cgroup
 * cannot be left that way, and its name is ours: gc kills its members. It is
 * recorded in DIR/cgroup before it is made, so gc finds it after any crash. */
static int cgroup_procs = -1; /* PATH/cgroup.procs, written by the child */
static int cgroup_dir = -1; /* PATH itself, for clone3(CLONE_INTO_CGROUP) */
static bool cgroup_joined; /* the child was born in it: no write to make */

static void cgroup_give_up(void)
{
	if (state_fd >= 0 && unlinkat(state_fd, "cgroup", 0) < 0 && errno != ENOENT)
		warn_msg("remove %s/cgroup: %s", cfg.state_dir, strerror(errno));
	cfg.cgroup = NULL;
}

/* The unified hierarchy's mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on
 * hybrid hosts. Our own place in it: the "0::" line of /proc/self/cgroup. */
static bool own_cgroup(char *out, size_t size)
{
	static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	char buf[4096], probe[64], *line;
	const char *mnt = NULL;

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]) && !mnt; i++) {
		snprintf(probe, sizeof(probe), "%s/cgroup.controllers", mounts[i]);
		if (access(probe, F_OK) == 0)
			mnt = mounts[i];
	}
	if (!mnt || read_text_at(AT_FDCWD, "/proc/self/cgroup", 0, buf, sizeof(buf)) <= 0)
		return false;
	line = strstr(buf, "0::/");
	if (!line || (line != buf && line[-1] != '\n'))
		return false;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "/") == 0)
		line = "";
	return snprintf(out, size, "%s%s", mnt, line) < (int)size;
}

static void make_cgroup(void)
{
	static char where[PATH_MAX];
	char procs[PATH_MAX], own[PATH_MAX];

	if (!cfg.cgroup)
		return;
	if (cfg.cgroup[0] != '/') {
		if (!own_cgroup(own, sizeof(own)) ||
		    snprintf(where, sizeof(where), "%s/%s.%d", own, cfg.cgroup, (int)getpid()) >= (int)sizeof(where)) {
			cfg.cgroup = NULL; /* no cgroup v2 here */
			return;
		}
		cfg.cgroup = where;
	}
	if (state_fd >= 0)
		write_state("cgroup", "%s\n", cfg.cgroup);
	if (mkdir(cfg.cgroup, 0755) < 0) {
		cgroup_give_up(); /* best effort: read-only or v1-only hosts */
		return;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cfg.cgroup);
	cgroup_procs = open(procs, O_WRONLY | O_CLOEXEC);
	cgroup_dir = open(cfg.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_procs < 0) {
		if (rmdir(cfg.cgroup) < 0)
			warn_msg("remove cgroup %s: %s", cfg.cgroup, strerror(errno));
		cgroup_give_up();
	}
}

/* In the child, before anything else it runs: the supervisor stays outside. */
static void join_cgroup(void)
{
	/* best effort like the rest of --cgroup: gc then relies on namespaces */
	if (!cgroup_joined && cgroup_procs >= 0 && write(cgroup_procs, "0\n", 2) != 2)
		warn_msg("join cgroup %s: %s", cfg.cgroup, strerror(errno));
}

/* cgroup.events says "populated 0" once the last member is gone. */
static bool cgroup_empty(void)
{
	char path[PATH_MAX], buf[256];

	snprintf(path, sizeof(path), "%s/cgroup.events", cfg.cgroup);
	if (read_text_at(AT_FDCWD, path, 0, buf, sizeof(buf)) < 0)
		return errno == ENOENT;
	return strstr(buf, "populated 0") != NULL;
}

/* After every descendant was reaped: end what joined later (attach sessions),
 * wait until the cgroup is empty (SIGKILL is asynchronous), remove it. */
static void end_cgroup(void)
{
	char path[PATH_MAX];
	struct timespec tick = { 0, 2000000 };
	int fd;

	if (!cfg.cgroup || cgroup_procs < 0)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.kill", cfg.cgroup);
	for (int i = 0; i < 2500 && !cgroup_empty(); i++) {
		if (i == 0 && (fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
			if (write(fd, "1\n", 2) != 2)
				warn_msg("write %s: %s", path, strerror(errno));
			close(fd);
		}
		nanosleep(&tick, NULL);
	}
	if (rmdir(cfg.cgroup) < 0 && errno != ENOENT) {
		warn_msg("remove cgroup %s: %s", cfg.cgroup, strerror(errno));
		return; /* DIR/cgroup stays: gc will try again */
	}
	cgroup_give_up();
}

/* ---- --pids-max N ---- */

/* A fork bomb must hit a wall, not the host: the pids controller. In the
 * instance's own cgroup when cgroup v2 offers it there (pids.max exists);
 * else in a cgroup of the v1 pids hierarchy (hybrid hosts), which the child
 * joins by writing cgroup.procs. No controller at all: a setup failure, since
 * the user asked for a limit. */
static char pids_dir[PATH_MAX]; /* the v1 cgroup we made, or "" */
static int pids_procs = -1;

static int write_file_at(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	return close(fd) == 0 && ok ? 0 : -1;
}

/* "N:pids:/path" of /proc/self/cgroup, under /sys/fs/cgroup/pids */
static bool v1_pids_parent(char *out, size_t size)
{
	char buf[4096], *line;

	if (read_text_at(AT_FDCWD, "/proc/self/cgroup", 0, buf, sizeof(buf)) <= 0 ||
	    access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) < 0)
		return false;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;

		if (path && (size_t)(path - ctl - 1) == 4 && strncmp(ctl + 1, "pids", 4) == 0)
			return snprintf(out, size, "/sys/fs/cgroup/pids%s", strcmp(path + 1, "/") ? path + 1 : "") < (int)size;
	}
	return false;
}

static void make_pids_limit(void)
{
	char parent[PATH_MAX];

	if (!cfg.pids_max)
		return;
	if (cfg.cgroup && write_file_at(cfg.cgroup, "pids.max", cfg.pids_max) == 0)
		return;
	if (!v1_pids_parent(parent, sizeof(parent)) ||
	    snprintf(pids_dir, sizeof(pids_dir), "%s/unshared-%d", parent, (int)getpid()) >= (int)sizeof(pids_dir))
		fail(0, "--pids-max: no pids controller here (cgroup v2 or v1)");
	if (mkdir(pids_dir, 0755) < 0)
		fail(errno, "--pids-max: make %s", pids_dir);
	if (write_file_at(pids_dir, "pids.max", cfg.pids_max) < 0)
		fail(errno, "--pids-max: write %s/pids.max", pids_dir);
	int dir = open(pids_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	pids_procs = dir < 0 ? -1 : openat(dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (pids_procs < 0)
		fail(errno, "--pids-max: open %s/cgroup.procs", pids_dir);
	close(dir);
}

/* In the child, with join_cgroup. */
static void join_pids_limit(void)
{
	if (pids_procs >= 0 && write(pids_procs, "0\n", 2) != 2)
		die_errno("--pids-max: join %s", pids_dir);
}

/* After end_cgroup: the v1 group empties with the instance. */
static void end_pids_limit(void)
{
	struct timespec tick = { 0, 2000000 };

	if (!pids_dir[0])
		return;
	for (int i = 0; i < 2500 && rmdir(pids_dir) < 0 && errno == EBUSY; i++)
		nanosleep(&tick, NULL);
	if (access(pids_dir, F_OK) == 0)
		warn_msg("remove %s: still busy", pids_dir);
	pids_dir[0] = '\0';
}

/* ---- signals ---- */

/* Block what we take synchronously, before any fork, so nothing is lost and
 * no signal kills the supervisor.  Dispositions inherited from the caller
 * matter even while blocked: SIGCHLD at SIG_IGN would make the kernel reap
 * our children behind our back. */
static void take_signals(void)
{
	sigset_t set = taken_signals();
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };

	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fail(errno, "block signals");
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1 && sigaction(sig, &dfl, NULL) < 0)
			fail(errno, "reset signal %d", sig);
	/* a reader gone (the detaching parent, a closed log pipe) is an error
	 * to report, not a reason to die before the cleanup */
	if (sigaction(SIGPIPE, &ign, NULL) < 0)
		fail(errno, "ignore SIGPIPE");
}

/* In a forked child about to exec: nothing of the supervisor's signal set-up
 * survives, not even what the caller ignored. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t empty;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, &dfl, NULL) == 0)
			continue;
		/* EINVAL: one the libc keeps for itself; the kernel takes it */
		if (errno != EINVAL || (sys_default_signal(sig) < 0 && errno != EINVAL))
			die_errno("reset signal %d", sig);
	}
	sigemptyset(&empty);
	if (sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
		die_errno("unblock signals");
}

/* Relay signals to TARGET and reap every child that ends, until TARGET does.
 * Returns TARGET's status, or -1 with errno. */
static int relay_until_exit(pid_t target)
{
	sigset_t set = taken_signals();

	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig < 0 && errno == EINTR)
			continue;
		if (sig < 0)
			return -1;
		if (sig != SIGCHLD) {
			if (kill(target, sig) < 0)
				warn_msg("forward signal %d to %d: %s", sig, (int)target, strerror(errno));
			continue;
		}
		/* one SIGCHLD may stand for many children: reap them all */
		for (;;) {
			int ws;
			pid_t pid = waitpid(-1, &ws, WNOHANG);
			if (pid < 0)
				return -1; /* ECHILD: TARGET is not ours, cannot happen */
			if (pid == 0)
				break;
			if (pid == target)
				return exit_status(ws);
		}
	}
}

/* ---- children ---- */

/* Orphans of the command (double-forked daemons) come to us, not to pid 1,
 * so that they can be found and ended with it. */
static void become_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail(errno, "become a child subreaper");
}

/* The supervisor holds the write end of a pipe for its whole life.  Arming
 * PDEATHSIG races with the supervisor's death; EOF on the pipe afterwards
 * means the race was lost. */
static void die_with_parent(int pdeath[2])
{
	char c;
	ssize_t n;

	if (close(pdeath[1]) < 0)
		die_errno("close the parent-death pipe");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die_errno("set the parent-death signal");
	n = read(pdeath[0], &c, 1);
	if (n == 0)
		_exit(EXIT_SETUP); /* the supervisor is already gone */
	if (n < 0 && errno != EAGAIN)
		die_errno("read the parent-death pipe");
	if (close(pdeath[0]) < 0)
		die_errno("close the parent-death pipe");
}

__attribute__((noreturn)) static void exec_command(void)
{
	int err;

	reset_signals();
	if (exec_pipe[1] >= 0) {
		/* dup2 leaves the copy without FD_CLOEXEC: it survives our exec */
		if (dup2(exec_pipe[1], cfg.exec_fd) < 0)
			die_errno("pass fd %d to the command", cfg.exec_fd);
		exec_pipe[1] = cfg.exec_fd;
	}
	if (close_fds_except(-1, -1) < 0)
		die_errno("close inherited file descriptors");
	exec_search(cfg.cmd[0], cfg.cmd);
	err = errno;
	die_code(err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, err, "exec %s", cfg.cmd[0]);
}

/* pid 1 of the new namespace: fork the command as pid 2, say so, wait until
 * the supervisor has recorded its host pid (pid 2 must not be reaped before
 * it is found), then relay and reap; leaving takes the namespace down. */
/* The init is pid 1 of the instance, so /proc/1/root and /proc/1/cwd are in
 * reach of the command: they must not lead to the host's tree. The init needs
 * no file at all, so it leaves the host's mounts for an empty, read-only tmpfs
 * in a mount namespace of its own (its pid 2 keeps the host's, for pivot). */
static const char *const empty_root_at[] = { "/tmp", "/mnt", "/proc" };

static void isolate_init(void)
{
	size_t i;

	if (unshare(CLONE_NEWNS) < 0)
		die_errno("init: unshare a mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_errno("init: make / private");
	for (i = 0; i < sizeof(empty_root_at) / sizeof(empty_root_at[0]); i++)
		if (mount("unshared-init", empty_root_at[i], "tmpfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=0500") == 0)
			break;
	if (i == sizeof(empty_root_at) / sizeof(empty_root_at[0]))
		die_errno("init: mount an empty tmpfs");
	if (chdir(empty_root_at[i]) < 0 || sys_pivot_root(".", ".") < 0)
		die_errno("init: pivot_root into an empty tmpfs");
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die_errno("init: detach the host's tree");
}

/* --mount-ns: the init shares the command's new mount namespace, with its
 * root and working directory at "/": pivot_root moves every process whose
 * root or cwd is the old root along, so the init ends in the instance's root
 * with no hold on the host's tree (its cwd must not stay behind in it). The
 * command gets the working directory back through *cwd. */
static void follow_root(int *cwd)
{
	*cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*cwd < 0)
		die_errno("init: open the working directory");
	if (chdir("/") < 0)
		die_errno("init: chdir /");
}

__attribute__((noreturn)) static void run_init(int started_w, int recorded_r)
{
	int cwd = -1;
	char c;
	ssize_t n;
	pid_t cmd;
	int status;

	if (close_fds_except(started_w, recorded_r) < 0)
		die_errno("close inherited file descriptors");
	if (cfg.mount_ns)
		follow_root(&cwd);
	cmd = fork();
	if (cmd < 0)
		die_errno("fork the command");
	if (cmd == 0) {
		if (cwd >= 0 && (fchdir(cwd) < 0 || close(cwd) < 0))
			die_errno("return to the working directory");
		exec_command();
	}
	if (cwd >= 0 && close(cwd) < 0)
		die_errno("close the working directory");
	if (!cfg.mount_ns)
		isolate_init(); /* after the fork: pid 2 runs pivot meanwhile */
	/* only the command may hold the exec pipe: its exec is what closes it */
	if (exec_pipe[1] >= 0 && close(exec_pipe[1]) < 0)
		die_errno("close the exec pipe");
	if (cfg.keep_fd >= 0 && close(cfg.keep_fd) < 0)
		die_errno("close --keep-fd %d", cfg.keep_fd);
	if (write(started_w, "", 1) != 1 || close(started_w) < 0)
		die_errno("report the command");
	while ((n = read(recorded_r, &c, 1)) < 0 && errno == EINTR)
		;
	if (n < 0 || close(recorded_r) < 0)
		die_errno("wait for the supervisor");
	status = relay_until_exit(cmd);
	if (status < 0)
		die_errno("wait for the command");
	exit(status);
}

/* ---- --user: the namespace, made with the child ---- */

/* The child waits on this pipe until the supervisor has written its maps:
 * a byte, go on; EOF, the supervisor failed (and says why). */
static int user_sync[2] = { -1, -1 };

/* Run newuidmap (newgidmap) PID INSIDE OUTSIDE COUNT...: setuid helpers that
 * check the ranges against /etc/subuid (subgid) and write the map for us. */
static void run_map_helper(const struct id_map *m, pid_t pid)
{
	static char nums[3 * MAX_EXTENTS + 1][12];
	static char *argv[3 * MAX_EXTENTS + 3];
	size_t k = 0;
	pid_t helper;
	int ws;

	argv[k] = (char *)m->helper;
	snprintf(nums[k], sizeof(nums[k]), "%d", (int)pid);
	argv[k + 1] = nums[k];
	for (size_t i = 0; i < m->n; i++) {
		snprintf(nums[++k], sizeof(nums[0]), "%lu", m->ext[i].in);
		snprintf(nums[++k], sizeof(nums[0]), "%lu", m->ext[i].out);
		snprintf(nums[++k], sizeof(nums[0]), "%lu", m->ext[i].count);
	}
	for (size_t i = 1; i <= k; i++)
		argv[i + 1] = nums[i];
	argv[k + 2] = NULL;
	helper = fork();
	if (helper < 0)
		fail(errno, "%s: fork %s", m->option, m->helper);
	if (helper == 0) {
		reset_signals();
		execv(m->helper, argv);
		die_code(EXIT_NOEXEC, errno, "exec %s", m->helper);
	}
	while (waitpid(helper, &ws, 0) < 0)
		if (errno != EINTR)
			fail(errno, "%s: wait for %s", m->option, m->helper);
	if (exit_status(ws) != 0)
		fail(0, "%s: %s failed (status %d)", m->option, m->helper, exit_status(ws));
}

/* /proc/PID/NAME gets TEXT in one write, as the kernel wants for a map. */
static void write_proc(pid_t pid, const char *name, const char *text, const char *option)
{
	char path[64];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "%s: open %s", option, path);
	if (write(fd, text, len) != (ssize_t)len) {
		int err = errno;

		close(fd);
		fail(err, "%s: write %s", option, path);
	}
	if (close(fd) < 0)
		fail(errno, "%s: close %s", option, path);
}

static void write_map(const struct id_map *m, pid_t pid)
{
	static char text[MAX_EXTENTS * 36 + 1];
	char file[16];
	size_t len = 0;

	if (m->helper[0]) {
		run_map_helper(m, pid);
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%lu %lu %lu\n", m->ext[i].in,
					m->ext[i].out, m->ext[i].count);
	/* unprivileged: our own gid only, and only once setgroups(2) is off
	 * for good (so no one drops a group that denies them access) */
	if (m == &gid_map && !m->privileged)
		write_proc(pid, "setgroups", "deny", m->option);
	snprintf(file, sizeof(file), "%s_map", m->kind);
	write_proc(pid, file, text, m->option);
}

/* In the supervisor, right after the clone: it stays in the parent user
 * namespace, with whatever privileges it has there (the cleanup needs them). */
static void release_user_child(pid_t pid)
{
	if (!cfg.userns)
		return;
	if (close(user_sync[0]) < 0)
		fail(errno, "close the user namespace pipe");
	write_map(&uid_map, pid);
	write_map(&gid_map, pid);
	if (write(user_sync[1], "", 1) != 1 || close(user_sync[1]) < 0)
		fail(errno, "release the child in its user namespace");
}

static bool maps_inside(const struct id_map *m, unsigned long id)
{
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->ext[i].in && id - m->ext[i].in < m->ext[i].count)
			return true;
	return false;
}

/* The host's supplementary groups mean nothing inside: drop them, where the
 * namespace allows it (not after "deny", which keeps them for good). */
static void drop_host_groups(void)
{
	char buf[16];

	if (read_text_at(AT_FDCWD, "/proc/self/setgroups", 0, buf, sizeof(buf)) < 0)
		die_errno("--user: read /proc/self/setgroups");
	if (strncmp(buf, "allow", 5) == 0 && setgroups(0, NULL) < 0)
		die_errno("--user: drop the supplementary groups");
}

/* Where uid 0 is not mapped the child keeps a non-zero uid, and an exec
 * would take every capability away: pivot, next, needs them to mount. The
 * ambient set carries them across; pivot empties it before the command. */
static void keep_caps_across_exec(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (sys_capget(&hdr, data) < 0)
		die_errno("--user: read the capabilities");
	data[0].inheritable = data[0].permitted;
	data[1].inheritable = data[1].permitted;
	if (sys_capset(&hdr, data) < 0)
		die_errno("--user: make the capabilities inheritable");
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
			if (errno == EINVAL) /* past the kernel's last capability */
				break;
			die_errno("--user: keep capability %d across exec", cap);
		}
}

/* In the child, first of all: wait for the maps, then become root of the
 * namespace where 0 is mapped (the caller's own id may not be mapped at
 * all: root with --uid-map "0 100000 65536"). */
static void enter_user_child(void)
{
	char c;
	ssize_t n;

	if (!cfg.userns)
		return;
	if (close(user_sync[1]) < 0)
		die_errno("close the user namespace pipe");
	while ((n = read(user_sync[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(EXIT_SETUP); /* the supervisor failed: it says why */
	if (close(user_sync[0]) < 0)
		die_errno("close the user namespace pipe");
	drop_host_groups();
	if (getegid() != 0 && maps_inside(&gid_map, 0) && setresgid(0, 0, 0) < 0)
		die_errno("--user: become gid 0 in the user namespace");
	if (geteuid() == 0)
		return;
	if (!maps_inside(&uid_map, 0))
		keep_caps_across_exec();
	else if (setresuid(0, 0, 0) < 0)
		die_errno("--user: become uid 0 in the user namespace");
}

/* fork(), with FLAGS (new namespaces) for the child.  CLONE_NEWUSER comes
 * with the child, so the pid, mount and network namespaces made after it are
 * owned by it (a rootless /proc needs its pid namespace so owned).
 * unshare(CLONE_NEWPID) would leave the supervisor's later forks in that
 * namespace, and once its init is gone they fail with ENOMEM: the cleanup
 * could never start.  The child comes from a raw clone, so the libc's cached
 * thread id is stale in it: it must not use raise(), abort() or pthread
 * calls (the init's fork() sets the id right again for pid 2). */
static pid_t fork_with(unsigned long flags)
{
	struct clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
	pid_t pid;

	if (cfg.userns) {
		args.flags |= CLONE_NEWUSER;
		if (pipe2(user_sync, O_CLOEXEC) < 0)
			fail(errno, "create the user namespace pipe");
	}
	/* Born in its cgroup: writing a pid to cgroup.procs waits for an RCU grace
	 * period (8-17 ms measured here), CLONE_INTO_CGROUP (5.7) does not. */
	if (cgroup_dir >= 0) {
		struct clone_args in = args;

		in.flags |= CLONE_INTO_CGROUP;
		in.cgroup = (__u64)cgroup_dir;
		pid = sys_clone3(&in, CLONE_ARGS_SIZE_VER2);
		if (pid >= 0) {
			cgroup_joined = true;
			return pid;
		}
		/* older kernel, or a cgroup it will not take: the child writes instead */
	}
	if (!args.flags)
		return fork();
	pid = sys_clone3(&args, CLONE_ARGS_SIZE_VER0);
	if (pid < 0 && errno == ENOSYS) /* before 5.3, or a seccomp filter hiding it */
		pid = sys_clone_flags(args.flags | SIGCHLD);
	return pid;
}

/* --mount-ns: pivot --mount-ns-made trusts the namespace it starts in only if
 * it differs from ours, the one this variable names (it is not for the
 * command: pivot takes it out of the environment) */
static void note_outer_mount_ns(void)
{
	char id[48];

	if (mount_ns_id(id, sizeof(id)) < 0)
		fail(errno, "--mount-ns: stat /proc/self/ns/mnt");
	if (setenv("UNSHARED_OUTER_MNTNS", id, 1) < 0)
		fail(errno, "--mount-ns: setenv");
}

/* --pid: start the init, learn the host pid of its pid 2 from its children
 * list, record it, then let the init go on. */
static pid_t start_init(int pdeath[2])
{
	int started[2], recorded[2];
	pid_t cmd;
	char c;
	ssize_t n;

	if (pipe2(started, O_CLOEXEC) < 0 || pipe2(recorded, O_CLOEXEC) < 0)
		fail(errno, "create pipes");
	if (cfg.mount_ns)
		note_outer_mount_ns();
	child_pid = fork_with(CLONE_NEWPID | (cfg.mount_ns ? CLONE_NEWNS : 0));
	if (child_pid < 0)
		fail(errno, "fork into a new pid namespace");
	if (child_pid == 0) {
		if (close(started[0]) < 0 || close(recorded[1]) < 0)
			die_errno("close pipes");
		/* credentials first: changing them clears the parent-death signal */
		enter_user_child();
		die_with_parent(pdeath);
		join_cgroup();
		join_pids_limit();
		run_init(started[1], recorded[0]);
	}
	if (cfg.mount_ns && unsetenv("UNSHARED_OUTER_MNTNS") < 0) /* the init's only */
		fail(errno, "--mount-ns: unsetenv");
	release_user_child(child_pid);
	if (close(started[1]) < 0 || close(recorded[0]) < 0)
		fail(errno, "close pipes");
	while ((n = read(started[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		fail(n < 0 ? errno : 0, "the pid namespace init ended before the command started");
	if (close(started[0]) < 0)
		fail(errno, "close pipes");
	n = list_children(child_pid, &cmd, 1);
	if (n != 1)
		fail(n < 0 ? errno : 0, "find the command under the pid namespace init %d", (int)child_pid);
	if (state_fd >= 0)
		write_state("cmdpid", "%d\n", (int)cmd);
	cmd_started = true;
	if (close(recorded[1]) < 0) /* EOF: the init may reap pid 2 now */
		fail(errno, "release the pid namespace init");
	return cmd;
}

/* Fork the process that becomes the command (or its init). */
static void start_child(void)
{
	int pdeath[2];
	pid_t cmd;

	if (cfg.exec_fd >= 0 && pipe2(exec_pipe, O_CLOEXEC) < 0)
		fail(errno, "create the exec pipe");

	/* the read end must not block: an empty live pipe means "parent alive" */
	if (pipe2(pdeath, O_CLOEXEC | O_NONBLOCK) < 0)
		fail(errno, "create the parent-death pipe");
	if (cfg.pidns) {
		cmd = start_init(pdeath);
	} else {
		cmd = child_pid = fork_with(0);
		if (child_pid < 0)
			fail(errno, cfg.userns ? "fork into a new user namespace" : "fork");
		if (child_pid == 0) {
			enter_user_child();
			die_with_parent(pdeath);
			join_cgroup();
			join_pids_limit();
			exec_command();
		}
		release_user_child(child_pid);
		if (state_fd >= 0)
			write_state("cmdpid", "%d\n", (int)cmd);
		cmd_started = true;
	}
	/* keep pdeath[1] open until we exit: that is the whole point */
	if (close(pdeath[0]) < 0)
		fail(errno, "close the parent-death pipe");
	if (exec_pipe[1] >= 0 && close(exec_pipe[1]) < 0)
		fail(errno, "close the exec pipe");
	exec_pipe[1] = -1;
	/* the command's now, not the cleanup's */
	if (cfg.keep_fd >= 0 && close(cfg.keep_fd) < 0)
		fail(errno, "close --keep-fd %d", cfg.keep_fd);
	cfg.keep_fd = -1;
}

/* The reason a detached command did not start is the last line it wrote to
 * the log (pivot's message); the log itself goes with the teardown. */
static void last_log_line(char *out, size_t size)
{
	char buf[1024], *end, *start;
	int fd = cfg.log_file ? open(cfg.log_file, O_RDONLY | O_CLOEXEC) : -1;
	off_t len = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	ssize_t n = -1;

	out[0] = '\0';
	if (len > 0 && lseek(fd, len > (off_t)sizeof(buf) - 1 ? len - (off_t)sizeof(buf) + 1 : 0, SEEK_SET) >= 0)
		n = read_full(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (end = buf + n; end > buf && end[-1] == '\n'; end--)
		*(end - 1) = '\0';
	start = strrchr(buf, '\n');
	snprintf(out, size, "%s", start ? start + 1 : buf);
}

/* --exec-fd: EOF once every copy of the write end is gone: the command's at its
 * exec (FD_CLOEXEC), or at its death; a byte: it said it never will start. */
static void wait_exec(void)
{
	char c;
	ssize_t n;

	if (exec_pipe[0] < 0)
		return;
	while ((n = read(exec_pipe[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 0) {
		char why[1024];

		last_log_line(why, sizeof(why));
		fail(n < 0 ? errno : 0, "the command did not start%s%s", why[0] ? ": " : "", why);
	}
	if (close(exec_pipe[0]) < 0)
		fail(errno, "close the exec pipe");
	exec_pipe[0] = -1;
}

/* ---- --detach ---- */

/* The original process: wait until the supervisor says the command process
 * exists (one NUL byte) or why it failed (a message), then leave. */
__attribute__((noreturn)) static void wait_for_supervisor(int fd)
{
	char buf[2048];
	ssize_t n = read_full(fd, buf, 1);

	if (n == 1 && buf[0] == '\0')
		_exit(0);
	if (n == 1) {
		ssize_t more = read_full(fd, buf + 1, sizeof(buf) - 1);
		n = more < 0 ? 1 : more + 1;
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			_exit(EXIT_SETUP);
	} else {
		warn_msg("the detached supervisor ended during setup");
	}
	_exit(EXIT_SETUP);
}

/* Make FD the standard descriptor TARGET (dup2 clears close-on-exec). */
static void move_fd(int fd, int target)
{
	if (dup2(fd, target) < 0)
		fail(errno, "dup2 %d to %d", fd, target);
}

/* Fork; the child starts a session and becomes the supervisor, with stdin
 * /dev/null and stdout/stderr the log (or /dev/null). */
static void daemonize(void)
{
	int report[2], null, logfd;
	pid_t pid;

	null = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (null < 0)
		fail(errno, "open /dev/null");
	logfd = null;
	if (cfg.log_file) {
		logfd = open(cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
		if (logfd < 0)
			fail(errno, "open log %s", cfg.log_file);
	}
	if (pipe2(report, O_CLOEXEC) < 0)
		fail(errno, "create the report pipe");
	pid = fork();
	if (pid < 0)
		fail(errno, "fork");
	if (pid > 0) {
		if (close(report[1]) < 0)
			die_errno("close the report pipe"); /* no cleanup: the supervisor owns it */
		wait_for_supervisor(report[0]);
	}
	report_fd = report[1]; /* from here on, failures are reported to the parent */
	if (setsid() < 0)
		fail(errno, "setsid");
	move_fd(null, STDIN_FILENO);
	move_fd(logfd, STDOUT_FILENO);
	move_fd(logfd, STDERR_FILENO);
	/* the caller's other fds (a pipe it reads until EOF, say) must not be
	 * held open by a process meant to outlive it */
	if (close_fds_except(report_fd, -1) < 0)
		fail(errno, "close inherited file descriptors");
}

/* Tell the detaching original that the command process exists. */
static void report_started(void)
{
	if (report_fd < 0)
		return;
	if (write(report_fd, "", 1) != 1 || close(report_fd) < 0)
		warn_msg("report to the detaching process: %s", strerror(errno));
	report_fd = -1;
}

/* ---- the ending ---- */

/* Wait for the command (or init), relaying signals meanwhile. */
static int supervise(void)
{
	int status;

	idle_trash();
	status = relay_until_exit(child_pid);

	if (status < 0)
		fail(errno, "wait for the command");
	child_pid = -1; /* reaped: its pid may be reused, never kill it again */
	return status;
}

/* SIGKILL every child left (orphans come to us: we are a subreaper), reap,
 * and look again, until there is no child at all.  Killed processes stay
 * listed as zombies until reaped, so one reap per round keeps the list moving. */
static void end_descendants(void)
{
	pid_t self = getpid(), kids[512];

	/* no child at all (the usual end: the command or init reaped, no
	 * orphan came to us): nothing to list */
	if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
		return;
	for (;;) {
		ssize_t n = list_children(self, kids, sizeof(kids) / sizeof(kids[0]));
		if (n < 0) {
			/* waiting blind could hang on a daemon we cannot see */
			warn_msg("list the remaining processes: %s", strerror(errno));
			return;
		}
		for (ssize_t i = 0; i < n; i++)
			if (kill(kids[i], SIGKILL) < 0 && errno != ESRCH)
				warn_msg("kill %d: %s", (int)kids[i], strerror(errno));
		if (waitpid(-1, NULL, 0) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				warn_msg("reap the remaining processes: %s", strerror(errno));
			return;
		}
	}
}

__attribute__((noreturn)) static void exec_cleanup(void)
{
	const char *what = cfg.cleanup_exec ? cfg.cleanup_exec : "/bin/sh";
	int err;

	reset_signals();
	if (cfg.cleanup_exec)
		execv(cfg.cleanup_exec, cfg.cleanup_argv);
	else
		execl("/bin/sh", "sh", "-c", cfg.cleanup_sh, (char *)NULL);
	err = errno;
	die_code(err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, err, "exec cleanup %s", what);
}

/* Exactly once, after every descendant is gone, whatever the ending.  Its
 * failure is reported, never turned into ours. */
static void run_cleanup(int status)
{
	static bool ran;
	char st[16], self[16];
	pid_t pid;
	int ws;

	if (ran || (!cfg.cleanup_sh && !cfg.cleanup_exec))
		return;
	ran = true;
	snprintf(st, sizeof(st), "%d", status);
	snprintf(self, sizeof(self), "%d", (int)getpid());
	/* --events: "exited" is ours to log, not the cleanup's (lib/state.sh) */
	if (setenv("UNSHARED_STATUS", st, 1) < 0 || setenv("PID", self, 1) < 0 ||
	    (cfg.events && setenv("UNSHARED_FORKN_EVENTS", "1", 1) < 0)) {
		cleanup_failed = true;
		warn_msg("cleanup not run: setenv: %s", strerror(errno));
		return;
	}
	/* vfork: the child only resets its signals and execs (~65 us less than
	 * a fork here); its own handler table, our mask blocked until reset */
	pid = vfork();
	if (pid < 0) {
		cleanup_failed = true;
		warn_msg("cleanup not run: vfork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		exec_cleanup();
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			cleanup_failed = true;
			warn_msg("wait for the cleanup: %s", strerror(errno));
			return;
		}
	}
	if (exit_status(ws) != 0) {
		cleanup_failed = true;
		warn_msg("cleanup failed with status %d", exit_status(ws));
	}
}

/* ---- the process title ---- */

/* Everything parsed points into the arguments: a copy of them is parsed, so
 * that the originals can be overwritten. */
static char **copy_args(int argc, char **argv)
{
	size_t total = 0;
	char **copy, *buf;

	for (int i = 0; i < argc; i++)
		total += strlen(argv[i]) + 1;
	copy = calloc((size_t)argc + 1, sizeof(char *));
	buf = malloc(total ? total : 1);
	if (!copy || !buf)
		die("copy the arguments: out of memory");
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(buf, argv[i], n);
		copy[i] = buf;
		buf += n;
	}
	return copy;
}

/* With --state, ps and pgrep -f show "forkn: NAME" for the supervisor (and
 * its pid namespace init), not the command line it supervises, which the
 * command itself shows: `pgrep -f riak` finds the service once, not its
 * supervisor too. The kernel's argument area is overwritten in place (its
 * last NUL kept: /proc/PID/cmdline stays within it). */
static void set_title(int argc, char **orig)
{
	char title[96], *start = orig[0], *end;
	const char *name;
	size_t room, len;

	if (!cfg.state_dir || argc < 1)
		return;
	for (int i = 1; i < argc; i++) /* one contiguous area, as exec laid it out */
		if (orig[i] != orig[i - 1] + strlen(orig[i - 1]) + 1)
			return;
	end = orig[argc - 1] + strlen(orig[argc - 1]);
	name = strrchr(cfg.state_dir, '/');
	name = name ? name + 1 : cfg.state_dir;
	len = (size_t)snprintf(title, sizeof(title), "forkn: %s", name);
	room = (size_t)(end - start);
	memset(start, 0, room);
	memcpy(start, title, len < room ? len : room);
}

int main(int argc, char **argv)
{
	int status;

	helper_name = "forkn";
	parse_args(argc, copy_args(argc, argv));
	set_title(argc, argv);
#ifdef FUZZ_PARSE_ONLY
	return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
	ensure_stdio();
	if (cfg.new_state)
		make_state();
	take_signals();
	if (cfg.detach)
		daemonize();
	open_state();
	make_cgroup();
	make_pids_limit();
	become_subreaper();
	start_child();
	/* what the command does not wait for is done while it starts */
	write_pid();
	if (cfg.info)
		write_info();
	trash_if_full();
	wait_exec();
	report_started();
	log_started();
	status = supervise();
	end_descendants();
	end_cgroup();
	end_pids_limit();
	run_cleanup(status);
	remove_state();
	log_exited(status);
	return status;
}
