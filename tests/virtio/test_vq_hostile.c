/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio against a hostile guest, in both ring layouts, on both the
 * transmit (dequeue) and the receive (enqueue) side: descriptors are
 * written straight into the rings, breaking one rule at a time.
 *
 * Every case must end with the queue broken (vq_broken() and the ring's
 * vr.broken), logged once, without a crash, with later bursts doing
 * nothing, and with a second, healthy queue on the same guest memory
 * still moving packets bit-exact.
 *
 * The device's view of guest memory is fenced: the memfd is mapped at
 * the start of a much larger PROT_NONE reservation, so a read or write
 * past the end of the region (or before its start) crashes the test. The
 * memory table describes only the accessible part.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "vqt.h"

#define RING		256
#define MEM_SIZE	(8ULL << 20)
#define GUARD		(256ULL << 20)	/* PROT_NONE either side */
#define HDR		12		/* VERSION_1: with num_buffers */
#define FRAME		1514
#define MAX_FRAME	(65535u + 14u + 4u)	/* 64 KiB + headers */
#define OUTSIDE		(MEM_SIZE + 0x10000)	/* in the guard */

#define FEAT_BASE	(VHU_BIT(VHU_F_VERSION_1))
#define FEAT_IND	(FEAT_BASE | VHU_BIT(VHU_F_RING_INDIRECT_DESC))
#define FEAT_MRG	(FEAT_IND | VHU_BIT(VHU_NET_F_MRG_RXBUF))

#define F_NEXT		VRING_DESC_F_NEXT
#define F_WRITE		VRING_DESC_F_WRITE
#define F_IND		VRING_DESC_F_INDIRECT
#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)

/* Where a case applies. */
#define H_SPLIT		0x1u
#define H_PACKED	0x2u
#define H_TX		0x4u
#define H_RX		0x8u
#define H_ALL		(H_SPLIT | H_PACKED | H_TX | H_RX)

struct hx {
	struct gd_mem mem;	/* the device view is fenced */
	uint8_t *resv;		/* the PROT_NONE reservation */
	struct gd_q bad, good;
	struct vq *bvq, *gvq;
	bool packed;
	bool rx;		/* the case is on the receive side */
};

static uint8_t frame_buf[MAX_FRAME + 8192];
static uint8_t read_buf[MAX_FRAME + 8192];

/* ---- "broken" log lines ------------------------------------------- */

static unsigned int broken_logs;

static void
count_log(enum vhu_log_level level, const char *line)
{
	(void)level;
	if (strstr(line, "broken") != NULL)
		broken_logs++;
}

/* ---- fenced guest memory ------------------------------------------ */

static void
fenced_mem_init(struct hx *h, uint64_t size)
{
	struct gd_mem *m = &h->mem;
	struct vhu_mem_region *r = &m->table.regions[0];
	void *p;

	memset(m, 0, sizeof(*m));
	m->fd = memfd_create("hostile-guest", MFD_CLOEXEC);
	assert_true(m->fd >= 0);
	assert_int_equal(ftruncate(m->fd, (off_t)size), 0);
	m->gva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
		      0);
	assert_true(m->gva != MAP_FAILED);
	h->resv = mmap(NULL, size + 2 * GUARD, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(h->resv != MAP_FAILED);
	p = mmap(h->resv + GUARD, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, m->fd, 0);
	assert_true(p == h->resv + GUARD);
	m->hva = p;
	m->size = size;
	m->brk = 4096;
	m->table.nregions = 1;
	r->gpa = 0;
	r->size = size;		/* only what is accessible */
	r->uva = (uint64_t)(uintptr_t)m->gva;
	r->hva = m->hva;
	r->map_base = m->hva;
	r->map_len = size;
	r->fd = -1;
}

static void
fenced_mem_fini(struct hx *h)
{
	munmap(h->mem.gva, h->mem.size);
	munmap(h->resv, h->mem.size + 2 * GUARD);
	close(h->mem.fd);
}

static void
hx_init(struct hx *h, bool packed, bool rx, uint64_t bad_features,
	bool bad_zc)
{
	memset(h, 0, sizeof(*h));
	assert_non_null(vqt_init());
	fenced_mem_init(h, MEM_SIZE);
	h->packed = packed;
	h->rx = rx;
	assert_int_equal(gd_q_init(&h->good, &h->mem, RING, packed, FEAT_IND),
			 0);
	assert_int_equal(gd_q_init(&h->bad, &h->mem, RING, packed,
				   bad_features), 0);
	h->gvq = vqt_vq(&h->good, true);
	h->bvq = vqt_vq(&h->bad, bad_zc);
	assert_non_null(h->gvq);
	assert_non_null(h->bvq);
	broken_logs = 0;
}

static void
hx_fini(struct hx *h)
{
	vq_free(h->bvq);
	vq_free(h->gvq);
	gd_q_fini(&h->bad);
	gd_q_fini(&h->good);
	fenced_mem_fini(h);
}

/* ---- mbufs and frames --------------------------------------------- */

static struct rte_mbuf *
mbuf_of(const uint8_t *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(vqt_init());

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)len));
	memcpy(rte_pktmbuf_mtod(m, void *), frame, len);
	return m;
}

/* The frame an mbuf chain holds equals want. */
static void
assert_frame(const struct rte_mbuf *m, const uint8_t *want, uint32_t len)
{
	const void *p;

	assert_int_equal(m->pkt_len, len);
	p = rte_pktmbuf_read(m, 0, len, read_buf);
	assert_non_null(p);
	assert_memory_equal(p, want, len);
}

/*
 * The fence holds: a read just past the end of the device's view, or
 * just before its start, kills a child process.
 */
static void
guard_is_armed(void **state)
{
	static const int64_t at[] = { (int64_t)MEM_SIZE, -1 };
	unsigned int i;
	struct hx h;

	(void)state;
	hx_init(&h, false, false, FEAT_BASE, false);
	for (i = 0; i < RTE_DIM(at); i++) {
		int status = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			volatile uint8_t *p = h.mem.hva + at[i];

			/* Not cmocka's handler: it would go on testing. */
			signal(SIGSEGV, SIG_DFL);
			(void)*p;
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* The last byte of the region is accessible. */
	assert_int_equal(h.mem.hva[MEM_SIZE - 1], 0);
	hx_fini(&h);
}

/* ---- the healthy queue -------------------------------------------- */

/*
 * A round on the healthy queue: frames of several shapes out of the
 * guest (copied and lent), then frames into buffers of several shapes,
 * all bit-exact.
 */
static void
healthy(struct hx *h, uint32_t seed)
{
	static const struct gd_shape shapes[] = {
		{ .nsegs = 1 },
		{ .nsegs = 3, .hdr_apart = true },
		{ .nsegs = 2, .indirect = true },
		{ .nsegs = 1 },
	};
	static const uint32_t lens[] = { 1514, 3000, 700, 60 };
	static const uint32_t rx_lens[] = { 60, 700, 1514 };
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint8_t got[4096];
	unsigned int i;
	uint16_t n;

	for (i = 0; i < RTE_DIM(shapes); i++) {
		vqt_frame(frame_buf, lens[i], seed + i);
		assert_true(gd_tx(&h->good, &hdr, frame_buf, lens[i],
				  &shapes[i]) >= 0);
	}
	n = vq_dequeue_burst(h->gvq, pkts, VQ_BURST_MAX);
	assert_int_equal(n, RTE_DIM(shapes));
	for (i = 0; i < n; i++) {
		vqt_frame(frame_buf, lens[i], seed + i);
		assert_frame(pkts[i], frame_buf, lens[i]);
	}
	rte_pktmbuf_free_bulk(pkts, n);
	vq_reap(h->gvq);
	assert_int_equal(gd_tx_reclaim(&h->good), RTE_DIM(shapes));

	for (i = 0; i < 3; i++)
		assert_true(gd_rx_post(&h->good, 2048, &shapes[i]) >= 0);
	for (i = 0; i < 3; i++) {
		vqt_frame(frame_buf, rx_lens[i], seed + 100 + i);
		pkts[i] = mbuf_of(frame_buf, rx_lens[i]);
	}
	assert_int_equal(vq_enqueue_burst(h->gvq, pkts, 3), 3);
	for (i = 0; i < 3; i++) {
		vqt_frame(frame_buf, rx_lens[i], seed + 100 + i);
		assert_int_equal(gd_rx(&h->good, &hdr, got, sizeof(got)),
				 (int)rx_lens[i]);
		assert_memory_equal(got, frame_buf, rx_lens[i]);
	}
	rte_pktmbuf_free_bulk(pkts, 3);
	assert_int_equal(gd_rx(&h->good, &hdr, got, sizeof(got)), 0);
	assert_false(vq_broken(h->gvq));
	assert_false(h->good.vr.broken);
}

/* ---- writing hostile descriptors ---------------------------------- */

/* One descriptor as a case describes it; next is for split rings. */
struct hd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The direction flag a valid descriptor of this case carries. */
static uint16_t
dflag(const struct hx *h)
{
	return h->rx ? F_WRITE : 0;
}

/* len fresh bytes: a header and a frame to transmit, or a pattern. */
static uint64_t
data(struct hx *h, uint32_t len)
{
	uint64_t gpa = gd_alloc(&h->mem, len, 64);
	uint8_t *p = gd_ptr(&h->mem, gpa);

	assert_true(gpa != 0);
	if (h->rx) {
		memset(p, 0x5a, len);
	} else {
		memset(p, 0, len < HDR ? len : HDR);
		if (len > HDR)
			vqt_frame(p + HDR, len - HDR, len);
	}
	return gpa;
}

/* Post the chain d[0..n) on the hostile queue, head first in the ring. */
static void
post(struct hx *h, const struct hd *d, unsigned int n)
{
	struct gd_q *q = &h->bad;
	unsigned int i;

	if (!h->packed) {
		for (i = 0; i < n; i++) {
			q->desc[i].addr = d[i].addr;
			q->desc[i].len = d[i].len;
			q->desc[i].flags = d[i].flags;
			q->desc[i].next = d[i].next;
		}
		q->avail->ring[q->avail_idx & (RING - 1)] = 0;
		__atomic_store_n(&q->avail->idx, ++q->avail_idx,
				 __ATOMIC_RELEASE);
		return;
	}
	/* A fresh packed ring: positions 0..n-1, wrap counter 1. */
	assert_true(n <= RING);
	for (i = n; i-- > 0;) {
		struct vring_packed_desc *p = &q->pdesc[i];

		p->addr = d[i].addr;
		p->len = d[i].len;
		p->id = 0;
		__atomic_store_n(&p->flags, (uint16_t)(d[i].flags | F_AVAIL),
				 __ATOMIC_RELEASE);
	}
}

/*
 * Write an indirect table of n entries at gpa, in the ring's layout
 * (byte by byte: the address may be misaligned on purpose).
 */
static void
table(struct hx *h, uint64_t gpa, const struct hd *d, unsigned int n)
{
	uint8_t *p = gd_ptr(&h->mem, gpa);
	unsigned int i;

	for (i = 0; i < n; i++, p += 16) {
		if (h->packed) {
			struct vring_packed_desc t = {
				.addr = d[i].addr, .len = d[i].len,
				.id = 0, .flags = d[i].flags,
			};

			memcpy(p, &t, sizeof(t));
		} else {
			struct vring_desc t = {
				.addr = d[i].addr, .len = d[i].len,
				.flags = d[i].flags, .next = d[i].next,
			};

			memcpy(p, &t, sizeof(t));
		}
	}
}

/* A valid two-entry indirect table; returns its guest address. */
static uint64_t
valid_table(struct hx *h)
{
	uint64_t gpa = gd_alloc(&h->mem, 64 * 16, 16);
	struct hd t[2] = {
		{ data(h, 600), 600, dflag(h) | F_NEXT, 1 },
		{ data(h, 2000), 2000, dflag(h), 0 },
	};

	table(h, gpa, t, 2);
	return gpa;
}

/* One descriptor on its own. */
static void
post1(struct hx *h, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct hd d = { addr, len, flags, 0 };

	post(h, &d, 1);
}

/* An indirect descriptor on its own. */
static void
post_ind(struct hx *h, uint64_t tbl, uint32_t len)
{
	post1(h, tbl, len, F_IND);
}

/* ---- after the break ----------------------------------------------- */

/* Snapshot of everything the device may write on the hostile ring. */
struct ring_state {
	uint16_t last_avail, last_used;
	bool avail_wrap, used_wrap;
	uint8_t ring[16 * RING + 8 * RING + 8];
};

static void
ring_state(struct hx *h, struct ring_state *s)
{
	struct vhu_vring *vr = &h->bad.vr;

	memset(s, 0, sizeof(*s));
	s->last_avail = vr->last_avail_idx;
	s->last_used = vr->last_used_idx;
	s->avail_wrap = vr->avail_wrap;
	s->used_wrap = vr->used_wrap;
	if (h->packed)
		memcpy(s->ring, h->bad.pdesc, 16 * RING);
	else
		memcpy(s->ring, h->bad.used, 4 + 8 * RING);
}

/*
 * Make the next buffer the device looks at a valid one of len bytes
 * (the hostile one repaired, or a fresh one after it).
 */
static uint64_t
repair(struct hx *h, uint32_t len)
{
	struct gd_q *q = &h->bad;
	uint64_t gpa = data(h, len);
	uint16_t pos = q->vr.last_avail_idx;

	if (h->packed) {
		struct vring_packed_desc *d = &q->pdesc[pos];

		d->addr = gpa;
		d->len = len;
		d->id = 1;
		__atomic_store_n(&d->flags, (uint16_t)(dflag(h) |
				 (q->vr.avail_wrap ? F_AVAIL : F_USED)),
				 __ATOMIC_RELEASE);
	} else {
		q->desc[RING - 1].addr = gpa;
		q->desc[RING - 1].len = len;
		q->desc[RING - 1].flags = dflag(h);
		q->desc[RING - 1].next = 0;
		q->avail->ring[pos & (RING - 1)] = RING - 1;
		__atomic_store_n(&q->avail->idx, (uint16_t)(pos + 1),
				 __ATOMIC_RELEASE);
	}
	return gpa;
}

/*
 * A broken queue stays still: with a valid buffer offered again, bursts
 * in either direction do nothing (enqueue counts its packets as broken)
 * and nothing is written to the guest.
 */
static void
after_broken(struct hx *h)
{
	const struct vq_stats *st = vq_stats(h->bvq);
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct ring_state *before, *after;
	uint64_t bgpa, was;
	uint8_t pattern[2048];

	before = calloc(2, sizeof(*before));
	assert_non_null(before);
	after = before + 1;
	bgpa = repair(h, 2048);
	memcpy(pattern, gd_ptr(&h->mem, bgpa), sizeof(pattern));
	ring_state(h, before);

	assert_int_equal(vq_dequeue_burst(h->bvq, pkts, VQ_BURST_MAX), 0);
	vqt_frame(frame_buf, FRAME, 9);
	pkts[0] = mbuf_of(frame_buf, FRAME);
	pkts[1] = mbuf_of(frame_buf, 60);
	was = st->drops[VQ_DROP_BROKEN];
	assert_int_equal(vq_enqueue_burst(h->bvq, pkts, 2), 0);
	assert_int_equal(st->drops[VQ_DROP_BROKEN], was + 2);
	rte_pktmbuf_free_bulk(pkts, 2);
	vq_reap(h->bvq);
	assert_int_equal(vq_dequeue_burst(h->bvq, pkts, 1), 0);

	ring_state(h, after);
	assert_memory_equal(before, after, sizeof(*before));
	assert_memory_equal(gd_ptr(&h->mem, bgpa), pattern, sizeof(pattern));
	assert_true(vq_broken(h->bvq));
	assert_int_equal(broken_logs, 1);
	free(before);
}

/* ---- the runner ----------------------------------------------------- */

typedef void (*post_fn)(struct hx *h);

/*
 * One hostile case in one layout and direction: the healthy queue works,
 * the case is posted, one burst breaks the queue (once, logged once,
 * nothing handed on), the queue then stays still, and the healthy queue
 * still works.
 */
static void
run_one(const char *name, post_fn fn, uint64_t feat, bool packed, bool rx)
{
	const struct vq_stats *st;
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct hx h;
	uint16_t n;

	print_message("# %s: %s %s\n", name, packed ? "packed" : "split",
		      rx ? "enqueue" : "dequeue");
	hx_init(&h, packed, rx, feat, true);
	st = vq_stats(h.bvq);
	healthy(&h, 1);
	fn(&h);
	if (rx) {
		vqt_frame(frame_buf, FRAME, 3);
		pkts[0] = mbuf_of(frame_buf, FRAME);
		n = vq_enqueue_burst(h.bvq, pkts, 1);
		rte_pktmbuf_free(pkts[0]);
		assert_true(vq_broken(h.bvq));
		assert_int_equal(n, 0);
		assert_true(st->drops[VQ_DROP_BAD_DESC] +
			    st->drops[VQ_DROP_BROKEN] >= 1);
	} else {
		n = vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX);
		if (n > 0)
			rte_pktmbuf_free_bulk(pkts, n);
		assert_true(vq_broken(h.bvq));
		assert_int_equal(n, 0);
	}
	assert_int_equal(st->packets, 0);
	assert_true(h.bad.vr.broken);
	assert_int_equal(broken_logs, 1);
	after_broken(&h);
	assert_false(vq_broken(h.gvq));
	healthy(&h, 2);
	hx_fini(&h);
}

/* A hostile case in every layout and direction where applies. */
static void
run(const char *name, post_fn fn, uint64_t feat, unsigned int where)
{
	unsigned int l, d;

	for (l = 0; l < 2; l++) {
		if (!(where & (l ? H_PACKED : H_SPLIT)))
			continue;
		for (d = 0; d < 2; d++)
			if (where & (d ? H_RX : H_TX))
				run_one(name, fn, feat, l == 1, d == 1);
	}
}

#define HTEST(fn, feat, where)				\
	static void					\
	fn##_test(void **state)				\
	{						\
		(void)state;				\
		run(#fn, fn, feat, where);		\
	}

/* ---- the cases: addresses ------------------------------------------ */

/* A descriptor address outside guest memory, in the guard. */
static void
addr_outside(struct hx *h)
{
	post1(h, OUTSIDE, 256, dflag(h));
}
HTEST(addr_outside, FEAT_BASE, H_ALL)

/* A descriptor starting exactly at the end of guest memory. */
static void
addr_at_end(struct hx *h)
{
	post1(h, MEM_SIZE, 256, dflag(h));
}
HTEST(addr_at_end, FEAT_BASE, H_ALL)

/* A descriptor far above guest memory. */
static void
addr_far(struct hx *h)
{
	post1(h, 1ULL << 40, 256, dflag(h));
}
HTEST(addr_far, FEAT_BASE, H_ALL)

/* A later descriptor of a chain outside guest memory. */
static void
addr_outside_in_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 1 },
		{ OUTSIDE, 2048, dflag(h), 0 },
	};

	post(h, d, 2);
}
HTEST(addr_outside_in_chain, FEAT_BASE, H_ALL)

/*
 * Starts inside and runs past the end: its bytes up to the end are used
 * (a 1514-byte frame does not fit in the 64 left) and the rest is not
 * guest memory.
 */
static void
len_past_end(struct hx *h)
{
	post1(h, MEM_SIZE - 64, 4096, dflag(h));
}
HTEST(len_past_end, FEAT_BASE, H_ALL)

/* The same a page further in, across the last page boundary. */
static void
len_past_end_page(struct hx *h)
{
	post1(h, MEM_SIZE - 1000, 8192, dflag(h));
}
HTEST(len_past_end_page, FEAT_BASE, H_ALL)

/* addr + len overflows 64 bits. */
static void
addr_wraps(struct hx *h)
{
	post1(h, UINT64_MAX - 15, 64, dflag(h));
}
HTEST(addr_wraps, FEAT_BASE, H_ALL)

/* addr + len overflows onto guest physical 0. */
static void
addr_wraps_to_zero(struct hx *h)
{
	post1(h, UINT64_MAX - 4095, 8192, dflag(h));
}
HTEST(addr_wraps_to_zero, FEAT_BASE, H_ALL)

/* ---- the cases: chains ----------------------------------------------- */

/* Split: next points back to the head; the chain never ends. */
static void
loop_back(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 64), 64, dflag(h) | F_NEXT, 1 },
		{ data(h, 64), 64, dflag(h) | F_NEXT, 0 },
	};

	post(h, d, 2);
}
HTEST(loop_back, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* Split: a descriptor that is its own next. */
static void
loop_self(struct hx *h)
{
	struct hd d = { data(h, 64), 64, dflag(h) | F_NEXT, 0 };

	post(h, &d, 1);
}
HTEST(loop_self, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* Packed: NEXT on every descriptor of the ring, a chain longer than it. */
static void
chain_longer_than_ring(struct hx *h)
{
	static struct hd d[RING];
	unsigned int i;

	for (i = 0; i < RING; i++)
		d[i] = (struct hd){ data(h, 64), 64, dflag(h) | F_NEXT, 0 };
	post(h, d, RING);
}
HTEST(chain_longer_than_ring, FEAT_BASE, H_PACKED | H_TX | H_RX)

/* Split: a next index equal to the ring size. */
static void
next_out_of_range(struct hx *h)
{
	struct hd d = { data(h, 64), 64, dflag(h) | F_NEXT, RING };

	post(h, &d, 1);
}
HTEST(next_out_of_range, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* Split: a next index of 0xffff, later in a chain. */
static void
next_out_of_range_far(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 64), 64, dflag(h) | F_NEXT, 1 },
		{ data(h, 64), 64, dflag(h) | F_NEXT, 0xffff },
	};

	post(h, d, 2);
}
HTEST(next_out_of_range_far, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* ---- the cases: indirect tables -------------------------------------- */

/* An indirect table holding an indirect descriptor. */
static void
ind_nested(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16), inner = valid_table(h);
	struct hd t[2] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 1 },
		{ inner, 32, F_IND, 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(ind_nested, FEAT_IND, H_ALL)

/* A nested indirect descriptor as the table's first entry. */
static void
ind_nested_first(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16), inner = valid_table(h);
	struct hd t = { inner, 32, F_IND, 0 };

	table(h, tbl, &t, 1);
	post_ind(h, tbl, 16);
}
HTEST(ind_nested_first, FEAT_IND, H_ALL)

/* An indirect descriptor as the second descriptor of a chain. */
static void
ind_in_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 1 },
		{ valid_table(h), 32, F_IND, 0 },
	};

	post(h, d, 2);
}
HTEST(ind_in_chain, FEAT_IND, H_ALL)

/* An indirect head that also says NEXT. */
static void
ind_with_next(struct hx *h)
{
	struct hd d[2] = {
		{ valid_table(h), 32, F_IND | F_NEXT, 1 },
		{ data(h, 100), 100, dflag(h), 0 },
	};

	post(h, d, 2);
}
HTEST(ind_with_next, FEAT_IND, H_ALL)

/* An indirect table of length 0. */
static void
ind_len_zero(struct hx *h)
{
	post_ind(h, valid_table(h), 0);
}
HTEST(ind_len_zero, FEAT_IND, H_ALL)

/* An indirect table whose length is not a multiple of 16. */
static void
ind_len_odd(struct hx *h)
{
	post_ind(h, valid_table(h), 24);
}
HTEST(ind_len_odd, FEAT_IND, H_ALL)

/* An indirect table shorter than one descriptor. */
static void
ind_len_short(struct hx *h)
{
	post_ind(h, valid_table(h), 8);
}
HTEST(ind_len_short, FEAT_IND, H_ALL)

/* An indirect table of more entries than the ring has. */
static void
ind_too_long(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 16 * (RING + 1), 16);
	struct hd t = { data(h, 100), 100, dflag(h), 0 };

	table(h, tbl, &t, 1);
	post_ind(h, tbl, 16 * (RING + 1));
}
HTEST(ind_too_long, FEAT_IND, H_ALL)

/* An indirect table outside guest memory. */
static void
ind_outside(struct hx *h)
{
	post_ind(h, OUTSIDE, 32);
}
HTEST(ind_outside, FEAT_IND, H_ALL)

/* An indirect table running past the end of guest memory. */
static void
ind_past_end(struct hx *h)
{
	struct hd t = { data(h, 100), 100, dflag(h), 0 };

	table(h, MEM_SIZE - 16, &t, 1);
	post_ind(h, MEM_SIZE - 16, 64);
}
HTEST(ind_past_end, FEAT_IND, H_ALL)

/* An indirect table whose address wraps. */
static void
ind_wraps(struct hx *h)
{
	post_ind(h, UINT64_MAX - 15, 64);
}
HTEST(ind_wraps, FEAT_IND, H_ALL)

/* An indirect table at an address not aligned for its descriptors. */
static void
ind_misaligned(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64 + 16, 16) + 4;
	struct hd t[2] = {
		{ data(h, 600), 600, dflag(h) | F_NEXT, 1 },
		{ data(h, 600), 600, dflag(h), 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(ind_misaligned, FEAT_IND, H_ALL)

/* An odd indirect table address. */
static void
ind_misaligned_odd(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64 + 16, 16) + 1;
	struct hd t = { data(h, 600), 600, dflag(h), 0 };

	table(h, tbl, &t, 1);
	post_ind(h, tbl, 16);
}
HTEST(ind_misaligned_odd, FEAT_IND, H_ALL)

/* A valid indirect table when INDIRECT_DESC was not negotiated. */
static void
ind_not_negotiated(struct hx *h)
{
	post_ind(h, valid_table(h), 32);
}
HTEST(ind_not_negotiated, FEAT_BASE, H_ALL)

/* Split: a next index past the end of an indirect table. */
static void
ind_next_out_of_range(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16);
	struct hd t[2] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 2 },
		{ data(h, 100), 100, dflag(h), 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(ind_next_out_of_range, FEAT_IND, H_SPLIT | H_TX | H_RX)

/* Split: a loop inside an indirect table. */
static void
ind_loop(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16);
	struct hd t[2] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 1 },
		{ data(h, 100), 100, dflag(h) | F_NEXT, 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(ind_loop, FEAT_IND, H_SPLIT | H_TX | H_RX)

/* ---- the cases: lengths ------------------------------------------------ */

/* A zero-length descriptor on its own. */
static void
zero_len_first(struct hx *h)
{
	post1(h, data(h, 64), 0, dflag(h));
}
HTEST(zero_len_first, FEAT_BASE, H_ALL)

/* A zero-length descriptor heading a chain. */
static void
zero_len_head_of_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 64), 0, dflag(h) | F_NEXT, 1 },
		{ data(h, 2048), 2048, dflag(h), 0 },
	};

	post(h, d, 2);
}
HTEST(zero_len_head_of_chain, FEAT_BASE, H_ALL)

/* A zero-length descriptor later in a chain. */
static void
zero_len_later(struct hx *h)
{
	struct hd d[3] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 1 },
		{ data(h, 64), 0, dflag(h) | F_NEXT, 2 },
		{ data(h, 2048), 2048, dflag(h), 0 },
	};

	post(h, d, 3);
}
HTEST(zero_len_later, FEAT_BASE, H_ALL)

/* A zero-length descriptor last in a chain. */
static void
zero_len_last(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 2048), 2048, dflag(h) | F_NEXT, 1 },
		{ data(h, 64), 0, dflag(h), 0 },
	};

	post(h, d, 2);
}
HTEST(zero_len_last, FEAT_BASE, H_ALL)

/* A zero-length entry of an indirect table. */
static void
zero_len_in_table(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16);
	struct hd t[2] = {
		{ data(h, 100), 100, dflag(h) | F_NEXT, 1 },
		{ data(h, 64), 0, dflag(h), 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(zero_len_in_table, FEAT_IND, H_ALL)

/* ---- the cases: directions --------------------------------------------- */

/* A write-only descriptor to transmit. */
static void
tx_write_only(struct hx *h)
{
	post1(h, data(h, 200), 200, F_WRITE);
}
HTEST(tx_write_only, FEAT_BASE, H_SPLIT | H_PACKED | H_TX)

/* A write-only descriptor later in a transmit chain. */
static void
tx_write_only_in_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 100), 100, F_NEXT, 1 },
		{ data(h, 200), 200, F_WRITE, 0 },
	};

	post(h, d, 2);
}
HTEST(tx_write_only_in_chain, FEAT_BASE, H_SPLIT | H_PACKED | H_TX)

/* A write-only entry in a transmit indirect table. */
static void
tx_write_only_in_table(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16);
	struct hd t[2] = {
		{ data(h, 100), 100, F_NEXT, 1 },
		{ data(h, 200), 200, F_WRITE, 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(tx_write_only_in_table, FEAT_IND, H_SPLIT | H_PACKED | H_TX)

/* A read-only descriptor to receive into. */
static void
rx_read_only(struct hx *h)
{
	post1(h, data(h, 2048), 2048, 0);
}
HTEST(rx_read_only, FEAT_BASE, H_SPLIT | H_PACKED | H_RX)

/* A read-only descriptor later in a receive chain. */
static void
rx_read_only_in_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 100), 100, F_WRITE | F_NEXT, 1 },
		{ data(h, 2048), 2048, 0, 0 },
	};

	post(h, d, 2);
}
HTEST(rx_read_only_in_chain, FEAT_BASE, H_SPLIT | H_PACKED | H_RX)

/* A read-only entry in a receive indirect table. */
static void
rx_read_only_in_table(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16);
	struct hd t[2] = {
		{ data(h, 100), 100, F_WRITE | F_NEXT, 1 },
		{ data(h, 2048), 2048, 0, 0 },
	};

	table(h, tbl, t, 2);
	post_ind(h, tbl, 32);
}
HTEST(rx_read_only_in_table, FEAT_IND, H_SPLIT | H_PACKED | H_RX)

/* ---- the cases: headers ------------------------------------------------- */

/* A transmit buffer of 8 bytes: less than the 12-byte header. */
static void
tx_short_header(struct hx *h)
{
	post1(h, data(h, 8), 8, 0);
}
HTEST(tx_short_header, FEAT_BASE, H_SPLIT | H_PACKED | H_TX)

/* A transmit chain of 4 + 7 bytes: still less than the header. */
static void
tx_short_header_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 4), 4, F_NEXT, 1 },
		{ data(h, 7), 7, 0, 0 },
	};

	post(h, d, 2);
}
HTEST(tx_short_header_chain, FEAT_BASE, H_SPLIT | H_PACKED | H_TX)

/* A transmit indirect table of one 11-byte buffer. */
static void
tx_short_header_table(struct hx *h)
{
	uint64_t tbl = gd_alloc(&h->mem, 64, 16);
	struct hd t = { data(h, 11), 11, 0, 0 };

	table(h, tbl, &t, 1);
	post_ind(h, tbl, 16);
}
HTEST(tx_short_header_table, FEAT_IND, H_SPLIT | H_PACKED | H_TX)

/* With MRG_RXBUF, a receive buffer of 8 bytes. */
static void
rx_mrg_short_header(struct hx *h)
{
	post1(h, data(h, 8), 8, F_WRITE);
}
HTEST(rx_mrg_short_header, FEAT_MRG, H_SPLIT | H_PACKED | H_RX)

/* With MRG_RXBUF, a receive chain of 5 + 6 bytes. */
static void
rx_mrg_short_header_chain(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 5), 5, F_WRITE | F_NEXT, 1 },
		{ data(h, 6), 6, F_WRITE, 0 },
	};

	post(h, d, 2);
}
HTEST(rx_mrg_short_header_chain, FEAT_MRG, H_SPLIT | H_PACKED | H_RX)

/* ---- the cases: the split avail ring -------------------------------- */

/* Valid one-descriptor buffers in every slot, avail ring in order. */
static void
fill_valid(struct hx *h)
{
	struct gd_q *q = &h->bad;
	unsigned int i;

	for (i = 0; i < RING; i++) {
		q->desc[i].addr = data(h, 128);
		q->desc[i].len = 128;
		q->desc[i].flags = dflag(h);
		q->desc[i].next = 0;
		q->avail->ring[i] = (uint16_t)i;
	}
}

/* avail->idx a ring and one ahead of what the device has seen. */
static void
avail_jump(struct hx *h)
{
	fill_valid(h);
	__atomic_store_n(&h->bad.avail->idx, RING + 1, __ATOMIC_RELEASE);
}
HTEST(avail_jump, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* avail->idx moved backwards (65535 ahead). */
static void
avail_backwards(struct hx *h)
{
	fill_valid(h);
	__atomic_store_n(&h->bad.avail->idx, 0xffff, __ATOMIC_RELEASE);
}
HTEST(avail_backwards, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* An avail ring entry equal to the ring size. */
static void
avail_entry_out_of_range(struct hx *h)
{
	fill_valid(h);
	h->bad.avail->ring[0] = RING;
	__atomic_store_n(&h->bad.avail->idx, 1, __ATOMIC_RELEASE);
}
HTEST(avail_entry_out_of_range, FEAT_BASE, H_SPLIT | H_TX | H_RX)

/* An avail ring entry of 0xffff after a valid one. */
static void
avail_entry_far(struct hx *h)
{
	fill_valid(h);
	h->bad.avail->ring[1] = 0xffff;
	__atomic_store_n(&h->bad.avail->idx, 2, __ATOMIC_RELEASE);
}

/*
 * Split, both directions: the burst may take the valid buffer in front,
 * then breaks on the bad entry (run by hand for that one allowance).
 */
static void
avail_entry_far_test(void **state)
{
	unsigned int d;

	(void)state;
	for (d = 0; d < 2; d++) {
		const struct vq_stats *st;
		struct rte_mbuf *pkts[VQ_BURST_MAX];
		struct hx h;
		uint16_t n;

		print_message("# avail_entry_far: split %s\n",
			      d ? "enqueue" : "dequeue");
		hx_init(&h, false, d == 1, FEAT_BASE, true);
		st = vq_stats(h.bvq);
		healthy(&h, 1);
		avail_entry_far(&h);
		if (d == 1) {
			vqt_frame(frame_buf, 100, 3);
			pkts[0] = mbuf_of(frame_buf, 100);
			pkts[1] = mbuf_of(frame_buf, 100);
			n = vq_enqueue_burst(h.bvq, pkts, 2);
			rte_pktmbuf_free_bulk(pkts, 2);
			assert_true(n <= 1);
			assert_true(st->drops[VQ_DROP_BAD_DESC] +
				    st->drops[VQ_DROP_BROKEN] >= 1);
		} else {
			n = vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX);
			assert_true(n <= 1);
			if (n > 0)
				rte_pktmbuf_free_bulk(pkts, n);
		}
		assert_true(vq_broken(h.bvq));
		assert_true(h.bad.vr.broken);
		assert_int_equal(broken_logs, 1);
		after_broken(&h);
		healthy(&h, 2);
		hx_fini(&h);
	}
}

/*
 * Not a violation: avail->idx exactly a ring ahead (the ring full) goes
 * through, every buffer comes back, nothing is broken.
 */
static void
avail_full_ring_ok(void **state)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	unsigned int total = 0, i;
	struct hx h;
	uint16_t n;

	(void)state;
	hx_init(&h, false, false, FEAT_BASE, true);
	fill_valid(&h);
	__atomic_store_n(&h.bad.avail->idx, RING, __ATOMIC_RELEASE);
	for (i = 0; i < RING / VQ_BURST_MAX + 1; i++) {
		n = vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX);
		total += n;
		if (n > 0)
			rte_pktmbuf_free_bulk(pkts, n);
	}
	assert_int_equal(total, RING);
	assert_false(vq_broken(h.bvq));
	assert_int_equal(__atomic_load_n(&h.bad.used->idx, __ATOMIC_ACQUIRE),
			 RING);
	assert_int_equal(broken_logs, 0);
	hx_fini(&h);
}

/* ---- what is not a violation: frames too big ------------------------ */

/*
 * Transmit a frame of len bytes shaped by s on the hostile queue: it is
 * dropped as too big, the buffer comes back, the queue stays healthy and
 * carries a normal frame afterwards.
 */
static void
too_big_one(bool packed, const struct gd_shape *s, uint32_t len, bool zc)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	struct hx h;
	uint16_t n;

	print_message("# too big: %s, %u bytes, %u segs%s%s%s\n",
		      packed ? "packed" : "split", len, s->nsegs,
		      s->hdr_apart ? ", header apart" : "",
		      s->indirect ? ", indirect" : "",
		      zc ? ", zero-copy" : "");
	hx_init(&h, packed, false, FEAT_IND, zc);
	st = vq_stats(h.bvq);
	vqt_frame(frame_buf, len, len);
	assert_true(gd_tx(&h.bad, &hdr, frame_buf, len, s) >= 0);
	n = vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX);
	if (n > 0)
		rte_pktmbuf_free_bulk(pkts, n);
	assert_false(vq_broken(h.bvq));
	assert_false(h.bad.vr.broken);
	assert_int_equal(broken_logs, 0);
	assert_int_equal(n, 0);
	assert_int_equal(st->drops[VQ_DROP_TOO_BIG], 1);
	vq_reap(h.bvq);
	assert_int_equal(gd_tx_reclaim(&h.bad), 1);

	vqt_frame(frame_buf, FRAME, 77);
	assert_true(gd_tx(&h.bad, &hdr, frame_buf, FRAME, &one) >= 0);
	assert_int_equal(vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX), 1);
	assert_frame(pkts[0], frame_buf, FRAME);
	rte_pktmbuf_free(pkts[0]);
	vq_reap(h.bvq);
	assert_int_equal(gd_tx_reclaim(&h.bad), 1);
	assert_false(vq_broken(h.bvq));
	healthy(&h, 3);
	hx_fini(&h);
}

/* Too-big frames in chains: the header in its own descriptor or first. */
static void
tx_too_big_chain(void **state)
{
	static const struct gd_shape shapes[] = {
		{ .nsegs = 1, .hdr_apart = true },
		{ .nsegs = 4 },
		{ .nsegs = 3, .hdr_apart = true, .indirect = true },
		{ .nsegs = 2, .indirect = true },
	};
	static const uint32_t lens[] = { MAX_FRAME + 1, 69000 };
	unsigned int l, s, k, z;

	(void)state;
	for (l = 0; l < 2; l++)
		for (s = 0; s < RTE_DIM(shapes); s++)
			for (k = 0; k < RTE_DIM(lens); k++)
				for (z = 0; z < 2; z++)
					too_big_one(l == 1, &shapes[s],
						    lens[k], z == 1);
}

/*
 * A too-big frame in one descriptor (plain, or the one entry of an
 * indirect table) is as much a too-big frame: dropped, not a violation.
 */
static void
tx_too_big_one_desc(bool packed)
{
	static const struct gd_shape shapes[] = {
		{ .nsegs = 1 },
		{ .nsegs = 1, .indirect = true },
	};
	static const uint32_t lens[] = { MAX_FRAME + 1, 66000, 69000 };
	unsigned int s, k;

	for (s = 0; s < RTE_DIM(shapes); s++)
		for (k = 0; k < RTE_DIM(lens); k++)
			too_big_one(packed, &shapes[s], lens[k], false);
}

static void
tx_too_big_one_desc_split(void **state)
{
	(void)state;
	tx_too_big_one_desc(false);
}

static void
tx_too_big_one_desc_packed(void **state)
{
	(void)state;
	tx_too_big_one_desc(true);
}

/*
 * With zero-copy on, a one-descriptor frame just over the limit (still
 * small enough to be lent) is dropped as too big, not handed on.
 */
static void
tx_too_big_zero_copy(bool packed)
{
	static const struct gd_shape one = { .nsegs = 1 };
	static const uint32_t lens[] = { MAX_FRAME + 1, 65600,
					 65535 + 128 };
	unsigned int k;

	for (k = 0; k < RTE_DIM(lens); k++)
		too_big_one(packed, &one, lens[k], true);
}

static void
tx_too_big_zero_copy_split(void **state)
{
	(void)state;
	tx_too_big_zero_copy(false);
}

static void
tx_too_big_zero_copy_packed(void **state)
{
	(void)state;
	tx_too_big_zero_copy(true);
}

/* A frame of exactly 64 KiB + headers goes through, bit-exact. */
static void
tx_max_frame_ok(void **state)
{
	static const struct gd_shape shapes[] = {
		{ .nsegs = 1 },
		{ .nsegs = 1, .hdr_apart = true },
		{ .nsegs = 5, .indirect = true },
	};
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	unsigned int l, s, z;
	struct hx h;

	(void)state;
	for (l = 0; l < 2; l++)
		for (s = 0; s < RTE_DIM(shapes); s++)
			for (z = 0; z < 2; z++) {
				hx_init(&h, l == 1, false, FEAT_IND, z == 1);
				vqt_frame(frame_buf, MAX_FRAME, s);
				assert_true(gd_tx(&h.bad, &hdr, frame_buf,
						  MAX_FRAME, &shapes[s]) >= 0);
				assert_int_equal(vq_dequeue_burst(h.bvq, pkts,
						 VQ_BURST_MAX), 1);
				assert_frame(pkts[0], frame_buf, MAX_FRAME);
				rte_pktmbuf_free(pkts[0]);
				vq_reap(h.bvq);
				assert_int_equal(gd_tx_reclaim(&h.bad), 1);
				assert_false(vq_broken(h.bvq));
				hx_fini(&h);
			}
}

/* ---- strictness: bytes the device did not need --------------------- */

/*
 * A receive descriptor whose length runs past the end of guest memory
 * is a violation even when the packet fits in its valid part: every
 * descriptor's whole (address, length) is bounds-checked.
 */
static void
rx_len_past_end_unused(struct hx *h)
{
	post1(h, MEM_SIZE - 256, 4096, F_WRITE);
}

/* The same for a chain whose last descriptor the packet never reaches. */
static void
rx_chain_tail_outside_unused(struct hx *h)
{
	struct hd d[2] = {
		{ data(h, 2048), 2048, F_WRITE | F_NEXT, 1 },
		{ OUTSIDE, 2048, F_WRITE, 0 },
	};

	post(h, d, 2);
}

static void
run_rx_small(const char *name, post_fn fn, bool packed)
{
	const struct vq_stats *st;
	struct rte_mbuf *m;
	struct hx h;
	uint16_t n;

	print_message("# %s: %s enqueue\n", name, packed ? "packed" : "split");
	hx_init(&h, packed, true, FEAT_BASE, true);
	st = vq_stats(h.bvq);
	fn(&h);
	vqt_frame(frame_buf, 60, 5);
	m = mbuf_of(frame_buf, 60);
	n = vq_enqueue_burst(h.bvq, &m, 1);
	rte_pktmbuf_free(m);
	assert_true(vq_broken(h.bvq));
	assert_true(h.bad.vr.broken);
	assert_int_equal(n, 0);
	assert_int_equal(st->packets, 0);
	assert_int_equal(broken_logs, 1);
	after_broken(&h);
	healthy(&h, 2);
	hx_fini(&h);
}

#define RX_SMALL_TEST(fn, layout, packed)			\
	static void						\
	fn##_##layout(void **state)				\
	{							\
		(void)state;					\
		run_rx_small(#fn, fn, packed);			\
	}

RX_SMALL_TEST(rx_len_past_end_unused, split, false)
RX_SMALL_TEST(rx_len_past_end_unused, packed, true)
RX_SMALL_TEST(rx_chain_tail_outside_unused, split, false)
RX_SMALL_TEST(rx_chain_tail_outside_unused, packed, true)

/*
 * A too-big transmit chain whose last descriptor is outside guest
 * memory: the descriptors after the size limit are still validated.
 */
static void
tx_too_big_tail_outside(struct hx *h)
{
	struct hd d[3] = {
		{ data(h, 1000), 1000, F_NEXT, 1 },
		{ data(h, 66000), 66000, F_NEXT, 2 },
		{ OUTSIDE, 100, 0, 0 },
	};

	post(h, d, 3);
}

static void
tx_too_big_tail_outside_split(void **state)
{
	(void)state;
	run("tx_too_big_tail_outside", tx_too_big_tail_outside, FEAT_BASE,
	    H_SPLIT | H_TX);
}

static void
tx_too_big_tail_outside_packed(void **state)
{
	(void)state;
	run("tx_too_big_tail_outside", tx_too_big_tail_outside, FEAT_BASE,
	    H_PACKED | H_TX);
}

/* ---- accounting ------------------------------------------------------ */

/*
 * Each packet of a burst that meets a broken queue is counted once:
 * three packets, the first buffer hostile, make three drops in all.
 */
static void
rx_drop_accounting(bool packed)
{
	struct rte_mbuf *pkts[3];
	const struct vq_stats *st;
	uint64_t drops = 0;
	unsigned int i;
	struct hx h;

	hx_init(&h, packed, true, FEAT_BASE, true);
	st = vq_stats(h.bvq);
	rx_read_only(&h);
	vqt_frame(frame_buf, 100, 1);
	for (i = 0; i < 3; i++)
		pkts[i] = mbuf_of(frame_buf, 100);
	assert_int_equal(vq_enqueue_burst(h.bvq, pkts, 3), 0);
	rte_pktmbuf_free_bulk(pkts, 3);
	assert_true(vq_broken(h.bvq));
	for (i = 0; i < VQ_DROP_MAX; i++)
		drops += st->drops[i];
	print_message("# bad_desc %" PRIu64 " broken %" PRIu64 "\n",
		      st->drops[VQ_DROP_BAD_DESC], st->drops[VQ_DROP_BROKEN]);
	assert_int_equal(drops, 3);
	hx_fini(&h);
}

static void
rx_drop_accounting_split(void **state)
{
	(void)state;
	rx_drop_accounting(false);
}

static void
rx_drop_accounting_packed(void **state)
{
	(void)state;
	rx_drop_accounting(true);
}

/* ---- a hostile buffer inside a batch ------------------------------ */

/*
 * Buffers are read VQ_BATCH (4) at a time when all of them are plain
 * single descriptors. A batch holding one hostile buffer must be judged
 * as strictly as one buffer at a time: the buffers before it go through
 * bit-exact, the bad one breaks the queue (or, too big, is dropped), and
 * nothing after it is touched.
 */
enum bad_kind {
	B_OUTSIDE,		/* address in the guard */
	B_PAST_END,		/* length runs past the region's end */
	B_WRAPS,		/* address + length wraps */
	B_ZERO_LEN,
	B_WRONG_DIR,		/* WRITE on transmit, read-only on receive */
	B_SHORT_HDR,		/* transmit: shorter than the header */
	B_TOO_BIG,		/* transmit: over 64 KiB plus headers */
	B_IND_OFF,		/* INDIRECT without the feature */
	B_NEXT_RANGE,		/* split: NEXT to a descriptor past the ring */
	B_HEAD_RANGE,		/* split: an avail entry past the ring */
	B_KINDS
};

static const char *const bad_names[B_KINDS] = {
	"outside", "past_end", "wraps", "zero_len", "wrong_dir", "short_hdr",
	"too_big", "ind_off", "next_range", "head_range",
};

#define BATCH		4
#define BATCH_FRAME	1000	/* lent when zero-copy: over 512 */

/* The bad buffer of kind at ring slot k, as descriptor fields. */
static struct hd
bad_desc(struct hx *h, enum bad_kind kind)
{
	struct hd d = { data(h, 2048), 2048, dflag(h), 0 };

	switch (kind) {
	case B_OUTSIDE:
		d.addr = OUTSIDE;
		break;
	case B_PAST_END:
		d.addr = MEM_SIZE - 1000;
		d.len = 2000;
		break;
	case B_WRAPS:
		d.addr = UINT64_MAX - 500;
		d.len = 1000;
		break;
	case B_ZERO_LEN:
		d.len = 0;
		break;
	case B_WRONG_DIR:
		d.flags ^= F_WRITE;
		break;
	case B_SHORT_HDR:
		d.len = HDR - 2;
		break;
	case B_TOO_BIG:
		d.len = MAX_FRAME + HDR + 1;
		d.addr = data(h, d.len);
		break;
	case B_IND_OFF:
		d.addr = valid_table(h);
		d.len = 32;
		d.flags = F_IND;
		break;
	case B_NEXT_RANGE:
		d.flags |= F_NEXT;
		d.next = RING + 5;
		break;
	default:
		break;
	}
	return d;
}

/* Post BATCH one-descriptor buffers at ring slots 0..3, ids 0..3. */
static void
post_batch(struct hx *h, const struct hd *d)
{
	struct gd_q *q = &h->bad;
	unsigned int i;

	for (i = BATCH; i-- > 0;) {
		if (h->packed) {
			struct vring_packed_desc *p = &q->pdesc[i];

			p->addr = d[i].addr;
			p->len = d[i].len;
			p->id = (uint16_t)i;
			__atomic_store_n(&p->flags,
					 (uint16_t)(d[i].flags | F_AVAIL),
					 __ATOMIC_RELEASE);
		} else {
			q->desc[i].addr = d[i].addr;
			q->desc[i].len = d[i].len;
			q->desc[i].flags = d[i].flags;
			q->desc[i].next = d[i].next;
			q->avail->ring[i] = (uint16_t)i;
		}
	}
	if (!h->packed) {
		q->avail_idx = BATCH;
		__atomic_store_n(&q->avail->idx, BATCH, __ATOMIC_RELEASE);
	}
}

/*
 * Used entries the device wrote on the fresh bad ring: ids 0..n-1, in
 * order unless lent buffers came back in the order they were freed.
 */
static unsigned int
used_ids(struct hx *h, uint32_t want_len, bool ordered)
{
	unsigned int i, n, seen = 0;

	if (!h->packed) {
		n = __atomic_load_n(&h->bad.used->idx, __ATOMIC_ACQUIRE);
		for (i = 0; i < n; i++) {
			const struct vring_used_elem *e = &h->bad.used->ring[i];

			assert_true(e->id < BATCH);
			assert_true(!ordered || e->id == i);
			assert_int_equal(e->len, want_len);
			seen |= 1u << e->id;
		}
	} else {
		for (n = 0; n < BATCH; n++) {
			const struct vring_packed_desc *p = &h->bad.pdesc[n];
			uint16_t f = __atomic_load_n(&p->flags,
						     __ATOMIC_ACQUIRE);

			if ((f & F_USED) == 0)
				break;
			assert_true(p->id < BATCH);
			assert_true(!ordered || p->id == n);
			assert_int_equal(p->len, want_len);
			seen |= 1u << p->id;
		}
	}
	assert_int_equal(seen, (1u << n) - 1);
	return n;
}

static void
batch_case(bool packed, bool rx, bool zc, enum bad_kind kind, unsigned int k)
{
	struct virtio_net_hdr_mrg_rxbuf *vh;
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	bool drop = kind == B_TOO_BIG;	/* dropped, not broken */
	unsigned int i, good = drop ? BATCH - 1 : k;
	struct hd d[BATCH];
	struct hx h;
	uint16_t n;

	hx_init(&h, packed, rx, FEAT_BASE, zc);
	st = vq_stats(h.bvq);
	for (i = 0; i < BATCH; i++) {
		if (i == k) {
			d[i] = bad_desc(&h, kind);
			continue;
		}
		d[i] = (struct hd){ data(&h, HDR + BATCH_FRAME),
				    HDR + BATCH_FRAME, dflag(&h), 0 };
		if (!rx)	/* a distinct frame per buffer */
			vqt_frame((uint8_t *)gd_ptr(&h.mem, d[i].addr) + HDR,
				  BATCH_FRAME, 50 + i);
	}
	post_batch(&h, d);
	if (kind == B_HEAD_RANGE)
		h.bad.avail->ring[k] = RING + 3;
	if (rx) {
		for (i = 0; i < BATCH; i++) {
			vqt_frame(frame_buf, BATCH_FRAME, 50 + i);
			pkts[i] = mbuf_of(frame_buf, BATCH_FRAME);
		}
		n = vq_enqueue_burst(h.bvq, pkts, BATCH);
		rte_pktmbuf_free_bulk(pkts, BATCH);
		assert_int_equal(n, k);
		assert_int_equal(used_ids(&h, HDR + BATCH_FRAME, true), k);
		for (i = 0; i < k; i++) {
			uint8_t *p = gd_ptr(&h.mem, d[i].addr);

			vh = (void *)p;
			assert_int_equal(vh->num_buffers, 1);
			vqt_frame(frame_buf, BATCH_FRAME, 50 + i);
			assert_memory_equal(p + HDR, frame_buf, BATCH_FRAME);
		}
		/* The buffers after the bad one are as the guest left them. */
		for (i = k + 1; i < BATCH; i++) {
			const uint8_t *p = gd_ptr(&h.mem, d[i].addr);
			uint32_t b;

			for (b = 0; b < d[i].len; b++)
				assert_int_equal(p[b], 0x5a);
		}
	} else {
		unsigned int j = 0, avail = rte_mempool_avail_count(vqt_init());

		n = vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX);
		assert_int_equal(n, good);
		for (i = 0; i < BATCH && j < n; i++) {
			if (i == k)
				continue;
			vqt_frame(frame_buf, BATCH_FRAME, 50 + i);
			assert_frame(pkts[j++], frame_buf, BATCH_FRAME);
		}
		rte_pktmbuf_free_bulk(pkts, n);
		vq_reap(h.bvq);
		/* A broken queue keeps no mbufs for a burst it will not take. */
		if (!drop)
			assert_int_equal(rte_mempool_avail_count(vqt_init()),
					 avail);
		/* Lent buffers of a broken queue stay with the device. */
		assert_int_equal(used_ids(&h, 0, !zc),
				 drop ? BATCH : zc ? 0 : k);
	}
	assert_int_equal(st->packets, good);
	if (drop) {
		assert_false(vq_broken(h.bvq));
		assert_int_equal(st->drops[VQ_DROP_TOO_BIG], 1);
		assert_int_equal(broken_logs, 0);
	} else {
		assert_true(vq_broken(h.bvq));
		assert_true(h.bad.vr.broken);
		assert_int_equal(broken_logs, 1);
		after_broken(&h);
	}
	healthy(&h, 3);
	hx_fini(&h);
}

static void
hostile_in_batch(void **state)
{
	unsigned int kind, k, l, dir;

	(void)state;
	for (kind = 0; kind < B_KINDS; kind++)
		for (l = 0; l < 2; l++)
			for (dir = 0; dir < 2; dir++) {
				if ((kind == B_SHORT_HDR || kind == B_TOO_BIG) &&
				    dir == 1)
					continue;	/* transmit rules */
				if ((kind == B_NEXT_RANGE ||
				     kind == B_HEAD_RANGE) && l == 1)
					continue;	/* split rules */
				print_message("# %s in a batch: %s %s\n",
					      bad_names[kind],
					      l ? "packed" : "split",
					      dir ? "enqueue" : "dequeue");
				for (k = 0; k < BATCH; k++) {
					batch_case(l == 1, dir == 1, false,
						   kind, k);
					if (dir == 0)
						batch_case(l == 1, false, true,
							   kind, k);
				}
			}
}

/* ---- a buffer offered twice while lent ----------------------------- */

/*
 * The guest offers the same buffer (split: the same head; packed: the
 * same id) a second time while the first is still lent to an mbuf,
 * which the spec forbids: alone (ids 0, 0) and inside a batch of four
 * (ids 0, 1, 0, 2). The repeat is copied, not lent over the first:
 * every frame arrives, and once the mbufs are freed nothing is held.
 */
static void
zc_duplicate(bool packed, const uint16_t *ids, unsigned int n,
	     unsigned int lent)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	uint64_t gpa[BATCH];
	struct hx h;
	unsigned int i;

	hx_init(&h, packed, false, FEAT_BASE, true);
	st = vq_stats(h.bvq);
	for (i = 0; i < BATCH; i++) {
		gpa[i] = data(&h, HDR + BATCH_FRAME);
		vqt_frame((uint8_t *)gd_ptr(&h.mem, gpa[i]) + HDR,
			  BATCH_FRAME, 60 + i);
		if (packed)
			continue;
		h.bad.desc[i].addr = gpa[i];
		h.bad.desc[i].len = HDR + BATCH_FRAME;
		h.bad.desc[i].flags = 0;
	}
	for (i = n; i-- > 0;) {
		if (packed) {
			struct vring_packed_desc *p = &h.bad.pdesc[i];

			p->addr = gpa[ids[i]];
			p->len = HDR + BATCH_FRAME;
			p->id = ids[i];
			__atomic_store_n(&p->flags, (uint16_t)F_AVAIL,
					 __ATOMIC_RELEASE);
		} else {
			h.bad.avail->ring[i] = ids[i];
		}
	}
	if (!packed)
		__atomic_store_n(&h.bad.avail->idx, n, __ATOMIC_RELEASE);
	assert_int_equal(vq_dequeue_burst(h.bvq, pkts, VQ_BURST_MAX), n);
	assert_int_equal(st->zc_packets, lent);
	assert_int_equal(st->copy_packets, n - lent);
	for (i = 0; i < n; i++) {
		vqt_frame(frame_buf, BATCH_FRAME, 60 + ids[i]);
		assert_frame(pkts[i], frame_buf, BATCH_FRAME);
	}
	assert_int_equal(vq_zc_outstanding(h.bvq), lent);
	rte_pktmbuf_free_bulk(pkts, n);
	vq_reap(h.bvq);
	assert_int_equal(vq_zc_outstanding(h.bvq), 0);
	/* Each came back under the id it was offered with. */
	if (!packed)
		assert_int_equal(h.bad.used->idx, n);
	for (i = 0; i < n; i++)
		if (packed)
			assert_true(h.bad.pdesc[i].flags & F_USED);
	assert_false(vq_broken(h.bvq));
	healthy(&h, 4);
	hx_fini(&h);
}

static void
zc_duplicate_split(void **state)
{
	static const uint16_t twice[] = { 0, 0 }, batch[] = { 0, 1, 0, 2 };

	(void)state;
	zc_duplicate(false, twice, 2, 1);
	zc_duplicate(false, batch, 4, 3);
}

static void
zc_duplicate_packed(void **state)
{
	static const uint16_t twice[] = { 0, 0 }, batch[] = { 0, 1, 0, 2 };

	(void)state;
	zc_duplicate(true, twice, 2, 1);
	zc_duplicate(true, batch, 4, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guard_is_armed),
		cmocka_unit_test(addr_outside_test),
		cmocka_unit_test(addr_at_end_test),
		cmocka_unit_test(addr_far_test),
		cmocka_unit_test(addr_outside_in_chain_test),
		cmocka_unit_test(len_past_end_test),
		cmocka_unit_test(len_past_end_page_test),
		cmocka_unit_test(addr_wraps_test),
		cmocka_unit_test(addr_wraps_to_zero_test),
		cmocka_unit_test(loop_back_test),
		cmocka_unit_test(loop_self_test),
		cmocka_unit_test(chain_longer_than_ring_test),
		cmocka_unit_test(next_out_of_range_test),
		cmocka_unit_test(next_out_of_range_far_test),
		cmocka_unit_test(ind_nested_test),
		cmocka_unit_test(ind_nested_first_test),
		cmocka_unit_test(ind_in_chain_test),
		cmocka_unit_test(ind_with_next_test),
		cmocka_unit_test(ind_len_zero_test),
		cmocka_unit_test(ind_len_odd_test),
		cmocka_unit_test(ind_len_short_test),
		cmocka_unit_test(ind_too_long_test),
		cmocka_unit_test(ind_outside_test),
		cmocka_unit_test(ind_past_end_test),
		cmocka_unit_test(ind_wraps_test),
		cmocka_unit_test(ind_misaligned_test),
		cmocka_unit_test(ind_misaligned_odd_test),
		cmocka_unit_test(ind_not_negotiated_test),
		cmocka_unit_test(ind_next_out_of_range_test),
		cmocka_unit_test(ind_loop_test),
		cmocka_unit_test(zero_len_first_test),
		cmocka_unit_test(zero_len_head_of_chain_test),
		cmocka_unit_test(zero_len_later_test),
		cmocka_unit_test(zero_len_last_test),
		cmocka_unit_test(zero_len_in_table_test),
		cmocka_unit_test(tx_write_only_test),
		cmocka_unit_test(tx_write_only_in_chain_test),
		cmocka_unit_test(tx_write_only_in_table_test),
		cmocka_unit_test(rx_read_only_test),
		cmocka_unit_test(rx_read_only_in_chain_test),
		cmocka_unit_test(rx_read_only_in_table_test),
		cmocka_unit_test(tx_short_header_test),
		cmocka_unit_test(tx_short_header_chain_test),
		cmocka_unit_test(tx_short_header_table_test),
		cmocka_unit_test(rx_mrg_short_header_test),
		cmocka_unit_test(rx_mrg_short_header_chain_test),
		cmocka_unit_test(avail_jump_test),
		cmocka_unit_test(avail_backwards_test),
		cmocka_unit_test(avail_entry_out_of_range_test),
		cmocka_unit_test(avail_entry_far_test),
		cmocka_unit_test(avail_full_ring_ok),
		cmocka_unit_test(tx_too_big_chain),
		cmocka_unit_test(tx_too_big_one_desc_split),
		cmocka_unit_test(tx_too_big_one_desc_packed),
		cmocka_unit_test(tx_too_big_zero_copy_split),
		cmocka_unit_test(tx_too_big_zero_copy_packed),
		cmocka_unit_test(tx_max_frame_ok),
		cmocka_unit_test(tx_too_big_tail_outside_split),
		cmocka_unit_test(tx_too_big_tail_outside_packed),
		cmocka_unit_test(rx_len_past_end_unused_split),
		cmocka_unit_test(rx_len_past_end_unused_packed),
		cmocka_unit_test(rx_chain_tail_outside_unused_split),
		cmocka_unit_test(rx_chain_tail_outside_unused_packed),
		cmocka_unit_test(rx_drop_accounting_split),
		cmocka_unit_test(rx_drop_accounting_packed),
		cmocka_unit_test(hostile_in_batch),
		cmocka_unit_test(zc_duplicate_split),
		cmocka_unit_test(zc_duplicate_packed),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	vhu_set_log_fn(count_log);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
