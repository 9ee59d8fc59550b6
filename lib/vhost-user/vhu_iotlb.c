/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device IOTLB for VIRTIO_F_IOMMU_PLATFORM: IOTLB_MSG update and
 * invalidate from the front-end, and I/O virtual address translation for
 * the data path. Entries are kept sorted and disjoint, and each is
 * resolved to a host address when installed (it must lie inside a mapped
 * memory region), so a lookup is one binary search, plus a walk when a
 * range spans adjacent entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhu_internal.h"

#define VHU_IOTLB_MAX	2048

void
vhu_iotlb_reset(struct vhu_iotlb *t)
{
	t->n = 0;
}

/* Index of the first entry whose end is above iova. */
static uint32_t
lower_bound(const struct vhu_iotlb *t, uint64_t iova)
{
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		const struct vhu_iotlb_entry *e = &t->e[mid];

		if (e->iova + e->size - 1 < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Translate [iova, iova + len) through one entry or a run of adjacent
 * entries whose host addresses follow on (QEMU answers misses a page at
 * a time, so a ring or buffer often spans several). On failure *miss is
 * the first I/O address not covered with the permissions asked for, to
 * ask the front-end about, or UINT64_MAX when asking would not help (host
 * addresses not contiguous, a range that wraps).
 */
void *
vhu_iotlb_translate_miss(const struct vhu_iotlb *t, uint64_t iova,
			 uint64_t len, uint8_t perm, uint64_t *miss)
{
	uint64_t need, last;
	uint32_t i = lower_bound(t, iova);
	const struct vhu_iotlb_entry *e;
	uint8_t *hva, *next;

	*miss = UINT64_MAX;
	if (len == 0 || iova > UINT64_MAX - (len - 1))
		return NULL;
	need = iova + (len - 1);
	if (i == t->n || t->e[i].iova > iova) {
		*miss = iova;
		return NULL;
	}
	e = &t->e[i];
	if ((e->perm & perm) != perm) {
		*miss = iova;
		return NULL;
	}
	hva = e->hva + (iova - e->iova);
	last = e->iova + (e->size - 1);
	next = e->hva + e->size;
	while (last < need) {
		e = ++i < t->n ? &t->e[i] : NULL;
		if (e == NULL || e->iova != last + 1 ||
		    (e->perm & perm) != perm) {
			*miss = last + 1;
			return NULL;
		}
		if (e->hva != next)
			return NULL;
		last += e->size;
		next += e->size;
	}
	return hva;
}

void *
vhu_iotlb_translate(const struct vhu_iotlb *t, uint64_t iova, uint64_t len,
		    uint8_t perm)
{
	uint64_t miss;

	return vhu_iotlb_translate_miss(t, iova, len, perm, &miss);
}

void *
vhu_dp_translate_part(const struct vhu_dp *dp, uint64_t addr, uint64_t len,
		      uint8_t perm, uint64_t *got)
{
	const struct vhu_iotlb_entry *e;
	uint64_t room;
	uint32_t i;

	if (len == 0)
		return NULL;
	if (!dp->iommu) {
		const struct vhu_mem_region *r;

		if (dp->mem == NULL)
			return NULL;
		r = vhu_mem_find_gpa(dp->mem, addr);
		if (r == NULL)
			return NULL;
		room = r->size - (addr - r->gpa);
		*got = len < room ? len : room;
		return r->hva + (addr - r->gpa);
	}
	i = lower_bound(dp->iotlb, addr);
	if (i == dp->iotlb->n)
		return NULL;
	e = &dp->iotlb->e[i];
	if (e->iova > addr || (e->perm & perm) != perm)
		return NULL;
	room = e->size - (addr - e->iova);
	*got = len < room ? len : room;
	return e->hva + (addr - e->iova);
}

void *
vhu_dp_translate_miss(const struct vhu_dp *dp, uint64_t addr, uint64_t len,
		      uint8_t perm, uint32_t *hint)
{
	const struct vhu_mem *m = dp->mem;	/* read once: it may change */
	const struct vhu_mem_region *r;

	if (dp->iommu)
		return vhu_dp_translate_iommu(dp, addr, len, perm);
	r = vhu_mem_find_range(m, addr, len);
	if (r == NULL)
		return NULL;
	*hint = (uint32_t)(r - m->regions);
	return r->hva + (addr - r->gpa);
}

void *
vhu_dp_translate_iommu(const struct vhu_dp *dp, uint64_t addr, uint64_t len,
		       uint8_t perm)
{
	return vhu_iotlb_translate(dp->iotlb, addr, len, perm);
}

/* Remove [iova, iova + size) from the table, trimming partial overlaps. */
static int
remove_range(struct vhu_iotlb *t, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	uint32_t i = lower_bound(t, iova);

	while (i < t->n && t->e[i].iova <= last) {
		struct vhu_iotlb_entry *e = &t->e[i];
		uint64_t elast = e->iova + e->size - 1;

		if (e->iova < iova && elast > last && t->n == t->cap) {
			/*
			 * No room to split: drop the whole entry. Removing
			 * more than asked is safe, a miss brings it back.
			 */
			memmove(e, e + 1, (t->n - i - 1) * sizeof(*e));
			t->n--;
			return 0;
		}
		if (e->iova < iova && elast > last) {
			/* Split: keep the head here, insert the tail after. */
			struct vhu_iotlb_entry tail = *e;

			tail.iova = last + 1;
			tail.size = elast - last;
			tail.uva += last + 1 - e->iova;
			tail.hva += last + 1 - e->iova;
			e->size = iova - e->iova;
			memmove(&t->e[i + 2], &t->e[i + 1],
				(t->n - i - 1) * sizeof(*e));
			t->e[i + 1] = tail;
			t->n++;
			return 0;
		}
		if (e->iova < iova) {
			e->size = iova - e->iova;
			i++;
		} else if (elast > last) {
			uint64_t cut = last + 1 - e->iova;

			e->iova += cut;
			e->size -= cut;
			e->uva += cut;
			e->hva += cut;
			i++;
		} else {
			memmove(e, e + 1, (t->n - i - 1) * sizeof(*e));
			t->n--;
		}
	}
	return 0;
}

static int
insert(struct vhu_iotlb *t, const struct vhu_iotlb_entry *ne)
{
	uint32_t i;
	int rc;

	if (t->cap == 0) {
		t->e = calloc(VHU_IOTLB_MAX, sizeof(*t->e));
		if (t->e == NULL)
			return -ENOMEM;
		t->cap = VHU_IOTLB_MAX;
	}
	rc = remove_range(t, ne->iova, ne->size);
	if (rc < 0)
		return rc;
	if (t->n == t->cap) {
		/* Full: drop the oldest entry; a miss brings it back. */
		uint32_t old = 0;

		for (i = 1; i < t->n; i++)
			if (t->e[i].stamp < t->e[old].stamp)
				old = i;
		memmove(&t->e[old], &t->e[old + 1],
			(t->n - old - 1) * sizeof(*ne));
		t->n--;
	}
	i = lower_bound(t, ne->iova);
	memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(*ne));
	t->e[i] = *ne;
	t->e[i].stamp = ++t->clock;
	t->n++;
	return 0;
}

void
vhu_iotlb_remap(struct vhu_iotlb *t, const struct vhu_mem *mem)
{
	uint32_t i = 0;

	while (i < t->n) {
		struct vhu_iotlb_entry *e = &t->e[i];
		void *p = vhu_uva_to_hva(mem, e->uva, e->size);

		if (p == NULL) {
			memmove(e, e + 1, (t->n - i - 1) * sizeof(*e));
			t->n--;
			continue;
		}
		e->hva = p;
		i++;
	}
}

static enum vhu_result
iotlb_update(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_iotlb_msg *m = &msg->payload.iotlb;
	struct vhu_iotlb_entry e;

	if (m->perm == 0 || m->perm > VHU_ACCESS_RW)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "update with permissions %u", m->perm);
	e.hva = vhu_uva_to_hva(dev->mem, m->uaddr, m->size);
	if (e.hva == NULL) {
		VHU_WARN("vhost-user %s: IOTLB update iova 0x%llx size 0x%llx: "
			 "uaddr 0x%llx is outside the memory table", dev->name,
			 (unsigned long long)m->iova,
			 (unsigned long long)m->size,
			 (unsigned long long)m->uaddr);
		return VHU_FAIL;
	}
	e.iova = m->iova;
	e.size = m->size;
	e.uva = m->uaddr;
	e.perm = m->perm;
	if (insert(&dev->iotlb, &e) < 0)
		return VHU_FAIL;
	/* Rings that waited for this translation may start now. */
	return vhu_vrings_retranslate(dev, msg);
}

enum vhu_result
vhu_iotlb_msg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_iotlb_msg *m = &msg->payload.iotlb;

	if (!dev->dp.iommu)
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "VIRTIO_F_IOMMU_PLATFORM is not "
				     "negotiated");
	if (m->size == 0 || m->iova > UINT64_MAX - (m->size - 1))
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "iova 0x%llx size 0x%llx is empty or "
				     "wraps", (unsigned long long)m->iova,
				     (unsigned long long)m->size);
	switch (m->type) {
	case VHU_IOTLB_UPDATE:
		return iotlb_update(dev, msg);
	case VHU_IOTLB_INVALIDATE:
		if (remove_range(&dev->iotlb, m->iova, m->size) < 0)
			return VHU_FAIL;
		return vhu_vrings_retranslate(dev, msg);
	default:
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "IOTLB message type %u is not one a "
				     "front-end sends", m->type);
	}
}
