/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The back-end channel (BACKEND_REQ): every back-end request as it is read
 * off the wire (id, flags, size, payload bytes, fds), the protocol feature
 * each sender needs, replies with REPLY_ACK (in order, mismatched,
 * missing, the front-end closing its end), GET_SHARED_OBJECT answering
 * from the objects exported with SHARED_OBJECT_ADD, and in-band VRING_CALL.
 * Payload offsets are written from the spec, not from the library's
 * structures.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define PF(x)		VHU_BIT(VHU_PF_##x)
/* Every protocol feature the back-end channel uses. */
#define ALL_PF		(PF(REPLY_ACK) | PF(BACKEND_REQ) | PF(CONFIG) | \
			 PF(BACKEND_SEND_FD) | PF(HOST_NOTIFIER) | \
			 PF(INBAND_NOTIFICATIONS) | PF(SHARED_OBJECT) | \
			 PF(SHMEM))
#define BASE_F		(VHU_BIT(VHU_F_PROTOCOL_FEATURES) | \
			 VHU_BIT(VHU_F_VERSION_1) | \
			 VHU_BIT(VHU_F_ACCESS_PLATFORM))

/* Back-end request ids and flags, from the spec. */
#define B_IOTLB		1
#define B_CONFIG	2
#define B_NOTIFIER	3
#define B_CALL		4
#define B_ERR		5
#define B_OBJ_ADD	6
#define B_OBJ_REMOVE	7
#define B_OBJ_LOOKUP	8
#define B_SHMEM_MAP	9
#define B_SHMEM_UNMAP	10
#define F_PLAIN		0x1u	/* version 1 */
#define F_NEED_REPLY	0x9u	/* version 1 and need_reply */
#define F_REPLY		0x5u	/* version 1 and reply */

static const uint8_t uuid_a[16] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};
static const uint8_t uuid_b[16] = {
	0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x11, 0x22, 0x33,
	0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xee, 0xff,
};

/* What one done() call reported. */
struct done_rec {
	unsigned int calls;
	unsigned int seq;	/* completion order across requests */
	int result;
	uint64_t value;
	int fd;
	ino_t ino;		/* of fd, looked up inside done() */
	char data[8];		/* first bytes of fd, read inside done() */
};

static unsigned int done_seq;

static void
on_done(struct vhu_dev *dev, int result, uint64_t value, int fd, void *opaque)
{
	struct done_rec *r = opaque;
	struct stat st;

	(void)dev;
	r->calls++;
	r->seq = ++done_seq;
	r->result = result;
	r->value = value;
	r->fd = fd;
	if (fd >= 0) {
		if (fstat(fd, &st) == 0)
			r->ino = st.st_ino;
		if (pread(fd, r->data, sizeof(r->data), 0) < 0)
			r->data[0] = '\0';
	}
}

static void
rec_init(struct done_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->result = 1;		/* neither 0 nor an errno */
}

static uint64_t
rd64(const struct vhu_msg *m, size_t off)
{
	uint64_t v;

	memcpy(&v, m->payload.raw + off, sizeof(v));
	return v;
}

static uint32_t
rd32(const struct vhu_msg *m, size_t off)
{
	uint32_t v;

	memcpy(&v, m->payload.raw + off, sizeof(v));
	return v;
}

static bool
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static ino_t
ino_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* A memfd holding text, for exports and mappings. */
static int
text_memfd(const char *text)
{
	int fd = memfd_create("be-obj", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(pwrite(fd, text, strlen(text) + 1, 0),
			 (ssize_t)strlen(text) + 1);
	return fd;
}

/* INBAND_NOTIFICATIONS is only valid with BACKEND_REQ and REPLY_ACK. */
static uint64_t
fix_proto(uint64_t proto)
{
	if ((proto & (PF(BACKEND_REQ) | PF(REPLY_ACK))) !=
	    (PF(BACKEND_REQ) | PF(REPLY_ACK)))
		proto &= ~PF(INBAND_NOTIFICATIONS);
	return proto;
}

static struct fe *
new_fe_features(uint64_t features, uint64_t proto)
{
	return fe_new_negotiated(features, fix_proto(proto));
}

static struct fe *
new_fe(uint64_t proto)
{
	return new_fe_features(BASE_F, proto);
}

static void
close_msg_fds(struct vhu_msg *m)
{
	unsigned int i;

	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

/* Whether the device closed its end (EOF after any pending requests). */
static bool
bchan_eof(struct fe_bchan *b)
{
	struct vhu_msg m;
	int rc;

	while ((rc = fe_recv_on(b->sock, &m)) == 1)
		close_msg_fds(&m);
	return rc == -ECONNRESET;
}

/* Read the next request and check its header and fd count. */
static void
expect_req(struct fe_bchan *b, struct vhu_msg *m, uint32_t req,
	   uint32_t flags, uint32_t size, unsigned int nfds)
{
	assert_int_equal(fe_recv_on(b->sock, m), 1);
	assert_int_equal(m->hdr.request, req);
	assert_int_equal(m->hdr.flags, flags);
	assert_int_equal(m->hdr.size, size);
	assert_int_equal(m->nfds, nfds);
}

/* Write a message on the back-end channel and let the device read it. */
static void
bchan_write(struct fe *fe, struct fe_bchan *b, uint32_t req, uint32_t flags,
	    uint64_t value, int fd)
{
	struct vhu_hdr hdr = { .request = req, .flags = flags,
			       .size = sizeof(value) };
	uint8_t buf[sizeof(hdr) + sizeof(value)];

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &value, sizeof(value));
	assert_int_equal(fe_sendmsg(b->sock, buf, sizeof(buf), &fd,
				    fd >= 0 ? 1 : 0), (ssize_t)sizeof(buf));
	vhu_dev_handle_event(fe->dev, b->dev_fd, VHU_EV_IN);
}

static void
bchan_reply(struct fe *fe, struct fe_bchan *b, uint32_t req, uint64_t value,
	    int fd)
{
	bchan_write(fe, b, req, F_REPLY, value, fd);
}

/* The main connection still works. */
static void
main_conn_alive(struct fe *fe)
{
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));
}

/* Each sender once, with the request a test asks for. */
typedef int (*sender_fn)(struct fe *fe, const struct vhu_backend_req *req);

static int
s_config(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_config_change(fe->dev, req);
}

static int
s_iotlb(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_iotlb(fe->dev, VHU_IOTLB_MISS, 0x10000,
				 VHU_ACCESS_RO, req);
}

static int
s_notifier_fd(struct fe *fe, const struct vhu_backend_req *req)
{
	int fd = eventfd(0, EFD_CLOEXEC), rc;

	rc = vhu_backend_host_notifier(fe->dev, 0, fd, 4096, 0, req);
	close(fd);
	return rc;
}

static int
s_notifier(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_host_notifier(fe->dev, 0, -1, 0, 0, req);
}

static int
s_call(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_vring_call(fe->dev, 0, req);
}

static int
s_err(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_vring_err(fe->dev, 0, req);
}

static int
s_obj_add(struct fe *fe, const struct vhu_backend_req *req)
{
	int fd = text_memfd("obj"), rc;

	rc = vhu_backend_shared_object_add(fe->dev, uuid_a, fd, req);
	close(fd);
	return rc;
}

static int
s_obj_remove(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_shared_object_remove(fe->dev, uuid_a, req);
}

static int
s_obj_lookup(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_shared_object_lookup(fe->dev, uuid_a,
						req != NULL ? req->done : NULL,
						req != NULL ? req->opaque :
							      NULL);
}

static int
s_shmem_map(struct fe *fe, const struct vhu_backend_req *req)
{
	int fd = text_memfd("shm"), rc;

	rc = vhu_backend_shmem_map(fe->dev, 0, fd, 0, 0, 4096, true, req);
	close(fd);
	return rc;
}

static int
s_shmem_unmap(struct fe *fe, const struct vhu_backend_req *req)
{
	return vhu_backend_shmem_unmap(fe->dev, 0, 0, 4096, req);
}

static const struct {
	const char *name;
	sender_fn fn;
	uint32_t id;		/* the request it sends */
	uint64_t needs;		/* protocol features it needs, each of them */
} senders[] = {
	{ "config_change", s_config, B_CONFIG, PF(BACKEND_REQ) | PF(CONFIG) },
	{ "iotlb", s_iotlb, B_IOTLB, PF(BACKEND_REQ) },
	{ "host_notifier+fd", s_notifier_fd, B_NOTIFIER,
	  PF(BACKEND_REQ) | PF(HOST_NOTIFIER) | PF(BACKEND_SEND_FD) },
	{ "host_notifier", s_notifier, B_NOTIFIER,
	  PF(BACKEND_REQ) | PF(HOST_NOTIFIER) },
	{ "vring_call", s_call, B_CALL,
	  PF(BACKEND_REQ) | PF(INBAND_NOTIFICATIONS) },
	{ "vring_err", s_err, B_ERR,
	  PF(BACKEND_REQ) | PF(INBAND_NOTIFICATIONS) },
	{ "shared_object_add", s_obj_add, B_OBJ_ADD,
	  PF(BACKEND_REQ) | PF(SHARED_OBJECT) },
	{ "shared_object_remove", s_obj_remove, B_OBJ_REMOVE,
	  PF(BACKEND_REQ) | PF(SHARED_OBJECT) },
	{ "shared_object_lookup", s_obj_lookup, B_OBJ_LOOKUP,
	  PF(BACKEND_REQ) | PF(SHARED_OBJECT) | PF(REPLY_ACK) },
	{ "shmem_map", s_shmem_map, B_SHMEM_MAP,
	  PF(BACKEND_REQ) | PF(SHMEM) | PF(BACKEND_SEND_FD) },
	{ "shmem_unmap", s_shmem_unmap, B_SHMEM_UNMAP,
	  PF(BACKEND_REQ) | PF(SHMEM) },
};
#define NSENDERS (sizeof(senders) / sizeof(senders[0]))

static void
config_change_on_wire(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_config_change(fe->dev, NULL), 0);
	expect_req(&b, &m, B_CONFIG, F_PLAIN, 0, 0);
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
iotlb_miss_and_access_fail_on_wire(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct fe_bchan b;
	struct vhu_msg m;
	size_t i;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_iotlb(fe->dev, VHU_IOTLB_MISS,
					   0x123456789000ULL, VHU_ACCESS_RW,
					   NULL), 0);
	/* struct vhost_iotlb_msg: iova, size, uaddr, perm u8, type u8. */
	expect_req(&b, &m, B_IOTLB, F_PLAIN, 32, 0);
	assert_int_equal(rd64(&m, 0), 0x123456789000ULL);
	assert_int_equal(m.payload.raw[24], VHU_ACCESS_RW);
	assert_int_equal(m.payload.raw[25], 1);
	assert_int_equal(vhu_backend_iotlb(fe->dev, VHU_IOTLB_ACCESS_FAIL,
					   0xabc000, VHU_ACCESS_WO, NULL), 0);
	expect_req(&b, &m, B_IOTLB, F_PLAIN, 32, 0);
	assert_int_equal(rd64(&m, 0), 0xabc000);
	assert_int_equal(m.payload.raw[24], VHU_ACCESS_WO);
	assert_int_equal(m.payload.raw[25], 4);
	/* Size and uaddr carry nothing in a miss; padding is not garbage. */
	assert_int_equal(rd64(&m, 8), 0);
	assert_int_equal(rd64(&m, 16), 0);
	for (i = 26; i < 32; i++)
		assert_int_equal(m.payload.raw[i], 0);
	/* Update and invalidate are the front-end's, not ours. */
	assert_int_equal(vhu_backend_iotlb(fe->dev, VHU_IOTLB_UPDATE, 0,
					   VHU_ACCESS_RO, NULL), -EINVAL);
	assert_int_equal(vhu_backend_iotlb(fe->dev, VHU_IOTLB_INVALIDATE, 0,
					   VHU_ACCESS_RO, NULL), -EINVAL);
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
iotlb_needs_iommu_platform(void **state)
{
	uint64_t f = BASE_F & ~VHU_BIT(VHU_F_ACCESS_PLATFORM);
	struct fe *fe = new_fe_features(f, ALL_PF);
	struct fe_bchan b;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_iotlb(fe->dev, VHU_IOTLB_MISS, 0x1000,
					   VHU_ACCESS_RO, NULL), -ENOTSUP);
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
host_notifier_with_fd(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_host_notifier(fe->dev, 3, efd, 4096,
						   0x2000, NULL), 0);
	/* Vring area: u64 (index and flags), size, offset; fd attached. */
	expect_req(&b, &m, B_NOTIFIER, F_PLAIN, 24, 1);
	assert_int_equal(rd64(&m, 0), 3);
	assert_int_equal(rd64(&m, 8), 4096);
	assert_int_equal(rd64(&m, 16), 0x2000);
	assert_true(same_file(m.fds[0], efd));
	close_msg_fds(&m);
	/* A ring the device does not have. */
	assert_int_equal(vhu_backend_host_notifier(fe->dev, 4, efd, 4096, 0,
						   NULL), -EINVAL);
	assert_true(fe_idle_on(b.sock));
	close(efd);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
host_notifier_without_fd(void **state)
{
	struct fe *fe = new_fe(ALL_PF & ~PF(BACKEND_SEND_FD));
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	fe_bchan_open(fe, &b);
	/* De-registering needs no fd, so no BACKEND_SEND_FD either. */
	assert_int_equal(vhu_backend_host_notifier(fe->dev, 1, -1, 0, 0, NULL),
			 0);
	expect_req(&b, &m, B_NOTIFIER, F_PLAIN, 24, 0);
	assert_int_equal(rd64(&m, 0), 1 | (1ULL << 8));
	assert_int_equal(rd64(&m, 8), 0);
	assert_int_equal(rd64(&m, 16), 0);
	/* With an fd it is refused: the fd could not be sent. */
	{
		int efd = eventfd(0, EFD_CLOEXEC);

		assert_int_equal(vhu_backend_host_notifier(fe->dev, 1, efd,
							   4096, 0, NULL),
				 -ENOTSUP);
		close(efd);
	}
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
vring_call_and_err_on_wire(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_vring_call(fe->dev, 2, NULL), 0);
	/* Vring state: index u32, num u32 (reserved, 0). */
	expect_req(&b, &m, B_CALL, F_PLAIN, 8, 0);
	assert_int_equal(rd32(&m, 0), 2);
	assert_int_equal(rd32(&m, 4), 0);
	assert_int_equal(vhu_backend_vring_err(fe->dev, 3, NULL), 0);
	expect_req(&b, &m, B_ERR, F_PLAIN, 8, 0);
	assert_int_equal(rd32(&m, 0), 3);
	assert_int_equal(rd32(&m, 4), 0);
	assert_int_equal(vhu_backend_vring_call(fe->dev, 4, NULL), -EINVAL);
	assert_int_equal(vhu_backend_vring_err(fe->dev, 4, NULL), -EINVAL);
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
shared_object_add_remove_on_wire(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int fd = text_memfd("exported");
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_shared_object_add(fe->dev, uuid_a, fd,
						       NULL), 0);
	/* VhostUserShared: the 16-byte UUID; the fd stays with us. */
	expect_req(&b, &m, B_OBJ_ADD, F_PLAIN, 16, 0);
	assert_memory_equal(m.payload.raw, uuid_a, 16);
	assert_int_equal(vhu_backend_shared_object_remove(fe->dev, uuid_a,
							  NULL), 0);
	expect_req(&b, &m, B_OBJ_REMOVE, F_PLAIN, 16, 0);
	assert_memory_equal(m.payload.raw, uuid_a, 16);
	/* Not exported (any more): nothing to remove, nothing sent. */
	assert_int_equal(vhu_backend_shared_object_remove(fe->dev, uuid_a,
							  NULL), -ENOENT);
	assert_true(fe_idle_on(b.sock));
	close(fd);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
shared_object_lookup_reply_carries_fd(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int obj = text_memfd("dmabuf");
	struct done_rec r, r2;
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	rec_init(&r);
	rec_init(&r2);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_shared_object_lookup(fe->dev, uuid_b,
							  on_done, &r), 0);
	/* A lookup always asks for its reply. */
	expect_req(&b, &m, B_OBJ_LOOKUP, F_NEED_REPLY, 16, 0);
	assert_memory_equal(m.payload.raw, uuid_b, 16);
	assert_int_equal(r.calls, 0);
	bchan_reply(fe, &b, B_OBJ_LOOKUP, 0, obj);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.value, 0);
	assert_true(r.fd >= 0);
	/* done() could fstat and read the file it was handed. */
	assert_int_equal(r.ino, ino_of(obj));
	assert_string_equal(r.data, "dmabuf");
	assert_true(same_file(r.fd, obj));
	close(r.fd);

	/* A failed lookup: non-zero u64, no fd. */
	assert_int_equal(vhu_backend_shared_object_lookup(fe->dev, uuid_a,
							  on_done, &r2), 0);
	expect_req(&b, &m, B_OBJ_LOOKUP, F_NEED_REPLY, 16, 0);
	bchan_reply(fe, &b, B_OBJ_LOOKUP, 5, -1);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.result, 0);
	assert_int_equal(r2.value, 5);
	assert_int_equal(r2.fd, -1);
	assert_true(vhu_backend_channel_open(fe->dev));

	/* Nobody to hand the fd to: the device closes it. */
	{
		int base = fe_count_fds();

		assert_int_equal(vhu_backend_shared_object_lookup(fe->dev,
								  uuid_b, NULL,
								  NULL), 0);
		expect_req(&b, &m, B_OBJ_LOOKUP, F_NEED_REPLY, 16, 0);
		bchan_reply(fe, &b, B_OBJ_LOOKUP, 0, obj);
		assert_int_equal(fe_count_fds(), base);
		assert_true(vhu_backend_channel_open(fe->dev));
	}
	close(obj);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
shmem_map_on_wire(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int fd = text_memfd("shmem");
	struct fe_bchan b;
	struct vhu_msg m;
	int i;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_shmem_map(fe->dev, 7, fd, 0x1000,
					       0x200000, 0x3000, true, NULL),
			 0);
	/*
	 * VhostUserMMap: shmid u8, 7 bytes padding, fd_offset, shm_offset,
	 * len, flags (1: read-write); 40 bytes, the fd attached.
	 */
	expect_req(&b, &m, B_SHMEM_MAP, F_PLAIN, 40, 1);
	assert_int_equal(m.payload.raw[0], 7);
	for (i = 1; i < 8; i++)
		assert_int_equal(m.payload.raw[i], 0);
	assert_int_equal(rd64(&m, 8), 0x1000);
	assert_int_equal(rd64(&m, 16), 0x200000);
	assert_int_equal(rd64(&m, 24), 0x3000);
	assert_int_equal(rd64(&m, 32), 1);
	assert_true(same_file(m.fds[0], fd));
	close_msg_fds(&m);
	/* Read-only: flags 0. */
	assert_int_equal(vhu_backend_shmem_map(fe->dev, 1, fd, 0, 0, 4096,
					       false, NULL), 0);
	expect_req(&b, &m, B_SHMEM_MAP, F_PLAIN, 40, 1);
	assert_int_equal(m.payload.raw[0], 1);
	assert_int_equal(rd64(&m, 24), 4096);
	assert_int_equal(rd64(&m, 32), 0);
	close_msg_fds(&m);
	/* No fd or nothing to map. */
	assert_int_equal(vhu_backend_shmem_map(fe->dev, 0, -1, 0, 0, 4096,
					       true, NULL), -EINVAL);
	assert_int_equal(vhu_backend_shmem_map(fe->dev, 0, fd, 0, 0, 0,
					       true, NULL), -EINVAL);
	assert_true(fe_idle_on(b.sock));
	close(fd);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
shmem_unmap_on_wire(void **state)
{
	struct fe *fe = new_fe(ALL_PF & ~PF(BACKEND_SEND_FD));
	struct fe_bchan b;
	struct vhu_msg m;
	int i;

	(void)state;
	fe_bchan_open(fe, &b);
	/* Unmapping sends no fd, so it needs no BACKEND_SEND_FD. */
	assert_int_equal(vhu_backend_shmem_unmap(fe->dev, 2, 0x400000, 0x5000,
						 NULL), 0);
	expect_req(&b, &m, B_SHMEM_UNMAP, F_PLAIN, 40, 0);
	assert_int_equal(m.payload.raw[0], 2);
	for (i = 1; i < 8; i++)
		assert_int_equal(m.payload.raw[i], 0);
	assert_int_equal(rd64(&m, 8), 0);
	assert_int_equal(rd64(&m, 16), 0x400000);
	assert_int_equal(rd64(&m, 24), 0x5000);
	assert_int_equal(rd64(&m, 32), 0);
	assert_int_equal(vhu_backend_shmem_unmap(fe->dev, 2, 0, 0, NULL),
			 -EINVAL);
	/* Mapping does need it. */
	{
		int fd = text_memfd("x");

		assert_int_equal(vhu_backend_shmem_map(fe->dev, 0, fd, 0, 0,
						       4096, true, NULL),
				 -ENOTSUP);
		close(fd);
	}
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

/*
 * Every sender with each of the protocol features it needs left out, in
 * turn: -ENOTSUP, and nothing on the wire.
 */
static void
senders_need_their_feature(void **state)
{
	size_t i;
	unsigned int bit;

	(void)state;
	for (i = 0; i < NSENDERS; i++) {
		for (bit = 0; bit < 64; bit++) {
			struct fe *fe;
			struct fe_bchan b;
			struct done_rec r;
			struct vhu_backend_req req = { true, on_done, &r };

			if ((senders[i].needs & VHU_BIT(bit)) == 0)
				continue;
			print_message("# %s without %s\n", senders[i].name,
				      vhu_protocol_feature_name(bit));
			rec_init(&r);
			fe = new_fe(ALL_PF & ~VHU_BIT(bit));
			fe_bchan_open(fe, &b);
			assert_int_equal(senders[i].fn(fe, &req), -ENOTSUP);
			assert_int_equal(r.calls, 0);
			assert_true(fe_idle_on(b.sock));
			fe_bchan_close(&b);
			fe_free(fe);
		}
	}
}

/* Before SET_BACKEND_REQ_FD there is no channel: -ENOTCONN, no fd kept. */
static void
senders_need_the_channel(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NSENDERS; i++) {
		struct fe *fe;
		struct done_rec r;
		struct vhu_backend_req req = { true, on_done, &r };
		int base;

		/* Removing needs an object, which needs the channel. */
		if (senders[i].fn == s_obj_remove)
			continue;
		print_message("# %s\n", senders[i].name);
		rec_init(&r);
		fe = new_fe(ALL_PF);
		base = fe_count_fds();
		assert_false(vhu_backend_channel_open(fe->dev));
		assert_int_equal(senders[i].fn(fe, &req), -ENOTCONN);
		assert_int_equal(r.calls, 0);
		assert_int_equal(fe_count_fds(), base);
		assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
		main_conn_alive(fe);
		fe_free(fe);
	}
}

/* An object exported while the channel was up, removed once it is gone. */
static void
shared_object_remove_without_channel(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int fd = text_memfd("x");
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_shared_object_add(fe->dev, uuid_a, fd,
						       NULL), 0);
	expect_req(&b, &m, B_OBJ_ADD, F_PLAIN, 16, 0);
	fe_bchan_close(&b);
	vhu_dev_handle_event(fe->dev, b.dev_fd, VHU_EV_IN);
	assert_false(vhu_backend_channel_open(fe->dev));
	assert_int_equal(vhu_backend_shared_object_remove(fe->dev, uuid_a,
							  NULL), -ENOTCONN);
	close(fd);
	fe_free(fe);
}

/* need_reply: the flag goes out, done() waits for the front-end's u64. */
static void
senders_honour_need_reply(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NSENDERS; i++) {
		struct fe *fe = new_fe(ALL_PF);
		struct done_rec r;
		struct vhu_backend_req req = { true, on_done, &r };
		struct fe_bchan b;
		struct vhu_msg m;

		print_message("# %s\n", senders[i].name);
		rec_init(&r);
		fe_bchan_open(fe, &b);
		if (senders[i].fn == s_obj_remove)
			assert_int_equal(s_obj_add(fe, NULL), 0);
		if (senders[i].fn == s_obj_remove)
			expect_req(&b, &m, B_OBJ_ADD, F_PLAIN, 16, 0);
		assert_int_equal(senders[i].fn(fe, &req), 0);
		assert_int_equal(fe_recv_on(b.sock, &m), 1);
		assert_int_equal(m.hdr.request, senders[i].id);
		assert_int_equal(m.hdr.flags, F_NEED_REPLY);
		close_msg_fds(&m);
		assert_int_equal(r.calls, 0);
		assert_true(vhu_dev_next_timeout_ms(fe->dev) >= 0);
		bchan_reply(fe, &b, senders[i].id, 100 + i, -1);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.result, 0);
		assert_int_equal(r.value, 100 + i);
		assert_int_equal(r.fd, -1);
		assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
		assert_true(vhu_backend_channel_open(fe->dev));
		fe_bchan_close(&b);
		fe_free(fe);
	}
}

static void
without_need_reply_done_runs_at_once(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct done_rec r;
	struct vhu_backend_req req = { false, on_done, &r };
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	rec_init(&r);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_config_change(fe->dev, &req), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.value, 0);
	assert_int_equal(r.fd, -1);
	expect_req(&b, &m, B_CONFIG, F_PLAIN, 0, 0);
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	fe_bchan_close(&b);
	fe_free(fe);
}

/* Asking for a reply without REPLY_ACK: no flag, done() at once. */
static void
need_reply_without_reply_ack(void **state)
{
	struct fe *fe = new_fe(ALL_PF & ~PF(REPLY_ACK));
	struct done_rec r;
	struct vhu_backend_req req = { true, on_done, &r };
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	rec_init(&r);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_config_change(fe->dev, &req), 0);
	expect_req(&b, &m, B_CONFIG, F_PLAIN, 0, 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, 0);
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
replies_complete_in_order(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct done_rec r1, r2, r3;
	struct vhu_backend_req q1 = { true, on_done, &r1 };
	struct vhu_backend_req q2 = { true, on_done, &r2 };
	struct vhu_backend_req q3 = { true, on_done, &r3 };
	struct fe_bchan b;
	struct vhu_msg m;

	(void)state;
	rec_init(&r1);
	rec_init(&r2);
	rec_init(&r3);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_config_change(fe->dev, &q1), 0);
	assert_int_equal(vhu_backend_vring_call(fe->dev, 1, &q2), 0);
	assert_int_equal(vhu_backend_config_change(fe->dev, &q3), 0);
	expect_req(&b, &m, B_CONFIG, F_NEED_REPLY, 0, 0);
	expect_req(&b, &m, B_CALL, F_NEED_REPLY, 8, 0);
	expect_req(&b, &m, B_CONFIG, F_NEED_REPLY, 0, 0);
	bchan_reply(fe, &b, B_CONFIG, 11, -1);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.value, 11);
	assert_int_equal(r2.calls, 0);
	assert_int_equal(r3.calls, 0);
	bchan_reply(fe, &b, B_CALL, 0, -1);
	bchan_reply(fe, &b, B_CONFIG, 33, -1);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.result, 0);
	assert_int_equal(r2.value, 0);
	assert_int_equal(r3.calls, 1);
	assert_int_equal(r3.value, 33);
	assert_true(r1.seq < r2.seq && r2.seq < r3.seq);
	assert_true(vhu_backend_channel_open(fe->dev));
	fe_bchan_close(&b);
	fe_free(fe);
}

/*
 * A reply the device cannot match ends the back-end channel: every
 * request still waiting fails with -ECONNRESET; the main connection
 * stays. Three ways: another request's id, no reply flag, an fd on a
 * reply that carries none.
 */
static void
bad_reply_closes_channel(void **state)
{
	static const struct {
		uint32_t req;
		uint32_t flags;
		bool fd;
	} bad[] = {
		{ B_CALL, F_REPLY, false },	/* answers the wrong request */
		{ B_CONFIG, F_PLAIN, false },	/* reply flag missing */
		{ B_CONFIG, F_NEED_REPLY, false },
		{ B_CONFIG, F_REPLY, true },	/* an fd it cannot take */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fe *fe = new_fe(ALL_PF);
		struct done_rec r1, r2;
		struct vhu_backend_req q1 = { true, on_done, &r1 };
		struct vhu_backend_req q2 = { true, on_done, &r2 };
		struct fe_bchan b;
		int efd = bad[i].fd ? eventfd(0, EFD_CLOEXEC) : -1;
		int base;

		rec_init(&r1);
		rec_init(&r2);
		fe_bchan_open(fe, &b);
		assert_int_equal(vhu_backend_config_change(fe->dev, &q1), 0);
		assert_int_equal(vhu_backend_config_change(fe->dev, &q2), 0);
		base = fe_count_fds();
		bchan_write(fe, &b, bad[i].req, bad[i].flags, 0, efd);
		assert_false(vhu_backend_channel_open(fe->dev));
		assert_int_equal(r1.calls, 1);
		assert_int_equal(r1.result, -ECONNRESET);
		assert_int_equal(r2.calls, 1);
		assert_int_equal(r2.result, -ECONNRESET);
		assert_true(bchan_eof(&b));
		assert_false(fe_watched(fe, b.dev_fd, VHU_EV_IN));
		/* The device's end is closed and no fd of ours stayed. */
		assert_int_equal(fe_count_fds(), base - 1);
		assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
		/* Later requests find no channel. */
		assert_int_equal(vhu_backend_config_change(fe->dev, NULL),
				 -ENOTCONN);
		main_conn_alive(fe);
		if (efd >= 0)
			close(efd);
		fe_bchan_close(&b);
		fe_free(fe);
	}
}

/* A reply when nothing waits is just as unmatched. */
static void
unsolicited_reply_closes_channel(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct fe_bchan b;

	(void)state;
	fe_bchan_open(fe, &b);
	bchan_reply(fe, &b, B_CONFIG, 0, -1);
	assert_false(vhu_backend_channel_open(fe->dev));
	assert_true(bchan_eof(&b));
	main_conn_alive(fe);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * No reply within backend_timeout_ms (200): the oldest request completes
 * with -ETIMEDOUT, and since a late reply could no longer be matched the
 * channel closes, failing the rest with -ECONNRESET.
 */
static void
reply_timeout(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct done_rec r1, r2;
	struct vhu_backend_req q1 = { true, on_done, &r1 };
	struct vhu_backend_req q2 = { true, on_done, &r2 };
	struct fe_bchan b;
	struct vhu_msg m;
	int t;

	(void)state;
	rec_init(&r1);
	rec_init(&r2);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	assert_int_equal(vhu_backend_config_change(fe->dev, &q1), 0);
	assert_int_equal(vhu_backend_vring_err(fe->dev, 0, &q2), 0);
	expect_req(&b, &m, B_CONFIG, F_NEED_REPLY, 0, 0);
	expect_req(&b, &m, B_ERR, F_NEED_REPLY, 8, 0);
	t = vhu_dev_next_timeout_ms(fe->dev);
	assert_true(t >= 0 && t <= 200);
	/* Not due yet: nothing happens. */
	vhu_dev_handle_timeout(fe->dev);
	assert_int_equal(r1.calls, 0);
	assert_true(vhu_backend_channel_open(fe->dev));
	sleep_ms(250);
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), 0);
	vhu_dev_handle_timeout(fe->dev);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.result, -ETIMEDOUT);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.result, -ECONNRESET);
	assert_false(vhu_backend_channel_open(fe->dev));
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	assert_true(bchan_eof(&b));
	main_conn_alive(fe);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
frontend_closes_channel(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct done_rec r1, r2;
	struct vhu_backend_req q1 = { true, on_done, &r1 };
	struct vhu_backend_req q2 = { true, on_done, &r2 };
	struct fe_bchan b;

	(void)state;
	rec_init(&r1);
	rec_init(&r2);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_config_change(fe->dev, &q1), 0);
	assert_int_equal(vhu_backend_host_notifier(fe->dev, 0, -1, 0, 0, &q2),
			 0);
	fe_bchan_close(&b);
	vhu_dev_handle_event(fe->dev, b.dev_fd, VHU_EV_IN);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.result, -ECONNRESET);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.result, -ECONNRESET);
	assert_false(vhu_backend_channel_open(fe->dev));
	assert_int_equal(vhu_dev_next_timeout_ms(fe->dev), -1);
	main_conn_alive(fe);
	fe_free(fe);
}

/* The main connection ending fails what waits on the back-end channel. */
static void
disconnect_fails_pending(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct done_rec r;
	struct vhu_backend_req q = { true, on_done, &r };
	struct fe_bchan b;

	(void)state;
	rec_init(&r);
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_config_change(fe->dev, &q), 0);
	vhu_dev_disconnect(fe->dev, "test");
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, -ECONNRESET);
	assert_false(vhu_backend_channel_open(fe->dev));
	assert_true(bchan_eof(&b));
	fe_bchan_close(&b);
	fe_free(fe);
}

/* A second SET_BACKEND_REQ_FD replaces the channel. */
static void
backend_req_fd_replaced(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct done_rec r;
	struct vhu_backend_req q = { true, on_done, &r };
	struct fe_bchan b1, b2;
	struct vhu_msg m;

	(void)state;
	rec_init(&r);
	fe_bchan_open(fe, &b1);
	assert_int_equal(vhu_backend_config_change(fe->dev, &q), 0);
	fe_bchan_open(fe, &b2);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, -ECONNRESET);
	assert_true(bchan_eof(&b1));
	assert_int_equal(vhu_backend_config_change(fe->dev, NULL), 0);
	expect_req(&b2, &m, B_CONFIG, F_PLAIN, 0, 0);
	fe_bchan_close(&b1);
	fe_bchan_close(&b2);
	fe_free(fe);
}

static void
get_shared_object(struct fe *fe, const uint8_t uuid[16], struct vhu_msg *m)
{
	assert_int_equal(fe_send(fe, VHU_REQ_GET_SHARED_OBJECT, VHU_VERSION,
				 uuid, 16, NULL, 0), 0);
	assert_int_equal(fe_recv(fe, m), 1);
	assert_int_equal(m->hdr.request, VHU_REQ_GET_SHARED_OBJECT);
	assert_int_equal(m->hdr.flags, F_REPLY);
	assert_int_equal(m->hdr.size, 8);
}

/*
 * GET_SHARED_OBJECT answers with the file exported under the UUID (the
 * device keeps its own reference, so our fd may be closed), and with no
 * fd and a non-zero u64 for a UUID nobody exported.
 */
static void
get_shared_object_answers(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int obj = text_memfd("shared");
	ino_t ino = ino_of(obj);
	struct fe_bchan b;
	struct vhu_msg m;
	char buf[8];

	(void)state;
	fe_bchan_open(fe, &b);
	get_shared_object(fe, uuid_a, &m);
	assert_int_equal(m.nfds, 0);
	assert_int_not_equal(m.payload.u64, 0);

	assert_int_equal(vhu_backend_shared_object_add(fe->dev, uuid_a, obj,
						       NULL), 0);
	close(obj);
	get_shared_object(fe, uuid_a, &m);
	assert_int_equal(m.payload.u64, 0);
	assert_int_equal(m.nfds, 1);
	assert_int_equal(ino_of(m.fds[0]), ino);
	assert_int_equal(pread(m.fds[0], buf, sizeof(buf), 0),
			 (ssize_t)sizeof(buf));
	assert_string_equal(buf, "shared");
	close(m.fds[0]);
	/* Another UUID is still unknown. */
	get_shared_object(fe, uuid_b, &m);
	assert_int_equal(m.nfds, 0);
	assert_int_not_equal(m.payload.u64, 0);

	assert_int_equal(vhu_backend_shared_object_remove(fe->dev, uuid_a,
							  NULL), 0);
	get_shared_object(fe, uuid_a, &m);
	assert_int_equal(m.nfds, 0);
	assert_int_not_equal(m.payload.u64, 0);
	main_conn_alive(fe);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void
shared_object_add_twice(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	int o1 = text_memfd("one"), o2 = text_memfd("two");
	struct fe_bchan b;
	struct vhu_msg m;
	int base;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_int_equal(vhu_backend_shared_object_add(fe->dev, uuid_a, o1,
						       NULL), 0);
	expect_req(&b, &m, B_OBJ_ADD, F_PLAIN, 16, 0);
	base = fe_count_fds();
	assert_int_equal(vhu_backend_shared_object_add(fe->dev, uuid_a, o2,
						       NULL), -EEXIST);
	assert_int_equal(fe_count_fds(), base);
	assert_true(fe_idle_on(b.sock));
	/* The first export stands. */
	get_shared_object(fe, uuid_a, &m);
	assert_int_equal(m.nfds, 1);
	assert_true(same_file(m.fds[0], o1));
	close(m.fds[0]);
	close(o1);
	close(o2);
	fe_bchan_close(&b);
	fe_free(fe);
}

/* A ring without a call fd signals in-band when that was negotiated. */
static void
vring_call_inband(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 1);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct fe_bchan b;
	struct vhu_msg m;
	uint64_t v;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_non_null(vr);
	assert_int_equal(vr->call_fd, -1);
	/*
	 * The data path only hands the call over; the control thread sends
	 * it when it handles the notify fd. Calls before that coalesce.
	 */
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_true(fe_idle_on(b.sock));
	fe_pump_notify(fe);
	expect_req(&b, &m, B_CALL, F_PLAIN, 8, 0);
	assert_int_equal(rd32(&m, 0), 1);
	assert_int_equal(rd32(&m, 4), 0);
	assert_true(fe_idle_on(b.sock));
	assert_int_equal(vhu_vring_signal_error(vr), 0);
	fe_pump_notify(fe);
	expect_req(&b, &m, B_ERR, F_PLAIN, 8, 0);
	assert_int_equal(rd32(&m, 0), 1);
	/* With a call fd the eventfd is used instead. */
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 1, efd, true),
			 0);
	assert_true(vr->call_fd >= 0);
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(v, 1);
	assert_true(fe_idle_on(b.sock));
	close(efd);
	fe_bchan_close(&b);
	fe_free(fe);
}

static void *
call_from_worker(void *arg)
{
	struct vhu_vring *vr = arg;
	int i;

	for (i = 0; i < 1000; i++)
		if (vhu_vring_call(vr) != 0 || vhu_vring_signal_error(vr) != 0)
			return arg;
	return NULL;
}

/*
 * In-band calls from worker threads never touch the back-end channel:
 * two threads calling at once, against a front-end that does not read,
 * leave the channel to the control thread, which sends what was asked.
 */
static void
vring_call_inband_from_threads(void **state)
{
	struct fe *fe = new_fe(ALL_PF);
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);
	struct fe_bchan b;
	struct vhu_msg m;
	pthread_t t[2];
	void *ret;
	int i;

	(void)state;
	fe_bchan_open(fe, &b);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, call_from_worker,
						vr), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	assert_true(fe_idle_on(b.sock));
	assert_true(vhu_backend_channel_open(fe->dev));
	fe_pump_notify(fe);
	expect_req(&b, &m, B_CALL, F_PLAIN, 8, 0);
	assert_int_equal(rd32(&m, 0), 0);
	expect_req(&b, &m, B_ERR, F_PLAIN, 8, 0);
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

/* INBAND_NOTIFICATIONS without BACKEND_REQ or REPLY_ACK is refused. */
static void
inband_needs_backend_req_and_reply_ack(void **state)
{
	static const uint64_t bad[] = {
		PF(INBAND_NOTIFICATIONS),
		PF(INBAND_NOTIFICATIONS) | PF(BACKEND_REQ),
		PF(INBAND_NOTIFICATIONS) | PF(REPLY_ACK),
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fe *fe = fe_new();

		assert_non_null(fe);
		fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, bad[i], false);
		assert_int_equal(vhu_dev_violations(fe->dev,
						    VHU_RULE_FEATURE), 1);
		assert_false(vhu_dev_connected(fe->dev));
		fe_free(fe);
	}
}

static void
vring_call_without_inband(void **state)
{
	struct fe *fe = new_fe(ALL_PF & ~PF(INBAND_NOTIFICATIONS));
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);
	struct fe_bchan b;

	(void)state;
	fe_bchan_open(fe, &b);
	assert_true(vhu_vring_call(vr) < 0);
	assert_true(vhu_vring_signal_error(vr) < 0);
	assert_true(fe_idle_on(b.sock));
	fe_bchan_close(&b);
	fe_free(fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_change_on_wire),
		cmocka_unit_test(iotlb_miss_and_access_fail_on_wire),
		cmocka_unit_test(iotlb_needs_iommu_platform),
		cmocka_unit_test(host_notifier_with_fd),
		cmocka_unit_test(host_notifier_without_fd),
		cmocka_unit_test(vring_call_and_err_on_wire),
		cmocka_unit_test(shared_object_add_remove_on_wire),
		cmocka_unit_test(shared_object_lookup_reply_carries_fd),
		cmocka_unit_test(shmem_map_on_wire),
		cmocka_unit_test(shmem_unmap_on_wire),
		cmocka_unit_test(senders_need_their_feature),
		cmocka_unit_test(senders_need_the_channel),
		cmocka_unit_test(shared_object_remove_without_channel),
		cmocka_unit_test(senders_honour_need_reply),
		cmocka_unit_test(without_need_reply_done_runs_at_once),
		cmocka_unit_test(need_reply_without_reply_ack),
		cmocka_unit_test(replies_complete_in_order),
		cmocka_unit_test(bad_reply_closes_channel),
		cmocka_unit_test(unsolicited_reply_closes_channel),
		cmocka_unit_test(reply_timeout),
		cmocka_unit_test(frontend_closes_channel),
		cmocka_unit_test(disconnect_fails_pending),
		cmocka_unit_test(backend_req_fd_replaced),
		cmocka_unit_test(get_shared_object_answers),
		cmocka_unit_test(shared_object_add_twice),
		cmocka_unit_test(vring_call_inband),
		cmocka_unit_test(vring_call_inband_from_threads),
		cmocka_unit_test(inband_needs_backend_req_and_reply_ack),
		cmocka_unit_test(vring_call_without_inband),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
