/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Negotiation and device-wide state: device and protocol features, queue
 * count, owner, status, and the two resets.
 */
#include <errno.h>
#include <string.h>

#include "vhu_internal.h"

uint64_t
vhu_protocol_features_implemented(void)
{
	uint64_t f = VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_LOG_SHMFD) |
		     VHU_BIT(VHU_PF_RARP) | VHU_BIT(VHU_PF_REPLY_ACK) |
		     VHU_BIT(VHU_PF_MTU) | VHU_BIT(VHU_PF_BACKEND_REQ) |
		     VHU_BIT(VHU_PF_CROSS_ENDIAN) | VHU_BIT(VHU_PF_CONFIG) |
		     VHU_BIT(VHU_PF_BACKEND_SEND_FD) |
		     VHU_BIT(VHU_PF_HOST_NOTIFIER) |
		     VHU_BIT(VHU_PF_INFLIGHT_SHMFD) |
		     VHU_BIT(VHU_PF_RESET_DEVICE) |
		     VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS) |
		     VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS) |
		     VHU_BIT(VHU_PF_STATUS) | VHU_BIT(VHU_PF_SHARED_OBJECT) |
		     VHU_BIT(VHU_PF_SHMEM);

	if (vhu_postcopy_supported())
		f |= VHU_BIT(VHU_PF_PAGEFAULT);
	return f;
}

uint64_t
vhu_features_protocol_level(void)
{
	return VHU_BIT(VHU_F_LOG_ALL) | VHU_BIT(VHU_F_PROTOCOL_FEATURES);
}

static enum vhu_result
reply_u64(struct vhu_msg *msg, uint64_t v)
{
	msg->hdr.size = sizeof(uint64_t);
	msg->payload.u64 = v;
	return VHU_REPLY;
}

enum vhu_result
vhu_get_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	return reply_u64(msg, dev->features_offered);
}

enum vhu_result
vhu_set_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint64_t f = msg->payload.u64, changed = f ^ dev->features;
	unsigned int i;

	if ((f & ~dev->features_offered) != 0)
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "acked 0x%llx, outside the offered 0x%llx",
				     (unsigned long long)f,
				     (unsigned long long)dev->features_offered);
	/* Even the first SET_FEATURES: a running ring's layout is fixed. */
	if (vhu_any_ring_started(dev) &&
	    (changed & ~VHU_BIT(VHU_F_LOG_ALL)) != 0)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "features 0x%llx changed while rings run; "
				     "only LOG_ALL may change",
				     (unsigned long long)changed);
	dev->features = f;
	dev->features_set = true;
	dev->dp.features = f;
	dev->dp.log_all = (f & VHU_BIT(VHU_F_LOG_ALL)) != 0;
	dev->dp.iommu = (f & VHU_BIT(VHU_F_ACCESS_PLATFORM)) != 0;
	for (i = 0; i < dev->nr_vrings; i++) {
		struct vhu_vring *vr = &dev->vrings[i];

		vr->packed = (f & VHU_BIT(VHU_F_RING_PACKED)) != 0;
		/* Without protocol features every ring is enabled at once. */
		if ((f & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) == 0 && !vr->enabled)
			vhu_vring_set_state(dev, vr, vr->started, true);
	}
	/* The inflight area is read in the ring layout now known. */
	vhu_inflight_attach(dev);
	if (dev->ops != NULL && dev->ops->features_changed != NULL)
		dev->ops->features_changed(dev, f);
	return VHU_OK;
}

enum vhu_result
vhu_get_protocol_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	return reply_u64(msg, dev->proto_offered);
}

enum vhu_result
vhu_set_protocol_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint64_t p = msg->payload.u64;
	uint64_t need = VHU_BIT(VHU_PF_BACKEND_REQ) | VHU_BIT(VHU_PF_REPLY_ACK);

	if ((p & ~dev->proto_offered) != 0)
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "acked 0x%llx, outside the offered 0x%llx",
				     (unsigned long long)p,
				     (unsigned long long)dev->proto_offered);
	if ((p & VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS)) != 0 &&
	    (p & need) != need)
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "INBAND_NOTIFICATIONS needs BACKEND_REQ "
				     "and REPLY_ACK");
	dev->proto = p;
	dev->proto_set = true;
	return VHU_OK;
}

enum vhu_result
vhu_set_owner(struct vhu_dev *dev, struct vhu_msg *msg)
{
	(void)msg;
	dev->owner = true;
	return VHU_OK;
}

/* Deprecated; the spec recommends it disables all rings, so it does. */
enum vhu_result
vhu_reset_owner(struct vhu_dev *dev, struct vhu_msg *msg)
{
	unsigned int i;

	(void)msg;
	for (i = 0; i < dev->nr_vrings; i++)
		vhu_vring_set_state(dev, &dev->vrings[i], false, false);
	return VHU_OK;
}

/*
 * Back to the state of a fresh connection, keeping what belongs to the
 * connection rather than the device: ownership, protocol features, the
 * back-end channel and the memory table.
 */
enum vhu_result
vhu_reset_device(struct vhu_dev *dev, struct vhu_msg *msg)
{
	(void)msg;
	vhu_vrings_reset(dev);
	vhu_log_reset(dev);
	vhu_inflight_reset(dev);
	vhu_iotlb_reset(&dev->iotlb);
	dev->features = 0;
	dev->features_set = false;
	dev->status = 0;
	dev->dp.features = 0;
	dev->dp.log_all = false;
	dev->dp.iommu = false;
	vhu_net_reset(dev);
	VHU_INFO("vhost-user %s: device reset", dev->name);
	return VHU_OK;
}

enum vhu_result
vhu_get_queue_num(struct vhu_dev *dev, struct vhu_msg *msg)
{
	return reply_u64(msg, dev->max_queue_pairs);
}

enum vhu_result
vhu_set_status(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint64_t st = msg->payload.u64;

	if (st > 0xff)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "status 0x%llx does not fit a byte",
				     (unsigned long long)st);
	dev->status = (uint8_t)st;
	if (dev->ops != NULL && dev->ops->status_changed != NULL)
		dev->ops->status_changed(dev, dev->status);
	if (st & VHU_STATUS_DRIVER_OK)
		return vhu_vring_start_ready(dev, msg);
	return VHU_OK;
}

enum vhu_result
vhu_get_status(struct vhu_dev *dev, struct vhu_msg *msg)
{
	return reply_u64(msg, dev->status);
}

uint64_t
vhu_dev_features(const struct vhu_dev *dev)
{
	return dev->features;
}

uint64_t
vhu_dev_features_offered(const struct vhu_dev *dev)
{
	return dev->features_offered;
}

uint64_t
vhu_dev_protocol_features(const struct vhu_dev *dev)
{
	return dev->proto;
}

uint64_t
vhu_dev_protocol_features_offered(const struct vhu_dev *dev)
{
	return dev->proto_offered;
}

uint8_t
vhu_dev_status(const struct vhu_dev *dev)
{
	return dev->status;
}

struct vhu_dp *
vhu_dev_dp(struct vhu_dev *dev)
{
	return &dev->dp;
}
