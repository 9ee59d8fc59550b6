/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll-mode worker: for each (port, rx queue) it owns, take a burst,
 * classify each frame into its VLAN, learn the sources and look the
 * destinations up in bulk, buffer each frame for its output port (every
 * other port of the VLAN when the destination is unknown, broadcast or
 * multicast), then send one burst per output port on this worker's own
 * tx queue. A burst of one flow from a guest to another guest goes
 * straight from ring to ring, without mbufs. No locks unless a
 * vhost-user port has fewer queues than there are workers; nothing is
 * allocated but mbufs.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "sw_internal.h"

#define ETH_HLEN	RTE_ETHER_HDR_LEN
#define VLAN_HLEN	4
#define GSO_FLAGS	(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)

static const char *const drop_names[] = {
#define SW_X_NAME(name, counter, text) counter,
	SW_DROP_REASONS(SW_X_NAME)
#undef SW_X_NAME
};

const char *
sw_drop_name(enum sw_drop reason)
{
	return reason < SW_DROP_MAX ? drop_names[reason] : "?";
}

static inline void
drop(struct sw_wstats *ws, enum sw_drop why, struct rte_mbuf *m)
{
	ws->drops[why]++;
	rte_pktmbuf_free(m);
}

/*
 * The VLAN of a frame arriving on a port, seg bytes of it at eth, or -1
 * if it may not enter.
 */
static inline int
classify(const struct sw_vlan *v, const uint8_t *eth, uint32_t seg,
	 bool *tagged)
{
	const struct rte_ether_hdr *e = (const struct rte_ether_hdr *)eth;
	rte_be16_t tci;
	uint16_t vid;

	*tagged = e->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN);
	if (likely(!*tagged))
		return v->mode == SW_VLAN_ACCESS ? v->tag : v->native;
	if (v->mode == SW_VLAN_ACCESS || seg < ETH_HLEN + VLAN_HLEN)
		return -1;
	memcpy(&tci, eth + ETH_HLEN, sizeof(tci));	/* the tag's TCI */
	vid = rte_be_to_cpu_16(tci) & 0xfff;
	if (vid == 0 || !sw_vlan_allowed(v, vid))
		return -1;	/* priority-tagged frames are not switched */
	return vid;
}

/* Whether frames of vid leave this port with a tag. */
static inline bool
want_tag(const struct sw_vlan *v, uint16_t vid)
{
	return v->mode == SW_VLAN_TRUNK && vid != v->native;
}

/*
 * Add or remove the tag of a frame for one output port. A frame others
 * also hold is copied first. NULL when no mbuf could be had.
 */
static struct rte_mbuf *
retag(struct rte_mempool *mp, struct rte_mbuf *m, bool tag, uint16_t vid,
      bool shared)
{
	struct rte_mbuf *c = m;

	if (shared || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) > 1) {
		vq_unborrow(m);	/* the copy reads it whole */
		c = rte_pktmbuf_copy(m, mp, 0, UINT32_MAX);
		if (c == NULL)
			return NULL;
		if (!shared)
			rte_pktmbuf_free(m);
	}
	if (tag) {
		c->vlan_tci = vid;
		if (rte_vlan_insert(&c) != 0)	/* l2_len grows with it */
			goto fail;
	} else {
		if (rte_vlan_strip(c) != 0)
			goto fail;
		c->ol_flags &= ~(RTE_MBUF_F_RX_VLAN |
				 RTE_MBUF_F_RX_VLAN_STRIPPED);
		if (c->l2_len >= ETH_HLEN + VLAN_HLEN)
			c->l2_len -= VLAN_HLEN;
	}
	return c;
fail:
	rte_pktmbuf_free(c);
	return NULL;
}

/* Buffer a frame for an output port, or drop it for its size. */
static inline void
txb_add(struct sw_worker *w, const struct sw_pdp *d, struct rte_mbuf *m,
	bool tagged)
{
	struct sw_txbuf *b = &w->txb[d->index];
	uint32_t l3 = m->pkt_len - ETH_HLEN - (tagged ? VLAN_HLEN : 0);

	RTE_BUILD_BUG_ON(SW_TXBUF < SW_BURST);	/* a poll's frames fit */

	if (unlikely(l3 > d->mtu) && (m->ol_flags & GSO_FLAGS) == 0) {
		drop(&d->ws[w->id], SW_DROP_MTU, m);
		return;
	}
	if (unlikely(b->n == SW_TXBUF)) {
		drop(&d->ws[w->id], SW_DROP_TX_FULL, m);
		return;
	}
	if (b->n == 0)
		w->dirty[w->ndirty++] = d->index;
	b->pkts[b->n++] = m;
	b->bytes += m->pkt_len;
}

static __rte_always_inline void
unicast(struct sw_worker *w, const struct sw_pdp *d, struct rte_mbuf *m,
	uint16_t vid, bool tagged)
{
	bool tag;

	if (unlikely(!sw_vlan_allowed(d->vlan, vid))) {
		drop(&d->ws[w->id], SW_DROP_VLAN, m);
		return;
	}
	tag = want_tag(d->vlan, vid);
	if (unlikely(tag != tagged)) {
		m = retag(w->sw->mp, m, tag, vid, false);
		if (m == NULL) {
			d->ws[w->id].drops[SW_DROP_NO_MBUF]++;
			return;
		}
	}
	txb_add(w, d, m, tag);
}

/*
 * The n frames at m, one run of a burst for the same destination on
 * port d in VLAN vid: the port's VLAN rules are judged once, and frames
 * that leave as they came go straight into its buffer. Any other frame
 * takes the one-at-a-time path.
 */
static __rte_always_inline void
unicast_run(struct sw_worker *w, const struct sw_pdp *d,
	    struct rte_mbuf **m, const bool *tagged, unsigned int n,
	    uint16_t vid)
{
	struct sw_txbuf *b = &w->txb[d->index];
	uint32_t max_len = d->mtu + ETH_HLEN, bytes = 0;
	unsigned int i;
	bool tag, listed;
	uint16_t nb;

	if (unlikely(!sw_vlan_allowed(d->vlan, vid))) {
		for (i = 0; i < n; i++)
			drop(&d->ws[w->id], SW_DROP_VLAN, m[i]);
		return;
	}
	tag = want_tag(d->vlan, vid);
	max_len += tag ? VLAN_HLEN : 0;
	nb = b->n;
	listed = nb != 0;	/* in w->dirty already */
	for (i = 0; i < n; i++) {
		struct rte_mbuf *x = m[i];

		if (likely(tagged[i] == tag && nb < SW_TXBUF &&
			   (x->pkt_len <= max_len ||
			    (x->ol_flags & GSO_FLAGS) != 0))) {
			b->pkts[nb++] = x;
			bytes += x->pkt_len;
			continue;
		}
		if (!listed && nb != 0) {
			w->dirty[w->ndirty++] = d->index;
			listed = true;
		}
		b->n = nb;
		unicast(w, d, x, vid, tagged[i]);	/* lists it if it adds */
		nb = b->n;
		listed = nb != 0;
	}
	if (!listed && nb != 0)
		w->dirty[w->ndirty++] = d->index;
	b->n = nb;
	b->bytes += bytes;
}

/*
 * Every other port of the VLAN gets the frame: the ports that take it as
 * it is share it (one reference each), the others get re-tagged copies.
 */
static void
flood(struct sw_worker *w, const struct sw_plan *pl, const struct sw_pdp *in,
      struct rte_mbuf *m, uint16_t vid, bool tagged)
{
	const struct sw_pdp *same[SW_MAX_PORTS];
	unsigned int i, nsame = 0;

	for (i = 0; i < pl->nports; i++) {
		const struct sw_pdp *d = &pl->pdp[i];
		struct rte_mbuf *c;
		bool tag;

		if (d == in || !sw_vlan_allowed(d->vlan, vid))
			continue;
		tag = want_tag(d->vlan, vid);
		if (likely(tag == tagged)) {
			same[nsame++] = d;
			continue;
		}
		c = retag(w->sw->mp, m, tag, vid, true);
		if (c == NULL)
			d->ws[w->id].drops[SW_DROP_NO_MBUF]++;
		else
			txb_add(w, d, c, tag);
	}
	if (nsame == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_mbuf_refcnt_update(m, (int16_t)(nsame - 1));
	for (i = 0; i < nsame; i++)
		txb_add(w, same[i], m, tagged);
}

/* Finish the IPv4 header and L4 checksums a frame asks for. */
static bool
sw_checksums(struct rte_mbuf *m, bool ip, bool l4)
{
	uint64_t l4f = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint32_t l4_off = m->l2_len + m->l3_len;
	struct rte_ipv4_hdr *ip4;
	uint16_t *ck;

	if (m->data_len < l4_off + (l4f == RTE_MBUF_F_TX_TCP_CKSUM ? 20 : 8))
		return false;	/* headers not in the first segment */
	ip4 = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	if (ip) {
		ip4->hdr_checksum = 0;
		ip4->hdr_checksum = rte_ipv4_cksum(ip4);
		m->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (!l4)
		return true;
	ck = rte_pktmbuf_mtod_offset(m, uint16_t *, l4_off +
				     (l4f == RTE_MBUF_F_TX_TCP_CKSUM ? 16 : 6));
	*ck = 0;
	if (m->ol_flags & RTE_MBUF_F_TX_IPV4)
		*ck = rte_ipv4_udptcp_cksum_mbuf(m, ip4, l4_off);
	else
		*ck = rte_ipv6_udptcp_cksum_mbuf(m, (void *)ip4, l4_off);
	m->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
	return true;
}

/*
 * Offloads an uplink cannot do: checksums are finished here (on a copy
 * when others share the frame), segmentation is refused. Returns the
 * frame to send, or NULL when it was dropped (and counted).
 */
static struct rte_mbuf *
eth_offloads(struct sw_worker *w, const struct sw_pdp *d, struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint64_t cap = d->eth_tx_offloads;
	struct sw_wstats *ws = &d->ws[w->id];
	bool need_ip, need_l4;

	if (m->ol_flags & GSO_FLAGS) {
		if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) &&
		    (cap & RTE_ETH_TX_OFFLOAD_TCP_TSO))
			return m;
		drop(ws, SW_DROP_OFFLOAD, m);
		return NULL;
	}
	need_ip = (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) &&
		  !(cap & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
	need_l4 = (l4 == RTE_MBUF_F_TX_TCP_CKSUM &&
		   !(cap & RTE_ETH_TX_OFFLOAD_TCP_CKSUM)) ||
		  (l4 == RTE_MBUF_F_TX_UDP_CKSUM &&
		   !(cap & RTE_ETH_TX_OFFLOAD_UDP_CKSUM));
	if (!need_ip && !need_l4)
		return m;
	if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) > 1) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, w->sw->mp, 0,
						      UINT32_MAX);

		rte_pktmbuf_free(m);
		if (c == NULL) {
			ws->drops[SW_DROP_NO_MBUF]++;
			return NULL;
		}
		m = c;
	}
	if (!sw_checksums(m, need_ip, need_l4)) {
		drop(ws, SW_DROP_OFFLOAD, m);
		return NULL;
	}
	return m;
}

static void
tx_ethdev(struct sw_worker *w, const struct sw_pdp *d,
	  struct rte_mbuf **pkts, uint16_t n)
{
	struct sw_wstats *ws = &d->ws[w->id];
	uint32_t len[SW_TXBUF];
	uint16_t i, k = 0, sent;
	bool prep = false;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		vq_unborrow(m);	/* the port reads it after we return */
		if (unlikely(m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK)) {
			m = eth_offloads(w, d, m);
			if (m == NULL)
				continue;
			prep = true;
		}
		len[k] = m->pkt_len;
		pkts[k++] = m;
	}
	if (prep)
		rte_eth_tx_prepare(d->eth_port, w->id, pkts, k);
	sent = rte_eth_tx_burst(d->eth_port, w->id, pkts, k);
	ws->tx_packets += sent;
	for (i = 0; i < sent; i++)
		ws->tx_bytes += len[i];
	for (i = sent; i < k; i++)
		drop(ws, SW_DROP_TX_FULL, pkts[i]);
}

/*
 * Free a sent burst. Frames held by nobody else, of one segment, from
 * one pool, which is nearly always all of them, go back in one put.
 */
static inline void
free_burst(struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mempool *mp;
	uint16_t i;

	if (unlikely(n == 0))
		return;
	mp = pkts[0]->pool;
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];

		if (unlikely(m->pool != mp || m->next != NULL ||
			     !RTE_MBUF_DIRECT(m) ||
			     rte_mbuf_refcnt_read(m) != 1))
			break;
	}
	if (likely(i == n))
		rte_mempool_put_bulk(mp, (void **)pkts, n);
	else
		rte_pktmbuf_free_bulk(pkts, n);
}

/*
 * Deliver n frames of bytes in all to a vhost-user port: the mbufs at
 * pkts or, with pk, another guest's peeked burst, each beginning with h.
 */
static __rte_always_inline void
vhost_send(struct sw_worker *w, const struct sw_pdp *d,
	   struct rte_mbuf **pkts, const struct vq_peek *pk,
	   const struct vq_head *h, uint16_t n, uint64_t bytes)
{
	struct sw_wstats *ws = &d->ws[w->id];
	uint16_t q = d->ntx != 0 ? w->id % d->ntx : 0, taken, i;
	struct vq *vq = d->tx[q];

	if (unlikely(vq == NULL)) {
		ws->drops[SW_DROP_NO_RING] += n;
		return;
	}
	if (unlikely(d->tx_shared))
		rte_spinlock_lock(&d->txlock[q]);
	taken = pk != NULL ? vq_put_burst(vq, pk, h) :
			     vq_enqueue_burst(vq, pkts, n);
	if (unlikely(d->tx_shared))
		rte_spinlock_unlock(&d->txlock[q]);
	ws->drops[SW_DROP_TX_FULL] += n - taken;
	ws->tx_packets += taken;
	if (likely(taken == n))
		ws->tx_bytes += bytes;
	else
		for (i = 0; i < taken; i++)
			ws->tx_bytes += pk != NULL ? pk->len[i] :
						     pkts[i]->pkt_len;
}

static void
tx_vhost(struct sw_worker *w, const struct sw_pdp *d,
	 struct rte_mbuf **pkts, uint16_t n, uint64_t bytes)
{
	vhost_send(w, d, pkts, NULL, NULL, n, bytes);
	free_burst(pkts, n);
}

/* Copy an output burst for capture: borrowed frames are made whole. */
static void
capture_tx(const struct sw_pdp *d, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		vq_unborrow(pkts[i]);
	sw_capture_copy(d->cap, pkts, n, SW_CAP_TX);
}

/* Send n frames of bytes in all out of port d. */
static inline void
tx_port(struct sw_worker *w, const struct sw_pdp *d, struct rte_mbuf **pkts,
	uint16_t n, uint64_t bytes)
{
	if (unlikely(d->cap_dir & SW_CAP_TX))
		capture_tx(d, pkts, n);
	if (d->type == SW_PORT_ETHDEV)
		tx_ethdev(w, d, pkts, n);
	else
		tx_vhost(w, d, pkts, n, bytes);
}

/* Send everything buffered this burst, one burst per output port. */
static void
flush(struct sw_worker *w, const struct sw_plan *pl)
{
	unsigned int i;

	for (i = 0; i < w->ndirty; i++) {
		struct sw_txbuf *b = &w->txb[w->dirty[i]];
		const struct sw_pdp *d = pl->by_index[w->dirty[i]];
		uint16_t n = b->n;
		uint64_t bytes = b->bytes;

		b->n = 0;
		b->bytes = 0;
		tx_port(w, d, b->pkts, n, bytes);
	}
	w->ndirty = 0;
}

/*
 * A frame's first 16 bytes as two words, the second masked to what a
 * burst's frames must share with its first (same_mask()).
 */
static __rte_always_inline void
eth_words(const uint8_t *p, uint64_t mask, uint64_t *a, uint64_t *b)
{
	memcpy(a, p, sizeof(*a));
	memcpy(b, p + sizeof(*a), sizeof(*b));
	*b &= mask;
}

/*
 * Of the second word, bytes 8-15: the source address's last four bytes
 * and the EtherType, and for a tagged frame the tag's TCI as well.
 */
static inline uint64_t
same_mask(bool tagged)
{
	return tagged ? UINT64_MAX : rte_le_to_cpu_64(0x0000ffffffffffffULL);
}

/* A burst as same_dest() reads it: mbufs, or a peeked burst (pk). */
struct sw_burst {
	struct rte_mbuf **m;
	const struct vq_peek *pk;
};

static __rte_always_inline const uint8_t *
burst_data(const struct sw_burst *b, uint16_t i)
{
	return b->pk != NULL ? b->pk->frame[i] :
			       rte_pktmbuf_mtod(b->m[i], const uint8_t *);
}

/* Bytes at burst_data(): the first segment's. */
static __rte_always_inline uint32_t
burst_seg(const struct sw_burst *b, uint16_t i)
{
	return b->pk != NULL ? b->pk->len[i] : b->m[i]->data_len;
}

static __rte_always_inline uint32_t
burst_len(const struct sw_burst *b, uint16_t i)
{
	return b->pk != NULL ? b->pk->len[i] : b->m[i]->pkt_len;
}

/* Where same_dest() found a burst goes, and what it judged. */
struct sw_same {
	const struct sw_pdp *d;
	uint64_t sum;		/* the burst's bytes */
	uint32_t longest;
	uint16_t vid;
	bool tagged;
	struct vq_head head;	/* the first frame's words, as judged */
};

/*
 * A burst whose frames all share the first one's addresses, EtherType
 * and tag, from a unicast source to a known station on another port:
 * judged and learned once, from one read of the first frame's words
 * (a guest's buffer may change under us; s->head is what was judged).
 * False for any other burst, which forward() then takes frame by frame,
 * as it would have taken this one, to the same result (the source may
 * have been learned here already).
 */
static __rte_always_inline bool
same_dest(struct sw_worker *w, const struct sw_plan *pl,
	  const struct sw_pdp *in, const struct sw_burst *b, uint16_t n,
	  struct sw_same *s)
{
	uint64_t a, c, mask, src, dst;
	uint8_t h[VQ_HEAD_LEN];
	uint16_t need, i;
	int32_t o;
	int v;

	/* sixteen bytes read, eighteen for a tagged frame */
	if (burst_seg(b, 0) < ETH_HLEN + 2)
		return false;
	memcpy(h, burst_data(b, 0), sizeof(h));
	rte_compiler_barrier();	/* judged from h, never read again */
	if ((h[RTE_ETHER_ADDR_LEN] & 1) != 0)	/* a multicast source */
		return false;
	v = classify(in->vlan, h, burst_seg(b, 0), &s->tagged);
	if (v < 0)
		return false;
	need = s->tagged ? ETH_HLEN + VLAN_HLEN : ETH_HLEN + 2;
	mask = same_mask(s->tagged);
	eth_words(h, mask, &s->head.w0, &s->head.w1);
	s->head.mask1 = mask;
	s->sum = s->longest = burst_len(b, 0);
	for (i = 1; i < n; i++) {
		if (burst_seg(b, i) < need)
			return false;
		eth_words(burst_data(b, i), mask, &a, &c);
		if (((a ^ s->head.w0) | (c ^ s->head.w1)) != 0)
			return false;
		s->sum += burst_len(b, i);
		s->longest = RTE_MAX(s->longest, burst_len(b, i));
	}
	src = sw_mac_key(h + RTE_ETHER_ADDR_LEN, (uint16_t)v);
	dst = sw_mac_key(h, (uint16_t)v);
	sw_mac_learn_memo(w->sw, &w->memo, &src, 1, in->index);
	sw_mac_lookup_memo(w->sw, &w->memo, &dst, 1, &o);
	if (o < 0 || pl->by_index[o] == NULL || o == in->index)
		return false;	/* forward() floods or drops it */
	s->d = pl->by_index[o];
	s->vid = (uint16_t)v;
	return true;
}

/*
 * Whether a same_dest() burst leaves its port as it came: its VLAN
 * allowed there with the tag as it is, every frame within the MTU.
 */
static inline bool
same_as_is(const struct sw_same *s)
{
	const struct sw_pdp *d = s->d;
	uint32_t max_len = d->mtu + ETH_HLEN + (s->tagged ? VLAN_HLEN : 0);

	return sw_vlan_allowed(d->vlan, s->vid) &&
	       want_tag(d->vlan, s->vid) == s->tagged && s->longest <= max_len;
}

/*
 * A same_dest() burst of mbufs: when it leaves as it came, it goes out
 * as it is; otherwise it is one run of unicast_run(). False for any
 * other burst.
 */
static __rte_always_inline bool
forward_same(struct sw_worker *w, const struct sw_plan *pl,
	     const struct sw_pdp *in, struct rte_mbuf **pkts, uint16_t n,
	     uint64_t *bytes)
{
	const struct sw_burst b = { .m = pkts, .pk = NULL };
	bool tagged[SW_BURST];
	struct sw_same s;

	if (!same_dest(w, pl, in, &b, n, &s))
		return false;
	*bytes = s.sum;
	if (likely(w->ndirty == 0 && same_as_is(&s))) {
		tx_port(w, s.d, pkts, n, s.sum);
		return true;
	}
	memset(tagged, s.tagged, n);
	unicast_run(w, s.d, pkts, tagged, n, s.vid);
	return true;
}

/* Switch n frames that came in on port in; returns their bytes. */
static uint64_t
forward(struct sw_worker *w, const struct sw_plan *pl,
	const struct sw_pdp *in, struct rte_mbuf **pkts, uint16_t n)
{
	struct sw_wstats *ws = &in->ws[w->id];
	uint64_t src[SW_BURST], dst[SW_BURST];
	struct rte_mbuf *ok[SW_BURST];
	uint16_t vid[SW_BURST];
	uint8_t run[SW_BURST];
	bool tagged[SW_BURST];
	int32_t out[SW_BURST];
	unsigned int i, j, k = 0, nl = 0, nd = 0;
	uint64_t bytes = 0;

	if (forward_same(w, pl, in, pkts, n, &bytes))
		return bytes;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth =
			rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		int v;

		bytes += m->pkt_len;
		if (unlikely(m->data_len < ETH_HLEN)) {
			drop(ws, SW_DROP_RUNT, m);
			continue;
		}
		v = classify(in->vlan, (const uint8_t *)eth, m->data_len,
			     &tagged[k]);
		if (unlikely(v < 0)) {
			drop(ws, SW_DROP_VLAN, m);
			continue;
		}
		vid[k] = (uint16_t)v;
		/* look destinations up once per run of the same one */
		dst[nd] = sw_mac_key(eth->dst_addr.addr_bytes, vid[k]);
		nd += nd == 0 || dst[nd] != dst[nd - 1];
		run[k] = (uint8_t)(nd - 1);
		/* learn unicast sources, once per run of the same one */
		src[nl] = sw_mac_key(eth->src_addr.addr_bytes, vid[k]);
		nl += (eth->src_addr.addr_bytes[0] & 1) == 0 &&
		      (nl == 0 || src[nl] != src[nl - 1]);
		ok[k++] = m;
	}
	if (k == 0)
		return bytes;
	sw_mac_learn_memo(w->sw, &w->memo, src, nl, in->index);
	sw_mac_lookup_memo(w->sw, &w->memo, dst, nd, out);
	for (i = 0; i < k; i = j) {
		int32_t o = out[run[i]];

		for (j = i + 1; j < k && run[j] == run[i]; j++)
			;	/* one destination key: one port, one VLAN */
		if (o >= 0 && pl->by_index[o] != NULL && o != in->index) {
			unicast_run(w, pl->by_index[o], ok + i, tagged + i,
				    j - i, vid[i]);
			continue;
		}
		for (; i < j; i++) {
			if (o < 0 || pl->by_index[o] == NULL)
				flood(w, pl, in, ok[i], vid[i], tagged[i]);
			else
				drop(ws, SW_DROP_SAME_PORT, ok[i]);
		}
	}
	return bytes;
}

/*
 * Guest to guest (vq_peek_burst()): a burst forward_same() would send as
 * it is to a vhost-user port that nobody captures goes there without
 * mbufs. Returns its frames (delivered or dropped), 0 when the ring had
 * none, or -1: the poll takes the mbuf path, and when frames were looked
 * at for nothing, so do the queue's next SW_DIRECT_WAIT polls (*wait).
 */
static int
poll_direct(struct sw_worker *w, const struct sw_plan *pl,
	    const struct sw_pdp *in, struct vq *vq, uint8_t *wait,
	    uint64_t *bytes)
{
	struct vq_peek pk;
	struct sw_burst b = { .m = NULL, .pk = &pk };
	struct sw_same s;
	int n = vq_peek_burst(vq, &pk, SW_BURST);

	if (n < 0 && pk.n > 0)
		*wait = SW_DIRECT_WAIT;
	if (n <= 0)
		return n;
	if (!same_dest(w, pl, in, &b, pk.n, &s) ||
	    s.d->type != SW_PORT_VHOST || (s.d->cap_dir & SW_CAP_TX) != 0 ||
	    !same_as_is(&s)) {
		*wait = SW_DIRECT_WAIT;
		return -1;
	}
	vhost_send(w, s.d, NULL, &pk, &s.head, pk.n, s.sum);
	vq_take_burst(vq, &pk);
	*bytes = s.sum;
	return n;
}

/*
 * Take a vhost-user queue's burst: guest to guest when it is such a
 * burst (*direct and *bytes then set, and the frames forwarded), else
 * into mbufs borrowed for the poll (unless the port is captured on
 * receive). *wait counts down the polls poll_direct() left to the mbuf
 * path.
 */
static uint16_t
poll_vhost(struct sw_worker *w, const struct sw_plan *pl,
	   const struct sw_pdp *in, struct vq *vq, uint8_t *wait,
	   struct rte_mbuf **pkts, uint64_t *bytes, bool *direct)
{
	int n;

	if (unlikely(in->cap_dir & SW_CAP_RX))
		return vq_dequeue_burst(vq, pkts, SW_BURST);
	if (*wait == 0) {
		n = poll_direct(w, pl, in, vq, wait, bytes);
		*direct = n > 0;
		if (n >= 0)
			return (uint16_t)n;
	} else {
		(*wait)--;
	}
	return vq_borrow_burst(vq, pkts, SW_BURST);
}

/*
 * Poll one queue and forward what it gave. A vhost-user queue's burst
 * goes guest to guest when it can (poll_vhost()); otherwise its frames
 * are borrowed for the poll (vq_borrow_burst(), unless the port is
 * captured on receive): flush() delivers, makes whole or frees them all,
 * and vq_reap() then hands the guest its buffers back. *now is when the
 * poll began (the previous poll's end, or the iteration's start); every
 * poll moves it to its own end, reading the clock once. A queue's cycles
 * count only its own polls that received frames: an empty poll's cycles
 * are no queue's, as in the worker's idle time when the whole iteration
 * was empty.
 */
static uint16_t
poll_one(struct sw_worker *w, const struct sw_plan *pl,
	 const struct sw_poll *poll, uint8_t *wait, uint64_t *now)
{
	const struct sw_pdp *in = poll->p;
	struct sw_rxq_stats *rs = &in->rxq[poll->q];
	struct rte_mbuf *pkts[SW_BURST];
	struct vq *vq = NULL;
	bool direct = false;
	uint64_t t, bytes = 0;
	uint16_t n, i;

	if (in->type == SW_PORT_ETHDEV) {
		n = rte_eth_rx_burst(in->eth_port, poll->q, pkts, SW_BURST);
		for (i = 0; i < n; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	} else {
		vq = in->rx[poll->q];
		n = poll_vhost(w, pl, in, vq, wait, pkts, &bytes, &direct);
		if (n == 0)
			vq_reap(vq);
	}
	if (n == 0) {
		*now = rte_rdtsc();
		return 0;
	}
	if (!direct) {
		if (unlikely(in->cap_dir & SW_CAP_RX))
			sw_capture_copy(in->cap, pkts, n, SW_CAP_RX);
		bytes = forward(w, pl, in, pkts, n);
		flush(w, pl);
		if (vq != NULL)
			vq_reap(vq);
	}
	in->ws[w->id].rx_packets += n;
	in->ws[w->id].rx_bytes += bytes;
	rs->packets += n;
	rs->bytes += bytes;
	t = rte_rdtsc();
	rs->cycles += t - *now;
	*now = t;
	return n;
}

/* Frames the control thread wants sent as if they came in on a port. */
static uint16_t
drain_inject(struct sw_worker *w, const struct sw_plan *pl)
{
	struct rte_mbuf *pkts[SW_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->inject, (void **)pkts, SW_BURST,
				      NULL);
	for (i = 0; i < n; i++) {
		const struct sw_pdp *in = pl->by_index[pkts[i]->port];

		if (in == NULL) {
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		forward(w, pl, in, &pkts[i], 1);
		flush(w, pl);
	}
	return (uint16_t)n;
}

/* Control thread: hand a frame to the first worker, as if from port. */
void
sw_inject(struct sw *sw, struct rte_mbuf *m, uint16_t port)
{
	m->port = port;
	if (rte_ring_mp_enqueue(sw->w[0].inject, m) != 0) {
		SW_LOG(WARNING, "inject ring full; announcement lost\n");
		rte_pktmbuf_free(m);
	}
}

int
sw_worker_main(void *arg)
{
	struct sw_worker *w = arg;
	struct sw *sw = w->sw;
	uint64_t now;

	rte_rcu_qsbr_thread_register(sw->qs, w->id);
	rte_rcu_qsbr_thread_online(sw->qs, w->id);
	SW_LOG(INFO, "worker %u polling on lcore %u\n", w->id, w->lcore);
	now = rte_rdtsc();
	while (!__atomic_load_n(&sw->stop, __ATOMIC_RELAXED)) {
		const struct sw_plan *pl =
			__atomic_load_n(&sw->plan, __ATOMIC_ACQUIRE);
		const struct sw_wplan *wp = &pl->w[w->id];
		uint64_t t0 = now;
		unsigned int i, got = 0, injected;

		/* The clock is read at each poll's end, and here only when
		 * frames were injected after them or there was no poll.
		 */
		for (i = 0; i < wp->npolls; i++)
			got += poll_one(w, pl, &wp->poll[i],
					&w->direct_wait[i], &now);
		injected = drain_inject(w, pl);
		if (injected > 0 || wp->npolls == 0)
			now = rte_rdtsc();
		got += injected;
		if (got > 0) {
			w->busy_cycles += now - t0;
			w->packets += got;
		} else {
			w->idle_cycles += now - t0;
		}
		w->iterations++;
		rte_rcu_qsbr_quiescent(sw->qs, w->id);
	}
	rte_rcu_qsbr_thread_offline(sw->qs, w->id);
	rte_rcu_qsbr_thread_unregister(sw->qs, w->id);
	return 0;
}
