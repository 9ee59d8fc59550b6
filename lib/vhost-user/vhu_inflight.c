/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inflight I/O tracking (INFLIGHT_SHMFD): GET_INFLIGHT_FD hands out a
 * shared area, SET_INFLIGHT_FD gives one back (possibly filled by an
 * earlier instance), and the functions below follow the spec's
 * procedures for fetching, using and recovering after a reconnect.
 *
 * Front-ends send both messages before SET_FEATURES, when the ring
 * layout is not yet known, so GET sizes the area for the larger (packed)
 * layout and leaves it blank, and the rings attach to it in the layout
 * SET_FEATURES negotiates; blank queue regions are initialized then.
 * The area is shared with the front-end, so every index read from it is
 * bounds-checked against what we know, never against what it says.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhu_internal.h"

#define INFLIGHT_ALIGN		64
#define INFLIGHT_VERSION	1
#define PACKED_DESC_F_AVAIL	(1u << 7)
#define PACKED_DESC_F_USED	(1u << 15)

_Static_assert(sizeof(struct vhu_inflight_split_desc) == 16, "layout");
_Static_assert(offsetof(struct vhu_inflight_split, desc) == 16, "layout");
_Static_assert(sizeof(struct vhu_inflight_packed_desc) == 32, "layout");
_Static_assert(offsetof(struct vhu_inflight_packed, desc) == 32, "layout");

uint64_t
vhu_inflight_queue_size(bool packed, uint16_t queue_size)
{
	uint64_t sz;

	if (packed)
		sz = sizeof(struct vhu_inflight_packed) +
		     (uint64_t)queue_size * sizeof(struct vhu_inflight_packed_desc);
	else
		sz = sizeof(struct vhu_inflight_split) +
		     (uint64_t)queue_size * sizeof(struct vhu_inflight_split_desc);
	return (sz + INFLIGHT_ALIGN - 1) & ~(uint64_t)(INFLIGHT_ALIGN - 1);
}

static bool
dev_packed(const struct vhu_dev *dev)
{
	return (dev->features & VHU_BIT(VHU_F_RING_PACKED)) != 0;
}

static void detach(struct vhu_dev *dev);

void
vhu_inflight_reset(struct vhu_dev *dev)
{
	detach(dev);
	if (dev->inflight_map != NULL)
		munmap(dev->inflight_map, dev->inflight_map_len);
	dev->inflight_map = NULL;
	dev->inflight_map_len = 0;
	dev->inflight_area = NULL;
	dev->inflight_size = 0;
	if (dev->inflight_fd >= 0)
		close(dev->inflight_fd);
	dev->inflight_fd = -1;
	dev->inflight_queues = 0;
	dev->inflight_queue_size = 0;
}

static void
init_split(struct vhu_inflight_split *q, uint16_t qs)
{
	memset(q, 0, vhu_inflight_queue_size(false, qs));
	q->version = INFLIGHT_VERSION;
	q->desc_num = qs;
}

static void
init_packed(struct vhu_inflight_packed *q, uint16_t qs)
{
	uint16_t i;

	memset(q, 0, vhu_inflight_queue_size(true, qs));
	q->version = INFLIGHT_VERSION;
	q->desc_num = qs;
	q->used_wrap_counter = 1;
	q->old_used_wrap_counter = 1;
	for (i = 0; i < qs; i++)
		q->desc[i].next = (uint16_t)(i + 1);
}

static bool
check_geometry(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_inflight_desc *d = &msg->payload.inflight;

	if (d->num_queues == 0 || d->num_queues > dev->nr_vrings ||
	    d->queue_size == 0 || d->queue_size > VHU_MAX_VRING_SIZE) {
		vhu_violation(dev, msg, VHU_RULE_VALUE,
			      "%u queues of size %u (the device has %u rings "
			      "of at most %u)", d->num_queues, d->queue_size,
			      dev->nr_vrings, VHU_MAX_VRING_SIZE);
		return false;
	}
	return true;
}

enum vhu_result
vhu_get_inflight_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_inflight_desc *d = &msg->payload.inflight;
	uint64_t size;
	int fd;

	if (!check_geometry(dev, msg))
		return VHU_ERROR;
	/* Blank (version 0) and big enough for either layout. */
	size = vhu_inflight_queue_size(true, d->queue_size) * d->num_queues;
	fd = memfd_create("vuswitch-inflight", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		if (fd >= 0)
			close(fd);
		return vhu_violation(dev, msg, VHU_RULE_RESOURCE,
				     "no inflight area of %llu bytes: %s",
				     (unsigned long long)size, strerror(errno));
	}
	if (dev->inflight_fd >= 0)
		close(dev->inflight_fd);
	dev->inflight_fd = fd;
	d->mmap_size = size;
	d->mmap_offset = 0;
	vhu_set_reply_fds(dev, &fd, 1);
	return VHU_REPLY;
}

enum vhu_result
vhu_set_inflight_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_inflight_desc *d = &msg->payload.inflight;
	uint64_t per;
	size_t len;
	void *base, *p;

	if (!check_geometry(dev, msg))
		return VHU_ERROR;
	/* At least the smaller layout; attach checks the negotiated one. */
	per = vhu_inflight_queue_size(false, d->queue_size);
	if (d->mmap_size < per * d->num_queues)
		return vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "area of %llu bytes for %u queues of %llu",
				     (unsigned long long)d->mmap_size,
				     d->num_queues, (unsigned long long)per);
	p = vhu_map_fd(msg->fds[0], d->mmap_size, d->mmap_offset, &base, &len,
		       false);
	if (p == NULL)
		return vhu_violation(dev, msg, VHU_RULE_REGION,
				     "inflight area: %s", strerror(errno));
	if (dev->inflight_map != NULL)
		munmap(dev->inflight_map, dev->inflight_map_len);
	dev->inflight_map = base;
	dev->inflight_map_len = len;
	dev->inflight_area = p;
	dev->inflight_size = d->mmap_size;
	dev->inflight_queues = d->num_queues;
	dev->inflight_queue_size = d->queue_size;
	dev->inflight_layout = VHU_INFLIGHT_DETACHED;
	vhu_inflight_attach(dev);
	return VHU_OK;
}

static void
detach(struct vhu_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nr_vrings; i++)
		dev->vrings[i].inflight.split = NULL;
	dev->inflight_layout = VHU_INFLIGHT_DETACHED;
}

/*
 * Point each ring at its queue region in the negotiated layout, once the
 * features are known. Blank regions are initialized; so is everything
 * when the layout changed since the last attach (a renegotiation: what
 * the area held describes rings that no longer exist).
 */
void
vhu_inflight_attach(struct vhu_dev *dev)
{
	bool packed = dev_packed(dev);
	uint8_t layout = packed ? VHU_INFLIGHT_PACKED : VHU_INFLIGHT_SPLIT;
	uint16_t qs = dev->inflight_queue_size;
	uint64_t per = vhu_inflight_queue_size(packed, qs);
	bool relayout;
	uint16_t i;

	if (dev->inflight_map == NULL || !dev->features_set ||
	    dev->inflight_layout == layout)
		return;
	relayout = dev->inflight_layout != VHU_INFLIGHT_DETACHED;
	detach(dev);
	if (per * dev->inflight_queues > dev->inflight_size) {
		VHU_WARN("vhost-user %s: inflight area too small for the %s "
			 "layout; not tracking", dev->name,
			 packed ? "packed" : "split");
		return;
	}
	for (i = 0; i < dev->inflight_queues && i < dev->nr_vrings; i++) {
		struct vhu_vring *vr = &dev->vrings[i];
		void *q = dev->inflight_area + i * per;
		struct vhu_inflight_split *s = q;

		/* version and desc_num sit at the same place in both layouts */
		if (relayout || s->version == 0 || s->desc_num != qs) {
			if (packed)
				init_packed(q, qs);
			else
				init_split(q, qs);
		}
		vr->inflight.split = q;
		vr->inflight_num = qs;
		vr->inflight_counter = 0;
		if (dev->ops != NULL && dev->ops->inflight_ready != NULL)
			dev->ops->inflight_ready(dev, i);
	}
	dev->inflight_layout = layout;
}

void
vhu_inflight_split_get(struct vhu_vring *vr, uint16_t head)
{
	struct vhu_inflight_split *q = vr->inflight.split;

	if (q == NULL || head >= vr->inflight_num)
		return;
	q->desc[head].counter = vr->inflight_counter++;
	q->desc[head].inflight = 1;
}

void
vhu_inflight_split_used_begin(struct vhu_vring *vr, const uint16_t *heads,
			      unsigned int n)
{
	struct vhu_inflight_split *q = vr->inflight.split;
	unsigned int i;

	if (q == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (heads[i] >= vr->inflight_num)
			continue;
		q->desc[heads[i]].next = q->last_batch_head;
		q->last_batch_head = heads[i];
	}
}

void
vhu_inflight_split_used_end(struct vhu_vring *vr, const uint16_t *heads,
			    unsigned int n, uint16_t used_idx)
{
	struct vhu_inflight_split *q = vr->inflight.split;
	unsigned int i;

	if (q == NULL)
		return;
	for (i = 0; i < n; i++)
		if (heads[i] < vr->inflight_num)
			q->desc[heads[i]].inflight = 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx = used_idx;
}

/* Sort inflight entries (indices into a counter array) by counter. */
struct by_counter {
	uint16_t idx;
	uint64_t counter;
};

static int
cmp_counter(const void *a, const void *b)
{
	const struct by_counter *x = a, *y = b;

	return x->counter < y->counter ? -1 : x->counter > y->counter;
}

static int
emit_sorted(struct by_counter *v, unsigned int n, uint16_t *out,
	    unsigned int max, uint64_t *next_counter)
{
	unsigned int i;

	qsort(v, n, sizeof(*v), cmp_counter);
	*next_counter = n > 0 ? v[n - 1].counter + 1 : 0;
	for (i = 0; i < n && i < max; i++)
		out[i] = v[i].idx;
	return (int)(n < max ? n : max);
}

int
vhu_inflight_split_recover(struct vhu_vring *vr, uint16_t ring_used_idx,
			   uint16_t *heads, unsigned int max)
{
	struct vhu_inflight_split *q = vr->inflight.split;
	struct by_counter *v;
	uint16_t batch, i, h;
	unsigned int n = 0;
	int rc;

	if (q == NULL || q->version != INFLIGHT_VERSION)
		return 0;
	if (q->used_idx != ring_used_idx) {
		batch = (uint16_t)(ring_used_idx - q->used_idx);
		h = q->last_batch_head;
		for (i = 0; i < batch && h < vr->inflight_num; i++) {
			q->desc[h].inflight = 0;
			h = q->desc[h].next;
		}
		q->used_idx = ring_used_idx;
	}
	v = malloc(sizeof(*v) * (vr->inflight_num ? vr->inflight_num : 1));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < vr->inflight_num; i++) {
		if (q->desc[i].inflight != 1)
			continue;
		v[n].idx = i;
		v[n++].counter = q->desc[i].counter;
	}
	rc = emit_sorted(v, n, heads, max, &vr->inflight_counter);
	free(v);
	return rc;
}

uint16_t
vhu_inflight_packed_get(struct vhu_vring *vr, bool head, bool last,
			uint16_t id, uint16_t flags, uint32_t len, uint64_t addr)
{
	struct vhu_inflight_packed *q = vr->inflight.packed;
	uint16_t e, f;

	if (q == NULL)
		return 0;
	e = q->old_free_head;
	f = q->free_head;
	if (e >= vr->inflight_num || f >= vr->inflight_num)
		return 0;
	if (head) {
		q->desc[e].num = 0;
		q->desc[e].counter = vr->inflight_counter++;
		q->desc[e].inflight = 1;
	}
	if (last)
		q->desc[e].last = f;
	q->desc[e].num++;
	q->desc[f].addr = addr;
	q->desc[f].len = len;
	q->desc[f].flags = flags;
	q->desc[f].id = id;
	q->free_head = q->desc[f].next;
	if (last)
		q->old_free_head = q->free_head;
	return e;
}

void
vhu_inflight_packed_used_begin(struct vhu_vring *vr, const uint16_t *entries,
			       unsigned int n, uint16_t used_idx,
			       bool used_wrap)
{
	struct vhu_inflight_packed *q = vr->inflight.packed;
	unsigned int i;

	if (q == NULL)
		return;
	for (i = 0; i < n; i++) {
		uint16_t e = entries[i], last;

		if (e >= vr->inflight_num)
			continue;
		last = q->desc[e].last;
		if (last < vr->inflight_num)
			q->desc[last].next = q->free_head;
		q->free_head = e;
	}
	q->used_idx = used_idx;
	q->used_wrap_counter = used_wrap;
}

void
vhu_inflight_packed_used_end(struct vhu_vring *vr, const uint16_t *entries,
			     unsigned int n)
{
	struct vhu_inflight_packed *q = vr->inflight.packed;
	unsigned int i;

	if (q == NULL)
		return;
	for (i = 0; i < n; i++)
		if (entries[i] < vr->inflight_num)
			q->desc[entries[i]].inflight = 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->old_free_head = q->free_head;
	q->old_used_idx = q->used_idx;
	q->old_used_wrap_counter = q->used_wrap_counter;
}

/* Whether the ring descriptor at idx was already given back as used. */
static bool
packed_desc_used(const struct vhu_vring *vr, uint16_t idx, bool wrap)
{
	const uint8_t *d;
	uint16_t flags, avail;

	if (vr->desc == NULL || idx >= vr->size)
		return false;
	d = (const uint8_t *)vr->desc + 16u * idx;
	memcpy(&flags, d + 14, sizeof(flags));
	avail = (wrap ? PACKED_DESC_F_AVAIL : 0) |
		(wrap ? 0 : PACKED_DESC_F_USED);
	return (flags & (PACKED_DESC_F_AVAIL | PACKED_DESC_F_USED)) != avail;
}

int
vhu_inflight_packed_recover(struct vhu_vring *vr, uint16_t *entries,
			    unsigned int max)
{
	struct vhu_inflight_packed *q = vr->inflight.packed;
	struct by_counter *v;
	unsigned int n = 0;
	uint16_t i, e;
	int rc;

	if (q == NULL || q->version != INFLIGHT_VERSION)
		return 0;
	if (q->used_idx != q->old_used_idx &&
	    packed_desc_used(vr, q->old_used_idx, q->old_used_wrap_counter)) {
		q->old_free_head = q->free_head;
		q->old_used_idx = q->used_idx;
		q->old_used_wrap_counter = q->used_wrap_counter;
	}
	q->free_head = q->old_free_head;
	q->used_idx = q->old_used_idx;
	q->used_wrap_counter = q->old_used_wrap_counter;
	for (e = q->free_head, i = 0;
	     e < vr->inflight_num && i < vr->inflight_num; i++) {
		q->desc[e].inflight = 0;
		e = q->desc[e].next;
	}
	v = malloc(sizeof(*v) * (vr->inflight_num ? vr->inflight_num : 1));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < vr->inflight_num; i++) {
		if (q->desc[i].inflight != 1)
			continue;
		v[n].idx = i;
		v[n++].counter = q->desc[i].counter;
	}
	rc = emit_sorted(v, n, entries, max, &vr->inflight_counter);
	free(v);
	return rc;
}
