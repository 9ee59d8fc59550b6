/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What both ring layouts do with one descriptor once it is validated:
 * on transmit, gather the virtio-net header and copy the frame into an
 * mbuf chain, or lend a whole one-descriptor buffer (zero-copy); on
 * receive, scatter the header and frame into the guest's buffers and
 * mark the dirty log.
 */
#include <string.h>

#include "vq_internal.h"

static enum vq_walk
gather(struct vq *q, uint64_t addr, uint32_t n, uint8_t *dst)
{
	while (n > 0) {
		uint64_t got;
		const uint8_t *p = vq_map(q, addr, n, VHU_ACCESS_RO, &got);

		if (unlikely(p == NULL))
			return vq_unmapped(q, addr, VHU_ACCESS_RO);
		memcpy(dst, p, got);
		dst += got;
		addr += got;
		n -= (uint32_t)got;
	}
	return VQ_OK;
}

static enum vq_walk
copy_in(struct vq *q, struct vq_tx *t, uint64_t addr, uint32_t n)
{
	while (n > 0) {
		uint64_t got;
		const uint8_t *p = vq_map(q, addr, n, VHU_ACCESS_RO, &got);

		if (unlikely(p == NULL))
			return vq_unmapped(q, addr, VHU_ACCESS_RO);
		if (unlikely(vq_copy_to_mbuf(q, t->m, p, (uint32_t)got) < 0)) {
			t->nomem = true;
			return VQ_RETRY;
		}
		addr += got;
		n -= (uint32_t)got;
	}
	return VQ_OK;
}

/*
 * Check that all of [addr, addr + len) is guest memory the device may
 * touch with perm, without touching it: a descriptor is validated whole,
 * even the bytes a packet does not reach.
 */
static enum vq_walk
check_range(struct vq *q, uint64_t addr, uint32_t len, uint8_t perm)
{
	while (len > 0) {
		uint64_t got;

		if (unlikely(vq_map(q, addr, len, perm, &got) == NULL))
			return vq_unmapped(q, addr, perm);
		addr += got;
		len -= (uint32_t)got;
	}
	return VQ_OK;
}

enum vq_walk
vq_tx_desc(struct vq *q, struct vq_tx *t, uint64_t addr, uint32_t len,
	   uint16_t flags)
{
	enum vq_walk w = VQ_OK;
	uint32_t h = 0;

	if (unlikely(flags & VRING_DESC_F_WRITE)) {
		vq_set_broken(q, "write-only descriptor in a transmit chain");
		return VQ_BAD;
	}
	t->total += len;
	if (unlikely(t->total > VQ_MAX_PKT_LEN + q->hdr_len)) {
		t->too_big = true;	/* dropped, but still validated */
		return check_range(q, addr, len, VHU_ACCESS_RO);
	}
	if (t->hgot < q->hdr_len) {
		h = RTE_MIN(len, (uint32_t)(q->hdr_len - t->hgot));
		w = gather(q, addr, h, t->hdr + t->hgot);
		t->hgot += h;
	}
	if (w == VQ_OK && len > h)
		w = copy_in(q, t, addr + h, len - h);
	if (t->nomem)
		q->stats.drops[VQ_DROP_NO_MBUF]++;
	return w;
}

/* The virtio-net header, 12 or 10 bytes, in copies of constant size. */
static inline void
hdr_copy(const struct vq *q, void *dst, const void *src)
{
	if (likely(q->hdr_len == VQ_HDR_LEN_MRG))
		memcpy(dst, src, VQ_HDR_LEN_MRG);
	else
		memcpy(dst, src, VQ_HDR_LEN_LEGACY);
}

/*
 * Whether a one-descriptor buffer of len bytes in slot may be lent. A
 * slot still out (a guest offering a buffer id or head again before it
 * came back, which the spec forbids) is copied instead.
 */
static inline bool
lend_ok(const struct vq *q, uint32_t len, uint16_t slot)
{
	uint32_t frame = len - q->hdr_len;

	/* The size first: most frames are copied for it. */
	return q->zc_on && len > q->hdr_len && frame >= q->zc_min_len &&
	       slot < q->size && q->zc_held < q->zc_max_held &&
	       len <= VQ_MAX_PKT_LEN + q->hdr_len &&
	       frame - q->zc_hdr_len <= UINT16_MAX &&
	       !q->zc->slot[slot].lent;
}

/* Lend the buffer at p (checked by lend_ok) to t->m. */
static bool
lend(struct vq *q, struct vq_tx *t, uint8_t *p, uint32_t len, uint16_t slot,
     uint16_t id, uint16_t pos)
{
	uint32_t frame = len - q->hdr_len;

	if (!vq_tx_hdr_ignored(q))
		hdr_copy(q, t->hdr, p);
	t->hgot = q->hdr_len;
	t->total = len;
	rte_memcpy(rte_pktmbuf_mtod(t->m, void *), p + q->hdr_len,
		   q->zc_hdr_len);
	t->m->data_len = q->zc_hdr_len;
	t->m->pkt_len = q->zc_hdr_len;
	if (vq_zc_attach(q, t->m, p + q->hdr_len + q->zc_hdr_len,
			 frame - q->zc_hdr_len, slot, id, pos) == NULL) {
		/* copied instead, from the start of the buffer */
		t->m->data_len = 0;
		t->m->pkt_len = 0;
		t->hgot = 0;
		t->total = 0;
		return false;
	}
	return true;
}

/*
 * Whether a frame of frame bytes, which fits a fresh mbuf, may be
 * borrowed: in a borrowing burst, big enough, its header (read once by
 * the caller) asking for nothing.
 */
static inline bool
borrow_ok(const struct vq *q, uint32_t frame, bool plain)
{
	return q->borrowing && frame >= VQ_BORROW_MIN && plain;
}

enum vq_tx_zc
vq_tx_lend(struct vq *q, struct vq_tx *t, uint64_t addr, uint32_t len,
	   uint16_t slot, uint16_t id, uint16_t pos)
{
	bool lend_now = lend_ok(q, len, slot);
	uint32_t frame;
	uint8_t *p;

	if (!lend_now && (!q->borrowing || len <= q->hdr_len))
		return VQ_ZC_NO;
	p = vhu_dp_translate(q->dp, addr, len, VHU_ACCESS_RO);
	if (p == NULL)
		return VQ_ZC_NO;	/* the copy path sorts it out */
	if (lend_now && lend(q, t, p, len, slot, id, pos))
		return VQ_ZC_LENT;
	frame = len - q->hdr_len;
	if (frame > rte_pktmbuf_tailroom(t->m) ||
	    !borrow_ok(q, frame, vq_tx_hdr_plain(q, p)))
		return VQ_ZC_NO;
	vq_borrow(t->m, p + q->hdr_len, frame);
	return VQ_ZC_BORROWED;
}

enum vq_tx_result
vq_tx_flat(struct vq *q, struct vq_tx *t, uint8_t *p, uint32_t len,
	   uint16_t slot, uint16_t id, uint16_t pos, bool *zc)
{
	uint32_t frame = len - q->hdr_len;
	struct rte_mbuf *m = t->m;
	bool plain;

	*zc = lend_ok(q, len, slot) && lend(q, t, p, len, slot, id, pos);
	if (*zc)
		return vq_tx_finish(q, t);
	plain = vq_tx_hdr_plain(q, p);
	if (likely(frame <= rte_pktmbuf_tailroom(m))) {
		/* a fresh mbuf: the frame fits in its one segment */
		if (borrow_ok(q, frame, plain)) {
			vq_borrow(m, p + q->hdr_len, frame);
			return VQ_TX_PACKET;
		}
		vq_mbuf_fill(m, p + q->hdr_len, frame);
	} else if (unlikely(vq_copy_to_mbuf(q, m, p + q->hdr_len,
					    frame) < 0)) {
		q->stats.drops[VQ_DROP_NO_MBUF]++;
		return VQ_TX_STOP;
	}
	if (likely(plain))
		return VQ_TX_PACKET;
	hdr_copy(q, t->hdr, p);
	t->hgot = q->hdr_len;
	t->total = len;
	return vq_tx_finish(q, t);
}

enum vq_tx_result
vq_tx_finish(struct vq *q, struct vq_tx *t)
{
	/* Too big first: its header was never gathered. */
	if (unlikely(t->too_big)) {
		q->stats.drops[VQ_DROP_TOO_BIG]++;
		return VQ_TX_DROPPED;
	}
	if (unlikely(t->hgot < q->hdr_len)) {
		vq_set_broken(q, "transmit buffer smaller than its header");
		return VQ_TX_BROKEN;
	}
	if (unlikely(vq_hdr_to_mbuf(q, (struct virtio_net_hdr *)t->hdr,
				    t->m) < 0)) {
		q->stats.drops[VQ_DROP_BAD_HDR]++;
		return VQ_TX_DROPPED;
	}
	return VQ_TX_PACKET;
}

void
vq_unborrow_rest(struct rte_mbuf *m)
{
	uint32_t rest = m->pkt_len - m->data_len;

	vq_copy(rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len),
		*vq_borrow_tail(m), rest);
	m->data_len += (uint16_t)rest;
	m->ol_flags &= ~vq_borrow_flag;
}

static void
src_copy(struct vq_rx *r, uint8_t *dst, uint32_t n)
{
	while (n > 0) {
		uint32_t k = RTE_MIN(n, (uint32_t)(r->seg->data_len - r->off));

		vq_copy(dst, rte_pktmbuf_mtod_offset(r->seg, uint8_t *, r->off),
			k);
		dst += k;
		n -= k;
		r->off += k;
		r->left -= k;
		if (r->off == r->seg->data_len && r->seg->next != NULL) {
			r->seg = r->seg->next;
			r->off = 0;
		}
	}
}

void
vq_rx_begin(struct vq *q, struct vq_rx *r, const struct rte_mbuf *m)
{
	r->seg = m;
	r->off = 0;
	r->left = m->pkt_len;
	r->k = 0;
	r->want = q->hdr_len;
}

enum vq_walk
vq_rx_desc(struct vq *q, struct vq_rx *r, uint64_t addr, uint32_t len,
	   uint16_t flags, uint32_t *written)
{
	uint32_t off = 0;
	enum vq_walk w;

	if (unlikely((flags & VRING_DESC_F_WRITE) == 0)) {
		vq_set_broken(q, "read-only descriptor in a receive chain");
		return VQ_BAD;
	}
	w = check_range(q, addr, len, VHU_ACCESS_WO);
	if (unlikely(w != VQ_OK))
		return w;
	while (off < len && (r->want > 0 || r->left > 0)) {
		uint64_t got;
		uint8_t *p = vq_map(q, addr + off, len - off, VHU_ACCESS_WO,
				    &got);
		uint32_t k;

		if (unlikely(p == NULL))
			return vq_unmapped(q, addr + off, VHU_ACCESS_WO);
		if (r->want > 0) {
			/* The header is written last, once num_buffers is
			 * known: remember where it goes. */
			if (r->k == RTE_DIM(r->hp)) {
				vq_set_broken(q, "header in too many pieces");
				return VQ_BAD;
			}
			k = RTE_MIN((uint32_t)got, r->want);
			r->hp[r->k] = p;
			r->hn[r->k] = (uint8_t)k;
			r->hgpa[r->k++] = addr + off;
			r->want -= k;
		} else {
			k = RTE_MIN((uint32_t)got, r->left);
			src_copy(r, p, k);
			vq_log_write(q, addr + off, p, k);
		}
		off += k;
		*written += k;
	}
	return VQ_OK;
}

void
vq_rx_write_hdr(struct vq *q, const struct vq_rx *r, const void *hdr)
{
	const uint8_t *src = hdr;
	unsigned int i;

	for (i = 0; i < r->k; i++) {
		memcpy(r->hp[i], src, r->hn[i]);
		vq_log_write(q, r->hgpa[i], r->hp[i], r->hn[i]);
		src += r->hn[i];
	}
}

uint32_t
vq_rx_flat_any(struct vq *q, const struct rte_mbuf *m, uint8_t *p,
	       uint64_t addr)
{
	uint32_t n = q->hdr_len + m->pkt_len;
	const struct rte_mbuf *seg = m;
	uint8_t *dst = p + q->hdr_len;
	uint32_t left = m->pkt_len;

	if (likely((m->ol_flags & ~vq_borrow_flag) == 0)) {
		vq_hdr_write_plain(q, p);
	} else {
		struct virtio_net_hdr_mrg_rxbuf hdr = { .num_buffers = 1 };

		vq_mbuf_to_hdr(q, m, &hdr.hdr);
		hdr_copy(q, p, &hdr);
	}
	/* pkt_len bytes, what the buffer was checked for, whatever the
	 * segments claim. */
	do {
		uint32_t k = RTE_MIN((uint32_t)seg->data_len, left);

		vq_copy(dst, rte_pktmbuf_mtod(seg, const void *), k);
		dst += k;
		left -= k;
		seg = seg->next;
	} while (unlikely(seg != NULL && left > 0));
	if (vq_borrowed(m))	/* the rest, from the sender's buffer */
		vq_copy(dst, *vq_borrow_tail(m), left);
	vq_log_write(q, addr, p, n);
	return n;
}
