/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet capture of one port to a pcapng file while forwarding goes on.
 * Workers copy the frames (up to the snap length) into the capture's own
 * mbuf pool and put them on a ring; the control thread drains the ring
 * into the file on its timer. A full ring or pool costs the capture a
 * frame (counted as dropped), never the traffic.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sw_internal.h"
#include "sw_pcapng.h"

#define CAP_RING	4096
#define CAP_MBUFS	8191
#define CAP_DRAIN	64

/* Kept in each copy's private area. */
struct cap_meta {
	uint64_t tsc;
	uint32_t orig_len;
	uint32_t dir;
};

struct sw_capture {
	struct rte_ring *ring;
	struct rte_mempool *mp;
	struct sw_pcapng *file;
	char *path;
	unsigned int dir;
	uint32_t snaplen;
	uint64_t written;
	uint64_t dropped;	/* atomic: any worker */
};

unsigned int
sw_capture_dir(const struct sw_capture *c)
{
	return c->dir;
}

/* Worker: copy n frames going dir into the capture. */
void
sw_capture_copy(struct sw_capture *c, struct rte_mbuf **pkts, uint16_t n,
		unsigned int dir)
{
	struct rte_mbuf *cp[SW_TXBUF];
	uint64_t now = rte_rdtsc();
	unsigned int i, k = 0, put;

	for (i = 0; i < n && i < SW_TXBUF; i++) {
		struct rte_mbuf *m = rte_pktmbuf_copy(pkts[i], c->mp, 0,
						      c->snaplen);
		struct cap_meta *meta;

		if (m == NULL)
			continue;
		meta = rte_mbuf_to_priv(m);
		meta->tsc = now;
		meta->orig_len = pkts[i]->pkt_len;
		meta->dir = dir;
		cp[k++] = m;
	}
	put = rte_ring_mp_enqueue_burst(c->ring, (void **)cp, k, NULL);
	for (i = put; i < k; i++)
		rte_pktmbuf_free(cp[i]);
	if (put < n)
		__atomic_fetch_add(&c->dropped, n - put, __ATOMIC_RELAXED);
}

static void
drain(struct sw *sw, struct sw_capture *c)
{
	struct rte_mbuf *pkts[CAP_DRAIN];
	unsigned int n, i;

	do {
		n = rte_ring_sc_dequeue_burst(c->ring, (void **)pkts,
					      CAP_DRAIN, NULL);
		for (i = 0; i < n; i++) {
			const struct cap_meta *meta = rte_mbuf_to_priv(pkts[i]);

			if (sw_pcapng_write(c->file, pkts[i], meta->orig_len,
					    sw->epoch_ns + sw_tsc_ns(sw, meta->tsc),
					    meta->dir == SW_CAP_RX ?
					    SW_PCAPNG_IN : SW_PCAPNG_OUT) == 0)
				c->written++;
			else
				c->dropped++;
			rte_pktmbuf_free(pkts[i]);
		}
	} while (n == CAP_DRAIN);
}

/* Control: write what the workers captured since the last call. */
void
sw_capture_flush(struct sw *sw)
{
	unsigned int i;

	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL && sw->ports[i]->cap != NULL)
			drain(sw, sw->ports[i]->cap);
}

static void
capture_free(struct sw_capture *c)
{
	rte_ring_free(c->ring);
	rte_mempool_free(c->mp);
	free(c->path);
	free(c);
}

static struct sw_capture *
capture_new(struct sw_port *p, const char *path, unsigned int dir,
	    uint32_t snaplen)
{
	static unsigned int seq;
	struct sw_capture *c = calloc(1, sizeof(*c));
	char name[RTE_MEMPOOL_NAMESIZE];

	if (c == NULL)
		return NULL;
	c->dir = dir;
	c->snaplen = snaplen;
	c->path = strdup(path);
	snprintf(name, sizeof(name), "swcap_r%u", seq);
	c->ring = rte_ring_create(name, CAP_RING, SOCKET_ID_ANY,
				  RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "swcap_m%u", seq++);
	c->mp = rte_pktmbuf_pool_create(name, CAP_MBUFS, 256,
		RTE_ALIGN(sizeof(struct cap_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (c->path == NULL || c->ring == NULL || c->mp == NULL) {
		capture_free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->file = sw_pcapng_open(path, p->name, snaplen);
	if (c->file == NULL) {
		int e = errno;

		capture_free(c);
		errno = e;
		return NULL;
	}
	return c;
}

int
sw_capture_start(struct sw *sw, struct sw_port *p, const char *path,
		 unsigned int dir, uint32_t snaplen)
{
	struct sw_capture *c;

	if (p->cap != NULL)
		return -EBUSY;
	if (dir == 0 || (dir & ~(SW_CAP_RX | SW_CAP_TX)) != 0 ||
	    snaplen < 64)
		return -EINVAL;
	c = capture_new(p, path, dir, snaplen);
	if (c == NULL)
		return -errno;
	pthread_mutex_lock(&sw->lock);
	p->cap = c;
	sw_publish(sw);
	pthread_mutex_unlock(&sw->lock);
	SW_LOG(INFO, "port %s: capturing to %s\n", p->name, path);
	return 0;
}

int
sw_capture_stop(struct sw *sw, struct sw_port *p, uint64_t *packets,
		uint64_t *dropped)
{
	struct sw_capture *c = p->cap;
	int rc;

	if (c == NULL)
		return -ENOENT;
	pthread_mutex_lock(&sw->lock);
	p->cap = NULL;
	sw_publish(sw);		/* no worker copies into it any more */
	pthread_mutex_unlock(&sw->lock);
	drain(sw, c);
	*packets = c->written;
	*dropped = c->dropped;
	rc = sw_pcapng_close(c->file, c->written, c->dropped);
	c->file = NULL;
	capture_free(c);
	SW_LOG(INFO, "port %s: capture stopped, %" PRIu64 " frames\n",
	       p->name, *packets);
	return rc;
}

const char *
sw_capture_info(const struct sw_port *p, unsigned int *dir)
{
	if (p->cap == NULL)
		return NULL;
	*dir = p->cap->dir;
	return p->cap->path;
}
