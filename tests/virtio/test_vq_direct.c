/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio's guest-to-guest copy (vq_peek_burst, vq_put_burst,
 * vq_take_burst) between two software guests, every pair of ring
 * layouts: frames arrive byte for byte with the header the caller
 * judged written over them, nothing changes on the sender before the
 * take, bursts that are not plain are left for the dequeue untouched,
 * receive rings short of buffers or with chained ones take the
 * one-at-a-time path (in mbufs of the receiver's pool, chained as they
 * need), a receiver with no buffer costs no copy, a dirty log is kept,
 * a hostile address leaves the peek to the dequeue, and a packed ring's
 * unfinished burst waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "vqt.h"

#define V1		VHU_BIT(VHU_F_VERSION_1)
#define MRG		VHU_BIT(VHU_NET_F_MRG_RXBUF)
#define INORDER		VHU_BIT(VHU_F_IN_ORDER)
#define HCSUM		VHU_BIT(VHU_NET_F_CSUM)
#define LOG_ALL		VHU_BIT(VHU_F_LOG_ALL)

#define BUF		2048u	/* receive buffers */
#define ROOM		2048u	/* the test pool's data room */
#define PAGE		4096u

static uint8_t want[4096];
static uint8_t got[4096];
static const struct virtio_net_hdr_mrg_rxbuf no_hdr;
static const struct gd_shape one = { .nsegs = 1 };

/* Sender a and receiver b, of the layouts and features given. */
struct pair {
	struct vqt_fx a, b;
};

static void
open_q(struct vqt_fx *f, bool packed, uint64_t feat, bool wait_bursts)
{
	struct vq_params p = {
		.mp = vqt_init(),
		.owner_lcore = rte_lcore_id(),
		.wait_bursts = wait_bursts,
	};

	assert_int_equal(vqt_fx_guest(f, packed, feat), 0);
	f->vq = vq_create(&f->q.vr, &p);
	assert_non_null(f->vq);
}

static void
open_pair(struct pair *x, bool apacked, uint64_t afeat, bool bpacked,
	  uint64_t bfeat)
{
	open_q(&x->a, apacked, afeat, false);
	open_q(&x->b, bpacked, bfeat, false);
}

static void
close_pair(struct pair *x)
{
	assert_false(vq_broken(x->a.vq));
	assert_false(vq_broken(x->b.vq));
	vqt_fx_close(&x->a);
	vqt_fx_close(&x->b);
}

/* The frame (len, seed) as the sender writes it. */
static uint16_t
send(struct vqt_fx *f, uint32_t len, uint32_t seed)
{
	int id;

	vqt_frame(want, len, seed);
	id = gd_tx(&f->q, &no_hdr, want, len, &one);
	assert_true(id >= 0);
	return (uint16_t)id;
}

static void
post(struct vqt_fx *f, unsigned int n, const struct gd_shape *s)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		assert_true(gd_rx_post(&f->q, BUF, s) >= 0);
}

/* The head vqt_frame() gives every frame, judged as it is. */
static struct vq_head
frame_head(void)
{
	struct vq_head h = { .mask1 = UINT64_MAX };

	vqt_frame(want, 64, 0);
	memcpy(&h.w0, want, sizeof(h.w0));
	memcpy(&h.w1, want + 8, sizeof(h.w1));
	return h;
}

/* What h makes of the first VQ_HEAD_LEN bytes of the frame in buf. */
static void
apply_head(uint8_t *buf, const struct vq_head *h)
{
	uint64_t w1;

	memcpy(buf, &h->w0, sizeof(h->w0));
	memcpy(&w1, buf + 8, sizeof(w1));
	w1 = (w1 & ~h->mask1) | (h->w1 & h->mask1);
	memcpy(buf + 8, &w1, sizeof(w1));
}

/* The receiver gets the frame (len, seed) with h written over it. */
static void
expect_rx(struct vqt_fx *f, uint32_t len, uint32_t seed,
	  const struct vq_head *h)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	int n;

	memset(&hdr, 0xff, sizeof(hdr));
	n = gd_rx(&f->q, &hdr, got, sizeof(got));
	assert_int_equal(n, len);
	vqt_frame(want, len, seed);
	apply_head(want, h);
	assert_memory_equal(got, want, len);
	assert_int_equal(hdr.hdr.flags, 0);
	assert_int_equal(hdr.hdr.gso_type, 0);
	if (f->q.features & MRG)
		assert_int_equal(hdr.num_buffers, 1);
}

static uint32_t
frame_len(unsigned int i)
{
	return 60 + (i * 37u) % 1460u;
}

/*
 * The sender transmits n frames (frame_len(i), seed i), the receiver has
 * buffers posted: the burst is peeked whole, put (taken as many as
 * put), and taken; the sender gets every buffer back.
 */
static void
move_burst(struct pair *x, unsigned int n, const struct vq_head *h,
	   unsigned int put)
{
	struct vq_peek pk;
	unsigned int i;

	for (i = 0; i < n; i++)
		send(&x->a, frame_len(i), i);
	assert_int_equal(vq_peek_burst(x->a.vq, &pk, 64), n);
	assert_int_equal(vq_put_burst(x->b.vq, &pk, h), put);
	vq_take_burst(x->a.vq, &pk);
	assert_int_equal(gd_tx_reclaim(&x->a.q), n);
}

/* Every pair of layouts, with and without IN_ORDER and MRG_RXBUF. */
#define FOUR(fn)							\
static void fn##_ss(void **s) { (void)s; fn(false, false); }		\
static void fn##_sp(void **s) { (void)s; fn(false, true); }		\
static void fn##_ps(void **s) { (void)s; fn(true, false); }		\
static void fn##_pp(void **s) { (void)s; fn(true, true); }
#define TESTS4(fn) cmocka_unit_test(fn##_ss), cmocka_unit_test(fn##_sp), \
		   cmocka_unit_test(fn##_ps), cmocka_unit_test(fn##_pp)

/* ==== the copy ======================================================= */

/*
 * Bursts of 32 frames of many lengths, across both rings' wraps: the
 * peek changes nothing on the sender, the put delivers every frame byte
 * for byte, the take hands every buffer back; the counters agree.
 */
static void
copies(bool apacked, bool bpacked)
{
	static const uint64_t afeat[] = { V1, V1 | INORDER };
	static const uint64_t bfeat[] = { V1, V1 | MRG };
	const struct vq_head h = frame_head();
	unsigned int v, r, i;

	for (v = 0; v < 2; v++) {
		uint64_t bytes = 0, n = 0;
		struct vq_peek pk;
		struct pair x;

		open_pair(&x, apacked, afeat[v], bpacked, bfeat[v]);
		for (r = 0; r < 20; r++) {
			for (i = 0; i < 32; i++)
				send(&x.a, frame_len(r * 32 + i), r * 32 + i);
			post(&x.b, 32, &one);
			assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), 32);
			assert_int_equal(pk.n, 32);
			for (i = 0; i < 32; i++)
				assert_int_equal(pk.len[i],
						 frame_len(r * 32 + i));
			assert_int_equal(vqt_used_seen(&x.a), 0);
			assert_int_equal(vq_stats(x.a.vq)->packets, n);
			assert_int_equal(vq_put_burst(x.b.vq, &pk, &h), 32);
			assert_int_equal(vqt_used_seen(&x.a), 0);
			vq_take_burst(x.a.vq, &pk);
			assert_int_equal(gd_tx_reclaim(&x.a.q), 32);
			for (i = 0; i < 32; i++) {
				expect_rx(&x.b, frame_len(r * 32 + i),
					  r * 32 + i, &h);
				bytes += frame_len(r * 32 + i);
			}
			n += 32;
			assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), 0);
		}
		assert_int_equal(vq_stats(x.a.vq)->packets, n);
		assert_int_equal(vq_stats(x.a.vq)->bytes, bytes);
		assert_int_equal(vq_stats(x.a.vq)->copy_packets, n);
		assert_int_equal(vq_stats(x.a.vq)->direct_packets, n);
		assert_int_equal(vq_stats(x.b.vq)->packets, n);
		assert_int_equal(vq_stats(x.b.vq)->bytes, bytes);
		close_pair(&x);
	}
}
FOUR(copies)

/*
 * What the caller judged is what arrives: the first word whole, the
 * second under its mask, whatever the sender's buffer holds.
 */
static void
head_written(bool apacked, bool bpacked)
{
	/* an untagged frame's mask, then a tagged one's (all 16 bytes) */
	const uint64_t masks[] = {
		rte_cpu_to_le_64(0x0000ffffffffffffull), UINT64_MAX,
	};
	unsigned int i, v;

	for (v = 0; v < RTE_DIM(masks); v++) {
		const struct vq_head h = {
			.w0 = 0x1122334455667788ull,
			.w1 = 0x99aabbccddeeff00ull,
			.mask1 = masks[v],
		};
		struct pair x;

		open_pair(&x, apacked, V1, bpacked, V1);
		post(&x.b, 8, &one);
		move_burst(&x, 8, &h, 8);
		for (i = 0; i < 8; i++) {
			expect_rx(&x.b, frame_len(i), i, &h);
			/* bytes 14 and 15 are the frame's own outside the
			 * mask, the head's inside it
			 */
			vqt_frame(want, frame_len(i), i);
			assert_int_equal(got[14] == want[14] &&
					 got[15] == want[15], v == 0);
		}
		close_pair(&x);
	}
}
FOUR(head_written)

/* ==== what the peek leaves to the dequeue ============================ */

/*
 * The peek returns -1, having read looked buffers, and changes nothing;
 * the dequeue then takes the burst as it would have.
 */
static void
refused_then_dequeued(struct pair *x, unsigned int n, unsigned int looked)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct vq_peek pk;
	uint16_t got_n;

	assert_int_equal(vq_peek_burst(x->a.vq, &pk, 64), -1);
	assert_int_equal(pk.n, looked);
	assert_int_equal(vqt_used_seen(&x->a), 0);
	assert_int_equal(vq_stats(x->a.vq)->packets, 0);
	got_n = vq_dequeue_burst(x->a.vq, pkts, VQ_BURST_MAX);
	assert_int_equal(got_n, n);
	rte_pktmbuf_free_bulk(pkts, got_n);
	assert_int_equal(gd_tx_reclaim(&x->a.q), n);
	assert_int_equal(vq_stats(x->a.vq)->direct_packets, 0);
}

static void
refused(bool apacked, bool bpacked)
{
	const struct gd_shape two = { .nsegs = 2 };
	struct virtio_net_hdr_mrg_rxbuf csum = { 0 };
	struct vq_peek pk;
	struct pair x;
	unsigned int i;

	/* an empty ring: nothing now */
	open_pair(&x, apacked, V1, bpacked, V1);
	assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), 0);
	/* a chained buffer at the head */
	vqt_frame(want, 200, 1);
	assert_true(gd_tx(&x.a.q, &no_hdr, want, 200, &two) >= 0);
	for (i = 0; i < 7; i++)
		send(&x.a, 60, i);
	refused_then_dequeued(&x, 8, 0);
	close_pair(&x);

	/* a frame too short for the header words */
	open_pair(&x, apacked, V1, bpacked, V1);
	for (i = 0; i < 8; i++)
		send(&x.a, i == 5 ? VQ_HEAD_LEN - 1 : 60, i);
	refused_then_dequeued(&x, 8, 8);
	close_pair(&x);

	/* a frame longer than an mbuf holds */
	open_pair(&x, apacked, V1, bpacked, V1);
	for (i = 0; i < 8; i++)
		send(&x.a, i == 2 ? ROOM + 1 : 60, i);
	refused_then_dequeued(&x, 8, 8);
	close_pair(&x);

	/* a header asking for a checksum */
	open_pair(&x, apacked, V1 | HCSUM, bpacked, V1);
	csum.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	csum.hdr.csum_start = 34;
	csum.hdr.csum_offset = 6;
	for (i = 0; i < 8; i++) {
		vqt_frame(want, 60, i);
		assert_true(gd_tx(&x.a.q, i == 3 ? &csum : &no_hdr, want, 60,
				  &one) >= 0);
	}
	refused_then_dequeued(&x, 8, 8);
	close_pair(&x);

	/* a borrowing burst not yet reaped: its used entries wait */
	open_q(&x.a, apacked, V1, false);
	vq_free(x.a.vq);
	{
		struct vq_params p = {
			.mp = vqt_init(), .zero_copy = true,
			.owner_lcore = rte_lcore_id(),
		};
		struct rte_mbuf *pkts[VQ_BURST_MAX];

		x.a.vq = vq_create(&x.a.q.vr, &p);
		assert_non_null(x.a.vq);
		for (i = 0; i < 8; i++)
			send(&x.a, 300, i);
		assert_int_equal(vq_borrow_burst(x.a.vq, pkts, 4), 4);
		assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), -1);
		assert_int_equal(pk.n, 0);
		rte_pktmbuf_free_bulk(pkts, 4);
		vq_reap(x.a.vq);
		assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), 4);
		vq_take_burst(x.a.vq, &pk);
		assert_int_equal(gd_tx_reclaim(&x.a.q), 8);
	}
	vqt_fx_close(&x.a);

	/* a disabled ring */
	open_pair(&x, apacked, V1, bpacked, V1);
	for (i = 0; i < 8; i++)
		send(&x.a, 60, i);
	x.a.q.vr.enabled = false;
	assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), -1);
	assert_int_equal(pk.n, 0);
	x.a.q.vr.enabled = true;
	assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), 8);
	close_pair(&x);
}
FOUR(refused)

/*
 * A descriptor pointing outside guest memory: the peek leaves it (the
 * queue is not broken by a look), the dequeue judges and breaks it.
 */
static void
hostile_address(bool apacked, bool bpacked)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct vq_peek pk;
	struct pair x;
	uint16_t pos;
	unsigned int i;

	open_pair(&x, apacked, V1, bpacked, V1);
	pos = apacked ? x.a.q.next_avail : 0;
	for (i = 0; i < 8; i++)
		send(&x.a, 60, i);
	if (apacked) {
		x.a.q.pdesc[pos].addr = 1ull << 40;
	} else {
		uint16_t head = x.a.q.avail->ring[0];

		x.a.q.desc[head].addr = 1ull << 40;
	}
	assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), -1);
	assert_false(vq_broken(x.a.vq));
	assert_int_equal(vq_dequeue_burst(x.a.vq, pkts, VQ_BURST_MAX), 0);
	assert_true(vq_broken(x.a.vq));
	assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), -1);
	vqt_fx_close(&x.a);
	vqt_fx_close(&x.b);
}
FOUR(hostile_address)

/* ==== receive rings the batches do not take ========================== */

/*
 * Ten receive buffers for 32 frames: two batches, then two one at a
 * time; the rest counted as no room, and every sender buffer back.
 */
static void
rx_short(bool apacked, bool bpacked)
{
	const struct vq_head h = frame_head();
	struct pair x;
	unsigned int i;

	open_pair(&x, apacked, V1, bpacked, V1);
	post(&x.b, 10, &one);
	move_burst(&x, 32, &h, 10);
	for (i = 0; i < 10; i++)
		expect_rx(&x.b, frame_len(i), i, &h);
	assert_int_equal(gd_rx(&x.b.q, NULL, got, sizeof(got)), 0);
	assert_int_equal(vq_stats(x.b.vq)->packets, 10);
	assert_int_equal(vq_stats(x.b.vq)->drops[VQ_DROP_NO_BUFFER], 22);
	close_pair(&x);
}
FOUR(rx_short)

/* Receive buffers of two descriptors, the header apart: one at a time. */
static void
rx_chained(bool apacked, bool bpacked)
{
	const struct gd_shape apart = { .nsegs = 1, .hdr_apart = true };
	struct vq_head h = frame_head();
	struct pair x;
	unsigned int i;

	h.w0 ^= 0xff;	/* a head that is not the sender's */
	open_pair(&x, apacked, V1, bpacked, V1);
	post(&x.b, 16, &apart);
	move_burst(&x, 16, &h, 16);
	for (i = 0; i < 16; i++)
		expect_rx(&x.b, frame_len(i), i, &h);
	close_pair(&x);
}
FOUR(rx_chained)

#define SMALL_N		1023

/* A pool of mbufs that hold 256 bytes, for the receiver alone. */
static struct rte_mempool *
small_pool(void)
{
	static struct rte_mempool *mp;

	if (mp == NULL)
		mp = rte_pktmbuf_pool_create("vqt_small", SMALL_N, 0, 0,
					     RTE_PKTMBUF_HEADROOM + 256,
					     SOCKET_ID_ANY);
	assert_non_null(mp);
	return mp;
}

/* A sender, and a receiver whose queue takes its mbufs from mp. */
static void
open_pair_pool(struct pair *x, bool apacked, bool bpacked,
	       struct rte_mempool *mp)
{
	struct vq_params p = {
		.mp = mp,
		.owner_lcore = rte_lcore_id(),
	};

	open_q(&x->a, apacked, V1, false);
	assert_int_equal(vqt_fx_guest(&x->b, bpacked, V1), 0);
	x->b.vq = vq_create(&x->b.q.vr, &p);
	assert_non_null(x->b.vq);
}

/*
 * A receiver with no buffer at all: no frame is copied for nothing (its
 * pool, drained here, is not even asked: no no_mbuf), every one counted
 * as no room; a disabled one: counted as such. The sender gets its
 * buffers back either way.
 */
static void
rx_none(bool apacked, bool bpacked)
{
	struct rte_mbuf *all[SMALL_N];
	const struct vq_head h = frame_head();
	const struct vq_stats *st;
	struct pair x;

	open_pair_pool(&x, apacked, bpacked, small_pool());
	st = vq_stats(x.b.vq);
	assert_int_equal(rte_pktmbuf_alloc_bulk(small_pool(), all, SMALL_N),
			 0);
	move_burst(&x, 16, &h, 0);
	assert_int_equal(st->drops[VQ_DROP_NO_BUFFER], 16);
	assert_int_equal(st->drops[VQ_DROP_NO_MBUF], 0);
	x.b.q.vr.enabled = false;
	post(&x.b, 16, &one);
	move_burst(&x, 16, &h, 0);
	assert_int_equal(st->drops[VQ_DROP_DISABLED], 16);
	assert_int_equal(gd_rx(&x.b.q, NULL, got, sizeof(got)), 0);
	x.b.q.vr.enabled = true;
	rte_pktmbuf_free_bulk(all, SMALL_N);
	close_pair(&x);
}
FOUR(rx_none)

/*
 * A receiver whose mbufs are smaller than the sender's (another pool):
 * frames the batches do not take are copied into chains of them, whole.
 */
static void
rx_small_pool(bool apacked, bool bpacked)
{
	const struct gd_shape apart = { .nsegs = 1, .hdr_apart = true };
	const struct vq_head h = frame_head();
	struct pair x;
	unsigned int i;

	open_pair_pool(&x, apacked, bpacked, small_pool());
	post(&x.b, 16, &apart);
	move_burst(&x, 16, &h, 16);
	for (i = 0; i < 16; i++)
		expect_rx(&x.b, frame_len(i), i, &h);
	close_pair(&x);
	assert_int_equal(rte_mempool_avail_count(small_pool()), SMALL_N);
}
FOUR(rx_small_pool)

/*
 * Under a dirty log every page written in the receiver is marked: its
 * buffers' and its used ring's.
 */
static void
rx_logged(bool apacked, bool bpacked)
{
	const size_t log_len = (64u << 20) / PAGE / 8;
	const struct vq_head h = frame_head();
	uint8_t *log;
	struct vq_peek pk;
	struct pair x;
	unsigned int i;

	open_pair(&x, apacked, V1, bpacked, V1 | LOG_ALL);
	log = mmap(NULL, log_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(log != MAP_FAILED);
	x.b.q.dp.log_base = log;
	x.b.q.dp.log_size = log_len;
	x.b.q.dp.log_all = true;
	for (i = 0; i < 8; i++)
		send(&x.a, 1000, i);
	for (i = 0; i < 8; i++) {
		int id = gd_rx_post(&x.b.q, BUF, &one);
		uint64_t first, last, p;

		assert_true(id >= 0);
		first = x.b.q.bufs[id].gpa[0];
		last = first + x.b.q.hdr_len + 1000 - 1;
		for (p = first / PAGE; p <= last / PAGE; p++)
			assert_int_equal((log[p / 8] >> (p % 8)) & 1, 0);
	}
	assert_int_equal(vq_peek_burst(x.a.vq, &pk, 64), 8);
	assert_int_equal(vq_put_burst(x.b.vq, &pk, &h), 8);
	vq_take_burst(x.a.vq, &pk);
	for (i = 0; i < 8; i++) {
		uint64_t first = x.b.q.bufs[i].gpa[0], p;
		uint64_t last = first + x.b.q.hdr_len + 1000 - 1;

		for (p = first / PAGE; p <= last / PAGE; p++)
			assert_int_equal((log[p / 8] >> (p % 8)) & 1, 1);
		expect_rx(&x.b, 1000, i, &h);
	}
	if (bpacked) {
		uint64_t p = x.b.q.desc_gpa / PAGE;

		assert_int_equal((log[p / 8] >> (p % 8)) & 1, 1);
	}
	x.b.q.dp.log_all = false;
	close_pair(&x);
	munmap(log, log_len);
}
FOUR(rx_logged)

/* ==== packed rings: an unfinished burst waits one poll =============== */

static void
waits_for_burst(void **state)
{
	struct vq_peek pk;
	struct vqt_fx a;
	unsigned int i;

	(void)state;
	open_q(&a, true, V1, true);
	for (i = 0; i < 8; i++)
		send(&a, 60, i);
	assert_int_equal(vq_peek_burst(a.vq, &pk, 64), 0);
	assert_int_equal(vq_peek_burst(a.vq, &pk, 64), 8);
	vq_take_burst(a.vq, &pk);
	assert_int_equal(gd_tx_reclaim(&a.q), 8);
	assert_false(vq_broken(a.vq));
	vqt_fx_close(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TESTS4(copies),
		TESTS4(head_written),
		TESTS4(refused),
		TESTS4(hostile_address),
		TESTS4(rx_short),
		TESTS4(rx_chained),
		TESTS4(rx_none),
		TESTS4(rx_small_pool),
		TESTS4(rx_logged),
		cmocka_unit_test(waits_for_burst),
	};

	if (vqt_init() == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
