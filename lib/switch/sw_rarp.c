/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RARP frame a switch broadcasts for a station that moved here, so
 * that every switch on the way learns its new place (the same frame a
 * hypervisor sends after live migration).
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "sw_internal.h"

#define RARP_REQUEST	3	/* reverse request */
#define RARP_LEN	60	/* the minimum frame, without FCS */

struct rte_mbuf *
sw_rarp_build(struct rte_mempool *mp, const uint8_t mac[6])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RARP_LEN);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(eth, 0, RARP_LEN);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, mac, RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_RARP);
	arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RARP_REQUEST);
	memcpy(&arp->arp_data.arp_sha, mac, RTE_ETHER_ADDR_LEN);
	memcpy(&arp->arp_data.arp_tha, mac, RTE_ETHER_ADDR_LEN);
	return m;
}
