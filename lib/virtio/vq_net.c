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
 * in software: IPv4 header checksums, L4 checksums, TCP segmentation
 * (IPv4 and IPv6) and UFO (IPv4 fragmentation), always on copies,
 * because the mbuf may be shared with other destinations or point into
 * another guest's memory.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
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

/*
 * The offload a GSO type needs negotiated, and the L3 (TX_IPV4/IPV6
 * flag) and L4 it applies to; 0 for a type virtio-net does not define.
 */
static unsigned int
gso_rule(uint8_t gso, uint64_t *l3, uint32_t *l4)
{
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		*l3 = RTE_MBUF_F_TX_IPV4;
		*l4 = RTE_PTYPE_L4_TCP;
		return VQ_HOST_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		*l3 = RTE_MBUF_F_TX_IPV6;
		*l4 = RTE_PTYPE_L4_TCP;
		return VQ_HOST_TSO6;
	case VIRTIO_NET_HDR_GSO_UDP:
		*l3 = RTE_MBUF_F_TX_IPV4;	/* UFO: IPv4 fragmentation */
		*l4 = RTE_PTYPE_L4_UDP;
		return VQ_HOST_UFO;
	default:
		return 0;
	}
}

/*
 * A guest's transmit header as mbuf offload requests. A guest that
 * negotiated no transmit offload has its header ignored. A request the guest
 * did not negotiate (CSUM, HOST_TSO4/6, HOST_ECN, HOST_UFO), or one that
 * does not match the frame, is -EINVAL: the packet is dropped as bad_hdr.
 */
int
vq_hdr_to_mbuf(struct vq *q, const struct virtio_net_hdr *h,
	       struct rte_mbuf *m)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need = 0;
	uint32_t ptype, l4 = 0;
	uint64_t l3 = 0;

	if (likely(vq_tx_hdr_plain(q, (const uint8_t *)h)))
		return 0;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		need |= VQ_HOST_CSUM;
	if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		need |= VQ_HOST_ECN;
	if (gso != VIRTIO_NET_HDR_GSO_NONE) {
		unsigned int tso = gso_rule(gso, &l3, &l4);

		/* Segmentation needs a checksum request and a size. */
		if (tso == 0 || h->gso_size == 0 ||
		    (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0)
			return -EINVAL;
		need |= tso;
	}
	/* ECN only qualifies a TCP GSO type. */
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && l4 != RTE_PTYPE_L4_TCP)
		return -EINVAL;
	if ((q->host_offloads & need) != need)
		return -EINVAL;
	parse(m, &ptype);
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 &&
	    csum_request(h, m, ptype) < 0)
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	if (l3_flag(ptype) != l3 || (ptype & RTE_PTYPE_L4_MASK) != l4)
		return -EINVAL;
	m->ol_flags |= l4 == RTE_PTYPE_L4_UDP ? RTE_MBUF_F_TX_UDP_SEG :
						RTE_MBUF_F_TX_TCP_SEG;
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

/*
 * The one's complement sum of len bytes of m from off, correct across
 * segments of any length: a piece that starts at an odd offset has its
 * (reduced) sum byte-swapped, as RFC 1071 allows.
 */
static uint32_t
sum_mbuf(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	while (m != NULL && done < len) {
		uint32_t n = RTE_MIN((uint32_t)(m->data_len - off), len - done);
		uint16_t s = rte_raw_cksum(rte_pktmbuf_mtod_offset(m,
					   const void *, off), n);

		sum += (done & 1) ? rte_bswap16(s) : s;
		done += n;
		off = 0;
		m = m->next;
	}
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Write the full L4 checksum of m (headers in its first segment). */
static int
fix_l4(struct rte_mbuf *m, bool udp)
{
	uint32_t l4_off = m->l2_len + m->l3_len;
	uint16_t *field, phdr, sum;

	if (l4_off + (udp ? sizeof(struct rte_udp_hdr) :
		      sizeof(struct rte_tcp_hdr)) > m->data_len)
		return -EINVAL;
	field = rte_pktmbuf_mtod_offset(m, uint16_t *, l4_off +
					(udp ? UDP_CSUM_OFF : TCP_CSUM_OFF));
	*field = 0;
	if (m->ol_flags & RTE_MBUF_F_TX_IPV4)
		phdr = rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m,
				const struct rte_ipv4_hdr *, m->l2_len), 0);
	else
		phdr = rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m,
				const struct rte_ipv6_hdr *, m->l2_len), 0);
	sum = ~fold((uint32_t)phdr + sum_mbuf(m, l4_off,
					     m->pkt_len - l4_off));
	/* UDP sends "no checksum" as 0, so a computed 0 is written 0xffff. */
	*field = udp && sum == 0 ? 0xffff : sum;
	return 0;
}

static void
fix_ip(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
			struct rte_ipv4_hdr *, m->l2_len);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
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

/* A private copy keeping the metadata the offloads need. */
static struct rte_mbuf *
private_copy(struct vq *q, const struct rte_mbuf *m)
{
	struct rte_mbuf *c = rte_pktmbuf_copy(m, q->mp, 0, UINT32_MAX);

	if (c == NULL) {
		q->stats.drops[VQ_DROP_NO_MBUF]++;
		return NULL;
	}
	c->ol_flags = m->ol_flags & ~RTE_MBUF_F_EXTERNAL;
	c->l2_len = m->l2_len;
	c->l3_len = m->l3_len;
	c->l4_len = m->l4_len;
	c->tso_segsz = m->tso_segsz;
	return c;
}

/* Append len bytes of src from off to the chain dst. */
static int
append_from(struct vq *q, struct rte_mbuf *dst, const struct rte_mbuf *src,
	    uint32_t off, uint32_t len)
{
	while (src != NULL && off >= src->data_len) {
		off -= src->data_len;
		src = src->next;
	}
	while (src != NULL && len > 0) {
		uint32_t n = RTE_MIN((uint32_t)(src->data_len - off), len);

		if (vq_copy_to_mbuf(q, dst, rte_pktmbuf_mtod_offset(src,
				    const uint8_t *, off), n) < 0)
			return -ENOMEM;
		len -= n;
		off = 0;
		src = src->next;
	}
	return len == 0 ? 0 : -EINVAL;
}

/* The first hlen bytes of m (headers) into a new mbuf, same metadata. */
static struct rte_mbuf *
headers_of(struct vq *q, const struct rte_mbuf *m, uint32_t hlen)
{
	struct rte_mbuf *s = rte_pktmbuf_alloc(q->mp);

	if (s == NULL)
		return NULL;
	if (append_from(q, s, m, 0, hlen) < 0) {
		rte_pktmbuf_free(s);
		return NULL;
	}
	s->ol_flags = m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6);
	s->l2_len = m->l2_len;
	s->l3_len = m->l3_len;
	s->l4_len = m->l4_len;
	return s;
}

/*
 * TCP segmentation in software, IPv4 and IPv6: each segment gets the
 * headers with its length, IP id, sequence number and flags fixed, and
 * full checksums, and is handed to one() as soon as it is built.
 */
static enum vq_rx_result
sw_tso(struct vq *q, const struct rte_mbuf *m, vq_rx_one_fn one, void *arg)
{
	uint32_t hlen = m->l2_len + m->l3_len + m->l4_len;
	uint32_t plen = m->pkt_len - hlen, mss = m->tso_segsz, off = 0;
	const struct rte_tcp_hdr *t0;
	uint8_t hdrs[256];
	uint32_t seq0;
	uint16_t id0 = 0, k = 0;
	bool v4 = (m->ol_flags & RTE_MBUF_F_TX_IPV4) != 0;

	t0 = rte_pktmbuf_read(m, m->l2_len + m->l3_len, sizeof(*t0), hdrs);
	if (mss == 0 || hlen > sizeof(hdrs) || hlen > m->pkt_len ||
	    t0 == NULL) {
		q->stats.drops[VQ_DROP_GSO]++;
		return VQ_RX_DROPPED;
	}
	seq0 = rte_be_to_cpu_32(t0->sent_seq);
	if (v4) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_read(m, m->l2_len,
				sizeof(*ip), hdrs);

		id0 = rte_be_to_cpu_16(ip->packet_id);
	}
	q->stats.sw_gso++;
	do {
		uint32_t n = RTE_MIN(mss, plen - off);
		struct rte_mbuf *s = headers_of(q, m, hlen);
		struct rte_tcp_hdr *tcp;
		enum vq_rx_result r;

		if (s == NULL || append_from(q, s, m, hlen + off, n) < 0) {
			rte_pktmbuf_free(s);
			q->stats.drops[VQ_DROP_NO_MBUF]++;
			return VQ_RX_DROPPED;
		}
		tcp = rte_pktmbuf_mtod_offset(s, struct rte_tcp_hdr *,
					      m->l2_len + m->l3_len);
		tcp->sent_seq = rte_cpu_to_be_32(seq0 + off);
		if (off + n < plen)
			tcp->tcp_flags &= ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
		if (off > 0)
			tcp->tcp_flags &= ~RTE_TCP_CWR_FLAG;
		if (v4) {
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(s,
					struct rte_ipv4_hdr *, m->l2_len);

			ip->total_length = rte_cpu_to_be_16(m->l3_len +
							    m->l4_len + n);
			ip->packet_id = rte_cpu_to_be_16(id0 + k);
			fix_ip(s);
		} else {
			struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(s,
					struct rte_ipv6_hdr *, m->l2_len);

			ip->payload_len = rte_cpu_to_be_16(m->l3_len -
					sizeof(*ip) + m->l4_len + n);
		}
		fix_l4(s, false);
		s->ol_flags = 0;
		r = one(q, s, arg);
		rte_pktmbuf_free(s);
		if (r != VQ_RX_DONE)
			return r == VQ_RX_FULL && k > 0 ? VQ_RX_CUT : r;
		off += n;
		k++;
	} while (off < plen);
	return VQ_RX_DONE;
}

/*
 * UDP "segmentation" (UFO) is IPv4 fragmentation of one datagram: its
 * checksum is computed whole, then it is cut on 8-byte boundaries.
 */
static enum vq_rx_result
sw_ufo(struct vq *q, const struct rte_mbuf *m, vq_rx_one_fn one, void *arg)
{
	uint32_t ip_off = m->l2_len, frag, off = 0, plen;
	struct rte_mbuf *c;
	enum vq_rx_result r = VQ_RX_DONE;

	if ((m->ol_flags & RTE_MBUF_F_TX_IPV4) == 0 || m->tso_segsz < 8) {
		q->stats.drops[VQ_DROP_GSO]++;
		return VQ_RX_DROPPED;
	}
	c = private_copy(q, m);
	if (c == NULL)
		return VQ_RX_DROPPED;
	if (fix_l4(c, true) < 0) {
		rte_pktmbuf_free(c);
		q->stats.drops[VQ_DROP_GSO]++;
		return VQ_RX_DROPPED;
	}
	q->stats.sw_gso++;
	plen = c->pkt_len - ip_off - c->l3_len;
	frag = m->tso_segsz & ~7u;
	do {
		uint32_t n = RTE_MIN(frag, plen - off);
		struct rte_mbuf *s = headers_of(q, c, ip_off + c->l3_len);
		struct rte_ipv4_hdr *ip;

		if (s == NULL ||
		    append_from(q, s, c, ip_off + c->l3_len + off, n) < 0) {
			rte_pktmbuf_free(s);
			q->stats.drops[VQ_DROP_NO_MBUF]++;
			r = VQ_RX_DROPPED;
			break;
		}
		ip = rte_pktmbuf_mtod_offset(s, struct rte_ipv4_hdr *, ip_off);
		ip->total_length = rte_cpu_to_be_16(c->l3_len + n);
		ip->fragment_offset = rte_cpu_to_be_16((off / 8) |
			(off + n < plen ? RTE_IPV4_HDR_MF_FLAG : 0));
		fix_ip(s);
		s->ol_flags = 0;
		r = one(q, s, arg);
		rte_pktmbuf_free(s);
		if (r == VQ_RX_FULL && off > 0)
			r = VQ_RX_CUT;
		off += n;
	} while (r == VQ_RX_DONE && off < plen);
	rte_pktmbuf_free(c);
	return r;
}

/* Checksums the guest cannot take, finished on a private copy. */
static enum vq_rx_result
fix_csum(struct vq *q, const struct rte_mbuf *m, vq_rx_one_fn one, void *arg)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	struct rte_mbuf *c = private_copy(q, m);
	enum vq_rx_result r;

	if (c == NULL)
		return VQ_RX_DROPPED;
	if ((c->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) &&
	    (c->ol_flags & RTE_MBUF_F_TX_IPV4)) {
		fix_ip(c);
		c->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (l4 != 0 && !q->guest_csum &&
	    (c->ol_flags & (RTE_MBUF_F_TX_TCP_SEG |
			    RTE_MBUF_F_TX_UDP_SEG)) == 0) {
		if (fix_l4(c, l4 == RTE_MBUF_F_TX_UDP_CKSUM) < 0) {
			rte_pktmbuf_free(c);
			q->stats.drops[VQ_DROP_BAD_HDR]++;
			return VQ_RX_DROPPED;
		}
		c->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
		q->stats.sw_csum++;
	}
	r = one(q, c, arg);
	rte_pktmbuf_free(c);
	return r;
}

enum vq_rx_result
vq_rx_deliver(struct vq *q, struct rte_mbuf *m, vq_rx_one_fn one, void *arg)
{
	uint64_t ol = m->ol_flags;
	bool ip_fix = (ol & RTE_MBUF_F_TX_IP_CKSUM) &&
		      (ol & RTE_MBUF_F_TX_IPV4);

	if (ol & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) {
		if (!guest_takes_gso(q, ol))
			return (ol & RTE_MBUF_F_TX_UDP_SEG) ?
			       sw_ufo(q, m, one, arg) : sw_tso(q, m, one, arg);
	} else if ((ol & RTE_MBUF_F_TX_L4_MASK) != 0 && !q->guest_csum) {
		return fix_csum(q, m, one, arg);
	}
	if (ip_fix)
		return fix_csum(q, m, one, arg);
	return one(q, m, arg);
}
