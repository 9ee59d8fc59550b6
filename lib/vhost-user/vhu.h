/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/vhost-user: the back-end side of the vhost-user protocol.
 *
 * Plain C on Linux APIs: no DPDK, no threads, no event loop of its own.
 * The application's loop is told which fds to watch through ops->watch()
 * and hands readiness back with vhu_dev_handle_event(); timers (client
 * reconnect, back-end request timeouts) are driven the same way through
 * vhu_dev_next_timeout_ms() and vhu_dev_handle_timeout().
 *
 * What the data path consumes (rings, memory table, dirty log, IOTLB) is
 * published in struct vhu_vring and struct vhu_dp; it only changes while
 * the application has quiesced the device (ops->quiesce .. ops->resume).
 */
#ifndef VHU_H
#define VHU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu_proto.h"

struct vhu_dev;

/* Most memory slots we accept (GET_MAX_MEM_SLOTS). */
#define VHU_MAX_MEM_SLOTS	509
/* Most queue pairs one device may have (vring index fits in 8 bits). */
#define VHU_MAX_QUEUE_PAIRS	128
#define VHU_MAX_VRINGS		(2 * VHU_MAX_QUEUE_PAIRS)

/*
 * Events for ops->watch and vhu_dev_handle_event.
 *
 * Call and error fds may be pipes: an application must ignore or block
 * SIGPIPE, as a network program does anyway.
 */
#define VHU_EV_IN	0x1u
#define VHU_EV_OUT	0x2u
#define VHU_EV_ERR	0x4u

enum vhu_mode {
	VHU_MODE_SERVER,	/* listen on path; one front-end at a time */
	VHU_MODE_CLIENT,	/* connect to path; reconnect with back-off */
	VHU_MODE_FD,		/* pre-opened fd: listening or connected */
};

/* The spec's three ring states. */
enum vhu_ring_state {
	VHU_RING_STOPPED,
	VHU_RING_DISABLED,	/* started but disabled */
	VHU_RING_ENABLED,	/* started and enabled */
};

/* The rule a message broke; every violation names one. */
#define VHU_RULES(X) \
	X(NONE, "none") \
	X(VERSION, "header version") \
	X(SIZE, "payload size") \
	X(FDS, "file descriptor count") \
	X(UNKNOWN, "unknown request") \
	X(DEVICE_TYPE, "message for another device type") \
	X(FEATURE, "feature not negotiated") \
	X(STATE, "message in the wrong state") \
	X(INDEX, "ring index out of range") \
	X(VALUE, "invalid value") \
	X(OVERLAP, "memory region overlap") \
	X(REGION, "memory region invalid") \
	X(UNMAPPED, "address not mapped") \
	X(RESOURCE, "resource exhausted") \
	X(IO, "socket error")

#define VHU_X_RULE(name, text) VHU_RULE_##name,
enum vhu_rule { VHU_RULES(VHU_X_RULE) VHU_RULE_MAX };
#undef VHU_X_RULE

const char *vhu_rule_name(enum vhu_rule rule);

/* One mapped memory region. */
struct vhu_mem_region {
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	uint64_t uva;		/* front-end virtual address */
	uint64_t mmap_offset;
	uint8_t *hva;		/* where gpa is mapped here */
	void *map_base;		/* what mmap returned */
	size_t map_len;
	int fd;
	uint32_t refs;		/* ADD_MEM_REG of this very region */
	bool leaving;		/* REM_MEM_REG came, other queue pairs hold it */
};

/* The memory table: regions sorted by guest physical address. */
struct vhu_mem {
	uint32_t nregions;
	struct vhu_mem_region regions[VHU_MAX_MEM_SLOTS];
};

/* One IOTLB entry, resolved to a host address when it was installed. */
struct vhu_iotlb_entry {
	uint64_t iova;
	uint64_t size;
	uint64_t uva;
	uint8_t *hva;
	uint64_t stamp;		/* install order, to evict the oldest */
	uint8_t perm;
};

struct vhu_iotlb {
	uint32_t n;
	uint32_t cap;
	uint64_t clock;
	struct vhu_iotlb_entry *e;	/* sorted by iova, not overlapping */
};

/*
 * What the data path reads, shared by all rings of a device. Stable
 * while the device is not quiesced.
 */
struct vhu_dp {
	uint64_t features;		/* negotiated device features */
	const struct vhu_mem *mem;
	uint8_t *log_base;		/* dirty log, NULL when not set */
	uint64_t log_size;		/* in bytes */
	bool log_all;			/* VHOST_F_LOG_ALL negotiated */
	bool iommu;			/* VIRTIO_F_IOMMU_PLATFORM negotiated */
	const struct vhu_iotlb *iotlb;
	/*
	 * Counters workers add to while migrating: on a line of their
	 * own, away from what every descriptor reads.
	 */
	uint64_t log_dropped __attribute__((aligned(64))); /* outside the
							   * log's size */
	uint64_t log_writes;		/* writes marked in the log */
};

/* Inflight tracking layouts from the spec. */
struct vhu_inflight_split_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};

struct vhu_inflight_split {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vhu_inflight_split_desc desc[];
};

struct vhu_inflight_packed_desc {
	uint8_t inflight;
	uint8_t padding;
	uint16_t next;
	uint16_t last;
	uint16_t num;
	uint64_t counter;
	uint16_t id;
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
};

struct vhu_inflight_packed {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t free_head;
	uint16_t old_free_head;
	uint16_t used_idx;
	uint16_t old_used_idx;
	uint8_t used_wrap_counter;
	uint8_t old_used_wrap_counter;
	uint8_t padding[7];
	struct vhu_inflight_packed_desc desc[];
};

/*
 * One virtqueue. The first block is what the data path uses; the rest is
 * protocol state owned by the control thread.
 */
struct vhu_vring {
	/* data path view */
	struct vhu_dp *dp;
	void *desc;			/* split: vring_desc[], packed: descs */
	void *avail;			/* split: vring_avail, packed: driver event */
	void *used;			/* split: vring_used, packed: device event */
	uint16_t size;
	uint16_t last_avail_idx;	/* packed: bits 0-14 */
	uint16_t last_used_idx;		/* packed: bits 0-14 */
	bool avail_wrap;		/* packed ring wrap counters */
	bool used_wrap;
	bool packed;
	bool big_endian;		/* SET_VRING_ENDIAN, legacy only */
	bool log_used;			/* VHOST_VRING_F_LOG */
	uint64_t log_guest_addr;	/* where used-ring writes are logged */
	int kick_fd;
	int call_fd;
	int err_fd;
	union {
		struct vhu_inflight_split *split;
		struct vhu_inflight_packed *packed;
	} inflight;
	uint64_t inflight_counter;
	uint16_t inflight_num;		/* entries per queue, ours to trust */

	/* control state */
	struct vhu_dev *dev;
	uint16_t index;
	bool num_set;
	bool addr_set;
	bool kick_set;			/* SET_VRING_KICK seen (fd or polling) */
	bool kick_watched;		/* the loop watches kick_fd for us */
	bool started;
	bool enabled;
	bool broken;			/* the data path found it hostile */
	bool call_pending;		/* in-band call for the control thread */
	bool err_pending;
	bool addr_pending;		/* kicked, waiting for memory or IOTLB */
	bool miss_pending;		/* the data path wants an IOTLB entry */
	uint8_t miss_perm;
	uint64_t miss_iova;
	uint32_t addr_flags;
	uint64_t desc_addr;		/* as the front-end sent them */
	uint64_t avail_addr;
	uint64_t used_addr;
};

/* Callbacks from the library into the application. All are optional. */
struct vhu_dev_ops {
	/* Watch fd for events (VHU_EV_*); events == 0 stops watching it. */
	int (*watch)(struct vhu_dev *dev, int fd, uint32_t events);
	void (*connected)(struct vhu_dev *dev);
	/* The connection ended; every ring is stopped and memory unmapped. */
	void (*disconnected)(struct vhu_dev *dev);
	/*
	 * Workers must stop touching this device's rings, memory and log
	 * until resume; quiesce returns once that holds (an RCU grace
	 * period in the switch).
	 */
	void (*quiesce)(struct vhu_dev *dev);
	void (*resume)(struct vhu_dev *dev);
	void (*vring_state)(struct vhu_dev *dev, uint16_t idx,
			    enum vhu_ring_state state);
	void (*features_changed)(struct vhu_dev *dev, uint64_t features);
	void (*send_rarp)(struct vhu_dev *dev, const uint8_t mac[6]);
	/* Return 0 if the MTU is acceptable, a negative errno if not. */
	int (*set_mtu)(struct vhu_dev *dev, uint16_t mtu);
	void (*config_changed)(struct vhu_dev *dev);
	void (*status_changed)(struct vhu_dev *dev, uint8_t status);
	/* A ring's inflight area is ready after SET_INFLIGHT_FD (reconnect). */
	void (*inflight_ready)(struct vhu_dev *dev, uint16_t idx);
};

struct vhu_dev_params {
	const char *name;		/* for logs; defaults to path */
	enum vhu_mode mode;
	const char *path;		/* SERVER and CLIENT modes */
	int fd;				/* FD mode: owned by the device from
					 * vhu_dev_create on, closed by it */
	uint64_t features;		/* device features to offer */
	uint64_t protocol_features;	/* mask; 0 means all implemented */
	uint16_t max_queue_pairs;	/* 1..VHU_MAX_QUEUE_PAIRS */
	uint32_t reconnect_min_ms;	/* client back-off, default 100 */
	uint32_t reconnect_max_ms;	/* default 5000 */
	uint32_t backend_timeout_ms;	/* back-end request reply, default 5000 */
	uint8_t mac[6];			/* virtio-net config space */
	uint16_t mtu;
	const struct vhu_dev_ops *ops;
	void *opaque;
};

/* Protocol features this library implements and can advertise. */
uint64_t vhu_protocol_features_implemented(void);
/* Device features the protocol library itself handles (LOG_ALL, ...). */
uint64_t vhu_features_protocol_level(void);

struct vhu_dev *vhu_dev_create(const struct vhu_dev_params *p);
/* Listen, connect or adopt the fd; registers watches. 0 or -errno. */
int vhu_dev_start(struct vhu_dev *dev);
void vhu_dev_destroy(struct vhu_dev *dev);
void vhu_dev_handle_event(struct vhu_dev *dev, int fd, uint32_t events);
/* Milliseconds until vhu_dev_handle_timeout is due, -1 for never. */
int vhu_dev_next_timeout_ms(const struct vhu_dev *dev);
void vhu_dev_handle_timeout(struct vhu_dev *dev);
/* End the current connection (a hostile guest, an operator command). */
void vhu_dev_disconnect(struct vhu_dev *dev, const char *why);

const char *vhu_dev_name(const struct vhu_dev *dev);
void *vhu_dev_opaque(const struct vhu_dev *dev);
bool vhu_dev_connected(const struct vhu_dev *dev);
/* The eventfd workers wake the control thread with (watched once started). */
int vhu_dev_notify_fd(const struct vhu_dev *dev);
uint64_t vhu_dev_features(const struct vhu_dev *dev);
uint64_t vhu_dev_features_offered(const struct vhu_dev *dev);
uint64_t vhu_dev_protocol_features(const struct vhu_dev *dev);
uint64_t vhu_dev_protocol_features_offered(const struct vhu_dev *dev);
uint8_t vhu_dev_status(const struct vhu_dev *dev);
uint16_t vhu_dev_mtu(const struct vhu_dev *dev);
void vhu_dev_get_mac(const struct vhu_dev *dev, uint8_t mac[6]);
unsigned int vhu_dev_nr_vrings(const struct vhu_dev *dev);
struct vhu_vring *vhu_dev_vring(struct vhu_dev *dev, unsigned int idx);
enum vhu_ring_state vhu_vring_state(const struct vhu_vring *vr);
struct vhu_dp *vhu_dev_dp(struct vhu_dev *dev);
/* Violations seen since creation, per rule, and the last one's rule. */
uint64_t vhu_dev_violations(const struct vhu_dev *dev, enum vhu_rule rule);
enum vhu_rule vhu_dev_last_violation(const struct vhu_dev *dev);
uint64_t vhu_dev_connections(const struct vhu_dev *dev);

/* Set the link bit of the config space; tells the front-end if it can. */
int vhu_dev_set_link(struct vhu_dev *dev, bool up);

/*
 * Address translation, bounds-checked: the whole [addr, addr + len)
 * must lie inside one region, or NULL is returned.
 */
static inline const struct vhu_mem_region *
vhu_mem_find_gpa(const struct vhu_mem *m, uint64_t gpa)
{
	uint32_t lo = 0, hi = m->nregions;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		const struct vhu_mem_region *r = &m->regions[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* The region that holds all of [gpa, gpa + len), or NULL. */
static inline const struct vhu_mem_region *
vhu_mem_find_range(const struct vhu_mem *m, uint64_t gpa, uint64_t len)
{
	const struct vhu_mem_region *r;

	if (m == NULL)
		return NULL;
	r = vhu_mem_find_gpa(m, gpa);
	if (r == NULL || len > r->size - (gpa - r->gpa))
		return NULL;
	return r;
}

static inline void *
vhu_gpa_to_hva(const struct vhu_mem *m, uint64_t gpa, uint64_t len)
{
	const struct vhu_mem_region *r = vhu_mem_find_range(m, gpa, len);

	return r == NULL ? NULL : r->hva + (gpa - r->gpa);
}

void *vhu_uva_to_hva(const struct vhu_mem *m, uint64_t uva, uint64_t len);
/* Guest physical address of a host address inside a region, or -1. */
uint64_t vhu_hva_to_gpa(const struct vhu_mem *m, const void *hva);

/*
 * Data path translation of a descriptor address: through the IOTLB when
 * VIRTIO_F_IOMMU_PLATFORM is negotiated, else as a guest physical
 * address. perm is VHU_ACCESS_RO/WO/RW. NULL on miss or out of bounds.
 */
void *vhu_dp_translate_iommu(const struct vhu_dp *dp, uint64_t addr,
			     uint64_t len, uint8_t perm);

static inline void *
vhu_dp_translate(const struct vhu_dp *dp, uint64_t addr, uint64_t len,
		 uint8_t perm)
{
	if (__builtin_expect(!dp->iommu, 1))
		return vhu_gpa_to_hva(dp->mem, addr, len);
	return vhu_dp_translate_iommu(dp, addr, len, perm);
}
/*
 * For a data path that translates many addresses in a row, most of them
 * in one region: that region's bounds, loaded once into a struct vhu_hot
 * (registers), are tried first, and only a miss searches. The hint is the
 * index of the region the last miss found; any value is safe, an index
 * the current table does not have only makes every lookup miss.
 */
struct vhu_hot {
	uint64_t gpa;
	uint64_t size;		/* 0: nothing to try (IOMMU, no table) */
	uint8_t *hva;
};

static inline void
vhu_hot_load(const struct vhu_dp *dp, uint32_t hint, struct vhu_hot *h)
{
	const struct vhu_mem *m = dp->mem;

	if (__builtin_expect(!dp->iommu && m != NULL && hint < m->nregions,
			     1)) {
		h->gpa = m->regions[hint].gpa;
		h->size = m->regions[hint].size;
		h->hva = m->regions[hint].hva;
	} else {
		*h = (struct vhu_hot){ .size = 0 };
	}
}

/* Whether [addr, addr + len) is inside the hot region, and len > 0. */
static inline bool
vhu_hot_has(const struct vhu_hot *h, uint64_t addr, uint64_t len)
{
	uint64_t off = addr - h->gpa;

	return off < h->size && len - 1 < h->size - off;
}

/* [addr, addr + len) inside the hot region, len > 0: its address, or NULL. */
static inline void *
vhu_hot_translate(const struct vhu_hot *h, uint64_t addr, uint64_t len)
{
	if (__builtin_expect(vhu_hot_has(h, addr, len), 1))
		return h->hva + (addr - h->gpa);
	return NULL;
}

/* vhu_dp_translate() that records in *hint the region it found. */
void *vhu_dp_translate_miss(const struct vhu_dp *dp, uint64_t addr,
			    uint64_t len, uint8_t perm, uint32_t *hint);

/*
 * The same, for as much of [addr, addr + len) as is contiguous here: the
 * host address of addr and, in *got (1..len), how many bytes follow it.
 * A buffer that crosses regions or IOTLB entries is copied piece by piece.
 */
void *vhu_dp_translate_part(const struct vhu_dp *dp, uint64_t addr,
			    uint64_t len, uint8_t perm, uint64_t *got);
/*
 * From any thread: ask the front-end for an IOTLB entry (the control
 * thread sends the miss). Requests made before it runs coalesce.
 */
void vhu_vring_iotlb_miss(struct vhu_vring *vr, uint64_t iova, uint8_t perm);

/* Dirty log: mark [gpa, gpa + len) as written, atomically. */
static inline void
vhu_log_page(uint8_t *log, uint64_t page)
{
	uint8_t bit = (uint8_t)(1u << (page % 8));

	if ((__atomic_load_n(&log[page / 8], __ATOMIC_RELAXED) & bit) == 0)
		__atomic_fetch_or(&log[page / 8], bit, __ATOMIC_RELAXED);
}

void vhu_log_write(struct vhu_dp *dp, uint64_t gpa, uint64_t len);
/* Mark a write of len bytes at offset in the used ring of vr. */
void vhu_log_used(struct vhu_vring *vr, uint64_t offset, uint64_t len);
/* Tell the front-end the log changed (SET_LOG_FD), if it gave an fd. */
void vhu_log_notify(struct vhu_dev *dev);

/*
 * Guest notification, from any thread: the call eventfd, or with
 * INBAND_NOTIFICATIONS and no fd an in-band VRING_CALL, which the control
 * thread sends when it next handles the device's notify fd.
 */
int vhu_vring_call(struct vhu_vring *vr);
int vhu_vring_signal_error(struct vhu_vring *vr);
/*
 * The data path found the ring hostile. From any thread: logs once and
 * wakes the control thread, which ends the connection (resetting the
 * device) the next time it handles the device's notify fd.
 */
void vhu_vring_mark_broken(struct vhu_vring *vr, const char *why);

/*
 * Inflight tracking (INFLIGHT_SHMFD), following the spec's procedures.
 * All are no-ops while the ring has no inflight area.
 *
 * Split ring: get() when a head is fetched from the avail ring; when
 * supplying used buffers, used_begin() before publishing the used index
 * and used_end() after it.
 */
void vhu_inflight_split_get(struct vhu_vring *vr, uint16_t head);
void vhu_inflight_split_used_begin(struct vhu_vring *vr,
				   const uint16_t *heads, unsigned int n);
void vhu_inflight_split_used_end(struct vhu_vring *vr, const uint16_t *heads,
				 unsigned int n, uint16_t used_idx);
/*
 * Reconnect: repair the last batch against the ring's used index, then
 * write the heads still in flight, oldest first, into heads[] (at most
 * max). Returns how many.
 */
int vhu_inflight_split_recover(struct vhu_vring *vr, uint16_t ring_used_idx,
			       uint16_t *heads, unsigned int max);

/*
 * Packed ring: get() for every descriptor fetched, returning the entry
 * that tracks its chain (valid for the head). When supplying used
 * buffers: used_begin() with the chains' entries and the new used index
 * and wrap counter, then write the descriptors' flags, then used_end().
 */
uint16_t vhu_inflight_packed_get(struct vhu_vring *vr, bool head, bool last,
				 uint16_t id, uint16_t flags, uint32_t len,
				 uint64_t addr);
void vhu_inflight_packed_used_begin(struct vhu_vring *vr,
				    const uint16_t *entries, unsigned int n,
				    uint16_t used_idx, bool used_wrap);
void vhu_inflight_packed_used_end(struct vhu_vring *vr,
				  const uint16_t *entries, unsigned int n);
/* Reconnect: roll back or commit the last batch, list what is in flight. */
int vhu_inflight_packed_recover(struct vhu_vring *vr, uint16_t *entries,
				unsigned int max);
/* Per-queue size of the inflight area for a ring layout and size. */
uint64_t vhu_inflight_queue_size(bool packed, uint16_t queue_size);

/*
 * Back-end channel requests. Each is sent at once; when need_reply is set
 * (and REPLY_ACK is negotiated) done() runs with the front-end's answer,
 * or with -ETIMEDOUT / -ECONNRESET. Without a reply, done() runs with 0
 * once the message is written. Return 0 or -errno (-ENOTSUP when the
 * feature the message needs was not negotiated).
 */
typedef void (*vhu_backend_done_fn)(struct vhu_dev *dev, int result,
				    uint64_t value, int fd, void *opaque);

struct vhu_backend_req {
	bool need_reply;
	vhu_backend_done_fn done;
	void *opaque;
};

int vhu_backend_config_change(struct vhu_dev *dev,
			      const struct vhu_backend_req *req);
int vhu_backend_iotlb(struct vhu_dev *dev, uint8_t type, uint64_t iova,
		      uint8_t perm, const struct vhu_backend_req *req);
int vhu_backend_host_notifier(struct vhu_dev *dev, uint16_t idx, int fd,
			      uint64_t size, uint64_t offset,
			      const struct vhu_backend_req *req);
int vhu_backend_vring_call(struct vhu_dev *dev, uint16_t idx,
			   const struct vhu_backend_req *req);
int vhu_backend_vring_err(struct vhu_dev *dev, uint16_t idx,
			  const struct vhu_backend_req *req);
/* Export fd under uuid: kept here so GET_SHARED_OBJECT can answer. */
int vhu_backend_shared_object_add(struct vhu_dev *dev, const uint8_t uuid[16],
				  int fd, const struct vhu_backend_req *req);
int vhu_backend_shared_object_remove(struct vhu_dev *dev,
				     const uint8_t uuid[16],
				     const struct vhu_backend_req *req);
/* The reply carries the fd in done(); it always asks for a reply. */
int vhu_backend_shared_object_lookup(struct vhu_dev *dev,
				     const uint8_t uuid[16],
				     vhu_backend_done_fn done, void *opaque);
int vhu_backend_shmem_map(struct vhu_dev *dev, uint8_t shmid, int fd,
			  uint64_t fd_offset, uint64_t shm_offset,
			  uint64_t len, bool writable,
			  const struct vhu_backend_req *req);
int vhu_backend_shmem_unmap(struct vhu_dev *dev, uint8_t shmid,
			    uint64_t shm_offset, uint64_t len,
			    const struct vhu_backend_req *req);
bool vhu_backend_channel_open(const struct vhu_dev *dev);

/* Whether userfaultfd works here for shared memory (postcopy). */
bool vhu_postcopy_supported(void);

/* Logging: the library reports through this hook (default: stderr). */
enum vhu_log_level { VHU_LOG_ERR, VHU_LOG_WARNING, VHU_LOG_INFO, VHU_LOG_DEBUG };
typedef void (*vhu_log_fn)(enum vhu_log_level level, const char *line);
void vhu_set_log_fn(vhu_log_fn fn);
void vhu_set_log_level(enum vhu_log_level level);

#endif /* VHU_H */
