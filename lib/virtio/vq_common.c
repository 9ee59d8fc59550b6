/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Queue life cycle and what the split and packed paths share: feature
 * snapshot, zero-copy buffers and their completions from any lcore,
 * marking a queue broken, and copying guest bytes into mbuf chains.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "vq_internal.h"

#define VQ_ZC_MIN_LEN_DEFAULT	512
#define VQ_ZC_HDR_LEN_DEFAULT	128

uint64_t vq_borrow_flag;
int vq_borrow_off = -1;

/* The mbuf flag and field of borrowed frames: false if none was had. */
static bool
borrow_register(void)
{
	static const struct rte_mbuf_dynfield field = {
		.name = VQ_BORROW_FIELD,
		.size = sizeof(uint8_t *),
		.align = __alignof__(uint8_t *),
	};
	static const struct rte_mbuf_dynflag flag = {
		.name = VQ_BORROW_FLAG,
	};
	int off, bit;

	if (vq_borrow_flag != 0)
		return true;
	off = rte_mbuf_dynfield_register(&field);
	bit = rte_mbuf_dynflag_register(&flag);
	if (off < 0 || bit < 0)
		return false;
	vq_borrow_off = off;
	vq_borrow_flag = RTE_BIT64(bit);
	return true;
}

#define VQ_X_NAME(name, counter, text) [VQ_DROP_##name] = counter,
static const char *const drop_names[VQ_DROP_MAX] = {
	VQ_DROP_REASONS(VQ_X_NAME)
};
#undef VQ_X_NAME

const char *
vq_drop_name(enum vq_drop reason)
{
	return reason < VQ_DROP_MAX ? drop_names[reason] : "unknown";
}

static bool
has(uint64_t features, unsigned int bit)
{
	return (features & (1ULL << bit)) != 0;
}

static void
snapshot_features(struct vq *q)
{
	uint64_t f = q->dp->features;

	q->packed = q->vr->packed;
	q->event_idx = has(f, VHU_F_RING_EVENT_IDX);
	q->mrg_rxbuf = has(f, VHU_NET_F_MRG_RXBUF);
	q->indirect = has(f, VHU_F_RING_INDIRECT_DESC);
	q->in_order = has(f, VHU_F_IN_ORDER);
	q->guest_csum = has(f, VHU_NET_F_GUEST_CSUM);
	q->guest_tso4 = has(f, VHU_NET_F_GUEST_TSO4);
	q->guest_tso6 = has(f, VHU_NET_F_GUEST_TSO6);
	q->guest_ufo = has(f, VHU_NET_F_GUEST_UFO);
	q->host_offloads =
		(has(f, VHU_NET_F_CSUM) ? VQ_HOST_CSUM : 0) |
		(has(f, VHU_NET_F_HOST_TSO4) ? VQ_HOST_TSO4 : 0) |
		(has(f, VHU_NET_F_HOST_TSO6) ? VQ_HOST_TSO6 : 0) |
		(has(f, VHU_NET_F_HOST_ECN) ? VQ_HOST_ECN : 0) |
		(has(f, VHU_NET_F_HOST_UFO) ? VQ_HOST_UFO : 0);
	q->hdr_len = q->mrg_rxbuf || has(f, VHU_F_VERSION_1) ?
		     VQ_HDR_LEN_MRG : VQ_HDR_LEN_LEGACY;
}

static struct vq_zc *
zc_create(uint16_t size, unsigned int owner, const char *name)
{
	struct vq_zc *zc;
	uint16_t i;

	zc = rte_zmalloc(NULL, sizeof(*zc) + size * sizeof(zc->slot[0]),
			 RTE_CACHE_LINE_SIZE);
	if (zc == NULL)
		return NULL;
	zc->local = rte_zmalloc(NULL, size * sizeof(uint16_t), 0);
	/* Room for every slot: a completion never fails to queue. */
	zc->ring = rte_ring_create_elem(name, sizeof(uint32_t),
					rte_align32pow2(size + 1),
					SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (zc->local == NULL || zc->ring == NULL) {
		rte_ring_free(zc->ring);
		rte_free(zc->local);
		rte_free(zc);
		return NULL;
	}
	zc->refcnt = 1;
	zc->owner = owner;
	zc->size = size;
	for (i = 0; i < size; i++) {
		zc->slot[i].zc = zc;
		zc->slot[i].index = i;
	}
	return zc;
}

static void
zc_put(struct vq_zc *zc)
{
	if (__atomic_sub_fetch(&zc->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	rte_ring_free(zc->ring);
	rte_free(zc->local);
	rte_free(zc);
}

/* The last reference to a lent guest buffer went away, on any lcore. */
static void
zc_free_cb(void *addr, void *opaque)
{
	struct vq_zc_slot *s = opaque;
	struct vq_zc *zc = s->zc;
	uint32_t idx = s->index;

	(void)addr;
	if (rte_lcore_id() == __atomic_load_n(&zc->owner, __ATOMIC_ACQUIRE))
		zc->local[zc->nlocal++] = s->index;
	else
		while (rte_ring_mp_enqueue_elem(zc->ring, &idx,
						sizeof(idx)) != 0)
			rte_pause();	/* cannot fill: sized for every slot */
	zc_put(zc);
}

struct rte_mbuf *
vq_zc_attach(struct vq *q, struct rte_mbuf *hdr, uint8_t *buf, uint32_t len,
	     uint16_t slot, uint16_t id, uint16_t pos)
{
	struct vq_zc_slot *s = &q->zc->slot[slot];
	struct rte_mbuf *m = rte_pktmbuf_alloc(q->mp);

	if (unlikely(m == NULL))
		return NULL;
	s->id = id;
	s->pos = pos;
	s->lent = true;
	s->shinfo.free_cb = zc_free_cb;
	s->shinfo.fcb_opaque = s;
	rte_mbuf_ext_refcnt_set(&s->shinfo, 1);
	__atomic_add_fetch(&q->zc->refcnt, 1, __ATOMIC_RELAXED);
	/* IOVA as VA: what DMA-capable ports need mapped (see docs). */
	rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t)(uintptr_t)buf,
				  (uint16_t)len, &s->shinfo);
	m->data_off = 0;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	hdr->next = m;
	hdr->nb_segs = 2;
	hdr->pkt_len = hdr->data_len + len;
	q->zc_held++;
	return hdr;
}

unsigned int
vq_zc_collect(struct vq *q, uint16_t *out, unsigned int max)
{
	struct vq_zc *zc = q->zc;
	unsigned int n = 0;
	uint32_t idx;

	unsigned int i;

	while (zc->nlocal > 0 && n < max)
		out[n++] = zc->local[--zc->nlocal];
	while (n < max &&
	       rte_ring_sc_dequeue_elem(zc->ring, &idx, sizeof(idx)) == 0)
		out[n++] = (uint16_t)idx;
	for (i = 0; i < n; i++)
		zc->slot[out[i]].lent = false;
	q->zc_held -= n;
	return n;
}

struct vq *
vq_create(struct vhu_vring *vr, const struct vq_params *p)
{
	static uint32_t seq;
	char name[RTE_RING_NAMESIZE];
	struct vq *q;

	if (vr->big_endian) {
		rte_errno = ENOTSUP;	/* legacy big-endian rings */
		return NULL;
	}
	q = rte_zmalloc(NULL, sizeof(*q), RTE_CACHE_LINE_SIZE);
	if (q == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	q->vr = vr;
	q->dp = vr->dp;
	q->mp = p->mp;
	q->size = vr->size;
	q->mask = vr->size - 1;
	snapshot_features(q);
	q->zc_min_len = p->zc_min_len != 0 ? p->zc_min_len :
			VQ_ZC_MIN_LEN_DEFAULT;
	q->zc_hdr_len = p->zc_hdr_len != 0 ? p->zc_hdr_len :
			VQ_ZC_HDR_LEN_DEFAULT;
	q->zc_max_held = p->zc_max_held != 0 ? p->zc_max_held : q->size / 2;
	q->zc_on = p->zero_copy && q->zc_min_len > q->zc_hdr_len;
	q->borrow_on = p->zero_copy && borrow_register();
	q->wait_bursts = p->wait_bursts;
	snprintf(name, sizeof(name), "vqzc%u",
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	q->zc = zc_create(q->size, p->owner_lcore, name);
	if (q->zc == NULL) {
		rte_free(q);
		rte_errno = ENOMEM;
		return NULL;
	}
	if (q->in_order) {
		q->pend = rte_zmalloc(NULL, q->size * sizeof(*q->pend), 0);
		if (q->pend == NULL) {
			zc_put(q->zc);
			rte_free(q);
			rte_errno = ENOMEM;
			return NULL;
		}
		/* Split rings count by avail position, packed by buffer. */
		q->pend_head = q->packed ? 0 : vr->last_avail_idx;
	}
	if (q->packed)
		vq_packed_init(q);
	else
		vq_split_init(q);
	return q;
}

void
vq_free(struct vq *q)
{
	if (q == NULL)
		return;
	vq_drop_spares(q);
	zc_put(q->zc);
	rte_free(q->pend);
	rte_free(q);
}

void
vq_set_broken(struct vq *q, const char *why)
{
	if (q->broken)
		return;
	q->broken = true;
	vhu_vring_mark_broken(q->vr, why);
}

enum vq_walk
vq_unmapped(struct vq *q, uint64_t addr, uint8_t perm)
{
	if (q->dp->iommu) {
		vhu_vring_iotlb_miss(q->vr, addr, perm);
		return VQ_RETRY;
	}
	vq_set_broken(q, "descriptor address outside guest memory");
	return VQ_BAD;
}

int
vq_copy_to_mbuf(struct vq *q, struct rte_mbuf *m, const uint8_t *src,
		uint32_t len)
{
	struct rte_mbuf *last = rte_pktmbuf_lastseg(m);

	while (len > 0) {
		uint16_t room = rte_pktmbuf_tailroom(last);
		uint32_t n;

		if (room == 0) {
			struct rte_mbuf *seg = rte_pktmbuf_alloc(q->mp);

			if (unlikely(seg == NULL))
				return -ENOMEM;
			last->next = seg;
			last = seg;
			m->nb_segs++;
			continue;
		}
		n = len < room ? len : room;
		vq_copy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len),
			src, n);
		last->data_len += n;
		m->pkt_len += n;
		src += n;
		len -= n;
	}
	return 0;
}

uint16_t
vq_dequeue_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	if (unlikely(q->broken))
		return 0;
	if (n > VQ_BURST_MAX)
		n = VQ_BURST_MAX;
	return q->packed ? vq_packed_dequeue(q, pkts, n) :
			   vq_split_dequeue(q, pkts, n);
}

uint16_t
vq_borrow_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t out;

	q->borrowing = q->borrow_on;
	out = vq_dequeue_burst(q, pkts, n);
	q->borrowing = false;
	return out;
}

uint16_t
vq_enqueue_burst(struct vq *q, struct rte_mbuf **pkts, uint16_t n)
{
	if (unlikely(q->broken)) {
		q->stats.drops[VQ_DROP_BROKEN] += n;
		return 0;
	}
	if (unlikely(!__atomic_load_n(&q->vr->enabled, __ATOMIC_RELAXED))) {
		q->stats.drops[VQ_DROP_DISABLED] += n;
		return 0;
	}
	if (n > VQ_BURST_MAX)
		n = VQ_BURST_MAX;
	return q->packed ? vq_packed_enqueue(q, pkts, n) :
			   vq_split_enqueue(q, pkts, n);
}

void
vq_reap(struct vq *q)
{
	if (q->broken)
		return;
	if (q->packed)
		vq_packed_reap(q);
	else
		vq_split_reap(q);
}

/*
 * A peeked burst's frames, each VQ_HEAD_LEN bytes or more (the head a
 * put writes) and no longer than the queue's mbufs hold (longer ones are
 * the dequeue's to lend), headers that ask for nothing: moved past their
 * headers. -1 for any other burst.
 */
static int
peek_frames(const struct vq *q, struct vq_peek *pk, uint16_t k)
{
	uint32_t room = rte_pktmbuf_data_room_size(q->mp);
	uint16_t j;

	pk->n = k;	/* looked at, taken or not */
	room -= RTE_MIN(room, (uint32_t)RTE_PKTMBUF_HEADROOM);
	for (j = 0; j < k; j++) {
		uint32_t frame = pk->len[j] - q->hdr_len;

		if (frame < VQ_HEAD_LEN || frame > room ||
		    !vq_tx_hdr_plain(q, pk->frame[j]))
			return -1;
		pk->frame[j] += q->hdr_len;
		pk->len[j] = frame;
	}
	return k;
}

int
vq_peek_burst(struct vq *q, struct vq_peek *pk, uint16_t n)
{
	int k;

	pk->n = 0;
	if (unlikely(q->broken) || q->zc_held > 0 || q->nused > 0 ||
	    !__atomic_load_n(&q->vr->enabled, __ATOMIC_RELAXED))
		return -1;	/* nused: a borrowing burst not yet reaped */
	n = RTE_MIN(n, (uint16_t)VQ_BURST_MAX);
	k = q->packed ? vq_packed_peek(q, pk, n) : vq_split_peek(q, pk, n);
	return k > 0 ? peek_frames(q, pk, (uint16_t)k) : k;
}

/*
 * The frames of pk from the first on that whole batches of receive
 * buffers did not take, or all under a dirty log: copied into this
 * queue's mbufs (the header as h says; segments as its pool's room
 * needs) and enqueued as any other. Frames the pool had no mbufs for
 * are counted as no_mbuf and not taken.
 */
static uint16_t
put_by_mbuf(struct vq *q, const struct vq_peek *pk, uint16_t first,
	    const struct vq_head *h)
{
	struct rte_mbuf *m[VQ_BURST_MAX];
	uint16_t n = pk->n - first, i, taken;

	if (rte_pktmbuf_alloc_bulk(q->mp, m, n) != 0) {
		q->stats.drops[VQ_DROP_NO_MBUF] += n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *f = pk->frame[first + i];
		uint8_t head[VQ_HEAD_LEN];

		vq_head_put(head, f, h);
		if (vq_copy_to_mbuf(q, m[i], head, sizeof(head)) != 0 ||
		    vq_copy_to_mbuf(q, m[i], f + sizeof(head),
				    pk->len[first + i] - sizeof(head)) != 0)
			break;
	}
	if (i < n) {
		q->stats.drops[VQ_DROP_NO_MBUF] += n - i;
		rte_pktmbuf_free_bulk(m + i, n - i);
		n = i;
	}
	taken = q->packed ? vq_packed_enqueue(q, m, n) :
			    vq_split_enqueue(q, m, n);
	rte_pktmbuf_free_bulk(m, n);
	return taken;
}

/* Whether the guest has any receive buffer posted at our position. */
static bool
vq_rx_any(struct vq *q)
{
	return q->packed ? vq_packed_rx_any(q) : vq_split_rx_any(q);
}

uint16_t
vq_put_burst(struct vq *q, const struct vq_peek *pk, const struct vq_head *h)
{
	uint16_t k = 0;

	if (unlikely(q->broken)) {
		q->stats.drops[VQ_DROP_BROKEN] += pk->n;
		return 0;
	}
	if (unlikely(!__atomic_load_n(&q->vr->enabled, __ATOMIC_RELAXED))) {
		q->stats.drops[VQ_DROP_DISABLED] += pk->n;
		return 0;
	}
	if (likely(!q->dp->log_all))
		k = q->packed ? vq_packed_put(q, pk, h) :
				vq_split_put(q, pk, h);
	if (k == 0 && !vq_rx_any(q)) {	/* no copies to drop */
		q->stats.drops[VQ_DROP_NO_BUFFER] += pk->n;
		return 0;
	}
	if (k < pk->n && !q->broken)
		k += put_by_mbuf(q, pk, k, h);
	return k;
}

void
vq_take_burst(struct vq *q, const struct vq_peek *pk)
{
	uint64_t bytes = 0;
	uint16_t j;

	for (j = 0; j < pk->n; j++)
		bytes += pk->len[j];
	if (q->packed)
		vq_packed_take(q, pk);
	else
		vq_split_take(q, pk);
	q->stats.packets += pk->n;
	q->stats.bytes += bytes;
	q->stats.copy_packets += pk->n;
	q->stats.direct_packets += pk->n;
}

void
vq_set_owner(struct vq *q, unsigned int lcore)
{
	__atomic_store_n(&q->zc->owner, lcore, __ATOMIC_RELEASE);
}

unsigned int
vq_zc_outstanding(const struct vq *q)
{
	return __atomic_load_n(&q->zc->refcnt, __ATOMIC_ACQUIRE) - 1;
}

const struct vq_stats *
vq_stats(const struct vq *q)
{
	return &q->stats;
}

bool
vq_borrows(const struct vq *q)
{
	return q->borrow_on;
}

bool
vq_broken(const struct vq *q)
{
	return q->broken;
}
