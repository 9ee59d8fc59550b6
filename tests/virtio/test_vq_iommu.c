/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio with VIRTIO_F_IOMMU_PLATFORM: descriptor addresses are I/O
 * virtual addresses translated through the device IOTLB. A miss leaves
 * the buffer where it is and asks the front-end (through the ring) for
 * the entry; a buffer across entries whose host pages are not adjacent
 * is copied piece by piece; the dirty log is marked by guest physical
 * address, never by IOVA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "vqt.h"

#define IOVA_OFF	0x4000000000ULL	/* IOVA = guest physical + this */
#define PAGE		4096ULL
#define FEAT		(VHU_BIT(VHU_F_VERSION_1) | \
			 VHU_BIT(VHU_F_ACCESS_PLATFORM))

struct fx {
	struct vqt_fx g;
	struct vhu_iotlb tlb;
	struct vhu_iotlb_entry e[64];
};

static void
fx_init(struct fx *f, bool packed)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(vqt_fx_guest(&f->g, packed, FEAT), 0);
	f->tlb.e = f->e;
	f->tlb.cap = RTE_DIM(f->e);
	f->g.q.dp.iommu = true;
	f->g.q.dp.iotlb = &f->tlb;
	f->g.vq = vqt_vq(&f->g.q, false);
	assert_non_null(f->g.vq);
}

static void
fx_fini(struct fx *f)
{
	vqt_fx_close(&f->g);
}

/* Map [iova, iova + len) to guest physical gpa, kept sorted by iova. */
static void
map(struct fx *f, uint64_t iova, uint64_t gpa, uint64_t len, uint8_t perm)
{
	uint32_t i = f->tlb.n;

	while (i > 0 && f->e[i - 1].iova > iova) {
		f->e[i] = f->e[i - 1];
		i--;
	}
	f->e[i] = (struct vhu_iotlb_entry){
		.iova = iova, .size = len, .uva = gpa, .perm = perm,
		.hva = f->g.mem.hva + gpa,
	};
	f->tlb.n++;
}

/* Everything the guest allocated, mapped 1:1 at IOVA_OFF. */
static void
map_all(struct fx *f)
{
	map(f, IOVA_OFF, 0, f->g.mem.size, VHU_ACCESS_RW);
}

/* Rewrite the descriptor(s) of buffer id to carry IOVAs. */
static void
to_iova(struct fx *f, int id)
{
	if (f->g.q.packed) {
		uint16_t pos = (uint16_t)((f->g.q.next_avail + f->g.q.size - 1) %
					  f->g.q.size);

		f->g.q.pdesc[pos].addr += IOVA_OFF;
	} else {
		f->g.q.desc[id].addr += IOVA_OFF;
	}
}

static void
tx_through_iotlb(bool packed)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *m;
	uint8_t frame[1514], buf[1514];
	struct fx f;
	int id;

	fx_init(&f, packed);
	vqt_frame(frame, sizeof(frame), 3);
	id = gd_tx(&f.g.q, &hdr, frame, sizeof(frame), &one);
	assert_true(id >= 0);
	to_iova(&f, id);
	/* No entry yet: nothing consumed, a miss asked for its address. */
	assert_int_equal(vq_dequeue_burst(f.g.vq, &m, 1), 0);
	assert_true(f.g.q.vr.miss_pending);
	assert_int_equal(f.g.q.vr.miss_iova,
			 f.g.q.bufs[id].gpa[0] + IOVA_OFF);
	assert_int_equal(f.g.q.vr.last_avail_idx, 0);
	assert_false(vq_broken(f.g.vq));
	/* The front-end answers: the buffer goes through. */
	f.g.q.vr.miss_pending = false;
	map_all(&f);
	assert_int_equal(vq_dequeue_burst(f.g.vq, &m, 1), 1);
	assert_int_equal(m->pkt_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_read(m, 0, sizeof(frame), buf), frame,
			    sizeof(frame));
	rte_pktmbuf_free(m);
	assert_int_equal(gd_tx_reclaim(&f.g.q), 1);
	fx_fini(&f);
}

static void
tx_through_iotlb_split(void **state)
{
	(void)state;
	tx_through_iotlb(false);
}

static void
tx_through_iotlb_packed(void **state)
{
	(void)state;
	tx_through_iotlb(true);
}

/*
 * A buffer across two IOVA pages whose host pages are far apart: the
 * bytes come from each page in IOVA order.
 */
static void
tx_across_scattered_pages(void **state)
{
	const uint64_t a = 0x200000, b = 0x500000;	/* guest pages */
	const uint64_t iova = IOVA_OFF + 0x10000000;
	struct rte_mbuf *m;
	uint8_t frame[1500], buf[1500];
	uint32_t first = 700;
	struct fx f;

	(void)state;
	fx_init(&f, false);
	/* The descriptor ring and avail/used live at their 1:1 IOVAs. */
	map_all(&f);
	map(&f, iova, a, PAGE, VHU_ACCESS_RO);
	map(&f, iova + PAGE, b, PAGE, VHU_ACCESS_RO);
	vqt_frame(frame, sizeof(frame), 9);
	/* header + the first 688 frame bytes at the end of page a... */
	memset(gd_ptr(&f.g.mem, a + PAGE - first), 0, f.g.q.hdr_len);
	memcpy(gd_ptr(&f.g.mem, a + PAGE - first + f.g.q.hdr_len), frame,
	       first - f.g.q.hdr_len);
	/* ...the rest at the start of page b. */
	memcpy(gd_ptr(&f.g.mem, b), frame + first - f.g.q.hdr_len,
	       sizeof(frame) - (first - f.g.q.hdr_len));
	f.g.q.desc[0].addr = iova + PAGE - first;
	f.g.q.desc[0].len = f.g.q.hdr_len + sizeof(frame);
	f.g.q.desc[0].flags = 0;
	f.g.q.free_head = f.g.q.desc[0].next;
	f.g.q.nfree--;
	f.g.q.bufs[0].busy = true;
	f.g.q.bufs[0].ndesc = 1;
	f.g.q.avail->ring[0] = 0;
	__atomic_store_n(&f.g.q.avail->idx, ++f.g.q.avail_idx, __ATOMIC_RELEASE);
	assert_int_equal(vq_dequeue_burst(f.g.vq, &m, 1), 1);
	assert_int_equal(m->pkt_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_read(m, 0, sizeof(frame), buf), frame,
			    sizeof(frame));
	rte_pktmbuf_free(m);
	assert_int_equal(gd_tx_reclaim(&f.g.q), 1);
	fx_fini(&f);
}

/* A read-only entry does not let the device write a receive buffer. */
static void
rx_needs_write_permission(void **state)
{
	struct gd_shape one = { .nsegs = 1 };
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint8_t frame[600], got[2048];
	struct rte_mbuf *m;
	struct fx f;
	int id;

	(void)state;
	fx_init(&f, false);
	id = gd_rx_post(&f.g.q, 2048, &one);
	assert_true(id >= 0);
	to_iova(&f, id);
	map(&f, IOVA_OFF, 0, f.g.mem.size, VHU_ACCESS_RO);
	vqt_frame(frame, sizeof(frame), 4);
	m = rte_pktmbuf_alloc(vqt_init());
	memcpy(rte_pktmbuf_append(m, sizeof(frame)), frame, sizeof(frame));
	assert_int_equal(vq_enqueue_burst(f.g.vq, &m, 1), 0);
	assert_true(f.g.q.vr.miss_pending);
	assert_int_equal(f.g.q.vr.miss_perm, VHU_ACCESS_WO);
	assert_int_equal(vq_stats(f.g.vq)->drops[VQ_DROP_NO_BUFFER], 1);
	/* Writable now: delivered. */
	f.e[0].perm = VHU_ACCESS_RW;
	f.g.q.vr.miss_pending = false;
	assert_int_equal(vq_enqueue_burst(f.g.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(gd_rx(&f.g.q, &hdr, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	fx_fini(&f);
}

/* With logging on, receive writes are marked at guest physical pages. */
static void
rx_log_marks_guest_physical(void **state)
{
	struct gd_shape one = { .nsegs = 1 };
	uint8_t frame[600], log[8192];
	struct rte_mbuf *m;
	uint64_t page;
	struct fx f;
	int id;

	(void)state;
	fx_init(&f, false);
	memset(log, 0, sizeof(log));
	f.g.q.dp.log_base = log;
	f.g.q.dp.log_size = sizeof(log);
	f.g.q.dp.log_all = true;
	id = gd_rx_post(&f.g.q, 2048, &one);
	assert_true(id >= 0);
	to_iova(&f, id);
	map_all(&f);
	vqt_frame(frame, sizeof(frame), 5);
	m = rte_pktmbuf_alloc(vqt_init());
	memcpy(rte_pktmbuf_append(m, sizeof(frame)), frame, sizeof(frame));
	assert_int_equal(vq_enqueue_burst(f.g.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	page = f.g.q.bufs[id].gpa[0] / PAGE;
	assert_true(log[page / 8] & (1u << (page % 8)));
	/* The IOVA's page would be far outside this log: nothing lost. */
	assert_int_equal(f.g.q.dp.log_dropped, 0);
	fx_fini(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tx_through_iotlb_split),
		cmocka_unit_test(tx_through_iotlb_packed),
		cmocka_unit_test(tx_across_scattered_pages),
		cmocka_unit_test(rx_needs_write_permission),
		cmocka_unit_test(rx_log_marks_guest_physical),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
