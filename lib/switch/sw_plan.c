/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plan the workers read, and where rx queues go. A plan is built from
 * the control thread's port objects, published with one release store and
 * the old one freed after an RCU grace period. Rx queues are placed on the
 * worker with the fewest queues (round-robin as ports come), and moved by
 * measured cycles when the operator asks for a rebalance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sw_internal.h"

static void
fill_pdp(const struct sw *sw, const struct sw_port *p, struct sw_pdp *d)
{
	unsigned int q;

	d->type = (uint8_t)p->conf.type;
	d->index = p->index;
	d->eth_port = p->eth_port;
	d->mtu = p->mtu;
	d->nq = p->nq;
	d->eth_tx_offloads = p->eth_tx_offloads;
	d->vlan = p->vlan;
	d->ws = p->ws;
	d->rxq = (struct sw_rxq_stats *)p->rxq;
	d->txlock = (rte_spinlock_t *)p->txlock;
	d->cap = p->cap;
	d->cap_dir = p->cap != NULL ? (uint8_t)sw_capture_dir(p->cap) : 0;
	d->ntx = p->nq;
	if (p->conf.type != SW_PORT_VHOST)
		return;
	d->ntx = 0;
	for (q = 0; q < p->nq && !p->quiesced; q++) {
		d->tx[q] = p->vq[2 * q];
		d->rx[q] = p->vq[2 * q + 1];
		/* workers share the guest's first running receive rings */
		if (d->tx[q] != NULL && d->ntx == q)
			d->ntx++;
	}
	d->tx_shared = sw->nworkers > d->ntx;
}

static bool
rxq_ready(const struct sw_port *p, const struct sw_pdp *d, unsigned int q)
{
	if (p->rxq_worker[q] < 0)
		return false;
	if (p->conf.type == SW_PORT_ETHDEV)
		return p->eth_started;
	return d->rx[q] != NULL;
}

static void
add_polls(struct sw_plan *pl, const struct sw_port *p, struct sw_pdp *d)
{
	unsigned int q;

	for (q = 0; q < p->nq; q++) {
		struct sw_wplan *w;

		if (!rxq_ready(p, d, q))
			continue;
		w = &pl->w[p->rxq_worker[q]];
		if (w->npolls == SW_MAX_POLLS)
			continue;	/* refused at placement */
		w->poll[w->npolls].p = d;
		w->poll[w->npolls].q = (uint16_t)q;
		w->npolls++;
	}
}

/* Build a plan from the ports as they are now and make it current. */
int
sw_publish(struct sw *sw)
{
	size_t sz = sizeof(struct sw_plan) +
		    sw->nworkers * sizeof(struct sw_wplan);
	struct sw_plan *pl = rte_zmalloc("sw_plan", sz, RTE_CACHE_LINE_SIZE);
	struct sw_plan *old;
	unsigned int i;

	if (pl == NULL) {
		SW_LOG(ERR, "no memory for a new plan; ports unchanged\n");
		return -ENOMEM;
	}
	for (i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = sw->ports[i];
		struct sw_pdp *d;

		if (p == NULL)
			continue;
		d = &pl->pdp[pl->nports++];
		fill_pdp(sw, p, d);
		pl->by_index[i] = d;
		add_polls(pl, p, d);
	}
	old = sw->plan;
	__atomic_store_n(&sw->plan, pl, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(sw->qs, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	return 0;
}

static unsigned int
worker_queues(const struct sw *sw, unsigned int w)
{
	unsigned int i, q, n = 0;

	for (i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_port *p = sw->ports[i];

		for (q = 0; p != NULL && q < p->nq; q++)
			n += p->rxq_worker[q] == (int8_t)w;
	}
	return n;
}

/* Give each rx queue of a new port to the least loaded worker. */
void
sw_place_rxqs(struct sw *sw, struct sw_port *p)
{
	unsigned int q, w;

	for (q = 0; q < p->nq; q++) {
		unsigned int best = 0, best_n = UINT32_MAX;

		p->rxq_worker[q] = -1;
		for (w = 0; w < sw->nworkers; w++) {
			unsigned int n = worker_queues(sw, w);

			if (n < best_n) {
				best = w;
				best_n = n;
			}
		}
		p->rxq_worker[q] = (int8_t)best;
	}
}

struct rxq_load {
	struct sw_port *p;
	uint16_t q;
	uint64_t cycles;
};

static int
by_cycles_desc(const void *a, const void *b)
{
	const struct rxq_load *x = a, *y = b;

	return x->cycles < y->cycles ? 1 : x->cycles > y->cycles ? -1 : 0;
}

static unsigned int
collect_loads(struct sw *sw, struct rxq_load *l)
{
	unsigned int i, q, n = 0;

	for (i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = sw->ports[i];

		for (q = 0; p != NULL && q < p->nq; q++) {
			struct sw_rxq_stats *s = &p->rxq[q];
			uint64_t c = __atomic_load_n(&s->cycles,
						     __ATOMIC_RELAXED);

			l[n].p = p;
			l[n].q = (uint16_t)q;
			l[n].cycles = c - s->cycles_mark;
			s->cycles_mark = c;
			n++;
		}
	}
	return n;
}

/* Greedy: the busiest queue first, each to the least loaded worker. */
static unsigned int
assign(struct sw *sw, struct rxq_load *l, unsigned int n, int8_t *to)
{
	uint64_t load[SW_MAX_WORKERS] = { 0 };
	unsigned int cnt[SW_MAX_WORKERS] = { 0 };
	unsigned int i, w, moved = 0;

	qsort(l, n, sizeof(*l), by_cycles_desc);
	for (i = 0; i < n; i++) {
		int8_t cur = l[i].p->rxq_worker[l[i].q];
		unsigned int best = 0;

		for (w = 1; w < sw->nworkers; w++)
			if (load[w] < load[best] ||
			    (load[w] == load[best] && cnt[w] < cnt[best]))
				best = w;
		/* a queue stays where it is unless another worker is idler */
		if (cur >= 0 && load[cur] == load[best])
			best = (unsigned int)cur;
		load[best] += l[i].cycles;
		cnt[best]++;
		to[i] = (int8_t)best;
		moved += l[i].p->rxq_worker[l[i].q] != to[i];
	}
	return moved;
}

/*
 * Move rx queues in three steps: unpublish the moving ones, hand their
 * zero-copy completions to the new lcore once the old worker is out, and
 * publish them on their new workers.
 */
int
sw_rebalance(struct sw *sw)
{
	struct rxq_load *l;
	int8_t *to;
	unsigned int n, i, moved;

	l = calloc(SW_MAX_PORTS * SW_MAX_QUEUES, sizeof(*l));
	to = calloc(SW_MAX_PORTS * SW_MAX_QUEUES, sizeof(*to));
	if (l == NULL || to == NULL) {
		free(l);
		free(to);
		return -ENOMEM;
	}
	pthread_mutex_lock(&sw->lock);
	n = collect_loads(sw, l);
	moved = assign(sw, l, n, to);
	if (moved > 0) {
		for (i = 0; i < n; i++)
			if (l[i].p->rxq_worker[l[i].q] != to[i])
				l[i].p->rxq_worker[l[i].q] = -1;
		sw_publish(sw);
		for (i = 0; i < n; i++) {
			struct sw_port *p = l[i].p;
			struct vq *q = p->vq[2 * l[i].q + 1];

			if (p->rxq_worker[l[i].q] >= 0)
				continue;	/* stays where it is */
			if (p->conf.type == SW_PORT_VHOST && q != NULL)
				vq_set_owner(q, sw->w[to[i]].lcore);
			p->rxq_worker[l[i].q] = to[i];
		}
		rte_rcu_qsbr_synchronize(sw->qs, RTE_QSBR_THRID_INVALID);
		sw_publish(sw);
	}
	pthread_mutex_unlock(&sw->lock);
	free(l);
	free(to);
	return (int)moved;
}
