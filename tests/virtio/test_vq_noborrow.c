/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio without borrowing: when the mbuf field borrowing needs is
 * already taken in this process (here by a field of the same name and
 * another size, registered before any queue), a zero-copy queue still
 * works. vq_borrows() says it does not borrow, and vq_borrow_burst()
 * copies every frame whole and hands the guest its buffers back at once.
 * A program of its own: the field is registered once per process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include "vqt.h"

#define V1		VHU_BIT(VHU_F_VERSION_1)
#define NO_LEND		1921u	/* zc_min_len: nothing here is lent */

static uint8_t want[2048];
static uint8_t got[2048];
static const struct virtio_net_hdr_mrg_rxbuf no_hdr;

static void
copied(bool packed)
{
	static const uint32_t lens[] = { 256, 1000, 1514, 1920, 60, 700 };
	static const struct gd_shape one = { .nsegs = 1 };
	unsigned int avail = rte_mempool_avail_count(vqt_init());
	struct vq_params p = {
		.mp = vqt_init(),
		.zero_copy = true,
		.zc_min_len = NO_LEND,
		.owner_lcore = rte_lcore_id(),
	};
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	struct vqt_fx f;
	uint16_t i;

	assert_int_equal(vqt_fx_guest(&f, packed, V1), 0);
	f.vq = vq_create(&f.q.vr, &p);
	assert_non_null(f.vq);
	assert_false(vq_borrows(f.vq));
	st = vq_stats(f.vq);
	for (i = 0; i < RTE_DIM(lens); i++) {
		vqt_frame(want, lens[i], i);
		assert_true(gd_tx(&f.q, &no_hdr, want, lens[i], &one) >= 0);
	}
	assert_int_equal(vq_borrow_burst(f.vq, pkts, VQ_BURST_MAX),
			 RTE_DIM(lens));
	/* Nothing is held for vq_reap(): the buffers are back already. */
	assert_int_equal(gd_tx_reclaim(&f.q), RTE_DIM(lens));
	for (i = 0; i < RTE_DIM(lens); i++) {
		const void *d;

		assert_false(vq_borrowed(pkts[i]));
		assert_int_equal(pkts[i]->pkt_len, lens[i]);
		assert_int_equal(pkts[i]->data_len, lens[i]);
		vqt_frame(want, lens[i], i);
		d = rte_pktmbuf_read(pkts[i], 0, lens[i], got);
		assert_memory_equal(d, want, lens[i]);
	}
	assert_int_equal(st->zc_packets, 0);
	assert_int_equal(st->copy_packets, RTE_DIM(lens));
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(lens));
	vq_reap(f.vq);
	assert_false(vq_broken(f.vq));
	vqt_fx_close(&f);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), avail);
}

static void
copied_split(void **state)
{
	(void)state;
	copied(false);
}

static void
copied_packed(void **state)
{
	(void)state;
	copied(true);
}

int
main(void)
{
	/* VQ_BORROW_FIELD, but not the size borrowing registers it with. */
	static const struct rte_mbuf_dynfield other = {
		.name = VQ_BORROW_FIELD,
		.size = sizeof(uint32_t),
		.align = __alignof__(uint32_t),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copied_split),
		cmocka_unit_test(copied_packed),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	if (vqt_init() == NULL)
		return 1;
	if (rte_mbuf_dynfield_register(&other) < 0) {
		fprintf(stderr, "dynfield: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
