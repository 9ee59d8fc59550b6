/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio: the virtqueue data path on DPDK mbufs.
 *
 * One struct vq per virtqueue, driven by the single worker that owns it:
 *	vq_dequeue_burst()	what the guest transmitted -> mbufs
 *	vq_enqueue_burst()	mbufs -> the guest's receive buffers
 * Split and packed rings, batched, with zero-copy dequeue of two kinds
 * (the headers are copied either way, so the guest cannot change them
 * under a forwarding decision): a frame that fits one mbuf may be
 * borrowed for the caller's poll (vq_borrow_burst()); a bigger one that
 * is one descriptor is attached to an mbuf, and its used entry goes back
 * to the guest when the last reference to the mbuf is freed, on any
 * lcore.
 *
 * A queue is created by the control thread once its ring has started
 * (lib/vhost-user's vring_state callback) and published to the worker;
 * it reads the ring through the struct vhu_vring it was created with.
 */
#ifndef VQ_H
#define VQ_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "vhu.h"

/* Most packets one burst call handles. */
#define VQ_BURST_MAX		64

/* Why packets were dropped: X(name, counter name, description). */
#define VQ_DROP_REASONS(X) \
	X(NO_MBUF, "no_mbuf", "the mbuf pool was empty") \
	X(NO_BUFFER, "no_buffer", "the guest posted no receive buffer") \
	X(TOO_BIG, "too_big", "larger than the guest's receive buffer") \
	X(BAD_DESC, "bad_desc", "a descriptor broke a rule; queue broken") \
	X(BROKEN, "broken", "the queue is broken") \
	X(DISABLED, "disabled", "the ring is disabled") \
	X(BAD_HDR, "bad_hdr", "an offload request the packet cannot meet") \
	X(GSO, "gso", "software segmentation failed")

#define VQ_X_DROP(name, counter, text) VQ_DROP_##name,
enum vq_drop { VQ_DROP_REASONS(VQ_X_DROP) VQ_DROP_MAX };
#undef VQ_X_DROP

const char *vq_drop_name(enum vq_drop reason);

struct vq_stats {
	uint64_t packets;	/* handed over (dequeue) or delivered */
	uint64_t bytes;		/* without the virtio-net header */
	uint64_t zc_packets;	/* dequeued zero-copy */
	uint64_t copy_packets;	/* dequeued by copy */
	uint64_t direct_packets; /* of those, copied straight into another
				  * guest (vq_take_burst()) */
	uint64_t sw_csum;	/* checksums finished in software */
	uint64_t sw_gso;	/* packets segmented in software */
	uint64_t notifications;	/* guest interrupts sent */
	uint64_t drops[VQ_DROP_MAX];
};

struct vq_params {
	struct rte_mempool *mp;	/* mbufs for copies and header copies */
	bool zero_copy;		/* false forces copies (per port) */
	uint32_t zc_min_len;	/* lend no smaller packets; default 512
				 * (lending is tried before borrowing) */
	uint16_t zc_max_held;	/* stop lending once this many are held;
				 * default half the ring */
	uint16_t zc_hdr_len;	/* bytes copied ahead of the payload;
				 * default 128 */
	unsigned int owner_lcore; /* the worker polling this queue */
	bool wait_bursts;	/* packed rings: fewer than 32 buffers from
				 * our position, a burst the guest may still
				 * be making available, are left for one
				 * poll (lib/virtio/README.md) */
};

struct vq;

/* NULL and rte_errno set on failure (ENOMEM, ENOTSUP for big-endian). */
struct vq *vq_create(struct vhu_vring *vr, const struct vq_params *p);
/*
 * After the worker let go of it (RCU). Zero-copy buffers still held live
 * on until freed; their memory must stay mapped until then, so check
 * vq_zc_outstanding() before the ring's memory may go away.
 */
void vq_free(struct vq *q);

/*
 * Guest transmit ring -> up to n mbufs; returns how many. A burst that
 * took more mbufs than it filled (a packed ring does not tell how many
 * buffers it holds) keeps the rest for the next, unless the pool is short;
 * a poll that finds the ring empty, and vq_free(), give them back.
 */
uint16_t vq_dequeue_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t n);
/*
 * As vq_dequeue_burst(), but a frame may be borrowed instead of copied
 * (per-port zero_copy): its mbuf holds the frame's first VQ_BORROW_HEAD
 * bytes, copied (so the guest cannot change what a forwarding decision
 * read), and pkt_len counts the rest, which stays in the guest's buffer
 * (vq_borrowed() tells). Only vq_enqueue_burst() reads such an mbuf
 * whole; anything else that reads past the copied bytes calls
 * vq_unborrow() first. The guest gets the burst's buffers back at the
 * next vq_reap() on this queue (or vq_dequeue_burst(); not at the next
 * vq_borrow_burst()): before it, on this lcore, every borrowed mbuf must
 * have been delivered, made whole or freed.
 */
uint16_t vq_borrow_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t n);

/* Bytes of a borrowed frame copied into its mbuf; smaller frames are
 * copied whole. */
#define VQ_BORROW_HEAD		64
#define VQ_BORROW_MIN		256
/* The mbuf field (where a borrowed frame's rest is) and flag it needs. */
#define VQ_BORROW_FIELD		"vuswitch_vq_borrow_rest"
#define VQ_BORROW_FLAG		"vuswitch_vq_borrowed"

/*
 * The ol_flags bit of a borrowed frame: 0 until the first zero-copy queue
 * registers it, and for good if that fails (then nothing is borrowed).
 */
extern uint64_t vq_borrow_flag;

static inline bool
vq_borrowed(const struct rte_mbuf *m)
{
	return (m->ol_flags & vq_borrow_flag) != 0;
}

/* vq_unborrow()'s copy, for a frame that is borrowed. */
void vq_unborrow_rest(struct rte_mbuf *m);

/*
 * Copy the rest of a borrowed frame into its mbuf (it always fits), so
 * that it is an ordinary one-segment mbuf: before reading past its
 * first VQ_BORROW_HEAD bytes, copying it or handing it to a port. Any
 * other mbuf is left as it is. A frame shared by several references may
 * be made whole by any of them.
 */
static inline void
vq_unborrow(struct rte_mbuf *m)
{
	if (vq_borrowed(m))
		vq_unborrow_rest(m);
}
/*
 * Copy up to n mbufs into the guest's receive ring. Returns how many were
 * taken from the front of pkts: delivered, or dropped for a fault of
 * their own (too big, an offload that cannot be met; counted in the
 * stats), or segmented in software and cut short by a full ring (its
 * first segments delivered; counted as no_buffer). The rest found no
 * room in the guest's ring or a broken queue (counted as no_buffer or
 * broken); they may be offered again. The caller keeps ownership of every
 * mbuf and frees them all. Borrowed mbufs are read whole (a path that
 * cannot copy from the sender's buffer makes them whole first).
 */
uint16_t vq_enqueue_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t n);
/*
 * Give the guest back what it is owed now: freed lent buffers, and a
 * borrowing burst's buffers (after every one of them, so after each
 * vq_borrow_burst()). Nothing on a broken queue: its device is reset.
 */
void vq_reap(struct vq *q);

/*
 * Guest to guest without mbufs. A burst of plain frames at the head of
 * a transmit ring is looked at where it lies (vq_peek_burst()), copied
 * into another guest's receive ring (vq_put_burst()) and only then
 * taken (vq_take_burst()): one copy per frame, nothing allocated. The
 * burst is the ring's next whole batches of one-descriptor buffers whose
 * virtio-net header asks for nothing, each frame VQ_HEAD_LEN bytes or
 * more and no longer than the queue's mbufs hold.
 */
#define VQ_HEAD_LEN		16

struct vq_peek {
	uint16_t n;
	uint8_t *frame[VQ_BURST_MAX];	/* in the guest's buffer: read only */
	uint32_t len[VQ_BURST_MAX];	/* frame bytes, header not counted */
	uint16_t id[VQ_BURST_MAX];	/* the ring's buffer ids */
};

/*
 * What every frame of a burst begins with, as the caller judged it: the
 * first word whole, the second where mask1 is set (elsewhere the frame's
 * own bytes). Written over each copy, so that a guest changing its buffer
 * under the copy cannot change where its frames go or in what VLAN.
 */
struct vq_head {
	uint64_t w0;
	uint64_t w1;
	uint64_t mask1;
};

/*
 * Look at up to n frames at the head of the transmit ring: returns how
 * many (pk->n), 0 when there is nothing to take now (as a dequeue would
 * have found), or -1 when the head of the ring is not such a burst, or
 * the queue is not in a state for it (zero-copy buffers out, a
 * borrowing burst not yet reaped, disabled, broken): then
 * vq_dequeue_burst() or vq_borrow_burst() takes it. Until
 * vq_take_burst(), nothing on the queue changes and the frames stay the
 * guest's. On -1, pk->n is how many buffers were read before the burst
 * was refused: 0 when the head of the ring was no whole batch at all,
 * which costs the look little.
 */
int vq_peek_burst(struct vq *q, struct vq_peek *pk, uint16_t n);
/*
 * Copy the pk->n frames of a peeked burst (another queue's) into this
 * guest's receive ring, each beginning with h, and tell the guest.
 * Returns how many were taken, as vq_enqueue_burst() counts; the rest
 * are counted there as it counts them (and as no_mbuf when this queue's
 * pool had none for the one-at-a-time path).
 */
uint16_t vq_put_burst(struct vq *q, const struct vq_peek *pk,
		      const struct vq_head *h);
/*
 * The peeked burst pk was copied where it goes (or dropped): its buffers
 * go back to the guest, counted as dequeued by copy.
 */
void vq_take_burst(struct vq *q, const struct vq_peek *pk);

/*
 * Move the queue to another worker lcore. Only while no worker polls it
 * and no free on the old lcore is under way: unpublish the queue, wait an
 * RCU grace period, call this, wait another, then publish it again.
 */
void vq_set_owner(struct vq *q, unsigned int lcore);
unsigned int vq_zc_outstanding(const struct vq *q);
const struct vq_stats *vq_stats(const struct vq *q);
bool vq_broken(const struct vq *q);
/*
 * Whether vq_borrow_burst() may borrow on this queue: zero-copy asked for
 * and the mbuf field and flag borrowing needs registered.
 */
bool vq_borrows(const struct vq *q);

#endif /* VQ_H */
