/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MAC table: (MAC, VLAN) -> port, an rte_hash with lock-free readers.
 * Workers look up in bulk without locks and learn (add, or move an entry
 * to another port) through rte_hash's multi-writer add; only new or moved
 * stations write. The control thread ages entries out; a deleted key's
 * slot is given back to the hash only after an RCU grace period, so a
 * worker that found it a moment ago never reads a reused slot.
 * Every change bumps the table's generation; a worker's memo keeps the
 * answers it had at one generation and asks the table again after a
 * change (sw_mac_learn_memo(), sw_mac_lookup_memo()).
 */
#include <errno.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "sw_internal.h"

/* Keys are one uint64_t: one compare, not memcmp (rte_hash's default). */
static int
mac_key_cmp(const void *a, const void *b, size_t len)
{
	uint64_t x, y;

	(void)len;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x != y;
}

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
	rte_hash_set_cmp_func(m->h, mac_key_cmp);
	max = rte_hash_max_key_id(m->h);
	m->val = rte_zmalloc(NULL, (size_t)(max + 1) * sizeof(*m->val), 0);
	m->dead = rte_malloc(NULL, (size_t)(max + 1) * sizeof(*m->dead), 0);
	if (m->val == NULL || m->dead == NULL) {
		sw_mac_fini(sw);
		return -ENOMEM;
	}
	m->aging_s = aging_s;
	m->gen = 1;	/* memo slots never filled hold generation 0 */
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

/* After a change to the table: the workers' memos no longer hold. */
static inline void
mac_changed(struct sw_mac *m)
{
	__atomic_fetch_add(&m->gen, 1, __ATOMIC_RELEASE);
}

static inline void *
port_data(uint16_t port)
{
	return (void *)(uintptr_t)port;
}

/* Add or update an entry; its position (add_key_data gives 0 on success). */
static int32_t
add_entry(struct rte_hash *h, const uint64_t *key, uint16_t port)
{
	int rc = rte_hash_add_key_data(h, key, port_data(port));

	return rc < 0 ? rc : rte_hash_lookup(h, key);
}

/*
 * Worker: learn that keys[0..n) were seen on port. The port is the
 * key's data in the hash, so a reader gets key and port in one atomic
 * view; the side table holds what only ageing and learning read.
 */
void
sw_mac_learn(struct sw *sw, const uint64_t *keys, unsigned int n,
	     uint16_t port)
{
	struct sw_mac *m = &sw->mac;
	uint32_t now = sw->now_s;
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *data;
		int32_t pos = rte_hash_lookup_data(m->h, &keys[i], &data);
		struct sw_mac_val *v;

		if (unlikely(pos < 0)) {
			pos = add_entry(m->h, &keys[i], port);
			if (pos >= 0) {	/* else the table is full */
				m->val[pos].seen = now;
				mac_changed(m);
			}
			continue;
		}
		v = &m->val[pos];
		if (unlikely((uintptr_t)data != port) && !v->is_static) {
			rte_hash_add_key_data(m->h, &keys[i],
					      port_data(port)); /* it moved */
			mac_changed(m);
		}
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
	void *data[SW_BURST];
	uint64_t hits = 0;
	unsigned int i;

	RTE_BUILD_BUG_ON(SW_BURST > RTE_HASH_LOOKUP_BULK_MAX);
	for (i = 0; i < n; i++)
		kp[i] = &keys[i];
	rte_hash_lookup_bulk_data(sw->mac.h, kp, n, &hits, data);
	for (i = 0; i < n; i++)
		port[i] = (hits >> i & 1) ? (int32_t)(uintptr_t)data[i] : -1;
}

static void
mac_of_key(uint64_t key, uint8_t mac[6], uint16_t *vlan)
{
	memcpy(mac, &key, 6);
	*vlan = (uint16_t)(key >> 48);
}

static inline struct sw_memo_slot *
memo_slot(struct sw_memo_slot *t, uint64_t key)
{
	/* Fibonacci hashing: the top bits of the product */
	return &t[(key * 0x9e3779b97f4a7c15ULL) >> (64 - SW_MEMO_BITS)];
}

/*
 * Worker: sw_mac_learn() for those of keys[0..n) that the memo does not
 * show learned on port in this second at the table's generation. What
 * the table could not take (it is full) is tried again after a change
 * or in the next second, not at every burst.
 */
void
sw_mac_learn_memo(struct sw *sw, struct sw_memo *mm, const uint64_t *keys,
		  unsigned int n, uint16_t port)
{
	uint64_t gen = __atomic_load_n(&sw->mac.gen, __ATOMIC_ACQUIRE);
	uint32_t now = sw->now_s;
	uint64_t miss[SW_BURST];
	unsigned int i, nm = 0;

	for (i = 0; i < n; i++) {
		const struct sw_memo_slot *s = memo_slot(mm->learned, keys[i]);

		if (s->key != keys[i] || s->gen != gen || s->now != now ||
		    s->port != port)
			miss[nm++] = keys[i];
	}
	if (nm == 0)
		return;
	sw_mac_learn(sw, miss, nm, port);
	/* at the generation read before: a change it made is seen next */
	for (i = 0; i < nm; i++)
		*memo_slot(mm->learned, miss[i]) = (struct sw_memo_slot){
			.key = miss[i], .gen = gen, .now = now, .port = port };
}

/* Worker: sw_mac_lookup_bulk(), the table asked only what the memo lacks. */
void
sw_mac_lookup_memo(struct sw *sw, struct sw_memo *mm, const uint64_t *keys,
		   unsigned int n, int32_t *port)
{
	uint64_t gen = __atomic_load_n(&sw->mac.gen, __ATOMIC_ACQUIRE);
	uint64_t miss[SW_BURST];
	int32_t got[SW_BURST];
	uint8_t at[SW_BURST];
	unsigned int i, nm = 0;

	for (i = 0; i < n; i++) {
		const struct sw_memo_slot *s = memo_slot(mm->dest, keys[i]);

		if (s->key == keys[i] && s->gen == gen) {
			port[i] = s->port;
			continue;
		}
		at[nm] = (uint8_t)i;
		miss[nm++] = keys[i];
	}
	if (nm == 0)
		return;
	sw_mac_lookup_bulk(sw, miss, nm, got);
	for (i = 0; i < nm; i++) {
		port[at[i]] = got[i];
		*memo_slot(mm->dest, miss[i]) = (struct sw_memo_slot){
			.key = miss[i], .gen = gen, .port = got[i] };
	}
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
	for (i = 0; i < m->ndead; i++) {
		/* the next station in this slot starts dynamic and unseen */
		memset(&m->val[m->dead[i]], 0, sizeof(m->val[0]));
		rte_hash_free_key_with_position(m->h, m->dead[i]);
	}
	m->ndead = 0;
}

static void
mac_del_key(struct sw *sw, uint64_t key)
{
	int32_t pos = rte_hash_del_key(sw->mac.h, &key);

	if (pos >= 0) {
		sw->mac.dead[sw->mac.ndead++] = pos;
		mac_changed(&sw->mac);
	}
}

/* Delete the entries for which pred() holds. */
static void
mac_delete_if(struct sw *sw, bool (*pred)(const struct sw_mac_val *v,
					  uint16_t port, const void *arg),
	      const void *arg)
{
	struct sw_mac *m = &sw->mac;
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(m->h, &key, &data, &next)) >= 0)
		if (pred(&m->val[pos], (uint16_t)(uintptr_t)data, arg))
			mac_del_key(sw, *(const uint64_t *)key);
	mac_reclaim(sw);
}

static bool
is_old(const struct sw_mac_val *v, uint16_t port, const void *arg)
{
	const uint32_t *now_aging = arg;

	(void)port;
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
on_port(const struct sw_mac_val *v, uint16_t port, const void *arg)
{
	(void)v;
	return port == *(const uint16_t *)arg;
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
	int32_t pos = add_entry(sw->mac.h, &key, port);

	if (pos < 0)
		return pos;
	sw->mac.val[pos].is_static = is_static;
	sw->mac.val[pos].seen = sw->now_s;
	mac_changed(&sw->mac);
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
	void *data;

	if (rte_hash_lookup_data(sw->mac.h, &key, &data) < 0)
		return -ENOENT;
	return (int)(uintptr_t)data;
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
			.port = (uint16_t)(uintptr_t)data,
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
