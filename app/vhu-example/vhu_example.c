/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-example-backend: lib/vhost-user driven by a small epoll loop. It
 * serves one or more vhost-user sockets, completes negotiation with any
 * front-end, and prints each protocol event as a JSON line on stdout
 * (rings started and enabled, features, RARP, MTU, disconnects). It moves
 * no packets: it is the protocol library's demonstration and test peer.
 *
 * Follows the spec's back-end program conventions: --socket-path,
 * --fd, --print-capabilities, no daemonizing, quick exit on SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vhu.h"

#define MAX_PORTS	16

struct port {
	struct vhu_dev *dev;
	unsigned int id;
};

static struct port ports[MAX_PORTS];
static unsigned int nports;
static int epfd = -1;

/* epoll data: port id in the high half, fd in the low half. */
static uint64_t
ev_key(const struct port *p, int fd)
{
	return (uint64_t)p->id << 32 | (uint32_t)fd;
}

static int
on_watch(struct vhu_dev *dev, int fd, uint32_t events)
{
	struct port *p = vhu_dev_opaque(dev);
	struct epoll_event ev = { .data.u64 = ev_key(p, fd) };

	if (events == 0)
		return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	ev.events = ((events & VHU_EV_IN) ? EPOLLIN : 0) |
		    ((events & VHU_EV_OUT) ? EPOLLOUT : 0);
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
emit(struct vhu_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
emit(struct vhu_dev *dev, const char *fmt, ...)
{
	va_list ap;

	printf("{\"port\":\"%s\",", vhu_dev_name(dev));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("}\n");
	fflush(stdout);
}

static void
on_connected(struct vhu_dev *dev)
{
	emit(dev, "\"event\":\"connected\"");
}

static void
on_disconnected(struct vhu_dev *dev)
{
	emit(dev, "\"event\":\"disconnected\"");
}

static void
on_vring_state(struct vhu_dev *dev, uint16_t idx, enum vhu_ring_state st)
{
	static const char *const names[] = { "stopped", "disabled", "enabled" };
	struct vhu_vring *vr = vhu_dev_vring(dev, idx);

	emit(dev, "\"event\":\"vring\",\"ring\":%u,\"state\":\"%s\","
	     "\"size\":%u,\"packed\":%s", idx, names[st], vr->size,
	     vr->packed ? "true" : "false");
}

static void
on_features(struct vhu_dev *dev, uint64_t f)
{
	emit(dev, "\"event\":\"features\",\"features\":\"0x%llx\","
	     "\"protocol_features\":\"0x%llx\"", (unsigned long long)f,
	     (unsigned long long)vhu_dev_protocol_features(dev));
}

static void
on_rarp(struct vhu_dev *dev, const uint8_t m[6])
{
	emit(dev, "\"event\":\"rarp\",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\"",
	     m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int
on_mtu(struct vhu_dev *dev, uint16_t mtu)
{
	emit(dev, "\"event\":\"mtu\",\"mtu\":%u", mtu);
	return 0;
}

static void
on_status(struct vhu_dev *dev, uint8_t status)
{
	emit(dev, "\"event\":\"status\",\"status\":%u", status);
}

static const struct vhu_dev_ops example_ops = {
	.watch = on_watch,
	.connected = on_connected,
	.disconnected = on_disconnected,
	.vring_state = on_vring_state,
	.features_changed = on_features,
	.send_rarp = on_rarp,
	.set_mtu = on_mtu,
	.status_changed = on_status,
};

/* What the example offers: enough for any front-end to negotiate. */
#define EXAMPLE_FEATURES \
	(VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_F_RING_PACKED) | \
	 VHU_BIT(VHU_F_LOG_ALL) | VHU_BIT(VHU_NET_F_MQ) | \
	 VHU_BIT(VHU_NET_F_MTU) | VHU_BIT(VHU_NET_F_STATUS))

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --socket-path=PATH [--socket-path=PATH ...] "
		"[--client] [--queues=N]\n"
		"       %s --fd=FDNUM [--queues=N]\n"
		"       %s --print-capabilities\n", prog, prog, prog);
}

static void
print_capabilities(void)
{
	printf("{\n  \"type\": \"net\",\n  \"features\": []\n}\n");
}

struct options {
	const char *paths[MAX_PORTS];
	unsigned int npaths;
	int fd;
	bool client;
	unsigned int queues;
	bool debug;
};

static int
parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "client", no_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'q' },
		{ "print-capabilities", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->queues = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (o->npaths == MAX_PORTS)
				return -E2BIG;
			o->paths[o->npaths++] = optarg;
			break;
		case 'f':
			o->fd = atoi(optarg);
			break;
		case 'c':
			o->client = true;
			break;
		case 'q':
			o->queues = (unsigned int)atoi(optarg);
			break;
		case 'p':
			print_capabilities();
			exit(0);
		case 'd':
			o->debug = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if ((o->npaths > 0) == (o->fd >= 0) || o->queues == 0 ||
	    o->queues > VHU_MAX_QUEUE_PAIRS)
		return -EINVAL;
	return 0;
}

static int
add_port(const struct options *o, const char *path)
{
	struct port *p = &ports[nports];
	struct vhu_dev_params params = {
		.mode = path == NULL ? VHU_MODE_FD :
			o->client ? VHU_MODE_CLIENT : VHU_MODE_SERVER,
		.path = path,
		.fd = o->fd,
		.features = EXAMPLE_FEATURES,
		.max_queue_pairs = (uint16_t)o->queues,
		.mac = { 0x52, 0x54, 0x00, 0x00, 0x00, (uint8_t)(nports + 1) },
		.ops = &example_ops,
		.opaque = p,
	};
	int rc;

	p->id = nports;
	p->dev = vhu_dev_create(&params);
	if (p->dev == NULL)
		return -errno;
	rc = vhu_dev_start(p->dev);
	if (rc < 0) {
		vhu_dev_destroy(p->dev);
		return rc;
	}
	nports++;
	return 0;
}

static int
next_timeout(void)
{
	int t = -1;
	unsigned int i;

	for (i = 0; i < nports; i++) {
		int d = vhu_dev_next_timeout_ms(ports[i].dev);

		if (d >= 0 && (t < 0 || d < t))
			t = d;
	}
	return t;
}

static void
run(int sigfd)
{
	struct epoll_event evs[32];
	unsigned int i;
	int n, k;

	for (;;) {
		n = epoll_wait(epfd, evs, 32, next_timeout());
		if (n < 0 && errno != EINTR)
			return;
		for (k = 0; k < n; k++) {
			uint64_t key = evs[k].data.u64;
			uint32_t e = evs[k].events, ve = 0;

			if (key == UINT64_MAX)
				return;	/* SIGTERM or SIGINT */
			ve |= (e & EPOLLIN) ? VHU_EV_IN : 0;
			ve |= (e & EPOLLOUT) ? VHU_EV_OUT : 0;
			ve |= (e & (EPOLLERR | EPOLLHUP)) ? VHU_EV_ERR : 0;
			if ((key >> 32) < nports)
				vhu_dev_handle_event(ports[key >> 32].dev,
						     (int)(uint32_t)key, ve);
		}
		for (i = 0; i < nports; i++)
			if (vhu_dev_next_timeout_ms(ports[i].dev) == 0)
				vhu_dev_handle_timeout(ports[i].dev);
	}
	(void)sigfd;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	struct options o;
	sigset_t set;
	unsigned int i;
	int sigfd, rc;

	if (parse(argc, argv, &o) < 0) {
		usage(argv[0]);
		return 2;
	}
	if (o.debug)
		vhu_set_log_level(VHU_LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev)) {
		perror("vhu-example-backend: setup");
		return 1;
	}
	for (i = 0; i < (o.npaths > 0 ? o.npaths : 1); i++) {
		rc = add_port(&o, o.npaths > 0 ? o.paths[i] : NULL);
		if (rc < 0) {
			fprintf(stderr, "vhu-example-backend: %s: %s\n",
				o.npaths > 0 ? o.paths[i] : "--fd",
				strerror(-rc));
			return 1;
		}
	}
	printf("{\"event\":\"ready\",\"ports\":%u}\n", nports);
	fflush(stdout);
	run(sigfd);
	for (i = 0; i < nports; i++)
		vhu_dev_destroy(ports[i].dev);
	printf("{\"event\":\"exit\"}\n");
	return 0;
}
