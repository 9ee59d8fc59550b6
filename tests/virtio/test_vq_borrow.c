/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio's borrowing dequeue (vq_borrow_burst) in both ring layouts:
 * which frames are borrowed (their first VQ_BORROW_HEAD bytes copied, the
 * rest left in the guest's buffer) and which copied; used entries held
 * back until vq_reap(); borrowed frames delivered byte for byte into
 * another guest by the batch and the one-at-a-time receive paths; the
 * copied head standing when the sender rewrites its buffer before
 * delivery; IN_ORDER with lent frames among the borrowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vqt.h"

#define V1		VHU_BIT(VHU_F_VERSION_1)
#define MRG		VHU_BIT(VHU_NET_F_MRG_RXBUF)
#define IND		VHU_BIT(VHU_F_RING_INDIRECT_DESC)
#define INORDER		VHU_BIT(VHU_F_IN_ORDER)
#define HCSUM		VHU_BIT(VHU_NET_F_CSUM)

/* zc_min_len just above 1920: frames of 256..1920 bytes are borrowed. */
#define NO_LEND		1921u
/* zc_min_len that lends nothing at all. */
#define NEVER_LEND	100000u
/* The test pool's data room: the largest frame a fresh mbuf holds. */
#define ROOM		2048u

/* The sizes below sit on the rule's edges. */
_Static_assert(VQ_BORROW_HEAD == 64 && VQ_BORROW_MIN == 256,
	       "test_vq_borrow's frame sizes assume a 64-byte head, 256 min");

/* vqt_frame()'s IPv4/UDP: checksum start and offset. */
#define UDP_CSUM_START	(14u + 20u)
#define UDP_CSUM_OFF	6u

static uint8_t want[ROOM + 64];
static uint8_t got[ROOM + 64];
static uint8_t rxb[4 * ROOM];
static const struct virtio_net_hdr_mrg_rxbuf no_hdr;

/* A guest with its queue: zero-copy as asked, lending from zc_min. */
static void
open_q(struct vqt_fx *f, bool packed, uint64_t feat, bool zc,
       uint32_t zc_min)
{
	struct vq_params p = {
		.mp = vqt_init(),
		.zero_copy = zc,
		.zc_min_len = zc_min,
		.owner_lcore = rte_lcore_id(),
	};

	assert_int_equal(vqt_fx_guest(f, packed, feat), 0);
	f->vq = vq_create(&f->q.vr, &p);
	assert_non_null(f->vq);
	assert_int_equal(vq_borrows(f->vq), zc);
}

/* Tear down: nothing held, the queue healthy. */
static void
close_q(struct vqt_fx *f)
{
	assert_false(vq_broken(f->vq));
	assert_int_equal(vq_zc_outstanding(f->vq), 0);
	vqt_fx_close(f);
}

/* The guest transmits the frame (len, seed) shaped s; its buffer id. */
static uint16_t
send(struct vqt_fx *f, uint32_t len, uint32_t seed,
     const struct virtio_net_hdr_mrg_rxbuf *h, const struct gd_shape *s)
{
	static const struct gd_shape one = { .nsegs = 1 };
	int id;

	vqt_frame(want, len, seed);
	id = gd_tx(&f->q, h != NULL ? h : &no_hdr, want, len,
		   s != NULL ? s : &one);
	assert_true(id >= 0);
	return (uint16_t)id;
}

/* m holds exactly the frame (len, seed), in well-formed segments. */
static void
assert_whole(const struct rte_mbuf *m, uint32_t len, uint32_t seed)
{
	const struct rte_mbuf *s;
	uint32_t sum = 0;
	const void *p;

	assert_false(vq_borrowed(m));
	assert_int_equal(m->pkt_len, len);
	for (s = m; s != NULL; s = s->next)
		sum += s->data_len;
	assert_int_equal(sum, len);
	vqt_frame(want, len, seed);
	p = rte_pktmbuf_read(m, 0, len, got);
	assert_non_null(p);
	assert_memory_equal(p, want, len);
}

/*
 * m is the frame (len, seed), borrowed or not as said: a borrowed one
 * holds the head and counts the whole, and vq_unborrow() makes it whole.
 */
static void
check_pkt(struct rte_mbuf *m, uint32_t len, uint32_t seed, bool borrowed)
{
	assert_int_equal(vq_borrowed(m), borrowed);
	assert_int_equal(m->pkt_len, len);
	if (borrowed) {
		assert_int_equal(m->nb_segs, 1);
		assert_int_equal(m->data_len, VQ_BORROW_HEAD);
		vqt_frame(want, len, seed);
		assert_memory_equal(rte_pktmbuf_mtod(m, void *), want,
				    VQ_BORROW_HEAD);
		vq_unborrow(m);
		assert_int_equal(m->nb_segs, 1);
		assert_int_equal(m->data_len, len);
	}
	assert_false(RTE_MBUF_HAS_EXTBUF(m));
	assert_true(m->next == NULL || !RTE_MBUF_HAS_EXTBUF(m->next));
	assert_whole(m, len, seed);
}

/* The guest sees exactly the used buffers ids[0..n), in that order. */
static void
assert_used(const struct vqt_fx *f, const uint16_t *ids, unsigned int n)
{
	unsigned int k;
	uint32_t len;
	uint16_t id;

	for (k = 0; k < n; k++) {
		assert_true(gd_used_peek(&f->q, k, &id, &len));
		assert_int_equal(id, ids[k]);
	}
	assert_false(gd_used_peek(&f->q, n, &id, &len));
}

#define BOTH(fn)							\
static void fn##_split(void **state) { (void)state; fn(false); }	\
static void fn##_packed(void **state) { (void)state; fn(true); }
#define TESTS(fn) cmocka_unit_test(fn##_split), cmocka_unit_test(fn##_packed)

/* ==== 1. the rule ==================================================== */

struct rcase {
	uint32_t len;
	bool borrowed;
};

/* One burst of the frames of c, from one descriptor each, zero header. */
static void
rule_burst(bool packed, uint64_t feat, uint32_t zc_min,
	   const struct rcase *c, uint16_t n)
{
	unsigned int avail = rte_mempool_avail_count(vqt_init());
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	uint64_t bytes = 0, nb = 0;
	struct vqt_fx f;
	uint16_t i;

	open_q(&f, packed, feat, true, zc_min);
	st = vq_stats(f.vq);
	for (i = 0; i < n; i++) {
		send(&f, c[i].len, i, NULL, NULL);
		bytes += c[i].len;
		nb += c[i].borrowed;
	}
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), n);
	for (i = 0; i < n; i++)
		check_pkt(pkts[i], c[i].len, i, c[i].borrowed);
	assert_int_equal(st->packets, n);
	assert_int_equal(st->bytes, bytes);
	assert_int_equal(st->zc_packets, nb);
	assert_int_equal(st->copy_packets, n - nb);
	rte_pktmbuf_free_bulk(pkts, n);
	vq_reap(f.vq);
	assert_int_equal(gd_tx_reclaim(&f.q), n);
	close_q(&f);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), avail);
}

/*
 * Frames of VQ_BORROW_MIN bytes up to the mbuf's data room are borrowed,
 * smaller ones and ones that would need a second segment copied; in the
 * batch path (the first four of a burst) and one at a time (the rest),
 * with the 12-byte header and the legacy 10-byte one.
 */
static void
borrow_rule(bool packed)
{
	static const struct rcase c[] = {
		{ 60, false }, { 255, false }, { 256, true },
		{ 1000, true }, { 1514, true }, { 1920, true },
	};
	static const struct rcase room[] = {
		{ ROOM + 1, false }, { ROOM, true }, { 255, false },
		{ 256, true },
		{ ROOM + 1, false }, { ROOM, true }, { 256, true },
	};

	assert_int_equal(rte_pktmbuf_data_room_size(vqt_init()) -
			 RTE_PKTMBUF_HEADROOM, ROOM);
	rule_burst(packed, V1, NO_LEND, c, RTE_DIM(c));
	rule_burst(packed, 0, NO_LEND, c, RTE_DIM(c));
	rule_burst(packed, V1, NEVER_LEND, room, RTE_DIM(room));
}
BOTH(borrow_rule)

/* ==== 2. not borrowed ================================================ */

/*
 * Copied whole, never borrowed: every frame of a queue made without
 * zero-copy (its used entries go back at once, nothing being borrowed);
 * a frame whose header asks for a checksum the guest negotiated (the
 * same header is ignored, so borrowed, without CSUM; a zero header is
 * borrowed with it); chains (two data descriptors, the header apart,
 * an indirect table of one); and everything vq_dequeue_burst() takes.
 */
static void
not_borrowed(bool packed)
{
	static const struct gd_shape shapes[] = {
		{ .nsegs = 2 }, { .nsegs = 1, .hdr_apart = true },
		{ .nsegs = 1, .indirect = true }, { .nsegs = 3 },
		{ .nsegs = 1 },
	};
	static const uint32_t lens[] = { 256, 1000, 1514, 1920, 300, 1000 };
	static const uint64_t feats[] = { V1, V1 | HCSUM };
	const struct virtio_net_hdr_mrg_rxbuf csum = { .hdr = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = UDP_CSUM_START,
		.csum_offset = UDP_CSUM_OFF,
	} };
	unsigned int avail = rte_mempool_avail_count(vqt_init());
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	unsigned int k;
	struct vqt_fx f;
	uint16_t i;

	open_q(&f, packed, V1, false, NO_LEND);
	for (i = 0; i < 5; i++)
		send(&f, i < 4 ? 1000 : 300, i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), 5);
	assert_int_equal(gd_tx_reclaim(&f.q), 5);
	for (i = 0; i < 5; i++)
		check_pkt(pkts[i], i < 4 ? 1000 : 300, i, false);
	assert_int_equal(vq_stats(f.vq)->zc_packets, 0);
	assert_int_equal(vq_stats(f.vq)->copy_packets, 5);
	rte_pktmbuf_free_bulk(pkts, 5);
	close_q(&f);

	for (k = 0; k < RTE_DIM(feats); k++) {
		bool honoured = (feats[k] & HCSUM) != 0;

		open_q(&f, packed, feats[k], true, NO_LEND);
		for (i = 0; i < 5; i++)
			send(&f, 1000, i, i % 2 == 0 ? &csum : NULL, NULL);
		assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), 5);
		for (i = 0; i < 5; i++) {
			bool asks = i % 2 == 0 && honoured;

			assert_int_equal(pkts[i]->ol_flags &
					 RTE_MBUF_F_TX_L4_MASK,
					 asks ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
			check_pkt(pkts[i], 1000, i, !asks);
		}
		assert_int_equal(vq_stats(f.vq)->zc_packets,
				 honoured ? 2 : 5);
		rte_pktmbuf_free_bulk(pkts, 5);
		vq_reap(f.vq);
		assert_int_equal(gd_tx_reclaim(&f.q), 5);
		close_q(&f);
	}

	open_q(&f, packed, V1 | IND, true, NO_LEND);
	for (i = 0; i < RTE_DIM(shapes); i++)
		send(&f, 1000, i, NULL, &shapes[i]);
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX),
			 RTE_DIM(shapes));
	for (i = 0; i < RTE_DIM(shapes); i++)
		check_pkt(pkts[i], 1000, i, i == RTE_DIM(shapes) - 1);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(shapes));
	vq_reap(f.vq);
	assert_int_equal(gd_tx_reclaim(&f.q), RTE_DIM(shapes));

	/* vq_dequeue_burst() on the same queue: copies, published at once. */
	for (i = 0; i < RTE_DIM(lens); i++)
		send(&f, lens[i], 10 + i, NULL, NULL);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX),
			 RTE_DIM(lens));
	assert_int_equal(gd_tx_reclaim(&f.q), RTE_DIM(lens));
	for (i = 0; i < RTE_DIM(lens); i++)
		check_pkt(pkts[i], lens[i], 10 + i, false);
	assert_int_equal(vq_stats(f.vq)->zc_packets, 1);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(lens));
	close_q(&f);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), avail);
}
BOTH(not_borrowed)

/* ==== 3. used entries held back ====================================== */

/*
 * A borrowing burst's used entries wait, whatever happens to the mbufs,
 * until vq_reap() (in the order the buffers were taken) or the next
 * vq_dequeue_burst(); a burst of 8 takes the batch path, of 3 and 1 the
 * one-at-a-time path, and each borrows all. A second borrowing burst
 * never hands back a buffer of its own.
 */
static void
used_deferred(bool packed)
{
	static const uint16_t bursts[] = { 8, 3, 1 };
	unsigned int avail = rte_mempool_avail_count(vqt_init());
	struct rte_mbuf *pkts[VQ_BURST_MAX], *more[VQ_BURST_MAX];
	uint16_t ids[8], ids2[4], i, b, k, seen;
	struct vqt_fx f;

	open_q(&f, packed, V1, true, NO_LEND);
	for (b = 0; b < RTE_DIM(bursts); b++) {
		uint16_t n = bursts[b];

		for (i = 0; i < n; i++)
			ids[i] = send(&f, 1000, i, NULL, NULL);
		assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), n);
		assert_int_equal(vqt_used_seen(&f), 0);
		for (i = 0; i < n; i++)
			check_pkt(pkts[i], 1000, i, true);
		rte_pktmbuf_free_bulk(pkts, n);
		assert_int_equal(gd_tx_reclaim(&f.q), 0);
		vq_reap(f.vq);
		assert_used(&f, ids, n);
		assert_int_equal(gd_tx_reclaim(&f.q), n);
	}
	assert_int_equal(vq_stats(f.vq)->zc_packets, 12);

	/* The next vq_dequeue_burst(), with nothing new, publishes them. */
	for (i = 0; i < 4; i++)
		ids[i] = send(&f, 1000, i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), 4);
	rte_pktmbuf_free_bulk(pkts, 4);
	assert_int_equal(gd_tx_reclaim(&f.q), 0);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 0);
	assert_used(&f, ids, 4);
	assert_int_equal(gd_tx_reclaim(&f.q), 4);

	/* Two borrowing bursts: the second's buffers stay out. */
	for (i = 0; i < 4; i++)
		ids[i] = send(&f, 1000, i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), 4);
	rte_pktmbuf_free_bulk(pkts, 4);
	for (i = 0; i < 4; i++)
		ids2[i] = send(&f, 1514, 20 + i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(f.vq, more, VQ_BURST_MAX), 4);
	seen = vqt_used_seen(&f);
	assert_true(seen <= 4);
	assert_used(&f, ids, seen);
	for (i = 0; i < 4; i++)
		check_pkt(more[i], 1514, 20 + i, true);
	rte_pktmbuf_free_bulk(more, 4);
	vq_reap(f.vq);
	for (k = 0; k < 4; k++)
		ids[4 + k] = ids2[k];
	assert_used(&f, ids, 8);
	assert_int_equal(gd_tx_reclaim(&f.q), 8);
	close_q(&f);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), avail);
}
BOTH(used_deferred)

/* ==== 4. delivery into another guest ================================= */

enum rx_kind {
	RX_FLAT,	/* one 2048-byte descriptor each: the batch path */
	RX_MRG,		/* mergeable 512-byte buffers: one at a time */
	RX_CHAIN,	/* three descriptors each: one at a time */
};

/* Guest B, its receive ring full of buffers of the kind. */
static void
open_rx(struct vqt_fx *b, bool packed, enum rx_kind kind)
{
	struct gd_shape s = { .nsegs = kind == RX_CHAIN ? 3 : 1 };
	uint32_t len = kind == RX_MRG ? 512 : ROOM;
	unsigned int i;

	open_q(b, packed, kind == RX_MRG ? V1 | MRG : V1, false, 0);
	for (i = 0; i < 64; i++)
		assert_true(gd_rx_post(&b->q, len, &s) >= 0);
}

static uint32_t
frame_len(uint16_t i)
{
	return i % 2 == 0 ? 1000 : 1514;
}

/*
 * n frames borrowed from A and, when overwrite, A's buffers then filled
 * with 0xee; into B, which gets them whole: the head as it was at the
 * borrow, the rest as A's buffer holds it at delivery. A gets its buffers
 * back at vq_reap() only. The batch path leaves the mbufs borrowed; the
 * others make them whole on the way.
 */
static void
deliver(bool packed, enum rx_kind kind, uint16_t n, bool overwrite)
{
	unsigned int avail = rte_mempool_avail_count(vqt_init());
	struct virtio_net_hdr_mrg_rxbuf h;
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	bool batch = kind == RX_FLAT && n >= 4;
	struct vqt_fx a, b;
	uint16_t ids[VQ_BURST_MAX], i;

	open_q(&a, packed, V1, true, NO_LEND);
	open_rx(&b, packed, kind);
	for (i = 0; i < n; i++)
		ids[i] = send(&a, frame_len(i), i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(a.vq, pkts, VQ_BURST_MAX), n);
	for (i = 0; i < n && overwrite; i++) {
		memset(gd_ptr(&a.mem, a.q.bufs[ids[i]].gpa[0] + a.q.hdr_len),
		       0xee, frame_len(i));
		/* What a forwarding decision reads has not changed. */
		vqt_frame(want, frame_len(i), i);
		assert_memory_equal(rte_pktmbuf_mtod(pkts[i], void *), want,
				    VQ_BORROW_HEAD);
	}
	for (i = 0; i < n; i++)
		assert_true(vq_borrowed(pkts[i]));
	assert_int_equal(vq_enqueue_burst(b.vq, pkts, n), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(vq_borrowed(pkts[i]), batch);
		assert_int_equal(pkts[i]->pkt_len, frame_len(i));
	}
	rte_pktmbuf_free_bulk(pkts, n);
	for (i = 0; i < n; i++) {
		uint32_t len = frame_len(i);

		assert_int_equal(gd_rx(&b.q, &h, rxb, sizeof(rxb)), (int)len);
		vqt_frame(want, len, i);
		if (overwrite)
			memset(want + VQ_BORROW_HEAD, 0xee,
			       len - VQ_BORROW_HEAD);
		assert_memory_equal(rxb, want, len);
		assert_int_equal(h.hdr.flags, 0);
		assert_int_equal(h.hdr.gso_type, 0);
		assert_int_equal(h.num_buffers, kind == RX_MRG ?
				 (len + 12 + 511) / 512 : 1);
	}
	assert_int_equal(gd_rx(&b.q, &h, rxb, sizeof(rxb)), 0);
	assert_int_equal(vq_stats(b.vq)->packets, n);
	assert_int_equal(gd_tx_reclaim(&a.q), 0);
	vq_reap(a.vq);
	assert_used(&a, ids, n);
	assert_int_equal(gd_tx_reclaim(&a.q), n);
	close_q(&b);
	close_q(&a);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), avail);
}

/* Byte for byte into one-descriptor, mergeable and chained buffers. */
static void
delivery(bool packed)
{
	deliver(packed, RX_FLAT, 8, false);
	deliver(packed, RX_FLAT, 3, false);
	deliver(packed, RX_MRG, 8, false);
	deliver(packed, RX_MRG, 3, false);
	deliver(packed, RX_CHAIN, 8, false);
	deliver(packed, RX_CHAIN, 3, false);
}
BOTH(delivery)

/*
 * The sender rewrites its frames after the borrow: the receiver still
 * gets the first VQ_BORROW_HEAD bytes the borrow copied (what a
 * forwarding decision read), and the new bytes after them, whether the
 * batch path reads them at delivery or vq_unborrow() inside the enqueue.
 */
static void
toctou(bool packed)
{
	deliver(packed, RX_FLAT, 8, true);
	deliver(packed, RX_FLAT, 3, true);
	deliver(packed, RX_MRG, 8, true);
	deliver(packed, RX_CHAIN, 4, true);
}
BOTH(toctou)

/* ==== 5. IN_ORDER ==================================================== */

/*
 * IN_ORDER with borrowed frames only: back in order at vq_reap(). With a
 * lent frame among them (zc_min_len 1000: 1514 bytes are lent, 300 are
 * borrowed), in the batch path and one at a time: vq_reap() gives back
 * the borrowed frames before the first lent one only, freeing the later
 * lent one changes nothing, and after the first is freed too the rest
 * come back, in order, at the next vq_reap() and not before.
 */
static void
in_order(bool packed)
{
	static const uint32_t lens[] = { 300, 1514, 300, 300, 300, 1514, 300 };
	unsigned int avail = rte_mempool_avail_count(vqt_init());
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint16_t ids[RTE_DIM(lens)], i;
	struct vqt_fx f;

	open_q(&f, packed, V1 | INORDER, true, 1000);
	for (i = 0; i < 6; i++)
		ids[i] = send(&f, 300, i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX), 6);
	assert_int_equal(vqt_used_seen(&f), 0);
	for (i = 0; i < 6; i++)
		check_pkt(pkts[i], 300, i, true);
	rte_pktmbuf_free_bulk(pkts, 6);
	vq_reap(f.vq);
	assert_used(&f, ids, 6);
	assert_int_equal(gd_tx_reclaim(&f.q), 6);

	for (i = 0; i < RTE_DIM(lens); i++)
		ids[i] = send(&f, lens[i], 30 + i, NULL, NULL);
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX),
			 RTE_DIM(lens));
	assert_int_equal(vq_stats(f.vq)->zc_packets, 6 + RTE_DIM(lens));
	assert_int_equal(vq_zc_outstanding(f.vq), 2);
	assert_int_equal(vqt_used_seen(&f), 0);
	for (i = 0; i < RTE_DIM(lens); i++) {
		if (lens[i] < 1000) {
			check_pkt(pkts[i], lens[i], 30 + i, true);
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		assert_false(vq_borrowed(pkts[i]));
		assert_int_equal(pkts[i]->nb_segs, 2);
		assert_true(RTE_MBUF_HAS_EXTBUF(pkts[i]->next));
		assert_whole(pkts[i], lens[i], 30 + i);
	}
	vq_reap(f.vq);
	assert_used(&f, ids, 1);
	assert_int_equal(gd_tx_reclaim(&f.q), 1);
	rte_pktmbuf_free(pkts[5]);
	vq_reap(f.vq);
	assert_int_equal(vqt_used_seen(&f), 0);
	rte_pktmbuf_free(pkts[1]);
	assert_int_equal(vqt_used_seen(&f), 0);
	vq_reap(f.vq);
	assert_used(&f, ids + 1, RTE_DIM(lens) - 1);
	assert_int_equal(gd_tx_reclaim(&f.q), RTE_DIM(lens) - 1);
	close_q(&f);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), avail);
}
BOTH(in_order)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TESTS(borrow_rule),
		TESTS(not_borrowed),
		TESTS(used_deferred),
		TESTS(delivery),
		TESTS(toctou),
		TESTS(in_order),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	if (vqt_init() == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
