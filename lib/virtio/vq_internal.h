/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio internals: the queue structure, zero-copy bookkeeping and
 * the helpers the split and packed paths share. Not installed.
 */
#ifndef VQ_INTERNAL_H
#define VQ_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "vq.h"

/* Largest frame a guest may hand us (TSO): 64 KiB plus headers. */
#define VQ_MAX_PKT_LEN		(65535u + 14u + 4u)
/* The virtio-net header with num_buffers; 10 bytes without. */
#define VQ_HDR_LEN_MRG		12
#define VQ_HDR_LEN_LEGACY	10

/* Transmit offloads the guest negotiated, so may request (host_offloads). */
#define VQ_HOST_CSUM		(1u << 0)	/* VIRTIO_NET_F_CSUM */
#define VQ_HOST_TSO4		(1u << 1)
#define VQ_HOST_TSO6		(1u << 2)
#define VQ_HOST_ECN		(1u << 3)
#define VQ_HOST_UFO		(1u << 4)

/*
 * Used entries collected before they are written out. Publishing early
 * once half full leaves room for one packet of many merged buffers.
 */
#define VQ_USED_BATCH		512

/* Result of walking or copying one descriptor chain. */
enum vq_walk {
	VQ_OK = 0,
	VQ_RETRY,	/* an IOTLB miss was requested; try again later */
	VQ_BAD,		/* the guest broke a rule: the queue is broken */
};

/* One zero-copy buffer the guest lent us, indexed by ring slot. */
struct vq_zc_slot {
	struct rte_mbuf_ext_shared_info shinfo;
	struct vq_zc *zc;
	uint16_t index;		/* this slot's number */
	uint16_t id;		/* buffer id to return */
	uint16_t pos;		/* ring position it was taken at */
	bool lent;		/* out now; owner lcore only */
};

/*
 * Zero-copy state. It outlives the queue while buffers are held: a free
 * callback on any lcore only touches this object, never the queue.
 */
struct vq_zc {
	uint32_t refcnt;	/* held buffers, plus one for the queue */
	unsigned int owner;	/* lcore that may use the local list */
	struct rte_ring *ring;	/* completions from other lcores */
	uint16_t nlocal;	/* completions on the owner lcore */
	uint16_t *local;
	uint16_t size;
	struct vq_zc_slot slot[];
};

/* A used entry waiting to be written (in-order rings with zero-copy). */
struct vq_pend {
	uint16_t id;
	uint16_t ndesc;
	uint32_t len;
	uint8_t done;
};

struct vq {
	/* read every burst */
	struct vhu_vring *vr;
	struct vhu_dp *dp;
	struct rte_mempool *mp;
	uint16_t size;
	uint16_t mask;
	uint8_t hdr_len;
	bool packed;
	bool event_idx;
	bool mrg_rxbuf;
	bool indirect;
	bool in_order;
	bool guest_csum;	/* the guest accepts partial checksums */
	bool guest_tso4;
	bool guest_tso6;
	bool guest_ufo;
	uint8_t host_offloads;	/* VQ_HOST_*: what the guest may ask for */
	bool broken;
	uint32_t mem_hint;	/* region of the last batch translation */

	/* zero-copy dequeue */
	bool zc_on;
	uint16_t zc_held;
	uint16_t zc_max_held;
	uint32_t zc_min_len;
	uint16_t zc_hdr_len;
	struct vq_zc *zc;
	bool borrow_on;		/* frames may be borrowed (zero_copy) */
	bool borrowing;		/* inside vq_borrow_burst() */
	struct vq_pend *pend;	/* in-order zero-copy: by sequence */
	uint16_t pend_head;	/* oldest entry not yet written used */
	uint16_t seq;		/* packed: buffers taken, modulo the size */
	bool wait_bursts;	/* vq_params.wait_bursts */
	uint16_t defer_head;	/* packed: avail position last left once */

	/* used entries of the burst in progress */
	uint16_t nused;
	struct vq_pend used[VQ_USED_BATCH];

	/* fresh mbufs a dequeue burst had no buffer for, kept for the next */
	uint16_t nspare;
	uint8_t spare_check;	/* bursts until the pool is looked at */
	bool pool_low;		/* keep none: the pool is short */
	struct rte_mbuf *spare[VQ_BURST_MAX];

	/* guest notification suppression */
	uint16_t signalled_used;
	bool signalled_valid;

	struct vq_stats stats;
};

/* Translate part of a guest buffer; *got is how much is contiguous. */
static inline void *
vq_map(struct vq *q, uint64_t addr, uint64_t len, uint8_t perm, uint64_t *got)
{
	return vhu_dp_translate_part(q->dp, addr, len, perm, got);
}

/* A descriptor address that did not translate: retry or broken. */
enum vq_walk vq_unmapped(struct vq *q, uint64_t addr, uint8_t perm);
/* Mark the queue broken: counted, logged once, device reset requested. */
void vq_set_broken(struct vq *q, const char *why);

/* Dirty log of a guest write at addr (a descriptor address) of len. */
static inline void
vq_log_write(struct vq *q, uint64_t addr, const void *hva, uint64_t len)
{
	if (likely(!q->dp->log_all))
		return;
	if (q->dp->iommu)
		addr = vhu_hva_to_gpa(q->dp->mem, hva);
	vhu_log_write(q->dp, addr, len);
}

/* virtio-net header <-> mbuf offload flags (vq_net.c). */
int vq_hdr_to_mbuf(struct vq *q, const struct virtio_net_hdr *h,
		   struct rte_mbuf *m);
void vq_mbuf_to_hdr(const struct vq *q, const struct rte_mbuf *m,
		    struct virtio_net_hdr *h);
/* What happened to a packet offered to a guest's receive ring. */
enum vq_rx_result {
	VQ_RX_DONE,	/* delivered */
	VQ_RX_DROPPED,	/* dropped for a counted reason; go on */
	VQ_RX_FULL,	/* no room (or the ring broke): stop the burst */
	VQ_RX_CUT,	/* as FULL, after some of its software segments were
			 * delivered: taken, never to be offered again */
};

/* Deliver one packet, as it is, into the guest's ring. */
typedef enum vq_rx_result (*vq_rx_one_fn)(struct vq *q, struct rte_mbuf *m,
				   void *arg);

/* Nothing for the receive side to fix: the fast path. */
static inline bool
vq_rx_plain(const struct rte_mbuf *m)
{
	return (m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
			       RTE_MBUF_F_TX_UDP_SEG |
			       RTE_MBUF_F_TX_IP_CKSUM)) == 0;
}

/*
 * Make m fit what the guest negotiated (finish checksums, segment it in
 * software) and hand the result to one(). m itself is never modified.
 */
enum vq_rx_result vq_rx_deliver(struct vq *q, struct rte_mbuf *m, vq_rx_one_fn one,
			 void *arg);

/* Reuse an mbuf that was being filled: drop its tail, reset it. */
static inline void
vq_recycle(struct rte_mbuf *m)
{
	if (m->next != NULL)
		rte_pktmbuf_free(m->next);
	rte_pktmbuf_reset(m);
}

/*
 * Mbufs for a dequeue burst of up to count packets: the queue's spares
 * first, then from the pool; all of them, or as many as could be had;
 * 0, counted as no_mbuf, when there were none.
 */
static inline uint16_t
vq_alloc_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t count)
{
	unsigned int have = RTE_MIN(q->nspare, count), left;

	q->nspare -= have;
	memcpy(pkts, &q->spare[q->nspare], have * sizeof(*pkts));
	if (have == count ||
	    likely(rte_pktmbuf_alloc_bulk(q->mp, pkts + have,
					  count - have) == 0))
		return count;
	/* The count includes other lcores' caches: halve until it fits. */
	q->pool_low = true;	/* until vq_keep_spare() looks again */
	left = RTE_MIN(rte_mempool_avail_count(q->mp), count - have - 1u);
	for (; left > 0; left /= 2)
		if (rte_pktmbuf_alloc_bulk(q->mp, pkts + have, left) == 0)
			return (uint16_t)(have + left);
	if (have == 0)
		q->stats.drops[VQ_DROP_NO_MBUF]++;
	return (uint16_t)have;
}

/*
 * A poll found the ring empty, or the pool runs low: the spares go back
 * to the pool, so that only queues with traffic hold any.
 */
static inline void
vq_drop_spares(struct vq *q)
{
	if (q->nspare == 0)
		return;
	rte_mempool_put_bulk(q->mp, (void **)q->spare, q->nspare);
	q->nspare = 0;
}

#define VQ_SPARE_CHECK		64

/*
 * Mbufs free in the pool's common store, per-lcore caches not counted:
 * its driver's count, where rte_mempool_avail_count() would also read a
 * cache line of each of RTE_MAX_LCORE caches.
 */
static inline unsigned int
vq_pool_free(const struct rte_mempool *mp)
{
	return rte_mempool_get_ops(mp->ops_index)->get_count(mp);
}

/*
 * Keep the n fresh (reset) mbufs at pkts a burst did not fill for the
 * next one: a packed ring does not tell how many buffers it holds, so
 * its bursts allocate for a full one (and any burst may stop early).
 * Not on a broken queue, which is polled no more, nor while the pool is
 * short: less than a quarter of it in its common store (per-lcore caches
 * not counted), looked at every VQ_SPARE_CHECK such bursts, or after a
 * burst could not have all it asked for. However many queues there are,
 * their spares do not drain the pool. What is not kept goes back; fresh
 * mbufs need no freeing, only their pool.
 */
static inline void
vq_keep_spare(struct vq *q, struct rte_mbuf **pkts, unsigned int n)
{
	unsigned int k = RTE_MIN(n, RTE_DIM(q->spare) - q->nspare);

	if (unlikely(q->spare_check-- == 0)) {
		q->spare_check = VQ_SPARE_CHECK - 1;
		q->pool_low = vq_pool_free(q->mp) < q->mp->size / 4;
	}
	if (unlikely(q->pool_low || q->broken)) {
		vq_drop_spares(q);
		k = 0;
	}
	memcpy(&q->spare[q->nspare], pkts, k * sizeof(*pkts));
	q->nspare += k;
	if (unlikely(k < n))
		rte_mempool_put_bulk(q->mp, (void **)(pkts + k), n - k);
}

/* A transmit chain being turned into an mbuf (vq_copy.c). */
struct vq_tx {
	struct rte_mbuf *m;
	uint8_t hdr[VQ_HDR_LEN_MRG];
	uint32_t hgot;		/* header bytes gathered */
	uint32_t total;		/* chain bytes seen */
	bool too_big;
	bool nomem;
};

enum vq_tx_result {
	VQ_TX_PACKET,		/* m holds a packet */
	VQ_TX_DROPPED,		/* consumed, nothing to hand on */
	VQ_TX_STOP,		/* not consumed: retry later */
	VQ_TX_BROKEN,
};

static inline void
vq_tx_begin(struct vq_tx *t, struct rte_mbuf *m)
{
	t->m = m;
	t->hgot = 0;
	t->total = 0;
	t->too_big = false;
	t->nomem = false;
}

/* One validated readable descriptor of a transmit chain. */
enum vq_walk vq_tx_desc(struct vq *q, struct vq_tx *t, uint64_t addr,
			uint32_t len, uint16_t flags);
/* How a one-descriptor buffer was taken without a copy. */
enum vq_tx_zc {
	VQ_ZC_NO,		/* it was not: copy it */
	VQ_ZC_LENT,		/* returned when t->m is freed */
	VQ_ZC_BORROWED,		/* t->m is the packet (vq_borrow_burst()) */
};

/* Lend or borrow a one-descriptor buffer to t->m instead of copying it. */
enum vq_tx_zc vq_tx_lend(struct vq *q, struct vq_tx *t, uint64_t addr,
			 uint32_t len, uint16_t slot, uint16_t id,
			 uint16_t pos);
enum vq_tx_result vq_tx_finish(struct vq *q, struct vq_tx *t);
/*
 * The batch path: a one-descriptor readable buffer already translated to
 * p, with hdr_len < len <= VQ_MAX_PKT_LEN + hdr_len. Lent when the
 * zero-copy policy allows (*zc), else copied into t->m.
 */
enum vq_tx_result vq_tx_flat(struct vq *q, struct vq_tx *t, uint8_t *p,
			     uint32_t len, uint16_t slot, uint16_t id,
			     uint16_t pos, bool *zc);

/* A dequeue burst's counts, added to the queue's once at its end. */
struct vq_tx_sum {
	uint64_t bytes;
	uint16_t packets;
	uint16_t zc;
};

/*
 * Account for one dequeued buffer: true when m goes to the caller; a
 * dropped packet, or any packet of a disabled ring (consumed and
 * discarded, as the spec says), leaves m reset for the next one.
 */
static inline bool
vq_tx_count(struct vq *q, struct vq_tx_sum *sum, struct rte_mbuf *m,
	    enum vq_tx_result r, bool zc, bool enabled)
{
	if (unlikely(r != VQ_TX_PACKET || !enabled)) {
		if (r == VQ_TX_PACKET)
			q->stats.drops[VQ_DROP_DISABLED]++;
		vq_recycle(m);	/* a lent buffer returns here */
		return false;
	}
	sum->zc += zc || vq_borrowed(m);
	sum->packets++;
	sum->bytes += m->pkt_len;
	return true;
}

/* A packet being scattered into receive buffers (vq_copy.c). */
struct vq_rx {
	const struct rte_mbuf *seg;
	uint32_t off;		/* within seg */
	uint32_t left;		/* frame bytes not yet written */
	uint32_t want;		/* header bytes not yet placed */
	unsigned int k;		/* header pieces */
	uint8_t *hp[VQ_HDR_LEN_MRG];
	uint8_t hn[VQ_HDR_LEN_MRG];
	uint64_t hgpa[VQ_HDR_LEN_MRG];
};

void vq_rx_begin(struct vq *q, struct vq_rx *r, const struct rte_mbuf *m);
/* Fill one validated writable descriptor; adds to *written. */
enum vq_walk vq_rx_desc(struct vq *q, struct vq_rx *r, uint64_t addr,
			uint32_t len, uint16_t flags, uint32_t *written);
void vq_rx_write_hdr(struct vq *q, const struct vq_rx *r, const void *hdr);

/* A ring position being consumed: split uses pos, packed both. */
struct vq_rx_pos {
	uint16_t pos;
	bool wrap;
};

/*
 * Fill the receive buffer at *at and add its used entry, moving *at past
 * it: VQ_OK, VQ_RETRY when the guest has posted none there, VQ_BAD (the
 * queue broken) when it is hostile.
 */
typedef enum vq_walk (*vq_rx_fill_fn)(struct vq *q, struct vq_rx_pos *at,
				      struct vq_rx *rx, void *arg);
typedef void (*vq_publish_fn)(struct vq *q);

/*
 * Deliver one packet: its header and frame into one buffer, or with
 * mergeable buffers into as many as it takes. Nothing is consumed when
 * the guest has not posted enough (VQ_RX_FULL). Inlined with each
 * layout's fill() and publish().
 */
static __rte_always_inline enum vq_rx_result
vq_rx_one(struct vq *q, struct rte_mbuf *m, void *arg, vq_rx_fill_fn fill,
	  vq_publish_fn publish)
{
	struct vq_rx_pos at = { q->vr->last_avail_idx, q->vr->avail_wrap };
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint16_t nbuf = 0, first_used;
	struct vq_rx rx;

	if (q->nused > RTE_DIM(q->used) / 2)
		publish(q);	/* room for a packet of many buffers */
	first_used = q->nused;	/* after publish(): what a failure undoes */
	memset(&hdr, 0, sizeof(hdr));
	vq_mbuf_to_hdr(q, m, &hdr.hdr);
	vq_rx_begin(q, &rx, m);
	do {
		enum vq_walk w = VQ_RETRY;

		if (q->nused < RTE_DIM(q->used))
			w = fill(q, &at, &rx, arg);
		if (w == VQ_OK && q->mrg_rxbuf && rx.want > 0) {
			vq_set_broken(q, "receive buffer smaller than the "
				      "header");
			w = VQ_BAD;
		}
		if (w != VQ_OK) {
			q->nused = first_used;	/* nothing consumed */
			if (w == VQ_BAD)
				q->stats.drops[VQ_DROP_BAD_DESC]++;
			return VQ_RX_FULL;
		}
		nbuf++;
	} while (q->mrg_rxbuf && rx.left > 0);
	q->vr->last_avail_idx = at.pos;
	q->vr->avail_wrap = at.wrap;
	if (unlikely(rx.left > 0 || rx.want > 0)) {
		/* One buffer, too small: give it back empty. */
		q->used[q->nused - 1].len = 0;
		q->stats.drops[VQ_DROP_TOO_BIG]++;
		return VQ_RX_DROPPED;
	}
	hdr.num_buffers = nbuf;
	vq_rx_write_hdr(q, &rx, &hdr);
	q->stats.packets++;
	q->stats.bytes += m->pkt_len;
	return VQ_RX_DONE;
}

/* Where a borrowed frame's rest is: the mbuf field vq_create() registers. */
extern int vq_borrow_off;

/*
 * Copy n bytes of frame. Up to 1 KiB the copy stays inline (rte_memcpy,
 * built for the baseline's 16-byte moves); longer ones go to the C
 * library, which picks the widest moves the CPU has when the program
 * starts: 64-byte ones on an AVX-512 machine, about 10 cycles less per
 * 1518-byte frame there. (At 448 bytes, the rest of a borrowed 512-byte
 * frame, the two could not be told apart.) The long copy is memmove: a
 * guest may hand two ports buffers in the same memory, and memmove, the
 * same routine in glibc, stays defined when they overlap.
 */
#define VQ_COPY_INLINE		1024

static __rte_always_inline void
vq_copy(void *dst, const void *src, size_t n)
{
	if (n <= VQ_COPY_INLINE)
		rte_memcpy(dst, src, n);
	else
		memmove(dst, src, n);
}

/* Copy a frame of len bytes, which fits, into the fresh mbuf m. */
static __rte_always_inline void
vq_mbuf_fill(struct rte_mbuf *m, const uint8_t *frame, uint32_t len)
{
	vq_copy(rte_pktmbuf_mtod(m, void *), frame, len);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
}

static inline uint8_t **
vq_borrow_tail(const struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, vq_borrow_off, uint8_t **);
}

/*
 * Borrow the frame of len bytes at p (the buffer's, after its header)
 * into a fresh mbuf it fits: its head is copied, the rest stays.
 */
static inline void
vq_borrow(struct rte_mbuf *m, uint8_t *p, uint32_t len)
{
	rte_memcpy(rte_pktmbuf_mtod(m, void *), p, VQ_BORROW_HEAD);
	m->data_len = VQ_BORROW_HEAD;
	m->pkt_len = len;
	m->ol_flags |= vq_borrow_flag;
	*vq_borrow_tail(m) = p + VQ_BORROW_HEAD;
}

/* Batches: buffers read a cache line (four packed descriptors) at once. */
#define VQ_BATCH		4
/* Packed dequeue: the burst a guest is waited for once (burst_unfinished()). */
#define VQ_DEFER_SPAN		32

/*
 * Whether the guest's transmit headers are ignored: it negotiated no
 * transmit offload, so a header can ask for nothing and is never read.
 */
static inline bool
vq_tx_hdr_ignored(const struct vq *q)
{
	return q->host_offloads == 0;
}

/*
 * Prefetch the start of a guest buffer of len bytes a batch will touch.
 * To read: the header and the first 64 bytes of the frame behind it,
 * which often begin on the next line (never past the buffer's end). To
 * write: its first line only, owned, so that the first stores find it
 * ready; asking for the second line too cost 1-2% of the cycles per
 * frame at 64 and 1518 B (perf/RESULTS.md, fourteenth round).
 */
static inline void
vq_prefetch_buf(const struct vq *q, const uint8_t *p, uint32_t len,
		bool write)
{
	if (write) {
		__builtin_prefetch(p, 1, 3);
		return;
	}
	rte_prefetch0(vq_tx_hdr_ignored(q) ?
		      p + RTE_MIN(len - 1, q->hdr_len) : p);
	rte_prefetch0(p + RTE_MIN(len - 1, q->hdr_len + 63u));
}

/* vq_batch_map() when a buffer is not in the hot region: search. */
static __rte_noinline bool
vq_batch_map_miss(struct vq *q, const uint64_t *addr, const uint32_t *len,
		  uint8_t **p, bool write)
{
	uint8_t perm = write ? VHU_ACCESS_WO : VHU_ACCESS_RO;
	struct vhu_hot hot;
	unsigned int j;

	vhu_hot_load(q->dp, q->mem_hint, &hot);
	for (j = 0; j < VQ_BATCH; j++) {
		p[j] = vhu_hot_translate(&hot, addr[j], len[j]);
		if (p[j] != NULL)
			continue;
		p[j] = vhu_dp_translate_miss(q->dp, addr[j], len[j], perm,
					     &q->mem_hint);
		if (p[j] == NULL || len[j] == 0)
			return false;
		vhu_hot_load(q->dp, q->mem_hint, &hot);
	}
	return true;
}

/*
 * Translate a batch's VQ_BATCH buffers and prefetch their starts: false,
 * leaving them to the one-at-a-time path, when one is empty or not all
 * inside guest memory. All four are judged against the hot region at
 * once, with one branch.
 */
static __rte_always_inline bool
vq_batch_map(struct vq *q, const uint64_t *addr, const uint32_t *len,
	     uint8_t **p, bool write)
{
	struct vhu_hot hot;
	bool hit = true;
	unsigned int j;

	vhu_hot_load(q->dp, q->mem_hint, &hot);
#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++) {
		hit &= vhu_hot_has(&hot, addr[j], len[j]);
		p[j] = (uint8_t *)((uintptr_t)hot.hva + (addr[j] - hot.gpa));
	}
	if (unlikely(!hit) && !vq_batch_map_miss(q, addr, len, p, write))
		return false;
#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++)
		vq_prefetch_buf(q, p[j], len[j], write);
	return true;
}

/*
 * Whether the transmit header at p asks for nothing: it is ignored, or
 * its flags and gso_type are both 0.
 */
static inline bool
vq_tx_hdr_plain(const struct vq *q, const uint8_t *p)
{
	uint16_t flags_gso;

	if (vq_tx_hdr_ignored(q))
		return true;
	memcpy(&flags_gso, p, sizeof(flags_gso));
	return flags_gso == 0;
}

/* A transmit batch's buffers: each between the header and the largest. */
static inline bool
vq_tx_batch_lens(const struct vq *q, const uint32_t *len)
{
	bool ok = true;
	unsigned int j;

#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++)
		ok &= len[j] - q->hdr_len - 1u < VQ_MAX_PKT_LEN;
	return ok;
}

/* A receive batch's mbufs: nothing to fix in any of them. */
static inline bool
vq_rx_batch_plain(struct rte_mbuf *const *m)
{
	bool ok = true;
	unsigned int j;

#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++)
		ok &= vq_rx_plain(m[j]);
	return ok;
}

/* A receive batch's buffers: each holds its packet and the header. */
static inline bool
vq_rx_batch_fits(const struct vq *q, struct rte_mbuf *const *m,
		 const uint32_t *len)
{
	bool ok = true;
	unsigned int j;

#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++)
		ok &= len[j] >= q->hdr_len + m[j]->pkt_len;
	return ok;
}

/*
 * The header of a frame with nothing to offload and one buffer. A guest
 * that recycles its buffers mostly has that header there already, from
 * the last frame: then the line is only read, and stays shared with the
 * guest's core instead of being taken from it. What is written is built
 * in registers and stored full-width: built in a stack slot from narrow
 * fields, reading it back would wait for every older store to reach the
 * cache, the guest lines of the frames before it among them. Behind an
 * IOMMU the buffer may be mapped write-only, so it is never read there.
 */
static inline void
vq_hdr_write_plain(const struct vq *q, uint8_t *p)
{
	bool look = !q->dp->iommu;
	uint64_t head = 1;

	if (look)
		memcpy(&head, p, sizeof(head));
	if (head != 0)
		memset(p, 0, sizeof(head));
	if (likely(q->hdr_len == VQ_HDR_LEN_MRG)) {
		/* csum_offset 0, then num_buffers 1 (little-endian) */
		const uint32_t want = 1u << 16;
		uint32_t tail = 0;

		if (look)
			memcpy(&tail, p + sizeof(head), sizeof(tail));
		if (tail != want)
			memcpy(p + sizeof(head), &want, sizeof(want));
	} else {
		uint16_t tail = 1;

		if (look)
			memcpy(&tail, p + sizeof(head), sizeof(tail));
		if (tail != 0)
			memset(p + sizeof(head), 0, sizeof(tail));
	}
}

/*
 * The batch path: a plain mbuf (vq_rx_plain) into one writable buffer at
 * p (guest address addr) that holds its header and frame, segment by
 * segment. Returns bytes written; vq_enqueue_loop() counts the packet.
 */
uint32_t vq_rx_flat_any(struct vq *q, const struct rte_mbuf *m, uint8_t *p,
			uint64_t addr);

/*
 * Start loading the rest of a borrowed frame, in the sender's buffer,
 * one frame before it is copied: the lines, which the sender's core
 * wrote last, are then on their way when the copy reads them. At most
 * VQ_PREFETCH_REST bytes of it.
 */
#define VQ_PREFETCH_REST	2048

static __rte_always_inline void
vq_rx_prefetch_rest(const struct rte_mbuf *m)
{
	uintptr_t a, end;

	if (!vq_borrowed(m))
		return;
	a = (uintptr_t)*vq_borrow_tail(m);
	end = a + RTE_MIN(m->pkt_len - m->data_len,
			  (uint32_t)VQ_PREFETCH_REST);
	for (a &= ~(uintptr_t)(RTE_CACHE_LINE_SIZE - 1); a < end;
	     a += RTE_CACHE_LINE_SIZE)
		rte_prefetch0((const void *)a);
}

/* The same, inline for a frame in one segment, no flags, no dirty log. */
static __rte_always_inline uint32_t
vq_rx_flat(struct vq *q, const struct rte_mbuf *m, uint8_t *p, uint64_t addr)
{
	if (likely(m->ol_flags == 0 && m->nb_segs == 1 &&
		   !q->dp->log_all)) {
		vq_hdr_write_plain(q, p);
		/* pkt_len bytes, what the buffer was checked for */
		vq_copy(p + q->hdr_len, rte_pktmbuf_mtod(m, const void *),
			RTE_MIN((uint32_t)m->data_len, m->pkt_len));
		return q->hdr_len + m->pkt_len;
	}
	return vq_rx_flat_any(q, m, p, addr);
}

/*
 * Write what h says over the first VQ_HEAD_LEN bytes of the copy at dst
 * of the frame at src, the bytes outside its mask from src: a receive
 * buffer behind an IOMMU may be mapped write-only, so dst is not read.
 */
static __rte_always_inline void
vq_head_put(uint8_t *dst, const uint8_t *src, const struct vq_head *h)
{
	uint64_t w1;

	memcpy(&w1, src + sizeof(h->w0), sizeof(w1));
	w1 = (w1 & ~h->mask1) | (h->w1 & h->mask1);
	memcpy(dst, &h->w0, sizeof(h->w0));
	memcpy(dst + sizeof(h->w0), &w1, sizeof(w1));
}

/*
 * vq_rx_flat() for a peeked frame of len bytes at frame: into the
 * writable buffer at p, which holds it and the header.
 */
static __rte_always_inline uint32_t
vq_put_flat(const struct vq *q, uint8_t *p, const uint8_t *frame,
	    uint32_t len, const struct vq_head *h)
{
	vq_hdr_write_plain(q, p);
	vq_copy(p + q->hdr_len, frame, len);
	vq_head_put(p + q->hdr_len, frame, h);
	return q->hdr_len + len;
}

/* A receive batch's buffers, for peeked frames of flen bytes each. */
static inline bool
vq_put_batch_fits(const struct vq *q, const uint32_t *flen,
		  const uint32_t *len)
{
	bool ok = true;
	unsigned int j;

#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++)
		ok &= len[j] >= q->hdr_len + flen[j];
	return ok;
}

/* Zero-copy (vq_common.c). */
struct rte_mbuf *vq_zc_attach(struct vq *q, struct rte_mbuf *hdr,
			      uint8_t *buf, uint32_t len, uint16_t slot,
			      uint16_t id, uint16_t pos);
/* Drain completions into out[] (slot numbers); returns how many. */
unsigned int vq_zc_collect(struct vq *q, uint16_t *out, unsigned int max);

/*
 * Take whole batches of the n mbufs at m at once: returns how many were
 * taken, a multiple of VQ_BATCH, or 0 to go one at a time. Every batch's
 * descriptors are read and its buffers prefetched before any is written,
 * so that the misses on lines the guest's core touched overlap.
 */
typedef uint16_t (*vq_rx_batch_fn)(struct vq *q, struct rte_mbuf **m,
				   uint16_t n, void *arg);

/*
 * The enqueue loop both ring layouts run: batches while they fit, else
 * one packet at a time through vq_rx_deliver. Inlined with each layout's
 * functions. Returns the packets taken (see vq_enqueue_burst()).
 */
static __rte_always_inline uint16_t
vq_enqueue_loop(struct vq *q, struct rte_mbuf **pkts, uint16_t n,
		vq_rx_batch_fn batch, vq_rx_one_fn one, void *arg)
{
	uint16_t i = 0, taken = 0, k;

	while (i < n && !q->broken) {
		enum vq_rx_result r;

		if (n - i >= VQ_BATCH &&
		    (k = batch(q, &pkts[i], n - i, arg)) > 0) {
			uint64_t bytes = 0;
			uint16_t j;

			for (j = i; j < i + k; j++)
				bytes += pkts[j]->pkt_len;
			q->stats.packets += k;
			q->stats.bytes += bytes;
			i += k;
			taken += k;
			continue;
		}
		vq_unborrow(pkts[i]);	/* the slow paths read it whole */
		r = likely(vq_rx_plain(pkts[i])) ? one(q, pkts[i], arg) :
			vq_rx_deliver(q, pkts[i], one, arg);
		if (unlikely(r >= VQ_RX_FULL)) {
			/* A cut packet is taken: part of it was delivered. */
			taken += r == VQ_RX_CUT;
			if (!q->broken)
				q->stats.drops[VQ_DROP_NO_BUFFER] += n - i;
			i++;	/* counted already, as bad_desc or no_buffer */
			break;
		}
		taken++;	/* delivered, or dropped for its own fault */
		i++;
	}
	if (q->broken && i < n)
		q->stats.drops[VQ_DROP_BROKEN] += n - i;
	return taken;
}

/* Whether the guest's event index lies in (old_idx, new_idx]. */
static inline bool
vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* A lent buffer came back: its used entry, in the layout's way. */
typedef void (*vq_zc_done_fn)(struct vq *q, uint16_t pos, uint16_t id);

/*
 * Return zero-copy buffers whose mbufs were freed, while the used batch
 * has room for a burst after them; none can come back while none is
 * lent. Inlined with each layout's done().
 */
static __rte_always_inline void
vq_collect_zc(struct vq *q, vq_zc_done_fn done)
{
	uint16_t slots[VQ_BURST_MAX];
	unsigned int n, i;

	if (q->zc_held == 0)
		return;
	do {
		n = vq_zc_collect(q, slots, RTE_MIN(RTE_DIM(slots),
				  RTE_DIM(q->used) - q->nused));
		for (i = 0; i < n; i++) {
			const struct vq_zc_slot *s = &q->zc->slot[slots[i]];

			done(q, s->pos, s->id);
		}
	} while (n > 0 && q->nused < RTE_DIM(q->used) - VQ_BURST_MAX);
}

/*
 * The longest frame a batch copies straight into its fresh mbuf, judged
 * once a burst: one the mbuf holds and the queue would neither lend nor
 * borrow, from a ring that is enabled. Its header is then only read when
 * the guest may ask for offloads (vq_tx_hdr_plain()).
 */
static inline uint32_t
vq_tx_copy_max(const struct vq *q, bool enabled)
{
	uint32_t room = rte_pktmbuf_data_room_size(q->mp);
	uint32_t max = room - RTE_MIN((uint32_t)RTE_PKTMBUF_HEADROOM, room);

	if (!enabled)
		return 0;
	if (q->borrowing)
		max = RTE_MIN(max, VQ_BORROW_MIN - 1u);
	if (q->zc_on)
		max = RTE_MIN(max, q->zc_min_len - 1u);
	return max;
}

/*
 * Read the next plain transmit buffers in whole batches, up to max, all
 * of them before any is copied (see vq_rx_batch_fn): returns how many, a
 * multiple of VQ_BATCH, or 0 to go one at a time.
 */
typedef uint16_t (*vq_tx_batch_fn)(struct vq *q, uint16_t max, uint32_t *len,
				   uint16_t *id, uint8_t **p);
/* Take the next buffer one descriptor at a time, judging every rule. */
typedef enum vq_tx_result (*vq_tx_one_fn)(struct vq *q, struct vq_tx *t,
					  uint16_t *id, uint16_t *ndesc,
					  bool *zc);
/* Where the next buffer is, as zero-copy slots record it. */
typedef uint16_t (*vq_tx_pos_fn)(const struct vq *q);
/* The next buffer, ndesc descriptors, was taken (lent when zc). */
typedef void (*vq_tx_taken_fn)(struct vq *q, uint16_t ndesc, uint16_t id,
			       bool zc);
/*
 * The next n buffers, one descriptor each with ids id[], were taken and
 * none of them lent: a batch's bookkeeping done once, not per buffer.
 */
typedef void (*vq_tx_run_fn)(struct vq *q, uint16_t n, const uint16_t *id);

/*
 * Whether a frame of frame bytes might be lent (vq_tx_flat() decides):
 * only then does its position have to be known before it is taken.
 */
static inline bool
vq_tx_may_lend(const struct vq *q, uint32_t frame)
{
	return q->zc_on && frame >= q->zc_min_len;
}

/*
 * The dequeue loop both ring layouts run over count allocated mbufs:
 * batches while they fit, else one buffer at a time. Stops at a buffer
 * not there yet, a broken ring or a dry pool; the mbufs it did not fill
 * are kept as spares (vq_keep_spare()). Inlined with each layout's
 * functions. Returns the packets.
 * A batch's buffers are taken together (run), in stretches that end
 * before a buffer that may be lent, which is taken on its own.
 */
static __rte_always_inline uint16_t
vq_dequeue_loop(struct vq *q, struct rte_mbuf **pkts, uint16_t count,
		vq_tx_batch_fn batch, vq_tx_one_fn one, vq_tx_pos_fn pos,
		vq_tx_taken_fn taken, vq_tx_run_fn run)
{
	bool enabled = __atomic_load_n(&q->vr->enabled, __ATOMIC_RELAXED);
	uint32_t copy_max = vq_tx_copy_max(q, enabled);
	uint16_t i = 0, out = 0, id[VQ_BURST_MAX], k;
	struct vq_tx_sum sum = { 0, 0, 0 };
	uint32_t len[VQ_BURST_MAX];
	uint8_t *p[VQ_BURST_MAX];

	while (i < count) {
		uint16_t ndesc = 1;
		enum vq_tx_result r;
		struct vq_tx t;
		unsigned int j;
		bool zc;

		if (count - i >= VQ_BATCH &&
		    (k = batch(q, count - i, len, id, p)) > 0) {
			unsigned int from = 0;	/* not yet taken */

			for (j = 0; j < k; j++) {
				struct rte_mbuf *m = pkts[out];
				uint32_t frame = len[j] - q->hdr_len;

				if (likely(frame <= copy_max &&
					   vq_tx_hdr_plain(q, p[j]))) {
					vq_mbuf_fill(m, p[j] + q->hdr_len,
						     frame);
					sum.packets++;
					sum.bytes += frame;
					out++;
					continue;
				}
				if (vq_tx_may_lend(q, frame) && j > from) {
					run(q, j - from, id + from);
					from = j;
				}
				vq_tx_begin(&t, m);
				r = vq_tx_flat(q, &t, p[j], len[j], id[j],
					       id[j], pos(q), &zc);
				if (unlikely(r == VQ_TX_STOP)) {
					if (j > from)
						run(q, j - from, id + from);
					vq_recycle(m);
					goto stop;
				}
				if (zc) {
					taken(q, 1, id[j], true);
					from = j + 1;
				}
				out += vq_tx_count(q, &sum, m, r, zc, enabled);
			}
			if (k > from)
				run(q, k - from, id + from);
			i += k;
			continue;
		}
		vq_tx_begin(&t, pkts[out]);
		r = one(q, &t, &id[0], &ndesc, &zc);
		if (r == VQ_TX_STOP || r == VQ_TX_BROKEN) {
			vq_recycle(pkts[out]);
			break;
		}
		taken(q, ndesc, id[0], zc);
		out += vq_tx_count(q, &sum, pkts[out], r, zc, enabled);
		i++;
	}
stop:
	q->stats.packets += sum.packets;
	q->stats.bytes += sum.bytes;
	q->stats.zc_packets += sum.zc;
	q->stats.copy_packets += sum.packets - sum.zc;
	/* The mbufs of entries we did not get to. */
	if (out < count)
		vq_keep_spare(q, &pkts[out], count - out);
	return out;
}

/* Ring paths. */
uint16_t vq_split_dequeue(struct vq *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vq_split_enqueue(struct vq *q, struct rte_mbuf **pkts, uint16_t n);
void vq_split_reap(struct vq *q);
void vq_split_init(struct vq *q);
uint16_t vq_packed_dequeue(struct vq *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vq_packed_enqueue(struct vq *q, struct rte_mbuf **pkts, uint16_t n);
void vq_packed_reap(struct vq *q);
void vq_packed_init(struct vq *q);

/*
 * Guest to guest (vq_peek_burst()): the layouts' parts. A peek returns
 * the buffers of its whole batches, their starts and lengths header
 * included, 0 when there is nothing now, -1 for anything else; a put
 * copies what whole batches of receive buffers take, and tells the
 * guest; a take hands the buffers back.
 */
int vq_split_peek(struct vq *q, struct vq_peek *pk, uint16_t n);
uint16_t vq_split_put(struct vq *q, const struct vq_peek *pk,
		      const struct vq_head *h);
void vq_split_take(struct vq *q, const struct vq_peek *pk);
int vq_packed_peek(struct vq *q, struct vq_peek *pk, uint16_t n);
uint16_t vq_packed_put(struct vq *q, const struct vq_peek *pk,
		       const struct vq_head *h);
void vq_packed_take(struct vq *q, const struct vq_peek *pk);
/* Whether a receive buffer is posted at our position (a snapshot). */
bool vq_split_rx_any(const struct vq *q);
bool vq_packed_rx_any(const struct vq *q);

/* Append len bytes to the mbuf chain m, adding segments as needed. */
int vq_copy_to_mbuf(struct vq *q, struct rte_mbuf *m, const uint8_t *src,
		    uint32_t len);

#endif /* VQ_INTERNAL_H */
