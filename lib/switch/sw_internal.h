/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/switch internals: the port object the control thread owns, the
 * plan the workers read, the MAC table and the worker state.
 */
#ifndef SW_INTERNAL_H
#define SW_INTERNAL_H

#include <pthread.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_log.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "sw.h"

extern int sw_logtype;
#define SW_LOG(level, ...) \
	rte_log(RTE_LOG_##level, sw_logtype, "vuswitch: " __VA_ARGS__)

#define SW_BURST		64	/* frames per poll; a hash bulk lookup at most */
#define SW_TXBUF		64	/* frames buffered per output port */
#define SW_MAX_POLLS		256	/* rx queues one worker may poll */
#define SW_DIRECT_WAIT		16	/* polls after a burst not guest to guest */
#define SW_INJECT_RING		1024

/* Counters one worker keeps for one port; only that worker writes. */
struct sw_wstats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drops[SW_DROP_MAX];
} __rte_cache_aligned;

/* Counters of one rx queue; only the worker polling it writes. */
struct sw_rxq_stats {
	uint64_t packets, bytes, cycles;
	uint64_t cycles_mark;	/* cycles at the last rebalance */
} __rte_cache_aligned;

struct sw_capture;

/* A port as the control thread keeps it. */
struct sw_port {
	struct sw *sw;
	uint16_t index;
	char name[SW_NAME_MAX];
	struct sw_port_conf conf;	/* strings below */
	char *path;
	char *devargs;
	uint16_t nq;			/* queue pairs */
	uint16_t mtu;
	bool zero_copy;
	const struct sw_vlan *vlan;	/* published; replaced whole */
	/* vhost-user */
	struct vhu_dev *dev;
	bool quiesced;
	struct vq *vq[2 * SW_MAX_QUEUES];	/* running rings */
	struct vq_stats vq_acc[2 * SW_MAX_QUEUES];	/* freed rings */
	/* ethdev */
	uint16_t eth_port;
	bool eth_started;
	uint64_t eth_tx_offloads;
	/* both */
	int8_t rxq_worker[SW_MAX_QUEUES];
	struct sw_rxq_stats rxq[SW_MAX_QUEUES];
	struct sw_wstats *ws;		/* one per worker */
	rte_spinlock_t txlock[SW_MAX_QUEUES];
	struct sw_capture *cap;
};

/* A port as the workers see it in one plan. */
struct sw_pdp {
	uint8_t type;
	bool tx_shared;		/* several workers per tx queue: lock */
	uint8_t cap_dir;	/* SW_CAP_RX / SW_CAP_TX while capturing */
	uint16_t index;
	uint16_t eth_port;
	uint16_t mtu;
	uint16_t nq;
	uint16_t ntx;		/* tx queues to spread workers over */
	uint64_t eth_tx_offloads;
	const struct sw_vlan *vlan;
	struct sw_wstats *ws;
	struct sw_rxq_stats *rxq;
	rte_spinlock_t *txlock;
	struct sw_capture *cap;
	struct vq *rx[SW_MAX_QUEUES];	/* guest transmit rings */
	struct vq *tx[SW_MAX_QUEUES];	/* guest receive rings */
};

struct sw_poll {
	struct sw_pdp *p;
	uint16_t q;
};

struct sw_wplan {
	uint16_t npolls;
	struct sw_poll poll[SW_MAX_POLLS];
};

/* Everything a worker reads, swapped whole under RCU. */
struct sw_plan {
	uint16_t nports;
	struct sw_pdp *by_index[SW_MAX_PORTS];
	struct sw_pdp pdp[SW_MAX_PORTS];	/* the first nports */
	struct sw_wplan w[];			/* one per worker */
};

/* Output buffer of one worker for one port. */
struct sw_txbuf {
	uint16_t n;
	uint32_t bytes;		/* of the n frames, as they were buffered */
	struct rte_mbuf *pkts[SW_TXBUF];
};

/*
 * A worker's memo of the MAC table's recent answers, each direct-mapped
 * by its key. An answer holds while the table's generation is the one
 * it was had at; that a source was learned also only within the second
 * (sw->now_s) it was learned in, so that it is learned again, and its
 * entry kept from ageing, once a second while the station sends.
 */
#define SW_MEMO_BITS	6

struct sw_memo_slot {
	uint64_t key;
	uint64_t gen;		/* 0: never filled */
	uint32_t now;		/* learned: the second */
	int32_t port;		/* learned on, or looked up: -1 unknown */
};

struct sw_memo {
	struct sw_memo_slot learned[1u << SW_MEMO_BITS];
	struct sw_memo_slot dest[1u << SW_MEMO_BITS];
};

struct sw_worker {
	struct sw *sw;
	uint16_t id;
	unsigned int lcore;
	struct rte_ring *inject;	/* frames from the control thread */
	uint64_t busy_cycles, idle_cycles, packets, iterations;
	uint16_t ndirty;
	uint16_t dirty[SW_MAX_PORTS];
	struct sw_txbuf txb[SW_MAX_PORTS];
	struct sw_memo memo;
	/* polls of each of its queues left to the mbuf path (poll_vhost()) */
	uint8_t direct_wait[SW_MAX_POLLS];
} __rte_cache_aligned;

/*
 * What learning and ageing keep per MAC table entry, indexed by the key's
 * hash position; the port is the key's data in the hash itself.
 */
struct sw_mac_val {
	uint8_t is_static;
	uint32_t seen;		/* sw->now_s when last learned */
};

struct sw_mac {
	struct rte_hash *h;
	struct sw_mac_val *val;	/* rte_hash_max_key_id + 1 */
	uint32_t aging_s;
	uint32_t ndead;		/* positions waiting for a grace period */
	int32_t *dead;
	/* bumped after every change to the table (sw_memo) */
	uint64_t gen __rte_cache_aligned;
};

struct sw {
	struct sw_params params;
	unsigned int nworkers;
	struct sw_worker *w;
	struct rte_rcu_qsbr *qs;
	struct sw_plan *plan;		/* RCU-published */
	struct rte_mempool *mp;
	struct sw_mac mac;
	volatile uint32_t now_s;	/* coarse clock for MAC ageing */
	volatile bool stop;
	struct sw_port *ports[SW_MAX_PORTS];
	unsigned int nports;
	pthread_mutex_t lock;		/* ports vs. telemetry readers */
	uint64_t tsc_hz;
	uint64_t next_age_tsc;
	uint64_t next_flush_tsc;
	uint64_t epoch_ns;		/* wall clock at tsc 0, for captures */
};

/* sw_plan.c */
int sw_publish(struct sw *sw);
void sw_place_rxqs(struct sw *sw, struct sw_port *p);

/* sw_mac.c */
int sw_mac_init(struct sw *sw, uint32_t entries, uint32_t aging_s);
void sw_mac_fini(struct sw *sw);
void sw_mac_learn(struct sw *sw, const uint64_t *keys, unsigned int n,
		  uint16_t port);
void sw_mac_lookup_bulk(struct sw *sw, const uint64_t *keys,
			unsigned int n, int32_t *port);
void sw_mac_learn_memo(struct sw *sw, struct sw_memo *mm,
		       const uint64_t *keys, unsigned int n, uint16_t port);
void sw_mac_lookup_memo(struct sw *sw, struct sw_memo *mm,
			const uint64_t *keys, unsigned int n, int32_t *port);
void sw_mac_age(struct sw *sw);
void sw_mac_flush_port(struct sw *sw, uint16_t port);
int sw_mac_move(struct sw *sw, const uint8_t mac[6], uint16_t vlan,
		uint16_t port);

/* Nanoseconds a TSC count stands for (without overflowing). */
static inline uint64_t
sw_tsc_ns(const struct sw *sw, uint64_t tsc)
{
	return tsc / sw->tsc_hz * 1000000000ull +
	       tsc % sw->tsc_hz * 1000000000ull / sw->tsc_hz;
}

/*
 * The MAC's 6 bytes in memory order, then the VLAN. Two loads put
 * together in registers: building it in a stack slot stalls on store
 * forwarding, twice per packet.
 */
static inline uint64_t
sw_mac_key(const uint8_t *mac, uint16_t vlan)
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, mac, 4);
	memcpy(&hi, mac + 4, 2);
	return (uint64_t)lo | (uint64_t)hi << 32 | (uint64_t)vlan << 48;
}

/* sw_vhost.c */
int sw_vhost_open(struct sw *sw, struct sw_port *p, char *err,
		  size_t errlen);
void sw_vhost_close(struct sw *sw, struct sw_port *p);
void sw_vhost_timers(struct sw_port *p);
void sw_announce(struct sw_port *p, const uint8_t mac[6]);
uint64_t sw_vhost_features(void);
void sw_vq_stats_add(struct vq_stats *acc, const struct vq_stats *s);

/* sw_ethdev.c */
int sw_ethdev_open(struct sw *sw, struct sw_port *p, char *err,
		   size_t errlen);
void sw_ethdev_close(struct sw *sw, struct sw_port *p);

/* sw_worker.c */
void sw_inject(struct sw *sw, struct rte_mbuf *m, uint16_t port);

/* sw_capture.c */
void sw_capture_copy(struct sw_capture *c, struct rte_mbuf **pkts,
		     uint16_t n, unsigned int dir);
unsigned int sw_capture_dir(const struct sw_capture *c);
void sw_capture_flush(struct sw *sw);

/* sw_rarp.c */
struct rte_mbuf *sw_rarp_build(struct rte_mempool *mp, const uint8_t mac[6]);

#endif /* SW_INTERNAL_H */
