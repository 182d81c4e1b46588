/* nsnet: an instance's network on a host bridge, made and unmade in one process.
 *
 *   nsnet check [OPTIONS] BRIDGE NAME ADDR     validate only: nothing is made
 *   nsnet up    [OPTIONS] BRIDGE NAME ADDR     make it all; print ADDRESS/PREFIX
 *   nsnet down  [OPTIONS] ENTRY...             undo journal entries, in the order given
 *   nsnet down  [OPTIONS] --journal FILE       undo FILE's network entries, bottom-up
 *   nsnet down  [OPTIONS] --journal FILE PROG ARG...  the same, unless FILE holds
 *                                              other entries: then exec PROG ARG...
 *
 * See docs/ARCHITECTURE.md, "nsnet", and lib/net.sh, its front end. `up` does
 * what lib/net.sh used to do with flock(1), unshare(1) and `ip -batch`: under
 * the bridge's lock (flock(2) on $NETDIR/BRIDGE/lock) it makes the bridge if
 * missing, leases the address in $NETDIR/BRIDGE/hosts; then, lock released, it
 * makes the named network namespace the way `ip netns add` does, the veth
 * with its peer created straight inside it (a move between namespaces costs
 * ~16 ms, creating it there ~0.7 ms), and configures the inside over a
 * netlink socket opened in the new namespace. No process is forked.
 *
 * The journal (--journal FILE, lib/state.sh's format) gets one line BEFORE
 * each resource is acquired: "lease BRIDGE ADDR NAME", "netns NAME", "veth
 * HOST NAME". If `up` fails midway it undoes what it journaled (the same code
 * as `down`) and takes its lines out of the journal again; if it is killed,
 * the lines stay and the caller's teardown undoes them. The bridge is never
 * journaled: bridges are shared and stay.
 *
 * rtnetlink is spoken over a plain socket (no libnl, no libmnl): the few
 * messages needed are built with the uapi headers' own macros. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "sys.h"
#include "util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char usage_text[] =
	"usage: nsnet check [OPTIONS] BRIDGE NAME ADDR\n"
	"       nsnet up    [OPTIONS] BRIDGE NAME ADDR      (prints ADDRESS/PREFIX)\n"
	"       nsnet up    [OPTIONS] BRIDGE NAME ADDR --exec PROG [ARG...]\n"
	"                   (then exec's PROG in the caller's directory, with\n"
	"                   UNSHARED_NSNET_ADDR=ADDRESS/PREFIX; INT, TERM and HUP until\n"
	"                   then roll it all back, and stay blocked for PROG)\n"
	"       nsnet up    [OPTIONS] --netns-to N BRIDGE NAME ADDR --exec PROG [ARG...]\n"
	"                   (the same, but PROG starts once the lease is taken: a child\n"
	"                   makes the namespace, the veth and the inside meanwhile and\n"
	"                   sends the namespace through PROG's fd N, a socket: one byte\n"
	"                   'y' with its descriptor, or a NUL byte after its message)\n"
	"       nsnet down  [OPTIONS] ENTRY...              (ENTRY: a journal line)\n"
	"       nsnet down  [OPTIONS] --journal FILE [PROG ARG...]\n"
	"                   (PROG: exec'd instead when FILE holds entries not nsnet's)\n"
	"ADDR: ADDRESS/PREFIX (prefix 8 to 30) or auto\n"
	"options:\n"
	"  --net-dir DIR      per-bridge files in DIR/BRIDGE/ (lock, hosts, bridge)\n"
	"  --journal FILE     up: journal each resource here before acquiring it\n"
	"  --new-state DIR    up: make DIR (the instance's name lock: fails if it exists)\n"
	"                     and journal in DIR/journal; a failed up removes DIR again\n"
	"  --owner PID        with --new-state: write DIR/pid, \"PID STARTTIME\", for the\n"
	"                     process that will supervise the instance (gc's liveness test)\n"
	"  --trash TRASH      with --new-state: DIR may be an empty directory taken from\n"
	"                     TRASH (where forkn --trash puts them) instead of a new one\n"
	"  --veth PREFIX      up: the host end is PREFIX, or PREFIXxK if taken (default ucPID)\n"
	"  --as SUB           messages say \"unshared-cli: SUB: ...\"\n"
	"  --labels BR ADDR   how messages name the bridge and the address (--bridge --addr)\n"
	"  --netns-to N       up --exec: see above (pivot --netns-from N takes it)\n"
	"  --quiet            down: no warnings, only the exit status\n";

#define NETNS_DIR "/run/netns"
#define MARK_PREFIX "unshared-cli:"
#define LOCK_TIMEOUT 30 /* seconds: as long as lib/net.sh's flock -w waited */
#define AUTO_FIRST 213	/* auto subnets for a new bridge: 10.213.0.0/16 ... */
#define AUTO_LAST 254	/* ... 10.254.0.0/16 */
#define NO_SUCH_IFINDEX 0x7fffffff /* the fault injection's target: no device has it */

struct opts {
	const char *net_dir, *journal, *veth;
	char **exec;	       /* up --exec PROG ARG... */
	int cwd;	       /* up: the caller's directory, for --exec */
	int netns_to;	       /* up --netns-to N; -1: none */
	const char *new_state; /* up --new-state DIR */
	const char *owner;     /* up --owner PID: DIR/pid */
	const char *trash;     /* up --trash TRASH: where DIR may come from */
	const char *lbl_bridge, *lbl_addr;
	bool quiet;
};

/* The bridge as the kernel has it. */
struct bridge {
	int index; /* 0: no interface of that name */
	bool is_bridge;
	uint32_t gw; /* its first IPv4 address, the instances' gateway; 0: none */
	int len;     /* that address's prefix length */
	bool mac_fixed;	     /* its MAC was set (ours are): it never follows its ports */
	unsigned char mac[6];
};

/* What check decided and up makes. */
struct plan {
	const char *bridge, *name, *addr;
	uint32_t ip; /* the address asked for; 0: auto */
	int len;
	struct bridge br; /* for a bridge to make: the address it will take */
	bool make_bridge;
};

static struct opts opt = { .lbl_bridge = "--bridge", .lbl_addr = "--addr", .cwd = -1, .netns_to = -1 };

/* ---- names and addresses ---------------------------------------------- */

/* The front end's allow-list (check_name): no '/', no "..", no leading '-'. */
static bool name_chars_ok(const char *s)
{
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", *s))
			return false;
	return true;
}

static bool valid_name(const char *s)
{
	return name_chars_ok(s) && strlen(s) <= 64;
}

static bool valid_ifname(const char *s)
{
	return name_chars_ok(s) && strlen(s) < IFNAMSIZ;
}

static uint32_t mask_of(int len)
{
	return len <= 0 ? 0 : 0xffffffffu << (32 - len);
}

/* A dotted quad as lib/net.sh reads one: four decimal octets 0..255, no
 * leading zeros (which some parsers take for octal), nothing else. */
static bool parse_ip4(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t start = i;
		unsigned o = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			o = o * 10 + (unsigned)(s[i++] - '0');
		if (i == start || o > 255 || (s[start] == '0' && i - start > 1))
			return false;
		v = v << 8 | o;
		if (k < 3 && (i >= n || s[i++] != '.'))
			return false;
	}
	if (i != n)
		return false;
	*out = v;
	return true;
}

/* ADDRESS/PREFIX, prefix 8..30 (a /31 or /32 leaves no room for a bridge). */
static bool parse_cidr(const char *s, uint32_t *ip, int *len)
{
	const char *slash = strchr(s, '/');
	const char *p;
	int l = 0;

	if (!slash || !slash[1] || (slash[1] == '0') || strlen(slash + 1) > 2)
		return false;
	for (p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		l = l * 10 + (*p - '0');
	}
	if (l < 8 || l > 30 || !parse_ip4(s, (size_t)(slash - s), ip))
		return false;
	*len = l;
	return true;
}

/* dotted quad into one of two rotating buffers (two may appear in one message) */
static const char *dot(uint32_t a)
{
	static char buf[2][16];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
	return buf[k];
}

/* ---- netlink ------------------------------------------------------------ */

#define MSG_CAP 1024

/* One request: the header, then what put() appends, each piece aligned. */
struct msg {
	union {
		struct nlmsghdr h;
		unsigned char buf[MSG_CAP];
	};
	bool dump; /* a dump ends with NLMSG_DONE, anything else with its ack (the
		    * flag bits cannot tell: NLM_F_DUMP's are NLM_F_EXCL|NLM_F_REPLACE) */
};

struct nl {
	int fd;
	uint32_t seq;
};

/* replies: a netlink datagram is never split, so one buffer holds the
 * largest the kernel sends for what we ask (dumps come in chunks of <= 32 KiB) */
static union {
	struct nlmsghdr h;
	unsigned char buf[65536];
} rx;

static char nl_why[256]; /* the kernel's own words for the last error (extended ack) */

static void nl_open(struct nl *nl)
{
	int one = 1;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	nl->seq = 0;
	if (nl->fd < 0)
		die_errno("netlink socket");
	/* the kernel's explanation of an error, without the request echoed back;
	 * both only make messages better: a kernel without them is fine */
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 && errno != ENOPROTOOPT)
		die_errno("netlink socket: extended ack");
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 && errno != ENOPROTOOPT)
		die_errno("netlink socket: capped ack");
}

static void msg_init(struct msg *m, uint16_t type, uint16_t flags)
{
	memset(&m->h, 0, sizeof(m->h));
	m->h.nlmsg_len = NLMSG_HDRLEN;
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	m->dump = false;
}

/* LEN zeroed bytes at the (aligned) end of M */
static void *put(struct msg *m, size_t len)
{
	size_t off = NLMSG_ALIGN(m->h.nlmsg_len);

	if (off + RTA_ALIGN(len) > MSG_CAP)
		die("netlink request too long (a bug)");
	memset(m->buf + off, 0, RTA_ALIGN(len));
	m->h.nlmsg_len = (uint32_t)(off + len);
	return m->buf + off;
}

static struct rtattr *attr(struct msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = put(m, RTA_LENGTH(len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	return a;
}

static void attr_str(struct msg *m, unsigned short type, const char *s)
{
	attr(m, type, s, strlen(s) + 1);
}

static void attr_u32(struct msg *m, unsigned short type, uint32_t v)
{
	attr(m, type, &v, sizeof(v));
}

static void attr_ip4(struct msg *m, unsigned short type, uint32_t a)
{
	uint32_t be = htonl(a);

	attr(m, type, &be, sizeof(be));
}

/* a nested attribute: open it, put its members, then close it */
static struct rtattr *nest(struct msg *m, unsigned short type)
{
	return attr(m, type, NULL, 0);
}

static void nest_end(struct msg *m, struct rtattr *a)
{
	a->rta_len = (unsigned short)(m->buf + m->h.nlmsg_len - (unsigned char *)a);
}

/* the attributes of one message, by type (those above MAX are skipped) */
static void attrs(struct rtattr **tb, int max, struct rtattr *a, int len)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		int type = a->rta_type & NLA_TYPE_MASK;

		if (type <= max && !tb[type])
			tb[type] = a;
	}
}

static uint32_t rta_ip4(const struct rtattr *a)
{
	uint32_t be;

	memcpy(&be, RTA_DATA(a), sizeof(be));
	return ntohl(be);
}

/* The extended ack's message, if the kernel gave one, into nl_why. */
static void nl_extack(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	struct rtattr *tb[NLMSGERR_ATTR_MSG + 1];

	nl_why[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN; /* the request, echoed */
	if (off >= h->nlmsg_len)
		return;
	attrs(tb, NLMSGERR_ATTR_MSG, (struct rtattr *)((char *)h + off), (int)(h->nlmsg_len - off));
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl_why, sizeof(nl_why), "%.*s", (int)RTA_PAYLOAD(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)RTA_DATA(tb[NLMSGERR_ATTR_MSG]));
}

/* errno in words, with the kernel's explanation when it gave one */
static const char *nl_error(int err)
{
	static char buf[384];

	if (nl_why[0])
		snprintf(buf, sizeof(buf), "%s (%s)", strerror(err), nl_why);
	else
		snprintf(buf, sizeof(buf), "%s", strerror(err));
	return buf;
}

typedef void (*nl_each)(struct nlmsghdr *h, void *arg);

/* Send M and read the replies until its acknowledgement (a request) or the
 * end of the dump (NLM_F_DUMP), handing every other reply to EACH. Returns
 * 0, or -1 with errno set to the kernel's error. */
static int nl_talk(struct nl *nl, struct msg *m, nl_each each, void *arg)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (!m->dump)
		m->h.nlmsg_flags |= NLM_F_ACK;
	m->h.nlmsg_seq = ++nl->seq;
	nl_why[0] = '\0';
	if (sendto(nl->fd, m->buf, m->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(nl->fd, rx.buf, sizeof(rx.buf), MSG_TRUNC, (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((size_t)n > sizeof(rx.buf))
			die("netlink reply longer than %zu bytes", sizeof(rx.buf));
		if (from.nl_pid != 0)
			continue; /* only the kernel speaks to us */
		for (struct nlmsghdr *h = &rx.h; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error == 0)
					return 0;
				nl_extack(h);
				errno = -e->error;
				return -1;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int err;

				memcpy(&err, NLMSG_DATA(h), sizeof(err));
				if (err == 0)
					return 0;
				errno = -err;
				return -1;
			}
			if (each)
				each(h, arg);
		}
	}
}

/* ---- what the kernel has ----------------------------------------------- */

struct link {
	int index; /* 0: no such interface */
	unsigned char mac[6];
	int nsid;  /* a veth's peer namespace, as the host numbers it; -1: none */
	char kind[32];
	char alias[256];
};

static void on_link(struct nlmsghdr *h, void *arg)
{
	struct link *l = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];

	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	attrs(tb, IFLA_MAX, IFLA_RTA(ifi), (int)IFLA_PAYLOAD(h));
	l->index = ifi->ifi_index;
	if (tb[IFLA_ADDRESS] && RTA_PAYLOAD(tb[IFLA_ADDRESS]) == sizeof(l->mac))
		memcpy(l->mac, RTA_DATA(tb[IFLA_ADDRESS]), sizeof(l->mac));
	if (tb[IFLA_LINK_NETNSID] && RTA_PAYLOAD(tb[IFLA_LINK_NETNSID]) == sizeof(int32_t))
		memcpy(&l->nsid, RTA_DATA(tb[IFLA_LINK_NETNSID]), sizeof(l->nsid));
	if (tb[IFLA_IFALIAS])
		snprintf(l->alias, sizeof(l->alias), "%.*s", (int)RTA_PAYLOAD(tb[IFLA_IFALIAS]),
			 (const char *)RTA_DATA(tb[IFLA_IFALIAS]));
	if (tb[IFLA_LINKINFO]) {
		attrs(info, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), (int)RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (info[IFLA_INFO_KIND])
			snprintf(l->kind, sizeof(l->kind), "%.*s", (int)RTA_PAYLOAD(info[IFLA_INFO_KIND]),
				 (const char *)RTA_DATA(info[IFLA_INFO_KIND]));
	}
}

/* A link request about interface INDEX (0: by the name put in after) */
static struct ifinfomsg *link_msg(struct msg *m, uint16_t type, uint16_t flags, int index)
{
	struct ifinfomsg *ifi;

	msg_init(m, type, flags);
	ifi = put(m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

/* RTM_DELLINK of interface INDEX: 0, or -1 with errno. */
static int link_del(struct nl *nl, int index)
{
	struct msg m;

	link_msg(&m, RTM_DELLINK, 0, index);
	return nl_talk(nl, &m, NULL, NULL);
}

/* The interface called NAME: l->index 0 when there is none. -1 on error. */
static int link_get(struct nl *nl, const char *name, struct link *l)
{
	struct msg m;
	struct ifinfomsg *ifi;

	memset(l, 0, sizeof(*l));
	l->nsid = -1;
	msg_init(&m, RTM_GETLINK, 0);
	ifi = put(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	attr_str(&m, IFLA_IFNAME, name);
	attr_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS); /* a smaller reply */
	if (nl_talk(nl, &m, on_link, l) < 0)
		return errno == ENODEV ? 0 : -1;
	return 0;
}

/* IPv4 prefixes: the host's addresses and routes, or one link's addresses */
struct pfx {
	uint32_t a;
	int len;
};

struct pfxs {
	struct pfx *v;
	size_t n, cap;
	int index; /* addresses: only this link's (0: every link's) */
};

static void pfx_add(struct pfxs *p, uint32_t a, int len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v)
			die("out of memory");
	}
	p->v[p->n++] = (struct pfx){ a, len };
}

static void on_addr(struct nlmsghdr *h, void *arg)
{
	struct pfxs *p = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct rtattr *tb[IFA_MAX + 1], *a;

	if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return;
	if (ifa->ifa_family != AF_INET || (p->index && (int)ifa->ifa_index != p->index))
		return;
	attrs(tb, IFA_MAX, IFA_RTA(ifa), (int)IFA_PAYLOAD(h));
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a && RTA_PAYLOAD(a) == 4)
		pfx_add(p, rta_ip4(a), ifa->ifa_prefixlen);
}

/* routes of the main table, as `ip route show` lists them, but the default */
static void on_route(struct nlmsghdr *h, void *arg)
{
	struct rtmsg *r = NLMSG_DATA(h);
	struct rtattr *tb[RTA_MAX + 1];
	uint32_t table;

	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*r)))
		return;
	if (r->rtm_family != AF_INET || r->rtm_dst_len == 0 || (r->rtm_flags & RTM_F_CLONED))
		return;
	attrs(tb, RTA_MAX, RTM_RTA(r), (int)RTM_PAYLOAD(h));
	table = r->rtm_table;
	if (tb[RTA_TABLE] && RTA_PAYLOAD(tb[RTA_TABLE]) == sizeof(table))
		memcpy(&table, RTA_DATA(tb[RTA_TABLE]), sizeof(table));
	if (table == RT_TABLE_MAIN && tb[RTA_DST] && RTA_PAYLOAD(tb[RTA_DST]) == 4)
		pfx_add(arg, rta_ip4(tb[RTA_DST]), r->rtm_dst_len);
}

static void dump(struct nl *nl, uint16_t type, size_t hdrlen, nl_each each, struct pfxs *p)
{
	struct msg m;
	unsigned char *family;

	msg_init(&m, type, NLM_F_DUMP);
	m.dump = true;
	family = put(&m, hdrlen); /* ifaddrmsg and rtmsg both start with the family */
	*family = AF_INET;
	if (nl_talk(nl, &m, each, p) < 0)
		die("read the host's %s: %s", type == RTM_GETADDR ? "addresses" : "routes", nl_error(errno));
}

/* BRIDGE as it is now: is there such an interface, a bridge, with an address? */
/* A bridge whose MAC was set (addr_assign_type 3, NET_ADDR_SET) keeps it; one
 * left to the kernel takes the lowest of its ports' and changes with them. */
static bool mac_was_set(const char *bridge)
{
	char path[64], c = 0;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/addr_assign_type", bridge);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '3';
}

static void bridge_read(struct nl *nl, const char *name, struct bridge *br)
{
	struct link l;
	struct pfxs p = { 0 };

	memset(br, 0, sizeof(*br));
	if (link_get(nl, name, &l) < 0)
		die("bridge '%s': %s", name, nl_error(errno));
	if (!l.index)
		return;
	br->index = l.index;
	br->is_bridge = strcmp(l.kind, "bridge") == 0;
	if (!br->is_bridge)
		return;
	memcpy(br->mac, l.mac, sizeof(br->mac));
	br->mac_fixed = mac_was_set(name);
	p.index = l.index;
	dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), on_addr, &p);
	if (p.n) { /* the first, as `ip addr show` lists them */
		br->gw = p.v[0].a;
		br->len = p.v[0].len;
	}
	free(p.v);
}

/* ---- check: the plan against the kernel -------------------------------- */

/* The front end checks the same before it forks anything (lib/net.sh); this
 * is for every caller, and for `up`, which checks again under the lock. */
static void plan_syntax(struct plan *p)
{
	if (!name_chars_ok(p->bridge))
		die("%s '%s': use letters, digits, '_', '.', '-', starting with a letter or digit", opt.lbl_bridge,
		    p->bridge);
	if (strlen(p->bridge) >= IFNAMSIZ)
		die("%s '%s': longer than 15 bytes (an interface name)", opt.lbl_bridge, p->bridge);
	if (!valid_name(p->name))
		die("name '%s': use letters, digits, '_', '.', '-', starting with a letter or digit, at most 64",
		    p->name);
	if (strcmp(p->addr, "auto") == 0)
		return;
	if (!parse_cidr(p->addr, &p->ip, &p->len))
		die("%s '%s': expected ADDRESS/PREFIX (prefix 8 to 30), e.g. 10.99.0.2/24, or auto", opt.lbl_addr,
		    p->addr);
	uint32_t net = p->ip & mask_of(p->len);
	if (p->ip == net || p->ip == (net | ~mask_of(p->len)))
		die("%s '%s': the network or broadcast address of its subnet", opt.lbl_addr, p->addr);
}

/* the first host address or route that overlaps NET/LEN, or NULL */
static const struct pfx *overlap(const struct pfxs *host, uint32_t net, int len)
{
	for (size_t i = 0; i < host->n; i++) {
		uint32_t m = mask_of(host->v[i].len < len ? host->v[i].len : len);

		if ((host->v[i].a & m) == (net & m))
			return &host->v[i];
	}
	return NULL;
}

/* A bridge to make takes a subnet that takes no traffic from the host's own
 * addresses and routes: auto, the first free /16 of 10.213-254; else the
 * subnet of ADDR, the bridge on its first host address the instance leaves. */
static void plan_new_bridge(struct nl *nl, struct plan *p)
{
	struct pfxs host = { 0 };
	const struct pfx *o;

	dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), on_addr, &host);
	dump(nl, RTM_GETROUTE, sizeof(struct rtmsg), on_route, &host);
	p->make_bridge = true;
	if (!p->ip) {
		uint32_t sub = 0;

		for (uint32_t b = AUTO_FIRST; b <= AUTO_LAST && !sub; b++)
			if (!overlap(&host, 10u << 24 | b << 16, 16))
				sub = 10u << 24 | b << 16;
		if (!sub)
			die("%s auto: no free /16 in 10.%d.0.0 to 10.%d.0.0 for new bridge '%s' (give ADDRESS/PREFIX)",
			    opt.lbl_addr, AUTO_FIRST, AUTO_LAST, p->bridge);
		p->br.gw = sub + 1;
		p->br.len = 16;
	} else {
		uint32_t net = p->ip & mask_of(p->len);

		o = overlap(&host, net, p->len);
		if (o)
			die("%s '%s': subnet %s/%d of the new bridge '%s' overlaps the host's %s/%d", opt.lbl_addr,
			    p->addr, dot(net), p->len, p->bridge, dot(o->a), o->len);
		p->br.gw = net + 1 == p->ip ? net + 2 : net + 1;
		p->br.len = p->len;
	}
	free(host.v);
}

/* the plan against the bridge as bridge_read found it */
static void plan_check(struct nl *nl, struct plan *p)
{
	p->make_bridge = false;
	if (!p->br.index) {
		plan_new_bridge(nl, p);
		return;
	}
	if (!p->br.is_bridge)
		die("%s '%s': an interface that is not a bridge", opt.lbl_bridge, p->bridge);
	if (!p->br.gw) {
		if (!p->ip)
			die("%s auto: bridge '%s' has no IPv4 address to take a subnet from (give ADDRESS/PREFIX)",
			    opt.lbl_addr, p->bridge);
		return;
	}
	if (!p->ip)
		return;
	if (p->len != p->br.len || (p->ip & mask_of(p->len)) != (p->br.gw & mask_of(p->len)))
		die("%s '%s': outside the subnet of bridge '%s' (%s/%d)", opt.lbl_addr, p->addr, p->bridge,
		    dot(p->br.gw), p->br.len);
	if (p->ip == p->br.gw)
		die("%s '%s': the address of bridge '%s' itself", opt.lbl_addr, p->addr, p->bridge);
}

/* ---- files: lock, hosts, bridge cache, journal --------------------------- */

static void on_alarm(int sig)
{
	(void)sig; /* only to interrupt flock(2) */
}

/* flock(2) on PATH, HOW = LOCK_EX or LOCK_SH, waiting at most LOCK_TIMEOUT
 * seconds: the very lock lib/net.sh took with flock(1). PATH is made if
 * missing for LOCK_EX only. The fd, or -1 with errno. */
static int lock_path(const char *path, int how)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: the alarm ends the wait */
	int fd = how == LOCK_EX ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
				: open(path, O_RDONLY | O_CLOEXEC);
	int rc, err;

	if (fd < 0)
		return -1;
	if (flock(fd, how | LOCK_NB) == 0)
		return fd; /* not contended: no timer needed */
	if (errno != EWOULDBLOCK || sigaction(SIGALRM, &sa, NULL) < 0)
		goto fail;
	alarm(LOCK_TIMEOUT);
	rc = flock(fd, how);
	err = errno;
	alarm(0);
	if (rc == 0)
		return fd;
	errno = err == EINTR ? ETIMEDOUT : err;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static void path_in(char *buf, size_t size, const char *dir, const char *bridge, const char *file)
{
	if ((size_t)snprintf(buf, size, "%s/%s/%s", dir, bridge, file) >= size)
		die("%s/%s/%s: path too long", dir, bridge, file);
}

/* The hosts file read once. Lease lines are "ADDR<TAB>NAME"; the header
 * comments and the localhost lines are not leases. */
struct hosts {
	int fd;
	char *text;
	size_t len;
	uint32_t *used; /* leased addresses, sorted */
	size_t nused;
	uint32_t last; /* the address on the last lease line (lines are appended): 0 none */
	bool stale;    /* a line names the instance already (a crash left it; we hold the name) */
};

static bool is_lease(const char *l, size_t n)
{
	if (n == 0 || l[0] == '#')
		return false;
	if (n > 9 && strncmp(l, "127.0.0.1", 9) == 0 && !(l[9] >= '0' && l[9] <= '9'))
		return false;
	if (n > 3 && strncmp(l, "::1", 3) == 0 && !strchr("0123456789abcdef:", l[3]))
		return false;
	return true;
}

/* the next line of [*p, end) into *l, *n (without its newline); false at the end */
static bool next_line(const char **p, const char *end, const char **l, size_t *n)
{
	const char *nl;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*l = *p;
	*n = (size_t)((nl ? nl : end) - *p);
	*p = nl ? nl + 1 : end;
	return true;
}

/* the line is exactly "FIELD<TAB>NAME" (FIELD without a tab); ADDR, when not
 * NULL, must be FIELD: whole fields compared, never a pattern */
static bool line_is(const char *l, size_t n, const char *name, const char *addr)
{
	const char *tab = memchr(l, '\t', n);
	size_t nlen = strlen(name);

	if (!tab || (size_t)(l + n - tab - 1) != nlen || memcmp(tab + 1, name, nlen) != 0)
		return false;
	return !addr || ((size_t)(tab - l) == strlen(addr) && memcmp(l, addr, (size_t)(tab - l)) == 0);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static bool used(const struct hosts *h, uint32_t a)
{
	return bsearch(&a, h->used, h->nused, sizeof(a), cmp_u32) != NULL;
}

/* the whole file behind FD, NUL-terminated, into *len bytes */
static char *read_all(int fd, size_t *len, const char *what)
{
	struct stat st;
	size_t got = 0;
	char *text;

	if (fstat(fd, &st) < 0)
		die_errno("%s", what);
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		die("%s: out of memory", what);
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die_errno("read %s", what);
		if (r == 0)
			break; /* shrunk meanwhile (edited outside the lock): what is there */
		got += (size_t)r;
	}
	text[got] = '\0';
	*len = got;
	return text;
}

/* the hosts file behind FD; NAME: whose lines count as stale */
static void hosts_load(struct hosts *h, int fd, const char *name)
{
	const char *p, *end, *l;
	size_t n;

	memset(h, 0, sizeof(*h));
	h->fd = fd;
	h->text = read_all(fd, &h->len, "the hosts file");
	/* a line that parses as an address has >= 7 bytes and a newline, but the last */
	h->used = malloc((h->len / 8 + 1) * sizeof(*h->used));
	if (!h->used)
		die("hosts file: out of memory");
	p = h->text;
	end = h->text + h->len;
	while (next_line(&p, end, &l, &n)) {
		const char *tab;
		uint32_t a;

		if (!is_lease(l, n))
			continue;
		tab = memchr(l, '\t', n);
		h->last = 0;
		if (parse_ip4(l, tab ? (size_t)(tab - l) : n, &a)) {
			h->used[h->nused++] = a;
			h->last = a;
		}
		if (line_is(l, n, name, NULL))
			h->stale = true;
	}
	qsort(h->used, h->nused, sizeof(*h->used), cmp_u32);
}

static void write_at(int fd, const char *buf, size_t len, off_t off, const char *what)
{
	while (len) {
		ssize_t w = pwrite(fd, buf, len, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die_errno("write %s", what);
		buf += w;
		len -= (size_t)w;
		off += w;
	}
}

/* Remove NAME's lines (only "ADDR<TAB>NAME" when ADDR is given), in place:
 * instances have this very inode bound on their /etc/hosts. The kept text
 * is written over the start, then the file cut to it, so a reader never
 * sees an empty file. Returns whether something was removed. */
static bool hosts_drop(struct hosts *h, const char *name, const char *addr)
{
	char *out = malloc(h->len + 2);
	const char *p = h->text, *end = h->text + h->len, *l;
	size_t n, len = 0;
	bool hit = false;

	if (!out)
		die("hosts file: out of memory");
	while (next_line(&p, end, &l, &n)) {
		if (line_is(l, n, name, addr)) {
			hit = true;
			continue;
		}
		memcpy(out + len, l, n);
		len += n;
		out[len++] = '\n';
	}
	if (hit) {
		write_at(h->fd, out, len, 0, "the hosts file");
		if (ftruncate(h->fd, (off_t)len) < 0)
			die_errno("cut the hosts file");
		free(h->text);
		h->text = out;
		h->len = len;
	} else {
		free(out);
	}
	return hit;
}

/* the journal: lines appended BEFORE each resource is acquired */
struct journal {
	int fd;
	off_t start; /* its length before this run */
	char lines[4][256];
	off_t at[4]; /* where each begins */
	int n;	     /* lines this run appended, still there */
};

static struct journal jr = { .fd = -1 };

__attribute__((format(printf, 1, 2))) static void journal_add(const char *fmt, ...)
{
	va_list ap;
	char *line = jr.lines[jr.n];
	size_t len;

	if (jr.n == (int)ARRAY_LEN(jr.lines))
		die("journal: too many entries (a bug)");
	va_start(ap, fmt);
	len = (size_t)vsnprintf(line, sizeof(jr.lines[0]) - 1, fmt, ap);
	va_end(ap);
	if (len >= sizeof(jr.lines[0]) - 1)
		die("journal entry too long (a bug)");
	line[len] = '\n';
	jr.at[jr.n] = lseek(jr.fd, 0, SEEK_END);
	if (jr.at[jr.n] < 0 || write(jr.fd, line, len + 1) != (ssize_t)(len + 1))
		die_errno("write the journal %s", opt.journal);
	line[len] = '\0';
	jr.n++;
}

/* this run's lines as the file has them: make_behind's child appends its
 * own (its copy of jr is not ours) */
static void journal_reload(void)
{
	char buf[sizeof(jr.lines)], *l, *nl;
	int fd = open(opt.journal, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, jr.start);

	if (fd >= 0)
		close(fd);
	if (n < 0) {
		warn_msg("read the journal %s: %s", opt.journal, strerror(errno));
		return;
	}
	buf[n] = '\0';
	jr.n = 0;
	for (l = buf; (nl = strchr(l, '\n')) && jr.n < (int)ARRAY_LEN(jr.lines); l = nl + 1) {
		size_t len = (size_t)(nl - l);

		if (len >= sizeof(jr.lines[0])) /* not one of ours: journal_add refuses those */
			len = sizeof(jr.lines[0]) - 1;
		memcpy(jr.lines[jr.n], l, len);
		jr.lines[jr.n][len] = '\0';
		jr.at[jr.n++] = jr.start + (l - buf);
	}
}

/* take this run's last line out again: what it named turned out not to be
 * ours to make, so no teardown may undo it */
static void journal_drop_last(void)
{
	if (ftruncate(jr.fd, jr.at[jr.n - 1]) < 0)
		die_errno("journal %s", opt.journal);
	jr.n--;
}

/* ---- down: undo one journal entry ---------------------------------------- */

/* A veth whose namespace was still there when its entry was undone: the
 * namespace should die with our last reference to it, and the veth with it.
 * Checked once every entry is undone (see undo_held). */
struct kept {
	int index, nsid;
	struct timespec born; /* when its namespace was bound (0: unknown) */
	char host[IFNAMSIZ], name[65];
};

struct down {
	struct nl nl; /* opened when first needed */
	bool quiet;
	struct kept kept[8];
	size_t nkept;
};

__attribute__((format(printf, 2, 3))) static int undo_fail(const struct down *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->quiet) {
		va_start(ap, fmt);
		vwarn_msg(0, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool netns_exists(const char *name)
{
	char path[sizeof(NETNS_DIR) + 72];

	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	return access(path, F_OK) == 0;
}

/* by index, the one just read: never another that took the name since */
static int veth_delete(struct down *d, const char *host, int index)
{
	if (link_del(&d->nl, index) < 0 && errno != ENODEV)
		return undo_fail(d, "delete veth %s: %s", host, nl_error(errno));
	return 0;
}

/* The host end, only when its namespace is already gone (else deleting the
 * namespace takes it, and far cheaper: ~0.1 ms against ~18 ms), and only if
 * it carries our mark for NAME: never an interface we did not make. While
 * the namespace is there, the veth is remembered for undo_held. */
static int undo_veth(struct down *d, const char *host, const char *name)
{
	struct link l;
	char mark[sizeof(MARK_PREFIX) + 64];
	bool ns = netns_exists(name);

	if (!valid_ifname(host) || !valid_name(name))
		return undo_fail(d, "veth %s %s: not an entry of ours", host, name);
	if (ns && d->nkept == ARRAY_LEN(d->kept))
		return 0;
	if (d->nl.fd < 0)
		nl_open(&d->nl);
	if (link_get(&d->nl, host, &l) < 0)
		return undo_fail(d, "veth %s: %s", host, nl_error(errno));
	snprintf(mark, sizeof(mark), MARK_PREFIX "%s", name);
	if (!l.index || strcmp(l.alias, mark) != 0)
		return 0;
	if (ns) {
		if (l.nsid >= 0) {
			struct kept *k = &d->kept[d->nkept++];

			*k = (struct kept){ .index = l.index, .nsid = l.nsid };
			snprintf(k->host, sizeof(k->host), "%s", host);
			snprintf(k->name, sizeof(k->name), "%s", name);
		}
		return 0;
	}
	return veth_delete(d, host, l.index);
}

/* Is the namespace the host numbers NSID still alive? Asked by number, the
 * kernel takes a reference only if it can (a namespace whose last reference
 * is gone is dying, even while its number and devices linger for the
 * asynchronous cleanup). */
static bool nsid_alive(struct nl *nl, int nsid)
{
	struct msg m;
	struct rtgenmsg *g;
	int32_t id = nsid;

	msg_init(&m, RTM_GETNSID, 0);
	g = put(&m, NLMSG_ALIGN(sizeof(*g)));
	g->rtgen_family = AF_UNSPEC;
	attr(&m, NETNSA_NSID, &id, sizeof(id));
	return nl_talk(nl, &m, NULL, NULL) == 0;
}

/* The veth of K, if it is still K's and its namespace still alive. */
static bool still_held(struct nl *nl, const struct kept *k)
{
	char mark[sizeof(MARK_PREFIX) + 64];
	struct link l;

	if (link_get(nl, k->host, &l) < 0 || l.index != k->index || l.nsid < 0)
		return false;
	snprintf(mark, sizeof(mark), MARK_PREFIX "%s", k->name);
	return strcmp(l.alias, mark) == 0 && nsid_alive(nl, l.nsid);
}

/* A namespace younger than this may still be alive for a moment on its own:
 * the kernel frees a closed netlink socket (nsnet up's, made inside it) and a
 * detached mount only after an RCU grace period, a few ms. */
#define YOUNG_MS 1000

/* A young namespace found alive: watched from a process of its own (detached,
 * so that nobody waits for it), which deletes the veth only if the namespace
 * outlives its transient references by far. Best effort: a failed fork leaves
 * the veth to the namespace's own end. */
static void watch_held(const struct kept *k)
{
	static const unsigned ms[] = { 10, 20, 50, 100, 200, 400 }; /* 780 ms in all */
	struct nl nl = { .fd = -1 };
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return;
	setsid();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(1);
	sys_close_range(3, ~0U, 0);
	nl_open(&nl);
	for (size_t i = 0; i < ARRAY_LEN(ms); i++) {
		struct timespec t = { .tv_sec = ms[i] / 1000, .tv_nsec = (long)(ms[i] % 1000) * 1000000L };

		nanosleep(&t, NULL);
		if (!still_held(&nl, k))
			_exit(0);
	}
	{
		struct down d = { .nl = nl, .quiet = true };

		_exit(veth_delete(&d, k->host, k->index) < 0);
	}
}

/* Every entry undone, our references are dropped: a namespace of ours still
 * alive is held by someone else (`ip netns exec`, nsenter, an open handle).
 * It lives on, as they want, but not on our bridge: its veth goes now (or,
 * for a young one, once it is clear that it is held: see watch_held). */
static int undo_held(struct down *d)
{
	struct timespec now;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < d->nkept; i++) {
		const struct kept *k = &d->kept[i];
		long long age_ms = (now.tv_sec - k->born.tv_sec) * 1000LL + (now.tv_nsec - k->born.tv_nsec) / 1000000L;

		/* dead (the common case) by the number alone; alive, by the veth too:
		 * a number may have passed to another namespace meanwhile */
		if (netns_exists(k->name) || !nsid_alive(&d->nl, k->nsid) || !still_held(&d->nl, k))
			continue;
		if (!k->born.tv_sec || age_ms < YOUNG_MS)
			watch_held(k);
		else if (veth_delete(d, k->host, k->index) < 0)
			rc = -1;
	}
	d->nkept = 0;
	return rc;
}

/* As `ip netns del`: detach the bind mount, remove the file. The namespace
 * (and the veth in it) goes once nothing holds it any more. */
static int undo_netns(struct down *d, const char *name)
{
	char path[sizeof(NETNS_DIR) + 72];

	struct stat st;

	if (!valid_name(name))
		return undo_fail(d, "netns %s: not an entry of ours", name);
	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	/* the namespace's own inode, made when it was first bound: its age */
	for (size_t i = 0; i < d->nkept; i++)
		if (strcmp(d->kept[i].name, name) == 0 && stat(path, &st) == 0)
			d->kept[i].born = st.st_mtim;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return undo_fail(d, "unmount %s: %s", path, strerror(errno));
	if (unlink(path) < 0 && errno != ENOENT)
		return undo_fail(d, "remove %s: %s", path, strerror(errno));
	return 0;
}

/* the hosts line "ADDR<TAB>NAME", under BRIDGE's lock */
static int undo_lease(struct down *d, const char *bridge, const char *addr, const char *name)
{
	char path[PATH_MAX];
	struct hosts h;
	int lock, fd;

	if (!valid_ifname(bridge) || !valid_name(name) || strchr(addr, '\t'))
		return undo_fail(d, "lease %s %s %s: not an entry of ours", bridge, addr, name);
	if (!opt.net_dir)
		return undo_fail(d, "lease %s %s %s: needs --net-dir", bridge, addr, name);
	path_in(path, sizeof(path), opt.net_dir, bridge, "hosts");
	if (access(path, F_OK) < 0)
		return 0;
	path_in(path, sizeof(path), opt.net_dir, bridge, "lock");
	lock = lock_path(path, LOCK_EX);
	if (lock < 0)
		return undo_fail(d, "bridge '%s': lock %s: %s", bridge, path, strerror(errno));
	path_in(path, sizeof(path), opt.net_dir, bridge, "hosts");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		close(lock);
		return errno == ENOENT ? 0 : undo_fail(d, "open %s: %s", path, strerror(errno));
	}
	hosts_load(&h, fd, name);
	hosts_drop(&h, name, addr);
	free(h.text);
	free(h.used);
	close(fd);
	close(lock);
	return 0;
}

/* One journal line, "KIND ARG...". Not a network entry: not ours, left alone. */
static int undo_line(struct down *d, const char *line)
{
	char buf[512], *w[6], *save = NULL;
	int n = 0;

	if (strlen(line) >= sizeof(buf))
		return undo_fail(d, "journal entry too long: %.40s...", line);
	strcpy(buf, line);
	for (char *t = strtok_r(buf, " ", &save); t && n < (int)ARRAY_LEN(w); t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	if (n == 0)
		return 0;
	if (strcmp(w[0], "netns") == 0 && n == 2)
		return undo_netns(d, w[1]);
	if (strcmp(w[0], "veth") == 0 && n == 3)
		return undo_veth(d, w[1], w[2]);
	if (strcmp(w[0], "lease") == 0 && n == 4)
		return undo_lease(d, w[1], w[2], w[3]);
	if (strcmp(w[0], "netns") == 0 || strcmp(w[0], "veth") == 0 || strcmp(w[0], "lease") == 0)
		return undo_fail(d, "malformed journal entry '%s'", line);
	return 0;
}

/* ---- up ---------------------------------------------------------------- */

struct up {
	struct plan p;
	struct nl host;	 /* a socket in the host's network namespace */
	int inner;	 /* a UDP socket made in the instance's: its ioctls act there */
	int gen_mode;	 /* its IPv6 default addr_gen_mode while eth0 is made, else -1 */
	char gen_was[8]; /* what that default was */
	int ns_fd;	 /* the instance's namespace (for the veth's peer) */
	int lock;	 /* the bridge's lock while held, else -1 */
	char veth[IFNAMSIZ];
	char cidr[20];
};

static struct up *up_now; /* what fail() rolls back */
static pid_t behind = -1; /* up --netns-to: the child making the namespace and the rest */
static int netns_w = -1;  /* its end of the --netns-to socket pair */

/* --new-state, given back: its files, then the directory */
static int remove_state(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pid", opt.new_state);
	if ((unlink(path) < 0 && errno != ENOENT) || (unlink(opt.journal) < 0 && errno != ENOENT))
		return -1;
	return rmdir(opt.new_state);
}

/* Undo what this run journaled, bottom-up, as a teardown would; if all of it
 * is gone, its lines leave the journal too. */
static void rollback(void)
{
	struct down d = { .nl = { .fd = -1 }, .quiet = false };
	bool ok = true;

	/* PROG could not be exec'd: the child first, then its lines too */
	if (behind > 0) {
		if (kill(behind, SIGKILL) == 0)
			while (waitpid(behind, NULL, 0) < 0 && errno == EINTR)
				;
		behind = -1;
		journal_reload();
	}
	if (up_now->lock >= 0) { /* undo_lease takes it again */
		close(up_now->lock);
		up_now->lock = -1;
	}
	/* our own hold on the namespace would keep it (and its veth) alive */
	if (up_now->ns_fd >= 0)
		close(up_now->ns_fd);
	if (up_now->inner >= 0)
		close(up_now->inner);
	up_now->ns_fd = up_now->inner = -1;
	for (int i = jr.n - 1; i >= 0; i--)
		if (undo_line(&d, jr.lines[i]) < 0)
			ok = false;
	if (ok && ftruncate(jr.fd, jr.start) < 0)
		warn_msg("journal %s: %s", opt.journal, strerror(errno));
	/* --new-state: all undone, so the name is free again */
	if (ok && opt.new_state && remove_state() < 0)
		warn_msg("remove %s: %s", opt.new_state, strerror(errno));
	if (!ok)
		warn_msg("could not undo all of it: the journal %s keeps what is left", opt.journal);
}

/* die, once something may have been made: roll back first */
__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_msg(0, fmt, ap);
	va_end(ap);
	if (up_now)
		rollback();
	die_hook = NULL; /* given back by the rollback */
	leave(EXIT_SETUP);
}

static const char *test_fail(void)
{
	const char *f = getenv("UNSHARED_TEST_NET_FAIL");

	return f ? f : "";
}

/* RTM_NEWADDR: ADDR/LEN on IFINDEX */
static int addr_add(struct nl *nl, int ifindex, uint32_t addr, int len)
{
	struct msg m;
	struct ifaddrmsg *ifa;

	msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = put(&m, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)len;
	ifa->ifa_index = (unsigned)ifindex;
	attr_ip4(&m, IFA_LOCAL, addr);
	attr_ip4(&m, IFA_ADDRESS, addr);
	return nl_talk(nl, &m, NULL, NULL);
}

/* RTM_NEWLINK on an existing interface (by index, else by name): flags and alias */
static int link_set(struct nl *nl, int ifindex, const char *name, unsigned up, const char *alias)
{
	struct msg m;
	struct ifinfomsg *ifi = link_msg(&m, RTM_NEWLINK, 0, ifindex);

	ifi->ifi_flags = up;
	ifi->ifi_change = up;
	if (!ifindex)
		attr_str(&m, IFLA_IFNAME, name);
	if (alias)
		attr_str(&m, IFLA_IFALIAS, alias);
	return nl_talk(nl, &m, NULL, NULL);
}

/* The bridge, up, with its address; marked (the kernel ignores an alias given
 * at creation). Not journaled: a bridge stays. If it cannot be completed,
 * what was made of it goes again, by index. */
static void bridge_make(struct up *u)
{
	struct plan *p = &u->p;
	struct msg m;
	struct ifinfomsg *ifi;
	struct rtattr *info;
	struct link l;
	const char *step = "create it";
	int idx;

	msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = put(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	attr_str(&m, IFLA_IFNAME, p->bridge);
	/* a MAC of its own, locally administered: the instances' neighbour entry
	 * for their gateway can then be permanent (see inside) */
	if (getrandom(p->br.mac, sizeof(p->br.mac), 0) != (ssize_t)sizeof(p->br.mac))
		fail("bridge '%s': a random MAC: %s", p->bridge, strerror(errno));
	p->br.mac[0] = (unsigned char)((p->br.mac[0] & 0xfe) | 0x02);
	attr(&m, IFLA_ADDRESS, p->br.mac, sizeof(p->br.mac));
	info = nest(&m, IFLA_LINKINFO);
	attr_str(&m, IFLA_INFO_KIND, "bridge");
	nest_end(&m, info);
	if (nl_talk(&u->host, &m, NULL, NULL) < 0)
		fail("bridge '%s': cannot make it: %s", p->bridge, nl_error(errno));
	if (link_get(&u->host, p->bridge, &l) < 0 || !l.index)
		fail("bridge '%s': gone as soon as made", p->bridge);
	idx = l.index;
	step = "its address";
	if (addr_add(&u->host, strcmp(test_fail(), "bridge") == 0 ? NO_SUCH_IFINDEX : idx, p->br.gw, p->br.len) == 0) {
		step = "its mark";
		if (link_set(&u->host, idx, NULL, 0, MARK_PREFIX "bridge") == 0) {
			p->br.index = idx;
			p->br.is_bridge = true;
			p->br.mac_fixed = true;
			return;
		}
	}
	int err = errno;
	if (link_del(&u->host, idx) < 0 && errno != ENODEV)
		warn_msg("bridge '%s': remove what was made of it: %s", p->bridge, nl_error(errno));
	fail("bridge '%s': cannot make it: %s/%d, %s: %s", p->bridge, dot(p->br.gw), p->br.len, step,
	     nl_error(err));
}

/* $NETDIR/BRIDGE/bridge: "IFINDEX ADDR PREFIX MAC" ("-" for none; MAC:
 * mac-set or mac-kernel, see bridge_cached), read by the front end (no
 * fork) to check the next --addr on this bridge, and by up under the lock.
 * Replaced by rename: readers hold no lock. */
static void cache_line(char *out, size_t size, const struct bridge *br)
{
	const char *mac = br->mac_fixed ? "mac-set" : "mac-kernel";

	if (br->gw)
		snprintf(out, size, "%d %s %d %s\n", br->index, dot(br->gw), br->len, mac);
	else
		snprintf(out, size, "%d - - %s\n", br->index, mac);
}

/* Written when up has read the bridge from the kernel (bridge_cached found
 * the file wrong, old or missing). */
static void cache_write(const struct up *u)
{
	char want[64], path[PATH_MAX], tmp[PATH_MAX];
	int fd;

	cache_line(want, sizeof(want), &u->p.br);
	path_in(path, sizeof(path), opt.net_dir, u->p.bridge, "bridge");
	path_in(tmp, sizeof(tmp), opt.net_dir, u->p.bridge, ".bridge.tmp");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("cannot write %s: %s", tmp, strerror(errno));
	write_at(fd, want, strlen(want), 0, tmp);
	if (close(fd) < 0 || replace_file(AT_FDCWD, tmp, path) < 0)
		fail("cannot write %s: %s", path, strerror(errno));
}

/* the next free address after the latest lease still held, wrapping around
 * the subnet, never the bridge's own */
static uint32_t lease_pick(const struct up *u, const struct hosts *h)
{
	const struct plan *p = &u->p;
	uint32_t net = p->br.gw & mask_of(p->br.len);
	uint32_t last = net + ~mask_of(p->br.len) - 1;
	uint32_t c = h->last + 1;

	for (uint32_t n = 0; n <= last - net; n++, c++) {
		if (c <= net || c > last)
			c = net + 1;
		if (c != p->br.gw && !used(h, c))
			return c;
	}
	fail("%s auto: no free address left on bridge '%s'", opt.lbl_addr, p->bridge);
}

/* Under the lock: the address, journaled, then its hosts line. */
static void lease(struct up *u)
{
	static const char header[] = "# /etc/hosts of the instances on bridge %s, kept by unshared-cli:\n"
				     "# one line per instance, rewritten in place as they come and go.\n"
				     "127.0.0.1\tlocalhost\n"
				     "::1\tlocalhost ip6-localhost ip6-loopback\n";
	struct plan *p = &u->p;
	char path[PATH_MAX], text[512];
	struct hosts h;
	uint32_t a;
	int fd, n = 0;

	path_in(path, sizeof(path), opt.net_dir, p->bridge, "hosts");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("cannot write %s: %s", path, strerror(errno));
	hosts_load(&h, fd, p->name);
	if (p->ip) {
		a = p->ip;
		if (used(&h, a))
			fail("%s '%s': already used on bridge '%s'", opt.lbl_addr, p->addr, p->bridge);
	} else {
		a = lease_pick(u, &h);
		p->len = p->br.len;
	}
	snprintf(u->cidr, sizeof(u->cidr), "%s/%d", dot(a), p->len);
	journal_add("lease %s %s %s", p->bridge, dot(a), p->name);
	if (h.len == 0)
		n = snprintf(text, sizeof(text), header, p->bridge);
	else if (h.stale)
		hosts_drop(&h, p->name, NULL);
	if (h.len > 0 && h.text[h.len - 1] != '\n')
		text[n++] = '\n'; /* a hand-edited last line without its newline */
	n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\t%s\n", dot(a), p->name);
	write_at(fd, text, (size_t)n, (off_t)h.len, path);
	p->ip = a;
	free(h.text);
	free(h.used);
	if (close(fd) < 0)
		fail("cannot write %s: %s", path, strerror(errno));
}

/* BRIDGE as $NETDIR/BRIDGE/bridge (cache_write) says it was, when four
 * ioctls agree: the same index, the same first IPv4 address and prefix; its
 * MAC read afresh, whether it was set taken from the cache (a bridge's
 * addr_assign_type, once set, stays). This is the hot path of every spawn on
 * a known bridge: a GETLINK (the bridge's full attributes), a sysfs read and
 * an address dump cost about 0.1 ms more here. False on any difference, or
 * a cache of an older format: bridge_read then reads it all. */
static bool bridge_cached(const char *name, struct bridge *br)
{
	char path[PATH_MAX], have[80], want[64];
	struct ifreq r;
	uint32_t mask;
	int sock;

	path_in(path, sizeof(path), opt.net_dir, name, "bridge");
	if (read_text_at(AT_FDCWD, path, 0, have, sizeof(have)) <= 0)
		return false;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return false;
	memset(br, 0, sizeof(*br));
	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFINDEX, &r) < 0)
		goto no;
	br->index = r.ifr_ifindex;
	if (ioctl(sock, SIOCGIFHWADDR, &r) < 0 || r.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		goto no;
	memcpy(br->mac, r.ifr_hwaddr.sa_data, sizeof(br->mac));
	if (ioctl(sock, SIOCGIFADDR, &r) == 0) {
		br->gw = ntohl(((struct sockaddr_in *)(void *)&r.ifr_addr)->sin_addr.s_addr);
		if (ioctl(sock, SIOCGIFNETMASK, &r) < 0)
			goto no;
		mask = ntohl(((struct sockaddr_in *)(void *)&r.ifr_netmask)->sin_addr.s_addr);
		for (; mask & 0x80000000u; mask <<= 1)
			br->len++;
	} else if (errno != EADDRNOTAVAIL) {
		goto no;
	}
	close(sock);
	/* same name, same index: the interface bridge_read found a bridge */
	br->is_bridge = true;
	for (int set = 0; set < 2; set++) {
		br->mac_fixed = set;
		cache_line(want, sizeof(want), br);
		if (strcmp(have, want) == 0)
			return true;
	}
	return false;
no:
	close(sock);
	return false;
}

/* The part under the bridge's lock: the bridge as it is now (it may have
 * been made or changed since the front end looked), made if missing, and
 * the lease. */
static void locked_part(struct up *u)
{
	char path[PATH_MAX];
	bool cached;

	/* DIR/BRIDGE: mkdir -p (DIR's parent, the registry, exists); on first
	 * use of BRIDGE, bad input is refused before anything is made, this
	 * directory included (checked again under the lock below) */
	path_in(path, sizeof(path), opt.net_dir, u->p.bridge, "");
	if (access(path, F_OK) < 0) {
		bridge_read(&u->host, u->p.bridge, &u->p.br);
		plan_check(&u->host, &u->p);
	}
	if (mkdir(opt.net_dir, 0755) < 0 && errno != EEXIST)
		die_errno("cannot create %s", opt.net_dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die_errno("cannot create %s", path);
	path_in(path, sizeof(path), opt.net_dir, u->p.bridge, "lock");
	u->lock = lock_path(path, LOCK_EX);
	if (u->lock < 0 && errno == ETIMEDOUT)
		die("bridge '%s': its lock is busy (another spawn hangs?)", u->p.bridge);
	if (u->lock < 0)
		die_errno("bridge '%s': lock %s", u->p.bridge, path);
	cached = bridge_cached(u->p.bridge, &u->p.br);
	if (!cached)
		bridge_read(&u->host, u->p.bridge, &u->p.br);
	plan_check(&u->host, &u->p);
	if (u->p.make_bridge)
		bridge_make(u);
	if (!cached)
		cache_write(u);
	lease(u);
	close(u->lock);
	u->lock = -1;
}

/* /run/netns as `ip netns add` leaves it: a shared mount (made a bind mount
 * of itself first if it is none), so that a namespace file unmounted here
 * is unmounted in the mount namespaces made since, and the namespace can
 * go. Serialized on the directory as iproute2 does: two concurrent tries
 * could stack bind mounts. */
static void netns_dir_shared(void)
{
	bool made = false;
	int lock;

	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		fail("cannot create " NETNS_DIR ": %s", strerror(errno));
	lock = open(NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		fail("lock " NETNS_DIR ": %s", strerror(errno));
	while (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL || made)
			fail("make " NETNS_DIR " a shared mount: %s", strerror(errno));
		if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			fail("bind " NETNS_DIR " on itself: %s", strerror(errno));
		made = true;
	}
	close(lock);
}

/* eth0 makes no IPv6 link-local address of its own (addrgenmode none; IPv6
 * stays on, an address can still be added): no duplicate address detection,
 * no multicast listener reports and router solicitations that the bridge
 * floods to every other instance on it, each one's kernel answering: on a
 * bridge of 1000 instances that made each spawn cost O(instances). A new
 * device takes the namespace's default: none, for the moment eth0 is made
 * (link_local_default_back gives the default back). Called inside: the
 * file under /proc/sys/net is the current namespace's when it is opened, and
 * stays that namespace's. A kernel without IPv6 has nothing to turn off. */
static void no_link_local_default(struct up *u)
{
	ssize_t n;

	u->gen_mode = open("/proc/sys/net/ipv6/conf/default/addr_gen_mode", O_RDWR | O_CLOEXEC);
	if (u->gen_mode < 0 && errno == ENOENT)
		return;
	n = u->gen_mode < 0 ? -1 : pread(u->gen_mode, u->gen_was, sizeof(u->gen_was) - 1, 0);
	if (n <= 0 || pwrite(u->gen_mode, "1\n", 2, 0) != 2)
		fail("network of '%s': addrgenmode none for eth0: %s", u->p.name, n == 0 ? "empty" : strerror(errno));
	u->gen_was[n] = '\0';
}

static void link_local_default_back(struct up *u)
{
	size_t len = strlen(u->gen_was);

	if (u->gen_mode < 0)
		return;
	if (pwrite(u->gen_mode, u->gen_was, len, 0) != (ssize_t)len || close(u->gen_mode) < 0)
		fail("network of '%s': the namespace's addrgenmode default back: %s", u->p.name, strerror(errno));
	u->gen_mode = -1;
}

/* The named namespace, as `ip netns add` makes one: the file, a new
 * namespace (this process's, for a moment), bound on the file. A UDP socket
 * made meanwhile stays in it: the inside is configured by its ioctls, from
 * the host's namespace. Not a netlink socket: the kernel frees one an RCU
 * grace period after its close, and until then it keeps the namespace alive,
 * past the teardown, which then has to leave a watcher for the veth (a fork
 * in every teardown here). An unbound UDP socket goes at its close. */
static void netns_make(struct up *u)
{
	const char *name = u->p.name;
	char path[sizeof(NETNS_DIR) + 72];
	int fd, self;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	netns_dir_shared();
	journal_add("netns %s", name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;

		journal_drop_last();
		if (err == EEXIST)
			fail("network namespace '%s' exists already (not this instance's): pick another name", name);
		fail("cannot create %s: %s", path, strerror(err));
	}
	close(fd);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		fail("open /proc/self/ns/net: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) < 0)
		fail("network of '%s': new network namespace: %s", name, strerror(errno));
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0) {
		int err = errno;

		if (setns(self, CLONE_NEWNET) < 0)
			die_errno("back to the host's network namespace"); /* nothing sane is left to do */
		fail("bind the network namespace on %s: %s", path, strerror(err));
	}
	u->ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (u->ns_fd >= 0) {
		u->inner = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (u->inner >= 0)
			no_link_local_default(u);
	}
	if (setns(self, CLONE_NEWNET) < 0)
		die_errno("back to the host's network namespace"); /* nothing sane is left to do */
	if (u->ns_fd < 0)
		fail("open the new network namespace: %s", strerror(errno));
	if (u->inner < 0)
		fail("network of '%s': a socket inside: %s", name, strerror(errno));
	close(self);
}

/* The veth: the host end (--veth PREFIX, or PREFIXxK when a crashed instance
 * left that name) up on the bridge, its peer eth0 made inside the namespace.
 * Each try is journaled first and taken back if the name was taken. */
static void veth_make(struct up *u)
{
	const struct plan *p = &u->p;
	char mark[sizeof(MARK_PREFIX) + 64];

	for (int k = 0;; k++) {
		struct msg m;
		struct ifinfomsg *ifi, *peer_ifi;
		struct rtattr *info, *data, *peer;

		if (k == 0)
			snprintf(u->veth, sizeof(u->veth), "%s", opt.veth);
		else if ((size_t)snprintf(u->veth, sizeof(u->veth), "%sx%d", opt.veth, k) >= sizeof(u->veth))
			fail("network of '%s': no free interface name for %s", p->name, opt.veth);
		journal_add("veth %s %s", u->veth, p->name);
		msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
		ifi = put(&m, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_flags = ifi->ifi_change = IFF_UP;
		attr_str(&m, IFLA_IFNAME, u->veth);
		attr_u32(&m, IFLA_MASTER, (uint32_t)p->br.index);
		info = nest(&m, IFLA_LINKINFO);
		attr_str(&m, IFLA_INFO_KIND, "veth");
		data = nest(&m, IFLA_INFO_DATA);
		peer = nest(&m, VETH_INFO_PEER);
		/* not up yet: the kernel would open the peer before pairing it (ENOTCONN) */
		peer_ifi = put(&m, sizeof(*peer_ifi));
		peer_ifi->ifi_family = AF_UNSPEC;
		attr_str(&m, IFLA_IFNAME, "eth0");
		attr_u32(&m, IFLA_NET_NS_FD, (uint32_t)u->ns_fd);
		nest_end(&m, peer);
		nest_end(&m, data);
		nest_end(&m, info);
		if (nl_talk(&u->host, &m, NULL, NULL) == 0)
			break;
		if (errno != EEXIST || k >= 99)
			fail("network of '%s' on bridge '%s': veth %s: %s", p->name, p->bridge, u->veth, nl_error(errno));
		journal_drop_last();
	}
	link_local_default_back(u);
	snprintf(mark, sizeof(mark), MARK_PREFIX "%s", p->name);
	if (link_set(&u->host, 0, u->veth, 0, mark) < 0)
		fail("network of '%s': mark veth %s: %s", p->name, u->veth, nl_error(errno));
}

/* Inside, through ioctls on u->inner (they act in its namespace): lo and
 * eth0 up, the address on eth0, the gateway's neighbour entry, the default
 * route via the bridge. */
static void sin_of(struct sockaddr *sa, uint32_t a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = { .s_addr = htonl(a) } };

	memcpy(sa, &sin, sizeof(sin));
}

static int if_up(struct up *u, const char *dev)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(u->inner, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(u->inner, SIOCSIFFLAGS, &ifr);
}

/* ADDR/LEN on eth0, set while it is down: its prefix route comes once, at up */
static int eth0_address(struct up *u)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	/* the fault injection's target: no device inside has that name */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", strcmp(test_fail(), "addr") == 0 ? "nodev" : "eth0");
	sin_of(&ifr.ifr_addr, u->p.ip);
	if (ioctl(u->inner, SIOCSIFADDR, &ifr) < 0)
		return -1;
	sin_of(&ifr.ifr_netmask, mask_of(u->p.len));
	return ioctl(u->inner, SIOCSIFNETMASK, &ifr);
}

/* The gateway's neighbour entry, permanent: no ARP before the first packet
 * out, and none of the kernel's ARP table (gc_thresh3 entries for all of the
 * host's namespaces together, 1024 by default) taken by 1000 instances each
 * learning the same bridge; only for a bridge whose MAC cannot change. */
static int gateway_neigh(struct up *u)
{
	struct arpreq r;

	memset(&r, 0, sizeof(r));
	sin_of(&r.arp_pa, u->p.br.gw);
	r.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(r.arp_ha.sa_data, u->p.br.mac, sizeof(u->p.br.mac));
	r.arp_flags = ATF_PERM | ATF_COM;
	snprintf(r.arp_dev, sizeof(r.arp_dev), "eth0");
	return ioctl(u->inner, SIOCSARP, &r);
}

/* as `ip route add default via GW` (the kernel marks it proto boot) */
static int default_route(struct up *u)
{
	struct rtentry rt;

	memset(&rt, 0, sizeof(rt));
	sin_of(&rt.rt_dst, 0);
	sin_of(&rt.rt_genmask, 0);
	sin_of(&rt.rt_gateway, u->p.br.gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	return ioctl(u->inner, SIOCADDRT, &rt);
}

static void inside(struct up *u)
{
	const struct plan *p = &u->p;

	if (if_up(u, "lo") < 0)
		fail("network of '%s' on bridge '%s': lo up: %s", p->name, p->bridge, strerror(errno));
	if (eth0_address(u) < 0)
		fail("network of '%s' on bridge '%s': address %s on eth0: %s", p->name, p->bridge, u->cidr,
		     strerror(errno));
	if (if_up(u, "eth0") < 0)
		fail("network of '%s' on bridge '%s': eth0 up: %s", p->name, p->bridge, strerror(errno));
	if (!p->br.gw)
		return;
	if (p->br.mac_fixed && gateway_neigh(u) < 0)
		fail("network of '%s' on bridge '%s': the gateway's neighbour entry: %s", p->name, p->bridge,
		     strerror(errno));
	if (default_route(u) < 0)
		fail("network of '%s' on bridge '%s': default route via %s: %s", p->name, p->bridge, dot(p->br.gw),
		     strerror(errno));
}

static void plan_args(struct plan *p, int argc, char **argv, const char *verb)
{
	if (argc > 3 && strcmp(verb, "up") == 0 && strcmp(argv[3], "--exec") == 0) {
		if (argc == 4)
			die("up: --exec: expected PROG [ARG...]");
		opt.exec = argv + 4;
		argc = 3;
	}
	if (argc != 3)
		die("%s: expected BRIDGE NAME ADDR (see nsnet --help)", verb);
	memset(p, 0, sizeof(*p));
	p->bridge = argv[0];
	p->name = argv[1];
	p->addr = argv[2];
	plan_syntax(p);
}

/* check: what up would refuse, refused now; nothing is made */
static int cmd_check(int argc, char **argv)
{
	struct plan p;
	struct hosts h;
	struct nl nl;
	char path[PATH_MAX];
	int fd;

	plan_args(&p, argc, argv, "check");
#ifdef FUZZ_PARSE_ONLY
	return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
	nl_open(&nl);
	bridge_read(&nl, p.bridge, &p.br);
	if (p.br.is_bridge && !p.br.gw && opt.net_dir) {
		/* A bridge that a concurrent up is making shows for a moment
		 * without its address: wait until that up lets its lock go (a
		 * shared lock, on the lock file only if there is one: check makes
		 * nothing), then look again. */
		path_in(path, sizeof(path), opt.net_dir, p.bridge, "lock");
		fd = lock_path(path, LOCK_SH);
		if (fd >= 0) {
			close(fd);
			bridge_read(&nl, p.bridge, &p.br);
		} else if (errno != ENOENT) {
			die_errno("bridge '%s': lock %s", p.bridge, path);
		}
	}
	plan_check(&nl, &p);
	if (!p.ip || !opt.net_dir)
		return 0;
	path_in(path, sizeof(path), opt.net_dir, p.bridge, "hosts");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			die_errno("open %s", path);
		return 0;
	}
	hosts_load(&h, fd, p.name);
	if (used(&h, p.ip))
		die("%s '%s': already used on bridge '%s'", opt.lbl_addr, p.addr, p.bridge);
	return 0;
}

/* --new-state DIR: the name is taken here, as forkn --new-state would: mkdir
 * is atomic, of two spawns racing for a name exactly one wins. The journal
 * goes inside it, and forkn --adopt-state removes both at the end. */
static void give_state_back(void)
{
	if (up_now) {
		rollback(); /* removes the directory once all is undone */
		return;
	}
	if (remove_state() < 0)
		warn_msg("remove %s: %s", opt.new_state, strerror(errno));
}

/* DIR/pid: "PID STARTTIME" of the owner (field 22 of /proc/PID/stat), the
 * way forkn writes it: gc tells a dead owner from a live one by it */
static void write_owner(void)
{
	char path[PATH_MAX], buf[64], *end;
	long pid = strtol(opt.owner, &end, 10);
	unsigned long long start = 0;
	int fd, len;

	if (!*opt.owner || *end || pid < 1 || pid > 4194304)
		die("--owner '%s': a process id", opt.owner);
	if (proc_stat_field((pid_t)pid, 22, &start) < 0) {
		if (errno != EINVAL)
			die_errno("--owner %ld: read /proc/%ld/stat", pid, pid);
		die("--owner %ld: no start time in /proc/%ld/stat", pid, pid);
	}
	snprintf(path, sizeof(path), "%s/pid", opt.new_state);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	len = snprintf(buf, sizeof(buf), "%ld %llu\n", pid, start);
	if (fd < 0 || write(fd, buf, (size_t)len) != len || close(fd) < 0)
		die_errno("write %s", path);
}

static void take_state(struct up *u)
{
	static char journal[PATH_MAX];

	if (opt.journal)
		die("up: --journal or --new-state, not both");
	if (snprintf(journal, sizeof(journal), "%s/journal", opt.new_state) >= (int)sizeof(journal))
		die("--new-state '%s': too long", opt.new_state);
	if (take_dir(opt.trash, opt.new_state) < 0) {
		if (errno == EEXIST)
			die("name '%s' is in use", u->p.name);
		die_errno("make state directory %s", opt.new_state);
	}
	opt.journal = journal;
	die_hook = give_state_back;
	if (opt.owner)
		write_owner();
}

/* up --exec: INT, TERM and HUP wait (blocked) until the network is made; one
 * that came meanwhile undoes it all. PROG (forkn) inherits the mask, so one
 * that comes later waits for it, which relays it to the command. */
static sigset_t held_signals;

static void hold_signals(void)
{
	sigemptyset(&held_signals);
	sigaddset(&held_signals, SIGINT);
	sigaddset(&held_signals, SIGTERM);
	sigaddset(&held_signals, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &held_signals, NULL) < 0)
		die_errno("block INT, TERM and HUP");
}

/* A signal that came during the setup (or during the test pause,
 * UNSHARED_TEST_PAUSE=net: 3 s): all undone, the caller's 128+N. */
static void stopped_during_setup(const struct up *u)
{
	struct timespec pause = { 0, 0 };
	const char *tp = getenv("UNSHARED_TEST_PAUSE");
	int sig;

	if (tp && strcmp(tp, "net") == 0)
		pause.tv_sec = 3;
	do
		sig = sigtimedwait(&held_signals, NULL, &pause);
	while (sig < 0 && errno == EINTR);
	if (sig < 0)
		return;
	die_hook = NULL;
	rollback();
	warn_msg("%s: stopped during setup (SIG%s): undone", u->p.name,
		 sig == SIGINT ? "INT" : sig == SIGTERM ? "TERM" : "HUP");
	exit(128 + sig);
}

/* up --exec: the network is made (or being made: --netns-to); PROG takes
 * over, in the caller's directory, told the address through
 * UNSHARED_NSNET_ADDR. */
static void exec_next(struct up *u)
{
	int err;

	if (setenv("UNSHARED_NSNET_ADDR", u->cidr, 1) < 0)
		fail("setenv: %s", strerror(errno));
	if (opt.cwd >= 0 && fchdir(opt.cwd) < 0)
		fail("back to the caller's directory: %s", strerror(errno));
	/* our holds on the namespace must not outlive us into PROG */
	if (u->ns_fd >= 0)
		close(u->ns_fd);
	if (u->inner >= 0)
		close(u->inner);
	u->ns_fd = u->inner = -1;
	execv(opt.exec[0], opt.exec);
	err = errno;
	if (chdir("/") < 0)
		err = errno;
	fail("exec %s: %s", opt.exec[0], strerror(err));
}

/* --netns-to N: one end of a socket pair on N, whatever N was inherited as
 * (it is the next process's: forkn --keep-fd N, pivot --netns-from N), made
 * before any fd of ours could take N; the other end is make_behind's child's. */
static void netns_socket(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_errno("--netns-to %d: socketpair", opt.netns_to);
	if (sv[1] == opt.netns_to) {
		int w = fcntl(sv[1], F_DUPFD_CLOEXEC, opt.netns_to + 1);

		if (w < 0 || close(sv[1]) < 0)
			die_errno("--netns-to %d: move the socket", opt.netns_to);
		sv[1] = w;
	}
	/* dup2 leaves N without FD_CLOEXEC: it survives the exec of PROG */
	if (sv[0] == opt.netns_to ? fcntl(sv[0], F_SETFD, 0) < 0
				  : dup2(sv[0], opt.netns_to) < 0 || close(sv[0]) < 0)
		die_errno("--netns-to %d", opt.netns_to);
	netns_w = sv[1];
}

/* the namespace, made: 'y' with its descriptor */
static void send_netns(const struct up *u)
{
	struct fd_msg f;
	struct msghdr *m = fd_msg_init(&f, 'y');
	struct cmsghdr *h = CMSG_FIRSTHDR(m);

	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &u->ns_fd, sizeof(int));
	/* no reader left (pivot is gone): the supervisor ends it all */
	if (sendmsg(netns_w, m, MSG_NOSIGNAL) != 1)
		die_errno("--netns-to %d: send the namespace", opt.netns_to);
}

/* A new process starts on its parent's CPU and waits there until a balancer
 * moves it (measured here: up to 1 ms, the time this CPU is busy with the
 * exec chain); sent to another CPU we may use, it starts at once. Best effort:
 * with one CPU, or none other allowed, it runs where the kernel puts it. */
static void run_elsewhere(pid_t pid)
{
	cpu_set_t set;
	int self = sched_getcpu();

	if (self < 0 || sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	CPU_CLR(self, &set);
	if (CPU_COUNT(&set) > 0 && sched_setaffinity(pid, sizeof(set), &set) < 0)
		return; /* where it is, then */
}

/* up --netns-to: the namespace, the veth and the inside (about 1 ms of the
 * kernel's work here) are made by a child while this process becomes PROG
 * (forkn, whose child becomes pivot and sets the root up meanwhile, on the
 * other CPU); pivot joins the namespace it is sent before the command runs.
 * The child journals as up does; on a failure it says why and sends a NUL
 * instead (util.h's exec notification), and the supervisor's cleanup undoes
 * the journal. The supervisor, a subreaper, reaps the child, and kills it if
 * the command ends first. */
static void make_behind(struct up *u)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("network of '%s': fork: %s", u->p.name, strerror(errno));
	if (pid == 0) {
		up_now = NULL; /* nothing to roll back here: the journal is the cleanup's */
		die_hook = NULL;
		exec_notify_fd = netns_w;
		if (close(opt.netns_to) < 0)
			die_errno("--netns-to %d: close", opt.netns_to);
		netns_make(u);
		veth_make(u);
		inside(u);
		send_netns(u);
		_exit(0);
	}
	behind = pid;
	run_elsewhere(pid);
	if (close(netns_w) < 0)
		fail("--netns-to %d: close the socket: %s", opt.netns_to, strerror(errno));
	netns_w = -1;
}

static int cmd_up(int argc, char **argv)
{
	static struct up u = { .lock = -1, .ns_fd = -1, .inner = -1, .gen_mode = -1 };
	char veth[16];

	plan_args(&u.p, argc, argv, "up");
#ifdef FUZZ_PARSE_ONLY
	return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
	if (opt.netns_to >= 0 && !opt.exec)
		die("up: --netns-to needs --exec");
	if (opt.exec)
		hold_signals();
	if (opt.new_state)
		take_state(&u);
	if (!opt.net_dir || !opt.journal)
		die("up: needs --net-dir and --journal (or --new-state)");
	if (!opt.veth) {
		snprintf(veth, sizeof(veth), "uc%d", (int)getpid());
		opt.veth = veth;
	}
	if (!valid_ifname(opt.veth) || strlen(opt.veth) > IFNAMSIZ - 4)
		die("--veth '%s': an interface name of at most %d bytes", opt.veth, IFNAMSIZ - 4);
	jr.fd = open(opt.journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (jr.fd < 0)
		die_errno("open the journal %s", opt.journal);
	jr.start = lseek(jr.fd, 0, SEEK_END);
	if (jr.start < 0)
		die_errno("journal %s", opt.journal);
	/* a reader gone (the front end killed) makes the print fail, and up
	 * roll back, rather than die of SIGPIPE halfway */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die_errno("ignore SIGPIPE");
	nl_open(&u.host);
	up_now = &u;
	locked_part(&u);
	if (opt.netns_to >= 0) {
		stopped_during_setup(&u);
		make_behind(&u);
		exec_next(&u);
	}
	netns_make(&u);
	veth_make(&u);
	inside(&u);
	if (opt.exec) {
		stopped_during_setup(&u);
		exec_next(&u);
	}
	if (printf("%s\n", u.cidr) < 0 || fflush(stdout) == EOF)
		fail("write the address: %s", strerror(errno));
	return 0;
}

/* a journal line of a kind nsnet does not undo (hook, shape, part...) */
static bool foreign_line(const char *l)
{
	size_t n = strcspn(l, " ");

	if (n == 0)
		return false;
	return !((n == 5 && strncmp(l, "netns", 5) == 0) || (n == 4 && strncmp(l, "veth", 4) == 0) ||
		 (n == 5 && strncmp(l, "lease", 5) == 0));
}

/* the network entries of FILE, bottom-up (the order of a teardown). With
 * OTHERWISE (PROG ARG...): a journal that holds other entries too (`net
 * partition` and `net set` add theirs to a running instance's) is not
 * nsnet's alone to undo: PROG, the full teardown, is exec'd instead. */
static int down_journal(struct down *d, const char *file, char **otherwise)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0;
	char *text, **lines;
	size_t len, n = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return undo_fail(d, "open %s: %s", file, strerror(errno));
	}
	text = read_all(fd, &len, file);
	close(fd);
	lines = calloc(len / 2 + 2, sizeof(*lines));
	if (!lines)
		die("out of memory");
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break; /* a line being written when its writer died: nothing was acquired for it */
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	for (size_t i = 0; otherwise && otherwise[0] && i < n; i++)
		if (foreign_line(lines[i])) {
			execv(otherwise[0], otherwise);
			die_errno("exec %s", otherwise[0]);
		}
	while (n > 0)
		if (undo_line(d, lines[--n]) < 0)
			rc = 1;
	if (undo_held(d) < 0)
		rc = 1;
	free(lines);
	free(text);
	return rc;
}

static int cmd_down(int argc, char **argv)
{
	struct down d = { .nl = { .fd = -1 }, .quiet = opt.quiet };
	int rc = 0;

	if (opt.journal) {
		if (argc && argv[0][0] != '/')
			die("down: --journal FILE [PROG ARG...] (PROG an absolute path), or ENTRY...");
#ifdef FUZZ_PARSE_ONLY
		return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
		return down_journal(&d, opt.journal, argc ? argv : NULL);
	}
	if (!argc)
		die("down: expected ENTRY... or --journal FILE (see nsnet --help)");
#ifdef FUZZ_PARSE_ONLY
	return 0; /* make fuzz: the arguments are parsed, nothing is done */
#endif
	for (int i = 0; i < argc; i++)
		if (undo_line(&d, argv[i]) < 0)
			rc = 1;
	if (undo_held(&d) < 0)
		rc = 1;
	return rc;
}

/* ---- main ------------------------------------------------------------------ */

static void absolute(const char *what, const char *path)
{
	if (path && path[0] != '/')
		die("%s '%s': must be an absolute path", what, path);
}

/* options, in any order after the verb, until the first other word */
static int parse_opts(int argc, char **argv, int i)
{
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		int left = argc - i - 1;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strcmp(a, "--quiet") == 0) {
			opt.quiet = true;
			continue;
		}
		if (strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (strcmp(a, "--labels") == 0 && left >= 2) {
			opt.lbl_bridge = argv[++i];
			opt.lbl_addr = argv[++i];
			continue;
		}
		if (left < 1)
			die("%s: unknown option or missing value (see nsnet --help)", a);
		if (strcmp(a, "--net-dir") == 0)
			opt.net_dir = argv[++i];
		else if (strcmp(a, "--journal") == 0)
			opt.journal = argv[++i];
		else if (strcmp(a, "--new-state") == 0)
			opt.new_state = argv[++i];
		else if (strcmp(a, "--owner") == 0)
			opt.owner = argv[++i];
		else if (strcmp(a, "--trash") == 0)
			opt.trash = argv[++i];
		else if (strcmp(a, "--veth") == 0)
			opt.veth = argv[++i];
		else if (strcmp(a, "--as") == 0)
			helper_name = argv[++i];
		else if (strcmp(a, "--netns-to") == 0)
			opt.netns_to = fd_option(a, argv[++i]);
		else
			die("%s: unknown option (see nsnet --help)", a);
	}
	return i;
}

int main(int argc, char **argv)
{
	const char *verb;
	int i;

	helper_name = "nsnet";
	if (argc < 2)
		die("expected check, up or down (see nsnet --help)");
	verb = argv[1];
	if (strcmp(verb, "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	i = parse_opts(argc, argv, 2);
	absolute("--net-dir", opt.net_dir);
	absolute("--journal", opt.journal);
	absolute("--new-state", opt.new_state);
	absolute("--trash", opt.trash);
	if (opt.owner && !opt.new_state)
		die("--owner needs --new-state");
	if (opt.trash && !opt.new_state)
		die("--trash needs --new-state");
	umask(022);
	if (opt.netns_to >= 0 && strcmp(verb, "up") != 0)
		die("--netns-to: up only");
	if (opt.netns_to >= 0)
		netns_socket();
	/* up --exec runs PROG where we were called */
	if (strcmp(verb, "up") == 0)
		opt.cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* never pin a mount the caller may want to unmount */
	if (chdir("/") < 0)
		die_errno("chdir /");
	if (strcmp(verb, "check") == 0)
		return cmd_check(argc - i, argv + i);
	if (strcmp(verb, "up") == 0)
		return cmd_up(argc - i, argv + i);
	if (strcmp(verb, "down") == 0)
		return cmd_down(argc - i, argv + i);
	die("%s: expected check, up or down (see nsnet --help)", verb);
}
