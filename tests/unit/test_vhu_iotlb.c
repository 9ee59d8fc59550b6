/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device IOTLB (VIRTIO_F_IOMMU_PLATFORM): IOTLB_MSG update and
 * invalidate as the data path sees them through vhu_dp_translate
 * (permissions, bounds, partial invalidation, replacement), the message's
 * rules, rings whose addresses are IOVAs (misses sent on the back-end
 * channel, the ring starting once the front-end answers and stopping when
 * its translation goes), memory table changes, and the table's bound.
 * IOTLB payloads are built from the spec's layout: iova, size, uaddr
 * (u64 each), perm (u8), type (u8), padded to 32 bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define MEM_SIZE	(1u << 20)
#define IOVA		0x40000000ULL	/* where the guest IOMMU maps things */
#define PAGE		0x1000ULL

#define T_MISS		1
#define T_UPDATE	2
#define T_INVALIDATE	3
#define T_ACCESS_FAIL	4
#define RO		1
#define WO		2
#define RW		3

#define IOMMU_F		(VHU_BIT(VHU_F_PROTOCOL_FEATURES) | \
			 VHU_BIT(VHU_F_VERSION_1) | \
			 VHU_BIT(VHU_F_ACCESS_PLATFORM))
#define IOMMU_PF	(VHU_BIT(VHU_PF_BACKEND_REQ) | \
			 VHU_BIT(VHU_PF_REPLY_ACK))

/* A device with IOMMU_PLATFORM and one region of guest memory at gpa 0. */
static struct fe *
new_fe_features(uint64_t features)
{
	struct fe *fe = fe_new_negotiated(features, IOMMU_PF);

	assert_non_null(fe_add_region(fe, 0, MEM_SIZE));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	assert_true(vhu_dev_connected(fe->dev));
	return fe;
}

static struct fe *
iommu_fe(void)
{
	return new_fe_features(IOMMU_F);
}

static struct vhu_dp *
dp_of(struct fe *fe)
{
	return vhu_dev_dp(fe->dev);
}

/* Write one IOTLB_MSG without waiting for its reply. */
static void
iotlb_write(struct fe *fe, uint32_t flags, uint8_t type, uint64_t iova,
	    uint64_t size, uint64_t uaddr, uint8_t perm)
{
	uint8_t p[32];

	memset(p, 0, sizeof(p));
	memcpy(p, &iova, 8);
	memcpy(p + 8, &size, 8);
	memcpy(p + 16, &uaddr, 8);
	p[24] = perm;
	p[25] = type;
	assert_int_equal(fe_send(fe, VHU_REQ_IOTLB_MSG, flags, p, sizeof(p),
				 NULL, 0), 0);
}

/* Send an IOTLB_MSG and return its u64 reply, which must come. */
static uint64_t
iotlb_msg(struct fe *fe, uint8_t type, uint64_t iova, uint64_t size,
	  uint64_t uaddr, uint8_t perm)
{
	struct vhu_msg m;

	iotlb_write(fe, VHU_VERSION, type, iova, size, uaddr, perm);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_IOTLB_MSG);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, 8);
	assert_int_equal(m.nfds, 0);
	assert_true(fe_no_reply(fe));
	return m.payload.u64;
}

/* Map [iova, iova + size) to guest memory at gpa. */
static uint64_t
update(struct fe *fe, uint64_t iova, uint64_t size, uint64_t gpa,
       uint8_t perm)
{
	return iotlb_msg(fe, T_UPDATE, iova, size, fe_uva(fe, gpa), perm);
}

static uint64_t
invalidate(struct fe *fe, uint64_t iova, uint64_t size)
{
	return iotlb_msg(fe, T_INVALIDATE, iova, size, 0, 0);
}

/* The device's own mapping of guest memory at gpa (not the front-end's). */
static void *
hva_of(struct fe *fe, uint64_t gpa, uint64_t len)
{
	return vhu_uva_to_hva(dp_of(fe)->mem, fe_uva(fe, gpa), len);
}

static void *
tr(struct fe *fe, uint64_t iova, uint64_t len, uint8_t perm)
{
	return vhu_dp_translate(dp_of(fe), iova, len, perm);
}

static void
update_translates(void **state)
{
	struct fe *fe = iommu_fe();
	uint8_t *p;

	(void)state;
	assert_true(dp_of(fe)->iommu);
	assert_int_equal(update(fe, IOVA, 2 * PAGE, 0x3000, RW), 0);
	p = tr(fe, IOVA + 0x10, 16, RO);
	assert_non_null(p);
	assert_ptr_equal(p, hva_of(fe, 0x3010, 16));
	/* It aliases the front-end's memory, both ways. */
	memcpy(fe_ptr(fe, 0x3010), "from the guest", 15);
	assert_memory_equal(p, "from the guest", 15);
	memcpy(p, "from the device", 16);
	assert_memory_equal(fe_ptr(fe, 0x3010), "from the device", 16);
	/* The whole entry, and its last byte. */
	assert_ptr_equal(tr(fe, IOVA, 2 * PAGE, RW), hva_of(fe, 0x3000, 1));
	assert_ptr_equal(tr(fe, IOVA + 2 * PAGE - 1, 1, WO),
			 hva_of(fe, 0x4fff, 1));
	/* Unmapped IOVAs do not translate. */
	assert_null(tr(fe, 0x3000, 16, RO));
	assert_null(tr(fe, IOVA + 2 * PAGE, 1, RO));
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

/* IOTLB_MSG always has its u64 reply; need_reply adds no second one. */
static void
iotlb_msg_always_answered(void **state)
{
	struct fe *fe = iommu_fe();
	struct vhu_msg m;

	(void)state;
	iotlb_write(fe, VHU_VERSION | VHU_FLAG_NEED_REPLY, T_UPDATE, IOVA,
		    PAGE, fe_uva(fe, 0), RO);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_IOTLB_MSG);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, 8);
	assert_int_equal(m.payload.u64, 0);
	assert_true(fe_no_reply(fe));
	/* Without need_reply (checked in iotlb_msg) and for invalidate. */
	assert_int_equal(invalidate(fe, IOVA, PAGE), 0);
	/* Invalidating what is not there succeeds too. */
	assert_int_equal(invalidate(fe, IOVA, PAGE), 0);
	fe_free(fe);
}

static void
permissions(void **state)
{
	struct fe *fe = iommu_fe();

	(void)state;
	assert_int_equal(update(fe, IOVA, PAGE, 0, RO), 0);
	assert_int_equal(update(fe, IOVA + PAGE, PAGE, PAGE, WO), 0);
	assert_int_equal(update(fe, IOVA + 2 * PAGE, PAGE, 2 * PAGE, RW), 0);
	/* Read-only refuses writes. */
	assert_non_null(tr(fe, IOVA, 8, RO));
	assert_null(tr(fe, IOVA, 8, WO));
	assert_null(tr(fe, IOVA, 8, RW));
	/* Write-only refuses reads. */
	assert_null(tr(fe, IOVA + PAGE, 8, RO));
	assert_non_null(tr(fe, IOVA + PAGE, 8, WO));
	assert_null(tr(fe, IOVA + PAGE, 8, RW));
	/* Read-write allows either. */
	assert_non_null(tr(fe, IOVA + 2 * PAGE, 8, RO));
	assert_non_null(tr(fe, IOVA + 2 * PAGE, 8, WO));
	assert_non_null(tr(fe, IOVA + 2 * PAGE, 8, RW));
	fe_free(fe);
}

static void
bounds(void **state)
{
	struct fe *fe = iommu_fe();

	(void)state;
	assert_int_equal(update(fe, IOVA, PAGE, 0x10000, RW), 0);
	assert_non_null(tr(fe, IOVA + PAGE - 16, 16, RO));
	assert_null(tr(fe, IOVA + PAGE - 16, 17, RO));	/* leaves the end */
	assert_null(tr(fe, IOVA - 8, 16, RO));		/* starts before */
	assert_null(tr(fe, IOVA + PAGE, 1, RO));
	assert_null(tr(fe, IOVA, UINT64_MAX, RO));
	/*
	 * Adjacent entries whose host addresses follow on serve a range
	 * across them (the front-end answers misses a page at a time)...
	 */
	assert_int_equal(update(fe, IOVA + PAGE, PAGE, 0x11000, RW), 0);
	assert_non_null(tr(fe, IOVA + PAGE, PAGE, RO));
	assert_ptr_equal(tr(fe, IOVA + PAGE - 8, 16, RO),
			 (uint8_t *)tr(fe, IOVA, 1, RO) + PAGE - 8);
	assert_non_null(tr(fe, IOVA, 2 * PAGE, RO));
	assert_null(tr(fe, IOVA, 2 * PAGE + 1, RO));
	/* ...as long as each grants the access... */
	assert_int_equal(update(fe, IOVA + 2 * PAGE, PAGE, 0x12000, RO), 0);
	assert_non_null(tr(fe, IOVA + 2 * PAGE - 8, 16, RO));
	assert_null(tr(fe, IOVA + 2 * PAGE - 8, 16, WO));
	/* ...but not when the next page lives elsewhere on the host. */
	assert_int_equal(update(fe, IOVA + 3 * PAGE, PAGE, 0x20000, RW), 0);
	assert_non_null(tr(fe, IOVA + 3 * PAGE, 8, RO));
	assert_null(tr(fe, IOVA + 3 * PAGE - 8, 16, RO));
	fe_free(fe);
}

static void
invalidate_whole_head_tail(void **state)
{
	struct fe *fe = iommu_fe();

	(void)state;
	/* Whole. */
	assert_int_equal(update(fe, IOVA, 4 * PAGE, 0x20000, RW), 0);
	assert_int_equal(invalidate(fe, IOVA, 4 * PAGE), 0);
	assert_null(tr(fe, IOVA, 1, RO));
	assert_null(tr(fe, IOVA + 3 * PAGE, 1, RO));
	assert_int_equal(dp_of(fe)->iotlb->n, 0);

	/* Head: the rest still maps where it did. */
	assert_int_equal(update(fe, IOVA, 4 * PAGE, 0x20000, RW), 0);
	assert_int_equal(invalidate(fe, IOVA, PAGE), 0);
	assert_null(tr(fe, IOVA, 1, RO));
	assert_null(tr(fe, IOVA + PAGE - 1, 1, RO));
	assert_ptr_equal(tr(fe, IOVA + PAGE, 3 * PAGE, RW),
			 hva_of(fe, 0x21000, 1));

	/* Tail. */
	assert_int_equal(invalidate(fe, IOVA + 3 * PAGE, PAGE), 0);
	assert_null(tr(fe, IOVA + 3 * PAGE, 1, RO));
	assert_ptr_equal(tr(fe, IOVA + PAGE, 2 * PAGE, RW),
			 hva_of(fe, 0x21000, 1));
	assert_null(tr(fe, IOVA + PAGE, 2 * PAGE + 1, RW));

	/* A range overlapping the entry's head from below. */
	assert_int_equal(invalidate(fe, IOVA, PAGE + 0x800), 0);
	assert_null(tr(fe, IOVA + PAGE + 0x7ff, 1, RO));
	assert_ptr_equal(tr(fe, IOVA + PAGE + 0x800, 1, RO),
			 hva_of(fe, 0x21800, 1));
	assert_int_equal(dp_of(fe)->iotlb->n, 1);
	fe_free(fe);
}

/* Invalidating the middle of an entry splits it in two. */
static void
invalidate_middle_splits(void **state)
{
	struct fe *fe = iommu_fe();

	(void)state;
	assert_int_equal(update(fe, IOVA, 4 * PAGE, 0x20000, RO), 0);
	assert_int_equal(invalidate(fe, IOVA + PAGE, PAGE), 0);
	assert_int_equal(dp_of(fe)->iotlb->n, 2);
	assert_ptr_equal(tr(fe, IOVA, PAGE, RO), hva_of(fe, 0x20000, 1));
	assert_null(tr(fe, IOVA, PAGE + 1, RO));
	assert_null(tr(fe, IOVA + PAGE, 1, RO));
	assert_null(tr(fe, IOVA + 2 * PAGE - 1, 1, RO));
	assert_ptr_equal(tr(fe, IOVA + 2 * PAGE, 2 * PAGE, RO),
			 hva_of(fe, 0x22000, 1));
	/* Both halves keep the permissions of the entry. */
	assert_null(tr(fe, IOVA, 1, WO));
	assert_null(tr(fe, IOVA + 2 * PAGE, 1, WO));

	/* One invalidation across several entries and the gap between. */
	assert_int_equal(invalidate(fe, IOVA + 0x800, 2 * PAGE), 0);
	assert_non_null(tr(fe, IOVA + 0x7ff, 1, RO));
	assert_null(tr(fe, IOVA + 0x800, 1, RO));
	assert_null(tr(fe, IOVA + 2 * PAGE + 0x7ff, 1, RO));
	assert_ptr_equal(tr(fe, IOVA + 2 * PAGE + 0x800, 1, RO),
			 hva_of(fe, 0x22800, 1));
	fe_free(fe);
}

/* An update over part of an entry replaces that range only. */
static void
update_replaces_overlap(void **state)
{
	struct fe *fe = iommu_fe();

	(void)state;
	assert_int_equal(update(fe, IOVA, 4 * PAGE, 0x20000, RO), 0);
	assert_int_equal(update(fe, IOVA + PAGE, PAGE, 0x80000, RW), 0);
	assert_int_equal(dp_of(fe)->iotlb->n, 3);
	assert_ptr_equal(tr(fe, IOVA + PAGE, PAGE, RW),
			 hva_of(fe, 0x80000, 1));
	assert_ptr_equal(tr(fe, IOVA, PAGE, RO), hva_of(fe, 0x20000, 1));
	assert_null(tr(fe, IOVA, 1, WO));
	assert_ptr_equal(tr(fe, IOVA + 2 * PAGE, 2 * PAGE, RO),
			 hva_of(fe, 0x22000, 1));
	/* An update covering them all leaves one entry. */
	assert_int_equal(update(fe, IOVA - PAGE, 6 * PAGE, 0x40000, WO), 0);
	assert_int_equal(dp_of(fe)->iotlb->n, 1);
	assert_ptr_equal(tr(fe, IOVA + PAGE, 1, WO), hva_of(fe, 0x42000, 1));
	assert_null(tr(fe, IOVA + PAGE, 1, RO));
	fe_free(fe);
}

/* A uaddr outside the memory table is refused softly. */
static void
update_outside_memory(void **state)
{
	struct fe *fe = iommu_fe();
	uint64_t end = fe_uva(fe, 0) + MEM_SIZE;

	(void)state;
	assert_int_not_equal(iotlb_msg(fe, T_UPDATE, IOVA, PAGE, end, RW), 0);
	/* Starting inside, ending outside. */
	assert_int_not_equal(iotlb_msg(fe, T_UPDATE, IOVA, 2 * PAGE,
				       end - PAGE, RW), 0);
	assert_int_not_equal(iotlb_msg(fe, T_UPDATE, IOVA, PAGE, 0x1000, RW),
			     0);
	assert_null(tr(fe, IOVA, 1, RO));
	assert_int_equal(dp_of(fe)->iotlb->n, 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	/* And the connection goes on. */
	assert_int_equal(update(fe, IOVA, PAGE, 0, RW), 0);
	assert_non_null(tr(fe, IOVA, 1, RW));
	fe_free(fe);
}

static void
invalid_messages(void **state)
{
	static const struct {
		const char *what;
		uint8_t type;
		uint64_t iova, size;
		uint8_t perm;
	} bad[] = {
		{ "perm 0", T_UPDATE, IOVA, PAGE, 0 },
		{ "perm 4", T_UPDATE, IOVA, PAGE, 4 },
		{ "miss", T_MISS, IOVA, PAGE, RW },
		{ "access fail", T_ACCESS_FAIL, IOVA, PAGE, RW },
		{ "type 0", 0, IOVA, PAGE, RW },
		{ "type 5", 5, IOVA, PAGE, RW },
		{ "update size 0", T_UPDATE, IOVA, 0, RW },
		{ "invalidate size 0", T_INVALIDATE, IOVA, 0, 0 },
		{ "wraps", T_UPDATE, UINT64_MAX - PAGE + 2, PAGE, RW },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fe *fe = iommu_fe();

		print_message("# %s\n", bad[i].what);
		iotlb_write(fe, VHU_VERSION, bad[i].type, bad[i].iova,
			    bad[i].size, fe_uva(fe, 0), bad[i].perm);
		fe_assert_violation(fe, VHU_RULE_VALUE);
		fe_free(fe);
	}
}

static void
iotlb_needs_iommu_platform(void **state)
{
	struct fe *fe = new_fe_features(IOMMU_F &
					~VHU_BIT(VHU_F_ACCESS_PLATFORM));

	(void)state;
	assert_false(dp_of(fe)->iommu);
	iotlb_write(fe, VHU_VERSION, T_UPDATE, IOVA, PAGE, fe_uva(fe, 0), RW);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);
}

/* Without IOMMU_PLATFORM descriptor addresses are guest physical. */
static void
translate_without_iommu(void **state)
{
	struct fe *fe = fe_new();
	struct vhu_dp *dp;
	uint8_t *p;

	(void)state;
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1), IOMMU_PF);
	assert_non_null(fe_add_region(fe, 0x100000, MEM_SIZE));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	dp = vhu_dev_dp(fe->dev);
	assert_false(dp->iommu);
	p = vhu_dp_translate(dp, 0x100010, 16, RW);
	assert_ptr_equal(p, vhu_gpa_to_hva(dp->mem, 0x100010, 16));
	memcpy(fe_ptr(fe, 0x100010), "guest physical", 15);
	assert_memory_equal(p, "guest physical", 15);
	/* The permission is not an IOMMU's to check here. */
	assert_ptr_equal(vhu_dp_translate(dp, 0x100010, 16, RO), p);
	assert_null(vhu_dp_translate(dp, 0x0ff000, 16, RO));
	assert_null(vhu_dp_translate(dp, 0x100000 + MEM_SIZE - 8, 16, RO));
	assert_null(vhu_dp_translate(dp, IOVA, 16, RO));
	fe_free(fe);
}

/* One back-end IOTLB message as the spec lays it out. */
struct miss {
	uint64_t iova;
	uint8_t perm;
	uint8_t type;
};

/* Read every waiting back-end request: all must be IOTLB misses. */
static unsigned int
read_misses(struct fe_bchan *b, struct miss *out, unsigned int max)
{
	unsigned int n = 0;
	struct vhu_msg m;
	int rc;

	while ((rc = fe_recv_on(b->sock, &m)) != 0) {
		const uint8_t *p = m.payload.raw;

		/* A whole message, header and 32-byte payload. */
		assert_int_equal(rc, 1);
		assert_int_equal(m.hdr.request, 1);	/* IOTLB_MSG */
		assert_int_equal(m.hdr.flags & 0x3, 1);
		assert_int_equal(m.hdr.flags & 0x4, 0);
		assert_int_equal(m.hdr.size, 32);
		assert_int_equal(m.nfds, 0);
		assert_true(n < max);
		memcpy(&out[n].iova, p, 8);
		out[n].perm = p[24];
		out[n].type = p[25];
		n++;
	}
	return n;
}

static bool
has_miss(const struct miss *m, unsigned int n, uint64_t iova, uint8_t perm)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (m[i].iova == iova && m[i].perm == perm &&
		    m[i].type == T_MISS)
			return true;
	return false;
}

/* Ring 0 at gpa 0x10000 (split, 256): IOVA + gpa in the guest's view. */
#define RING_GPA	0x10000

static void
ring_setup_iova(struct fe *fe, struct fe_ring *r)
{
	fe_ring_layout(r, RING_GPA, 256, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, r->size, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, 0, false);
	assert_int_equal(fe_vring_addr(fe, 0, 0, IOVA + r->desc,
				       IOVA + r->avail, IOVA + r->used, 0), 0);
	assert_int_equal(fe_set_state(fe, VHU_REQ_SET_VRING_ENABLE, 0, 1,
				      true), 0);
	assert_true(vhu_dev_connected(fe->dev));
}

/*
 * A kicked ring whose IOVAs are not in the IOTLB asks for them with
 * back-end misses and waits; the updates start it; an invalidation under
 * it stops it and asks again.
 */
static void
ring_waits_for_iotlb(void **state)
{
	struct fe *fe = iommu_fe();
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);
	struct miss m[16];
	struct fe_ring r;
	struct fe_bchan b;
	unsigned int n, changes;

	(void)state;
	fe_bchan_open(fe, &b);
	ring_setup_iova(fe, &r);
	changes = fe->state_changes;
	/* Polling mode: the kick is the invalid-fd flag. */
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, true),
			 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, changes);
	n = read_misses(&b, m, 16);
	assert_true(n >= 3);
	assert_true(has_miss(m, n, IOVA + r.desc, RO));
	assert_true(has_miss(m, n, IOVA + r.avail, RO));
	assert_true(has_miss(m, n, IOVA + r.used, RW));

	/* Only the descriptors: still waiting, asking for the rest. */
	assert_int_equal(update(fe, IOVA + r.desc, 16 * 256, r.desc, RO), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	n = read_misses(&b, m, 16);
	assert_false(has_miss(m, n, IOVA + r.desc, RO));
	assert_true(has_miss(m, n, IOVA + r.used, RW));

	/* The rest, read-write: the ring starts, enabled. */
	assert_int_equal(update(fe, IOVA + r.avail, r.used + PAGE - r.avail,
				r.avail, RW), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state[0], VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, changes + 1);
	assert_ptr_equal(vr->desc, hva_of(fe, r.desc, 1));
	assert_ptr_equal(vr->avail, hva_of(fe, r.avail, 1));
	assert_ptr_equal(vr->used, hva_of(fe, r.used, 1));
	assert_int_equal(read_misses(&b, m, 16), 0);

	/* The used ring's translation goes: the ring stops, and asks. */
	assert_int_equal(invalidate(fe, IOVA + r.used, PAGE), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	n = read_misses(&b, m, 16);
	assert_true(has_miss(m, n, IOVA + r.used, RW));
	assert_true(vhu_dev_connected(fe->dev));

	/* Answered: running again. */
	assert_int_equal(update(fe, IOVA + r.used, PAGE, r.used, RW), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	/* An invalidation elsewhere leaves it alone. */
	changes = fe->state_changes;
	assert_int_equal(update(fe, IOVA + 0x80000, PAGE, 0x80000, RW), 0);
	assert_int_equal(invalidate(fe, IOVA + 0x80000, PAGE), 0);
	assert_int_equal(fe->state_changes, changes);
	assert_int_equal(read_misses(&b, m, 16), 0);
	fe_bchan_close(&b);
	fe_free(fe);
}

/* A read-only translation is not enough for the used ring. */
static void
ring_used_needs_write(void **state)
{
	struct fe *fe = iommu_fe();
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);
	struct miss m[16];
	struct fe_ring r;
	struct fe_bchan b;
	unsigned int n;

	(void)state;
	fe_bchan_open(fe, &b);
	ring_setup_iova(fe, &r);
	assert_int_equal(update(fe, IOVA + r.desc, r.used + PAGE - r.desc,
				r.desc, RO), 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, true),
			 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	n = read_misses(&b, m, 16);
	assert_true(has_miss(m, n, IOVA + r.used, RW));
	assert_false(has_miss(m, n, IOVA + r.desc, RO));
	assert_int_equal(update(fe, IOVA + r.used, PAGE, r.used, RW), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	fe_bchan_close(&b);
	fe_free(fe);
}

/*
 * A ring whose areas span several pages (split, 1024 entries: 16 KiB of
 * descriptors), against a front-end that answers each miss with an
 * update of exactly the 4 KiB page asked for, as QEMU does: every miss
 * names the first page still missing, so the ring starts after a few
 * rounds, translated across the adjacent entries.
 */
static void
ring_spanning_pages_starts(void **state)
{
	struct fe *fe = iommu_fe();
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);
	struct fe_bchan b;
	struct fe_ring r;
	struct vhu_msg m;
	unsigned int round, updates = 0;
	int rc;

	(void)state;
	fe_bchan_open(fe, &b);
	fe_ring_layout(&r, RING_GPA, 1024, false);	/* desc: 4 pages */
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, r.size, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, 0, false);
	assert_int_equal(fe_vring_addr(fe, 0, 0, IOVA + r.desc,
				       IOVA + r.avail, IOVA + r.used, 0), 0);
	assert_int_equal(fe_set_state(fe, VHU_REQ_SET_VRING_ENABLE, 0, 1,
				      true), 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, true),
			 0);
	/*
	 * A round: read the misses waiting, then answer each page asked
	 * for once. What the answers make the device ask goes to the next.
	 */
	for (round = 0; round < 20 && vhu_vring_state(vr) ==
	     VHU_RING_STOPPED; round++) {
		struct miss ask[32];
		unsigned int n = 0, i, j;

		while ((rc = fe_recv_on(b.sock, &m)) == 1) {
			struct miss q;

			assert_int_equal(m.hdr.request, 1);	/* IOTLB_MSG */
			assert_int_equal(m.hdr.size, 32);
			memcpy(&q.iova, m.payload.raw, 8);
			q.iova &= ~(PAGE - 1);
			q.perm = m.payload.raw[24];
			q.type = m.payload.raw[25];
			assert_int_equal(q.type, T_MISS);
			assert_true(q.iova >= IOVA + r.desc &&
				    q.iova < IOVA + r.used + 3 * PAGE);
			for (j = 0; j < n && (ask[j].iova != q.iova ||
					      ask[j].perm != q.perm); j++)
				;
			if (j == n) {
				assert_true(n < 32);
				ask[n++] = q;
			}
		}
		assert_int_equal(rc, 0);
		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			assert_int_equal(update(fe, ask[i].iova, PAGE,
						ask[i].iova - IOVA,
						ask[i].perm), 0);
			updates++;
		}
		assert_true(vhu_dev_connected(fe->dev));
	}
	print_message("# %u rounds, %u updates\n", round, updates);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_ptr_equal(vr->desc, hva_of(fe, r.desc, 16 * 1024));
	assert_ptr_equal(vr->avail, hva_of(fe, r.avail, 1));
	assert_ptr_equal(vr->used, hva_of(fe, r.used, 1));
	/* The last descriptor is the guest's, through the device's pointer. */
	fe_ptr(fe, r.desc + 16 * 1023)[0] = 0x5c;
	assert_int_equal(((uint8_t *)vr->desc)[16 * 1023], 0x5c);
	fe_bchan_close(&b);
	fe_free(fe);
}

/* SET_MEM_TABLE of one region at gpa 0 with our own uva and fd. */
static void
send_table(struct fe *fe, uint64_t uva, uint64_t size, int fd)
{
	struct vhu_mem_table t;
	struct vhu_msg m;

	memset(&t, 0, sizeof(t));
	t.nregions = 1;
	t.regions[0].guest_phys_addr = 0;
	t.regions[0].memory_size = size;
	t.regions[0].userspace_addr = uva;
	t.regions[0].mmap_offset = 0;
	assert_int_equal(fe_send(fe, VHU_REQ_SET_MEM_TABLE,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, &t,
				 (uint32_t)(offsetof(struct vhu_mem_table,
						     regions) +
					    sizeof(t.regions[0])), &fd, 1), 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_SET_MEM_TABLE);
	assert_int_equal(m.payload.u64, 0);
}

/*
 * A new memory table re-resolves every entry by its user address: same
 * addresses over a new file translate into the new file; entries whose
 * user address is no longer mapped are dropped.
 */
static void
mem_table_change_remaps(void **state)
{
	struct fe *fe = iommu_fe();
	uint64_t uva = fe_uva(fe, 0);
	uint8_t *va2, *p;
	int fd2;

	(void)state;
	assert_int_equal(update(fe, IOVA, PAGE, 0x1000, RW), 0);
	assert_int_equal(update(fe, IOVA + 0x10000, PAGE, 0x8000, RO), 0);
	memcpy(fe_ptr(fe, 0x1000), "old", 4);
	assert_memory_equal(tr(fe, IOVA, 4, RO), "old", 4);

	fd2 = fe_memfd(MEM_SIZE, &va2);
	assert_true(fd2 >= 0);
	memcpy(va2 + 0x1000, "new", 4);
	memcpy(va2 + 0x8000, "eight", 6);
	send_table(fe, uva, MEM_SIZE, fd2);
	assert_int_equal(dp_of(fe)->iotlb->n, 2);
	p = tr(fe, IOVA, 4, RW);
	assert_non_null(p);
	assert_memory_equal(p, "new", 4);
	memcpy(p, "xyz", 4);
	assert_memory_equal(va2 + 0x1000, "xyz", 4);
	assert_memory_equal(fe_ptr(fe, 0x1000), "old", 4);
	assert_memory_equal(tr(fe, IOVA + 0x10000, 6, RO), "eight", 6);
	assert_null(tr(fe, IOVA + 0x10000, 6, WO));

	/* A smaller region: the entry at 0x8000 has nothing under it. */
	send_table(fe, uva, 0x4000, fd2);
	assert_int_equal(dp_of(fe)->iotlb->n, 1);
	assert_null(tr(fe, IOVA + 0x10000, 1, RO));
	assert_memory_equal(tr(fe, IOVA, 4, RO), "xyz", 4);

	/* Another user address altogether: nothing is left. */
	send_table(fe, uva + MEM_SIZE, 0x4000, fd2);
	assert_int_equal(dp_of(fe)->iotlb->n, 0);
	assert_null(tr(fe, IOVA, 1, RO));
	assert_true(vhu_dev_connected(fe->dev));
	munmap(va2, MEM_SIZE);
	close(fd2);
	fe_free(fe);
}

/* 3000 distinct pages: the table stays bounded; the newest translates. */
static void
many_entries_bounded(void **state)
{
	struct fe *fe = iommu_fe();
	const struct vhu_iotlb *t = dp_of(fe)->iotlb;
	unsigned int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		uint64_t gpa = (uint64_t)(i % 256) * PAGE;

		assert_int_equal(update(fe, IOVA + i * PAGE, PAGE, gpa, RO),
				 0);
		assert_true(t->n <= 2048);
		assert_ptr_equal(tr(fe, IOVA + i * PAGE + 8, 8, RO),
				 hva_of(fe, gpa + 8, 8));
	}
	assert_true(t->cap <= 2048);
	assert_true(t->n > 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

/*
 * With the table full, invalidating the middle of an entry (which would
 * split it) must still remove the range: a failed invalidation leaves a
 * translation the guest's IOMMU revoked. Dropping more than asked is
 * always safe; misses refill it.
 */
static void
invalidate_when_full(void **state)
{
	struct fe *fe = *state;
	const struct vhu_iotlb *t = dp_of(fe)->iotlb;
	uint64_t big = IOVA + 0x10000000ULL, big2 = big + 0x100000;
	unsigned int i;

	(void)state;
	assert_int_equal(update(fe, big, 4 * PAGE, 0x40000, RW), 0);
	assert_int_equal(update(fe, big2, 4 * PAGE, 0x50000, RW), 0);
	for (i = 0; t->n < 2048; i++)
		assert_int_equal(update(fe, IOVA + i * PAGE, PAGE, 0, RO), 0);
	assert_non_null(tr(fe, big + PAGE, 1, RO));
	assert_int_equal(invalidate(fe, big + PAGE, PAGE), 0);
	assert_null(tr(fe, big + PAGE, 1, RO));
	assert_null(tr(fe, big + 2 * PAGE - 1, 1, RO));
	/*
	 * Full again: an update over the middle of an entry replaces that
	 * range, or the old translation would stay under the new IOVA.
	 */
	for (; t->n < 2048; i++)
		assert_int_equal(update(fe, IOVA + i * PAGE, PAGE, 0, RO), 0);
	assert_ptr_equal(tr(fe, big2 + PAGE, 1, RO), hva_of(fe, 0x51000, 1));
	assert_int_equal(update(fe, big2 + PAGE, PAGE, 0x90000, RW), 0);
	assert_ptr_equal(tr(fe, big2 + PAGE, 1, RO), hva_of(fe, 0x90000, 1));
	assert_true(t->n <= 2048);
}

/*
 * With the table full of older entries, the front-end answers two misses
 * for one descriptor chain (two pages): both must translate afterwards.
 * Evicting the entry installed just before would leave the chain never
 * translatable as a whole, however often the misses are answered.
 */
static void
full_table_keeps_recent_entries(void **state)
{
	struct fe *fe = *state;
	const struct vhu_iotlb *t = dp_of(fe)->iotlb;
	uint64_t x = IOVA + 0x10000000ULL, y = x + 0x100000;
	unsigned int i, round;

	for (i = 0; t->n < 2048; i++)
		assert_int_equal(update(fe, IOVA + i * PAGE, PAGE, 0, RO), 0);
	for (round = 0; round < 2; round++) {
		assert_int_equal(update(fe, x, PAGE, 0x1000, RW), 0);
		assert_int_equal(update(fe, y, PAGE, 0x2000, RW), 0);
		assert_true(t->n <= 2048);
		assert_ptr_equal(tr(fe, y, PAGE, RW), hva_of(fe, 0x2000, 1));
		assert_ptr_equal(tr(fe, x, PAGE, RW), hva_of(fe, 0x1000, 1));
		/* Descending order too. */
		x += 0x200000;
		y = x - 0x80000;
	}
}

/* For tests that may fail half-way: the device is freed either way. */
static int
setup_fe(void **state)
{
	*state = iommu_fe();
	return 0;
}

static int
teardown_fe(void **state)
{
	fe_free(*state);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(update_translates),
		cmocka_unit_test(iotlb_msg_always_answered),
		cmocka_unit_test(permissions),
		cmocka_unit_test(bounds),
		cmocka_unit_test(invalidate_whole_head_tail),
		cmocka_unit_test(invalidate_middle_splits),
		cmocka_unit_test(update_replaces_overlap),
		cmocka_unit_test(update_outside_memory),
		cmocka_unit_test(invalid_messages),
		cmocka_unit_test(iotlb_needs_iommu_platform),
		cmocka_unit_test(translate_without_iommu),
		cmocka_unit_test(ring_waits_for_iotlb),
		cmocka_unit_test(ring_used_needs_write),
		cmocka_unit_test(ring_spanning_pages_starts),
		cmocka_unit_test(mem_table_change_remaps),
		cmocka_unit_test(many_entries_bounded),
		cmocka_unit_test_setup_teardown(invalidate_when_full,
						setup_fe, teardown_fe),
		cmocka_unit_test_setup_teardown(full_table_keeps_recent_entries,
						setup_fe, teardown_fe),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
