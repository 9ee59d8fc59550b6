/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MAC table: (MAC, VLAN) -> port, an rte_hash with lock-free readers.
 * Workers look up in bulk without locks and learn (add, or move an entry
 * to another port) through rte_hash's multi-writer add; only new or moved
 * stations write. The control thread ages entries out; a deleted key's
 * slot is given back to the hash only after an RCU grace period, so a
 * worker that found it a moment ago never reads a reused slot.
 */
#include <errno.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "sw_internal.h"

int
sw_mac_init(struct sw *sw, uint32_t entries, uint32_t aging_s)
{
	struct sw_mac *m = &sw->mac;
	struct rte_hash_parameters hp = {
		.name = "vuswitch_macs",
		.entries = entries,
		.key_len = sizeof(uint64_t),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};
	int32_t max;

	m->h = rte_hash_create(&hp);
	if (m->h == NULL)
		return -rte_errno;
	max = rte_hash_max_key_id(m->h);
	m->val = rte_zmalloc(NULL, (size_t)(max + 1) * sizeof(*m->val), 0);
	m->dead = rte_malloc(NULL, (size_t)(max + 1) * sizeof(*m->dead), 0);
	if (m->val == NULL || m->dead == NULL) {
		sw_mac_fini(sw);
		return -ENOMEM;
	}
	m->aging_s = aging_s;
	return 0;
}

void
sw_mac_fini(struct sw *sw)
{
	rte_hash_free(sw->mac.h);
	rte_free(sw->mac.val);
	rte_free(sw->mac.dead);
	memset(&sw->mac, 0, sizeof(sw->mac));
}

/* Worker: learn that keys[0..n) were seen on port. */
void
sw_mac_learn(struct sw *sw, const uint64_t *keys, unsigned int n,
	     uint16_t port)
{
	struct sw_mac *m = &sw->mac;
	const void *kp[SW_BURST];
	int32_t pos[SW_BURST];
	uint32_t now = sw->now_s;
	unsigned int i;

	for (i = 0; i < n; i++)
		kp[i] = &keys[i];
	rte_hash_lookup_bulk(m->h, kp, n, pos);
	for (i = 0; i < n; i++) {
		struct sw_mac_val *v;

		if (unlikely(pos[i] < 0)) {
			pos[i] = rte_hash_add_key(m->h, kp[i]);
			if (pos[i] < 0)
				continue;	/* table full */
			v = &m->val[pos[i]];
			v->is_static = 0;
			v->port = port;
			v->seen = now;
			continue;
		}
		v = &m->val[pos[i]];
		if (unlikely(v->port != port) && !v->is_static)
			v->port = port;	/* the station moved */
		if (v->seen != now)
			v->seen = now;
	}
}

/* Worker: each key's port index, or -1 when unknown. */
void
sw_mac_lookup_bulk(struct sw *sw, const uint64_t *keys, unsigned int n,
		   int32_t *port)
{
	const void *kp[SW_BURST];
	unsigned int i;

	for (i = 0; i < n; i++)
		kp[i] = &keys[i];
	rte_hash_lookup_bulk(sw->mac.h, kp, n, port);
	for (i = 0; i < n; i++)
		if (port[i] >= 0)
			port[i] = sw->mac.val[port[i]].port;
}

static void
mac_of_key(uint64_t key, uint8_t mac[6], uint16_t *vlan)
{
	memcpy(mac, &key, 6);
	*vlan = (uint16_t)(key >> 48);
}

/* Give the slots of deleted keys back, once no worker can hold them. */
static void
mac_reclaim(struct sw *sw)
{
	struct sw_mac *m = &sw->mac;
	uint32_t i;

	if (m->ndead == 0)
		return;
	rte_rcu_qsbr_synchronize(sw->qs, RTE_QSBR_THRID_INVALID);
	for (i = 0; i < m->ndead; i++)
		rte_hash_free_key_with_position(m->h, m->dead[i]);
	m->ndead = 0;
}

static void
mac_del_key(struct sw *sw, uint64_t key)
{
	int32_t pos = rte_hash_del_key(sw->mac.h, &key);

	if (pos >= 0)
		sw->mac.dead[sw->mac.ndead++] = pos;
}

/* Delete the entries for which pred() holds. */
static void
mac_delete_if(struct sw *sw, bool (*pred)(const struct sw_mac_val *v,
					  const void *arg),
	      const void *arg)
{
	struct sw_mac *m = &sw->mac;
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(m->h, &key, &data, &next)) >= 0)
		if (pred(&m->val[pos], arg))
			mac_del_key(sw, *(const uint64_t *)key);
	mac_reclaim(sw);
}

static bool
is_old(const struct sw_mac_val *v, const void *arg)
{
	const uint32_t *now_aging = arg;

	return !v->is_static && now_aging[0] - v->seen >= now_aging[1];
}

/* Control: forget dynamic entries not seen for the ageing time. */
void
sw_mac_age(struct sw *sw)
{
	uint32_t arg[2] = { sw->now_s, sw->mac.aging_s };

	mac_delete_if(sw, is_old, arg);
}

static bool
on_port(const struct sw_mac_val *v, const void *arg)
{
	return v->port == *(const uint16_t *)arg;
}

/* Control: forget every entry of a port that is going away. */
void
sw_mac_flush_port(struct sw *sw, uint16_t port)
{
	mac_delete_if(sw, on_port, &port);
}

static int
mac_set(struct sw *sw, const uint8_t mac[6], uint16_t vlan, uint16_t port,
	bool is_static)
{
	uint64_t key = sw_mac_key(mac, vlan);
	int32_t pos = rte_hash_add_key(sw->mac.h, &key);
	struct sw_mac_val *v;

	if (pos < 0)
		return pos;
	v = &sw->mac.val[pos];
	v->port = port;
	v->is_static = is_static;
	v->seen = sw->now_s;
	return 0;
}

int
sw_mac_add_static(struct sw *sw, const uint8_t mac[6], uint16_t vlan,
		  struct sw_port *p)
{
	if (vlan > SW_VLAN_MAX || (mac[0] & 1) != 0)
		return -EINVAL;
	return mac_set(sw, mac, vlan, p->index, true);
}

/* Control: a station announced itself on port (RARP): move it there. */
int
sw_mac_move(struct sw *sw, const uint8_t mac[6], uint16_t vlan,
	    uint16_t port)
{
	uint64_t key = sw_mac_key(mac, vlan);
	int32_t pos = rte_hash_lookup(sw->mac.h, &key);

	if (pos >= 0 && sw->mac.val[pos].is_static)
		return -EPERM;
	return mac_set(sw, mac, vlan, port, false);
}

int
sw_mac_del(struct sw *sw, const uint8_t mac[6], uint16_t vlan)
{
	uint64_t key = sw_mac_key(mac, vlan);

	if (rte_hash_lookup(sw->mac.h, &key) < 0)
		return -ENOENT;
	mac_del_key(sw, key);
	mac_reclaim(sw);
	return 0;
}

int
sw_mac_lookup(struct sw *sw, const uint8_t mac[6], uint16_t vlan)
{
	uint64_t key = sw_mac_key(mac, vlan);
	int32_t pos = rte_hash_lookup(sw->mac.h, &key);

	return pos < 0 ? -ENOENT : sw->mac.val[pos].port;
}

void
sw_mac_walk(struct sw *sw, sw_mac_fn fn, void *arg)
{
	struct sw_mac *m = &sw->mac;
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(m->h, &key, &data, &next)) >= 0) {
		const struct sw_mac_val *v = &m->val[pos];
		struct sw_mac_entry e = {
			.port = v->port,
			.is_static = v->is_static != 0,
			.age_s = v->is_static ? 0 : sw->now_s - v->seen,
		};

		mac_of_key(*(const uint64_t *)key, e.mac, &e.vlan);
		fn(&e, arg);
	}
}

uint32_t
sw_mac_aging(const struct sw *sw)
{
	return sw->mac.aging_s;
}
