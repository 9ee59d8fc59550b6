/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target over lib/vhost-user's framing, parser and dispatcher.
 *
 * The input is a stream of records; each record is one write to the
 * device's socket:
 *	u8  ctrl	bits 0-1: fds to attach (0-3)
 *			bits 2-7: kind of each fd, two bits per fd:
 *			  0 memfd (64 KiB), 1 eventfd, 2 socket, 3 memfd 1 MiB
 *	u16 len		bytes of the write (little endian), clipped
 *	len bytes	raw stream bytes: headers and payloads as the fuzzer
 *			likes, so framing is fuzzed as well as messages
 * After each write the device handles its socket, every fd it watches
 * (kick fds, the back-end channel) and its timers; replies are drained
 * and any fds in them closed. At the end the device is destroyed and the
 * process must hold exactly the fds it held before: a leak aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <dirent.h>

#include "vhu.h"

#define MAX_WATCH	64

struct harness {
	struct vhu_dev *dev;
	int fe;
	int watch[MAX_WATCH];
	unsigned int nwatch;
	int extra[64];		/* fds we created to send, closed at the end */
	unsigned int nextra;
};

static int
on_watch(struct vhu_dev *dev, int fd, uint32_t events)
{
	struct harness *h = vhu_dev_opaque(dev);
	unsigned int i;

	for (i = 0; i < h->nwatch; i++) {
		if (h->watch[i] == fd) {
			if (events == 0)
				h->watch[i] = h->watch[--h->nwatch];
			return 0;
		}
	}
	if (events != 0 && h->nwatch < MAX_WATCH)
		h->watch[h->nwatch++] = fd;
	return 0;
}

/* The data path never runs here: rings are only set up and torn down. */
static const struct vhu_dev_ops ops = { .watch = on_watch };

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		abort();
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
make_fd(struct harness *h, unsigned int kind)
{
	int fd = -1, sv[2];

	switch (kind) {
	case 0:
	case 3:
		fd = memfd_create("fuzz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, kind == 0 ? 65536 : 1 << 20) < 0) {
			close(fd);
			fd = -1;
		}
		break;
	case 1:
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		break;
	case 2:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
			fd = sv[0];
			if (h->nextra < 64)
				h->extra[h->nextra++] = sv[1];
			else
				close(sv[1]);
		}
		break;
	}
	if (fd >= 0 && h->nextra < 64)
		h->extra[h->nextra++] = fd;
	else if (fd >= 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
send_record(struct harness *h, const uint8_t *buf, size_t len, uint8_t ctrl)
{
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} c;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int nfds = ctrl & 3, i, n = 0;
	int fds[3];

	for (i = 0; i < nfds; i++) {
		int fd = make_fd(h, (ctrl >> (2 + 2 * i)) & 3);

		if (fd >= 0)
			fds[n++] = fd;
	}
	if (n > 0) {
		struct cmsghdr *cm;

		memset(&c, 0, sizeof(c));
		mh.msg_control = c.b;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	if (len > 0)
		(void)sendmsg(h->fe, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Read and drop whatever the device answered, closing received fds. */
static void
drain(int fd)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} c;
	uint8_t buf[4096];

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = c.b,
				     .msg_controllen = sizeof(c.b) };
		struct cmsghdr *cm;

		if (recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			int *p = (int *)CMSG_DATA(cm);
			size_t k, n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (k = 0; k < n; k++)
				close(p[k]);
		}
	}
}

static void
pump(struct harness *h, int dev_fd)
{
	int fds[MAX_WATCH];
	unsigned int i, n = h->nwatch;

	/* Copy: handling an event may change the watch list. */
	memcpy(fds, h->watch, n * sizeof(int));
	for (i = 0; i < n; i++)
		vhu_dev_handle_event(h->dev, fds[i],
				     fds[i] == dev_fd ? VHU_EV_IN | VHU_EV_OUT :
				     VHU_EV_IN);
	vhu_dev_handle_timeout(h->dev);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lines are still formatted, then dropped: the fuzzer's output stays. */
static void
quiet(enum vhu_log_level level, const char *line)
{
	(void)level;
	(void)line;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (getenv("FUZZ_VERBOSE") == NULL)
		vhu_set_log_fn(quiet);
	vhu_set_log_level(VHU_LOG_DEBUG);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhu_dev_params p;
	struct harness h;
	int sv[2], before, after;
	unsigned int i;

	memset(&h, 0, sizeof(h));
	before = count_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	memset(&p, 0, sizeof(p));
	p.mode = VHU_MODE_FD;
	p.fd = sv[1];
	p.features = ~0ULL & ~VHU_BIT(VHU_F_PROTOCOL_FEATURES);
	/* Postcopy would let a fuzzed table block us on a missing page. */
	p.protocol_features = ~VHU_BIT(VHU_PF_PAGEFAULT);
	p.max_queue_pairs = 2;
	p.ops = &ops;
	p.opaque = &h;
	h.fe = sv[0];
	h.dev = vhu_dev_create(&p);
	if (h.dev == NULL || vhu_dev_start(h.dev) < 0)
		abort();
	while (size >= 3 && vhu_dev_connected(h.dev)) {
		uint8_t ctrl = data[0];
		size_t len = (size_t)data[1] | (size_t)data[2] << 8;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		send_record(&h, data, len, ctrl);
		data += len;
		size -= len;
		pump(&h, sv[1]);
		drain(h.fe);
	}
	vhu_dev_destroy(h.dev);
	close(h.fe);
	for (i = 0; i < h.nextra; i++)
		close(h.extra[i]);
	after = count_fds();
	if (after != before) {
		fprintf(stderr, "fd leak: %d open before, %d after\n", before,
			after);
		abort();
	}
	return 0;
}
