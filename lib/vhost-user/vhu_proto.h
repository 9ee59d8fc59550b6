/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user wire format: message ids, feature bits and payload layouts.
 *
 * Every message id and feature bit lives in one of the X-macro tables
 * below, so that a renumbering upstream is a one-line change here.
 * All numbers on the wire are in host byte order.
 */
#ifndef VHU_PROTO_H
#define VHU_PROTO_H

#include <stdint.h>

/*
 * Front-end requests: X(name, id). The dispatch rules for each id are in
 * vhu_dispatch.c; this table only names them.
 */
#define VHU_FRONTEND_REQUESTS(X) \
	X(GET_FEATURES, 1) \
	X(SET_FEATURES, 2) \
	X(SET_OWNER, 3) \
	X(RESET_OWNER, 4) \
	X(SET_MEM_TABLE, 5) \
	X(SET_LOG_BASE, 6) \
	X(SET_LOG_FD, 7) \
	X(SET_VRING_NUM, 8) \
	X(SET_VRING_ADDR, 9) \
	X(SET_VRING_BASE, 10) \
	X(GET_VRING_BASE, 11) \
	X(SET_VRING_KICK, 12) \
	X(SET_VRING_CALL, 13) \
	X(SET_VRING_ERR, 14) \
	X(GET_PROTOCOL_FEATURES, 15) \
	X(SET_PROTOCOL_FEATURES, 16) \
	X(GET_QUEUE_NUM, 17) \
	X(SET_VRING_ENABLE, 18) \
	X(SEND_RARP, 19) \
	X(NET_SET_MTU, 20) \
	X(SET_BACKEND_REQ_FD, 21) \
	X(IOTLB_MSG, 22) \
	X(SET_VRING_ENDIAN, 23) \
	X(GET_CONFIG, 24) \
	X(SET_CONFIG, 25) \
	X(CREATE_CRYPTO_SESSION, 26) \
	X(CLOSE_CRYPTO_SESSION, 27) \
	X(POSTCOPY_ADVISE, 28) \
	X(POSTCOPY_LISTEN, 29) \
	X(POSTCOPY_END, 30) \
	X(GET_INFLIGHT_FD, 31) \
	X(SET_INFLIGHT_FD, 32) \
	X(GPU_SET_SOCKET, 33) \
	X(RESET_DEVICE, 34) \
	X(VRING_KICK, 35) \
	X(GET_MAX_MEM_SLOTS, 36) \
	X(ADD_MEM_REG, 37) \
	X(REM_MEM_REG, 38) \
	X(SET_STATUS, 39) \
	X(GET_STATUS, 40) \
	X(GET_SHARED_OBJECT, 41) \
	X(SET_DEVICE_STATE_FD, 42) \
	X(CHECK_DEVICE_STATE, 43)

/* Back-end requests, sent on the back-end channel: X(name, id). */
#define VHU_BACKEND_REQUESTS(X) \
	X(IOTLB_MSG, 1) \
	X(CONFIG_CHANGE_MSG, 2) \
	X(VRING_HOST_NOTIFIER_MSG, 3) \
	X(VRING_CALL, 4) \
	X(VRING_ERR, 5) \
	X(SHARED_OBJECT_ADD, 6) \
	X(SHARED_OBJECT_REMOVE, 7) \
	X(SHARED_OBJECT_LOOKUP, 8) \
	X(SHMEM_MAP, 9) \
	X(SHMEM_UNMAP, 10)

/* Protocol feature bits: X(name, bit). */
#define VHU_PROTOCOL_FEATURES(X) \
	X(MQ, 0) \
	X(LOG_SHMFD, 1) \
	X(RARP, 2) \
	X(REPLY_ACK, 3) \
	X(MTU, 4) \
	X(BACKEND_REQ, 5) \
	X(CROSS_ENDIAN, 6) \
	X(CRYPTO_SESSION, 7) \
	X(PAGEFAULT, 8) \
	X(CONFIG, 9) \
	X(BACKEND_SEND_FD, 10) \
	X(HOST_NOTIFIER, 11) \
	X(INFLIGHT_SHMFD, 12) \
	X(RESET_DEVICE, 13) \
	X(INBAND_NOTIFICATIONS, 14) \
	X(CONFIGURE_MEM_SLOTS, 15) \
	X(STATUS, 16) \
	X(XEN_MMAP, 17) \
	X(SHARED_OBJECT, 18) \
	X(DEVICE_STATE, 19) \
	X(SHMEM, 20)

#define VHU_X_ENUM_REQ(name, id) VHU_REQ_##name = id,
enum vhu_request {
	VHU_REQ_NONE = 0,
	VHU_FRONTEND_REQUESTS(VHU_X_ENUM_REQ)
	VHU_REQ_MAX
};
#undef VHU_X_ENUM_REQ

#define VHU_X_ENUM_BREQ(name, id) VHU_BREQ_##name = id,
enum vhu_backend_request {
	VHU_BREQ_NONE = 0,
	VHU_BACKEND_REQUESTS(VHU_X_ENUM_BREQ)
	VHU_BREQ_MAX
};
#undef VHU_X_ENUM_BREQ

#define VHU_X_ENUM_PF(name, bit) VHU_PF_##name = bit,
enum vhu_protocol_feature {
	VHU_PROTOCOL_FEATURES(VHU_X_ENUM_PF)
	VHU_PF_MAX
};
#undef VHU_X_ENUM_PF

#define VHU_BIT(b) (1ULL << (b))

/* Device feature bits the protocol itself refers to. */
#define VHU_F_NOTIFY_ON_EMPTY		24
#define VHU_F_LOG_ALL			26	/* VHOST_F_LOG_ALL */
#define VHU_F_ANY_LAYOUT		27
#define VHU_F_RING_INDIRECT_DESC	28
#define VHU_F_RING_EVENT_IDX		29
#define VHU_F_PROTOCOL_FEATURES		30	/* VHOST_USER_F_PROTOCOL_FEATURES */
#define VHU_F_VERSION_1			32
#define VHU_F_ACCESS_PLATFORM		33	/* VIRTIO_F_IOMMU_PLATFORM */
#define VHU_F_RING_PACKED		34
#define VHU_F_IN_ORDER			35

/* virtio-net device feature bits. */
#define VHU_NET_F_CSUM			0
#define VHU_NET_F_GUEST_CSUM		1
#define VHU_NET_F_MTU			3
#define VHU_NET_F_MAC			5
#define VHU_NET_F_GUEST_TSO4		7
#define VHU_NET_F_GUEST_TSO6		8
#define VHU_NET_F_GUEST_ECN		9
#define VHU_NET_F_GUEST_UFO		10
#define VHU_NET_F_HOST_TSO4		11
#define VHU_NET_F_HOST_TSO6		12
#define VHU_NET_F_HOST_ECN		13
#define VHU_NET_F_HOST_UFO		14
#define VHU_NET_F_MRG_RXBUF		15
#define VHU_NET_F_STATUS		16
#define VHU_NET_F_CTRL_VQ		17
#define VHU_NET_F_CTRL_RX		18
#define VHU_NET_F_CTRL_VLAN		19
#define VHU_NET_F_GUEST_ANNOUNCE	21
#define VHU_NET_F_MQ			22
#define VHU_NET_F_CTRL_MAC_ADDR		23

/* Header flags. */
#define VHU_VERSION			0x1
#define VHU_VERSION_MASK		0x3
#define VHU_FLAG_REPLY			(1u << 2)
#define VHU_FLAG_NEED_REPLY		(1u << 3)
#define VHU_FLAGS_KNOWN			(VHU_VERSION_MASK | VHU_FLAG_REPLY | \
					 VHU_FLAG_NEED_REPLY)

/* Limits of the wire format. */
#define VHU_MAX_FDS			8	/* fds in one message */
#define VHU_MEM_TABLE_REGIONS		8	/* regions in SET_MEM_TABLE */
#define VHU_MAX_CONFIG_SIZE		256	/* GET/SET_CONFIG payload */
#define VHU_VRING_IDX_MASK		0xffu	/* SET_VRING_KICK/CALL/ERR */
#define VHU_VRING_NOFD_MASK		(1u << 8)
#define VHU_VRING_F_LOG			0	/* vring address flag bit */
#define VHU_LOG_PAGE			0x1000
#define VHU_MAX_VRING_SIZE		32768

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhu_mem_region_desc {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vhu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region_desc regions[VHU_MEM_TABLE_REGIONS];
};

struct vhu_mem_reg_msg {
	uint64_t padding;
	struct vhu_mem_region_desc region;
};

struct vhu_log_desc {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};

/* IOTLB message types and permissions. */
#define VHU_IOTLB_MISS			1
#define VHU_IOTLB_UPDATE		2
#define VHU_IOTLB_INVALIDATE		3
#define VHU_IOTLB_ACCESS_FAIL		4
#define VHU_ACCESS_RO			1
#define VHU_ACCESS_WO			2
#define VHU_ACCESS_RW			3

struct vhu_iotlb_msg {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;
	uint8_t type;
};

#define VHU_CONFIG_HDR_SIZE		12
#define VHU_CONFIG_F_WRITABLE		0
#define VHU_CONFIG_F_MIGRATION		1

struct vhu_config_msg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHU_MAX_CONFIG_SIZE];
};

struct vhu_vring_area {
	uint64_t u64;
	uint64_t size;
	uint64_t offset;
};
#define VHU_VRING_AREA_NOFD		(1ULL << 8)

struct vhu_inflight_desc {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

struct vhu_shared_msg {
	uint8_t uuid[16];
};

struct vhu_device_state_msg {
	uint32_t direction;
	uint32_t phase;
};

#define VHU_SHMEM_MAP_RW		1ULL
struct vhu_mmap_msg {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

/* A message as it travels: header, payload union, and the fds with it. */
union vhu_payload {
	uint64_t u64;
	struct vhu_vring_state state;
	struct vhu_vring_addr addr;
	struct vhu_mem_table mem;
	struct vhu_mem_reg_msg mem_reg;
	struct vhu_log_desc log;
	struct vhu_iotlb_msg iotlb;
	struct vhu_config_msg config;
	struct vhu_vring_area area;
	struct vhu_inflight_desc inflight;
	struct vhu_shared_msg shared;
	struct vhu_device_state_msg dstate;
	struct vhu_mmap_msg mmap;
	uint8_t raw[VHU_CONFIG_HDR_SIZE + VHU_MAX_CONFIG_SIZE];
};

#define VHU_MAX_PAYLOAD			sizeof(union vhu_payload)

struct vhu_msg {
	struct vhu_hdr hdr;
	union vhu_payload payload;
	int fds[VHU_MAX_FDS];
	unsigned int nfds;
};

/* virtio-net configuration space, as the driver reads it (little endian). */
struct vhu_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
	uint32_t speed;
	uint8_t duplex;
} __attribute__((packed));

#define VHU_NET_S_LINK_UP		1
#define VHU_NET_S_ANNOUNCE		2

/* virtio device status bits. */
#define VHU_STATUS_ACKNOWLEDGE		1
#define VHU_STATUS_DRIVER		2
#define VHU_STATUS_DRIVER_OK		4
#define VHU_STATUS_FEATURES_OK		8
#define VHU_STATUS_NEEDS_RESET		64
#define VHU_STATUS_FAILED		128

const char *vhu_request_name(uint32_t request);
const char *vhu_backend_request_name(uint32_t request);
const char *vhu_protocol_feature_name(unsigned int bit);
/* A device feature bit's name (virtio-net and transport bits). */
const char *vhu_feature_name(unsigned int bit);

#endif /* VHU_PROTO_H */
