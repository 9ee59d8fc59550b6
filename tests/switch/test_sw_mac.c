/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/switch's MAC table through a real struct sw (no worker running):
 * learning per VLAN, bulk lookups, stations moving, static entries,
 * ageing, flushing a port, deleting, walking, a worker's memo in front
 * of the table, and a table filled, aged out and filled again (deleted
 * slots must be given back).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>

#include "sw_internal.h"

#define AGING		300
#define ENTRIES		1024
#define SMALL		64	/* the capacity case's table */
#define MAX_WALK	256

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t mac_c[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };
static const uint8_t mac_s[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static const unsigned int lcores[] = { 1 };

static int
watch(void *ctx, int fd, uint32_t events, sw_event_fn fn, void *arg)
{
	(void)ctx;
	(void)fd;
	(void)events;
	(void)fn;
	(void)arg;
	return 0;
}

static struct sw *
make_sw(uint32_t entries)
{
	struct sw_params p = {
		.nworkers = 1,
		.worker_lcores = lcores,
		.mbufs = 1023,
		.mac_entries = entries,
		.mac_aging_s = AGING,
		.loop = { .watch = watch },
	};
	struct sw *sw = sw_create(&p);

	assert_non_null(sw);
	return sw;
}

static int
sw_setup(void **state)
{
	*state = make_sw(ENTRIES);
	return 0;
}

static int
sw_teardown(void **state)
{
	sw_destroy(*state);
	return 0;
}

/* Learn one station on a port, as a worker would. */
static void
learn(struct sw *sw, const uint8_t mac[6], uint16_t vlan, uint16_t port)
{
	uint64_t key = sw_mac_key(mac, vlan);

	sw_mac_learn(sw, &key, 1, port);
}

struct walk {
	unsigned int n;
	struct sw_mac_entry e[MAX_WALK];
};

static void
walk_fn(const struct sw_mac_entry *e, void *arg)
{
	struct walk *w = arg;

	assert_true(w->n < MAX_WALK);
	w->e[w->n++] = *e;
}

/* The walked entry of (mac, vlan); it must be there exactly once. */
static const struct sw_mac_entry *
walked(const struct walk *w, const uint8_t mac[6], uint16_t vlan)
{
	const struct sw_mac_entry *found = NULL;
	unsigned int i;

	for (i = 0; i < w->n; i++)
		if (memcmp(w->e[i].mac, mac, 6) == 0 && w->e[i].vlan == vlan) {
			assert_null(found);
			found = &w->e[i];
		}
	assert_non_null(found);
	return found;
}

static unsigned int
count(struct sw *sw)
{
	struct walk *w = calloc(1, sizeof(*w));
	unsigned int n;

	assert_non_null(w);
	sw_mac_walk(sw, walk_fn, w);
	n = w->n;
	free(w);
	return n;
}

/* The same MAC in VLANs 0 and 10 is two entries, on their own ports. */
static void
learn_lookup(void **state)
{
	struct sw *sw = *state;
	uint64_t keys[4] = {
		sw_mac_key(mac_a, 0), sw_mac_key(mac_a, 10),
		sw_mac_key(mac_b, 0), sw_mac_key(mac_a, 20),
	};
	int32_t port[4] = { 77, 77, 77, 77 };

	assert_int_equal(sw_mac_aging(sw), AGING);
	assert_int_equal(count(sw), 0);
	learn(sw, mac_a, 0, 1);
	learn(sw, mac_a, 10, 2);
	learn(sw, mac_b, 0, 3);
	assert_int_equal(count(sw), 3);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 1);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 10), 2);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), 3);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 10), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 20), -ENOENT);
	sw_mac_lookup_bulk(sw, keys, 4, port);
	assert_int_equal(port[0], 1);
	assert_int_equal(port[1], 2);
	assert_int_equal(port[2], 3);
	assert_true(port[3] < 0);	/* unknown() checks the value */
}

/* A burst of sources learned at once; learning again changes nothing. */
static void
learn_bulk(void **state)
{
	struct sw *sw = *state;
	uint64_t keys[SW_BURST];
	int32_t port[SW_BURST];
	uint8_t mac[6];
	unsigned int i;

	for (i = 0; i < SW_BURST; i++) {
		memcpy(mac, mac_a, 6);
		mac[4] = (uint8_t)i;
		keys[i] = sw_mac_key(mac, (uint16_t)(i % 3));
	}
	sw_mac_learn(sw, keys, SW_BURST, 5);
	sw_mac_learn(sw, keys, SW_BURST, 5);
	assert_int_equal(count(sw), SW_BURST);
	memset(port, 0, sizeof(port));
	sw_mac_lookup_bulk(sw, keys, SW_BURST, port);
	for (i = 0; i < SW_BURST; i++)
		assert_int_equal(port[i], 5);
}

/* Nothing learned: every lookup misses (-1, as sw_mac.c documents). */
static void
unknown(void **state)
{
	struct sw *sw = *state;
	uint64_t keys[2] = { sw_mac_key(mac_a, 0), sw_mac_key(mac_c, 4095) };
	int32_t port[2] = { 0, 0 };

	sw_mac_lookup_bulk(sw, keys, 2, port);
	assert_int_equal(port[0], -1);
	assert_int_equal(port[1], -1);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), -ENOENT);
	learn(sw, mac_b, 0, 1);
	sw_mac_lookup_bulk(sw, keys, 2, port);
	assert_int_equal(port[0], -1);
	assert_int_equal(port[1], -1);
}

/* A station seen on another port moves there; sw_mac_move moves it too. */
static void
station_moves(void **state)
{
	struct sw *sw = *state;
	struct walk w = { 0 };

	learn(sw, mac_a, 0, 1);
	learn(sw, mac_a, 10, 1);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 1);
	learn(sw, mac_a, 0, 3);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 3);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 10), 1);	/* other VLAN */
	assert_int_equal(sw_mac_move(sw, mac_a, 0, 6), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 6);
	/* moving an unknown station adds it, as a dynamic entry */
	assert_int_equal(sw_mac_move(sw, mac_c, 7, 4), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_c, 7), 4);
	assert_int_equal(count(sw), 3);
	sw_mac_walk(sw, walk_fn, &w);
	assert_false(walked(&w, mac_a, 0)->is_static);
	assert_int_equal(walked(&w, mac_a, 0)->port, 6);
	assert_false(walked(&w, mac_c, 7)->is_static);
}

/* A static entry stays where it was put: learning and moves leave it. */
static void
static_entry(void **state)
{
	struct sw *sw = *state;
	struct sw_port p7 = { .index = 7 }, p9 = { .index = 9 };
	struct walk w = { 0 };

	assert_int_equal(sw_mac_add_static(sw, mac_s, 10, &p7), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 10), 7);
	learn(sw, mac_s, 10, 2);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 10), 7);
	assert_int_equal(sw_mac_move(sw, mac_s, 10, 3), -EPERM);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 10), 7);
	/* the same MAC in another VLAN is learned as usual */
	learn(sw, mac_s, 11, 2);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 11), 2);
	/* a learned entry made static, then re-pointed by the operator */
	learn(sw, mac_b, 0, 1);
	assert_int_equal(sw_mac_add_static(sw, mac_b, 0, &p9), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), 9);
	learn(sw, mac_b, 0, 1);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), 9);
	assert_int_equal(sw_mac_add_static(sw, mac_b, 0, &p7), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), 7);
	sw_mac_walk(sw, walk_fn, &w);
	assert_int_equal(w.n, 3);
	assert_true(walked(&w, mac_s, 10)->is_static);
	assert_false(walked(&w, mac_s, 11)->is_static);
	assert_true(walked(&w, mac_b, 0)->is_static);
}

/* Group addresses and VLANs past 4095 are refused, and not added. */
static void
static_refused(void **state)
{
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t odd[6] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };
	struct sw *sw = *state;
	struct sw_port p = { .index = 2 };

	assert_int_equal(sw_mac_add_static(sw, mcast, 0, &p), -EINVAL);
	assert_int_equal(sw_mac_add_static(sw, bcast, 0, &p), -EINVAL);
	assert_int_equal(sw_mac_add_static(sw, odd, 5, &p), -EINVAL);
	assert_int_equal(sw_mac_add_static(sw, mac_a, SW_VLAN_MAX + 1, &p),
			 -EINVAL);
	assert_int_equal(count(sw), 0);
	assert_int_equal(sw_mac_lookup(sw, mcast, 0), -ENOENT);
	assert_int_equal(sw_mac_add_static(sw, mac_a, SW_VLAN_MAX, &p), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_a, SW_VLAN_MAX), 2);
}

/*
 * Dynamic entries not seen for the ageing time go, static ones stay, and
 * one seen again in the meantime is kept until its own time is up.
 */
static void
ageing(void **state)
{
	struct sw *sw = *state;
	struct sw_port p4 = { .index = 4 };
	uint32_t t0 = sw->now_s;

	learn(sw, mac_a, 0, 1);
	learn(sw, mac_b, 0, 2);
	learn(sw, mac_c, 30, 3);
	assert_int_equal(sw_mac_add_static(sw, mac_s, 0, &p4), 0);
	sw->now_s = t0 + 5;
	learn(sw, mac_b, 0, 2);			/* seen again */
	sw->now_s = t0 + 7;
	learn(sw, mac_c, 30, 5);		/* seen again, elsewhere */
	sw->now_s = t0 + AGING - 1;
	sw_mac_age(sw);
	assert_int_equal(count(sw), 4);
	sw->now_s = t0 + AGING;
	sw_mac_age(sw);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), 2);
	assert_int_equal(sw_mac_lookup(sw, mac_c, 30), 5);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 0), 4);
	assert_int_equal(count(sw), 3);
	sw->now_s = t0 + 5 + AGING;
	sw_mac_age(sw);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_c, 30), 5);
	sw->now_s = t0 + 100 * AGING;
	sw_mac_age(sw);
	assert_int_equal(sw_mac_lookup(sw, mac_c, 30), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 0), 4);
	assert_int_equal(count(sw), 1);
	/* gone means forgotten: learned again, it is new */
	learn(sw, mac_a, 0, 6);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 6);
}

/* A port going away takes all its entries, static ones included. */
static void
flush_port(void **state)
{
	struct sw *sw = *state;
	struct sw_port p1 = { .index = 1 };

	learn(sw, mac_a, 0, 1);
	learn(sw, mac_a, 10, 1);
	learn(sw, mac_b, 0, 2);
	learn(sw, mac_c, 10, 2);
	assert_int_equal(sw_mac_add_static(sw, mac_s, 0, &p1), 0);
	sw_mac_flush_port(sw, 1);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 10), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_s, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_b, 0), 2);
	assert_int_equal(sw_mac_lookup(sw, mac_c, 10), 2);
	assert_int_equal(count(sw), 2);
	sw_mac_flush_port(sw, 3);		/* nothing there */
	assert_int_equal(count(sw), 2);
	sw_mac_flush_port(sw, 2);
	assert_int_equal(count(sw), 0);
}

static void
del(void **state)
{
	struct sw *sw = *state;
	struct sw_port p3 = { .index = 3 };

	assert_int_equal(sw_mac_del(sw, mac_a, 0), -ENOENT);
	learn(sw, mac_a, 0, 1);
	learn(sw, mac_a, 10, 1);
	assert_int_equal(sw_mac_add_static(sw, mac_s, 0, &p3), 0);
	assert_int_equal(sw_mac_del(sw, mac_a, 20), -ENOENT);
	assert_int_equal(sw_mac_del(sw, mac_b, 0), -ENOENT);
	assert_int_equal(sw_mac_del(sw, mac_a, 0), 0);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 10), 1);
	assert_int_equal(sw_mac_del(sw, mac_a, 0), -ENOENT);
	assert_int_equal(sw_mac_del(sw, mac_s, 0), 0);	/* static too */
	assert_int_equal(sw_mac_lookup(sw, mac_s, 0), -ENOENT);
	assert_int_equal(count(sw), 1);
}

/* The walk reports every entry once with its MAC, VLAN, port and age. */
static void
walk(void **state)
{
	struct sw *sw = *state;
	struct sw_port p8 = { .index = 8 };
	uint32_t t0 = sw->now_s;
	const struct sw_mac_entry *e;
	struct walk w = { 0 };

	learn(sw, mac_a, 0, 1);
	sw->now_s = t0 + 10;
	learn(sw, mac_b, 4095, 2);
	learn(sw, mac_a, 10, 3);
	assert_int_equal(sw_mac_add_static(sw, mac_s, 77, &p8), 0);
	sw->now_s = t0 + 25;
	sw_mac_walk(sw, walk_fn, &w);
	assert_int_equal(w.n, 4);
	e = walked(&w, mac_a, 0);
	assert_int_equal(e->port, 1);
	assert_false(e->is_static);
	assert_int_equal(e->age_s, 25);
	e = walked(&w, mac_b, 4095);
	assert_int_equal(e->port, 2);
	assert_false(e->is_static);
	assert_int_equal(e->age_s, 15);
	e = walked(&w, mac_a, 10);
	assert_int_equal(e->port, 3);
	assert_int_equal(e->age_s, 15);
	e = walked(&w, mac_s, 77);
	assert_int_equal(e->port, 8);
	assert_true(e->is_static);
	assert_int_equal(e->age_s, 0);
}

#define FILL		(4 * SMALL)	/* more stations than the table holds */
#define ROUNDS		300

/* Station i of round r: a locally administered unicast MAC. */
static void
station(uint8_t mac[6], unsigned int r, unsigned int i)
{
	mac[0] = 0x02;
	mac[1] = (uint8_t)(r >> 8);
	mac[2] = (uint8_t)r;
	mac[3] = 0;
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

/* Learn FILL stations (of round r) in bursts; how many the table took. */
static unsigned int
fill_table(struct sw *sw, unsigned int r)
{
	uint64_t keys[SW_BURST];
	uint8_t mac[6];
	unsigned int i, n = 0, in = 0;

	for (i = 0; i < FILL; i++) {
		station(mac, r, i);
		keys[n++] = sw_mac_key(mac, (uint16_t)(i % 5));
		if (n == SW_BURST) {
			sw_mac_learn(sw, keys, n, (uint16_t)(i % 7));
			n = 0;
		}
	}
	assert_int_equal(n, 0);
	for (i = 0; i < FILL; i++) {
		station(mac, r, i);
		in += sw_mac_lookup(sw, mac, (uint16_t)(i % 5)) >= 0;
	}
	assert_int_equal(count(sw), in);
	return in;
}

/*
 * A full table refuses new stations without harm; aged out, it takes as
 * many again, round after round: the slots of deleted entries come back
 * (far more rounds than the key store has spare slots for).
 */
static void
capacity(void **state)
{
	struct sw *sw = make_sw(SMALL);
	unsigned int r, first, n;

	(void)state;
	first = fill_table(sw, 0);
	/* cuckoo hashing fills nearly every bucket slot, never more */
	assert_in_range(first, SMALL * 9 / 10, SMALL);
	for (r = 1; r <= ROUNDS; r++) {
		sw->now_s += AGING;
		sw_mac_age(sw);
		assert_int_equal(count(sw), 0);
		assert_int_equal(sw->mac.ndead, 0);
		/* the same stations again: the same placement, as many */
		n = fill_table(sw, r % 2 == 0 ? 0 : 1);
		if (r % 2 == 0)
			assert_int_equal(n, first);
		else
			assert_in_range(n, SMALL * 9 / 10, SMALL);
	}
	/* deleting by hand gives slots back too */
	for (r = 0; r < ROUNDS; r++) {
		struct sw_port p = { .index = 1 };

		sw_mac_flush_port(sw, 0);
		sw_mac_flush_port(sw, 1);
		sw_mac_flush_port(sw, 2);
		sw_mac_flush_port(sw, 3);
		sw_mac_flush_port(sw, 4);
		sw_mac_flush_port(sw, 5);
		sw_mac_flush_port(sw, 6);
		assert_int_equal(count(sw), 0);
		assert_int_equal(sw_mac_add_static(sw, mac_s, 0, &p), 0);
		assert_int_equal(sw_mac_del(sw, mac_s, 0), 0);
		assert_int_equal(fill_table(sw, 0), first);
	}
	sw_destroy(sw);
}

/* EAL without hugepages or devices. */
static int
setup(void **state)
{
	char prefix[64];
	char *argv[] = { "test_sw_mac", "-l", "0", "--no-huge", "-m", "128",
			 "--no-pci", "--no-shconf", "--log-level", "*:error",
			 "--file-prefix", prefix, NULL };

	(void)state;
	snprintf(prefix, sizeof(prefix), "swmac%d", (int)getpid());
	if (rte_eal_init(12, argv) < 0)
		return -1;
	return 0;
}

/* A worker's memo in front of the table. */
static void
mlearn(struct sw *sw, struct sw_memo *mm, const uint8_t mac[6],
       uint16_t vlan, uint16_t port)
{
	uint64_t key = sw_mac_key(mac, vlan);

	sw_mac_learn_memo(sw, mm, &key, 1, port);
}

static int32_t
mlook(struct sw *sw, struct sw_memo *mm, const uint8_t mac[6],
      uint16_t vlan)
{
	uint64_t key = sw_mac_key(mac, vlan);
	int32_t port = -2;

	sw_mac_lookup_memo(sw, mm, &key, 1, &port);
	return port;
}

/*
 * A worker's memo answers as the table does after every kind of change
 * (learned elsewhere, moved, made static, deleted, flushed, aged), keeps
 * a station it sees every second from ageing, and holds more stations
 * than it has slots for.
 */
static void
memo(void **state)
{
	struct sw *sw = *state;
	struct sw_memo *mm = calloc(1, sizeof(*mm));
	struct sw_port p7 = { .index = 7 };
	uint32_t t0 = sw->now_s, i;
	uint8_t mac[6] = { 0x02, 0x10, 0, 0, 0, 0 };

	assert_non_null(mm);
	assert_int_equal(mlook(sw, mm, mac_a, 0), -1);
	mlearn(sw, mm, mac_a, 0, 1);
	assert_int_equal(mlook(sw, mm, mac_a, 0), 1);
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 1);
	learn(sw, mac_a, 0, 2);			/* another worker: it moved */
	assert_int_equal(mlook(sw, mm, mac_a, 0), 2);
	mlearn(sw, mm, mac_a, 0, 1);		/* and back */
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 1);
	assert_int_equal(mlook(sw, mm, mac_a, 0), 1);
	assert_int_equal(sw_mac_move(sw, mac_a, 0, 3), 0);	/* RARP */
	assert_int_equal(mlook(sw, mm, mac_a, 0), 3);
	assert_int_equal(mlook(sw, mm, mac_b, 0), -1);
	assert_int_equal(sw_mac_add_static(sw, mac_b, 0, &p7), 0);
	assert_int_equal(mlook(sw, mm, mac_b, 0), 7);
	mlearn(sw, mm, mac_b, 0, 1);		/* static: stays */
	assert_int_equal(mlook(sw, mm, mac_b, 0), 7);
	assert_int_equal(mlook(sw, mm, mac_a, 0), 3);
	assert_int_equal(sw_mac_del(sw, mac_a, 0), 0);
	assert_int_equal(mlook(sw, mm, mac_a, 0), -1);
	mlearn(sw, mm, mac_a, 0, 1);		/* learned anew */
	assert_int_equal(sw_mac_lookup(sw, mac_a, 0), 1);
	assert_int_equal(mlook(sw, mm, mac_b, 0), 7);
	sw_mac_flush_port(sw, 7);
	assert_int_equal(mlook(sw, mm, mac_b, 0), -1);
	/* seen every second until past its ageing time: kept */
	mlearn(sw, mm, mac_c, 0, 4);
	for (i = 1; i <= AGING + 1; i++) {
		sw->now_s = t0 + i;
		mlearn(sw, mm, mac_c, 0, 4);
	}
	assert_int_equal(mlook(sw, mm, mac_a, 0), 1);
	sw->now_s = t0 + AGING + 2;
	sw_mac_age(sw);
	assert_int_equal(sw_mac_lookup(sw, mac_c, 0), 4);
	assert_int_equal(mlook(sw, mm, mac_c, 0), 4);
	assert_int_equal(mlook(sw, mm, mac_a, 0), -1);	/* aged out */
	/* more stations than slots, each answered right, twice */
	for (i = 0; i < 200; i++) {
		mac[5] = (uint8_t)i;
		mlearn(sw, mm, mac, (uint16_t)(i % 3), (uint16_t)(i % 11));
	}
	for (i = 0; i < 400; i++) {
		mac[5] = (uint8_t)(i % 200);
		assert_int_equal(mlook(sw, mm, mac, (uint16_t)(i % 200 % 3)),
				 i % 200 % 11);
	}
	free(mm);
}

static int
teardown(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(learn_lookup, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(learn_bulk, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(unknown, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(station_moves, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(static_entry, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(static_refused, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(ageing, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(flush_port, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(del, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(walk, sw_setup,
						sw_teardown),
		cmocka_unit_test_setup_teardown(memo, sw_setup,
						sw_teardown),
		cmocka_unit_test(capacity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
