/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues: dequeue (guest transmit) and enqueue (guest receive).
 *
 * Per burst: one acquire load of the avail index, descriptors validated
 * as they are read (bounds, chain length, indirect tables, zero lengths),
 * used entries collected and written together, the used index published
 * once with release semantics, and at most one guest notification, only
 * if the guest asked for it (EVENT_IDX or NO_INTERRUPT).
 *
 * Buffers go in batches of four (VQ_BATCH) while all four are plain
 * single descriptors: heads and descriptors read together, addresses
 * translated and the data prefetched, the next batch's descriptors
 * prefetched; every batch of the burst is read this way before any
 * buffer is copied, so that the misses on the guest's lines overlap.
 * Anything else goes one buffer at a time through the path that judges
 * it.
 */
#include <string.h>

#include <rte_prefetch.h>

#include "vq_internal.h"

/* Device-side view of a descriptor chain, direct or indirect. */
struct chain {
	const struct vring_desc *table;
	uint32_t n;		/* entries in table */
	uint32_t left;		/* descriptors we may still visit */
	uint16_t idx;
	bool indirect;
	bool done;
};

static inline struct vring_avail *
avail(const struct vq *q)
{
	return q->vr->avail;
}

static inline struct vring_used *
used(const struct vq *q)
{
	return q->vr->used;
}

/* Read a descriptor once: the guest may change it under us. */
static inline void
desc_load(const struct vring_desc *d, uint64_t *addr, uint32_t *len,
	  uint16_t *flags, uint16_t *next)
{
	*addr = __atomic_load_n(&d->addr, __ATOMIC_RELAXED);
	*len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
	*flags = __atomic_load_n(&d->flags, __ATOMIC_RELAXED);
	*next = __atomic_load_n(&d->next, __ATOMIC_RELAXED);
}

static enum vq_walk
chain_begin(struct vq *q, struct chain *c, uint16_t head)
{
	const struct vring_desc *desc = q->vr->desc;
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
	void *t;

	desc_load(&desc[head], &addr, &len, &flags, &next);
	c->done = false;
	if (likely((flags & VRING_DESC_F_INDIRECT) == 0)) {
		c->table = desc;
		c->n = q->size;
		c->idx = head;
		c->indirect = false;
		c->left = q->size;
		return VQ_OK;
	}
	if (!q->indirect || (flags & VRING_DESC_F_NEXT) != 0 || len == 0 ||
	    len % sizeof(struct vring_desc) != 0 ||
	    len / sizeof(struct vring_desc) > q->size) {
		vq_set_broken(q, "invalid indirect descriptor");
		return VQ_BAD;
	}
	t = vhu_dp_translate(q->dp, addr, len, VHU_ACCESS_RO);
	if (t == NULL)
		return vq_unmapped(q, addr, VHU_ACCESS_RO);
	if (((uintptr_t)t & 7) != 0) {
		vq_set_broken(q, "misaligned indirect table");
		return VQ_BAD;
	}
	c->table = t;
	c->n = len / sizeof(struct vring_desc);
	c->idx = 0;
	c->indirect = true;
	c->left = c->n;
	return VQ_OK;
}

/* Next descriptor of the chain: 1, 0 at its end, -1 when it is hostile. */
static inline int
chain_next(struct vq *q, struct chain *c, uint64_t *addr, uint32_t *len,
	   uint16_t *flags)
{
	uint16_t next;

	if (c->done)
		return 0;
	if (unlikely(c->left == 0)) {
		vq_set_broken(q, "descriptor chain longer than its table");
		return -1;
	}
	c->left--;
	desc_load(&c->table[c->idx], addr, len, flags, &next);
	if (unlikely((*flags & VRING_DESC_F_INDIRECT) != 0)) {
		vq_set_broken(q, c->indirect ? "nested indirect table" :
			      "indirect descriptor inside a chain");
		return -1;
	}
	if (unlikely(*len == 0)) {
		vq_set_broken(q, "zero-length descriptor");
		return -1;
	}
	if (*flags & VRING_DESC_F_NEXT) {
		if (unlikely(next >= c->n)) {
			vq_set_broken(q, "next descriptor out of range");
			return -1;
		}
		c->idx = next;
	} else {
		c->done = true;
	}
	return 1;
}

void
vq_split_init(struct vq *q)
{
	/* We poll: without EVENT_IDX the guest need not notify us. */
	if (q->event_idx)
		return;
	__atomic_fetch_or(&used(q)->flags, VRING_USED_F_NO_NOTIFY,
			  __ATOMIC_RELAXED);
	if (q->dp->log_all)
		vhu_log_used(q->vr, offsetof(struct vring_used, flags),
			     sizeof(uint16_t));
}

/* ---- used ring ---------------------------------------------------- */

static void
notify(struct vq *q, uint16_t old_idx, uint16_t new_idx)
{
	bool need;

	/* Our used index must be visible before we read the guest's wish. */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		uint16_t ev = __atomic_load_n(&avail(q)->ring[q->size],
					      __ATOMIC_RELAXED);

		need = vq_need_event(ev, new_idx, old_idx);
	} else {
		need = (__atomic_load_n(&avail(q)->flags, __ATOMIC_RELAXED) &
			VRING_AVAIL_F_NO_INTERRUPT) == 0;
	}
	if (need && vhu_vring_call(q->vr) == 0)
		q->stats.notifications++;
}

static void
log_used(struct vq *q, uint16_t from, uint16_t n)
{
	uint16_t first = from & q->mask;
	uint16_t k = n < q->size - first ? n : q->size - first;

	vhu_log_used(q->vr, offsetof(struct vring_used, ring[first]),
		     k * sizeof(struct vring_used_elem));
	if (k < n)
		vhu_log_used(q->vr, offsetof(struct vring_used, ring[0]),
			     (n - k) * sizeof(struct vring_used_elem));
	vhu_log_used(q->vr, offsetof(struct vring_used, idx), sizeof(uint16_t));
}

/*
 * n used entries into the ring from e on, each in one 8-byte store (id
 * in the low half: the ring is little-endian, as this host is).
 */
static inline void
used_write(struct vring_used_elem *e, const struct vq_pend *from, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = (uint64_t)from[i].len << 32 | from[i].id;

		memcpy(&e[i], &v, sizeof(v));
	}
}

/* Write the collected used entries and publish them in one store. */
static void
publish(struct vq *q)
{
	struct vring_used *u = used(q);
	uint16_t old_idx = q->vr->last_used_idx, first = old_idx & q->mask;
	uint16_t k = RTE_MIN(q->nused, (uint16_t)(q->size - first));

	if (q->nused == 0)
		return;
	used_write(&u->ring[first], q->used, k);
	used_write(&u->ring[0], q->used + k, q->nused - k);
	__atomic_store_n(&u->idx, (uint16_t)(old_idx + q->nused),
			 __ATOMIC_RELEASE);
	if (unlikely(q->dp->log_all))
		log_used(q, old_idx, q->nused);
	q->vr->last_used_idx = old_idx + q->nused;
	q->nused = 0;
	notify(q, old_idx, q->vr->last_used_idx);
}

/*
 * An entry at avail position pos is done. In-order rings keep order: it
 * waits in pend[] while an older one is still lent, else goes straight
 * to the batch.
 */
static inline void
used_done(struct vq *q, uint16_t pos, uint16_t id, uint32_t len)
{
	if (q->pend != NULL) {
		if (q->pend_head != pos || q->nused == RTE_DIM(q->used)) {
			q->pend[pos & q->mask] = (struct vq_pend){
				.id = id, .len = len, .done = 1 };
			return;
		}
		q->pend_head++;
	}
	q->used[q->nused].id = id;
	q->used[q->nused++].len = len;
}

/* In-order rings: move finished entries, oldest first, to the batch. */
static void
flush_in_order(struct vq *q)
{
	while (q->pend_head != q->vr->last_avail_idx &&
	       q->nused < RTE_DIM(q->used)) {
		struct vq_pend *p = &q->pend[q->pend_head & q->mask];

		if (!p->done)
			break;
		q->used[q->nused++] = *p;
		p->done = 0;
		q->pend_head++;
	}
}

/* A lent buffer taken at avail position pos came back. */
static void
zc_done(struct vq *q, uint16_t pos, uint16_t id)
{
	used_done(q, pos, id, 0);
}

void
vq_split_reap(struct vq *q)
{
	if (q->zc_held == 0 && q->nused == 0)
		return;
	vq_collect_zc(q, zc_done);
	if (q->pend != NULL)
		flush_in_order(q);
	publish(q);
}

/* ---- dequeue: guest transmit -> mbufs ----------------------------- */

/*
 * Turn the chain at head into the packet t->m. Every descriptor is
 * validated; a buffer that is one descriptor may be lent (zero-copy).
 */
static enum vq_tx_result
tx_one(struct vq *q, uint16_t head, uint16_t pos, struct vq_tx *t, bool *zc)
{
	struct chain c;
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	int r;

	*zc = false;
	if (chain_begin(q, &c, head) != VQ_OK)
		return q->broken ? VQ_TX_BROKEN : VQ_TX_STOP;
	while ((r = chain_next(q, &c, &addr, &len, &flags)) > 0) {
		enum vq_walk w;

		if (c.done && !c.indirect && t->total == 0 &&
		    (flags & VRING_DESC_F_WRITE) == 0) {
			enum vq_tx_zc how = vq_tx_lend(q, t, addr, len, head,
						       head, pos);

			if (how == VQ_ZC_BORROWED)
				return VQ_TX_PACKET;
			if (how == VQ_ZC_LENT) {
				*zc = true;
				break;
			}
		}
		w = vq_tx_desc(q, t, addr, len, flags);
		if (w != VQ_OK)
			return w == VQ_BAD ? VQ_TX_BROKEN : VQ_TX_STOP;
	}
	if (r < 0)
		return VQ_TX_BROKEN;
	return vq_tx_finish(q, t);
}

/* The avail position of the next buffer. */
static inline uint16_t
tx_pos(const struct vq *q)
{
	return q->vr->last_avail_idx;
}

/* The buffer at our avail position, chain head, was taken. */
static inline void
tx_taken(struct vq *q, uint16_t ndesc __rte_unused, uint16_t head, bool zc)
{
	uint16_t pos = q->vr->last_avail_idx;

	q->vr->last_avail_idx = pos + 1;
	if (!zc)
		used_done(q, pos, head, 0);
	else if (q->pend != NULL)	/* its used entry waits for the free */
		q->pend[pos & q->mask] = (struct vq_pend){ .id = head };
}

/*
 * n buffers from our avail position, heads id[], taken, none lent: a
 * split ring writes a used entry per buffer anyway.
 */
static inline void
tx_taken_run(struct vq *q, uint16_t n, const uint16_t *id)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		tx_taken(q, 1, id[i], false);
}

/* The next buffer one descriptor at a time: its head and chain. */
static enum vq_tx_result
tx_next(struct vq *q, struct vq_tx *t, uint16_t *head, uint16_t *ndesc,
	bool *zc)
{
	uint16_t pos = q->vr->last_avail_idx;

	*ndesc = 1;	/* one avail entry, whatever the chain */
	*head = avail(q)->ring[pos & q->mask];
	if (unlikely(*head >= q->size)) {
		vq_set_broken(q, "avail ring entry out of range");
		return VQ_TX_BROKEN;
	}
	return tx_one(q, *head, pos, t, zc);
}

/* Prefetch the descriptors of the batch after the one at pos. */
static inline void
prefetch_next_batch(const struct vq *q, uint16_t pos)
{
	const struct vring_desc *desc = q->vr->desc;
	const struct vring_avail *a = avail(q);
	unsigned int j;

	/* Masked: a hostile entry is judged later, never prefetched. */
	for (j = VQ_BATCH; j < 2 * VQ_BATCH; j++)
		rte_prefetch0(&desc[a->ring[(pos + j) & q->mask] & q->mask]);
}

/*
 * The VQ_BATCH buffers from avail position pos, when each is one
 * descriptor (no NEXT, no INDIRECT) with the WRITE flag as write says,
 * inside guest memory: heads, guest addresses, lengths and host
 * addresses (prefetched). Anything else is left to the one-at-a-time
 * path, which judges it; nothing here counts or breaks. A head is read
 * masked, so that a hostile one reads inside the table before it is
 * judged; inlined with each caller, so that write is a constant.
 */
static __rte_always_inline bool
batch_read(struct vq *q, uint16_t pos, bool write, uint16_t *head,
	   uint64_t *addr, uint32_t *len, uint8_t **p)
{
	const struct vring_desc *desc = q->vr->desc;
	const uint16_t *ring = avail(q)->ring;
	uint16_t want = write ? VRING_DESC_F_WRITE : 0;
	uint16_t mask = q->mask, size = q->size;
	bool ok = true;
	unsigned int j;

#pragma GCC unroll 4
	for (j = 0; j < VQ_BATCH; j++) {
		uint16_t h = __atomic_load_n(&ring[(pos + j) & mask],
					     __ATOMIC_RELAXED);
		uint16_t flags, next;

		head[j] = h;
		desc_load(&desc[h & mask], &addr[j], &len[j], &flags, &next);
		ok &= h < size &&
		      (flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT |
				VRING_DESC_F_WRITE)) == want;
	}
	if (!ok || !vq_batch_map(q, addr, len, p, write))
		return false;
	prefetch_next_batch(q, pos);
	return true;
}

/* Transmit batches: lengths between the header and the largest frame. */
static uint16_t
tx_batch(struct vq *q, uint16_t max, uint32_t *len, uint16_t *head,
	 uint8_t **p)
{
	uint16_t pos = q->vr->last_avail_idx, k = 0;
	uint64_t addr[VQ_BURST_MAX];

	while (max - k >= VQ_BATCH &&
	       batch_read(q, pos + k, false, head + k, addr + k, len + k,
			  p + k) &&
	       vq_tx_batch_lens(q, len + k))
		k += VQ_BATCH;
	return k;
}

/* Avail entries the guest has put ahead of our position. */
static inline uint16_t
avail_ahead(const struct vq *q)
{
	return __atomic_load_n(&avail(q)->idx, __ATOMIC_ACQUIRE) -
	       q->vr->last_avail_idx;
}

uint16_t
vq_split_dequeue(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhu_vring *vr = q->vr;
	uint16_t start = vr->last_avail_idx, count, out = 0;

	if (q->zc_held > 0 || q->nused > 0)
		vq_collect_zc(q, zc_done);
	count = avail_ahead(q);
	if (unlikely(count > q->size)) {
		vq_set_broken(q, "avail index ran more than a ring ahead");
		return 0;
	}
	if (count == 0)
		vq_drop_spares(q);
	count = RTE_MIN(count, n);
	count = RTE_MIN(count, (uint16_t)(RTE_DIM(q->used) - q->nused));
	if (count == 0)
		goto done;
	count = vq_alloc_burst(q, pkts, count);
	if (count == 0)
		goto done;
	rte_prefetch0(&avail(q)->ring[start & q->mask]);
	out = vq_dequeue_loop(q, pkts, count, tx_batch, tx_next, tx_pos,
			      tx_taken, tx_taken_run);
done:
	if (q->pend != NULL)
		flush_in_order(q);
	if (!q->borrowing)	/* else at vq_reap(), when they are done */
		publish(q);
	return out;
}

/* ---- enqueue: mbufs -> guest receive ------------------------------ */

/* Fill the receive chain at head; the bytes written go to *written. */
static enum vq_walk
rx_fill(struct vq *q, uint16_t head, struct vq_rx *rx, uint32_t *written)
{
	struct chain c;
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	enum vq_walk w;
	int r;

	*written = 0;
	w = chain_begin(q, &c, head);
	while (w == VQ_OK &&
	       (r = chain_next(q, &c, &addr, &len, &flags)) != 0)
		w = r < 0 ? VQ_BAD : vq_rx_desc(q, rx, addr, len, flags,
						 written);
	return w;
}

/* The receive buffer at avail position at->pos, before avail_end. */
static enum vq_walk
rx_next(struct vq *q, struct vq_rx_pos *at, struct vq_rx *rx, void *arg)
{
	uint16_t avail_end = *(const uint16_t *)arg, head;
	uint32_t written;
	enum vq_walk w;

	if (at->pos == avail_end)
		return VQ_RETRY;
	head = avail(q)->ring[at->pos & q->mask];
	if (unlikely(head >= q->size)) {
		vq_set_broken(q, "avail ring entry out of range");
		return VQ_BAD;
	}
	w = rx_fill(q, head, rx, &written);
	if (w == VQ_OK) {
		q->used[q->nused].id = head;
		q->used[q->nused++].len = written;
		at->pos++;
	}
	return w;
}

static enum vq_rx_result
rx_one(struct vq *q, struct rte_mbuf *m, void *arg)
{
	return vq_rx_one(q, m, arg, rx_next, publish);
}

/*
 * Whole batches of receive buffers from avail position pos for up to n
 * frames: the mbufs at m (nothing to fix in them) or, with peeked (a
 * constant), the frames of pk; while each buffer holds its frame. Their
 * heads, guest and host addresses; returns how many, a multiple of
 * VQ_BATCH; room is made for their used entries.
 */
static __rte_always_inline uint16_t
rx_batches(struct vq *q, bool peeked, struct rte_mbuf **m,
	   const struct vq_peek *pk, uint16_t n, uint16_t pos,
	   uint16_t *head, uint64_t *addr, uint8_t **p)
{
	uint32_t len[VQ_BURST_MAX];
	uint16_t k = 0;

	while (n - k >= VQ_BATCH && (peeked || vq_rx_batch_plain(m + k)) &&
	       batch_read(q, pos + k, true, head + k, addr + k, len + k,
			  p + k) &&
	       (peeked ? vq_put_batch_fits(q, pk->len + k, len + k) :
			 vq_rx_batch_fits(q, m + k, len + k)))
		k += VQ_BATCH;
	if (k > 0 && q->nused > RTE_DIM(q->used) / 2)
		publish(q);
	return k;
}

/*
 * Receive batches: of the n mbufs at m, whole batches with nothing to fix
 * into the next buffers, while each is one writable descriptor inside
 * guest memory that holds its packet. Anything else is left to rx_one;
 * nothing here counts or breaks.
 */
static uint16_t
rx_batch(struct vq *q, struct rte_mbuf **m, uint16_t n, void *arg)
{
	uint16_t avail_end = *(const uint16_t *)arg;
	uint16_t pos = q->vr->last_avail_idx, head[VQ_BURST_MAX], k, j;
	uint64_t addr[VQ_BURST_MAX];
	uint8_t *p[VQ_BURST_MAX];

	n = RTE_MIN(n, (uint16_t)(avail_end - pos));
	k = rx_batches(q, false, m, NULL, n, pos, head, addr, p);
	if (k == 0)
		return 0;
	for (j = 0; j < k; j++) {
		if (j + 1 < k)
			vq_rx_prefetch_rest(m[j + 1]);
		q->used[q->nused].id = head[j];
		q->used[q->nused++].len = vq_rx_flat(q, m[j], p[j], addr[j]);
	}
	q->vr->last_avail_idx = pos + k;
	return k;
}

uint16_t
vq_split_enqueue(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t avail_end, taken;

	avail_end = __atomic_load_n(&avail(q)->idx, __ATOMIC_ACQUIRE);
	if (unlikely((uint16_t)(avail_end - q->vr->last_avail_idx) >
		     q->size)) {
		vq_set_broken(q, "avail index ran more than a ring ahead");
		q->stats.drops[VQ_DROP_BROKEN] += n;
		return 0;
	}
	taken = vq_enqueue_loop(q, pkts, n, rx_batch, rx_one, &avail_end);
	publish(q);
	return taken;
}

/* ---- guest to guest ----------------------------------------------- */

int
vq_split_peek(struct vq *q, struct vq_peek *pk, uint16_t n)
{
	uint16_t start = q->vr->last_avail_idx, count, k;

	count = avail_ahead(q);
	if (unlikely(count > q->size))
		return -1;	/* the dequeue judges it */
	if (count == 0) {
		vq_drop_spares(q);
		return 0;
	}
	count = RTE_MIN(count, n);
	count = RTE_MIN(count, (uint16_t)(RTE_DIM(q->used) - q->nused));
	rte_prefetch0(&avail(q)->ring[start & q->mask]);
	k = tx_batch(q, count, pk->len, pk->id, pk->frame);
	return k > 0 ? k : -1;
}

uint16_t
vq_split_put(struct vq *q, const struct vq_peek *pk,
	     const struct vq_head *h)
{
	uint16_t pos = q->vr->last_avail_idx, head[VQ_BURST_MAX], k, j;
	uint64_t addr[VQ_BURST_MAX], bytes = 0;
	uint8_t *p[VQ_BURST_MAX];
	uint16_t n = avail_ahead(q);

	if (unlikely(n > q->size))
		return 0;	/* the enqueue judges it */
	n = RTE_MIN(n, pk->n);
	k = rx_batches(q, true, NULL, pk, n, pos, head, addr, p);
	if (k == 0)
		return 0;
	for (j = 0; j < k; j++) {
		q->used[q->nused].id = head[j];
		q->used[q->nused++].len =
			vq_put_flat(q, p[j], pk->frame[j], pk->len[j], h);
		bytes += pk->len[j];
	}
	q->vr->last_avail_idx = pos + k;
	q->stats.packets += k;
	q->stats.bytes += bytes;
	publish(q);
	return k;
}

void
vq_split_take(struct vq *q, const struct vq_peek *pk)
{
	tx_taken_run(q, pk->n, pk->id);
	if (q->pend != NULL)
		flush_in_order(q);
	publish(q);
}

bool
vq_split_rx_any(const struct vq *q)
{
	return avail_ahead(q) != 0;
}
