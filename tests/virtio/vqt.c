/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared set-up for lib/virtio's tests; see vqt.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "vqt.h"

struct rte_mempool *
vqt_init(void)
{
	static struct rte_mempool *mp;
	char prefix[64];
	char *argv[] = { "vqt", "-l", "0", "--no-huge", "-m", "512",
			 "--no-pci", "--no-shconf", "--log-level", "*:error",
			 "--file-prefix", prefix, NULL };

	if (mp != NULL)
		return mp;
	snprintf(prefix, sizeof(prefix), "vqt%d", (int)getpid());
	if (rte_eal_init(12, argv) < 0)
		return NULL;
	mp = rte_pktmbuf_pool_create("vqt", 16383, 256, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return mp;
}

void
vqt_frame(uint8_t *buf, uint32_t len, uint32_t seed)
{
	static const uint8_t hdr[42] = {
		0x52, 0x54, 0x00, 0x00, 0x00, 0x02,	/* dst */
		0x52, 0x54, 0x00, 0x00, 0x00, 0x01,	/* src */
		0x08, 0x00,				/* IPv4 */
		0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,
		0x40, 0x11, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0x16, 0x2e, 0x00, 0x00, 0x00, 0x00,
	};
	uint32_t i, x = seed * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	memcpy(buf, hdr, len < sizeof(hdr) ? len : sizeof(hdr));
	if (len >= sizeof(hdr)) {
		uint16_t ip_len = (uint16_t)(len - 14), udp_len = ip_len - 20;

		buf[16] = ip_len >> 8;
		buf[17] = ip_len & 0xff;
		buf[38] = udp_len >> 8;
		buf[39] = udp_len & 0xff;
	}
}

struct vq *
vqt_vq(struct gd_q *q, bool zero_copy)
{
	struct vq_params p = {
		.mp = vqt_init(),
		.zero_copy = zero_copy,
		.owner_lcore = rte_lcore_id(),
	};

	return vq_create(&q->vr, &p);
}

int
vqt_fx_guest(struct vqt_fx *f, bool packed, uint64_t features)
{
	memset(f, 0, sizeof(*f));
	if (vqt_init() == NULL || gd_mem_init(&f->mem, 64 << 20) != 0)
		return -1;
	if (gd_q_init(&f->q, &f->mem, 256, packed, features) != 0) {
		gd_mem_fini(&f->mem);
		return -1;
	}
	return 0;
}

int
vqt_fx_open(struct vqt_fx *f, bool packed, uint64_t features,
	    bool zero_copy)
{
	if (vqt_fx_guest(f, packed, features) != 0)
		return -1;
	f->vq = vqt_vq(&f->q, zero_copy);
	if (f->vq == NULL) {
		vqt_fx_close(f);
		return -1;
	}
	return 0;
}

void
vqt_fx_close(struct vqt_fx *f)
{
	vq_free(f->vq);
	gd_q_fini(&f->q);
	gd_mem_fini(&f->mem);
}

unsigned int
vqt_used_seen(const struct vqt_fx *f)
{
	unsigned int k = 0;
	uint32_t len;
	uint16_t id;

	while (gd_used_peek(&f->q, k, &id, &len))
		k++;
	return k;
}
