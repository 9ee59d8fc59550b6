/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connection layer: framing across partial reads (with the fds that
 * come with a message's first byte), replies queued behind a full socket
 * and flushed in order when it drains, the queue limit, end of file, and
 * the three ways a device gets its socket: listening on a path (one
 * front-end at a time), connecting to one with exponential back-off, and
 * a pre-opened fd. Paths live in a private directory under /tmp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define HDR_SIZE	((uint32_t)sizeof(struct vhu_hdr))

/* The private directory for socket paths, made per test. */
static char tmp_dir[64];
static char path_buf[160];

static const char *
tmp_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", tmp_dir, name);
	return path_buf;
}

static int
dir_setup(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/vhu-sock-XXXXXX");
	return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int
dir_teardown(void **state)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;
	char p[384];

	(void)state;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmp_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(tmp_dir);
}

/* Log lines captured while a test listens to the library. */
static char log_lines[16][512];
static unsigned int log_n;

static void
capture_log(enum vhu_log_level level, const char *line)
{
	(void)level;
	if (log_n < 16)
		snprintf(log_lines[log_n++], sizeof(log_lines[0]), "%s", line);
}

static bool
logged(const char *needle)
{
	unsigned int i;

	for (i = 0; i < log_n; i++)
		if (strstr(log_lines[i], needle) != NULL)
			return true;
	return false;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Write raw bytes, with fds on the first of them if nfds > 0; all must go. */
static void
send_raw(int sock, const void *buf, size_t len, const int *fds,
	 unsigned int nfds)
{
	assert_int_equal(fe_sendmsg(sock, buf, len, fds, nfds), (ssize_t)len);
}

/* Lay out one message (header and payload) at buf; returns its length. */
static size_t
build_msg(uint8_t *buf, uint32_t req, uint32_t flags, const void *payload,
	  uint32_t size)
{
	struct vhu_hdr h = { .request = req, .flags = flags, .size = size };

	memcpy(buf, &h, sizeof(h));
	if (size > 0)
		memcpy(buf + sizeof(h), payload, size);
	return sizeof(h) + size;
}

/* A byte stream read back, with where each fd arrived in it. */
struct rx_stream {
	uint8_t *buf;
	size_t cap;
	size_t got;
	int fds[4];
	size_t fd_off[4];	/* the read that brought the fd began here */
	size_t fd_end[4];	/* ... and ended here */
	unsigned int nfds;
};

/* Read everything the peer has written so far, keeping its fds. */
static void
drain(int sock, struct rx_stream *rx)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct cmsghdr *cm;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	while (rx->got < rx->cap) {
		iov.iov_base = rx->buf + rx->got;
		iov.iov_len = rx->cap - rx->got;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = sizeof(ctrl.buf);
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		     cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k, nf = (cm->cmsg_len - CMSG_LEN(0)) /
				       sizeof(int);

			for (k = 0; k < nf; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int),
				       sizeof(fd));
				assert_true(rx->nfds < 4);
				rx->fds[rx->nfds] = fd;
				rx->fd_off[rx->nfds] = rx->got;
				rx->fd_end[rx->nfds++] = rx->got + (size_t)n;
			}
		}
		rx->got += (size_t)n;
	}
}

static int
unix_socket(const char *path, bool do_listen)
{
	struct sockaddr_un un;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (do_listen) {
		assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)),
				 0);
		assert_int_equal(listen(fd, 4), 0);
	} else if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
unix_connect(const char *path)
{
	return unix_socket(path, false);
}

static int
unix_listen(const char *path)
{
	return unix_socket(path, true);
}

/*
 * A struct fe around a device the test made itself (server, client or
 * fd mode), so the harness's callbacks record into it. The sockets are
 * filled in once a connection exists.
 */
static struct fe *
wrap_dev(const struct vhu_dev_params *p)
{
	struct fe *fe = calloc(1, sizeof(*fe));

	assert_non_null(fe);
	fe->params = *p;
	fe->params.ops = &fe_ops;
	fe->params.opaque = fe;
	fe->sock = -1;
	fe->dev_sock = -1;
	fe->dev = vhu_dev_create(&fe->params);
	assert_non_null(fe->dev);
	return fe;
}

static void
unwrap_dev(struct fe *fe)
{
	vhu_dev_destroy(fe->dev);
	if (fe->sock >= 0)
		close(fe->sock);
	free(fe);
}

static void
path_params(struct vhu_dev_params *p, enum vhu_mode mode, const char *path)
{
	fe_default_params(p);
	p->mode = mode;
	p->path = path;
	p->fd = -1;
}

/* The one fd the device watches other than except (its connection). */
static int
watched_other(const struct fe *fe, int except)
{
	unsigned int i;

	for (i = 0; i < fe->nwatch; i++)
		if (fe->watch_fd[i] != except)
			return fe->watch_fd[i];
	return -1;
}

static struct fe *
connected_fe(void)
{
	return fe_new_negotiated(VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
				 VHU_BIT(VHU_F_VERSION_1),
				 VHU_BIT(VHU_PF_REPLY_ACK) |
				 VHU_BIT(VHU_PF_MQ));
}

static void
partial_header_and_payload(void **state)
{
	struct fe *fe = connected_fe();
	uint64_t offered = vhu_dev_features_offered(fe->dev);
	uint64_t feat = VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
			VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_NET_F_MTU);
	uint8_t buf[64];
	struct vhu_msg m;
	size_t len;

	(void)state;
	/* A header in two pieces: nothing happens until it is whole. */
	len = build_msg(buf, VHU_REQ_GET_FEATURES, VHU_VERSION, NULL, 0);
	send_raw(fe->sock, buf, 5, NULL, 0);
	fe_pump(fe);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	send_raw(fe->sock, buf + 5, len - 5, NULL, 0);
	fe_pump(fe);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_GET_FEATURES);
	assert_int_equal(m.payload.u64, offered);
	assert_true(fe_no_reply(fe));

	/* Header in two pieces, then the payload in two more. */
	len = build_msg(buf, VHU_REQ_SET_FEATURES,
			VHU_VERSION | VHU_FLAG_NEED_REPLY, &feat, sizeof(feat));
	send_raw(fe->sock, buf, 5, NULL, 0);
	fe_pump(fe);
	send_raw(fe->sock, buf + 5, 7, NULL, 0);
	fe_pump(fe);
	assert_true(fe_no_reply(fe));
	send_raw(fe->sock, buf + 12, 3, NULL, 0);
	fe_pump(fe);
	assert_true(fe_no_reply(fe));
	assert_int_not_equal(vhu_dev_features(fe->dev), feat);
	send_raw(fe->sock, buf + 15, len - 15, NULL, 0);
	fe_pump(fe);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_SET_FEATURES);
	assert_int_equal(m.hdr.size, 8);
	assert_int_equal(m.payload.u64, 0);
	assert_int_equal(vhu_dev_features(fe->dev), feat);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_SIZE), 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

/* SCM_RIGHTS ride on the first byte; the message must keep them. */
static void
fds_with_first_byte(void **state)
{
	struct fe *fe = connected_fe();
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t v = 0, cnt = 0;
	uint8_t buf[64];
	struct vhu_msg m;
	size_t len;

	(void)state;
	assert_true(efd >= 0);
	len = build_msg(buf, VHU_REQ_SET_VRING_CALL,
			VHU_VERSION | VHU_FLAG_NEED_REPLY, &v, sizeof(v));
	send_raw(fe->sock, buf, 1, &efd, 1);
	fe_pump(fe);
	assert_true(fe_no_reply(fe));
	send_raw(fe->sock, buf + 1, 10, NULL, 0);
	fe_pump(fe);
	send_raw(fe->sock, buf + 11, len - 11, NULL, 0);
	fe_pump(fe);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_SET_VRING_CALL);
	assert_int_equal(m.payload.u64, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FDS), 0);
	assert_true(vhu_dev_connected(fe->dev));
	/* The call fd the device kept is ours: a call reaches our eventfd. */
	assert_true(vhu_dev_vring(fe->dev, 0)->call_fd >= 0);
	assert_int_equal(vhu_vring_call(vhu_dev_vring(fe->dev, 0)), 0);
	assert_int_equal(read(efd, &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 1);
	close(efd);
	fe_free(fe);
}

static void
several_messages_one_write(void **state)
{
	static const uint32_t reqs[] = {
		VHU_REQ_GET_FEATURES, VHU_REQ_GET_PROTOCOL_FEATURES,
		VHU_REQ_GET_QUEUE_NUM, VHU_REQ_SET_OWNER,
		VHU_REQ_GET_FEATURES,
	};
	struct fe *fe = connected_fe();
	uint8_t buf[256];
	struct vhu_msg m;
	size_t len = 0, i;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		len += build_msg(buf + len, reqs[i],
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0);
	send_raw(fe->sock, buf, len, NULL, 0);
	/* One readiness event handles all of them. */
	fe_pump(fe);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		assert_int_equal(fe_recv(fe, &m), 1);
		assert_int_equal(m.hdr.request, reqs[i]);
		assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
		assert_int_equal(m.hdr.size, 8);
	}
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

/*
 * More messages in one write than the device handles per readiness
 * event: the rest wait in the socket for the next event (the loop is
 * level-triggered), none is lost or cut.
 */
static void
many_messages_one_write(void **state)
{
	enum { N = 150 };
	struct fe *fe = connected_fe();
	uint8_t *buf = malloc(N * HDR_SIZE);
	struct vhu_msg m;
	size_t len = 0;
	int i, events, got = 0;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < N; i++)
		len += build_msg(buf + len, i % 2 ? VHU_REQ_GET_FEATURES :
				 VHU_REQ_GET_QUEUE_NUM, VHU_VERSION, NULL, 0);
	send_raw(fe->sock, buf, len, NULL, 0);
	for (events = 0; events < N && got < N; events++) {
		fe_pump(fe);
		while (fe_recv(fe, &m) == 1) {
			assert_int_equal(m.hdr.request,
					 got % 2 ? VHU_REQ_GET_FEATURES :
					 VHU_REQ_GET_QUEUE_NUM);
			got++;
		}
	}
	assert_int_equal(got, N);
	print_message("# %d messages took %d events\n", N, events);
	assert_true(vhu_dev_connected(fe->dev));
	free(buf);
	fe_free(fe);
}

/* What a request of the rotation below must be answered with. */
static uint64_t
expected_answer(struct fe *fe, uint32_t req)
{
	switch (req) {
	case VHU_REQ_GET_FEATURES:
		return vhu_dev_features_offered(fe->dev);
	case VHU_REQ_GET_PROTOCOL_FEATURES:
		return vhu_dev_protocol_features_offered(fe->dev);
	default:
		return fe->params.max_queue_pairs;
	}
}

/*
 * The device's socket buffer is made tiny and the front-end stops
 * reading: replies queue up, the device asks for VHU_EV_OUT, and once
 * the front-end reads again everything arrives whole and in order,
 * including a reply that carries an fd (GET_INFLIGHT_FD) in the middle.
 */
static void
queued_replies_flush_in_order(void **state)
{
	static const uint32_t rotation[] = {
		VHU_REQ_GET_FEATURES, VHU_REQ_GET_FEATURES,
		VHU_REQ_GET_PROTOCOL_FEATURES, VHU_REQ_GET_FEATURES,
		VHU_REQ_GET_QUEUE_NUM,
	};
	enum { NREQ = 400, FD_AT = 200 };
	struct vhu_inflight_desc inf = { .num_queues = 2, .queue_size = 64 };
	const uint32_t isz = (uint32_t)sizeof(inf);
	struct fe *fe = fe_new();
	struct rx_stream rx = { .nfds = 0 };
	size_t expect = (NREQ - 1) * (HDR_SIZE + 8) + HDR_SIZE + isz, off;
	int base, small = 1, i, rounds;
	struct stat st;

	(void)state;
	assert_non_null(fe);
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1),
		     VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_INFLIGHT_SHMFD));
	rx.cap = expect + 64;
	rx.buf = malloc(rx.cap);
	assert_non_null(rx.buf);
	base = fe_count_fds();
	assert_int_equal(setsockopt(fe->dev_sock, SOL_SOCKET, SO_SNDBUF,
				    &small, sizeof(small)), 0);
	assert_false(fe_watched(fe, fe->dev_sock, VHU_EV_OUT));
	for (i = 0; i < NREQ; i++) {
		if (i == FD_AT)
			fe_send(fe, VHU_REQ_GET_INFLIGHT_FD, VHU_VERSION, &inf,
				isz, NULL, 0);
		else
			fe_send(fe, rotation[i % 5], VHU_VERSION, NULL, 0,
				NULL, 0);
	}
	assert_true(vhu_dev_connected(fe->dev));
	assert_true(fe_watched(fe, fe->dev_sock, VHU_EV_IN | VHU_EV_OUT));

	for (rounds = 0; rounds < 10000; rounds++) {
		drain(fe->sock, &rx);
		if (!fe_watched(fe, fe->dev_sock, VHU_EV_OUT))
			break;
		vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_OUT);
	}
	drain(fe->sock, &rx);
	/* Everything went out; the device no longer wants VHU_EV_OUT. */
	assert_false(fe_watched(fe, fe->dev_sock, VHU_EV_OUT));
	assert_true(fe_watched(fe, fe->dev_sock, VHU_EV_IN));
	assert_int_equal(rx.got, expect);
	for (i = 0, off = 0; i < NREQ; i++) {
		struct vhu_hdr h;
		uint64_t v;

		memcpy(&h, rx.buf + off, sizeof(h));
		assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
		if (i == FD_AT) {
			struct vhu_inflight_desc got;

			assert_int_equal(h.request, VHU_REQ_GET_INFLIGHT_FD);
			assert_int_equal(h.size, isz);
			memcpy(&got, rx.buf + off + HDR_SIZE, sizeof(got));
			assert_int_equal(got.mmap_size, 2 *
					 vhu_inflight_queue_size(true, 64));
			/*
			 * Its one fd came with its first byte (the kernel may
			 * glue earlier bytes without fds to that read).
			 */
			assert_int_equal(rx.nfds, 1);
			assert_true(rx.fd_off[0] <= off);
			assert_true(off < rx.fd_end[0]);
			assert_int_equal(fstat(rx.fds[0], &st), 0);
			assert_true((uint64_t)st.st_size >= got.mmap_size);
			off += HDR_SIZE + isz;
			continue;
		}
		memcpy(&v, rx.buf + off + HDR_SIZE, sizeof(v));
		assert_int_equal(h.request, rotation[i % 5]);
		assert_int_equal(h.size, 8);
		assert_int_equal(v, expected_answer(fe, h.request));
		off += HDR_SIZE + 8;
	}
	/*
	 * The copy the queue held was closed once sent: what is left is the
	 * fd we received and the one the device keeps for the area.
	 */
	assert_int_equal(fe_count_fds(), base + 2);
	close(rx.fds[0]);
	/* The channel still works normally afterwards. */
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));
	assert_true(vhu_dev_connected(fe->dev));
	free(rx.buf);
	fe_free(fe);
}

/* A front-end that never reads is cut off once 64 KiB wait for it. */
static void
stuck_reader_disconnected(void **state)
{
	struct fe *fe = connected_fe();
	int small = 1, i;

	(void)state;
	assert_int_equal(setsockopt(fe->dev_sock, SOL_SOCKET, SO_SNDBUF,
				    &small, sizeof(small)), 0);
	for (i = 0; i < 10000 && vhu_dev_connected(fe->dev); i++)
		fe_send(fe, VHU_REQ_GET_FEATURES, VHU_VERSION, NULL, 0, NULL,
			0);
	assert_false(vhu_dev_connected(fe->dev));
	/* Not before the queue held 64 KiB of 20-byte replies. */
	assert_true(i > 64 * 1024 / 20);
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_IO), 1);
	assert_int_equal(fe->nwatch, 0);
	fe_free(fe);
}

/*
 * The front-end goes away in the middle of a session that holds memory,
 * ring fds, a log fd and a back-end channel: every one of them is closed.
 */
static void
eof_closes_session(void **state)
{
	int base = fe_count_fds();
	struct fe *fe = fe_new();
	struct fe_ring ring;
	int efd, sv[2], kick;

	(void)state;
	assert_non_null(fe);
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1),
		     VHU_BIT(VHU_PF_REPLY_ACK) | VHU_BIT(VHU_PF_BACKEND_REQ) |
		     VHU_BIT(VHU_PF_LOG_SHMFD));
	assert_non_null(fe_add_region(fe, 0, 1 << 20));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	fe_ring_layout(&ring, 0x1000, 256, false);
	fe_ring_setup(fe, 0, &ring, 0, 0, 0);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, kick,
				     true), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 0, efd,
				     true), 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_ERR, 0, efd, true),
			 0);
	fe_send(fe, VHU_REQ_SET_LOG_FD, VHU_VERSION, NULL, 0, &efd, 1);
	close(efd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	fe_send(fe, VHU_REQ_SET_BACKEND_REQ_FD, VHU_VERSION, NULL, 0, &sv[1],
		1);
	close(sv[1]);
	fe_kick(fe, kick);
	close(kick);
	/* A message cut short with an fd on its first byte, then EOF. */
	efd = eventfd(0, EFD_CLOEXEC);
	send_raw(fe->sock, &(uint32_t){ VHU_REQ_SET_VRING_CALL }, 4, &efd, 1);
	close(efd);
	fe_pump(fe);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 0)),
			 VHU_RING_DISABLED);
	assert_true(vhu_backend_channel_open(fe->dev));
	assert_true(vhu_dev_connected(fe->dev));

	close(fe->sock);
	fe->sock = -1;
	vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_IN);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe->connected, 1);
	assert_false(vhu_backend_channel_open(fe->dev));
	assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 0)),
			 VHU_RING_STOPPED);
	/* No watches left and the quiesce/resume pairs balanced. */
	assert_int_equal(fe->nwatch, 0);
	assert_int_equal(fe->quiesce, fe->resume);
	/* An end of file is not a violation. */
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_IO), 0);
	/*
	 * Left open: the memfds the front-end keeps and our end of the
	 * back-end channel. Of the device only its notify fd is left; it
	 * lives as long as the device does.
	 */
	assert_int_equal(fe_count_fds(), base + (int)fe->nmem + 1 + 1);
	close(sv[0]);
	fe_free(fe);
	assert_int_equal(fe_count_fds(), base);
}

static void
server_mode(void **state)
{
	struct vhu_dev_params p;
	const char *path = tmp_path("server.sock");
	char spath[160];
	struct stat st;
	struct fe *fe;
	int lfd, c1, c2, c3, conn;

	(void)state;
	snprintf(spath, sizeof(spath), "%s", path);
	path_params(&p, VHU_MODE_SERVER, spath);
	fe = wrap_dev(&p);
	assert_int_equal(vhu_dev_start(fe->dev), 0);
	assert_int_equal(vhu_dev_start(fe->dev), -EALREADY);
	assert_int_equal(stat(spath, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->nwatch, 1);
	lfd = fe->watch_fd[0];
	assert_true(fe_watched(fe, lfd, VHU_EV_IN));
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);

	/* The first front-end is accepted. */
	c1 = unix_connect(spath);
	assert_true(c1 >= 0);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 1);
	conn = watched_other(fe, lfd);
	assert_true(conn >= 0);
	assert_true(fe_watched(fe, conn, VHU_EV_IN));
	fe->sock = c1;
	fe->dev_sock = conn;
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));

	/* A second one while the first lives is closed at once. */
	c2 = unix_connect(spath);
	assert_true(c2 >= 0);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	assert_true(fe_closed_on(c2));
	close(c2);
	assert_int_equal(fe->connected, 1);
	assert_int_equal(fe->disconnected, 0);
	assert_int_equal(vhu_dev_connections(fe->dev), 1);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES),
			 vhu_dev_protocol_features_offered(fe->dev));

	/*
	 * The first goes away without the device noticing yet: the next
	 * front-end replaces the dead connection.
	 */
	close(c1);
	fe->sock = -1;
	c3 = unix_connect(spath);
	assert_true(c3 >= 0);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe->connected, 2);
	assert_int_equal(vhu_dev_connections(fe->dev), 2);
	assert_true(vhu_dev_connected(fe->dev));
	fe->sock = c3;
	fe->dev_sock = watched_other(fe, lfd);
	assert_true(fe->dev_sock >= 0);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));
	/* Server mode never schedules a reconnect. */
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);

	/* Destroy removes the socket file. */
	unwrap_dev(fe);
	assert_int_equal(stat(spath, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/*
 * A new front-end after the old one left starts from scratch: nothing
 * negotiated, rings split and stopped, as on the first connection.
 */
static void
server_new_session_starts_fresh(void **state)
{
	struct vhu_dev_params p;
	char spath[160];
	struct fe *fe;
	unsigned int i;
	int lfd, c;

	(void)state;
	snprintf(spath, sizeof(spath), "%s", tmp_path("fresh.sock"));
	path_params(&p, VHU_MODE_SERVER, spath);
	fe = wrap_dev(&p);
	assert_int_equal(vhu_dev_start(fe->dev), 0);
	lfd = fe->watch_fd[0];
	c = unix_connect(spath);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	fe->sock = c;
	fe->dev_sock = watched_other(fe, lfd);
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_F_RING_PACKED) |
		     VHU_BIT(VHU_F_LOG_ALL),
		     VHU_BIT(VHU_PF_REPLY_ACK) | VHU_BIT(VHU_PF_STATUS));
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS,
				    VHU_STATUS_FEATURES_OK, true), 0);
	assert_true(vhu_dev_vring(fe->dev, 0)->packed);
	close(c);
	fe->sock = -1;
	vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_IN);
	assert_int_equal(fe->disconnected, 1);

	c = unix_connect(spath);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	assert_true(vhu_dev_connected(fe->dev));
	fe->sock = c;
	fe->dev_sock = watched_other(fe, lfd);
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	assert_int_equal(vhu_dev_protocol_features(fe->dev), 0);
	assert_int_equal(vhu_dev_status(fe->dev), 0);
	assert_int_equal(vhu_dev_dp(fe->dev)->features, 0);
	assert_false(vhu_dev_dp(fe->dev)->log_all);
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++) {
		struct vhu_vring *vr = vhu_dev_vring(fe->dev, i);

		assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
		assert_false(vr->packed);
	}
	/* Before SET_FEATURES a ring base is a split one: 16 bits. */
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, 0x18005, false);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_VALUE), 1);
	assert_false(vhu_dev_connected(fe->dev));
	unwrap_dev(fe);
}

static void
server_stale_socket_replaced(void **state)
{
	struct vhu_dev_params p;
	const char *path = tmp_path("stale.sock");
	char spath[160];
	struct stat st;
	struct fe *fe;
	int fd, c;

	(void)state;
	snprintf(spath, sizeof(spath), "%s", path);
	/* A socket file left behind by a listener that is gone. */
	fd = unix_listen(spath);
	close(fd);
	assert_int_equal(stat(spath, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	path_params(&p, VHU_MODE_SERVER, spath);
	fe = wrap_dev(&p);
	assert_int_equal(vhu_dev_start(fe->dev), 0);
	c = unix_connect(spath);
	assert_true(c >= 0);
	vhu_dev_handle_event(fe->dev, fe->watch_fd[0], VHU_EV_IN);
	assert_true(vhu_dev_connected(fe->dev));
	close(c);
	unwrap_dev(fe);
	assert_int_equal(stat(spath, &st), -1);
}

static void
server_path_in_use(void **state)
{
	struct vhu_dev_params p;
	char spath[160], fpath[160];
	struct stat st;
	struct fe *fe;
	int fd, lfd;

	(void)state;
	/* A regular file is not ours to remove. */
	snprintf(fpath, sizeof(fpath), "%s", tmp_path("regular"));
	fd = open(fpath, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	path_params(&p, VHU_MODE_SERVER, fpath);
	fe = wrap_dev(&p);
	assert_true(vhu_dev_start(fe->dev) < 0);
	assert_false(vhu_dev_connected(fe->dev));
	unwrap_dev(fe);
	assert_int_equal(stat(fpath, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* Somebody listens there: EADDRINUSE, and their socket stays. */
	snprintf(spath, sizeof(spath), "%s", tmp_path("live.sock"));
	lfd = unix_listen(spath);
	path_params(&p, VHU_MODE_SERVER, spath);
	fe = wrap_dev(&p);
	assert_int_equal(vhu_dev_start(fe->dev), -EADDRINUSE);
	assert_int_equal(fe->nwatch, 0);
	unwrap_dev(fe);
	assert_int_equal(stat(spath, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	/* The listener still works. */
	fd = unix_connect(spath);
	assert_true(fd >= 0);
	close(fd);
	close(lfd);
}

static volatile sig_atomic_t alarm_fired;

static void
on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;
}

/* A non-blocking connect to un: 0, or -errno. */
static int
try_connect(const struct sockaddr_un *un, int *fd)
{
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(*fd >= 0);
	return connect(*fd, (const struct sockaddr *)un, sizeof(*un)) == 0 ?
	       0 : -errno;
}

/*
 * Probing whether a socket file is stale never blocks: a live listener
 * whose backlog is full (it does not accept) makes a blocking connect
 * wait forever. Server mode on its path answers -EADDRINUSE at once (an
 * alarm interrupts the call if it blocks), and the socket stays.
 */
static void
stale_probe_never_blocks(void **state)
{
	struct sigaction sa, old_sa;
	struct vhu_dev_params p;
	struct timespec t0, t1;
	struct sockaddr_un un;
	struct stat st;
	struct fe *fe;
	int lfd, c[8], n, rc, i;
	long ms;

	(void)state;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_true(snprintf(un.sun_path, sizeof(un.sun_path), "%s",
			     tmp_path("full.sock")) < (int)sizeof(un.sun_path));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	/* Fill the backlog: connect without accepting until EAGAIN. */
	for (n = 0; n < 8; n++) {
		rc = try_connect(&un, &c[n]);
		if (rc == -EAGAIN)
			break;
		assert_int_equal(rc, 0);
	}
	assert_true(n < 8);
	close(c[n]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: connect returns */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
	alarm_fired = 0;
	path_params(&p, VHU_MODE_SERVER, un.sun_path);
	fe = wrap_dev(&p);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	alarm(5);
	rc = vhu_dev_start(fe->dev);
	alarm(0);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	assert_int_equal(sigaction(SIGALRM, &old_sa, NULL), 0);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (alarm_fired) {
		unwrap_dev(fe);
		fail_msg("vhu_dev_start blocked until the alarm (%ld ms)", ms);
	}
	assert_true(ms < 1000);
	assert_int_equal(rc, -EADDRINUSE);
	assert_int_equal(fe->nwatch, 0);
	unwrap_dev(fe);
	/* Their socket is still there. */
	assert_int_equal(stat(un.sun_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	for (i = 0; i < n; i++)
		close(c[i]);
	close(lfd);
}

/* Wait until the device's timer is due, then let it run. */
static void
run_timer(struct fe *fe)
{
	int ms = vhu_dev_next_timeout_ms(fe->dev);

	assert_true(ms >= 0);
	sleep_ms(ms + 1);
	vhu_dev_handle_timeout(fe->dev);
}

/*
 * The timer is due in about expect ms: not later, and (allowing for a
 * loaded machine) more than half of it, which tells a doubled delay
 * from the one before.
 */
static void
assert_timeout_near(struct fe *fe, int expect)
{
	int ms = vhu_dev_next_timeout_ms(fe->dev);

	print_message("# next timeout %d ms, expected %d\n", ms, expect);
	assert_true(ms <= expect);
	assert_true(ms > expect / 2);
}

static void
client_mode_backoff(void **state)
{
	struct vhu_dev_params p;
	char spath[160];
	struct fe *fe;
	int lfd, c;

	(void)state;
	snprintf(spath, sizeof(spath), "%s", tmp_path("client.sock"));
	path_params(&p, VHU_MODE_CLIENT, spath);
	p.reconnect_min_ms = 20;
	p.reconnect_max_ms = 80;
	fe = wrap_dev(&p);
	/* Nobody listens: starting still succeeds, a retry is scheduled. */
	assert_int_equal(vhu_dev_start(fe->dev), 0);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 0);
	assert_timeout_near(fe, 20);
	/* Too early: nothing happens. */
	vhu_dev_handle_timeout(fe->dev);
	assert_false(vhu_dev_connected(fe->dev));

	run_timer(fe);
	assert_false(vhu_dev_connected(fe->dev));
	assert_timeout_near(fe, 40);
	run_timer(fe);
	assert_timeout_near(fe, 80);
	run_timer(fe);
	/* Capped at the maximum. */
	assert_timeout_near(fe, 80);
	assert_int_equal(fe->connected, 0);

	/* Now somebody listens: the next attempt connects. */
	lfd = unix_listen(spath);
	run_timer(fe);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 1);
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	fe->sock = c;
	fe->dev_sock = fe->watch_fd[0];
	assert_int_equal(fe->nwatch, 1);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));

	/* The front-end goes away: retry from the minimum delay. */
	close(c);
	fe->sock = -1;
	vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_IN);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	assert_timeout_near(fe, 20);
	run_timer(fe);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 2);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	close(c);
	close(lfd);
	unwrap_dev(fe);
}

/* A listening socket passed as fd: the device behaves as a server. */
static void
fd_mode_listening(void **state)
{
	struct vhu_dev_params p;
	char spath[160];
	struct fe *fe;
	int lfd, c1, c2;

	(void)state;
	snprintf(spath, sizeof(spath), "%s", tmp_path("fd-listen.sock"));
	lfd = unix_listen(spath);
	fe_default_params(&p);
	p.fd = lfd;
	fe = wrap_dev(&p);
	assert_int_equal(vhu_dev_start(fe->dev), 0);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 0);
	assert_true(fe_watched(fe, lfd, VHU_EV_IN));

	c1 = unix_connect(spath);
	assert_true(c1 >= 0);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 1);
	fe->sock = c1;
	fe->dev_sock = watched_other(fe, lfd);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));
	c2 = unix_connect(spath);
	vhu_dev_handle_event(fe->dev, lfd, VHU_EV_IN);
	assert_true(fe_closed_on(c2));
	close(c2);
	assert_int_equal(fe->connected, 1);
	unwrap_dev(fe);
	/* The device owned the listening fd and closed it. */
	assert_int_equal(fcntl(lfd, F_GETFD), -1);
}

static void
fd_mode_connected(void **state)
{
	struct fe *fe = fe_new();

	(void)state;
	assert_non_null(fe);
	/* Adopted at start: connected, watched, answering. */
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 1);
	assert_true(fe_watched(fe, fe->dev_sock, VHU_EV_IN));
	assert_int_equal(vhu_dev_connections(fe->dev), 1);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));
	/* The end of an fd-mode connection is final. */
	close(fe->sock);
	fe->sock = -1;
	vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_IN);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	fe_free(fe);
}

static void
create_bad_params(void **state)
{
	struct vhu_dev_params p;
	struct vhu_dev *dev;
	char longpath[200];
	int sv[2];

	(void)state;
	fe_default_params(&p);
	p.fd = -1;
	errno = 0;
	assert_null(vhu_dev_create(&p));
	assert_int_equal(errno, EBADF);

	fe_default_params(&p);
	p.fd = 0;
	p.max_queue_pairs = 0;
	errno = 0;
	assert_null(vhu_dev_create(&p));
	assert_int_equal(errno, EINVAL);
	p.max_queue_pairs = VHU_MAX_QUEUE_PAIRS + 1;
	errno = 0;
	assert_null(vhu_dev_create(&p));
	assert_int_equal(errno, EINVAL);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	path_params(&p, VHU_MODE_SERVER, longpath);
	errno = 0;
	assert_null(vhu_dev_create(&p));
	assert_int_equal(errno, ENAMETOOLONG);
	path_params(&p, VHU_MODE_CLIENT, longpath);
	errno = 0;
	assert_null(vhu_dev_create(&p));
	assert_int_equal(errno, ENAMETOOLONG);

	/* The limits themselves are fine. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	fe_default_params(&p);
	p.fd = sv[1];
	p.max_queue_pairs = VHU_MAX_QUEUE_PAIRS;
	dev = vhu_dev_create(&p);
	assert_non_null(dev);
	assert_int_equal(vhu_dev_nr_vrings(dev), VHU_MAX_VRINGS);
	assert_non_null(vhu_dev_vring(dev, VHU_MAX_VRINGS - 1));
	assert_null(vhu_dev_vring(dev, VHU_MAX_VRINGS));
	vhu_dev_destroy(dev);
	close(sv[0]);
}

static void
app_disconnect_fd_mode(void **state)
{
	struct fe *fe = connected_fe();

	(void)state;
	log_n = 0;
	vhu_set_log_fn(capture_log);
	vhu_set_log_level(VHU_LOG_WARNING);
	vhu_dev_disconnect(fe->dev, "operator says so");
	vhu_set_log_fn(NULL);
	vhu_set_log_level(VHU_LOG_ERR);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	assert_true(fe_closed(fe));
	assert_true(logged("operator says so"));
	assert_int_equal(fe->nwatch, 0);
	/* A second call has nothing left to do. */
	vhu_dev_disconnect(fe->dev, "again");
	assert_int_equal(fe->disconnected, 1);
	fe_free(fe);
}

static void
app_disconnect_client_reconnects(void **state)
{
	struct vhu_dev_params p;
	char spath[160];
	struct fe *fe;
	int lfd, c;

	(void)state;
	snprintf(spath, sizeof(spath), "%s", tmp_path("reconnect.sock"));
	lfd = unix_listen(spath);
	path_params(&p, VHU_MODE_CLIENT, spath);
	p.reconnect_min_ms = 20;
	p.reconnect_max_ms = 80;
	fe = wrap_dev(&p);
	assert_int_equal(vhu_dev_start(fe->dev), 0);
	assert_true(vhu_dev_connected(fe->dev));
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);

	log_n = 0;
	vhu_set_log_fn(capture_log);
	vhu_set_log_level(VHU_LOG_WARNING);
	vhu_dev_disconnect(fe->dev, "hostile guest");
	vhu_set_log_fn(NULL);
	vhu_set_log_level(VHU_LOG_ERR);
	assert_true(logged("hostile guest"));
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	assert_true(fe_closed_on(c));
	close(c);
	assert_timeout_near(fe, 20);
	run_timer(fe);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->connected, 2);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	close(c);
	close(lfd);
	unwrap_dev(fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(partial_header_and_payload),
		cmocka_unit_test(fds_with_first_byte),
		cmocka_unit_test(several_messages_one_write),
		cmocka_unit_test(many_messages_one_write),
		cmocka_unit_test(queued_replies_flush_in_order),
		cmocka_unit_test(stuck_reader_disconnected),
		cmocka_unit_test(eof_closes_session),
		cmocka_unit_test_setup_teardown(server_mode, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(server_new_session_starts_fresh,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(server_stale_socket_replaced,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(server_path_in_use, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(stale_probe_never_blocks,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(client_mode_backoff, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(fd_mode_listening, dir_setup,
						dir_teardown),
		cmocka_unit_test(fd_mode_connected),
		cmocka_unit_test(create_bad_params),
		cmocka_unit_test(app_disconnect_fd_mode),
		cmocka_unit_test_setup_teardown(
			app_disconnect_client_reconnects, dir_setup,
			dir_teardown),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
