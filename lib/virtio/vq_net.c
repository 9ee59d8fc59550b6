/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header on both sides of the data path.
 *
 * Transmit (guest -> mbuf): NEEDS_CSUM and GSO requests become mbuf
 * offload flags with l2/l3/l4 lengths, the form DPDK ports and our own
 * receive side understand.
 *
 * Receive (mbuf -> guest): offloads the guest negotiated are passed on
 * in its header (partial checksum, TSO, UFO); the rest is finished here,
 * in software, on a private copy, because the mbuf may be shared with
 * other destinations or point into another guest's memory.
 */
#include <errno.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vq_internal.h"

#define TCP_CSUM_OFF	offsetof(struct rte_tcp_hdr, cksum)
#define UDP_CSUM_OFF	offsetof(struct rte_udp_hdr, dgram_cksum)

static int
parse(struct rte_mbuf *m, uint32_t *ptype)
{
	struct rte_net_hdr_lens hl;

	*ptype = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK |
				   RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	return 0;
}

static uint64_t
l3_flag(uint32_t ptype)
{
	if (RTE_ETH_IS_IPV4_HDR(ptype))
		return RTE_MBUF_F_TX_IPV4;
	if (RTE_ETH_IS_IPV6_HDR(ptype))
		return RTE_MBUF_F_TX_IPV6;
	return 0;
}

/* NEEDS_CSUM: the guest left the pseudo-header sum at csum_offset. */
static int
csum_request(const struct virtio_net_hdr *h, struct rte_mbuf *m,
	     uint32_t ptype)
{
	uint32_t l4 = ptype & RTE_PTYPE_L4_MASK;
	uint64_t l3 = l3_flag(ptype);

	if (h->csum_start != m->l2_len + m->l3_len || l3 == 0)
		return -EINVAL;
	if (l4 == RTE_PTYPE_L4_TCP && h->csum_offset == TCP_CSUM_OFF)
		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM | l3;
	else if (l4 == RTE_PTYPE_L4_UDP && h->csum_offset == UDP_CSUM_OFF)
		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM | l3;
	else
		return -EINVAL;
	return 0;
}

int
vq_hdr_to_mbuf(struct vq *q, const struct virtio_net_hdr *h,
	       struct rte_mbuf *m)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	uint32_t ptype;

	(void)q;
	if (likely(h->flags == 0 && gso == VIRTIO_NET_HDR_GSO_NONE))
		return 0;
	parse(m, &ptype);
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 &&
	    csum_request(h, m, ptype) < 0)
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	/* Segmentation needs the checksum request and a segment size. */
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0 || h->gso_size == 0)
		return -EINVAL;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if ((ptype & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_TCP)
			return -EINVAL;
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		if ((ptype & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_UDP)
			return -EINVAL;
		m->ol_flags |= RTE_MBUF_F_TX_UDP_SEG;
		break;
	default:
		return -EINVAL;
	}
	m->tso_segsz = h->gso_size;
	return 0;
}

void
vq_mbuf_to_hdr(const struct vq *q, const struct rte_mbuf *m,
	       struct virtio_net_hdr *h)
{
	uint64_t ol = m->ol_flags;
	uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;

	if (ol & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) {
		if (ol & RTE_MBUF_F_TX_UDP_SEG)
			h->gso_type = VIRTIO_NET_HDR_GSO_UDP;
		else if (ol & RTE_MBUF_F_TX_IPV6)
			h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		else
			h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = m->tso_segsz;
		h->hdr_len = m->l2_len + m->l3_len + m->l4_len;
		if (l4 == 0)
			l4 = (ol & RTE_MBUF_F_TX_UDP_SEG) ?
			     RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM;
	}
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = m->l2_len + m->l3_len;
		h->csum_offset = l4 == RTE_MBUF_F_TX_TCP_CKSUM ? TCP_CSUM_OFF :
							      UDP_CSUM_OFF;
	} else if (q->guest_csum &&
		   (ol & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
		   RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
}

/* The full L4 checksum: pseudo-header sum plus the segment's bytes. */
static uint16_t
l4_cksum(const struct rte_mbuf *m, uint32_t l4_off, uint16_t phdr, bool udp)
{
	uint16_t raw = 0;
	uint32_t sum;

	rte_raw_cksum_mbuf(m, l4_off, m->pkt_len - l4_off, &raw);
	sum = (uint32_t)phdr + raw;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	/* UDP sends "no checksum" as 0, so a computed 0 is written 0xffff. */
	return udp && sum == 0 ? 0xffff : (uint16_t)sum;
}

/* Finish the IPv4 header and L4 checksums of m (a private copy). */
static int
finish_csum(struct rte_mbuf *m)
{
	uint32_t l4_off = m->l2_len + m->l3_len;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint16_t *field, sum;

	if (m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG))
		l4 = (m->ol_flags & RTE_MBUF_F_TX_UDP_SEG) ?
		     RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM;
	if (l4_off + (l4 == RTE_MBUF_F_TX_TCP_CKSUM ? sizeof(struct rte_tcp_hdr)
		      : sizeof(struct rte_udp_hdr)) > m->data_len)
		return -EINVAL;	/* headers must be in the first segment */
	field = rte_pktmbuf_mtod_offset(m, uint16_t *, l4_off +
		(l4 == RTE_MBUF_F_TX_TCP_CKSUM ? TCP_CSUM_OFF : UDP_CSUM_OFF));
	*field = 0;
	if (m->ol_flags & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
				struct rte_ipv4_hdr *, m->l2_len);

		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		sum = rte_ipv4_phdr_cksum(ip, 0);
	} else {
		const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m,
				const struct rte_ipv6_hdr *, m->l2_len);

		sum = rte_ipv6_phdr_cksum(ip, 0);
	}
	*field = l4_cksum(m, l4_off, sum, l4 == RTE_MBUF_F_TX_UDP_CKSUM);
	m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
			 RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_IP_CKSUM);
	return 0;
}

static bool
guest_takes_gso(const struct vq *q, uint64_t ol)
{
	if (!q->guest_csum)
		return false;
	if (ol & RTE_MBUF_F_TX_UDP_SEG)
		return q->guest_ufo;
	return (ol & RTE_MBUF_F_TX_IPV6) ? q->guest_tso6 : q->guest_tso4;
}

/* Segment m in software into out[]; checksums finished per segment. */
static int
segment(struct vq *q, struct rte_mbuf *m, struct rte_mbuf **out,
	unsigned int max)
{
	int k, i;

	q->gso.gso_size = m->l2_len + m->l3_len + m->l4_len + m->tso_segsz;
	q->gso.flag = 0;
	k = rte_gso_segment(m, &q->gso, out, (uint16_t)max);
	if (k <= 0) {
		q->stats.drops[VQ_DROP_GSO]++;
		return -1;
	}
	for (i = 0; i < k; i++) {
		out[i]->ol_flags = m->ol_flags & ~(RTE_MBUF_F_TX_TCP_SEG |
						   RTE_MBUF_F_TX_UDP_SEG);
		out[i]->l2_len = m->l2_len;
		out[i]->l3_len = m->l3_len;
		out[i]->l4_len = m->l4_len;
		if ((out[i]->ol_flags & RTE_MBUF_F_TX_L4_MASK) == 0)
			out[i]->ol_flags |= (m->ol_flags &
					     RTE_MBUF_F_TX_UDP_SEG) ?
					    RTE_MBUF_F_TX_UDP_CKSUM :
					    RTE_MBUF_F_TX_TCP_CKSUM;
		if (finish_csum(out[i]) < 0) {
			rte_pktmbuf_free_bulk(out, k);
			q->stats.drops[VQ_DROP_GSO]++;
			return -1;
		}
	}
	q->stats.sw_gso++;
	return k;
}

int
vq_prepare_rx(struct vq *q, struct rte_mbuf *m, struct rte_mbuf **out,
	      unsigned int max)
{
	uint64_t ol = m->ol_flags;
	struct rte_mbuf *c;

	if (likely((ol & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
			  RTE_MBUF_F_TX_UDP_SEG)) == 0)) {
		out[0] = m;
		return 1;
	}
	if (ol & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) {
		if (guest_takes_gso(q, ol)) {
			out[0] = m;
			return 1;
		}
		return segment(q, m, out, max);
	}
	if (q->guest_csum) {
		out[0] = m;
		return 1;
	}
	/* The guest wants finished checksums: fix a copy, never m. */
	c = rte_pktmbuf_copy(m, q->mp, 0, UINT32_MAX);
	if (c == NULL) {
		q->stats.drops[VQ_DROP_NO_MBUF]++;
		return -1;
	}
	c->ol_flags = ol;
	c->l2_len = m->l2_len;
	c->l3_len = m->l3_len;
	c->l4_len = m->l4_len;
	if (finish_csum(c) < 0) {
		rte_pktmbuf_free(c);
		q->stats.drops[VQ_DROP_BAD_HDR]++;
		return -1;
	}
	q->stats.sw_csum++;
	out[0] = c;
	return 1;
}
