/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net specifics of the protocol: SEND_RARP (handed to the
 * application), NET_SET_MTU, and the virtio-net configuration space for
 * GET/SET_CONFIG (mac, status, max queue pairs, mtu) with the rule that
 * read-only fields change only with the migration flag.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vhu_internal.h"

#define VHU_MIN_MTU	68

void
vhu_net_reset(struct vhu_dev *dev)
{
	memset(&dev->netcfg, 0, sizeof(dev->netcfg));
	memcpy(dev->netcfg.mac, dev->default_mac, sizeof(dev->netcfg.mac));
	dev->netcfg.status = htole16(dev->link_up ? VHU_NET_S_LINK_UP : 0);
	dev->netcfg.max_virtqueue_pairs = htole16(dev->max_queue_pairs);
	dev->mtu = dev->default_mtu;
	dev->netcfg.mtu = htole16(dev->mtu);
	dev->netcfg.speed = htole32(UINT32_MAX);	/* unknown */
	dev->netcfg.duplex = 0xff;			/* unknown */
}

enum vhu_result
vhu_send_rarp(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint8_t mac[6];

	memcpy(mac, &msg->payload.u64, sizeof(mac));
	VHU_INFO("vhost-user %s: RARP requested for "
		 "%02x:%02x:%02x:%02x:%02x:%02x", dev->name, mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	if (dev->ops != NULL && dev->ops->send_rarp != NULL)
		dev->ops->send_rarp(dev, mac);
	return VHU_OK;
}

enum vhu_result
vhu_net_set_mtu(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint64_t mtu = msg->payload.u64;

	/*
	 * Offered is enough: QEMU sends the MTU before SET_FEATURES, when
	 * nothing is negotiated yet.
	 */
	if ((dev->features_offered & VHU_BIT(VHU_NET_F_MTU)) == 0)
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "VIRTIO_NET_F_MTU is not offered");
	if (mtu < VHU_MIN_MTU || mtu > UINT16_MAX) {
		VHU_WARN("vhost-user %s: MTU %llu refused", dev->name,
			 (unsigned long long)mtu);
		return VHU_FAIL;
	}
	if (dev->ops != NULL && dev->ops->set_mtu != NULL &&
	    dev->ops->set_mtu(dev, (uint16_t)mtu) < 0) {
		VHU_WARN("vhost-user %s: MTU %llu refused by the switch",
			 dev->name, (unsigned long long)mtu);
		return VHU_FAIL;
	}
	dev->mtu = (uint16_t)mtu;
	dev->netcfg.mtu = htole16(dev->mtu);
	return VHU_OK;
}

enum vhu_result
vhu_get_config(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_config_msg *c = &msg->payload.config;
	uint32_t n = sizeof(dev->netcfg);

	if (msg->hdr.size != VHU_CONFIG_HDR_SIZE + c->size)
		return vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "%u bytes for a %u byte config read",
				     msg->hdr.size, c->size);
	if (c->size == 0 || c->offset > VHU_MAX_CONFIG_SIZE ||
	    c->size > VHU_MAX_CONFIG_SIZE - c->offset) {
		/* The spec's error answer: an empty payload. */
		msg->hdr.size = 0;
		return VHU_REPLY;
	}
	memset(c->region, 0, c->size);
	if (c->offset < n)
		memcpy(c->region, (const uint8_t *)&dev->netcfg + c->offset,
		       c->size < n - c->offset ? c->size : n - c->offset);
	return VHU_REPLY;
}

/* Without VERSION_1 (legacy) the driver may write the MAC, nothing else. */
static bool
writable(const struct vhu_dev *dev, uint32_t offset, uint32_t size)
{
	return (dev->features & VHU_BIT(VHU_F_VERSION_1)) == 0 &&
	       offset + size <= sizeof(dev->netcfg.mac);
}

enum vhu_result
vhu_set_config(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_config_msg *c = &msg->payload.config;
	uint32_t n = sizeof(dev->netcfg);

	if (msg->hdr.size != VHU_CONFIG_HDR_SIZE + c->size)
		return vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "%u bytes for a %u byte config write",
				     msg->hdr.size, c->size);
	if (c->flags != VHU_CONFIG_F_WRITABLE &&
	    c->flags != VHU_CONFIG_F_MIGRATION)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "config flags %u", c->flags);
	if (c->size == 0 || c->offset >= n || c->size > n - c->offset) {
		VHU_WARN("vhost-user %s: SET_CONFIG %u bytes at %u is outside "
			 "the %u byte config space", dev->name, c->size,
			 c->offset, n);
		return VHU_FAIL;
	}
	if (c->flags == VHU_CONFIG_F_WRITABLE &&
	    !writable(dev, c->offset, c->size)) {
		VHU_WARN("vhost-user %s: SET_CONFIG refused: bytes %u..%u are "
			 "read-only", dev->name, c->offset,
			 c->offset + c->size - 1);
		return VHU_FAIL;
	}
	memcpy((uint8_t *)&dev->netcfg + c->offset, c->region, c->size);
	dev->mtu = le16toh(dev->netcfg.mtu);
	if (dev->ops != NULL && dev->ops->config_changed != NULL)
		dev->ops->config_changed(dev);
	return VHU_OK;
}

int
vhu_dev_set_link(struct vhu_dev *dev, bool up)
{
	dev->link_up = up;
	dev->netcfg.status = htole16(up ? VHU_NET_S_LINK_UP : 0);
	if (dev->conn.fd < 0 || !vhu_has_proto(dev, VHU_PF_CONFIG) ||
	    dev->backend.fd < 0)
		return 0;
	return vhu_backend_config_change(dev, NULL);
}

uint16_t
vhu_dev_mtu(const struct vhu_dev *dev)
{
	return dev->mtu;
}

void
vhu_dev_get_mac(const struct vhu_dev *dev, uint8_t mac[6])
{
	memcpy(mac, dev->netcfg.mac, 6);
}
