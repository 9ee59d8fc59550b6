/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/switch: the L2 switch between vhost-user and ethdev ports.
 *
 * One struct sw per process. The control thread (the application's event
 * loop) owns every function here except sw_worker_main(), which each
 * poll-mode worker runs on its own lcore. What the workers read (ports,
 * their rings, VLANs, queue placement, captures) is one immutable plan,
 * swapped and reclaimed with RCU (rte_rcu_qsbr): a change is built on
 * the side, published, and the old plan freed after a grace period.
 */
#ifndef SW_H
#define SW_H

#include <stdbool.h>
#include <stdint.h>

#include "vhu.h"
#include "vq.h"

#define SW_MAX_PORTS		128
#define SW_MAX_WORKERS		32
#define SW_MAX_QUEUES		16	/* queue pairs per port */
#define SW_NAME_MAX		32
#define SW_VLAN_MAX		4095

/* Why the switch dropped a frame: X(name, counter name, description). */
#define SW_DROP_REASONS(X) \
	X(RUNT, "runt", "shorter than an Ethernet header") \
	X(VLAN, "vlan", "VLAN not allowed on the port") \
	X(MTU, "mtu", "larger than the output port's MTU") \
	X(NO_RING, "no_ring", "the output port's ring is not running") \
	X(TX_FULL, "tx_full", "the output queue had no room") \
	X(NO_MBUF, "no_mbuf", "no mbuf to copy or re-tag the frame") \
	X(OFFLOAD, "offload", "an offload the output port cannot do") \
	X(SAME_PORT, "same_port", "the destination is the input port")

#define SW_X_DROP(name, counter, text) SW_DROP_##name,
enum sw_drop { SW_DROP_REASONS(SW_X_DROP) SW_DROP_MAX };
#undef SW_X_DROP

const char *sw_drop_name(enum sw_drop reason);

enum sw_port_type { SW_PORT_VHOST, SW_PORT_ETHDEV };
enum sw_vlan_mode { SW_VLAN_TRUNK, SW_VLAN_ACCESS };

/* A port's VLAN membership; immutable once published. */
struct sw_vlan {
	enum sw_vlan_mode mode;
	uint16_t tag;		/* access: the port's VLAN */
	uint16_t native;	/* trunk: untagged frames belong here */
	bool listed;		/* trunk: only the VLANs in allowed */
	uint64_t allowed[64];	/* trunk: bit per VLAN id */
};

static inline bool
sw_vlan_allowed(const struct sw_vlan *v, uint16_t vid)
{
	if (v->mode == SW_VLAN_ACCESS)
		return vid == v->tag;
	return !v->listed || vid == v->native ||
	       (v->allowed[vid / 64] >> (vid % 64) & 1) != 0;
}

/* What a port is made of. Strings are copied. */
struct sw_port_conf {
	const char *name;
	enum sw_port_type type;
	enum vhu_mode mode;	/* vhost-user */
	const char *path;	/* vhost-user server or client */
	int fd;			/* vhost-user, VHU_MODE_FD */
	const char *devargs;	/* ethdev */
	uint16_t queues;	/* queue pairs; 0 means 1 */
	uint16_t mtu;		/* 0 means 1500 */
	bool no_zero_copy;
	struct sw_vlan vlan;	/* zeroed: trunk of every VLAN, native 0 */
};

/* The application's event loop, used for the vhost-user sockets. */
typedef void (*sw_event_fn)(void *arg, int fd, uint32_t events);
struct sw_loop_ops {
	/* Watch fd for VHU_EV_* events; events == 0 stops watching. */
	int (*watch)(void *ctx, int fd, uint32_t events, sw_event_fn fn,
		     void *arg);
	void *ctx;
};

struct sw_params {
	unsigned int nworkers;		/* 1..SW_MAX_WORKERS */
	const unsigned int *worker_lcores;
	uint32_t mbufs;			/* pool size; default 32768 */
	uint32_t mac_entries;		/* default 65536 */
	uint32_t mac_aging_s;		/* default 300 */
	struct sw_loop_ops loop;
};

struct sw;
struct sw_port;

struct sw *sw_create(const struct sw_params *p);
/* Stops the workers (if running), removes every port, frees. */
void sw_destroy(struct sw *sw);
/* The worker loop; arg is what sw_worker_arg() returns. */
int sw_worker_main(void *arg);
void *sw_worker_arg(struct sw *sw, unsigned int worker);
/* Ask every worker to return from sw_worker_main(). */
void sw_stop_workers(struct sw *sw);

/* Ports. Errors: -errno, with a message in err. */
int sw_port_add(struct sw *sw, const struct sw_port_conf *c,
		char *err, size_t errlen);
int sw_port_del(struct sw *sw, struct sw_port *p);
struct sw_port *sw_port_find(struct sw *sw, const char *name);
struct sw_port *sw_port_by_index(struct sw *sw, unsigned int index);
unsigned int sw_port_count(const struct sw *sw);
int sw_port_set_vlan(struct sw *sw, struct sw_port *p,
		     const struct sw_vlan *v);

/* Timers: milliseconds until sw_timers() is due (never -1). */
int sw_next_timeout_ms(struct sw *sw);
void sw_timers(struct sw *sw);

/* Queue placement. Returns how many rx queues changed worker. */
int sw_rebalance(struct sw *sw);

/* MAC table. */
struct sw_mac_entry {
	uint8_t mac[6];
	uint16_t vlan;
	uint16_t port;		/* port index */
	bool is_static;
	uint32_t age_s;
};
typedef void (*sw_mac_fn)(const struct sw_mac_entry *e, void *arg);
void sw_mac_walk(struct sw *sw, sw_mac_fn fn, void *arg);
int sw_mac_add_static(struct sw *sw, const uint8_t mac[6], uint16_t vlan,
		      struct sw_port *p);
int sw_mac_del(struct sw *sw, const uint8_t mac[6], uint16_t vlan);
/* The (mac, vlan) entry's port index, or -ENOENT. */
int sw_mac_lookup(struct sw *sw, const uint8_t mac[6], uint16_t vlan);
uint32_t sw_mac_aging(const struct sw *sw);

/* Capture one port's traffic to a pcapng file. */
#define SW_CAP_RX	0x1u
#define SW_CAP_TX	0x2u
int sw_capture_start(struct sw *sw, struct sw_port *p, const char *path,
		     unsigned int dir, uint32_t snaplen);
int sw_capture_stop(struct sw *sw, struct sw_port *p, uint64_t *packets,
		    uint64_t *dropped);
/* Path and direction of a running capture, NULL if none. */
const char *sw_capture_info(const struct sw_port *p, unsigned int *dir);

/*
 * Read-only views for statistics and the control socket. A thread other
 * than the control thread (telemetry) holds sw_lock() around them.
 */
void sw_lock(struct sw *sw);
void sw_unlock(struct sw *sw);
struct sw_port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drops[SW_DROP_MAX];
};
struct sw_rxq_info {
	int worker;		/* -1 when not placed */
	uint64_t packets, bytes;
	uint64_t cycles;	/* of its polls that received frames */
};
struct sw_worker_stats {
	unsigned int lcore;
	uint64_t busy_cycles, idle_cycles, packets, iterations;
};
/*
 * The switch's mbuf pool. in_use counts mbufs held anywhere (rings, lent
 * zero-copy buffers, frames in flight); the per-lcore caches count as
 * available. Exact only while the workers are idle.
 */
struct sw_pool_stats {
	const char *name;
	unsigned int size, cache_size, available, in_use;
};

const char *sw_port_name(const struct sw_port *p);
unsigned int sw_port_index(const struct sw_port *p);
enum sw_port_type sw_port_type(const struct sw_port *p);
const struct sw_port_conf *sw_port_conf(const struct sw_port *p);
const struct sw_vlan *sw_port_vlan(const struct sw_port *p);
uint16_t sw_port_mtu(const struct sw_port *p);
struct vhu_dev *sw_port_vhu(const struct sw_port *p);
uint16_t sw_port_ethdev(const struct sw_port *p);
void sw_port_stats(const struct sw *sw, const struct sw_port *p,
		   struct sw_port_stats *out);
void sw_rxq_info(const struct sw_port *p, unsigned int q,
		 struct sw_rxq_info *out);
/* Cumulative counters of vhost-user ring idx (across reconnects). */
void sw_ring_stats(const struct sw_port *p, unsigned int ring,
		   struct vq_stats *out, bool *running, bool *broken);
unsigned int sw_worker_count(const struct sw *sw);
void sw_worker_stats(const struct sw *sw, unsigned int w,
		     struct sw_worker_stats *out);
void sw_pool_stats(const struct sw *sw, struct sw_pool_stats *out);

#endif /* SW_H */
