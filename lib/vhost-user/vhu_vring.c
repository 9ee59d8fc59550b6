/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue control: SET_VRING_NUM/ADDR/BASE, GET_VRING_BASE, KICK/CALL/
 * ERR (with the invalid-fd flag for polling), SET_VRING_ENABLE, in-band
 * VRING_KICK and SET_VRING_ENDIAN, and the spec's three ring states:
 * stopped, started but disabled, started and enabled. A ring starts when
 * its kick fd becomes readable (or at once in polling mode, or on an
 * in-band kick) and stops on GET_VRING_BASE.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "vhu_internal.h"

#define SPLIT_DESC_ALIGN	16
#define SPLIT_AVAIL_ALIGN	2
#define SPLIT_USED_ALIGN	4
#define PACKED_EVENT_ALIGN	4

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
watch_kick(struct vhu_dev *dev, struct vhu_vring *vr, bool on)
{
	if (vr->kick_fd < 0 || vr->kick_watched == on)
		return;
	vr->kick_watched = on;
	vhu_watch(dev, vr->kick_fd, on ? VHU_EV_IN : 0);
}

static void
drop_kick(struct vhu_dev *dev, struct vhu_vring *vr)
{
	watch_kick(dev, vr, false);
	close_fd(&vr->kick_fd);
}

void
vhu_vring_reset(struct vhu_vring *vr)
{
	if (vr->dev != NULL)
		watch_kick(vr->dev, vr, false);
	close_fd(&vr->kick_fd);
	close_fd(&vr->call_fd);
	close_fd(&vr->err_fd);
	vr->desc = vr->avail = vr->used = NULL;
	vr->size = 0;
	vr->last_avail_idx = vr->last_used_idx = 0;
	vr->avail_wrap = vr->used_wrap = true;
	vr->big_endian = false;
	vr->log_used = false;
	vr->log_guest_addr = 0;
	vr->inflight.split = NULL;
	vr->inflight_counter = 0;
	vr->num_set = vr->addr_set = vr->kick_set = false;
	vr->started = vr->enabled = false;
	vr->broken = false;
	vr->call_pending = false;
	vr->err_pending = false;
	vr->miss_pending = false;
	vr->addr_pending = false;
	vr->addr_flags = 0;
	vr->desc_addr = vr->avail_addr = vr->used_addr = 0;
}

enum vhu_ring_state
vhu_vring_state(const struct vhu_vring *vr)
{
	if (!vr->started)
		return VHU_RING_STOPPED;
	return vr->enabled ? VHU_RING_ENABLED : VHU_RING_DISABLED;
}

void
vhu_vring_set_state(struct vhu_dev *dev, struct vhu_vring *vr, bool started,
		    bool enabled)
{
	enum vhu_ring_state old = vhu_vring_state(vr), now;

	vr->started = started;
	vr->enabled = enabled;
	now = vhu_vring_state(vr);
	if (now != old && dev->ops != NULL && dev->ops->vring_state != NULL)
		dev->ops->vring_state(dev, vr->index, now);
}

void
vhu_vrings_reset(struct vhu_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nr_vrings; i++) {
		struct vhu_vring *vr = &dev->vrings[i];

		vhu_vring_set_state(dev, vr, false, false);
		vhu_vring_reset(vr);
		/* The layout comes back with the next SET_FEATURES. */
		vr->packed = false;
	}
}

bool
vhu_any_ring_started(const struct vhu_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nr_vrings; i++)
		if (dev->vrings[i].started)
			return true;
	return false;
}

struct vhu_vring *
vhu_vring_by_kick_fd(struct vhu_dev *dev, int fd)
{
	unsigned int i;

	for (i = 0; i < dev->nr_vrings; i++)
		if (dev->vrings[i].kick_fd == fd)
			return &dev->vrings[i];
	return NULL;
}

static struct vhu_vring *
ring_at(struct vhu_dev *dev, struct vhu_msg *msg, uint32_t idx)
{
	if (idx >= dev->nr_vrings) {
		vhu_violation(dev, msg, VHU_RULE_INDEX,
			      "ring %u, the device has %u", idx, dev->nr_vrings);
		return NULL;
	}
	return &dev->vrings[idx];
}

static bool
event_idx(const struct vhu_dev *dev)
{
	return (dev->features & VHU_BIT(VHU_F_RING_EVENT_IDX)) != 0;
}

/* Byte sizes of the three ring areas for this ring's layout and size. */
static void
ring_sizes(const struct vhu_dev *dev, const struct vhu_vring *vr,
	   uint64_t *desc, uint64_t *avail, uint64_t *used)
{
	uint64_t ev = event_idx(dev) ? 2 : 0;

	*desc = 16ULL * vr->size;
	if (vr->packed) {
		*avail = 4;
		*used = 4;
	} else {
		*avail = 4 + 2ULL * vr->size + ev;
		*used = 4 + 8ULL * vr->size + ev;
	}
}

/*
 * Translate one ring area: 0 done, 1 waiting for the IOTLB (a miss was
 * sent for the first address not covered), -1 not mapped or misaligned.
 */
static int
translate_area(struct vhu_dev *dev, uint64_t addr, uint64_t len,
	       uint8_t perm, uint64_t align, void **out)
{
	uint64_t miss;
	void *p;

	if (dev->dp.iommu) {
		p = vhu_iotlb_translate_miss(&dev->iotlb, addr, len, perm,
					     &miss);
		if (p == NULL)
			return miss != UINT64_MAX &&
			       vhu_backend_iotlb(dev, VHU_IOTLB_MISS, miss,
						 perm, NULL) == 0 ? 1 : -1;
	} else {
		p = vhu_uva_to_hva(dev->mem, addr, len);
		if (p == NULL)
			return -1;
	}
	if (((uintptr_t)p & (align - 1)) != 0)
		return -1;
	*out = p;
	return 0;
}

/* Translate the three areas: 0 done, 1 waiting for the IOTLB, -1 not. */
static int
translate_ring(struct vhu_dev *dev, struct vhu_vring *vr)
{
	uint64_t dsz, asz, usz;
	uint8_t dperm = vr->packed ? VHU_ACCESS_RW : VHU_ACCESS_RO;
	void *d = NULL, *a = NULL, *u = NULL;
	int rd, ra, ru;

	ring_sizes(dev, vr, &dsz, &asz, &usz);
	rd = translate_area(dev, vr->desc_addr, dsz, dperm, SPLIT_DESC_ALIGN,
			    &d);
	ra = translate_area(dev, vr->avail_addr, asz, VHU_ACCESS_RO,
			    vr->packed ? PACKED_EVENT_ALIGN : SPLIT_AVAIL_ALIGN,
			    &a);
	ru = translate_area(dev, vr->used_addr, usz, VHU_ACCESS_RW,
			    vr->packed ? PACKED_EVENT_ALIGN : SPLIT_USED_ALIGN,
			    &u);
	if (rd < 0 || ra < 0 || ru < 0)
		return -1;
	if (rd > 0 || ra > 0 || ru > 0)
		return 1;
	vr->desc = d;
	vr->avail = a;
	vr->used = u;
	return 0;
}

static enum vhu_result
unmapped(struct vhu_dev *dev, struct vhu_vring *vr, const struct vhu_msg *msg)
{
	return vhu_violation(dev, msg, VHU_RULE_UNMAPPED,
			     "ring %u: desc 0x%llx avail 0x%llx used 0x%llx "
			     "(size %u) not mapped or aligned", vr->index,
			     (unsigned long long)vr->desc_addr,
			     (unsigned long long)vr->avail_addr,
			     (unsigned long long)vr->used_addr, vr->size);
}

/* A split ring continues from the used index the guest memory holds. */
static void
sync_split_used(struct vhu_dev *dev, struct vhu_vring *vr)
{
	uint16_t used_idx;

	used_idx = __atomic_load_n((uint16_t *)vr->used + 1, __ATOMIC_ACQUIRE);
	vr->last_used_idx = used_idx;
	if (used_idx != vr->last_avail_idx && vr->inflight.split == NULL) {
		VHU_WARN("vhost-user %s: ring %u: base %u but used index %u; "
			 "continuing from %u", dev->name, vr->index,
			 vr->last_avail_idx, used_idx, used_idx);
		vr->last_avail_idx = used_idx;
	}
}

/*
 * Where a packed ring's USED bits say the device stands: slots the
 * device used in its current lap carry that lap's wrap counter in their
 * USED bit, whether the driver has posted them again since or not; the
 * slots from the device's used position on carry the other value, as
 * available buffers of this lap or used ones of the last. That holds
 * while every buffer takes one slot and has its own used descriptor
 * (no chain, no IN_ORDER batch): false when the ring does not show
 * that one split, or shows a chain.
 */
static bool
packed_used_split(const struct vhu_vring *vr, uint16_t *pos, bool *wrap)
{
	const struct vring_packed_desc *d = vr->desc;
	uint16_t i, flips = 0, at = 0;
	bool first = false, last = false;

	for (i = 0; i < vr->size; i++) {
		uint16_t f = __atomic_load_n(&d[i].flags, __ATOMIC_ACQUIRE);
		bool used = (f >> VRING_PACKED_DESC_F_USED) & 1;

		if (f & VRING_DESC_F_NEXT)
			return false;
		if (i == 0)
			first = used;
		else if (used != last && flips++ == 0)
			at = i;
		last = used;
	}
	if (flips > 1)
		return false;
	*pos = at;
	*wrap = flips == 0 ? !first : first;
	return true;
}

/*
 * A packed ring asked to start at the very beginning (0, wrap 1) when its
 * descriptors show a device that has been further: a front-end that lost
 * its back-end without GET_VRING_BASE (QEMU's virtio-net, whose packed
 * rings have no used index to restore from) sends the base it began
 * with. Where the ring tells where the device stood (packed_used_split),
 * it continues from there, and buffers taken but not returned are taken
 * again, as a split ring does from its used index. With an inflight
 * area or IN_ORDER the base stands.
 */
static void
sync_packed_used(struct vhu_dev *dev, struct vhu_vring *vr)
{
	uint16_t pos;
	bool wrap;

	if (vr->inflight.packed != NULL ||
	    (dev->features & VHU_BIT(VHU_F_IN_ORDER)) != 0 ||
	    vr->last_avail_idx != 0 || !vr->avail_wrap ||
	    vr->last_used_idx != 0 || !vr->used_wrap)
		return;
	if (!packed_used_split(vr, &pos, &wrap) || (pos == 0 && wrap))
		return;
	VHU_WARN("vhost-user %s: ring %u: base 0 (wrap 1) but the ring's "
		 "used flags end at %u (wrap %u); continuing from there",
		 dev->name, vr->index, pos, wrap);
	vr->last_avail_idx = vr->last_used_idx = pos;
	vr->avail_wrap = vr->used_wrap = wrap;
}

/*
 * Start a ring: it must have a size and addresses that translate. A
 * kick onto addresses that do not translate is a violation; a ring that
 * lost its memory while running (kick == false) waits for it instead,
 * as it does for IOTLB misses.
 */
static enum vhu_result
start_ring(struct vhu_dev *dev, struct vhu_vring *vr, const struct vhu_msg *msg,
	   bool kick)
{
	int rc;

	if (vr->started)
		return VHU_OK;
	if (!vr->num_set || !vr->addr_set)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "ring %u kicked before its size and "
				     "addresses were set", vr->index);
	if (!vr->packed && (vr->size & (vr->size - 1)) != 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "split ring %u size %u is not a power of 2",
				     vr->index, vr->size);
	/* Packed indices address descriptors directly: keep them inside. */
	if (vr->packed && (vr->last_avail_idx >= vr->size ||
			   vr->last_used_idx >= vr->size))
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "packed ring %u base avail %u used %u "
				     "beyond size %u", vr->index,
				     vr->last_avail_idx, vr->last_used_idx,
				     vr->size);
	rc = translate_ring(dev, vr);
	if (rc < 0 && kick)
		return unmapped(dev, vr, msg);
	vr->addr_pending = rc != 0;
	if (vr->addr_pending)
		return VHU_OK;
	if (!vr->packed)
		sync_split_used(dev, vr);
	else
		sync_packed_used(dev, vr);
	watch_kick(dev, vr, false);
	vhu_vring_set_state(dev, vr, true, vr->enabled);
	return VHU_OK;
}

/*
 * A running ring whose addresses changed meaning (memory table, IOTLB,
 * SET_VRING_ADDR): translate again. If they no longer translate, the
 * ring stops and waits: a front-end may remove a region and add it back,
 * or answer an IOTLB miss.
 */
static void
retranslate_started(struct vhu_dev *dev, struct vhu_vring *vr)
{
	int rc = translate_ring(dev, vr);

	if (rc == 0)
		return;
	if (rc < 0)
		VHU_WARN("vhost-user %s: ring %u stopped: its addresses left "
			 "the memory table", dev->name, vr->index);
	vhu_vring_set_state(dev, vr, false, vr->enabled);
	vr->desc = vr->avail = vr->used = NULL;
	vr->addr_pending = true;
}

enum vhu_result
vhu_vrings_retranslate(struct vhu_dev *dev, const struct vhu_msg *msg)
{
	enum vhu_result res = VHU_OK;
	unsigned int i;

	for (i = 0; i < dev->nr_vrings && res == VHU_OK; i++) {
		struct vhu_vring *vr = &dev->vrings[i];

		if (vr->started)
			retranslate_started(dev, vr);
		else if (vr->addr_pending)
			res = start_ring(dev, vr, msg, false);
		else	/* translated again when it starts */
			vr->desc = vr->avail = vr->used = NULL;
	}
	return res;
}

void
vhu_vring_kick_readable(struct vhu_dev *dev, struct vhu_vring *vr,
			uint32_t events)
{
	struct pollfd pfd = { .fd = vr->kick_fd, .events = POLLIN };
	uint64_t v;

	(void)events;
	if (poll(&pfd, 1, 0) != 1)
		return;		/* a spurious wake-up is not a kick */
	if ((pfd.revents & POLLIN) == 0) {
		/* Hung up without a kick: stop watching, or the loop spins. */
		VHU_WARN("vhost-user %s: ring %u: kick fd hung up", dev->name,
			 vr->index);
		watch_kick(dev, vr, false);
		return;
	}
	/* The fd is non-blocking (SET_VRING_KICK made it so). */
	if (read(vr->kick_fd, &v, sizeof(v)) < 0)
		VHU_DEBUG("vhost-user %s: ring %u: kick read failed",
			  dev->name, vr->index);
	start_ring(dev, vr, NULL, true);
	if (dev->close_pending)
		vhu_dev_close_connection(dev);
}

enum vhu_result
vhu_set_vring_num(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr = ring_at(dev, msg, msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (vr == NULL)
		return VHU_ERROR;
	if (vr->started)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "ring %u is running", vr->index);
	if (num == 0 || num > VHU_MAX_VRING_SIZE)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "ring %u size %u outside 1..%u", vr->index,
				     num, VHU_MAX_VRING_SIZE);
	if (dev->features_set && !vr->packed && (num & (num - 1)) != 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "split ring %u size %u is not a power of 2",
				     vr->index, num);
	vr->size = (uint16_t)num;
	vr->num_set = true;
	return VHU_OK;
}

enum vhu_result
vhu_set_vring_addr(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_vring_addr *a = &msg->payload.addr;
	struct vhu_vring *vr = ring_at(dev, msg, a->index);

	if (vr == NULL)
		return VHU_ERROR;
	if ((a->flags & ~(1u << VHU_VRING_F_LOG)) != 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "ring %u: unknown address flags 0x%x",
				     vr->index, a->flags);
	if ((a->desc_user_addr % SPLIT_DESC_ALIGN) != 0 ||
	    (a->avail_user_addr % SPLIT_AVAIL_ALIGN) != 0 ||
	    (a->used_user_addr % SPLIT_USED_ALIGN) != 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "ring %u: misaligned ring address",
				     vr->index);
	vr->addr_flags = a->flags;
	vr->desc_addr = a->desc_user_addr;
	vr->avail_addr = a->avail_user_addr;
	vr->used_addr = a->used_user_addr;
	vr->log_guest_addr = a->log_guest_addr;
	vr->log_used = (a->flags & (1u << VHU_VRING_F_LOG)) != 0;
	vr->addr_set = true;
	/* A running ring (the log flag toggled for migration): remap now. */
	if (vr->started)
		retranslate_started(dev, vr);
	return VHU_OK;
}

enum vhu_result
vhu_set_vring_base(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr = ring_at(dev, msg, msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (vr == NULL)
		return VHU_ERROR;
	if (vr->started)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "ring %u is running", vr->index);
	if (!vr->packed) {
		if (num > 0xffff)
			return vhu_violation(dev, msg, VHU_RULE_VALUE,
					     "split ring %u base %u exceeds "
					     "16 bits", vr->index, num);
		vr->last_avail_idx = (uint16_t)num;
		vr->last_used_idx = (uint16_t)num;
		return VHU_OK;
	}
	/* Packed: bits 0-14 avail index, 15 its wrap counter; 16-31 used. */
	vr->last_avail_idx = num & 0x7fff;
	vr->avail_wrap = (num & 0x8000) != 0;
	if ((num >> 16) == 0) {
		vr->last_used_idx = vr->last_avail_idx;
		vr->used_wrap = vr->avail_wrap;
	} else {
		vr->last_used_idx = (num >> 16) & 0x7fff;
		vr->used_wrap = (num & 0x80000000u) != 0;
	}
	if (vr->last_avail_idx >= vr->size && vr->num_set)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "packed ring %u base %u beyond size %u",
				     vr->index, vr->last_avail_idx, vr->size);
	return VHU_OK;
}

enum vhu_result
vhu_get_vring_base(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr = ring_at(dev, msg, msg->payload.state.index);
	uint32_t num;

	if (vr == NULL)
		return VHU_ERROR;
	/* Stop first: the application finishes its in-flight work here. */
	vhu_vring_set_state(dev, vr, false, vr->enabled);
	drop_kick(dev, vr);
	vr->kick_set = false;
	vr->addr_pending = false;
	vr->desc = vr->avail = vr->used = NULL;
	if (vr->packed)
		num = (uint32_t)(vr->last_avail_idx & 0x7fff) |
		      (uint32_t)vr->avail_wrap << 15 |
		      (uint32_t)(vr->last_used_idx & 0x7fff) << 16 |
		      (uint32_t)vr->used_wrap << 31;
	else
		num = vr->last_avail_idx;
	msg->payload.state.num = num;
	msg->hdr.size = sizeof(msg->payload.state);
	return VHU_REPLY;
}

/* Decode the u64 of SET_VRING_KICK/CALL/ERR and check its fd rule. */
static struct vhu_vring *
vring_file(struct vhu_dev *dev, struct vhu_msg *msg, int *fd)
{
	uint64_t v = msg->payload.u64;
	bool nofd = (v & VHU_VRING_NOFD_MASK) != 0;
	struct vhu_vring *vr;

	if ((v & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD_MASK)) != 0) {
		vhu_violation(dev, msg, VHU_RULE_VALUE,
			      "reserved bits set in 0x%llx",
			      (unsigned long long)v);
		return NULL;
	}
	vr = ring_at(dev, msg, (uint32_t)(v & VHU_VRING_IDX_MASK));
	if (vr == NULL)
		return NULL;
	if (msg->nfds != (nofd ? 0u : 1u)) {
		vhu_violation(dev, msg, VHU_RULE_FDS,
			      "%u fds with the invalid-fd flag %s", msg->nfds,
			      nofd ? "set" : "clear");
		return NULL;
	}
	if (!nofd && !vhu_fd_is_event(msg->fds[0])) {
		vhu_violation(dev, msg, VHU_RULE_FDS,
			      "ring %u: the fd is neither an eventfd nor a pipe",
			      vr->index);
		return NULL;
	}
	*fd = nofd ? -1 : vhu_msg_take_fd(msg, 0);
	/*
	 * Non-blocking: the data path signals these and the control thread
	 * reads kicks, and neither may ever wait on the front-end.
	 */
	if (*fd >= 0)
		(void)vhu_set_nonblock(*fd);
	return vr;
}

enum vhu_result
vhu_set_vring_kick(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr;
	int fd;

	vr = vring_file(dev, msg, &fd);
	if (vr == NULL)
		return VHU_ERROR;
	drop_kick(dev, vr);
	vr->kick_fd = fd;
	vr->kick_set = true;
	if (vr->started)
		return VHU_OK;
	/* Without protocol features a ring is enabled as it starts. */
	if ((dev->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) == 0)
		vr->enabled = true;
	if (fd < 0)
		return start_ring(dev, vr, msg, true);	/* polling mode */
	watch_kick(dev, vr, true);
	return VHU_OK;
}

enum vhu_result
vhu_set_vring_call(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr;
	int fd;

	vr = vring_file(dev, msg, &fd);
	if (vr == NULL)
		return VHU_ERROR;
	close_fd(&vr->call_fd);
	vr->call_fd = fd;
	return VHU_OK;
}

enum vhu_result
vhu_set_vring_err(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr;
	int fd;

	vr = vring_file(dev, msg, &fd);
	if (vr == NULL)
		return VHU_ERROR;
	close_fd(&vr->err_fd);
	vr->err_fd = fd;
	return VHU_OK;
}

static bool
protocol_features_in_use(const struct vhu_dev *dev)
{
	return dev->proto_set ||
	       (dev->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) != 0;
}

enum vhu_result
vhu_set_vring_enable(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr = ring_at(dev, msg, msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (vr == NULL)
		return VHU_ERROR;
	if (num > 1)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "ring %u: enable must be 0 or 1, not %u",
				     vr->index, num);
	/*
	 * DPDK's virtio-user resets a device it reconnects to with
	 * SET_VRING_ENABLE before negotiating anything: SET_FEATURES
	 * decides then how rings start, so this is a no-op.
	 */
	if (!dev->features_set && !dev->proto_set) {
		VHU_DEBUG("vhost-user %s: ring %u: enable %u before "
			  "negotiation ignored", dev->name, vr->index, num);
		return VHU_OK;
	}
	if (!protocol_features_in_use(dev))
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "PROTOCOL_FEATURES is not negotiated");
	vhu_vring_set_state(dev, vr, vr->started, num == 1);
	/*
	 * QEMU enables rings after SET_PROTOCOL_FEATURES but before
	 * SET_FEATURES: the state is kept, and the ring starts once it
	 * has its layout (SET_FEATURES), addresses and kick fd.
	 */
	if (dev->features_set && num == 1 && vr->kick_set && !vr->started)
		return start_ring(dev, vr, msg, false);
	return VHU_OK;
}

/*
 * The driver is ready (DRIVER_OK): start every ring that has its kick
 * fd, size and addresses without waiting for a kick. A front-end that
 * reconnects, or a migrated guest whose rings say "no notifications",
 * may not kick for a long time.
 */
enum vhu_result
vhu_vring_start_ready(struct vhu_dev *dev, const struct vhu_msg *msg)
{
	unsigned int i;

	for (i = 0; i < dev->nr_vrings; i++) {
		struct vhu_vring *vr = &dev->vrings[i];
		enum vhu_result res;

		if (!vr->kick_set || vr->started || !vr->num_set ||
		    !vr->addr_set)
			continue;
		res = start_ring(dev, vr, msg, false);
		if (res != VHU_OK)
			return res;
	}
	return VHU_OK;
}

enum vhu_result
vhu_set_vring_endian(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr = ring_at(dev, msg, msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (vr == NULL)
		return VHU_ERROR;
	if (vr->started)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "ring %u is running", vr->index);
	if (num > 1)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "ring %u: endianness %u is neither 0 "
				     "(little) nor 1 (big)", vr->index, num);
	vr->big_endian = num == 1;
	return VHU_OK;
}

enum vhu_result
vhu_vring_kick_msg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_vring *vr = ring_at(dev, msg, msg->payload.state.index);

	if (vr == NULL)
		return VHU_ERROR;
	if (msg->payload.state.num != 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "ring %u: reserved num %u is not 0",
				     vr->index, msg->payload.state.num);
	if ((dev->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) == 0)
		vr->enabled = true;
	return start_ring(dev, vr, msg, true);
}

static int
signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		return 0;
	return errno == EAGAIN ? 0 : -errno;
}

/* Wake the control thread; callable from any thread. */
static void
notify_control(struct vhu_dev *dev)
{
	uint64_t one = 1;

	if (write(dev->notify_fd, &one, sizeof(one)) < 0)
		VHU_DEBUG("vhost-user %s: notify: %s", dev->name,
			  strerror(errno));
}

/*
 * In-band notifications travel on the back-end channel, which only the
 * control thread may touch: a worker sets a flag and wakes it.
 */
static int
inband(struct vhu_vring *vr, bool *pending)
{
	struct vhu_dev *dev = vr->dev;

	if (dev == NULL || !vhu_has_proto(dev, VHU_PF_INBAND_NOTIFICATIONS))
		return -ENOTCONN;
	if (!__atomic_exchange_n(pending, true, __ATOMIC_ACQ_REL))
		notify_control(dev);
	return 0;
}

int
vhu_vring_call(struct vhu_vring *vr)
{
	if (vr->call_fd >= 0)
		return signal_fd(vr->call_fd);
	return inband(vr, &vr->call_pending);
}

int
vhu_vring_signal_error(struct vhu_vring *vr)
{
	if (vr->err_fd >= 0)
		return signal_fd(vr->err_fd);
	return inband(vr, &vr->err_pending);
}

void
vhu_vring_iotlb_miss(struct vhu_vring *vr, uint64_t iova, uint8_t perm)
{
	if (__atomic_load_n(&vr->miss_pending, __ATOMIC_ACQUIRE))
		return;
	vr->miss_iova = iova;
	vr->miss_perm = perm;
	__atomic_store_n(&vr->miss_pending, true, __ATOMIC_RELEASE);
	if (vr->dev != NULL)
		notify_control(vr->dev);
}

void
vhu_vring_mark_broken(struct vhu_vring *vr, const char *why)
{
	if (__atomic_exchange_n(&vr->broken, true, __ATOMIC_ACQ_REL))
		return;
	VHU_ERR("vhost-user %s: ring %u broken: %s",
		vr->dev != NULL ? vr->dev->name : "?", vr->index,
		why != NULL ? why : "hostile descriptor");
	if (vr->dev != NULL)
		notify_control(vr->dev);
}

void
vhu_vring_handle_notify(struct vhu_dev *dev)
{
	uint64_t v;
	unsigned int i;

	if (read(dev->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		VHU_DEBUG("vhost-user %s: notify read: %s", dev->name,
			  strerror(errno));
	for (i = 0; i < dev->nr_vrings; i++) {
		struct vhu_vring *vr = &dev->vrings[i];

		if (__atomic_exchange_n(&vr->call_pending, false,
					__ATOMIC_ACQ_REL))
			(void)vhu_backend_vring_call(dev, vr->index, NULL);
		if (__atomic_exchange_n(&vr->err_pending, false,
					__ATOMIC_ACQ_REL))
			(void)vhu_backend_vring_err(dev, vr->index, NULL);
		if (__atomic_load_n(&vr->miss_pending, __ATOMIC_ACQUIRE)) {
			(void)vhu_backend_iotlb(dev, VHU_IOTLB_MISS,
						vr->miss_iova, vr->miss_perm,
						NULL);
			__atomic_store_n(&vr->miss_pending, false,
					 __ATOMIC_RELEASE);
		}
		if (__atomic_load_n(&vr->broken, __ATOMIC_ACQUIRE)) {
			char why[64];

			snprintf(why, sizeof(why), "ring %u is broken", i);
			vhu_dev_disconnect(dev, why);
			return;
		}
	}
}

unsigned int
vhu_dev_nr_vrings(const struct vhu_dev *dev)
{
	return dev->nr_vrings;
}

struct vhu_vring *
vhu_dev_vring(struct vhu_dev *dev, unsigned int idx)
{
	return idx < dev->nr_vrings ? &dev->vrings[idx] : NULL;
}
