/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The message channel: vhost-user framing over a non-blocking unix
 * stream socket. Receives a header and its payload across as many reads
 * as it takes, collects SCM_RIGHTS fds (at most VHU_MAX_FDS), and queues
 * writes that the socket could not take at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhu_internal.h"

void
vhu_chan_init(struct vhu_chan *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->rx.nfds = 0;
}

int
vhu_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

bool
vhu_fd_is_event(int fd)
{
	char path[32], link[32];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return false;
	if (S_ISFIFO(st.st_mode))
		return true;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

void
vhu_close_fds(struct vhu_msg *msg)
{
	unsigned int i;

	for (i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

int
vhu_msg_take_fd(struct vhu_msg *msg, unsigned int i)
{
	int fd = msg->fds[i];

	msg->fds[i] = -1;
	return fd;
}

void
vhu_chan_rx_reset(struct vhu_chan *c)
{
	vhu_close_fds(&c->rx);
	c->rx_got = 0;
	memset(&c->rx.hdr, 0, sizeof(c->rx.hdr));
}

static void
txq_free(struct vhu_chan *c)
{
	struct vhu_txbuf *t, *next;
	unsigned int i;

	for (t = c->txq; t != NULL; t = next) {
		next = t->next;
		for (i = 0; i < t->nfds; i++)
			close(t->fds[i]);
		free(t);
	}
	c->txq = NULL;
	c->txq_bytes = 0;
}

void
vhu_watch(struct vhu_dev *dev, int fd, uint32_t events)
{
	if (fd >= 0 && dev->ops != NULL && dev->ops->watch != NULL)
		dev->ops->watch(dev, fd, events);
}

/* Watch for input always, and for output while a write is queued. */
void
vhu_chan_watch(struct vhu_dev *dev, struct vhu_chan *c)
{
	uint32_t ev = VHU_EV_IN | (c->txq != NULL ? VHU_EV_OUT : 0);

	if (c->fd < 0 || ev == c->watched)
		return;
	c->watched = ev;
	vhu_watch(dev, c->fd, ev);
}

void
vhu_chan_close(struct vhu_dev *dev, struct vhu_chan *c)
{
	if (c->fd >= 0) {
		if (c->watched != 0)
			vhu_watch(dev, c->fd, 0);
		close(c->fd);
	}
	vhu_chan_rx_reset(c);
	txq_free(c);
	c->fd = -1;
	c->watched = 0;
}

/* Move the fds of one SCM_RIGHTS control message into the rx message. */
static int
take_rights(struct vhu_chan *c, struct msghdr *mh, enum vhu_rule *rule)
{
	struct cmsghdr *cm;
	int err = 0;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n, i;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (c->rx.nfds < VHU_MAX_FDS) {
				c->rx.fds[c->rx.nfds++] = fd;
			} else {
				close(fd);
				err = -EPROTO;
			}
		}
	}
	if ((mh->msg_flags & MSG_CTRUNC) != 0)
		err = -EPROTO;
	if (err != 0)
		*rule = VHU_RULE_FDS;
	return err;
}

/* One recvmsg of at most want bytes into the rx buffer. */
static ssize_t
recv_some(struct vhu_chan *c, size_t want, enum vhu_rule *rule)
{
	/* Room for one fd more than allowed, to see a sender exceed it. */
	union {
		char buf[CMSG_SPACE((VHU_MAX_FDS + 1) * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	if (c->rx_got < sizeof(c->rx.hdr))
		iov.iov_base = (uint8_t *)&c->rx.hdr + c->rx_got;
	else
		iov.iov_base = (uint8_t *)&c->rx.payload +
			       (c->rx_got - sizeof(c->rx.hdr));
	iov.iov_len = want;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctrl.buf;
	mh.msg_controllen = sizeof(ctrl.buf);
	do {
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (take_rights(c, &mh, rule) < 0)
		return -EPROTO;
	if (n == 0)
		return -ECONNRESET;
	return n;
}

int
vhu_chan_recv(struct vhu_chan *c, enum vhu_rule *rule)
{
	const size_t hsz = sizeof(struct vhu_hdr);

	*rule = VHU_RULE_IO;
	for (;;) {
		size_t total = hsz;
		ssize_t n;

		if (c->rx_got >= hsz) {
			if ((c->rx.hdr.flags & VHU_VERSION_MASK) != VHU_VERSION) {
				*rule = VHU_RULE_VERSION;
				return -EPROTO;
			}
			if (c->rx.hdr.size > VHU_MAX_PAYLOAD) {
				*rule = VHU_RULE_SIZE;
				return -EPROTO;
			}
			total += c->rx.hdr.size;
		}
		if (c->rx_got == total && c->rx_got >= hsz)
			return 1;
		n = recv_some(c, total - c->rx_got, rule);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0)
			return (int)n;
		c->rx_got += (size_t)n;
	}
}

static int
send_fds(int fd, const uint8_t *data, size_t len, const int *fds,
	 unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)data, .iov_len = len };
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (int)n;
}

static int
queue_tail(struct vhu_chan *c, const uint8_t *data, size_t len,
	   const int *fds, unsigned int nfds)
{
	struct vhu_txbuf *t, **tail;
	unsigned int i;

	if (c->txq_bytes + len > VHU_TXQ_LIMIT)
		return -ENOBUFS;
	t = malloc(sizeof(*t) + len);
	if (t == NULL)
		return -ENOMEM;
	t->next = NULL;
	t->len = len;
	t->off = 0;
	t->nfds = 0;
	memcpy(t->data, data, len);
	for (i = 0; i < nfds; i++) {
		t->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (t->fds[i] < 0) {
			int err = -errno;

			while (i-- > 0)
				close(t->fds[i]);
			free(t);
			return err;
		}
		t->nfds++;
	}
	for (tail = &c->txq; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = t;
	c->txq_bytes += len;
	return 0;
}

int
vhu_chan_send(struct vhu_dev *dev, struct vhu_chan *c,
	      const struct vhu_hdr *hdr, const void *payload,
	      const int *fds, unsigned int nfds)
{
	uint8_t buf[sizeof(struct vhu_hdr) + VHU_MAX_PAYLOAD];
	size_t len = sizeof(*hdr) + hdr->size;
	int n = 0, rc;

	if (c->fd < 0)
		return -ENOTCONN;
	if (hdr->size > VHU_MAX_PAYLOAD || nfds > VHU_MAX_FDS)
		return -EINVAL;
	memcpy(buf, hdr, sizeof(*hdr));
	if (hdr->size > 0)
		memcpy(buf + sizeof(*hdr), payload, hdr->size);
	if (c->txq == NULL) {
		n = send_fds(c->fd, buf, len, fds, nfds);
		if (n < 0 && n != -EAGAIN && n != -EWOULDBLOCK)
			return n;
		if (n == (int)len)
			return 0;
		if (n > 0) {
			/* The fds went with the first byte. */
			fds = NULL;
			nfds = 0;
		} else {
			n = 0;
		}
	}
	rc = queue_tail(c, buf + n, len - (size_t)n, fds, nfds);
	if (rc == 0)
		vhu_chan_watch(dev, c);
	return rc;
}

int
vhu_chan_flush(struct vhu_dev *dev, struct vhu_chan *c)
{
	while (c->txq != NULL) {
		struct vhu_txbuf *t = c->txq;
		unsigned int i;
		int n;

		n = send_fds(c->fd, t->data + t->off, t->len - t->off,
			     t->fds, t->nfds);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			break;
		if (n < 0)
			return n;
		for (i = 0; i < t->nfds; i++)
			close(t->fds[i]);
		t->nfds = 0;
		t->off += (size_t)n;
		c->txq_bytes -= (size_t)n;
		if (t->off < t->len)
			break;
		c->txq = t->next;
		free(t);
	}
	vhu_chan_watch(dev, c);
	return 0;
}
