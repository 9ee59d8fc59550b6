/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inflight I/O tracking (INFLIGHT_SHMFD): the areas GET_INFLIGHT_FD
 * hands out (split and packed layouts from the spec), SET_INFLIGHT_FD
 * attaching one to the rings, the spec's split and packed procedures and
 * their recovery after a crash at each step, and a front-end that
 * scribbles over the shared area: nothing may be read or written outside
 * the mapping and every count stays bounded (run under ASan too).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define F_BASE		(VHU_BIT(VHU_F_PROTOCOL_FEATURES) | \
			 VHU_BIT(VHU_F_VERSION_1))
#define F_PACKED	VHU_BIT(VHU_F_RING_PACKED)
#define PROTO		(VHU_BIT(VHU_PF_REPLY_ACK) | \
			 VHU_BIT(VHU_PF_INFLIGHT_SHMFD) | \
			 VHU_BIT(VHU_PF_RESET_DEVICE))
#define QS		256
#define DESC_F_NEXT	1u
#define DESC_F_AVAIL	(1u << 7)
#define DESC_F_USED	(1u << 15)
#define CANARY		0xa5

static const uint32_t inflight_size = sizeof(struct vhu_inflight_desc);

static size_t
page_up(uint64_t n)
{
	return (size_t)((n + 4095) & ~4095ULL);
}

static struct fe *
inflight_fe(bool packed)
{
	return fe_new_negotiated(F_BASE | (packed ? F_PACKED : 0), PROTO);
}

/* GET_INFLIGHT_FD; returns the fd of the reply, its description in *d. */
static int
get_inflight(struct fe *fe, uint16_t nq, uint16_t qs,
	     struct vhu_inflight_desc *d)
{
	struct vhu_inflight_desc req = { .num_queues = nq, .queue_size = qs };
	struct vhu_msg m;

	fe_send(fe, VHU_REQ_GET_INFLIGHT_FD, VHU_VERSION, &req, inflight_size,
		NULL, 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_GET_INFLIGHT_FD);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, 24);
	assert_int_equal(m.nfds, 1);
	memcpy(d, &m.payload.inflight, sizeof(*d));
	return m.fds[0];
}

/* SET_INFLIGHT_FD with need_reply; returns the ack (-2: none came). */
static int64_t
set_inflight(struct fe *fe, int fd, uint64_t size, uint64_t offset,
	     uint16_t nq, uint16_t qs)
{
	struct vhu_inflight_desc d = {
		.mmap_size = size, .mmap_offset = offset,
		.num_queues = nq, .queue_size = qs,
	};
	struct vhu_msg m;

	fe_send(fe, VHU_REQ_SET_INFLIGHT_FD, VHU_VERSION | VHU_FLAG_NEED_REPLY,
		&d, inflight_size, &fd, 1);
	if (fe_recv(fe, &m) != 1 || m.hdr.request != VHU_REQ_SET_INFLIGHT_FD)
		return -2;
	return (int64_t)m.payload.u64;
}

static uint8_t *
map_fd(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* A front-end's own area: a zeroed memfd of len bytes, mapped here. */
static int
own_area(size_t len, uint8_t **va)
{
	int fd = fe_memfd(len, va);

	assert_true(fd >= 0);
	return fd;
}

/* Get an area for two queues of QS and attach it; returns its fd. */
static int
attach_area(struct fe *fe, bool packed, uint8_t **va, uint64_t *size)
{
	struct vhu_inflight_desc d;
	int fd = get_inflight(fe, 2, QS, &d);

	/* Handed out blank and sized for the larger, packed, layout. */
	assert_int_equal(d.mmap_size, 2 * vhu_inflight_queue_size(true, QS));
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	assert_int_equal(vhu_dev_vring(fe->dev, 0)->inflight_num, QS);
	(void)packed;
	*size = d.mmap_size;
	if (va != NULL)
		*va = map_fd(fd, d.mmap_size);
	return fd;
}

/*
 * A packed ring idx of QS entries at gpa (descriptors first), started in
 * polling mode; returns where the front-end sees its descriptors.
 */
static uint8_t *
packed_ring(struct fe *fe, uint32_t idx, uint64_t gpa)
{
	struct fe_ring r;
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, idx);

	fe_ring_layout(&r, gpa, QS, true);
	fe_ring_setup(fe, idx, &r, 0x8000, 0, 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, idx, -1,
				     true), 0);
	assert_int_not_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_true(vr->packed);
	assert_non_null(vr->desc);
	return fe_ptr(fe, r.desc);
}

static void
set_desc_flags(uint8_t *descs, uint16_t idx, uint16_t flags)
{
	memcpy(descs + 16u * idx + 14, &flags, sizeof(flags));
}

/*
 * The device's view of a queue region is the front-end's memory: a u16 at
 * the same offset (last_batch_head in the split header) written through
 * the device's pointer reads back through ours.
 */
static void
assert_aliases(struct vhu_inflight_split *dev_view, uint16_t *ours)
{
	assert_non_null(dev_view);
	dev_view->last_batch_head = 0x5a5a;
	assert_int_equal(*ours, 0x5a5a);
	dev_view->last_batch_head = 0;
}

/* GET hands out a blank area big enough for either ring layout. */
static void
assert_blank(const uint8_t *va, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (va[i] != 0)
			fail_msg("byte %llu of the new area is 0x%x",
				 (unsigned long long)i, va[i]);
}

static void
get_split_layout(void **state)
{
	struct fe *fe = inflight_fe(false);
	uint64_t per = vhu_inflight_queue_size(false, QS);
	struct vhu_inflight_desc d;
	struct stat st;
	uint8_t *va;
	int fd, q;
	unsigned int i;

	(void)state;
	/* The spec's split layout: a 16-byte header, 16 per descriptor. */
	assert_int_equal(per, (16 + 16 * QS + 63) & ~63);
	assert_int_equal(vhu_inflight_queue_size(false, 1), 64);
	assert_int_equal(vhu_inflight_queue_size(false, 3), 64);
	assert_int_equal(vhu_inflight_queue_size(false, 4), 128);
	fd = get_inflight(fe, 2, QS, &d);
	assert_int_equal(d.mmap_size, 2 * vhu_inflight_queue_size(true, QS));
	assert_int_equal(d.mmap_offset, 0);
	assert_int_equal(d.num_queues, 2);
	assert_int_equal(d.queue_size, QS);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_size >= d.mmap_size);
	va = map_fd(fd, d.mmap_size);
	assert_blank(va, d.mmap_size);
	/* Asking only hands an area out; the rings are not tracking yet. */
	assert_null(vhu_dev_vring(fe->dev, 0)->inflight.split);
	/* Given back, it is laid out for the split rings negotiated. */
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	for (q = 0; q < 2; q++) {
		struct vhu_inflight_split *s = (void *)(va + q * per);

		assert_aliases(vhu_dev_vring(fe->dev, q)->inflight.split,
			       &s->last_batch_head);
		assert_int_equal(((uintptr_t)s - (uintptr_t)va) % 64, 0);
		assert_int_equal(s->features, 0);
		assert_int_equal(s->version, 1);
		assert_int_equal(s->desc_num, QS);
		assert_int_equal(s->last_batch_head, 0);
		assert_int_equal(s->used_idx, 0);
		for (i = 0; i < QS; i++) {
			assert_int_equal(s->desc[i].inflight, 0);
			assert_int_equal(s->desc[i].counter, 0);
		}
	}
	munmap(va, d.mmap_size);
	close(fd);
	fe_free(fe);
}

static void
get_packed_layout(void **state)
{
	struct fe *fe = inflight_fe(true);
	uint64_t per = vhu_inflight_queue_size(true, QS);
	struct vhu_inflight_desc d;
	struct stat st;
	uint8_t *va;
	int fd, q;
	unsigned int i;

	(void)state;
	/* The spec's packed layout: a 32-byte header, 32 per descriptor. */
	assert_int_equal(per, (32 + 32 * QS + 63) & ~63);
	assert_int_equal(vhu_inflight_queue_size(true, 1), 64);
	assert_int_equal(vhu_inflight_queue_size(true, 2), 128);
	fd = get_inflight(fe, 2, QS, &d);
	assert_int_equal(d.mmap_size, 2 * per);
	assert_int_equal(d.mmap_offset, 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_size >= d.mmap_size);
	va = map_fd(fd, d.mmap_size);
	assert_blank(va, d.mmap_size);
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	for (q = 0; q < 2; q++) {
		struct vhu_inflight_packed *p = (void *)(va + q * per);

		/* free_head sits where the split header's last_batch_head is */
		assert_aliases((struct vhu_inflight_split *)
			       vhu_dev_vring(fe->dev, q)->inflight.packed,
			       &p->free_head);
		assert_int_equal(p->features, 0);
		assert_int_equal(p->version, 1);
		assert_int_equal(p->desc_num, QS);
		assert_int_equal(p->free_head, 0);
		assert_int_equal(p->old_free_head, 0);
		assert_int_equal(p->used_idx, 0);
		assert_int_equal(p->old_used_idx, 0);
		assert_int_equal(p->used_wrap_counter, 1);
		assert_int_equal(p->old_used_wrap_counter, 1);
		for (i = 0; i < QS; i++) {
			assert_int_equal(p->desc[i].next, i + 1);
			assert_int_equal(p->desc[i].inflight, 0);
		}
	}
	munmap(va, d.mmap_size);
	close(fd);
	fe_free(fe);
}

/*
 * QEMU's order: GET and SET_INFLIGHT_FD come before SET_FEATURES, when the
 * ring layout is unknown. The rings attach when SET_FEATURES says which
 * layout; an area filled by an earlier instance is kept, not wiped; and a
 * renegotiation to the other layout starts the area afresh.
 */
static void
layout_follows_set_features(void **state)
{
	uint64_t per = vhu_inflight_queue_size(true, QS);
	struct vhu_inflight_desc d;
	struct vhu_inflight_packed *p;
	struct fe *fe = fe_new();
	uint8_t *va;
	int fd;

	(void)state;
	assert_non_null(fe);
	fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, PROTO, false);
	fd = get_inflight(fe, 2, QS, &d);
	va = map_fd(fd, d.mmap_size);
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	assert_null(vhu_dev_vring(fe->dev, 0)->inflight.split);
	assert_int_equal(fe->inflight_ready, 0);
	assert_blank(va, d.mmap_size);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE | F_PACKED, false);
	p = (void *)(va + per);
	assert_non_null(vhu_dev_vring(fe->dev, 1)->inflight.packed);
	vhu_dev_vring(fe->dev, 1)->inflight.packed->desc[5].counter = 99;
	assert_int_equal(p->desc[5].counter, 99);	/* the same memory */
	p->desc[5].counter = 0;
	assert_int_equal(fe->inflight_ready, 2);
	assert_int_equal(p->version, 1);
	assert_int_equal(p->used_wrap_counter, 1);
	assert_int_equal(p->desc[QS - 1].next, QS);
	/* Work in flight, then the front-end reconnects with the area. */
	p->desc[7].inflight = 1;
	p->desc[7].counter = 3;
	fe_free(fe);

	fe = fe_new();
	fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, PROTO, false);
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE | F_PACKED, false);
	assert_int_equal(p->desc[7].inflight, 1);
	assert_int_equal(p->desc[7].counter, 3);
	/*
	 * A renegotiation to split rings: the packed state means nothing.
	 * Queue 0's packed desc[3] sits where the split desc[7] would, and
	 * its header still looks valid, so only a fresh start clears it.
	 */
	((struct vhu_inflight_packed *)va)->desc[3].inflight = 1;
	assert_int_equal(((struct vhu_inflight_split *)va)->desc[7].inflight, 1);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, false);
	assert_non_null(vhu_dev_vring(fe->dev, 0)->inflight.split);
	assert_int_equal(((struct vhu_inflight_split *)
			  (va + vhu_inflight_queue_size(false, QS)))->version, 1);
	assert_int_equal(((struct vhu_inflight_split *)va)->desc[7].inflight, 0);
	munmap(va, d.mmap_size);
	close(fd);
	fe_free(fe);
}

static void
get_bad_geometry(void **state)
{
	static const struct { uint16_t nq, qs; } bad[] = {
		{ 0, QS }, { 5, QS }, { 0xffff, QS }, { 2, 0 }, { 2, 32769 },
		{ 2, 0xffff },
	};
	struct vhu_inflight_desc d;
	size_t i;
	struct fe *fe;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vhu_inflight_desc req = { .num_queues = bad[i].nq,
						 .queue_size = bad[i].qs };

		fe = inflight_fe(false);
		/* Two queue pairs: four rings. */
		assert_int_equal(vhu_dev_nr_vrings(fe->dev), 4);
		fe_send(fe, VHU_REQ_GET_INFLIGHT_FD, VHU_VERSION, &req,
			inflight_size, NULL, 0);
		fe_assert_violation(fe, VHU_RULE_VALUE);
		fe_free(fe);
	}
	/* The limits themselves are fine. */
	fe = inflight_fe(true);
	fd = get_inflight(fe, 4, VHU_MAX_VRING_SIZE, &d);
	assert_int_equal(d.mmap_size,
			 4 * vhu_inflight_queue_size(true, VHU_MAX_VRING_SIZE));
	close(fd);
	fd = get_inflight(fe, 1, 1, &d);
	assert_int_equal(d.mmap_size, 64);
	close(fd);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

static void
needs_inflight_feature(void **state)
{
	struct vhu_inflight_desc req = { .num_queues = 2, .queue_size = QS };
	struct fe *fe = fe_new();
	uint8_t *va;
	int fd;

	(void)state;
	assert_non_null(fe);
	fe_negotiate(fe, F_BASE, VHU_BIT(VHU_PF_REPLY_ACK));
	fe_send(fe, VHU_REQ_GET_INFLIGHT_FD, VHU_VERSION, &req, inflight_size,
		NULL, 0);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);

	fe = fe_new();
	assert_non_null(fe);
	fe_negotiate(fe, F_BASE, VHU_BIT(VHU_PF_REPLY_ACK));
	fd = own_area(2 * vhu_inflight_queue_size(false, QS), &va);
	assert_int_equal(set_inflight(fe, fd,
				      2 * vhu_inflight_queue_size(false, QS),
				      0, 2, QS), -2);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	assert_null(vhu_dev_vring(fe->dev, 0)->inflight.split);
	munmap(va, 2 * vhu_inflight_queue_size(false, QS));
	close(fd);
	fe_free(fe);
}

static void
set_attaches_each_ring(void **state)
{
	struct fe *fe = inflight_fe(false);
	uint64_t per = vhu_inflight_queue_size(false, QS), size;
	struct vhu_inflight_split *s0, *s1;
	uint8_t *va;
	int fd;

	(void)state;
	fd = attach_area(fe, false, &va, &size);
	assert_true(vhu_dev_connected(fe->dev));
	/* One callback per ring with an area, none for the others. */
	assert_int_equal(fe->inflight_ready, 2);
	s0 = vhu_dev_vring(fe->dev, 0)->inflight.split;
	s1 = vhu_dev_vring(fe->dev, 1)->inflight.split;
	assert_non_null(s0);
	assert_non_null(s1);
	assert_null(vhu_dev_vring(fe->dev, 2)->inflight.split);
	assert_null(vhu_dev_vring(fe->dev, 3)->inflight.split);
	assert_int_equal((uint8_t *)s1 - (uint8_t *)s0, per);
	assert_int_equal(vhu_dev_vring(fe->dev, 0)->inflight_num, QS);
	/* The device's view is the front-end's memory. */
	((struct vhu_inflight_split *)(va + per))->desc[7].counter = 77;
	assert_int_equal(s1->desc[7].counter, 77);
	s0->desc[3].inflight = 1;
	assert_int_equal(((struct vhu_inflight_split *)va)->desc[3].inflight,
			 1);
	munmap(va, size);
	close(fd);
	fe_free(fe);
}

static void
set_area_too_small(void **state)
{
	uint64_t need = 2 * vhu_inflight_queue_size(false, QS);
	struct fe *fe = inflight_fe(false);
	uint8_t *va;
	int fd = own_area(page_up(need), &va);

	(void)state;
	/* The size claimed cannot hold two queues of QS. */
	assert_int_equal(set_inflight(fe, fd, need - 1, 0, 2, QS), -2);
	fe_assert_violation(fe, VHU_RULE_SIZE);
	assert_int_equal(fe->inflight_ready, 0);
	assert_null(vhu_dev_vring(fe->dev, 0)->inflight.split);
	fe_free(fe);

	/* Enough for one queue, two claimed. */
	fe = inflight_fe(false);
	assert_int_equal(set_inflight(fe, fd, need / 2, 0, 2, QS), -2);
	fe_assert_violation(fe, VHU_RULE_SIZE);
	fe_free(fe);

	/* The size claimed is right but the file is shorter: not mapped. */
	fe = inflight_fe(false);
	assert_int_equal(ftruncate(fd, (off_t)need / 2), 0);
	assert_int_equal(set_inflight(fe, fd, need, 0, 2, QS), -2);
	assert_false(vhu_dev_connected(fe->dev));
	assert_null(vhu_dev_vring(fe->dev, 0)->inflight.split);
	fe_free(fe);
	munmap(va, page_up(need));
	close(fd);
}

/* The area may start anywhere in the file (mmap_offset). */
static void
set_area_at_offset(void **state)
{
	uint64_t per = vhu_inflight_queue_size(false, QS);
	struct fe *fe = inflight_fe(false);
	struct vhu_inflight_split *q;
	uint8_t *va;
	int fd = own_area(8192 + 2 * per, &va);

	(void)state;
	memset(va, 0x5a, 8192);
	assert_int_equal(set_inflight(fe, fd, 2 * per, 8192 + 64, 2, QS), -2);
	/* Past the end of the file by 64 bytes: refused. */
	assert_false(vhu_dev_connected(fe->dev));
	fe_free(fe);

	fe = inflight_fe(false);
	assert_int_equal(set_inflight(fe, fd, 2 * per, 8192, 2, QS), 0);
	q = (void *)(va + 8192);
	assert_int_equal(q->version, 1);
	assert_int_equal(((struct vhu_inflight_split *)(va + 8192 + per))->
			 desc_num, QS);
	/* What precedes the area is not touched. */
	assert_int_equal(va[0], 0x5a);
	assert_int_equal(va[8191], 0x5a);
	vhu_inflight_split_get(vhu_dev_vring(fe->dev, 0), 4);
	assert_int_equal(q->desc[4].inflight, 1);
	/* An offset inside a page works too. */
	fe_free(fe);
	fe = inflight_fe(false);
	memset(va, 0, 8192 + 2 * per);
	assert_int_equal(set_inflight(fe, fd, 2 * per, 64, 2, QS), 0);
	q = (void *)(va + 64);
	assert_int_equal(q->version, 1);
	assert_ptr_equal(vhu_dev_vring(fe->dev, 1)->inflight.split->desc,
			 vhu_dev_vring(fe->dev, 0)->inflight.split->desc +
			 per / 16);
	vhu_inflight_split_get(vhu_dev_vring(fe->dev, 1), 2);
	assert_int_equal(((struct vhu_inflight_split *)(va + 64 + per))->
			 desc[2].inflight, 1);
	munmap(va, 8192 + 2 * per);
	close(fd);
	fe_free(fe);
}

/* A second GET or SET replaces the first without leaking anything. */
static void
replace_area(void **state)
{
	struct fe *fe = inflight_fe(false);
	struct vhu_inflight_desc d;
	void *first;
	int base, fd1, fd2;

	(void)state;
	base = fe_count_fds();
	fd1 = get_inflight(fe, 2, QS, &d);
	fd2 = get_inflight(fe, 2, QS, &d);
	/* Our two, and the device keeps only the latest. */
	assert_int_equal(fe_count_fds(), base + 3);
	assert_int_equal(set_inflight(fe, fd1, d.mmap_size, 0, 2, QS), 0);
	first = vhu_dev_vring(fe->dev, 0)->inflight.split;
	assert_int_equal(set_inflight(fe, fd2, d.mmap_size, 0, 2, QS), 0);
	assert_ptr_not_equal(vhu_dev_vring(fe->dev, 0)->inflight.split,
			     first);
	assert_false(fe_is_mapped(first, d.mmap_size));
	assert_int_equal(fe->inflight_ready, 4);
	assert_int_equal(fe_count_fds(), base + 3);
	close(fd1);
	close(fd2);
	fe_free(fe);
}

/*
 * A blank area (version 0) is initialized on attach; one that an earlier
 * instance filled is kept as it is, which is what makes recovery work.
 */
static void
set_blank_area_initialized(void **state)
{
	uint64_t per = vhu_inflight_queue_size(false, QS);
	struct fe *fe = inflight_fe(false);
	struct vhu_inflight_split *q0, *q1;
	uint16_t heads[QS];
	uint8_t *va;
	int fd = own_area(2 * per, &va);

	(void)state;
	q0 = (void *)va;
	q1 = (void *)(va + per);
	/* Queue 1 was in use: version 1, two requests in flight. */
	q1->version = 1;
	q1->desc_num = QS;
	q1->used_idx = 9;
	q1->desc[5].inflight = 1;
	q1->desc[5].counter = 40;
	q1->desc[2].inflight = 1;
	q1->desc[2].counter = 41;
	assert_int_equal(set_inflight(fe, fd, 2 * per, 0, 2, QS), 0);
	assert_int_equal(fe->inflight_ready, 2);
	assert_int_equal(q0->version, 1);
	assert_int_equal(q0->desc_num, QS);
	assert_int_equal(q1->version, 1);
	assert_int_equal(q1->desc[5].inflight, 1);
	assert_int_equal(q1->desc[5].counter, 40);
	assert_int_equal(q1->used_idx, 9);
	/* Recovery finds them, oldest first; the counter carries on. */
	assert_int_equal(vhu_inflight_split_recover(vhu_dev_vring(fe->dev, 1),
						    9, heads, QS), 2);
	assert_int_equal(heads[0], 5);
	assert_int_equal(heads[1], 2);
	assert_int_equal(vhu_dev_vring(fe->dev, 1)->inflight_counter, 42);
	assert_int_equal(vhu_inflight_split_recover(vhu_dev_vring(fe->dev, 0),
						    0, heads, QS), 0);
	munmap(va, 2 * per);
	close(fd);
	fe_free(fe);
}

/* The spec's split procedure, step by step. */
static void
split_procedures(void **state)
{
	struct fe *fe = inflight_fe(false);
	struct vhu_vring *vr;
	struct vhu_inflight_split *q;
	const uint16_t fetch[] = { 9, 3, 7, 1 }, batch[] = { 7, 9 };
	uint64_t size;
	unsigned int i;
	int fd;

	(void)state;
	fd = attach_area(fe, false, NULL, &size);
	vr = vhu_dev_vring(fe->dev, 0);
	q = vr->inflight.split;
	assert_non_null(q);
	for (i = 0; i < 4; i++)
		vhu_inflight_split_get(vr, fetch[i]);
	for (i = 0; i < 4; i++) {
		assert_int_equal(q->desc[fetch[i]].inflight, 1);
		assert_int_equal(q->desc[fetch[i]].counter, i);
	}
	assert_int_equal(q->desc[0].inflight, 0);

	/* Supplying 7 then 9: the list runs 9 -> 7 -> (old head). */
	q->last_batch_head = 0;
	vhu_inflight_split_used_begin(vr, batch, 2);
	assert_int_equal(q->last_batch_head, 9);
	assert_int_equal(q->desc[9].next, 7);
	assert_int_equal(q->desc[7].next, 0);
	/* Still in flight until the used index is published. */
	assert_int_equal(q->desc[7].inflight, 1);
	assert_int_equal(q->desc[9].inflight, 1);
	assert_int_equal(q->used_idx, 0);
	vhu_inflight_split_used_end(vr, batch, 2, 2);
	assert_int_equal(q->desc[7].inflight, 0);
	assert_int_equal(q->desc[9].inflight, 0);
	assert_int_equal(q->desc[3].inflight, 1);
	assert_int_equal(q->desc[1].inflight, 1);
	assert_int_equal(q->used_idx, 2);

	/* The next batch chains onto the last one's head. */
	vhu_inflight_split_used_begin(vr, &fetch[1], 1);
	assert_int_equal(q->last_batch_head, 3);
	assert_int_equal(q->desc[3].next, 9);
	vhu_inflight_split_used_end(vr, &fetch[1], 1, 3);
	assert_int_equal(q->used_idx, 3);
	/* Counters keep increasing. */
	vhu_inflight_split_get(vr, 9);
	assert_int_equal(q->desc[9].counter, 4);
	close(fd);
	fe_free(fe);
}

/*
 * A crash after used_begin and after the used ring's idx moved, but
 * before used_end: recovery clears the last batch (its size is the
 * distance between the ring's idx and used_idx) and resubmits the rest.
 */
static void
split_recover_after_used_idx(void **state)
{
	struct fe *fe = inflight_fe(false);
	const uint16_t fetch[] = { 9, 3, 7, 1, 12 }, batch[] = { 7, 9 };
	struct vhu_inflight_split *q;
	struct vhu_vring *vr;
	uint16_t heads[QS];
	uint64_t size;
	unsigned int i;
	int fd, n;

	(void)state;
	fd = attach_area(fe, false, NULL, &size);
	vr = vhu_dev_vring(fe->dev, 0);
	q = vr->inflight.split;
	for (i = 0; i < 5; i++)
		vhu_inflight_split_get(vr, fetch[i]);
	/* An earlier completed batch: 12 went back at used idx 5. */
	vhu_inflight_split_used_begin(vr, &fetch[4], 1);
	vhu_inflight_split_used_end(vr, &fetch[4], 1, 5);
	/* Then 7 and 9, the ring's idx 5 -> 7, crash. */
	vhu_inflight_split_used_begin(vr, batch, 2);
	n = vhu_inflight_split_recover(vr, 7, heads, QS);
	assert_int_equal(n, 2);
	/* By counter: 3 was fetched before 1. */
	assert_int_equal(heads[0], 3);
	assert_int_equal(heads[1], 1);
	assert_int_equal(q->desc[7].inflight, 0);
	assert_int_equal(q->desc[9].inflight, 0);
	assert_int_equal(q->used_idx, 7);
	/* Only the last batch was taken: 12 was done before anyway. */
	assert_int_equal(q->desc[12].inflight, 0);
	/* New fetches come after the recovered ones. */
	assert_int_equal(vr->inflight_counter, 4);
	/* Recovering again changes nothing. */
	assert_int_equal(vhu_inflight_split_recover(vr, 7, heads, QS), 2);
	assert_int_equal(heads[0], 3);
	close(fd);
	fe_free(fe);
}

/* The crash came before the ring's idx moved: the batch is resubmitted. */
static void
split_recover_before_used_idx(void **state)
{
	struct fe *fe = inflight_fe(false);
	const uint16_t fetch[] = { 9, 3, 7, 1 }, batch[] = { 7, 9 };
	struct vhu_inflight_split *q;
	struct vhu_vring *vr;
	uint16_t heads[QS];
	uint64_t size;
	unsigned int i;
	int fd, n;

	(void)state;
	fd = attach_area(fe, false, NULL, &size);
	vr = vhu_dev_vring(fe->dev, 0);
	q = vr->inflight.split;
	for (i = 0; i < 4; i++)
		vhu_inflight_split_get(vr, fetch[i]);
	vhu_inflight_split_used_begin(vr, batch, 2);
	n = vhu_inflight_split_recover(vr, 0, heads, QS);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(heads[i], fetch[i]);
	assert_int_equal(q->desc[7].inflight, 1);
	assert_int_equal(q->desc[9].inflight, 1);
	assert_int_equal(q->used_idx, 0);
	/* At most max heads are written. */
	heads[2] = 0xbeef;
	assert_int_equal(vhu_inflight_split_recover(vr, 0, heads, 2), 2);
	assert_int_equal(heads[0], 9);
	assert_int_equal(heads[1], 3);
	assert_int_equal(heads[2], 0xbeef);
	close(fd);
	fe_free(fe);
}

/* The spec's packed procedure for one chain of three descriptors. */
static void
packed_procedures(void **state)
{
	struct fe *fe = inflight_fe(true);
	struct vhu_inflight_packed *q;
	struct vhu_vring *vr;
	uint64_t size;
	uint16_t e;
	int fd;

	(void)state;
	fd = attach_area(fe, true, NULL, &size);
	vr = vhu_dev_vring(fe->dev, 0);
	q = vr->inflight.packed;
	assert_non_null(q);
	assert_int_equal(q->desc_num, QS);

	e = vhu_inflight_packed_get(vr, true, false, 7, DESC_F_NEXT, 100,
				    0x10000);
	assert_int_equal(e, 0);
	assert_int_equal(q->desc[0].inflight, 1);
	assert_int_equal(q->desc[0].num, 1);
	assert_int_equal(q->free_head, 1);
	assert_int_equal(q->old_free_head, 0);
	e = vhu_inflight_packed_get(vr, false, false, 7, DESC_F_NEXT, 200,
				    0x20000);
	assert_int_equal(e, 0);
	e = vhu_inflight_packed_get(vr, false, true, 7, 0, 300, 0x30000);
	assert_int_equal(e, 0);
	assert_int_equal(q->desc[0].num, 3);
	assert_int_equal(q->desc[0].last, 2);
	assert_int_equal(q->desc[0].counter, 0);
	assert_int_equal(q->desc[0].inflight, 1);
	assert_int_equal(q->desc[0].addr, 0x10000);
	assert_int_equal(q->desc[0].len, 100);
	assert_int_equal(q->desc[0].flags, DESC_F_NEXT);
	assert_int_equal(q->desc[0].id, 7);
	assert_int_equal(q->desc[1].addr, 0x20000);
	assert_int_equal(q->desc[1].len, 200);
	assert_int_equal(q->desc[1].flags, DESC_F_NEXT);
	assert_int_equal(q->desc[1].id, 7);
	assert_int_equal(q->desc[2].addr, 0x30000);
	assert_int_equal(q->desc[2].len, 300);
	assert_int_equal(q->desc[2].flags, 0);
	assert_int_equal(q->desc[2].id, 7);
	assert_int_equal(q->free_head, 3);
	assert_int_equal(q->old_free_head, 3);

	/* A second, single-descriptor chain. */
	e = vhu_inflight_packed_get(vr, true, true, 9, 0, 64, 0x40000);
	assert_int_equal(e, 3);
	assert_int_equal(q->desc[3].num, 1);
	assert_int_equal(q->desc[3].last, 3);
	assert_int_equal(q->desc[3].counter, 1);
	assert_int_equal(q->free_head, 4);

	/* The first chain is used: three descriptors of the ring. */
	e = 0;
	vhu_inflight_packed_used_begin(vr, &e, 1, 3, true);
	assert_int_equal(q->desc[2].next, 4);
	assert_int_equal(q->free_head, 0);
	assert_int_equal(q->used_idx, 3);
	assert_int_equal(q->used_wrap_counter, 1);
	/* Nothing committed yet. */
	assert_int_equal(q->old_free_head, 4);
	assert_int_equal(q->old_used_idx, 0);
	assert_int_equal(q->desc[0].inflight, 1);
	vhu_inflight_packed_used_end(vr, &e, 1);
	assert_int_equal(q->desc[0].inflight, 0);
	assert_int_equal(q->old_free_head, 0);
	assert_int_equal(q->old_used_idx, 3);
	assert_int_equal(q->old_used_wrap_counter, 1);
	assert_int_equal(q->desc[3].inflight, 1);
	/* The free list now runs 0 -> 1 -> 2 -> 4: 3 is still taken. */
	assert_int_equal(q->desc[0].next, 1);
	assert_int_equal(q->desc[1].next, 2);
	assert_int_equal(q->desc[2].next, 4);
	/* The next chain reuses entry 0. */
	e = vhu_inflight_packed_get(vr, true, true, 11, 0, 1, 0x50000);
	assert_int_equal(e, 0);
	assert_int_equal(q->desc[0].counter, 2);
	assert_int_equal(q->free_head, 1);
	close(fd);
	fe_free(fe);
}

/*
 * Two chains in flight, X completed earlier; then Y is being returned
 * when the back-end crashes. Entry 1 (Y) is older than entry 0 (Z).
 */
static struct vhu_vring *
packed_crash_setup(struct fe *fe, int *fd, uint8_t **descs)
{
	struct vhu_inflight_packed *q;
	struct vhu_vring *vr;
	uint64_t size;
	uint16_t e;

	assert_non_null(fe_add_region(fe, 0, 1 << 20));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	*fd = attach_area(fe, true, NULL, &size);
	*descs = packed_ring(fe, 0, 0x1000);
	vr = vhu_dev_vring(fe->dev, 0);
	q = vr->inflight.packed;
	assert_non_null(q);
	/* The driver made descriptors 0..3 available (wrap counter 1). */
	for (e = 0; e < 4; e++)
		set_desc_flags(*descs, e, DESC_F_AVAIL);

	/* X (entry 0) and Y (entry 1), one descriptor each. */
	assert_int_equal(vhu_inflight_packed_get(vr, true, true, 1, 0, 1, 1),
			 0);
	assert_int_equal(vhu_inflight_packed_get(vr, true, true, 2, 0, 1, 2),
			 1);
	/* X goes back in full: ring slot 0 marked used. */
	e = 0;
	vhu_inflight_packed_used_begin(vr, &e, 1, 1, true);
	set_desc_flags(*descs, 0, DESC_F_AVAIL | DESC_F_USED);
	vhu_inflight_packed_used_end(vr, &e, 1);
	/* Z (entry 0 again, counter 2) spans two descriptors. */
	assert_int_equal(vhu_inflight_packed_get(vr, true, false, 3,
						 DESC_F_NEXT, 1, 3), 0);
	assert_int_equal(vhu_inflight_packed_get(vr, false, true, 3, 0, 1, 4),
			 0);
	assert_int_equal(q->desc[0].counter, 2);
	assert_int_equal(q->desc[1].counter, 1);
	assert_int_equal(q->old_free_head, 3);
	/* Y is being returned at ring slot 1: begin, then the crash. */
	e = 1;
	vhu_inflight_packed_used_begin(vr, &e, 1, 2, true);
	assert_int_equal(q->old_used_idx, 1);
	assert_int_equal(q->used_idx, 2);
	return vr;
}

/* (a) The crash came before the flags were written: roll back. */
static void
packed_recover_rollback(void **state)
{
	struct fe *fe = inflight_fe(true);
	struct vhu_inflight_packed *q;
	struct vhu_vring *vr;
	uint16_t entries[QS];
	uint8_t *descs;
	int fd, n;

	(void)state;
	vr = packed_crash_setup(fe, &fd, &descs);
	q = vr->inflight.packed;
	/* Slot 1 still shows the driver's available flags. */
	n = vhu_inflight_packed_recover(vr, entries, QS);
	assert_int_equal(n, 2);
	assert_int_equal(entries[0], 1);	/* Y, counter 1 */
	assert_int_equal(entries[1], 0);	/* Z, counter 2 */
	assert_int_equal(q->free_head, 3);
	assert_int_equal(q->old_free_head, 3);
	assert_int_equal(q->used_idx, 1);
	assert_int_equal(q->old_used_idx, 1);
	assert_int_equal(q->used_wrap_counter, 1);
	assert_int_equal(q->desc[1].inflight, 1);
	assert_int_equal(vr->inflight_counter, 3);
	close(fd);
	fe_free(fe);
}

/* (b) The flags were written before the crash: commit. */
static void
packed_recover_commit(void **state)
{
	struct fe *fe = inflight_fe(true);
	struct vhu_inflight_packed *q;
	struct vhu_vring *vr;
	uint16_t entries[QS];
	uint8_t *descs;
	int fd, n;

	(void)state;
	vr = packed_crash_setup(fe, &fd, &descs);
	q = vr->inflight.packed;
	set_desc_flags(descs, 1, DESC_F_AVAIL | DESC_F_USED);
	n = vhu_inflight_packed_recover(vr, entries, QS);
	assert_int_equal(n, 1);
	assert_int_equal(entries[0], 0);	/* only Z is left */
	assert_int_equal(q->desc[1].inflight, 0);
	assert_int_equal(q->free_head, 1);
	assert_int_equal(q->old_free_head, 1);
	assert_int_equal(q->used_idx, 2);
	assert_int_equal(q->old_used_idx, 2);
	assert_int_equal(q->desc[1].next, 3);
	close(fd);
	fe_free(fe);
}

/*
 * The same decision on the other lap of the ring: with wrap counter 0
 * the driver's available flags are USED alone and a used descriptor
 * shows neither bit.
 */
static void
packed_recover_wrap_zero(void **state)
{
	struct vhu_inflight_packed *q;
	struct vhu_vring *vr;
	uint16_t entries[QS];
	uint8_t *descs;
	struct fe *fe;
	int fd, n;

	(void)state;
	fe = inflight_fe(true);
	vr = packed_crash_setup(fe, &fd, &descs);
	q = vr->inflight.packed;
	q->old_used_wrap_counter = 0;
	q->used_wrap_counter = 0;
	set_desc_flags(descs, 1, DESC_F_USED);
	n = vhu_inflight_packed_recover(vr, entries, QS);
	assert_int_equal(n, 2);
	assert_int_equal(q->used_idx, 1);
	close(fd);
	fe_free(fe);

	fe = inflight_fe(true);
	vr = packed_crash_setup(fe, &fd, &descs);
	q = vr->inflight.packed;
	q->old_used_wrap_counter = 0;
	q->used_wrap_counter = 0;
	set_desc_flags(descs, 1, 0);
	n = vhu_inflight_packed_recover(vr, entries, QS);
	assert_int_equal(n, 1);
	assert_int_equal(entries[0], 0);
	assert_int_equal(q->used_idx, 2);
	close(fd);
	fe_free(fe);
}

/*
 * Hostile areas. The front-end's own area for two queues: the device
 * maps exactly mmap_size bytes; the rest of the last page is ours and
 * holds a canary, and where the address space allows, an inaccessible
 * guard follows the mapping so that a stray read faults.
 */
struct hostile {
	struct fe *fe;
	uint64_t per;
	size_t len;		/* the file, whole pages */
	uint8_t *va;		/* our mapping */
	void *guard;
	size_t guard_len;
	int fd;
};

/*
 * Arrange for the next mmap(NULL, len) to land right below guard: Linux
 * maps top-down into the highest hole that fits, so the holes above the
 * guard are filled first (with PROT_NONE fillers, returned in fill[]).
 */
static unsigned int
steer_below(void *guard, size_t len, void **fill, unsigned int max)
{
	unsigned int n = 0;

	while (n < max) {
		void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE |
			       MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			break;
		if ((uint8_t *)p + len == (uint8_t *)guard) {
			munmap(p, len);
			break;
		}
		fill[n++] = p;
	}
	return n;
}

static void
hostile_setup(struct hostile *h, bool packed)
{
	enum { MAX_FILL = 4096 };
	void **fill = calloc(MAX_FILL, sizeof(*fill));
	unsigned int nfill, i;
	uint8_t *dev_end;

	memset(h, 0, sizeof(*h));
	assert_non_null(fill);
	h->fe = inflight_fe(packed);
	h->per = vhu_inflight_queue_size(packed, QS);
	h->len = page_up(2 * h->per);
	h->fd = own_area(h->len, &h->va);
	memset(h->va + 2 * h->per, CANARY, h->len - 2 * h->per);
	/*
	 * An inaccessible guard with room for index 65535 of the packed
	 * layout past queue 1, and the device's mapping steered right
	 * below it. (Not a multiple of 2 MiB, which the kernel would align
	 * for transparent huge pages.)
	 */
	h->guard_len = (4u << 20) + 4096;
	h->guard = mmap(NULL, h->guard_len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(h->guard != MAP_FAILED);
	nfill = steer_below(h->guard, h->len, fill, MAX_FILL);
	assert_int_equal(set_inflight(h->fe, h->fd, 2 * h->per, 0, 2, QS), 0);
	for (i = 0; i < nfill; i++)
		munmap(fill[i], h->len);
	free(fill);
	dev_end = (uint8_t *)vhu_dev_vring(h->fe->dev, 0)->inflight.split +
		  h->len;
	if (dev_end != h->guard)
		print_message("# the guard is not right after the mapping; "
			      "canary only\n");
}

static void
hostile_check_and_free(struct hostile *h)
{
	size_t i;

	for (i = 2 * h->per; i < h->len; i++)
		assert_int_equal(h->va[i], CANARY);
	munmap(h->guard, h->guard_len);
	munmap(h->va, h->len);
	close(h->fd);
	fe_free(h->fe);
}

static void
hostile_split_area(void **state)
{
	const uint16_t wild[] = { QS, 300, 0x8000, 0xffff, 5 };
	uint16_t heads[QS + 8];
	struct vhu_inflight_split *q, *q0;
	struct hostile h;
	struct vhu_vring *vr;
	uint8_t q0_copy[4096 + 64];
	unsigned int i;
	int n;

	(void)state;
	hostile_setup(&h, false);
	/* Queue 1, the last of the area, is the one attacked. */
	vr = vhu_dev_vring(h.fe->dev, 1);
	q = vr->inflight.split;
	q0 = vhu_dev_vring(h.fe->dev, 0)->inflight.split;
	assert_true(h.per <= sizeof(q0_copy));
	for (i = 0; i < QS; i++)
		vhu_inflight_split_get(vr, (uint16_t)i);
	memcpy(q0_copy, q0, h.per);

	q->desc_num = 0xffff;
	q->last_batch_head = 0xfff0;
	for (i = 0; i < QS; i++) {
		q->desc[i].next = (uint16_t)(0xffff - i);
		q->desc[i].inflight = (uint8_t)(i % 3);	/* 0, 1 and 2 */
		q->desc[i].counter = UINT64_MAX - i;
	}
	/* Heads beyond the queue are ignored by every procedure. */
	for (i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
		vhu_inflight_split_get(vr, wild[i]);
	vhu_inflight_split_used_begin(vr, wild, 5);
	assert_int_equal(q->last_batch_head, 5);
	vhu_inflight_split_used_end(vr, wild, 5, 1);
	assert_int_equal(q->desc[5].inflight, 0);

	/* A batch of 32767 starting out of range. */
	q->last_batch_head = 0xfff0;
	q->used_idx = 0;
	n = vhu_inflight_split_recover(vr, 0x7fff, heads, QS + 8);
	assert_true(n >= 0 && n <= QS);
	for (i = 0; i < (unsigned int)n; i++)
		assert_true(heads[i] < QS);

	/* A batch that loops inside the queue: two entries, 65535 steps. */
	q->last_batch_head = 10;
	q->desc[10].next = 11;
	q->desc[11].next = 10;
	q->used_idx = 1;
	n = vhu_inflight_split_recover(vr, 0, heads, QS + 8);
	assert_true(n >= 0 && n <= QS);
	assert_int_equal(q->desc[10].inflight, 0);
	assert_int_equal(q->desc[11].inflight, 0);

	/* Every entry in flight, fewer slots than entries. */
	for (i = 0; i < QS; i++)
		q->desc[i].inflight = 1;
	q->used_idx = 0;
	heads[4] = 0xbeef;
	assert_int_equal(vhu_inflight_split_recover(vr, 0, heads, 4), 4);
	assert_int_equal(heads[4], 0xbeef);
	assert_int_equal(vhu_inflight_split_recover(vr, 0, heads, QS + 8), QS);
	assert_int_equal(vhu_inflight_split_recover(vr, 0, NULL, 0), 0);
	/* Oldest first even with counters near the top. */
	for (i = 1; i < QS; i++)
		assert_true(q->desc[heads[i - 1]].counter <=
			    q->desc[heads[i]].counter);
	/* Queue 0 was not touched by any of it. */
	assert_memory_equal(q0, q0_copy, h.per);
	assert_true(vhu_dev_connected(h.fe->dev));
	hostile_check_and_free(&h);
}

static void
hostile_packed_area(void **state)
{
	struct vhu_inflight_packed *q, *q0;
	uint16_t entries[QS + 8], e;
	struct hostile h;
	struct vhu_vring *vr;
	uint8_t *q0_copy;
	unsigned int i;
	int n;

	(void)state;
	hostile_setup(&h, true);
	/* Queue 1 is the last of the area; give it a real ring too. */
	assert_non_null(fe_add_region(h.fe, 0, 1 << 20));
	assert_int_equal(fe_send_mem_table(h.fe, true), 0);
	(void)packed_ring(h.fe, 1, 0x4000);
	vr = vhu_dev_vring(h.fe->dev, 1);
	q = vr->inflight.packed;
	q0 = vhu_dev_vring(h.fe->dev, 0)->inflight.packed;
	q0_copy = malloc(h.per);
	assert_non_null(q0_copy);
	memcpy(q0_copy, q0, h.per);

	/* Free list heads out of range: nothing is tracked or written. */
	q->desc_num = 0xffff;
	q->free_head = 0xfff0;
	q->old_free_head = 300;
	e = vhu_inflight_packed_get(vr, true, true, 1, 0, 1, 1);
	assert_true(e < QS);
	q->free_head = 3;
	e = vhu_inflight_packed_get(vr, true, true, 1, 0, 1, 1);
	assert_true(e < QS);
	q->old_free_head = 3;
	q->desc[3].next = 0xfffe;
	e = vhu_inflight_packed_get(vr, true, false, 1, 0, 1, 1);
	assert_int_equal(e, 3);
	assert_int_equal(q->free_head, 0xfffe);
	for (i = 0; i < 4; i++) {
		e = vhu_inflight_packed_get(vr, false, i == 3, 1, 0, 1, 1);
		assert_true(e < QS);
	}

	/* Chains whose last is out of range, entries out of range. */
	for (i = 0; i < QS; i++) {
		q->desc[i].last = (uint16_t)(0xffff - i);
		q->desc[i].next = (uint16_t)i;		/* self loops */
		q->desc[i].inflight = 1;
		q->desc[i].counter = i * 7919u % QS;
	}
	{
		const uint16_t wild[] = { QS, 0x8000, 0xffff, 7 };

		vhu_inflight_packed_used_begin(vr, wild, 4, 0x7fff, true);
		vhu_inflight_packed_used_end(vr, wild, 4);
	}
	/* old_used_idx beyond the ring, a free list that loops. */
	q->used_idx = 1;
	q->old_used_idx = 0xfff0;
	q->free_head = 2;
	q->old_free_head = 9;
	n = vhu_inflight_packed_recover(vr, entries, QS + 8);
	assert_true(n >= 0 && n <= QS);
	for (i = 0; i < (unsigned int)n; i++)
		assert_true(entries[i] < QS);
	/* Every entry in flight and no free list at all. */
	for (i = 0; i < QS; i++)
		q->desc[i].inflight = 1;
	q->used_idx = q->old_used_idx = 0;
	q->free_head = q->old_free_head = 0xffff;
	entries[3] = 0xbeef;
	assert_int_equal(vhu_inflight_packed_recover(vr, entries, 3), 3);
	assert_int_equal(entries[3], 0xbeef);
	assert_int_equal(vhu_inflight_packed_recover(vr, entries, QS + 8),
			 QS);
	assert_int_equal(vhu_inflight_packed_recover(vr, NULL, 0), 0);
	assert_memory_equal(q0, q0_copy, h.per);
	free(q0_copy);
	assert_true(vhu_dev_connected(h.fe->dev));
	hostile_check_and_free(&h);
}

/*
 * An attach must not trust the header either: a region whose desc_num
 * disagrees with the queue size is re-initialized, not used as is.
 */
static void
hostile_header_at_attach(void **state)
{
	uint64_t per = vhu_inflight_queue_size(false, QS);
	struct fe *fe = inflight_fe(false);
	struct vhu_inflight_split *q1;
	uint16_t heads[QS];
	uint8_t *va;
	int fd = own_area(2 * per, &va);

	(void)state;
	q1 = (void *)(va + per);
	q1->version = 1;
	q1->desc_num = 0xffff;
	q1->desc[4].inflight = 1;
	assert_int_equal(set_inflight(fe, fd, 2 * per, 0, 2, QS), 0);
	assert_int_equal(vhu_dev_vring(fe->dev, 1)->inflight_num, QS);
	assert_int_equal(q1->desc_num, QS);
	assert_int_equal(vhu_inflight_split_recover(vhu_dev_vring(fe->dev, 1),
						    0, heads, QS), 0);
	/* The version the procedures do check: an unknown one is skipped. */
	q1->version = 2;
	q1->desc[4].inflight = 1;
	assert_int_equal(vhu_inflight_split_recover(vhu_dev_vring(fe->dev, 1),
						    0, heads, QS), 0);
	munmap(va, 2 * per);
	close(fd);
	fe_free(fe);
}

static void
detach_on_reset_device(void **state)
{
	struct fe *fe = inflight_fe(false);
	struct vhu_inflight_desc d;
	void *area;
	unsigned int i;
	int base, fd;

	(void)state;
	base = fe_count_fds();
	fd = get_inflight(fe, 2, QS, &d);
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	area = vhu_dev_vring(fe->dev, 0)->inflight.split;
	assert_non_null(area);
	assert_true(fe_is_mapped(area, d.mmap_size));
	/* Ours, and the one the device keeps from GET_INFLIGHT_FD. */
	assert_int_equal(fe_count_fds(), base + 2);
	fe_send(fe, VHU_REQ_RESET_DEVICE, VHU_VERSION, NULL, 0, NULL, 0);
	assert_true(vhu_dev_connected(fe->dev));
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++)
		assert_null(vhu_dev_vring(fe->dev, i)->inflight.split);
	assert_false(fe_is_mapped(area, d.mmap_size));
	close(fd);
	assert_int_equal(fe_count_fds(), base);
	/* The procedures are no-ops without an area. */
	vhu_inflight_split_get(vhu_dev_vring(fe->dev, 0), 1);
	assert_int_equal(vhu_inflight_split_recover(vhu_dev_vring(fe->dev, 0),
						    0, NULL, 0), 0);
	fe_free(fe);
}

static void
detach_on_disconnect(void **state)
{
	struct fe *fe = inflight_fe(true);
	struct vhu_inflight_desc d;
	void *area;
	unsigned int i;
	int base, fd;

	(void)state;
	base = fe_count_fds();
	fd = get_inflight(fe, 2, QS, &d);
	assert_int_equal(set_inflight(fe, fd, d.mmap_size, 0, 2, QS), 0);
	area = vhu_dev_vring(fe->dev, 1)->inflight.packed;
	assert_non_null(area);
	close(fd);
	close(fe->sock);
	fe->sock = -1;
	vhu_dev_handle_event(fe->dev, fe->dev_sock, VHU_EV_IN);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++)
		assert_null(vhu_dev_vring(fe->dev, i)->inflight.packed);
	assert_false(fe_is_mapped(area, d.mmap_size));
	/* Both ends of the connection are gone with the area's fd. */
	assert_int_equal(fe_count_fds(), base - 2);
	fe_free(fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_split_layout),
		cmocka_unit_test(get_packed_layout),
		cmocka_unit_test(layout_follows_set_features),
		cmocka_unit_test(get_bad_geometry),
		cmocka_unit_test(needs_inflight_feature),
		cmocka_unit_test(set_attaches_each_ring),
		cmocka_unit_test(set_area_too_small),
		cmocka_unit_test(set_area_at_offset),
		cmocka_unit_test(replace_area),
		cmocka_unit_test(set_blank_area_initialized),
		cmocka_unit_test(split_procedures),
		cmocka_unit_test(split_recover_after_used_idx),
		cmocka_unit_test(split_recover_before_used_idx),
		cmocka_unit_test(packed_procedures),
		cmocka_unit_test(packed_recover_rollback),
		cmocka_unit_test(packed_recover_commit),
		cmocka_unit_test(packed_recover_wrap_zero),
		cmocka_unit_test(hostile_split_area),
		cmocka_unit_test(hostile_packed_area),
		cmocka_unit_test(hostile_header_at_attach),
		cmocka_unit_test(detach_on_reset_device),
		cmocka_unit_test(detach_on_disconnect),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
