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

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
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

	/* zero-copy dequeue */
	bool zc_on;
	uint16_t zc_held;
	uint16_t zc_max_held;
	uint32_t zc_min_len;
	uint16_t zc_hdr_len;
	struct vq_zc *zc;
	struct vq_pend *pend;	/* in-order zero-copy: by sequence */
	uint16_t pend_head;	/* oldest entry not yet written used */
	uint16_t seq;		/* packed: buffers taken, modulo the size */

	/* used entries of the burst in progress */
	uint16_t nused;
	struct vq_pend used[VQ_USED_BATCH];

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
/* Lend a one-descriptor buffer to t->m instead of copying it. */
bool vq_tx_lend(struct vq *q, struct vq_tx *t, uint64_t addr, uint32_t len,
		uint16_t slot, uint16_t id, uint16_t pos);
enum vq_tx_result vq_tx_finish(struct vq *q, struct vq_tx *t);

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

/* Zero-copy (vq_common.c). */
struct rte_mbuf *vq_zc_attach(struct vq *q, struct rte_mbuf *hdr,
			      uint8_t *buf, uint32_t len, uint16_t slot,
			      uint16_t id, uint16_t pos);
/* Drain completions into out[] (slot numbers); returns how many. */
unsigned int vq_zc_collect(struct vq *q, uint16_t *out, unsigned int max);

/* Reuse an mbuf that was being filled: drop its tail, reset it. */
static inline void
vq_recycle(struct rte_mbuf *m)
{
	if (m->next != NULL)
		rte_pktmbuf_free(m->next);
	rte_pktmbuf_reset(m);
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

/* Append len bytes to the mbuf chain m, adding segments as needed. */
int vq_copy_to_mbuf(struct vq *q, struct rte_mbuf *m, const uint8_t *src,
		    uint32_t len);

#endif /* VQ_INTERNAL_H */
