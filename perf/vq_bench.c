/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vq-bench: cycles per packet of lib/virtio's data path, driven by the
 * software guest driver of tests/virtio (gd) on one lcore.
 *
 *	dequeue	guest transmit ring -> mbufs, freed, zero-copy reaped
 *	enqueue	mbufs -> guest receive buffers
 *	loop	dequeue from guest A, enqueue to guest B, free: the switch's
 *		VM-to-VM cost without any switching logic; in mode direct,
 *		guest to guest without mbufs (vq_peek_burst, vq_put_burst,
 *		vq_take_burst), the dequeue taking what the peek refuses
 *
 * Only the lib/virtio calls are timed (rte_rdtsc around each burst); the
 * guest's work (filling its transmit ring, reclaiming and posting receive
 * buffers) runs between the timed regions. A micro-benchmark, not a test:
 * nothing here judges the times. It does check that no packet went
 * missing and, during warm-up, that packets arrive byte for byte.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include "gd.h"
#include "vqt.h"

#define FEAT_BASE	(VHU_BIT(VHU_F_VERSION_1))
#define FEAT_MRG	(FEAT_BASE | VHU_BIT(VHU_NET_F_MRG_RXBUF))
#define HDR_LEN		12		/* VERSION_1: always num_buffers */
#define MAX_RUNS	32
#define MAX_FRAME	2048
#define SEQ_OFF		42		/* after Ethernet/IPv4/UDP headers */
#define NOMRG_BUF	2048		/* non-mergeable receive buffers */
#define VERIFY_PKTS	4096		/* checked byte for byte in warm-up */
#define STALL_LIMIT	1000		/* empty bursts in a row: give up */

struct opts {
	bool quick;
	bool json;
	bool huge;
	bool irq;
	int lcore;
	uint32_t pkts;
	uint32_t runs;
	uint32_t warmup;
	uint16_t ring;
	uint16_t burst;
	uint32_t rx_buf;
	const char *only;
};

enum kind { K_DEQ, K_ENQ, K_LOOP };

static const char *const kind_name[] = { "dequeue", "enqueue", "loop" };

struct bcase {
	enum kind kind;
	bool packed;
	bool zc;		/* dequeue, loop: zero_copy = true */
	bool direct;		/* loop: guest to guest, no mbufs */
	bool mrg;		/* enqueue: MRG_RXBUF; loop: always */
	uint32_t len;		/* frame bytes, without the virtio header */
	char name[64];

	/* results */
	bool ran;
	bool ok;
	char problem[160];
	uint32_t nruns;
	double cpp[MAX_RUNS];	/* cycles per packet, per run */
	double median, min, max;
	uint64_t timed_pkts;
	uint64_t verified;
	uint64_t zc_pkts, copy_pkts, deq_pkts;
	uint64_t drops;
	uint64_t notifications;
	uint64_t interrupted;	/* timed bursts dropped as interrupted */
	uint64_t bursts;	/* timed bursts kept */
	uint64_t preempted;	/* involuntary context switches, timed */
};

/* One guest: its memory, one queue and our device side of it. */
struct guest {
	struct gd_mem mem;
	struct gd_q q;
	struct vq *vq;
	bool mem_ok, q_ok;
	uint8_t frame[MAX_FRAME];	/* transmit template, seq patched */
	uint32_t flen;
	uint32_t seq;			/* next sequence number sent */
	uint64_t sent;			/* chains made available */
	uint64_t reclaimed;		/* used entries taken back */
	uint32_t buf_len;		/* receive buffers posted */
	bool error;
};

static struct opts opt = {
	.lcore = -1,
	.pkts = 2000000,
	.runs = 7,
	.warmup = 100000,
	.ring = 256,
	.burst = 32,
	.rx_buf = 2048,
};
static struct rte_mempool *pool;
static uint64_t tsc_hz;
static double timer_overhead;
static uint64_t burst_limit;	/* a timed burst longer was interrupted */

/* ---- helpers -------------------------------------------------------- */

static void
frame_template(uint8_t *f, uint32_t len)
{
	vqt_frame(f, len, 1);
}

static void
frame_seq(uint8_t *f, uint32_t seq)
{
	memcpy(f + SEQ_OFF, &seq, sizeof(seq));
}

/* A received frame is the template of len bytes with sequence seq. */
static bool
frame_ok(const uint8_t *got, uint32_t got_len, const uint8_t *tmpl,
	 uint32_t len, uint32_t seq)
{
	uint32_t s;

	if (got_len != len)
		return false;
	memcpy(&s, got + SEQ_OFF, sizeof(s));
	return s == seq && memcmp(got, tmpl, SEQ_OFF) == 0 &&
	       memcmp(got + SEQ_OFF + 4, tmpl + SEQ_OFF + 4,
		      len - SEQ_OFF - 4) == 0;
}

static bool
mbuf_ok(const struct rte_mbuf *m, const uint8_t *tmpl, uint32_t len,
	uint32_t seq)
{
	uint8_t buf[MAX_FRAME];
	const uint8_t *p;

	if (m->pkt_len != len)
		return false;
	p = rte_pktmbuf_read(m, 0, len, buf);
	return p != NULL && frame_ok(p, len, tmpl, len, seq);
}

static void
fail(struct bcase *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail(struct bcase *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->ok)
		return;		/* keep the first problem */
	c->ok = false;
	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vq-bench: %s: %s\n", c->name, c->problem);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Guest memory: gd's memfd, on 2 MiB hugepages with --huge. */
static int
mem_init(struct gd_mem *m, uint64_t size)
{
	int rc = opt.huge ? gd_mem_init_huge(m, size) : gd_mem_init(m, size);

	if (rc == 0 && opt.huge)
		memset(m->gva, 0, m->size);	/* fault it in, not timed */
	return rc;
}

static int
guest_open(struct guest *g, bool packed, uint64_t features, bool zc)
{
	/* gd gives every buffer id a 72 KiB area and an indirect table. */
	uint64_t size = (uint64_t)opt.ring * (74u << 10) + (2u << 20);
	struct vq_params p = {
		.mp = pool,
		.zero_copy = zc,
		.owner_lcore = rte_lcore_id(),
	};
	int rc;

	memset(g, 0, sizeof(*g));
	rc = mem_init(&g->mem, size);
	if (rc < 0) {
		fprintf(stderr, "vq-bench: guest memory (%s): %s\n",
			opt.huge ? "hugepages" : "memfd", strerror(-rc));
		return rc;
	}
	g->mem_ok = true;
	rc = gd_q_init(&g->q, &g->mem, opt.ring, packed, features);
	if (rc < 0)
		return rc;
	g->q_ok = true;
	/* A polling guest driver: it asks for no interrupts. */
	if (!opt.irq) {
		if (packed)
			g->q.drv_ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
		else
			g->q.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	}
	g->vq = vq_create(&g->q.vr, &p);
	return g->vq != NULL ? 0 : -ENOMEM;
}

static void
guest_close(struct guest *g)
{
	vq_free(g->vq);
	if (g->q_ok)
		gd_q_fini(&g->q);
	if (g->mem_ok)
		gd_mem_fini(&g->mem);
}

static void
guest_reclaim(struct guest *g)
{
	int n = gd_tx_reclaim(&g->q);

	if (n < 0)
		g->error = true;
	else
		g->reclaimed += (uint64_t)n;
}

/* Guest transmit: reclaim, then fill every free slot. */
static void
tx_refill(struct guest *g)
{
	static const struct virtio_net_hdr_mrg_rxbuf hdr;
	static const struct gd_shape one = { .nsegs = 1 };

	guest_reclaim(g);
	while (gd_free_desc(&g->q) > 0) {
		frame_seq(g->frame, g->seq);
		if (gd_tx(&g->q, &hdr, g->frame, g->flen, &one) < 0)
			break;
		g->seq++;
		g->sent++;
	}
}

/* Guest receive: reclaim used buffers unread, post every free slot. */
static void
rx_refill(struct guest *g)
{
	static const struct gd_shape one = { .nsegs = 1 };

	guest_reclaim(g);
	while (gd_free_desc(&g->q) > 0)
		if (gd_rx_post(&g->q, g->buf_len, &one) < 0)
			break;
}

/*
 * Guest receive with a check: read every packet received, compare it
 * with the template and sequence *seq. Returns packets read, -1 on a
 * mismatch or a malformed completion.
 */
static int
rx_read(struct guest *g, const uint8_t *tmpl, uint32_t len, uint32_t *seq,
	uint32_t seq_mod, uint32_t bufs_per_pkt)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint8_t out[MAX_FRAME];
	int n = 0, got;

	while ((got = gd_rx(&g->q, &hdr, out, sizeof(out))) > 0) {
		if (!frame_ok(out, (uint32_t)got, tmpl, len,
			      seq_mod ? *seq % seq_mod : *seq))
			return -1;
		(*seq)++;
		g->reclaimed += bufs_per_pkt;
		n++;
	}
	return got < 0 ? -1 : n;
}

static uint32_t
bufs_per_pkt(const struct guest *g, bool mrg, uint32_t len)
{
	return mrg ? (len + HDR_LEN + g->buf_len - 1) / g->buf_len : 1;
}

static void
case_stats(struct bcase *c, const struct vq *deq, const struct vq *enq)
{
	unsigned int i;

	if (deq != NULL) {
		const struct vq_stats *s = vq_stats(deq);

		c->zc_pkts += s->zc_packets;
		c->copy_pkts += s->copy_packets;
		c->deq_pkts += s->packets;
		c->notifications += s->notifications;
		for (i = 0; i < VQ_DROP_MAX; i++)
			c->drops += s->drops[i];
		if (vq_broken(deq))
			fail(c, "dequeue queue broken");
	}
	if (enq != NULL) {
		const struct vq_stats *s = vq_stats(enq);

		c->notifications += s->notifications;
		for (i = 0; i < VQ_DROP_MAX; i++)
			c->drops += s->drops[i];
		if (vq_broken(enq))
			fail(c, "enqueue queue broken");
	}
	if (c->drops != 0)
		fail(c, "%" PRIu64 " packets dropped", c->drops);
}

static void
finish_runs(struct bcase *c)
{
	double s[MAX_RUNS];

	memcpy(s, c->cpp, c->nruns * sizeof(s[0]));
	qsort(s, c->nruns, sizeof(s[0]), cmp_double);
	c->min = s[0];
	c->max = s[c->nruns - 1];
	c->median = c->nruns % 2 ? s[c->nruns / 2] :
		    (s[c->nruns / 2 - 1] + s[c->nruns / 2]) / 2;
	c->ran = true;
}

/* What one timed run adds up. */
struct tally {
	uint64_t cycles;	/* in kept bursts */
	uint64_t pkts;		/* in kept bursts */
	uint64_t all;		/* every packet, for the run's length */
	long nivcsw;
};

static long
nivcsw(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

static void
tally_begin(struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->nivcsw = nivcsw();
}

/*
 * One timed burst. One far longer than any burst takes was interrupted
 * (the lcore was shared, or the vCPU descheduled): left out, counted.
 */
static inline void
tally_add(struct bcase *c, struct tally *t, uint64_t dt, uint16_t n)
{
	t->all += n;
	if (unlikely(dt > burst_limit)) {
		c->interrupted++;
		return;
	}
	t->cycles += dt;
	t->pkts += n;
	c->bursts++;
}

static void
tally_end(struct bcase *c, const struct tally *t)
{
	c->preempted += (uint64_t)(nivcsw() - t->nivcsw);
	c->timed_pkts += t->pkts;
	if (t->pkts > 0)
		c->cpp[c->nruns++] = (double)t->cycles / (double)t->pkts;
	else
		fail(c, "no timed packets");
}

/* ---- dequeue -------------------------------------------------------- */

static void
run_dequeue(struct bcase *c)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint8_t tmpl[MAX_FRAME];
	struct guest g;
	uint64_t got = 0;
	uint32_t expect = 0, stall = 0;
	struct tally t;

	if (guest_open(&g, c->packed, FEAT_BASE, c->zc) < 0) {
		fail(c, "set-up failed");
		guest_close(&g);
		return;
	}
	frame_template(tmpl, c->len);
	memcpy(g.frame, tmpl, c->len);
	g.flen = c->len;

	/* Warm-up; its first packets are checked byte for byte. */
	while (got < opt.warmup && c->ok) {
		uint16_t n, i;

		tx_refill(&g);
		n = vq_dequeue_burst(g.vq, pkts, opt.burst);
		for (i = 0; i < n; i++, expect++)
			if (c->verified < VERIFY_PKTS) {
				if (!mbuf_ok(pkts[i], tmpl, c->len, expect))
					fail(c, "packet %u differs from "
					     "what the guest sent", expect);
				c->verified++;
			}
		rte_pktmbuf_free_bulk(pkts, n);
		vq_reap(g.vq);
		got += n;
		stall = n ? 0 : stall + 1;
		if (stall == STALL_LIMIT)
			fail(c, "no packets (warm-up)");
	}

	/* One timed run. */
	tally_begin(&t);
	while (c->ok && t.all < opt.pkts) {
		uint64_t t0, t1;
		uint16_t n;

		tx_refill(&g);
		t0 = rte_rdtsc();
		n = vq_dequeue_burst(g.vq, pkts, opt.burst);
		rte_pktmbuf_free_bulk(pkts, n);
		vq_reap(g.vq);
		t1 = rte_rdtsc();
		tally_add(c, &t, t1 - t0, n);
		got += n;
		stall = n ? 0 : stall + 1;
		if (stall == STALL_LIMIT)
			fail(c, "no packets (run %u)", c->nruns);
	}
	if (c->ok)
		tally_end(c, &t);

	/* Drain: everything the guest sent comes out and goes back. */
	for (stall = 0; stall < 4; ) {
		uint16_t n = vq_dequeue_burst(g.vq, pkts, opt.burst);

		rte_pktmbuf_free_bulk(pkts, n);
		vq_reap(g.vq);
		got += n;
		stall = n ? 0 : stall + 1;
	}
	guest_reclaim(&g);
	if (g.error)
		fail(c, "guest saw a malformed used entry");
	if (got != g.sent)
		fail(c, "guest sent %" PRIu64 ", dequeued %" PRIu64,
		     g.sent, got);
	if (g.reclaimed != g.sent)
		fail(c, "guest sent %" PRIu64 ", got back %" PRIu64
		     " buffers", g.sent, g.reclaimed);
	if (vq_zc_outstanding(g.vq) != 0)
		fail(c, "%u zero-copy buffers still held",
		     vq_zc_outstanding(g.vq));
	case_stats(c, g.vq, NULL);
	guest_close(&g);
}

/* ---- enqueue -------------------------------------------------------- */

static void
run_enqueue(struct bcase *c)
{
	uint32_t nsrc = RTE_ALIGN_CEIL(opt.ring, opt.burst), i, pos = 0;
	uint32_t rseq = 0, per;
	struct tally t;
	uint8_t tmpl[MAX_FRAME];
	struct rte_mbuf **src;
	uint64_t sent = 0, delivered = 0;
	struct guest g;

	src = calloc(nsrc, sizeof(*src));
	if (src == NULL || guest_open(&g, c->packed,
				      c->mrg ? FEAT_MRG : FEAT_BASE,
				      false) < 0) {
		fail(c, "set-up failed");
		if (src != NULL)
			guest_close(&g);
		free(src);
		return;
	}
	g.buf_len = c->mrg ? opt.rx_buf : NOMRG_BUF;
	per = bufs_per_pkt(&g, c->mrg, c->len);
	frame_template(tmpl, c->len);
	/* Source packets, reused: packet k is src[k % nsrc]. */
	for (i = 0; i < nsrc; i++) {
		uint8_t *d;

		src[i] = rte_pktmbuf_alloc(pool);
		d = src[i] ? (uint8_t *)rte_pktmbuf_append(src[i],
							  (uint16_t)c->len)
			   : NULL;
		if (d == NULL) {
			fail(c, "no mbufs for the source packets");
			goto out;
		}
		memcpy(d, tmpl, c->len);
		frame_seq(d, i);
	}

	while (sent < opt.warmup && c->ok) {
		uint16_t d;
		int k;

		if (c->verified < VERIFY_PKTS) {
			k = rx_read(&g, tmpl, c->len, &rseq, nsrc, per);
			if (k < 0)
				fail(c, "received packet %u differs", rseq);
			c->verified += k > 0 ? (uint64_t)k : 0;
		}
		rx_refill(&g);
		d = vq_enqueue_burst(g.vq, &src[pos], opt.burst);
		pos = (pos + opt.burst) % nsrc;
		sent += opt.burst;
		delivered += d;
		if (d != opt.burst)
			fail(c, "%u of %u delivered (warm-up)", d, opt.burst);
	}

	tally_begin(&t);
	while (c->ok && t.all < opt.pkts) {
		uint64_t t0, t1;
		uint16_t d;

		rx_refill(&g);
		t0 = rte_rdtsc();
		d = vq_enqueue_burst(g.vq, &src[pos], opt.burst);
		t1 = rte_rdtsc();
		tally_add(c, &t, t1 - t0, d);
		pos = (pos + opt.burst) % nsrc;
		sent += opt.burst;
		delivered += d;
		if (d != opt.burst)
			fail(c, "%u of %u delivered (run %u)", d, opt.burst,
			     c->nruns);
	}
	if (c->ok)
		tally_end(c, &t);

	guest_reclaim(&g);
	if (g.error)
		fail(c, "guest saw a malformed used entry");
	if (delivered != sent)
		fail(c, "sent %" PRIu64 ", delivered %" PRIu64, sent,
		     delivered);
	if (g.reclaimed != delivered * per)
		fail(c, "delivered %" PRIu64 " packets, guest got %" PRIu64
		     " buffers, expected %u each", delivered, g.reclaimed, per);
	case_stats(c, NULL, g.vq);
out:
	for (i = 0; i < nsrc; i++)
		rte_pktmbuf_free(src[i]);
	free(src);
	guest_close(&g);
}

/* ---- guest to guest ------------------------------------------------- */

/*
 * One burst from guest A to guest B: *n taken from A, *d delivered to B.
 * Through mbufs, or in mode direct guest to guest, the frames' first
 * words written as h says (what a switch would have judged); a burst
 * the peek refuses goes through mbufs, as the switch takes it.
 */
static void
loop_step(const struct bcase *c, struct guest *a, struct guest *b,
	  const struct vq_head *h, uint16_t *n, uint16_t *d)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];

	if (c->direct) {
		struct vq_peek pk;
		int k = vq_peek_burst(a->vq, &pk, opt.burst);

		if (k >= 0) {
			*d = k > 0 ? vq_put_burst(b->vq, &pk, h) : 0;
			if (k > 0)
				vq_take_burst(a->vq, &pk);
			*n = (uint16_t)k;
			return;
		}
	}
	*n = vq_dequeue_burst(a->vq, pkts, opt.burst);
	*d = vq_enqueue_burst(b->vq, pkts, *n);
	rte_pktmbuf_free_bulk(pkts, *n);
	vq_reap(a->vq);
}

static void
run_loop(struct bcase *c)
{
	uint8_t tmpl[MAX_FRAME];
	struct vq_head h = { .mask1 = UINT64_MAX };
	struct guest a, b;
	uint64_t got = 0, delivered = 0;
	uint32_t rseq = 0, stall = 0, per;
	struct tally t;
	bool a_ok, b_ok;

	a_ok = guest_open(&a, c->packed, FEAT_BASE, c->zc) == 0;
	b_ok = a_ok && guest_open(&b, c->packed, FEAT_MRG, false) == 0;
	if (!a_ok || !b_ok) {
		fail(c, "set-up failed");
		guest_close(&a);
		if (a_ok)
			guest_close(&b);
		return;
	}
	frame_template(tmpl, c->len);
	memcpy(&h.w0, tmpl, sizeof(h.w0));
	memcpy(&h.w1, tmpl + sizeof(h.w0), sizeof(h.w1));
	memcpy(a.frame, tmpl, c->len);
	a.flen = c->len;
	b.buf_len = opt.rx_buf;
	per = bufs_per_pkt(&b, true, c->len);

	while (got < opt.warmup && c->ok) {
		uint16_t n, d;
		int k;

		if (c->verified < VERIFY_PKTS) {
			k = rx_read(&b, tmpl, c->len, &rseq, 0, per);
			if (k < 0)
				fail(c, "received packet %u differs", rseq);
			c->verified += k > 0 ? (uint64_t)k : 0;
		}
		tx_refill(&a);
		rx_refill(&b);
		loop_step(c, &a, &b, &h, &n, &d);
		got += n;
		delivered += d;
		if (d != n)
			fail(c, "%u of %u delivered (warm-up)", d, n);
		stall = n ? 0 : stall + 1;
		if (stall == STALL_LIMIT)
			fail(c, "no packets (warm-up)");
	}

	tally_begin(&t);
	while (c->ok && t.all < opt.pkts) {
		uint64_t t0, t1;
		uint16_t n, d;

		tx_refill(&a);
		rx_refill(&b);
		t0 = rte_rdtsc();
		loop_step(c, &a, &b, &h, &n, &d);
		t1 = rte_rdtsc();
		tally_add(c, &t, t1 - t0, n);
		got += n;
		delivered += d;
		if (d != n)
			fail(c, "%u of %u delivered (run %u)", d, n,
			     c->nruns);
		stall = n ? 0 : stall + 1;
		if (stall == STALL_LIMIT)
			fail(c, "no packets (run %u)", c->nruns);
	}
	if (c->ok)
		tally_end(c, &t);

	for (stall = 0; stall < 4; ) {
		uint16_t n, d;

		rx_refill(&b);
		loop_step(c, &a, &b, &h, &n, &d);
		got += n;
		delivered += d;
		stall = n ? 0 : stall + 1;
	}
	guest_reclaim(&a);
	guest_reclaim(&b);
	if (a.error || b.error)
		fail(c, "a guest saw a malformed used entry");
	if (got != a.sent)
		fail(c, "guest A sent %" PRIu64 ", dequeued %" PRIu64,
		     a.sent, got);
	if (a.reclaimed != a.sent)
		fail(c, "guest A sent %" PRIu64 ", got back %" PRIu64
		     " buffers", a.sent, a.reclaimed);
	if (delivered != got)
		fail(c, "dequeued %" PRIu64 ", delivered %" PRIu64, got,
		     delivered);
	if (b.reclaimed != delivered * per)
		fail(c, "delivered %" PRIu64 ", guest B got %" PRIu64
		     " buffers", delivered, b.reclaimed);
	if (vq_zc_outstanding(a.vq) != 0)
		fail(c, "%u zero-copy buffers still held",
		     vq_zc_outstanding(a.vq));
	case_stats(c, a.vq, b.vq);
	guest_close(&a);
	guest_close(&b);
}

/* ---- cases, output -------------------------------------------------- */

static const char *
mode_name(const struct bcase *c)
{
	if (c->kind == K_ENQ)
		return c->mrg ? "mergeable" : "non-mrg";
	return c->direct ? "direct" : c->zc ? "zero-copy" : "copy";
}

static unsigned int
make_cases(struct bcase *cs)
{
	static const uint32_t lens[] = { 64, 1518 };
	unsigned int n = 0, k, ring, mode, l;

	for (k = K_DEQ; k <= K_LOOP; k++)
		for (ring = 0; ring < 2; ring++)
			for (mode = 0; mode < (k == K_LOOP ? 3u : 2u); mode++)
				for (l = 0; l < RTE_DIM(lens); l++) {
					struct bcase *c = &cs[n];

					memset(c, 0, sizeof(*c));
					c->kind = k;
					c->packed = ring;
					c->len = lens[l];
					c->ok = true;
					if (k == K_ENQ)
						c->mrg = mode;
					else
						c->zc = mode == 1;
					c->direct = mode == 2;
					c->mrg |= k == K_LOOP;
					snprintf(c->name, sizeof(c->name),
						 "%s/%s/%s/%u", kind_name[k],
						 ring ? "packed" : "split",
						 k == K_ENQ ?
						 (mode ? "mrg" : "nomrg") :
						 c->direct ? "direct" :
						 (mode ? "zc" : "copy"),
						 lens[l]);
					n++;
				}
	return n;
}


static double
mpps(double cpp)
{
	return cpp > 0 ? (double)tsc_hz / cpp / 1e6 : 0;
}

static double
zc_share(const struct bcase *c)
{
	return c->deq_pkts ? 100.0 * (double)c->zc_pkts /
			     (double)c->deq_pkts : 0;
}

static const struct bcase *
find(const struct bcase *cs, unsigned int n, enum kind k, bool packed,
     bool zc, bool direct, uint32_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (cs[i].kind == k && cs[i].packed == packed &&
		    cs[i].zc == zc && cs[i].direct == direct &&
		    cs[i].len == len && cs[i].ran && cs[i].ok)
			return &cs[i];
	return NULL;
}

static void
cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(out, len, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && p != NULL) {
			p += 2;
			p[strcspn(p, "\n")] = '\0';
			snprintf(out, len, "%s", p);
			break;
		}
	}
	fclose(f);
}

static void
print_table(const struct bcase *cs, unsigned int n)
{
	static const struct { enum kind k; const char *what; } ratio[] = {
		{ K_DEQ, "dequeue" }, { K_LOOP, "loop" },
	};
	char model[128];
	unsigned int i, j, p;

	cpu_model(model, sizeof(model));
	printf("vq-bench: lib/virtio cycles per packet\n");
	printf("cpu %s, TSC %.3f GHz, %s, lcore %u\n", model,
	       (double)tsc_hz / 1e9, rte_version(), rte_lcore_id());
	printf("ring %u, burst %u, %u rounds x %u packets per case "
	       "(set up afresh each round, %u warm-up), memory %s, guest "
	       "interrupts %s\n", opt.ring, opt.burst,
	       opt.runs, opt.pkts, opt.warmup,
	       opt.huge ? "hugepages" : "4 KiB pages (--no-huge)",
	       opt.irq ? "on" : "suppressed");
	printf("timer: %.0f cycles per rdtsc pair, in every timed burst "
	       "(%.1f cycles/pkt at a full burst)\n\n", timer_overhead,
	       timer_overhead / opt.burst);
	printf("%-8s %-6s %-10s %5s %7s %9s %9s %9s %8s  %s\n", "test",
	       "ring", "mode", "frame", "zc%", "cyc/pkt", "min", "max",
	       "Mpps", "check");
	for (i = 0; i < n; i++) {
		const struct bcase *c = &cs[i];
		char zc[16];

		if (!c->ran && c->ok)
			continue;
		if (c->kind == K_ENQ)
			snprintf(zc, sizeof(zc), "-");
		else
			snprintf(zc, sizeof(zc), "%.0f", zc_share(c));
		if (!c->ran) {
			printf("%-8s %-6s %-10s %5u %7s %9s %9s %9s %8s  "
			       "FAIL: %s\n", kind_name[c->kind],
			       c->packed ? "packed" : "split", mode_name(c),
			       c->len, zc, "-", "-", "-", "-", c->problem);
			continue;
		}
		printf("%-8s %-6s %-10s %5u %7s %9.1f %9.1f %9.1f %8.2f  %s%s\n",
		       kind_name[c->kind], c->packed ? "packed" : "split",
		       mode_name(c), c->len, zc, c->median, c->min, c->max,
		       mpps(c->median), c->ok ? "ok" : "FAIL: ",
		       c->ok ? "" : c->problem);
	}
	printf("\nzero-copy / copy, 1518 B (median cycles; below 1: "
	       "zero-copy is cheaper)\n");
	for (i = 0; i < RTE_DIM(ratio); i++)
		for (p = 0; p < 2; p++) {
			const struct bcase *cp = find(cs, n, ratio[i].k, p,
						      false, false, 1518);
			const struct bcase *zc = find(cs, n, ratio[i].k, p,
						      true, false, 1518);

			if (cp == NULL || zc == NULL)
				continue;
			printf("  %-8s %-6s %6.2f  (%.1f / %.1f)\n",
			       ratio[i].what, p ? "packed" : "split",
			       zc->median / cp->median, zc->median,
			       cp->median);
		}
	printf("\nloop, direct / copy (median cycles; below 1: guest to "
	       "guest without mbufs is cheaper)\n");
	for (p = 0; p < 4; p++) {
		uint32_t len = p & 1 ? 1518 : 64;
		const struct bcase *cp = find(cs, n, K_LOOP, p / 2, false,
					      false, len);
		const struct bcase *dr = find(cs, n, K_LOOP, p / 2, false,
					      true, len);

		if (cp == NULL || dr == NULL)
			continue;
		printf("  %-6s %5u %6.2f  (%.1f / %.1f)\n",
		       p / 2 ? "packed" : "split", len,
		       dr->median / cp->median, dr->median, cp->median);
	}
	{
		uint64_t bad = 0, kept = 0, pre = 0;

		for (i = 0; i < n; i++) {
			bad += cs[i].interrupted;
			kept += cs[i].bursts;
			pre += cs[i].preempted;
		}
		printf("\ninterrupted: %" PRIu64 " of %" PRIu64 " timed bursts "
		       "(%.3f%%) took over 50 us and were left out; %" PRIu64
		       " involuntary context switches in timed runs\n", bad,
		       bad + kept, bad + kept ? 100.0 * (double)bad /
		       (double)(bad + kept) : 0, pre);
	}
	j = 0;
	for (i = 0; i < n; i++)
		if (cs[i].ran && cs[i].zc && cs[i].len < 512)
			j++;
	if (j > 0)
		printf("\nzero-copy rows at 64 B: below zc_min_len (512), "
		       "copied either way (zc%% 0).\n");
}

static void
print_json(const struct bcase *cs, unsigned int n)
{
	char model[128];
	unsigned int i, j, first = 1;

	cpu_model(model, sizeof(model));
	printf("{\n  \"cpu\": \"%s\",\n  \"tsc_hz\": %" PRIu64 ",\n"
	       "  \"dpdk\": \"%s\",\n  \"lcore\": %u,\n  \"ring\": %u,\n"
	       "  \"burst\": %u,\n  \"runs\": %u,\n  \"packets_per_run\": %u,\n"
	       "  \"warmup\": %u,\n  \"hugepages\": %s,\n"
	       "  \"guest_interrupts\": %s,\n"
	       "  \"timer_overhead_cycles\": %.1f,\n  \"cases\": [",
	       model, tsc_hz, rte_version(), rte_lcore_id(), opt.ring,
	       opt.burst, opt.runs, opt.pkts, opt.warmup,
	       opt.huge ? "true" : "false", opt.irq ? "true" : "false",
	       timer_overhead);
	for (i = 0; i < n; i++) {
		const struct bcase *c = &cs[i];

		if (!c->ran && c->ok)
			continue;
		printf("%s\n    {\"name\": \"%s\", \"test\": \"%s\", "
		       "\"ring\": \"%s\", \"mode\": \"%s\", \"frame\": %u,",
		       first ? "" : ",", c->name, kind_name[c->kind],
		       c->packed ? "packed" : "split", mode_name(c), c->len);
		first = 0;
		printf(" \"ok\": %s, \"problem\": \"%s\",",
		       c->ok ? "true" : "false", c->problem);
		printf("\n     \"cycles_per_packet\": %.2f, \"min\": %.2f, "
		       "\"max\": %.2f, \"mpps\": %.3f,", c->median, c->min,
		       c->max, mpps(c->median));
		printf(" \"runs\": [");
		for (j = 0; j < c->nruns; j++)
			printf("%s%.2f", j ? ", " : "", c->cpp[j]);
		printf("],\n     \"timed_packets\": %" PRIu64
		       ", \"verified\": %" PRIu64 ", \"zc_packets\": %" PRIu64
		       ", \"copy_packets\": %" PRIu64 ", \"drops\": %" PRIu64
		       ", \"notifications\": %" PRIu64 ",\n     \"bursts\": %"
		       PRIu64 ", \"interrupted_bursts\": %" PRIu64
		       ", \"preempted\": %" PRIu64 "}", c->timed_pkts,
		       c->verified, c->zc_pkts, c->copy_pkts, c->drops,
		       c->notifications, c->bursts, c->interrupted,
		       c->preempted);
	}
	printf("\n  ],\n  \"zc_over_copy_1518\": {");
	first = 1;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			enum kind k = i ? K_LOOP : K_DEQ;
			const struct bcase *cp = find(cs, n, k, j, false, false,
						      1518);
			const struct bcase *zc = find(cs, n, k, j, true, false,
						      1518);

			if (cp == NULL || zc == NULL)
				continue;
			printf("%s\"%s/%s\": %.3f", first ? "" : ", ",
			       kind_name[k], j ? "packed" : "split",
			       zc->median / cp->median);
			first = 0;
		}
	printf("}\n}\n");
}

/* ---- set-up --------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vq-bench [options]\n"
"  --quick          3 rounds x 100k packets, 20k warm-up: a few seconds\n"
"  --json           JSON on stdout instead of the table\n"
"  --huge           hugepages for DPDK and guest memory (else --no-huge)\n"
"  --lcore N        the lcore to run on (default: first allowed CPU)\n"
"  --packets N      packets per timed run (default 2000000)\n"
"  --runs N         rounds: timed runs per case, median reported\n"
"                   (default 7)\n"
"  --warmup N       warm-up packets per case and round (default 100000)\n"
"  --ring N         ring size, a power of two, 64..4096 (default 256)\n"
"  --burst N        packets per burst, 1..%d (default 32)\n"
"  --rx-buf N       mergeable receive buffer bytes (default 2048)\n"
"  --irq            leave guest interrupts on (eventfd per publish)\n"
"  --only TEXT      run the cases whose name contains TEXT,\n"
"                   e.g. dequeue, loop/split, zc/1518\n", VQ_BURST_MAX);
}

static long
num_arg(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "vq-bench: --%s wants %ld..%ld\n", name, lo,
			hi);
		exit(2);
	}
	return v;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "huge", no_argument, NULL, 'H' },
		{ "irq", no_argument, NULL, 'i' },
		{ "lcore", required_argument, NULL, 'l' },
		{ "packets", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "ring", required_argument, NULL, 's' },
		{ "burst", required_argument, NULL, 'b' },
		{ "rx-buf", required_argument, NULL, 'x' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool set_pkts = false, set_runs = false, set_warm = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'q': opt.quick = true; break;
		case 'j': opt.json = true; break;
		case 'H': opt.huge = true; break;
		case 'i': opt.irq = true; break;
		case 'l':
			opt.lcore = (int)num_arg("lcore", optarg, 0,
						 RTE_MAX_LCORE - 1);
			break;
		case 'n':
			opt.pkts = (uint32_t)num_arg("packets", optarg, 1,
						     1000000000);
			set_pkts = true;
			break;
		case 'r':
			opt.runs = (uint32_t)num_arg("runs", optarg, 1,
						     MAX_RUNS);
			set_runs = true;
			break;
		case 'w':
			opt.warmup = (uint32_t)num_arg("warmup", optarg, 0,
						       1000000000);
			set_warm = true;
			break;
		case 's':
			opt.ring = (uint16_t)num_arg("ring", optarg, 64,
						     4096);
			if (!rte_is_power_of_2(opt.ring)) {
				fprintf(stderr, "vq-bench: --ring wants a "
					"power of two\n");
				exit(2);
			}
			break;
		case 'b':
			opt.burst = (uint16_t)num_arg("burst", optarg, 1,
						      VQ_BURST_MAX);
			break;
		case 'x':
			opt.rx_buf = (uint32_t)num_arg("rx-buf", optarg, 64,
						       65536);
			break;
		case 'o': opt.only = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (opt.quick) {
		if (!set_pkts)
			opt.pkts = 100000;
		if (!set_runs)
			opt.runs = 3;
		if (!set_warm)
			opt.warmup = 20000;
	}
	if (opt.lcore < 0) {
		cpu_set_t set;
		int i;

		opt.lcore = 0;
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (i = 0; i < CPU_SETSIZE; i++)
				if (CPU_ISSET(i, &set)) {
					opt.lcore = i;
					break;
				}
	}
}

static int
eal_init(const char *prog)
{
	char lcore[16], prefix[64];
	char *argv[16];
	int argc = 0;

	snprintf(lcore, sizeof(lcore), "%d", opt.lcore);
	snprintf(prefix, sizeof(prefix), "vqbench%d", (int)getpid());
	argv[argc++] = (char *)prog;
	argv[argc++] = "-l";
	argv[argc++] = lcore;
	argv[argc++] = "--no-pci";
	argv[argc++] = "--log-level";
	argv[argc++] = "*:error";
	if (opt.huge) {
		argv[argc++] = "--in-memory";
		argv[argc++] = "-m";
		argv[argc++] = "256";
	} else {
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = "512";
		argv[argc++] = "--no-shconf";
		argv[argc++] = "--file-prefix";
		argv[argc++] = prefix;
	}
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

/* Median cost of an empty timed region: two back-to-back rdtsc. */
static double
measure_timer(void)
{
	static double s[10001];
	unsigned int i;

	for (i = 0; i < RTE_DIM(s); i++) {
		uint64_t t0 = rte_rdtsc(), t1 = rte_rdtsc();

		s[i] = (double)(t1 - t0);
	}
	qsort(s, RTE_DIM(s), sizeof(s[0]), cmp_double);
	return s[RTE_DIM(s) / 2];
}

/*
 * Keep the core busy a moment before the first case: on a VM the first
 * tenth of a second of a run was often noisier than the rest.
 */
static void
settle(void)
{
	uint64_t end = rte_rdtsc() + tsc_hz / (opt.quick ? 10 : 2);
	volatile uint64_t x = 0;

	while (rte_rdtsc() < end)
		x++;
}

int
main(int argc, char **argv)
{
	struct bcase cs[40];
	unsigned int n, i, r, ran = 0, failed = 0;
	bool progress;

	parse_args(argc, argv);
	progress = !opt.json && isatty(STDERR_FILENO);
	if (eal_init(argv[0]) < 0) {
		fprintf(stderr, "vq-bench: EAL init failed on lcore %d "
			"(%s)\n", opt.lcore, opt.huge ? "hugepages" :
			"no-huge");
		return 1;
	}
	vhu_set_log_level(VHU_LOG_ERR);
	/* Enough for a ring of zero-copy buffers plus copies, per queue. */
	pool = rte_pktmbuf_pool_create("vq-bench",
				       RTE_MAX(16383u, 8u * opt.ring - 1),
				       256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "vq-bench: mbuf pool: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	tsc_hz = rte_get_tsc_hz();
	timer_overhead = measure_timer();
	settle();

	/* burst_limit: 50 us, far beyond what any burst here takes. */
	burst_limit = tsc_hz / 20000;

	/*
	 * Rounds: every case once per round, each time set up afresh, so a
	 * stretch of interference is shared out instead of hitting one case.
	 */
	n = make_cases(cs);
	for (r = 0; r < opt.runs; r++)
		for (i = 0; i < n; i++) {
			struct bcase *c = &cs[i];

			if (opt.only != NULL &&
			    strstr(c->name, opt.only) == NULL)
				continue;
			if (r == 0)
				ran++;
			if (!c->ok)
				continue;
			if (progress)
				fprintf(stderr, "round %u/%u %-28s\r", r + 1,
					opt.runs, c->name);
			switch (c->kind) {
			case K_DEQ: run_dequeue(c); break;
			case K_ENQ: run_enqueue(c); break;
			case K_LOOP: run_loop(c); break;
			}
		}
	for (i = 0; i < n; i++) {
		failed += !cs[i].ok;
		if (cs[i].nruns > 0)
			finish_runs(&cs[i]);
	}
	if (progress)
		fprintf(stderr, "%-40s\r", "");
	if (ran == 0) {
		fprintf(stderr, "vq-bench: no case matches '%s'\n", opt.only);
		return 2;
	}
	if (opt.json)
		print_json(cs, n);
	else
		print_table(cs, n);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return failed ? 3 : 0;
}
