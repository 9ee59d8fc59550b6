/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UDP fragmentation offload (HOST_UFO / GUEST_UFO). A guest may hand over
 * one large UDP datagram to be cut into IPv4 fragments; towards a guest
 * that negotiated GUEST_UFO it travels whole, towards one that did not it
 * arrives as fragments whose IP headers (offset, MF, length, checksum)
 * are right and whose reassembly is the datagram with a correct UDP
 * checksum over all of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "vqt.h"

#define DGRAM		4000	/* UDP payload bytes */
#define FRAG		1480	/* IP payload per fragment, multiple of 8 */
#define L2		14
#define L3		20
#define FEAT		(VHU_BIT(VHU_F_VERSION_1) | \
			 VHU_BIT(VHU_NET_F_MRG_RXBUF))

/* A guest with rx_bufs 2 KiB receive buffers posted. */
static void
fx_init(struct vqt_fx *f, bool packed, uint64_t features, int rx_bufs)
{
	struct gd_shape one = { .nsegs = 1 };
	int i;

	assert_int_equal(vqt_fx_open(f, packed, features, false), 0);
	for (i = 0; i < rx_bufs; i++)
		assert_true(gd_rx_post(&f->q, 2048, &one) >= 0);
}

/* An IPv4/UDP frame of DGRAM payload bytes, checksums left to offload. */
static uint32_t
datagram(uint8_t *buf)
{
	uint32_t len = L2 + L3 + sizeof(struct rte_udp_hdr) + DGRAM;

	vqt_frame(buf, len, 11);
	return len;
}

static struct rte_mbuf *
ufo_mbuf(const uint8_t *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(vqt_init()), *tail = m;
	uint32_t off = 0;

	assert_non_null(m);
	/* Several segments, to go through the chain-walking paths too. */
	while (off < len) {
		uint32_t n = RTE_MIN(len - off, 1000u);
		struct rte_mbuf *s = off == 0 ? m : rte_pktmbuf_alloc(vqt_init());

		assert_non_null(s);
		memcpy(rte_pktmbuf_append(s, (uint16_t)n), frame + off, n);
		if (s != m) {
			tail->next = s;
			tail = s;
			m->nb_segs++;
			m->pkt_len += n;
		}
		off += n;
	}
	m->ol_flags = RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_IPV4 |
		      RTE_MBUF_F_TX_UDP_CKSUM;
	m->l2_len = L2;
	m->l3_len = L3;
	m->l4_len = sizeof(struct rte_udp_hdr);
	m->tso_segsz = FRAG;
	return m;
}

static uint16_t
fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Towards a guest without GUEST_UFO: IPv4 fragments, reassembled exact. */
static void
fragments(bool packed)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint8_t frame[8192], got[4096], whole[8192];
	const struct rte_ipv4_hdr *ip0;
	uint32_t len = datagram(frame), ip_payload = len - L2 - L3, seen = 0;
	struct rte_mbuf *m = ufo_mbuf(frame, len);
	uint8_t before[8192];
	struct vqt_fx f;
	int n, k = 0;

	fx_init(&f, packed, FEAT, 64);
	rte_pktmbuf_read(m, 0, len, before);
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	/* The caller's mbuf is untouched, flags included. */
	assert_memory_equal(rte_pktmbuf_read(m, 0, len, whole), before, len);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_UDP_SEG);
	rte_pktmbuf_free(m);
	while ((n = gd_rx(&f.q, &h, got, sizeof(got))) > 0) {
		const struct rte_ipv4_hdr *ip = (const void *)(got + L2);
		uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
		uint32_t off = (fo & RTE_IPV4_HDR_OFFSET_MASK) * 8;
		uint32_t plen = rte_be_to_cpu_16(ip->total_length) - L3;

		assert_int_equal(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(h.hdr.flags, 0);
		assert_int_equal((uint32_t)n, L2 + L3 + plen);
		assert_int_equal(rte_ipv4_cksum(ip), 0);	/* valid */
		assert_int_equal(off, (uint32_t)k * FRAG);
		assert_int_equal(!!(fo & RTE_IPV4_HDR_MF_FLAG),
				 off + plen < ip_payload);
		memcpy(whole + off, got + L2 + L3, plen);
		seen += plen;
		k++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(k, (ip_payload + FRAG - 1) / FRAG);
	assert_int_equal(seen, ip_payload);
	/* The datagram: payload as sent, UDP checksum over all of it. */
	assert_memory_equal(whole + 8, frame + L2 + L3 + 8, ip_payload - 8);
	ip0 = (const void *)(frame + L2);
	assert_int_equal(fold((uint32_t)rte_ipv4_phdr_cksum(ip0, 0) +
			      rte_raw_cksum(whole, ip_payload)), 0xffff);
	assert_int_equal(vq_stats(f.vq)->sw_gso, 1);
	vqt_fx_close(&f);
}

static void
fragments_split(void **state)
{
	(void)state;
	fragments(false);
}

static void
fragments_packed(void **state)
{
	(void)state;
	fragments(true);
}

/*
 * Fragments into a ring with room for one: the first fragment arrives,
 * the datagram is reported taken (a retry would repeat that fragment)
 * and counts once in no_buffer.
 */
static void
fragments_cut(void **state)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint8_t frame[8192], got[4096];
	uint32_t len = datagram(frame);
	struct rte_mbuf *m = ufo_mbuf(frame, len);
	const struct rte_ipv4_hdr *ip = (const void *)(got + L2);
	struct vqt_fx f;

	(void)state;
	fx_init(&f, false, FEAT, 1);
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_NO_BUFFER], 1);
	assert_int_equal(gd_rx(&f.q, &h, got, sizeof(got)), L2 + L3 + FRAG);
	assert_int_equal(rte_be_to_cpu_16(ip->fragment_offset),
			 RTE_IPV4_HDR_MF_FLAG);
	assert_memory_equal(got + L2 + L3 + 8, frame + L2 + L3 + 8, FRAG - 8);
	assert_int_equal(gd_rx(&f.q, &h, got, sizeof(got)), 0);
	vqt_fx_close(&f);
}

/* Towards a guest with GUEST_UFO (and GUEST_CSUM): one packet. */
static void
passed_whole(void **state)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint8_t frame[8192], got[8192];
	uint32_t len = datagram(frame);
	struct rte_mbuf *m = ufo_mbuf(frame, len);
	struct vqt_fx f;

	(void)state;
	fx_init(&f, false, FEAT | VHU_BIT(VHU_NET_F_GUEST_UFO) |
		VHU_BIT(VHU_NET_F_GUEST_CSUM), 64);
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(gd_rx(&f.q, &h, got, sizeof(got)), (int)len);
	assert_memory_equal(got, frame, len);
	assert_int_equal(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_UDP);
	assert_int_equal(h.hdr.gso_size, FRAG);
	assert_int_equal(h.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.hdr.csum_start, L2 + L3);
	assert_int_equal(h.hdr.csum_offset, 6);
	assert_int_equal(vq_stats(f.vq)->sw_gso, 0);
	vqt_fx_close(&f);
}

/* A guest sending UFO (HOST_UFO): the mbuf asks for UDP segmentation. */
static void
guest_sends_ufo(void **state)
{
	struct virtio_net_hdr_mrg_rxbuf h = {
		.hdr = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = VIRTIO_NET_HDR_GSO_UDP,
			.gso_size = FRAG,
			.csum_start = L2 + L3,
			.csum_offset = 6,
		},
	};
	struct gd_shape two = { .nsegs = 2 };
	uint8_t frame[8192];
	uint32_t len = datagram(frame);
	struct rte_mbuf *m;
	struct vqt_fx f;

	(void)state;
	/* The queue carries guest transmissions only: no receive buffers. */
	fx_init(&f, true, FEAT | VHU_BIT(VHU_NET_F_HOST_UFO) |
		VHU_BIT(VHU_NET_F_CSUM), 0);
	assert_true(gd_tx(&f.q, &h, frame, len, &two) >= 0);
	assert_int_equal(vq_dequeue_burst(f.vq, &m, 1), 1);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_UDP_SEG);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK,
			 RTE_MBUF_F_TX_UDP_CKSUM);
	assert_int_equal(m->tso_segsz, FRAG);
	assert_int_equal(m->l2_len, L2);
	assert_int_equal(m->l3_len, L3);
	assert_int_equal(m->pkt_len, len);
	rte_pktmbuf_free(m);
	vqt_fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fragments_split),
		cmocka_unit_test(fragments_packed),
		cmocka_unit_test(fragments_cut),
		cmocka_unit_test(passed_whole),
		cmocka_unit_test(guest_sends_ufo),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
