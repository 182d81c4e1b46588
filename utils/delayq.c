/* delayq: delay (and jitter) the packets that netfilter queues to it.
 *
 *   delayq --netns PATH --queue N --config FILE [--daemon] [--log FILE]
 *
 * For kernels without sch_netem. An iptables rule in the instance's network
 * namespace (`-j NFQUEUE --queue-num N --queue-bypass`) hands each packet the
 * instance sends to queue N; delayq, bound to that queue from inside the same
 * namespace, holds each one for the delay (plus or minus a uniform random
 * jitter) and then gives it back with NF_ACCEPT. Only the packet's id crosses
 * into user space (NFQNL_COPY_META): the packet itself never leaves the kernel.
 *
 * FILE holds "delay_us=N" and "jitter_us=N" lines (others are ignored); it is
 * read at start and again on SIGHUP, so the shaping changes without dropping
 * what is held. SIGTERM or SIGINT releases every held packet at once, then
 * delayq exits 0. Packets leave in the order they came (a jittered packet
 * never overtakes an earlier one), so TCP sees no reordering.
 *
 * With --daemon it forks, and the original prints the daemon's pid and exits
 * 0 once the queue is bound (125 and the daemon's own message if it could not
 * be). --log FILE: once the queue is bound, messages go to FILE (appended), so
 * a failure to start is still reported on the caller's stderr. No raw netlink library: the few messages are built here (nfnetlink,
 * subsystem NFNL_SUBSYS_QUEUE), so the helper links statically with any libc. */
#define _GNU_SOURCE
#include "util.h"

#include <endian.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#ifndef NF_ACCEPT
#define NF_ACCEPT 1 /* linux/netfilter.h: not included, its linux/in.h clashes with a libc's */
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define QUEUE_MAX 65536u /* packets held at most (also the kernel queue's length) */
#define DELAY_MAX_US 60000000LL /* one minute */

static struct {
	const char *netns;
	const char *config;
	const char *log;
	uint16_t queue;
	bool daemon;
} cfg;

static long long delay_ns, jitter_ns;

/* the held packets: a ring of (id, due time), in arrival order */
static struct held {
	uint32_t id;
	long long due;
} ring[QUEUE_MAX];
static size_t ring_head, ring_len;
static long long last_due;

/* verdicts are gathered here and sent with one sendto per round */
static char vbuf[64 * 1024];
static size_t vlen;

__attribute__((noreturn)) static void usage(FILE *to, int status)
{
	fprintf(to, "Usage: delayq --netns PATH --queue N --config FILE [--daemon] [--log FILE]\n"
		    "Hold the packets of NFQUEUE queue N in network namespace PATH for delay_us\n"
		    "(+- jitter_us) microseconds, as FILE says (KEY=VALUE lines, re-read on SIGHUP).\n");
	exit(status);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- configuration ---- */

static void parse_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "queue", required_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long q;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': cfg.netns = optarg; break;
		case 'c': cfg.config = optarg; break;
		case 'd': cfg.daemon = true; break;
		case 'l': cfg.log = optarg; break;
		case 'q':
			errno = 0;
			q = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || q < 0 || q > 65535)
				die("--queue '%s': expected a number from 0 to 65535", optarg);
			cfg.queue = (uint16_t)q;
			break;
		case 'h': usage(stdout, 0);
		default: bad_option(c, argv);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (!cfg.netns || !cfg.config)
		die("--netns PATH and --config FILE are required (see --help)");
}

/* read_config: delay_us and jitter_us from FILE. Returns -1 (and keeps the
 * values in force) when it cannot be read. */
static int read_config(void)
{
	char line[256], *end;
	long long v, d = 0, j = 0;
	FILE *f = fopen(cfg.config, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		long long *dst = NULL;
		const char *val = NULL;

		if (strncmp(line, "delay_us=", 9) == 0)
			dst = &d, val = line + 9;
		else if (strncmp(line, "jitter_us=", 10) == 0)
			dst = &j, val = line + 10;
		if (!dst)
			continue;
		errno = 0;
		v = strtoll(val, &end, 10);
		if (errno || end == val || (*end && *end != '\n') || v < 0 || v > DELAY_MAX_US)
			continue;
		*dst = v;
	}
	fclose(f);
	delay_ns = d * 1000;
	jitter_ns = j * 1000;
	return 0;
}

/* ---- netlink ---- */

/* nl_put: append one nfnetlink message of TYPE to BUF (at *LEN) with the
 * attributes given as (type, data, size) triples, ATTRS of them */
struct attr {
	uint16_t type;
	const void *data;
	uint16_t size;
};

static int nl_put(char *buf, size_t cap, size_t *len, uint16_t type, uint16_t flags,
		  const struct attr *attrs, size_t nattrs)
{
	size_t need = NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct nfgenmsg)), i;
	struct nlmsghdr *nh;
	struct nfgenmsg *g;
	char *p;

	for (i = 0; i < nattrs; i++)
		need += NLA_ALIGN(NLA_HDRLEN + attrs[i].size);
	if (*len + need > cap)
		return -1;
	nh = (struct nlmsghdr *)(void *)(buf + *len);
	memset(nh, 0, need);
	nh->nlmsg_len = (uint32_t)need;
	nh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
	nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	g = (struct nfgenmsg *)NLMSG_DATA(nh);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htobe16(cfg.queue);
	p = (char *)g + NLMSG_ALIGN(sizeof(*g));
	for (i = 0; i < nattrs; i++) {
		struct nlattr *a = (struct nlattr *)(void *)p;

		a->nla_len = (uint16_t)(NLA_HDRLEN + attrs[i].size);
		a->nla_type = attrs[i].type;
		memcpy(p + NLA_HDRLEN, attrs[i].data, attrs[i].size);
		p += NLA_ALIGN(a->nla_len);
	}
	*len += need;
	return 0;
}

/* nl_request: send one config message, wait for the kernel's answer */
static int nl_request(int fd, const struct attr *attrs, size_t nattrs)
{
	char buf[512];
	size_t len = 0;
	ssize_t n;
	struct nlmsghdr *nh;

	if (nl_put(buf, sizeof(buf), &len, NFQNL_MSG_CONFIG, NLM_F_ACK, attrs, nattrs) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (send(fd, buf, len, 0) < 0)
		return -1;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (nh = (struct nlmsghdr *)(void *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (e->error == 0)
					return 0;
				errno = -e->error;
				return -1;
			}
		}
	}
}

/* open_queue: a netfilter netlink socket bound to queue cfg.queue, copying
 * no payload, failing open when full (packets then pass undelayed) */
static int open_queue(void)
{
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
	struct nfqnl_msg_config_params params = { .copy_range = 0, .copy_mode = NFQNL_COPY_META };
	uint32_t maxlen = htobe32(QUEUE_MAX), flags = htobe32(NFQA_CFG_F_FAIL_OPEN);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, one = 1, rcvbuf = 8 << 20;
	struct attr a_bind[] = { { NFQA_CFG_CMD, &cmd, sizeof(cmd) } };
	struct attr a_params[] = {
		{ NFQA_CFG_PARAMS, &params, sizeof(params) },
		{ NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen) },
	};
	struct attr a_flags[] = {
		{ NFQA_CFG_MASK, &flags, sizeof(flags) },
		{ NFQA_CFG_FLAGS, &flags, sizeof(flags) },
	};

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		die_errno("netlink socket (NETLINK_NETFILTER)");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die_errno("bind the netlink socket");
	/* a burst must not overflow the socket: it would cost packets */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (nl_request(fd, a_bind, 1) < 0) {
		/* the kernel says EPERM when another socket owns the queue */
		if (errno == EBUSY || errno == EPERM)
			die("queue %u: already taken by another listener", cfg.queue);
		if (errno == EOPNOTSUPP || errno == ENOENT || errno == EPROTONOSUPPORT)
			die("queue %u: the kernel has no nfnetlink_queue (CONFIG_NETFILTER_NETLINK_QUEUE)",
			    cfg.queue);
		die_errno("queue %u: bind", cfg.queue);
	}
	if (nl_request(fd, a_params, 2) < 0)
		die_errno("queue %u: set copy mode", cfg.queue);
	if (nl_request(fd, a_flags, 2) < 0)
		warn_msg("queue %u: cannot fail open (%s): a full queue drops", cfg.queue, strerror(errno));
	return fd;
}

/* verdict: gather an NF_ACCEPT for packet ID (sent by flush_verdicts) */
static void flush_verdicts(int fd);

static void verdict(int fd, uint32_t id)
{
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htobe32(NF_ACCEPT), .id = htobe32(id) };
	struct attr a[] = { { NFQA_VERDICT_HDR, &vh, sizeof(vh) } };

	if (nl_put(vbuf, sizeof(vbuf), &vlen, NFQNL_MSG_VERDICT, 0, a, 1) < 0) {
		flush_verdicts(fd);
		(void)nl_put(vbuf, sizeof(vbuf), &vlen, NFQNL_MSG_VERDICT, 0, a, 1);
	}
}

static void flush_verdicts(int fd)
{
	if (vlen && send(fd, vbuf, vlen, 0) < 0)
		warn_msg("send verdicts: %s", strerror(errno));
	vlen = 0;
}

/* ---- holding ---- */

static uint64_t rng_state;

/* jitter: uniform in [-jitter, +jitter] (xorshift64*: no libc rand state) */
static long long jitter(void)
{
	uint64_t x = rng_state;

	if (jitter_ns <= 0)
		return 0;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	x *= 0x2545F4914F6CDD1DULL;
	return (long long)(x % (uint64_t)(2 * jitter_ns + 1)) - jitter_ns;
}

static void hold(int fd, uint32_t id)
{
	long long due = now_ns() + delay_ns + jitter();

	/* in order: a packet never leaves before the one queued ahead of it */
	if (due < last_due)
		due = last_due;
	if (ring_len == QUEUE_MAX) {
		verdict(fd, id); /* cannot happen with the kernel's queue as long: pass it */
		return;
	}
	ring[(ring_head + ring_len) % QUEUE_MAX] = (struct held){ id, due };
	ring_len++;
	last_due = due;
}

/* release: accept every packet due by NOW (all of them when NOW < 0) */
static void release(int fd, long long now)
{
	while (ring_len && (now < 0 || ring[ring_head].due <= now)) {
		verdict(fd, ring[ring_head].id);
		ring_head = (ring_head + 1) % QUEUE_MAX;
		ring_len--;
	}
	flush_verdicts(fd);
}

/* packet_id: the id in one NFQNL_MSG_PACKET message, or -1 */
static long long packet_id(struct nlmsghdr *nh)
{
	size_t off = NLMSG_ALIGN(sizeof(struct nfgenmsg));
	size_t len = nh->nlmsg_len - NLMSG_HDRLEN;
	char *data = NLMSG_DATA(nh);

	while (off + NLA_HDRLEN <= len) {
		struct nlattr *a = (struct nlattr *)(void *)(data + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
		    a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
			struct nfqnl_msg_packet_hdr ph;

			memcpy(&ph, data + off + NLA_HDRLEN, sizeof(ph));
			return be32toh(ph.packet_id);
		}
		off += NLA_ALIGN(a->nla_len);
	}
	return -1;
}

/* take: read every message waiting on the socket, hold each packet */
static void take(int fd)
{
	static char buf[256 * 1024];
	struct nlmsghdr *nh;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
				warn_msg("recv: %s", strerror(errno));
			return;
		}
		for (nh = (struct nlmsghdr *)(void *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			long long id;

			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (e->error)
					warn_msg("verdict refused: %s", strerror(-e->error));
				continue;
			}
			if (nh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
				continue;
			id = packet_id(nh);
			if (id >= 0)
				hold(fd, (uint32_t)id);
		}
	}
}

/* ---- process ---- */

static void close_inherited(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	for (int fd = 3; fd < 1024; fd++)
		(void)close(fd);
}

static void enter_netns(void)
{
	int fd = open(cfg.netns, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die_errno("network namespace %s", cfg.netns);
	if (setns(fd, CLONE_NEWNET) < 0)
		die_errno("enter network namespace %s", cfg.netns);
	close(fd);
}

static int take_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die_errno("block signals");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die_errno("signalfd");
	return fd;
}

/* daemonize: fork; the original waits until the daemon reports the queue
 * bound (a byte on the pipe), prints its pid and exits 0, or exits 125 when
 * the daemon died first (it has said why). Returns the pipe's write end. */
static int daemonize(void)
{
	int p[2], status;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("pipe");
	pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1) {
			printf("%d\n", (int)pid);
			exit(fflush(stdout) == 0 ? 0 : EXIT_SETUP);
		}
		(void)waitpid(pid, &status, 0);
		exit(EXIT_SETUP);
	}
	close(p[0]);
	if (setsid() < 0)
		die_errno("setsid");
	return p[1];
}

static void detach_stdio(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		die_errno("/dev/null");
	if (fd > 1)
		close(fd);
	if (cfg.log) {
		fd = open(cfg.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0)
			die_errno("--log %s", cfg.log);
		if (fd > 2)
			close(fd);
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "k", 1) != 1)
			die_errno("report ready");
		close(ready_fd);
	}
}

/* run: until SIGTERM/SIGINT; SIGHUP re-reads the configuration */
static int run(int nl, int sig)
{
	struct pollfd pf[2] = { { .fd = nl, .events = POLLIN }, { .fd = sig, .events = POLLIN } };
	struct signalfd_siginfo si;
	long long now, wait_ms;

	for (;;) {
		now = now_ns();
		release(nl, now);
		wait_ms = -1;
		if (ring_len) {
			wait_ms = (ring[ring_head].due - now + 999999) / 1000000;
			if (wait_ms > INT_MAX)
				wait_ms = INT_MAX;
		}
		if (poll(pf, 2, (int)wait_ms) < 0 && errno != EINTR)
			die_errno("poll");
		if (pf[0].revents & POLLIN)
			take(nl);
		if (pf[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			take(nl);
		while (read(sig, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				if (read_config() < 0)
					warn_msg("%s: %s (keeping the shaping in force)", cfg.config, strerror(errno));
				continue;
			}
			release(nl, -1);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	int nl, sig, ready_fd = -1;

	helper_name = "delayq";
	parse_options(argc, argv);
#ifdef FUZZ_PARSE_ONLY
	return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
	close_inherited();
	if (chdir("/") < 0)
		die_errno("chdir /");
	if (read_config() < 0)
		die_errno("%s", cfg.config);
	sig = take_signals();
	if (cfg.daemon)
		ready_fd = daemonize();
	enter_netns();
	nl = open_queue();
	rng_state = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	detach_stdio(ready_fd);
	return run(nl, sig);
}
