/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch object: creation, the port table (add and remove at run
 * time), VLAN changes, the control thread's timers, and the read-only
 * views the control socket and telemetry print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sw_internal.h"

int sw_logtype;

#define SW_FLUSH_MS	10	/* capture files written this often */

static int
make_workers(struct sw *sw)
{
	char name[RTE_RING_NAMESIZE];
	unsigned int i;

	sw->w = rte_zmalloc("sw_workers", sw->nworkers * sizeof(*sw->w),
			    RTE_CACHE_LINE_SIZE);
	if (sw->w == NULL)
		return -ENOMEM;
	for (i = 0; i < sw->nworkers; i++) {
		struct sw_worker *w = &sw->w[i];

		w->sw = sw;
		w->id = (uint16_t)i;
		w->lcore = sw->params.worker_lcores[i];
		snprintf(name, sizeof(name), "sw_inject%u", i);
		w->inject = rte_ring_create(name, SW_INJECT_RING,
					    SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (w->inject == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int
make_rcu(struct sw *sw)
{
	size_t sz = rte_rcu_qsbr_get_memsize(sw->nworkers);

	sw->qs = rte_zmalloc("sw_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (sw->qs == NULL)
		return -ENOMEM;
	return rte_rcu_qsbr_init(sw->qs, sw->nworkers);
}

static void
set_clock(struct sw *sw)
{
	struct timespec ts;
	uint64_t tsc = rte_get_tsc_cycles();

	sw->tsc_hz = rte_get_tsc_hz();
	clock_gettime(CLOCK_REALTIME, &ts);
	sw->epoch_ns = (uint64_t)ts.tv_sec * 1000000000ull +
		       (uint64_t)ts.tv_nsec - sw_tsc_ns(sw, tsc);
	sw->now_s = 1;
	sw->next_age_tsc = tsc + sw->tsc_hz;
	sw->next_flush_tsc = tsc;
}

struct sw *
sw_create(const struct sw_params *p)
{
	pthread_mutexattr_t attr;
	struct sw *sw;

	if (p->nworkers == 0 || p->nworkers > SW_MAX_WORKERS ||
	    p->loop.watch == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	sw = calloc(1, sizeof(*sw));
	if (sw == NULL)
		return NULL;
	sw->params = *p;
	sw->nworkers = p->nworkers;
	if (sw_logtype == 0)
		sw_logtype = rte_log_register_type_and_pick_level(
			"vuswitch.switch", RTE_LOG_INFO);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&sw->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	set_clock(sw);
	sw->mp = rte_pktmbuf_pool_create("sw_mbufs",
		p->mbufs != 0 ? p->mbufs : 32768, 256, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (sw->mp == NULL || make_rcu(sw) != 0 || make_workers(sw) != 0 ||
	    sw_mac_init(sw, p->mac_entries != 0 ? p->mac_entries : 65536,
			p->mac_aging_s != 0 ? p->mac_aging_s : 300) != 0 ||
	    sw_publish(sw) != 0) {
		sw_destroy(sw);
		rte_errno = ENOMEM;
		return NULL;
	}
	return sw;
}

void
sw_pool_stats(const struct sw *sw, struct sw_pool_stats *out)
{
	out->name = sw->mp->name;
	out->size = sw->mp->size;
	out->cache_size = sw->mp->cache_size;
	out->available = rte_mempool_avail_count(sw->mp);
	out->in_use = out->size - out->available;
}

void
sw_stop_workers(struct sw *sw)
{
	__atomic_store_n(&sw->stop, true, __ATOMIC_RELEASE);
}

void
sw_destroy(struct sw *sw)
{
	unsigned int i;

	if (sw == NULL)
		return;
	sw_stop_workers(sw);
	/* uplinks first: a NIC's tx ring may hold lent guest buffers */
	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL &&
		    sw->ports[i]->conf.type == SW_PORT_ETHDEV)
			sw_port_del(sw, sw->ports[i]);
	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL)
			sw_port_del(sw, sw->ports[i]);
	if (sw->mac.h != NULL)
		sw_mac_fini(sw);
	for (i = 0; sw->w != NULL && i < sw->nworkers; i++)
		rte_ring_free(sw->w[i].inject);
	rte_free(sw->w);
	rte_free(sw->plan);
	rte_free(sw->qs);
	rte_mempool_free(sw->mp);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}

void *
sw_worker_arg(struct sw *sw, unsigned int worker)
{
	return worker < sw->nworkers ? &sw->w[worker] : NULL;
}

static int
check_vlan(const struct sw_vlan *v, char *err, size_t errlen)
{
	if (v->mode != SW_VLAN_ACCESS && v->mode != SW_VLAN_TRUNK) {
		snprintf(err, errlen, "unknown VLAN mode");
		return -EINVAL;
	}
	if (v->tag > SW_VLAN_MAX || v->native > SW_VLAN_MAX) {
		snprintf(err, errlen, "VLAN ids are 0..%d", SW_VLAN_MAX);
		return -EINVAL;
	}
	return 0;
}

static int
check_conf(struct sw *sw, const struct sw_port_conf *c, char *err,
	   size_t errlen)
{
	if (c->name == NULL || c->name[0] == '\0' ||
	    strlen(c->name) >= SW_NAME_MAX) {
		snprintf(err, errlen, "a port name is 1..%d characters",
			 SW_NAME_MAX - 1);
		return -EINVAL;
	}
	if (sw_port_find(sw, c->name) != NULL) {
		snprintf(err, errlen, "a port named %s exists", c->name);
		return -EEXIST;
	}
	if (c->queues > SW_MAX_QUEUES) {
		snprintf(err, errlen, "queues must be 1..%d", SW_MAX_QUEUES);
		return -EINVAL;
	}
	if (c->mtu != 0 && (c->mtu < 68 || c->mtu > 9600)) {
		snprintf(err, errlen, "mtu must be 68..9600");
		return -EINVAL;
	}
	if (c->type == SW_PORT_VHOST && c->mode != VHU_MODE_FD &&
	    (c->path == NULL || c->path[0] == '\0')) {
		snprintf(err, errlen, "a vhost-user port needs a socket path");
		return -EINVAL;
	}
	if (c->type == SW_PORT_ETHDEV &&
	    (c->devargs == NULL || c->devargs[0] == '\0')) {
		snprintf(err, errlen, "an ethdev port needs devargs");
		return -EINVAL;
	}
	if (c->type != SW_PORT_VHOST && c->type != SW_PORT_ETHDEV) {
		snprintf(err, errlen, "unknown port type");
		return -EINVAL;
	}
	return check_vlan(&c->vlan, err, errlen);
}

static void
port_free(struct sw_port *p)
{
	rte_free((void *)(uintptr_t)p->vlan);
	rte_free(p->ws);
	free(p->path);
	free(p->devargs);
	rte_free(p);
}

static struct sw_port *
port_new(struct sw *sw, const struct sw_port_conf *c, unsigned int index)
{
	struct sw_port *p = rte_zmalloc("sw_port", sizeof(*p),
					RTE_CACHE_LINE_SIZE);
	struct sw_vlan *v;
	unsigned int q;

	if (p == NULL)
		return NULL;
	p->sw = sw;
	p->index = (uint16_t)index;
	snprintf(p->name, sizeof(p->name), "%s", c->name);
	p->conf = *c;
	p->path = c->path != NULL ? strdup(c->path) : NULL;
	p->devargs = c->devargs != NULL ? strdup(c->devargs) : NULL;
	p->conf.name = p->name;
	p->conf.path = p->path;
	p->conf.devargs = p->devargs;
	p->nq = c->queues != 0 ? c->queues : 1;
	p->conf.queues = p->nq;
	p->mtu = c->mtu != 0 ? c->mtu : 1500;
	p->zero_copy = !c->no_zero_copy;
	p->ws = rte_zmalloc("sw_wstats", sw->nworkers * sizeof(*p->ws),
			    RTE_CACHE_LINE_SIZE);
	v = rte_malloc("sw_vlan", sizeof(*v), 0);
	if (v != NULL)
		*v = c->vlan;
	p->vlan = v;
	for (q = 0; q < SW_MAX_QUEUES; q++)
		rte_spinlock_init(&p->txlock[q]);
	if (p->ws == NULL || v == NULL ||
	    (c->path != NULL && p->path == NULL) ||
	    (c->devargs != NULL && p->devargs == NULL)) {
		port_free(p);
		return NULL;
	}
	return p;
}

static int
free_index(const struct sw *sw)
{
	int i;

	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] == NULL)
			return i;
	return -1;
}

int
sw_port_add(struct sw *sw, const struct sw_port_conf *c, char *err,
	    size_t errlen)
{
	struct sw_port *p;
	int rc, index;

	rc = check_conf(sw, c, err, errlen);
	if (rc < 0)
		return rc;
	index = free_index(sw);
	if (index < 0) {
		snprintf(err, errlen, "the switch has %d ports already",
			 SW_MAX_PORTS);
		return -ENOSPC;
	}
	p = port_new(sw, c, (unsigned int)index);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sw_place_rxqs(sw, p);
	rc = c->type == SW_PORT_VHOST ? sw_vhost_open(sw, p, err, errlen) :
	     sw_ethdev_open(sw, p, err, errlen);
	if (rc < 0) {
		port_free(p);
		return rc;
	}
	pthread_mutex_lock(&sw->lock);
	sw->ports[index] = p;
	sw->nports++;
	sw_publish(sw);
	pthread_mutex_unlock(&sw->lock);
	SW_LOG(INFO, "port %s added (index %d)\n", p->name, index);
	return index;
}

int
sw_port_del(struct sw *sw, struct sw_port *p)
{
	uint64_t pk, dr;

	if (p->cap != NULL)
		sw_capture_stop(sw, p, &pk, &dr);
	pthread_mutex_lock(&sw->lock);
	sw->ports[p->index] = NULL;
	sw->nports--;
	sw_publish(sw);
	pthread_mutex_unlock(&sw->lock);
	if (p->conf.type == SW_PORT_VHOST)
		sw_vhost_close(sw, p);
	else
		sw_ethdev_close(sw, p);
	sw_mac_flush_port(sw, p->index);
	SW_LOG(INFO, "port %s removed\n", p->name);
	port_free(p);
	return 0;
}

int
sw_port_set_vlan(struct sw *sw, struct sw_port *p, const struct sw_vlan *v)
{
	char err[64];
	struct sw_vlan *nv, *old;
	int rc = check_vlan(v, err, sizeof(err));

	if (rc < 0)
		return rc;
	nv = rte_malloc("sw_vlan", sizeof(*nv), 0);
	if (nv == NULL)
		return -ENOMEM;
	*nv = *v;
	pthread_mutex_lock(&sw->lock);
	old = (struct sw_vlan *)(uintptr_t)p->vlan;
	p->vlan = nv;
	p->conf.vlan = *v;
	sw_publish(sw);
	pthread_mutex_unlock(&sw->lock);
	rte_free(old);
	/* what was learned on the old membership is no longer true */
	sw_mac_flush_port(sw, p->index);
	return 0;
}

struct sw_port *
sw_port_find(struct sw *sw, const char *name)
{
	unsigned int i;

	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL && strcmp(sw->ports[i]->name, name) == 0)
			return sw->ports[i];
	return NULL;
}

struct sw_port *
sw_port_by_index(struct sw *sw, unsigned int index)
{
	return index < SW_MAX_PORTS ? sw->ports[index] : NULL;
}

unsigned int
sw_port_count(const struct sw *sw)
{
	return sw->nports;
}

static bool
capturing(const struct sw *sw)
{
	unsigned int i;

	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL && sw->ports[i]->cap != NULL)
			return true;
	return false;
}

static int
ms_until(const struct sw *sw, uint64_t tsc, uint64_t now)
{
	return tsc <= now ? 0 : (int)((tsc - now) * 1000 / sw->tsc_hz) + 1;
}

int
sw_next_timeout_ms(struct sw *sw)
{
	uint64_t now = rte_get_tsc_cycles();
	int t = ms_until(sw, sw->next_age_tsc, now), i;

	if (capturing(sw) && ms_until(sw, sw->next_flush_tsc, now) < t)
		t = ms_until(sw, sw->next_flush_tsc, now);
	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL && sw->ports[i]->dev != NULL) {
			int d = vhu_dev_next_timeout_ms(sw->ports[i]->dev);

			if (d >= 0 && d < t)
				t = d;
		}
	return t;
}

void
sw_timers(struct sw *sw)
{
	uint64_t now = rte_get_tsc_cycles();
	unsigned int i;

	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL)
			sw_vhost_timers(sw->ports[i]);
	if (now >= sw->next_age_tsc) {
		sw->now_s += (uint32_t)((now - sw->next_age_tsc) /
					sw->tsc_hz) + 1;
		sw->next_age_tsc = now + sw->tsc_hz;
		sw_mac_age(sw);
	}
	if (now >= sw->next_flush_tsc) {
		sw->next_flush_tsc = now + sw->tsc_hz * SW_FLUSH_MS / 1000;
		sw_capture_flush(sw);
	}
}

void
sw_lock(struct sw *sw)
{
	pthread_mutex_lock(&sw->lock);
}

void
sw_unlock(struct sw *sw)
{
	pthread_mutex_unlock(&sw->lock);
}

const char *
sw_port_name(const struct sw_port *p)
{
	return p->name;
}

unsigned int
sw_port_index(const struct sw_port *p)
{
	return p->index;
}

enum sw_port_type
sw_port_type(const struct sw_port *p)
{
	return p->conf.type;
}

const struct sw_port_conf *
sw_port_conf(const struct sw_port *p)
{
	return &p->conf;
}

const struct sw_vlan *
sw_port_vlan(const struct sw_port *p)
{
	return p->vlan;
}

uint16_t
sw_port_mtu(const struct sw_port *p)
{
	return p->mtu;
}

struct vhu_dev *
sw_port_vhu(const struct sw_port *p)
{
	return p->dev;
}

uint16_t
sw_port_ethdev(const struct sw_port *p)
{
	return p->eth_port;
}

void
sw_port_stats(const struct sw *sw, const struct sw_port *p,
	      struct sw_port_stats *out)
{
	unsigned int w, d;

	memset(out, 0, sizeof(*out));
	for (w = 0; w < sw->nworkers; w++) {
		const struct sw_wstats *s = &p->ws[w];

		out->rx_packets += s->rx_packets;
		out->rx_bytes += s->rx_bytes;
		out->tx_packets += s->tx_packets;
		out->tx_bytes += s->tx_bytes;
		for (d = 0; d < SW_DROP_MAX; d++)
			out->drops[d] += s->drops[d];
	}
}

void
sw_rxq_info(const struct sw_port *p, unsigned int q, struct sw_rxq_info *out)
{
	memset(out, 0, sizeof(*out));
	out->worker = -1;
	if (q >= p->nq)
		return;
	out->worker = p->rxq_worker[q];
	out->packets = p->rxq[q].packets;
	out->bytes = p->rxq[q].bytes;
	out->cycles = p->rxq[q].cycles;
}

void
sw_ring_stats(const struct sw_port *p, unsigned int ring,
	      struct vq_stats *out, bool *running, bool *broken)
{
	const struct vq *q;

	memset(out, 0, sizeof(*out));
	*running = *broken = false;
	if (ring >= 2u * p->nq)
		return;
	*out = p->vq_acc[ring];
	pthread_mutex_lock(&p->sw->lock);
	q = p->vq[ring];
	if (q != NULL) {
		*running = true;
		*broken = vq_broken(q);
		sw_vq_stats_add(out, vq_stats(q));
	}
	pthread_mutex_unlock(&p->sw->lock);
}

unsigned int
sw_worker_count(const struct sw *sw)
{
	return sw->nworkers;
}

void
sw_worker_stats(const struct sw *sw, unsigned int w,
		struct sw_worker_stats *out)
{
	const struct sw_worker *k = &sw->w[w];

	out->lcore = k->lcore;
	out->busy_cycles = k->busy_cycles;
	out->idle_cycles = k->idle_cycles;
	out->packets = k->packets;
	out->iterations = k->iterations;
}
