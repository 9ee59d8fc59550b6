/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueues (VIRTIO_F_RING_PACKED): one descriptor ring both
 * sides write, wrap counters instead of indices, and event suppression
 * structures instead of flags and event indices.
 *
 * A descriptor is available when its AVAIL bit equals our avail wrap
 * counter and its USED bit does not. A chain's buffer id is in its last
 * descriptor. Used descriptors are written at our used position, one per
 * buffer, each advancing it by the number of descriptors the buffer took;
 * a batch's ids and lengths go first, then its flags, the first one last,
 * so the guest sees the whole batch at once. On an in-order transmit ring
 * one descriptor, naming the batch's last buffer, tells the whole batch.
 *
 * Four descriptors (VQ_BATCH, one cache line) are read at once when all
 * are available single-descriptor buffers: flags first, one acquire
 * fence, then the rest; addresses translated and data prefetched, the
 * next line prefetched. Every such line of the burst is read before any
 * buffer is copied. Anything else goes one buffer at a time through the
 * path that judges it.
 */
#include <string.h>

#include <rte_prefetch.h>

#include "vq_internal.h"

#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define EVENT_F_WRAP	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

/* A descriptor chain of the ring, or an indirect table, as read. */
struct pchain {
	const struct vring_packed_desc *table;
	uint32_t n;		/* entries in table */
	uint32_t idx;		/* next entry */
	uint16_t ndesc;		/* ring descriptors the buffer takes */
	uint16_t id;
	bool indirect;
	bool done;
};

static inline struct vring_packed_desc *
ring(const struct vq *q)
{
	return q->vr->desc;
}

/* The AVAIL and USED bits of a descriptor available in lap wrap. */
static inline uint16_t
avail_bits(bool wrap)
{
	return wrap ? F_AVAIL : F_USED;
}

static inline bool
desc_avail(const struct vring_packed_desc *d, bool wrap)
{
	uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);

	return (f & (F_AVAIL | F_USED)) == avail_bits(wrap);
}

static inline void
desc_load(const struct vring_packed_desc *d, uint64_t *addr, uint32_t *len,
	  uint16_t *id, uint16_t *flags)
{
	*addr = __atomic_load_n(&d->addr, __ATOMIC_RELAXED);
	*len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
	*id = __atomic_load_n(&d->id, __ATOMIC_RELAXED);
	*flags = __atomic_load_n(&d->flags, __ATOMIC_RELAXED);
}

void
vq_packed_init(struct vq *q)
{
	struct vring_packed_desc_event *dev_ev = q->vr->used;

	q->defer_head = UINT16_MAX;	/* no ring position */
	/* We poll: the guest need not notify us. */
	__atomic_store_n(&dev_ev->flags, VRING_PACKED_EVENT_FLAG_DISABLE,
			 __ATOMIC_RELAXED);
	if (q->dp->log_all)
		vhu_log_write(q->dp, vhu_hva_to_gpa(q->dp->mem, dev_ev),
			      sizeof(*dev_ev));
}

/*
 * Open the buffer at our avail position: returns VQ_OK with the head
 * loaded in c, VQ_RETRY when nothing is available, VQ_BAD when hostile.
 */
static enum vq_walk
chain_begin(struct vq *q, struct pchain *c, uint16_t pos, bool wrap,
	    uint64_t *addr, uint32_t *len, uint16_t *flags)
{
	const struct vring_packed_desc *d = &ring(q)[pos];
	uint16_t id;
	void *t;

	if (!desc_avail(d, wrap))
		return VQ_RETRY;
	desc_load(d, addr, len, &id, flags);
	c->done = false;
	c->ndesc = 1;
	c->id = id;
	if (likely((*flags & VRING_DESC_F_INDIRECT) == 0)) {
		c->table = ring(q);
		c->n = q->size;
		c->idx = pos;
		c->indirect = false;
		return VQ_OK;
	}
	if (!q->indirect || (*flags & VRING_DESC_F_NEXT) != 0 || *len == 0 ||
	    *len % sizeof(*d) != 0 || *len / sizeof(*d) > q->size) {
		vq_set_broken(q, "invalid indirect descriptor");
		return VQ_BAD;
	}
	t = vhu_dp_translate(q->dp, *addr, *len, VHU_ACCESS_RO);
	if (t == NULL)
		return vq_unmapped(q, *addr, VHU_ACCESS_RO);
	if (((uintptr_t)t & 7) != 0) {
		vq_set_broken(q, "misaligned indirect table");
		return VQ_BAD;
	}
	c->table = t;
	c->n = *len / sizeof(*d);
	c->idx = 0;
	c->indirect = true;
	return VQ_OK;
}

/* Next descriptor of the buffer: 1, 0 at its end, -1 when hostile. */
static int
chain_next(struct vq *q, struct pchain *c, uint64_t *addr, uint32_t *len,
	   uint16_t *flags, bool first)
{
	uint16_t id;

	if (c->done)
		return 0;
	if (c->indirect) {
		if (c->idx == c->n)
			return 0;
		desc_load(&c->table[c->idx++], addr, len, &id, flags);
		/* An indirect table is read in order; NEXT means nothing. */
		if (unlikely(*flags & VRING_DESC_F_INDIRECT)) {
			vq_set_broken(q, "nested indirect table");
			return -1;
		}
		c->done = c->idx == c->n;
	} else {
		if (!first) {
			if (unlikely(c->ndesc == q->size)) {
				vq_set_broken(q, "descriptor chain longer "
					      "than the ring");
				return -1;
			}
			c->idx = c->idx + 1 == q->size ? 0 : c->idx + 1;
			desc_load(&c->table[c->idx], addr, len, &id, flags);
			c->ndesc++;
			c->id = id;	/* the last one carries the id */
			if (unlikely(*flags & VRING_DESC_F_INDIRECT)) {
				vq_set_broken(q, "indirect descriptor inside "
					      "a chain");
				return -1;
			}
		}
		c->done = (*flags & VRING_DESC_F_NEXT) == 0;
	}
	if (unlikely(*len == 0)) {
		vq_set_broken(q, "zero-length descriptor");
		return -1;
	}
	return 1;
}

/* Move a ring position on by n descriptors, flipping wrap on the way. */
static inline void
advance(const struct vq *q, uint16_t *pos, bool *wrap, uint16_t n)
{
	*pos += n;
	if (*pos >= q->size) {
		*pos -= q->size;
		*wrap = !*wrap;
	}
}

/* ---- used descriptors --------------------------------------------- */

static bool
guest_wants_call(struct vq *q, uint16_t old_pos, bool old_wrap)
{
	const struct vring_packed_desc_event *ev = q->vr->avail;
	uint16_t flags, off_wrap, off, old = old_pos;

	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&ev->flags, __ATOMIC_RELAXED);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !q->event_idx)
		return true;
	/* Both ends counted from the start of the current lap. */
	off_wrap = __atomic_load_n(&ev->off_wrap, __ATOMIC_RELAXED);
	off = off_wrap & ~EVENT_F_WRAP;
	if (!!(off_wrap & EVENT_F_WRAP) != q->vr->used_wrap)
		off -= q->size;
	if (old_wrap != q->vr->used_wrap)
		old -= q->size;
	return vq_need_event(off, q->vr->last_used_idx, old);
}

/* Mark the n used descriptors publish_used() just wrote. */
static void
log_published(struct vq *q, unsigned int n)
{
	uint16_t pos = q->vr->last_used_idx, i;
	bool wrap = q->vr->used_wrap;

	for (i = 0; i < n; i++) {
		const struct vring_packed_desc *d = &ring(q)[pos];

		vhu_log_write(q->dp, vhu_hva_to_gpa(q->dp->mem, d),
			      sizeof(*d));
		advance(q, &pos, &wrap, q->used[i].ndesc);
	}
}

/* Flags that make the descriptor at a position of lap wrap used. */
static inline uint16_t
used_flags(bool wrap, uint32_t len)
{
	return (wrap ? F_AVAIL | F_USED : 0) |
	       (len != 0 ? VRING_DESC_F_WRITE : 0);
}

/*
 * Write the collected used entries; the first one's flags last. With
 * one_desc (an in-order transmit ring), the whole batch is told by one
 * used descriptor at its first position carrying the last buffer's id,
 * and the used position skips past every buffer of the batch: the guest
 * counts the batch out itself (IN_ORDER), and the ring lines of the
 * other buffers are left alone.
 */
static void
publish_used(struct vq *q, bool one_desc)
{
	struct vhu_vring *vr = q->vr;
	uint16_t old_pos = vr->last_used_idx, pos = old_pos, i, nd;
	bool old_wrap = vr->used_wrap, wrap = old_wrap;
	struct vring_packed_desc *first = &ring(q)[old_pos];
	uint16_t first_flags;

	if (q->nused == 0)
		return;
	first_flags = used_flags(wrap, one_desc ? 0 : q->used[0].len);
	if (one_desc) {
		first->id = q->used[q->nused - 1].id;
		first->len = 0;
		for (i = 0; i < q->nused; i++)
			advance(q, &pos, &wrap, q->used[i].ndesc);
		nd = 1;
	} else {
		first->id = q->used[0].id;
		first->len = q->used[0].len;
		advance(q, &pos, &wrap, q->used[0].ndesc);
		for (i = 1; i < q->nused; i++) {
			struct vring_packed_desc *d = &ring(q)[pos];

			d->id = q->used[i].id;
			d->len = q->used[i].len;
			__atomic_store_n(&d->flags,
					 used_flags(wrap, q->used[i].len),
					 __ATOMIC_RELEASE);
			advance(q, &pos, &wrap, q->used[i].ndesc);
		}
		nd = q->nused;
	}
	__atomic_store_n(&first->flags, first_flags, __ATOMIC_RELEASE);
	/* Marked after the writes: a migration pass copies what we wrote. */
	if (unlikely(q->dp->log_all))
		log_published(q, nd);
	vr->last_used_idx = pos;
	vr->used_wrap = wrap;
	q->nused = 0;
	if (guest_wants_call(q, old_pos, old_wrap) &&
	    vhu_vring_call(vr) == 0)
		q->stats.notifications++;
}

/* Used receive buffers: one descriptor each, with its length. */
static void
publish(struct vq *q)
{
	publish_used(q, false);
}

/* Used transmit buffers: one descriptor in all on in-order rings. */
static void
publish_tx(struct vq *q)
{
	publish_used(q, q->in_order);
}

static inline void
used_add(struct vq *q, uint16_t id, uint16_t ndesc, uint32_t len)
{
	struct vq_pend *u = &q->used[q->nused++];

	u->id = id;
	u->ndesc = ndesc;
	u->len = len;
}

/*
 * In-order bookkeeping counts buffers taken modulo the ring size (packed
 * rings need not be a power of two), so a sequence number is its slot.
 */
static inline uint16_t
seq_next(const struct vq *q, uint16_t seq)
{
	return seq + 1 == q->size ? 0 : seq + 1;
}

/* A transmit buffer is done; in-order rings keep their order. */
static inline void
tx_done(struct vq *q, uint16_t seq, uint16_t id, uint16_t ndesc)
{
	if (q->pend != NULL) {
		/* waits while an older buffer is still lent */
		if (q->pend_head != seq || q->nused == RTE_DIM(q->used)) {
			q->pend[seq] = (struct vq_pend){ .id = id,
							 .ndesc = ndesc,
							 .done = 1 };
			return;
		}
		q->pend_head = seq_next(q, seq);
	}
	used_add(q, id, ndesc, 0);
}

/* In-order rings: finished entries, oldest first, up to seq_end. */
static void
flush_in_order(struct vq *q, uint16_t seq_end)
{
	while (q->pend_head != seq_end && q->nused < RTE_DIM(q->used)) {
		struct vq_pend *p = &q->pend[q->pend_head];

		if (!p->done)
			break;
		q->used[q->nused++] = *p;
		p->done = 0;
		q->pend_head = seq_next(q, q->pend_head);
	}
}

/* A lent buffer, taken as sequence number seq, came back. */
static void
zc_done(struct vq *q, uint16_t seq, uint16_t id)
{
	tx_done(q, seq, id, 1);
}

void
vq_packed_reap(struct vq *q)
{
	if (q->zc_held == 0 && q->nused == 0)
		return;
	vq_collect_zc(q, zc_done);
	if (q->pend != NULL)
		flush_in_order(q, q->seq);
	publish_tx(q);
}

/* ---- dequeue: guest transmit -> mbufs ----------------------------- */

static enum vq_tx_result
tx_one(struct vq *q, struct vq_tx *t, uint16_t *ndesc, uint16_t *id,
       bool *zc, uint16_t seq)
{
	struct vhu_vring *vr = q->vr;
	struct pchain c;
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	enum vq_walk w;
	bool first = true;
	int r;

	*zc = false;
	w = chain_begin(q, &c, vr->last_avail_idx, vr->avail_wrap, &addr,
			&len, &flags);
	if (w != VQ_OK)
		return w == VQ_BAD ? VQ_TX_BROKEN : VQ_TX_STOP;
	while ((r = chain_next(q, &c, &addr, &len, &flags, first)) > 0) {
		first = false;
		if (c.done && !c.indirect && c.ndesc == 1 &&
		    (flags & VRING_DESC_F_WRITE) == 0) {
			enum vq_tx_zc how = vq_tx_lend(q, t, addr, len, c.id,
						       c.id, seq);

			if (how == VQ_ZC_LENT) {
				*zc = true;
				break;
			}
			if (how == VQ_ZC_BORROWED) {
				*ndesc = 1;
				*id = c.id;
				return VQ_TX_PACKET;
			}
		}
		w = vq_tx_desc(q, t, addr, len, flags);
		if (w != VQ_OK)
			return w == VQ_BAD ? VQ_TX_BROKEN : VQ_TX_STOP;
	}
	if (r < 0)
		return VQ_TX_BROKEN;
	*ndesc = c.ndesc;
	*id = c.id;
	return vq_tx_finish(q, t);
}

/* Zero-copy slots record a buffer by its sequence number. */
static inline uint16_t
tx_pos(const struct vq *q)
{
	return q->seq;
}

/* The next buffer one descriptor at a time: its id and length. */
static enum vq_tx_result
tx_next(struct vq *q, struct vq_tx *t, uint16_t *id, uint16_t *ndesc,
	bool *zc)
{
	return tx_one(q, t, ndesc, id, zc, q->seq);
}

/* The buffer at our avail position, ndesc descriptors, was taken. */
static inline void
tx_taken(struct vq *q, uint16_t ndesc, uint16_t id, bool zc)
{
	uint16_t seq = q->seq;

	advance(q, &q->vr->last_avail_idx, &q->vr->avail_wrap, ndesc);
	q->seq = seq_next(q, seq);
	if (!zc)
		tx_done(q, seq, id, ndesc);
	else if (q->pend != NULL)	/* its used entry waits for the free */
		q->pend[seq] = (struct vq_pend){ .id = id, .ndesc = 1 };
}

/*
 * n one-descriptor buffers from our avail position were taken, none
 * lent; n is at most the ring's size (tx_batch()). On an in-order ring
 * with nothing older outstanding, one used entry stands for all of them:
 * publish_tx() tells a batch by its last id and steps over every
 * descriptor the entries count. Otherwise each is taken by tx_taken().
 */
static inline void
tx_taken_run(struct vq *q, uint16_t n, const uint16_t *id)
{
	uint16_t i;

	if (!q->in_order || q->pend_head != q->seq ||
	    q->nused == RTE_DIM(q->used)) {
		for (i = 0; i < n; i++)
			tx_taken(q, 1, id[i], false);
		return;
	}
	advance(q, &q->vr->last_avail_idx, &q->vr->avail_wrap, n);
	q->seq = q->seq + n >= q->size ? q->seq + n - q->size : q->seq + n;
	q->pend_head = q->seq;
	used_add(q, id[n - 1], n, 0);
}

/*
 * The flags a descriptor of lap wrap has when it is available as a whole
 * buffer of the batch path (no NEXT, no INDIRECT, WRITE as write says),
 * under BATCH_MASK, repeated for the VQ_BATCH descriptors of a line.
 */
#define BATCH_MASK	(F_AVAIL | F_USED | VRING_DESC_F_NEXT | \
			 VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)
#define BATCH_REPEAT	0x0001000100010001ULL

static __rte_always_inline uint64_t
batch_flags(bool wrap, bool write)
{
	return (avail_bits(wrap) | (write ? VRING_DESC_F_WRITE : 0)) *
	       BATCH_REPEAT;
}

/*
 * VQ_BATCH descriptors from pos, read together (one cache line of the
 * ring): true when all are available and not wrapping, each a whole
 * buffer (no NEXT, no INDIRECT) with the WRITE flag as write says, and
 * inside guest memory, translated to p[] (prefetched). Anything else is
 * left to the one-at-a-time path; nothing here counts or breaks. The
 * four flags are judged as one word; inlined with each caller, so that
 * write is a constant.
 */
static __rte_always_inline bool
batch_read(struct vq *q, uint16_t pos, bool wrap, bool write,
	   uint64_t *addr, uint32_t *len, uint16_t *id, uint8_t **p)
{
	const struct vring_packed_desc *d = &ring(q)[pos];
	uint16_t next = pos + VQ_BATCH;
	uint64_t f;
	unsigned int j;

	RTE_BUILD_BUG_ON(VQ_BATCH != 4);	/* four flags in one word */
	if (unlikely(next > q->size))
		return false;
	f = (uint64_t)__atomic_load_n(&d[0].flags, __ATOMIC_RELAXED) |
	    (uint64_t)__atomic_load_n(&d[1].flags, __ATOMIC_RELAXED) << 16 |
	    (uint64_t)__atomic_load_n(&d[2].flags, __ATOMIC_RELAXED) << 32 |
	    (uint64_t)__atomic_load_n(&d[3].flags, __ATOMIC_RELAXED) << 48;
	if ((f & (BATCH_MASK * BATCH_REPEAT)) != batch_flags(wrap, write))
		return false;
	/* The rest of each descriptor is read after its flags. */
	rte_atomic_thread_fence(__ATOMIC_ACQUIRE);
#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++) {
		addr[j] = __atomic_load_n(&d[j].addr, __ATOMIC_RELAXED);
		len[j] = __atomic_load_n(&d[j].len, __ATOMIC_RELAXED);
		id[j] = __atomic_load_n(&d[j].id, __ATOMIC_RELAXED);
	}
	if (!vq_batch_map(q, addr, len, p, write))
		return false;
	/* The next line of descriptors. */
	rte_prefetch0(&ring(q)[next == q->size ? 0 : next]);
	return true;
}

/*
 * Transmit batches: lengths between the header and the largest frame.
 * Never more than a lap of the ring: a guest rewriting flags behind us
 * must not make a stretch (tx_taken_run()) longer than the ring.
 */
static uint16_t
tx_batch(struct vq *q, uint16_t max, uint32_t *len, uint16_t *id,
	 uint8_t **p)
{
	uint16_t pos = q->vr->last_avail_idx, k = 0;
	bool wrap = q->vr->avail_wrap;
	uint64_t addr[VQ_BURST_MAX];

	max = RTE_MIN(max, q->size);
	while (max - k >= VQ_BATCH &&
	       batch_read(q, pos, wrap, false, addr + k, len + k, id + k,
			  p + k) &&
	       vq_tx_batch_lens(q, len + k)) {
		k += VQ_BATCH;
		advance(q, &pos, &wrap, VQ_BATCH);
	}
	return k;
}

/*
 * A guest makes a burst's buffers available one after the other. While
 * the buffer VQ_DEFER_SPAN - 1 past our avail position (in this lap) is
 * not available, it may still be writing them: with wait_bursts the ring
 * is left alone for this poll, once per position, and the next poll
 * takes what is there. Descriptor lines are then read once the guest is
 * done with them, and bursts come whole; a lone buffer waits one poll.
 */
static inline bool
burst_unfinished(struct vq *q)
{
	struct vhu_vring *vr = q->vr;
	uint16_t pos = vr->last_avail_idx;
	uint32_t last = (uint32_t)pos + VQ_DEFER_SPAN - 1;

	if (!q->wait_bursts || q->defer_head == pos || last >= q->size ||
	    desc_avail(&ring(q)[last], vr->avail_wrap))
		return false;
	q->defer_head = pos;
	return true;
}

/* Whether a buffer is available at our avail position. */
static inline bool
head_avail(const struct vq *q)
{
	return desc_avail(&ring(q)[q->vr->last_avail_idx], q->vr->avail_wrap);
}

/*
 * Whether a poll takes from the transmit ring now: a buffer is there
 * (else the spare mbufs go back) and it is no burst the guest may still
 * be making available.
 */
static inline bool
tx_ready(struct vq *q)
{
	if (!head_avail(q)) {
		vq_drop_spares(q);
		return false;
	}
	return !burst_unfinished(q);
}

uint16_t
vq_packed_dequeue(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t count, out = 0;

	if (q->zc_held > 0 || q->nused > 0)
		vq_collect_zc(q, zc_done);
	count = RTE_MIN(n, (uint16_t)(RTE_DIM(q->used) - q->nused));
	if (!tx_ready(q) || count == 0)
		goto done;
	count = vq_alloc_burst(q, pkts, count);
	if (count == 0)
		goto done;
	out = vq_dequeue_loop(q, pkts, count, tx_batch, tx_next, tx_pos,
			      tx_taken, tx_taken_run);
done:
	if (q->pend != NULL)
		flush_in_order(q, q->seq);
	if (!q->borrowing)	/* else at vq_reap(), when they are done */
		publish_tx(q);
	return out;
}

/* ---- enqueue: mbufs -> guest receive ------------------------------ */

/*
 * Fill the buffer at (*pos, *wrap): returns VQ_RETRY when the guest has
 * none there, and the buffer's id, descriptor count and bytes written.
 */
static enum vq_walk
rx_fill(struct vq *q, uint16_t pos, bool wrap, struct vq_rx *rx,
	uint16_t *id, uint16_t *ndesc, uint32_t *written)
{
	struct pchain c;
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	enum vq_walk w;
	bool first = true;
	int r;

	*written = 0;
	w = chain_begin(q, &c, pos, wrap, &addr, &len, &flags);
	while (w == VQ_OK &&
	       (r = chain_next(q, &c, &addr, &len, &flags, first)) != 0) {
		first = false;
		w = r < 0 ? VQ_BAD : vq_rx_desc(q, rx, addr, len, flags,
						 written);
	}
	*id = c.id;
	*ndesc = c.ndesc;
	return w;
}

/* The receive buffer at (at->pos, at->wrap). */
static enum vq_walk
rx_next(struct vq *q, struct vq_rx_pos *at, struct vq_rx *rx,
	void *arg __rte_unused)
{
	uint16_t id = 0, ndesc = 0;
	uint32_t written;
	enum vq_walk w;

	w = rx_fill(q, at->pos, at->wrap, rx, &id, &ndesc, &written);
	if (w == VQ_OK) {
		used_add(q, id, ndesc, written);
		advance(q, &at->pos, &at->wrap, ndesc);
	}
	return w;
}

static enum vq_rx_result
rx_one(struct vq *q, struct rte_mbuf *m, void *arg)
{
	return vq_rx_one(q, m, arg, rx_next, publish);
}

/*
 * Whole batches of receive buffers from (*pos, *wrap) for up to n
 * frames: the mbufs at m (nothing to fix in them) or, with peeked (a
 * constant), the frames of pk; while each buffer holds its frame. Their
 * ids, guest and host addresses; returns how many, a multiple of
 * VQ_BATCH, and moves the position past them; room is made for their
 * used entries.
 */
static __rte_always_inline uint16_t
rx_batches(struct vq *q, bool peeked, struct rte_mbuf **m,
	   const struct vq_peek *pk, uint16_t n, uint16_t *pos, bool *wrap,
	   uint16_t *id, uint64_t *addr, uint8_t **p)
{
	uint32_t len[VQ_BURST_MAX];
	uint16_t k = 0;

	while (n - k >= VQ_BATCH && (peeked || vq_rx_batch_plain(m + k)) &&
	       batch_read(q, *pos, *wrap, true, addr + k, len + k, id + k,
			  p + k) &&
	       (peeked ? vq_put_batch_fits(q, pk->len + k, len + k) :
			 vq_rx_batch_fits(q, m + k, len + k))) {
		k += VQ_BATCH;
		advance(q, pos, wrap, VQ_BATCH);
	}
	if (k > 0 && q->nused > RTE_DIM(q->used) / 2)
		publish(q);
	return k;
}

/*
 * Receive batches: of the n mbufs at m, whole batches with nothing to fix
 * into the next descriptors, while each is a whole writable buffer
 * inside guest memory that holds its packet. Anything else is left to
 * rx_one; nothing here counts or breaks.
 */
static uint16_t
rx_batch(struct vq *q, struct rte_mbuf **m, uint16_t n,
	 void *arg __rte_unused)
{
	struct vhu_vring *vr = q->vr;
	uint16_t pos = vr->last_avail_idx, id[VQ_BURST_MAX], k, j;
	bool wrap = vr->avail_wrap;
	uint64_t addr[VQ_BURST_MAX];
	uint8_t *p[VQ_BURST_MAX];

	k = rx_batches(q, false, m, NULL, n, &pos, &wrap, id, addr, p);
	if (k == 0)
		return 0;
	for (j = 0; j < k; j++) {
		if (j + 1 < k)
			vq_rx_prefetch_rest(m[j + 1]);
		used_add(q, id[j], 1, vq_rx_flat(q, m[j], p[j], addr[j]));
	}
	vr->last_avail_idx = pos;
	vr->avail_wrap = wrap;
	return k;
}

uint16_t
vq_packed_enqueue(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t taken = vq_enqueue_loop(q, pkts, n, rx_batch, rx_one, NULL);

	publish(q);
	return taken;
}

/* ---- guest to guest ----------------------------------------------- */

int
vq_packed_peek(struct vq *q, struct vq_peek *pk, uint16_t n)
{
	uint16_t k;

	if (!tx_ready(q))
		return 0;
	n = RTE_MIN(n, (uint16_t)(RTE_DIM(q->used) - q->nused));
	k = tx_batch(q, n, pk->len, pk->id, pk->frame);
	return k > 0 ? k : -1;
}

uint16_t
vq_packed_put(struct vq *q, const struct vq_peek *pk,
	      const struct vq_head *h)
{
	struct vhu_vring *vr = q->vr;
	uint16_t pos = vr->last_avail_idx, id[VQ_BURST_MAX], k, j;
	bool wrap = vr->avail_wrap;
	uint64_t addr[VQ_BURST_MAX], bytes = 0;
	uint8_t *p[VQ_BURST_MAX];

	k = rx_batches(q, true, NULL, pk, pk->n, &pos, &wrap, id, addr, p);
	if (k == 0)
		return 0;
	for (j = 0; j < k; j++) {
		used_add(q, id[j], 1,
			 vq_put_flat(q, p[j], pk->frame[j], pk->len[j], h));
		bytes += pk->len[j];
	}
	vr->last_avail_idx = pos;
	vr->avail_wrap = wrap;
	q->stats.packets += k;
	q->stats.bytes += bytes;
	publish(q);
	return k;
}

void
vq_packed_take(struct vq *q, const struct vq_peek *pk)
{
	tx_taken_run(q, pk->n, pk->id);
	if (q->pend != NULL)
		flush_in_order(q, q->seq);
	publish_tx(q);
}

bool
vq_packed_rx_any(const struct vq *q)
{
	return head_avail(q);
}
