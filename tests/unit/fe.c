/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scripted front-end for unit tests; see fe.h. The helpers that check
 * as they go use cmocka's assertions, so they fail the calling test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <cmocka.h>

#include "fe.h"

/* The most fds fe_sendmsg puts on one message (tests send more than 8). */
#define FE_SEND_FDS	16

static struct fe *
fe_of(struct vhu_dev *dev)
{
	return vhu_dev_opaque(dev);
}

static int
on_watch(struct vhu_dev *dev, int fd, uint32_t events)
{
	struct fe *fe = fe_of(dev);
	unsigned int i;

	/* Not a protocol fd: tests look at it through fe_pump_notify(). */
	if (fd == vhu_dev_notify_fd(dev)) {
		fe->notify_ev = events;
		return 0;
	}
	for (i = 0; i < fe->nwatch; i++) {
		if (fe->watch_fd[i] != fd)
			continue;
		if (events == 0) {
			fe->watch_fd[i] = fe->watch_fd[fe->nwatch - 1];
			fe->watch_ev[i] = fe->watch_ev[fe->nwatch - 1];
			fe->nwatch--;
		} else {
			fe->watch_ev[i] = events;
		}
		return 0;
	}
	if (events != 0 && fe->nwatch < FE_MAX_WATCH) {
		fe->watch_fd[fe->nwatch] = fd;
		fe->watch_ev[fe->nwatch++] = events;
	}
	return 0;
}

static void
on_connected(struct vhu_dev *dev)
{
	fe_of(dev)->connected++;
}

static void
on_disconnected(struct vhu_dev *dev)
{
	fe_of(dev)->disconnected++;
}

static void
on_quiesce(struct vhu_dev *dev)
{
	fe_of(dev)->quiesce++;
	fe_of(dev)->in_quiesce = true;
}

static void
on_resume(struct vhu_dev *dev)
{
	fe_of(dev)->resume++;
	fe_of(dev)->in_quiesce = false;
}

static void
on_vring_state(struct vhu_dev *dev, uint16_t idx, enum vhu_ring_state st)
{
	struct fe *fe = fe_of(dev);

	fe->state[idx] = st;
	fe->state_changes++;
}

static void
on_features(struct vhu_dev *dev, uint64_t f)
{
	fe_of(dev)->features_cb = f;
	fe_of(dev)->features_calls++;
}

static void
on_rarp(struct vhu_dev *dev, const uint8_t mac[6])
{
	memcpy(fe_of(dev)->rarp_mac, mac, 6);
	fe_of(dev)->rarp_calls++;
}

static int
on_mtu(struct vhu_dev *dev, uint16_t mtu)
{
	fe_of(dev)->mtu_cb = mtu;
	return fe_of(dev)->mtu_result;
}

static void
on_config(struct vhu_dev *dev)
{
	fe_of(dev)->config_calls++;
}

static void
on_status(struct vhu_dev *dev, uint8_t st)
{
	fe_of(dev)->status_cb = st;
}

static void
on_inflight(struct vhu_dev *dev, uint16_t idx)
{
	(void)idx;
	fe_of(dev)->inflight_ready++;
}

const struct vhu_dev_ops fe_ops = {
	.watch = on_watch,
	.connected = on_connected,
	.disconnected = on_disconnected,
	.quiesce = on_quiesce,
	.resume = on_resume,
	.vring_state = on_vring_state,
	.features_changed = on_features,
	.send_rarp = on_rarp,
	.set_mtu = on_mtu,
	.config_changed = on_config,
	.status_changed = on_status,
	.inflight_ready = on_inflight,
};

void
fe_default_params(struct vhu_dev_params *p)
{
	memset(p, 0, sizeof(*p));
	p->name = "test";
	p->mode = VHU_MODE_FD;
	p->fd = -1;
	p->features = VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_F_RING_PACKED) |
		      VHU_BIT(VHU_F_RING_EVENT_IDX) | VHU_BIT(VHU_F_LOG_ALL) |
		      VHU_BIT(VHU_F_ACCESS_PLATFORM) |
		      VHU_BIT(VHU_NET_F_MQ) | VHU_BIT(VHU_NET_F_MTU) |
		      VHU_BIT(VHU_NET_F_MRG_RXBUF) | VHU_BIT(VHU_NET_F_STATUS);
	p->max_queue_pairs = 2;
	p->mac[0] = 0x52;
	p->mac[1] = 0x54;
	p->mac[5] = 0x01;
	p->mtu = 1500;
	p->backend_timeout_ms = 200;
	p->ops = &fe_ops;
}

struct fe *
fe_new_params(const struct vhu_dev_params *p)
{
	struct fe *fe = calloc(1, sizeof(*fe));
	int sv[2];

	if (fe == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				     sv) < 0) {
		free(fe);
		return NULL;
	}
	fe->sock = sv[0];
	fe->dev_sock = sv[1];
	fe->params = *p;
	fe->params.fd = sv[1];
	fe->params.opaque = fe;
	if (fe->params.ops == NULL)
		fe->params.ops = &fe_ops;
	fe->dev = vhu_dev_create(&fe->params);
	if (fe->dev == NULL || vhu_dev_start(fe->dev) < 0) {
		close(sv[0]);
		close(sv[1]);
		free(fe);
		return NULL;
	}
	return fe;
}

struct fe *
fe_new_ops(const struct vhu_dev_ops *ops)
{
	struct vhu_dev_params p;

	fe_default_params(&p);
	p.ops = ops;
	return fe_new_params(&p);
}

struct fe *
fe_new(void)
{
	struct vhu_dev_params p;

	fe_default_params(&p);
	return fe_new_params(&p);
}

struct fe *
fe_new_negotiated(uint64_t features, uint64_t proto)
{
	struct fe *fe = fe_new();

	assert_non_null(fe);
	fe_negotiate(fe, features, proto);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_features(fe->dev), features);
	assert_int_equal(vhu_dev_protocol_features(fe->dev), proto);
	return fe;
}

void
fe_free(struct fe *fe)
{
	unsigned int i;

	if (fe == NULL)
		return;
	vhu_dev_destroy(fe->dev);
	close(fe->sock);
	for (i = 0; i < fe->nmem; i++) {
		munmap(fe->mem[i].va, fe->mem[i].size);
		close(fe->mem[i].fd);
	}
	free(fe);
}

void
fe_pump_notify(struct fe *fe)
{
	if (fe->notify_ev != 0)
		vhu_dev_handle_event(fe->dev, vhu_dev_notify_fd(fe->dev),
				     VHU_EV_IN);
}

void
fe_pump(struct fe *fe)
{
	if (vhu_dev_connected(fe->dev))
		vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_IN);
}

ssize_t
fe_sendmsg(int sock, const void *buf, size_t len, const int *fds,
	   unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(FE_SEND_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
			     .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > FE_SEND_FDS)
		return -EINVAL;
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
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

int
fe_write(struct fe *fe, uint32_t req, uint32_t flags, const void *payload,
	 uint32_t size, const int *fds, unsigned int nfds)
{
	struct vhu_hdr hdr = { .request = req, .flags = flags, .size = size };
	size_t len = sizeof(hdr) + size;
	uint8_t *buf = malloc(len);
	ssize_t n;

	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, &hdr, sizeof(hdr));
	if (size > 0)
		memcpy(buf + sizeof(hdr), payload, size);
	n = fe_sendmsg(fe->sock, buf, len, fds, nfds);
	free(buf);
	return n < 0 ? (int)n : 0;
}

int
fe_send(struct fe *fe, uint32_t req, uint32_t flags, const void *payload,
	uint32_t size, const int *fds, unsigned int nfds)
{
	int rc = fe_write(fe, req, flags, payload, size, fds, nfds);

	if (rc == 0)
		fe_pump(fe);
	return rc;
}

int
fe_recv_on(int sock, struct vhu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = &msg->hdr,
			     .iov_len = sizeof(msg->hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctrl.buf,
			     .msg_controllen = sizeof(ctrl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	memset(msg, 0, sizeof(*msg));
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	if (n != (ssize_t)sizeof(msg->hdr))
		return -EPROTO;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		msg->nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(msg->fds, CMSG_DATA(cm), msg->nfds * sizeof(int));
	}
	if (msg->hdr.size > VHU_MAX_PAYLOAD)
		return -EPROTO;
	if (msg->hdr.size > 0 &&
	    recv(sock, &msg->payload, msg->hdr.size, MSG_DONTWAIT) !=
	    (ssize_t)msg->hdr.size)
		return -EPROTO;
	return 1;
}

int
fe_recv(struct fe *fe, struct vhu_msg *msg)
{
	return fe_recv_on(fe->sock, msg);
}

int64_t
fe_read_ack(struct fe *fe, uint32_t req)
{
	struct vhu_msg m;

	if (fe_recv(fe, &m) != 1)
		return -1;
	assert_int_equal(m.hdr.request, req);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, sizeof(uint64_t));
	assert_int_equal(m.nfds, 0);
	return (int64_t)m.payload.u64;
}

uint64_t
fe_get_u64(struct fe *fe, uint32_t req)
{
	struct vhu_msg m;

	if (fe_send(fe, req, VHU_VERSION, NULL, 0, NULL, 0) < 0 ||
	    fe_recv(fe, &m) != 1 || m.hdr.request != req ||
	    m.hdr.size != sizeof(uint64_t) ||
	    (m.hdr.flags & VHU_FLAG_REPLY) == 0)
		return UINT64_MAX;
	return m.payload.u64;
}

static int64_t
ack_of(struct fe *fe, uint32_t req, bool need_reply)
{
	struct vhu_msg m;

	if (!need_reply)
		return -1;
	if (fe_recv(fe, &m) != 1 || m.hdr.request != req ||
	    m.hdr.size != sizeof(uint64_t))
		return -2;
	return (int64_t)m.payload.u64;
}

int64_t
fe_set_u64(struct fe *fe, uint32_t req, uint64_t v, bool need_reply)
{
	uint32_t fl = VHU_VERSION | (need_reply ? VHU_FLAG_NEED_REPLY : 0);

	fe_send(fe, req, fl, &v, sizeof(v), NULL, 0);
	return ack_of(fe, req, need_reply);
}

int64_t
fe_set_state(struct fe *fe, uint32_t req, uint32_t idx, uint32_t num,
	     bool need_reply)
{
	struct vhu_vring_state s = { .index = idx, .num = num };
	uint32_t fl = VHU_VERSION | (need_reply ? VHU_FLAG_NEED_REPLY : 0);

	fe_send(fe, req, fl, &s, sizeof(s), NULL, 0);
	return ack_of(fe, req, need_reply);
}

bool
fe_closed_on(int sock)
{
	char c[64];
	ssize_t n;

	/* Drain what was sent first; the close comes after it. */
	for (;;) {
		n = recv(sock, c, sizeof(c), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
	}
}

bool
fe_closed(struct fe *fe)
{
	return fe_closed_on(fe->sock);
}

bool
fe_idle_on(int sock)
{
	char c;

	return recv(sock, &c, 1, MSG_DONTWAIT | MSG_PEEK) < 0 &&
	       errno == EAGAIN;
}

bool
fe_no_reply(struct fe *fe)
{
	return fe_idle_on(fe->sock);
}

void
fe_assert_violation(struct fe *fe, enum vhu_rule rule)
{
	unsigned int r;

	for (r = 0; r < VHU_RULE_MAX; r++)
		assert_int_equal(vhu_dev_violations(fe->dev, r),
				 r == (unsigned int)rule ? 1 : 0);
	assert_int_equal(vhu_dev_last_violation(fe->dev), rule);
	assert_true(fe_closed(fe));
	assert_false(vhu_dev_connected(fe->dev));
}

void
fe_negotiate(struct fe *fe, uint64_t features, uint64_t proto)
{
	(void)fe_get_u64(fe, VHU_REQ_GET_FEATURES);
	if ((features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) != 0) {
		(void)fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
		fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, proto, false);
	}
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, features, false);
}

int
fe_memfd(size_t size, uint8_t **va)
{
	int fd = memfd_create("fe-mem", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	*va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*va == MAP_FAILED) {
		close(fd);
		return -1;
	}
	return fd;
}

int
fe_memfd_sized(uint64_t size)
{
	int fd = memfd_create("fe-mem", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* The filesystem type of dir (statfs f_type), 0 if it cannot be told. */
static unsigned long
fs_type(const char *dir)
{
	struct statfs fs;

	return statfs(dir, &fs) == 0 ? (unsigned long)fs.f_type : 0;
}

/* A new unlinked file of size bytes in dir, or -1. */
static int
new_file_in(const char *dir, uint64_t size)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/fe-file-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
fe_disk_file(uint64_t size)
{
	static const char *const dirs[] = { "/tmp", "/var/tmp" };
	unsigned int i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		unsigned long t = fs_type(dirs[i]);

		if (t != 0 && t != TMPFS_MAGIC && t != HUGETLBFS_MAGIC)
			return new_file_in(dirs[i], size);
	}
	return -1;
}

int
fe_shm_file(uint64_t size)
{
	if (fs_type("/dev/shm") != TMPFS_MAGIC)
		return -1;
	return new_file_in("/dev/shm", size);
}

const struct vhu_mem *
fe_mem(struct fe *fe)
{
	return vhu_dev_dp(fe->dev)->mem;
}

struct fe_region *
fe_add_region(struct fe *fe, uint64_t gpa, uint64_t size)
{
	struct fe_region *r;

	if (fe->nmem == FE_MEM_REGIONS)
		return NULL;
	r = &fe->mem[fe->nmem];
	r->fd = fe_memfd(size, &r->va);
	if (r->fd < 0)
		return NULL;
	r->gpa = gpa;
	r->size = size;
	r->offset = 0;
	fe->nmem++;
	return r;
}

int64_t
fe_send_mem_table(struct fe *fe, bool need_reply)
{
	struct vhu_mem_table t;
	int fds[FE_MEM_REGIONS];
	unsigned int i;
	uint32_t fl = VHU_VERSION | (need_reply ? VHU_FLAG_NEED_REPLY : 0);

	memset(&t, 0, sizeof(t));
	t.nregions = fe->nmem;
	for (i = 0; i < fe->nmem; i++) {
		t.regions[i].guest_phys_addr = fe->mem[i].gpa;
		t.regions[i].memory_size = fe->mem[i].size;
		t.regions[i].userspace_addr = (uint64_t)(uintptr_t)fe->mem[i].va;
		t.regions[i].mmap_offset = fe->mem[i].offset;
		fds[i] = fe->mem[i].fd;
	}
	fe_send(fe, VHU_REQ_SET_MEM_TABLE, fl, &t,
		(uint32_t)(offsetof(struct vhu_mem_table, regions) +
			   fe->nmem * sizeof(t.regions[0])), fds, fe->nmem);
	return ack_of(fe, VHU_REQ_SET_MEM_TABLE, need_reply);
}

void
fe_treg_desc(struct vhu_mem_region_desc *d, const struct fe_treg *r)
{
	d->guest_phys_addr = r->gpa;
	d->memory_size = r->size;
	d->userspace_addr = r->uva;
	d->mmap_offset = r->off;
}

void
fe_send_tregs_raw(struct fe *fe, uint32_t nregions, const struct fe_treg *r,
		  uint32_t ndesc, const int *fds, unsigned int nfds,
		  uint32_t flags)
{
	struct vhu_mem_table t;
	uint32_t i;

	assert_true(ndesc <= VHU_MEM_TABLE_REGIONS);
	memset(&t, 0, sizeof(t));
	t.nregions = nregions;
	for (i = 0; i < ndesc; i++)
		fe_treg_desc(&t.regions[i], &r[i]);
	assert_int_equal(fe_send(fe, VHU_REQ_SET_MEM_TABLE, flags, &t,
				 (uint32_t)(offsetof(struct vhu_mem_table,
						     regions) +
					    ndesc * sizeof(t.regions[0])),
				 fds, nfds), 0);
}

void
fe_send_tregs(struct fe *fe, const struct fe_treg *r, uint32_t n,
	      uint32_t flags)
{
	int fds[VHU_MEM_TABLE_REGIONS];
	uint32_t i;

	assert_true(n <= VHU_MEM_TABLE_REGIONS);
	for (i = 0; i < n; i++)
		fds[i] = r[i].fd;
	fe_send_tregs_raw(fe, n, r, n, fds, n, flags);
}

uint8_t *
fe_ptr(struct fe *fe, uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < fe->nmem; i++)
		if (gpa >= fe->mem[i].gpa &&
		    gpa - fe->mem[i].gpa < fe->mem[i].size)
			return fe->mem[i].va + (gpa - fe->mem[i].gpa);
	return NULL;
}

uint64_t
fe_uva(struct fe *fe, uint64_t gpa)
{
	uint8_t *p = fe_ptr(fe, gpa);

	return p != NULL ? (uint64_t)(uintptr_t)p : 0;
}

void
fe_ring_layout(struct fe_ring *r, uint64_t gpa, uint16_t size, bool packed)
{
	r->size = size;
	r->desc = gpa;
	if (packed) {
		r->avail = gpa + 16u * size;
		r->used = r->avail + 64;
	} else {
		r->avail = gpa + 16u * size;
		r->used = (r->avail + 6 + 2u * size + 4095) & ~4095ULL;
	}
}

int
fe_vring_addr(struct fe *fe, uint32_t idx, uint32_t flags, uint64_t desc,
	      uint64_t avail, uint64_t used, uint64_t log)
{
	struct vhu_vring_addr a = {
		.index = idx,
		.flags = flags,
		.desc_user_addr = desc,
		.used_user_addr = used,
		.avail_user_addr = avail,
		.log_guest_addr = log,
	};

	return fe_send(fe, VHU_REQ_SET_VRING_ADDR, VHU_VERSION, &a, sizeof(a),
		       NULL, 0);
}

void
fe_ring_setup(struct fe *fe, uint32_t idx, const struct fe_ring *r,
	      uint32_t base, uint32_t flags, uint64_t log_addr)
{
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, idx, r->size, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, idx, base, false);
	fe_vring_addr(fe, idx, flags, fe_uva(fe, r->desc),
		      fe_uva(fe, r->avail), fe_uva(fe, r->used), log_addr);
}

int64_t
fe_vring_fd(struct fe *fe, uint32_t req, uint32_t idx, int fd,
	    bool need_reply)
{
	uint64_t v = idx | (fd < 0 ? VHU_VRING_NOFD_MASK : 0);
	uint32_t fl = VHU_VERSION | (need_reply ? VHU_FLAG_NEED_REPLY : 0);

	fe_send(fe, req, fl, &v, sizeof(v), &fd, fd < 0 ? 0 : 1);
	return ack_of(fe, req, need_reply);
}

void
fe_kick(struct fe *fe, int kickfd)
{
	uint64_t one = 1;
	unsigned int i;

	if (write(kickfd, &one, sizeof(one)) != sizeof(one))
		return;
	/* The device watches its own copy of the fd: find it by position. */
	for (i = 0; i < fe->nwatch; i++)
		if (fe->watch_fd[i] != fe->dev_sock)
			vhu_dev_handle_event(fe->dev, fe->watch_fd[i],
					     VHU_EV_IN);
}

bool
fe_watched(const struct fe *fe, int fd, uint32_t events)
{
	unsigned int i;

	for (i = 0; i < fe->nwatch; i++)
		if (fe->watch_fd[i] == fd)
			return (fe->watch_ev[i] & events) == events;
	return false;
}

void
fe_bchan_open(struct fe *fe, struct fe_bchan *b)
{
	int sv[2], before[FE_MAX_WATCH];
	unsigned int n = fe->nwatch, i, j;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	memcpy(before, fe->watch_fd, n * sizeof(int));
	assert_int_equal(fe_send(fe, VHU_REQ_SET_BACKEND_REQ_FD, VHU_VERSION,
				 NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	assert_true(fe_no_reply(fe));
	b->sock = sv[0];
	b->dev_fd = -1;
	/* The device's copy is the one new fd it watches. */
	for (i = 0; i < fe->nwatch; i++) {
		for (j = 0; j < n && before[j] != fe->watch_fd[i]; j++)
			;
		if (j == n && fe->watch_fd[i] != fe->dev_sock)
			b->dev_fd = fe->watch_fd[i];
	}
	assert_true(b->dev_fd >= 0);
	assert_true(fe_watched(fe, b->dev_fd, VHU_EV_IN));
	assert_true(vhu_backend_channel_open(fe->dev));
}

void
fe_bchan_close(struct fe_bchan *b)
{
	if (b->sock >= 0)
		close(b->sock);
	b->sock = -1;
}

int
fe_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

bool
fe_is_mapped(const void *p, size_t len)
{
	unsigned char vec[1];
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)4095;

	(void)len;
	return mincore((void *)page, 4096, vec) == 0;
}
