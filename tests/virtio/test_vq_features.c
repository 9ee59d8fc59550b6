/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio features in both ring layouts, every test checking payloads
 * byte for byte: random chain shapes both ways, guest-to-guest forwarding
 * with zero-copy, the zero-copy policy, zero-copy buffers freed on other
 * threads, IN_ORDER, notification suppression, disabled rings, offloads
 * both ways, statistics and the legacy 10-byte header.
 *
 * The random tests are seeded; VQF_SEED=n in the environment changes the
 * seed (it is printed when a random test starts). VQF_FILTER=pattern
 * runs only the tests whose names match.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "vqt.h"

#define V1		VHU_BIT(VHU_F_VERSION_1)
#define MRG		VHU_BIT(VHU_NET_F_MRG_RXBUF)
#define IND		VHU_BIT(VHU_F_RING_INDIRECT_DESC)
#define EVIDX		VHU_BIT(VHU_F_RING_EVENT_IDX)
#define INORDER		VHU_BIT(VHU_F_IN_ORDER)
#define GCSUM		VHU_BIT(VHU_NET_F_GUEST_CSUM)
#define GTSO4		VHU_BIT(VHU_NET_F_GUEST_TSO4)
#define GTSO6		VHU_BIT(VHU_NET_F_GUEST_TSO6)
#define HCSUM		VHU_BIT(VHU_NET_F_CSUM)
#define HTSO4		VHU_BIT(VHU_NET_F_HOST_TSO4)
#define HTSO6		VHU_BIT(VHU_NET_F_HOST_TSO6)
#define HECN		VHU_BIT(VHU_NET_F_HOST_ECN)
#define HUFO		VHU_BIT(VHU_NET_F_HOST_UFO)
/* Every transmit offload a guest may ask for. */
#define HOST_ALL	(HCSUM | HTSO4 | HTSO6 | HECN | HUFO)

#define RING		256
#define MEM_SIZE	(64ULL << 20)
/* lib/virtio's largest frame (VQ_MAX_PKT_LEN): 64 KiB plus headers. */
#define MAX_PKT		(65535u + 14u + 4u)
/* The largest frame the random tests send: IPv4's limit plus Ethernet. */
#define MAX_FRAME	(65535u + 14u)
/* Zero-copy defaults (vq_common.c). */
#define ZC_MIN		512u
#define ZC_HDR		128u

#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define EV_WRAP		(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

#define ETH_LEN		14u
#define TCP_CSUM_OFF	16u
#define UDP_CSUM_OFF	6u

#define NEEDS_CSUM	VIRTIO_NET_HDR_F_NEEDS_CSUM
#define DATA_VALID	VIRTIO_NET_HDR_F_DATA_VALID

/* Room for any frame gd can carry (its area is 72 KiB per buffer). */
#define BUF_MAX		(72u * 1024u)

static uint8_t frame_buf[BUF_MAX];	/* what a guest sends */
static uint8_t want_buf[BUF_MAX];	/* what is expected */
static uint8_t got_buf[BUF_MAX];	/* what an mbuf holds */
static uint8_t rx_buf[BUF_MAX];		/* what a guest received */
static const struct virtio_net_hdr_mrg_rxbuf no_hdr;

/* ---- random numbers ------------------------------------------------ */

static uint64_t rng_state;

static void
rng_seed(uint64_t seed, const char *test)
{
	const char *env = getenv("VQF_SEED");

	if (env != NULL)
		seed += strtoull(env, NULL, 0) * 1000003u;
	print_message("# %s: seed %llu\n", test, (unsigned long long)seed);
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (uint32_t)(x >> 32);
}

/* Uniform in [lo, hi]. */
static uint32_t
rnd_in(uint32_t lo, uint32_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/* ---- fixture ------------------------------------------------------- */

struct fx {
	struct gd_mem mem;
	struct gd_q q;
	struct vq *vq;
	unsigned int pool_avail;	/* free mbufs when it was opened */
};

static struct vq_params
params(bool zc)
{
	struct vq_params p = {
		.mp = vqt_init(),
		.zero_copy = zc,
		.owner_lcore = rte_lcore_id(),
	};

	return p;
}

/* The guest side only: the ring can still be set up before vq_create. */
static void
fx_gd(struct fx *f, bool packed, uint64_t feat, uint16_t size)
{
	struct rte_mempool *mp = vqt_init();

	assert_non_null(mp);
	f->pool_avail = rte_mempool_avail_count(mp);
	assert_int_equal(gd_mem_init(&f->mem, MEM_SIZE), 0);
	assert_int_equal(gd_q_init(&f->q, &f->mem, size, packed, feat), 0);
	f->vq = NULL;
}

static void
fx_vq(struct fx *f, const struct vq_params *p)
{
	f->vq = vq_create(&f->q.vr, p);
	assert_non_null(f->vq);
}

static void
fx_open(struct fx *f, bool packed, uint64_t feat, uint16_t size, bool zc)
{
	struct vq_params p = params(zc);

	fx_gd(f, packed, feat, size);
	fx_vq(f, &p);
}

/*
 * A queue (V1, copies only) whose mbufs come from a pool of its own of
 * n mbufs with no per-lcore cache, so that the test can count them.
 */
static struct rte_mempool *
fx_open_pool(struct fx *f, bool packed, unsigned int n)
{
	static unsigned int seq;
	struct vq_params p = params(false);
	char name[32];

	snprintf(name, sizeof(name), "vqt_pool%u", seq++);
	p.mp = rte_pktmbuf_pool_create(name, n, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(p.mp);
	fx_gd(f, packed, V1, RING);
	fx_vq(f, &p);
	return p.mp;
}

/* Tear down: nothing held, the queue healthy, every mbuf back home. */
static void
fx_close(struct fx *f)
{
	if (f->vq != NULL) {
		assert_false(vq_broken(f->vq));
		assert_int_equal(vq_zc_outstanding(f->vq), 0);
		vq_free(f->vq);
	}
	gd_q_fini(&f->q);
	gd_mem_fini(&f->mem);
	assert_int_equal(rte_mempool_avail_count(vqt_init()), f->pool_avail);
}

/* vq_reap, then what the guest took back. */
static uint32_t
reap(struct fx *f)
{
	int r;

	vq_reap(f->vq);
	r = gd_tx_reclaim(&f->q);
	assert_true(r >= 0);
	return (uint32_t)r;
}

/* Start a split ring's indices at idx on both sides (before vq_create). */
static void
split_start_at(struct gd_q *q, uint16_t idx)
{
	q->avail_idx = idx;
	q->avail->idx = idx;
	q->last_used = idx;
	q->used->idx = idx;
	q->vr.last_avail_idx = idx;
	q->vr.last_used_idx = idx;
}

/* Used entries waiting for the guest. */
static unsigned int
used_pending(const struct gd_q *q)
{
	unsigned int n = 0;
	uint16_t id;
	uint32_t len;

	while (gd_used_peek(q, n, &id, &len))
		n++;
	return n;
}

/* ---- bytes and checksums ------------------------------------------- */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* One's complement sum of big-endian words, not folded. */
static uint64_t
csum_add(uint64_t s, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t
l3_len(bool v6)
{
	return v6 ? 40 : 20;
}

static uint32_t
l4_len(bool tcp)
{
	return tcp ? 20 : 8;
}

static bool
frame_v6(const uint8_t *b)
{
	return get16(b + 12) == 0x86dd;
}

/* The pseudo-header sum of the IPv4 or IPv6 frame b. */
static uint64_t
pseudo(const uint8_t *b, bool v6, uint8_t proto, uint32_t l4len)
{
	if (v6)
		return csum_add(0, b + ETH_LEN + 8, 32) + (l4len >> 16) +
		       (l4len & 0xffff) + proto;
	return csum_add(0, b + ETH_LEN + 12, 8) + proto + l4len;
}

/* The L4 checksum of frame b (len bytes) verifies. */
static bool
l4_valid(const uint8_t *b, uint32_t len)
{
	bool v6 = frame_v6(b);
	uint32_t off = ETH_LEN + l3_len(v6);
	uint8_t proto = v6 ? b[ETH_LEN + 6] : b[ETH_LEN + 9];

	return fold(csum_add(pseudo(b, v6, proto, len - off), b + off,
			     len - off)) == 0xffff;
}

static bool
ip4_valid(const uint8_t *b)
{
	return fold(csum_add(0, b + ETH_LEN, 20)) == 0xffff;
}

/*
 * An Ethernet / IPv4 or IPv6 / TCP or UDP frame with pay payload bytes
 * from seed; the L4 checksum field holds the pseudo-header sum, as a guest
 * leaves it for NEEDS_CSUM. Returns its length.
 */
static uint32_t
mk_l4(uint8_t *b, bool v6, bool tcp, uint32_t pay, uint32_t seed)
{
	static const uint8_t macs[12] = {
		0x52, 0x54, 0x00, 0x00, 0x00, 0x02,
		0x52, 0x54, 0x00, 0x00, 0x00, 0x01,
	};
	uint32_t l3 = l3_len(v6), l4 = l4_len(tcp);
	uint32_t len = ETH_LEN + l3 + l4 + pay;
	uint8_t *ip = b + ETH_LEN, *th = ip + l3, proto = tcp ? 6 : 17;

	vqt_frame(b, len, seed);	/* the payload; headers follow */
	memset(b, 0, ETH_LEN + l3 + l4);
	memcpy(b, macs, sizeof(macs));
	put16(b + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(l4 + pay));
		ip[6] = proto;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(l3 + l4 + pay));
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = proto;
		ip[12] = 10;
		ip[15] = 1;
		ip[16] = 10;
		ip[19] = 2;
		put16(ip + 10, (uint16_t)~fold(csum_add(0, ip, 20)));
	}
	put16(th, 40000);
	put16(th + 2, tcp ? 80 : 53);
	if (tcp) {
		put32(th + 4, 0x10203040);
		put32(th + 8, 0x01020304);
		th[12] = 0x50;
		th[13] = 0x18;	/* ACK, PSH */
		put16(th + 14, 0xffff);
		put16(th + TCP_CSUM_OFF, fold(pseudo(b, v6, proto,
						     l4 + pay)));
	} else {
		put16(th + 4, (uint16_t)(l4 + pay));
		put16(th + UDP_CSUM_OFF, fold(pseudo(b, v6, proto, l4 + pay)));
	}
	return len;
}

/* A UDP/IPv4 frame whose checksum computes to 0 (sent as 0xffff). */
static uint32_t
mk_udp_zero_sum(uint8_t *b, uint32_t pay, uint32_t seed)
{
	uint32_t len = mk_l4(b, false, false, pay, seed), off = 34;
	uint16_t s;

	put16(b + off + UDP_CSUM_OFF, 0);
	put16(b + off + 8, 0);
	s = fold(pseudo(b, false, 17, len - off) +
		 csum_add(0, b + off, len - off));
	put16(b + off + 8, (uint16_t)(0xffff - s));
	put16(b + off + UDP_CSUM_OFF, fold(pseudo(b, false, 17, len - off)));
	return len;
}

/* The offset of the L4 checksum field of a frame mk_l4 made. */
static uint32_t
csum_field(bool v6, bool tcp)
{
	return ETH_LEN + l3_len(v6) + (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF);
}

static void
assert_bytes(const uint8_t *got, const uint8_t *want, uint32_t len,
	     const char *what)
{
	uint32_t i;

	if (memcmp(got, want, len) == 0)
		return;
	for (i = 0; got[i] == want[i]; i++)
		;
	fail_msg("%s: %u bytes differ from byte %u (%#x, want %#x)", what,
		 len, i, got[i], want[i]);
}

/* m is a well-formed chain holding exactly want. */
static void
assert_mbuf_bytes(const struct rte_mbuf *m, const uint8_t *want,
		  uint32_t len)
{
	const struct rte_mbuf *s;
	uint32_t sum = 0;
	uint16_t n = 0;
	const void *p;

	assert_int_equal(m->pkt_len, len);
	for (s = m; s != NULL; s = s->next) {
		sum += s->data_len;
		n++;
	}
	assert_int_equal(sum, len);
	assert_int_equal(n, m->nb_segs);
	p = rte_pktmbuf_read(m, 0, len, got_buf);
	assert_non_null(p);
	assert_bytes(p, want, len, "mbuf");
}

/* m holds the vqt_frame of len bytes from seed. */
static void
assert_mbuf_frame(const struct rte_mbuf *m, uint32_t len, uint32_t seed)
{
	vqt_frame(want_buf, len, seed);
	assert_mbuf_bytes(m, want_buf, len);
}

/* The first segment is ours; a lent payload follows in one external. */
static bool
is_lent(const struct rte_mbuf *m)
{
	return m->nb_segs == 2 && RTE_MBUF_HAS_EXTBUF(m->next);
}

static void
assert_lent(const struct rte_mbuf *m, bool lent, uint32_t hdr)
{
	const struct rte_mbuf *s;

	/* The headers a switch reads: a writable, direct first segment. */
	assert_false(RTE_MBUF_HAS_EXTBUF(m));
	assert_true(RTE_MBUF_DIRECT(m));
	assert_int_equal(rte_mbuf_refcnt_read(m), 1);
	if (lent) {
		assert_int_equal(m->nb_segs, 2);
		assert_int_equal(m->data_len, hdr);
		assert_true(RTE_MBUF_HAS_EXTBUF(m->next));
		return;
	}
	for (s = m; s != NULL; s = s->next)
		assert_false(RTE_MBUF_HAS_EXTBUF(s));
}

/*
 * An mbuf chain holding d: random segment sizes (rand_segs) or full ones,
 * the first segment at least first bytes (the headers).
 */
static struct rte_mbuf *
mk_mbuf(const uint8_t *d, uint32_t len, uint32_t first, bool rand_segs)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t off = 0;

	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(vqt_init());
		uint32_t k;
		char *p;

		assert_non_null(m);
		k = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(m));
		if (rand_segs && k > 1) {
			uint32_t min = off == 0 ? RTE_MIN(first, k) : 1;

			k = rnd_in(RTE_MAX(min, 1u), k);
		}
		p = rte_pktmbuf_append(m, (uint16_t)k);
		assert_non_null(p);
		memcpy(p, d + off, k);
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += k;
		}
		last = m;
		off += k;
	} while (off < len);
	return head;
}

/* ---- guest helpers ------------------------------------------------- */

/* Transmit frame_buf-made frame (len, seed) shaped s; its buffer id. */
static int
tx_frame(struct gd_q *q, uint32_t len, uint32_t seed, const struct gd_shape *s)
{
	int id;

	assert_true(len <= BUF_MAX);
	vqt_frame(frame_buf, len, seed);
	id = gd_tx(q, &no_hdr, frame_buf, len, s);
	assert_true(id >= 0);
	return id;
}

static int
tx_hdr(struct gd_q *q, const struct virtio_net_hdr_mrg_rxbuf *h,
       const uint8_t *frame, uint32_t len, const struct gd_shape *s)
{
	int id = gd_tx(q, h, frame, len, s);

	assert_true(id >= 0);
	return id;
}

static void
post_rx(struct gd_q *q, uint32_t size, unsigned int nsegs, unsigned int n)
{
	struct gd_shape s = { .nsegs = nsegs };

	while (n-- > 0)
		assert_true(gd_rx_post(q, size, &s) >= 0);
}

/* The guest receives the next packet: want, len bytes; header to *h. */
static void
rx_expect(struct gd_q *q, struct virtio_net_hdr_mrg_rxbuf *h,
	  const uint8_t *want, uint32_t len)
{
	assert_int_equal(gd_rx(q, h, rx_buf, sizeof(rx_buf)), (int)len);
	assert_bytes(rx_buf, want, len, "received frame");
}

/* Descriptors gd takes for a transmit chain or a receive buffer. */
static unsigned int
shape_descs(const struct gd_shape *s)
{
	return s->indirect ? 1 : s->nsegs + (s->hdr_apart ? 1 : 0);
}

static uint32_t
pick_len(void)
{
	return rnd() % 10 == 0 ? rnd_in(9001, MAX_FRAME) : rnd_in(14, 9000);
}

static struct gd_shape
pick_shape(bool indirect, unsigned int max_segs)
{
	struct gd_shape s = { .nsegs = 1 };

	if (rnd() % 3 == 0)
		return s;
	s.nsegs = rnd_in(1, max_segs);
	s.hdr_apart = rnd() % 2 == 0;
	s.indirect = indirect && rnd() % 3 == 0;
	return s;
}

/* The length of the frame of a seed, in sequences of frames. */
static uint32_t
seq_len(uint32_t seed)
{
	return 64 + seed % 1400;
}

/* The guest sends n one-descriptor frames, seeds seed.. */
static void
send_seq(struct fx *f, uint32_t n, uint32_t seed)
{
	struct gd_shape one = { .nsegs = 1 };
	uint32_t i;

	for (i = 0; i < n; i++)
		tx_frame(&f->q, seq_len(seed + i), seed + i, &one);
}

/* Send n frames in one dequeue burst, checked, freed and reclaimed. */
static void
tx_burst(struct fx *f, uint32_t n, uint32_t seed)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint32_t i;

	send_seq(f, n, seed);
	assert_int_equal(vq_dequeue_burst(f->vq, pkts, (uint16_t)n), n);
	for (i = 0; i < n; i++) {
		assert_mbuf_frame(pkts[i], seq_len(seed + i), seed + i);
		rte_pktmbuf_free(pkts[i]);
	}
	assert_int_equal(gd_tx_reclaim(&f->q), (int)n);
}

/* Receive n frames from one enqueue burst, checked. */
static void
rx_burst(struct fx *f, uint32_t n, uint32_t seed)
{
	struct rte_mbuf *m[VQ_BURST_MAX];
	struct virtio_net_hdr_mrg_rxbuf h;
	uint32_t i;

	post_rx(&f->q, 2048, 1, n);
	for (i = 0; i < n; i++) {
		vqt_frame(frame_buf, 60 + (seed + i) % 1400, seed + i);
		m[i] = mk_mbuf(frame_buf, 60 + (seed + i) % 1400, 0, true);
	}
	assert_int_equal(vq_enqueue_burst(f->vq, m, (uint16_t)n), n);
	rte_pktmbuf_free_bulk(m, n);
	for (i = 0; i < n; i++) {
		vqt_frame(want_buf, 60 + (seed + i) % 1400, seed + i);
		rx_expect(&f->q, &h, want_buf, 60 + (seed + i) % 1400);
	}
}

#define BOTH(fn)							\
static void fn##_split(void **state) { (void)state; fn(false); }	\
static void fn##_packed(void **state) { (void)state; fn(true); }
#define TESTS(fn) cmocka_unit_test(fn##_split), cmocka_unit_test(fn##_packed)

/* ==== 1. random shapes ============================================== */

#define FIFO	4096u

struct sent {
	uint32_t len;
	uint32_t seed;
};

/*
 * Random transmit traffic: frames of 14 bytes to 64 KiB in chains of 1..8
 * descriptors, the header apart or not, indirect when negotiated, posted
 * and dequeued in random batch sizes, with zero-copy off or on (mbufs then
 * held and freed in random order). Every mbuf equals its frame, in order,
 * every buffer comes back (gd_tx_reclaim) and the counters add up.
 */
static void
random_tx(bool packed, uint64_t feat, bool zc, uint32_t npk, uint64_t seed)
{
	static struct sent fifo[FIFO], held_e[128];
	struct rte_mbuf *pkts[VQ_BURST_MAX], *held[128];
	uint32_t sent = 0, got = 0, back = 0, nheld = 0, stalls = 0;
	const struct vq_stats *st;
	uint64_t bytes = 0;
	struct fx f;
	unsigned int i;

	rng_seed(seed, "random_tx");
	fx_open(&f, packed, feat, RING, zc);
	while (got < npk) {
		uint32_t batch = rnd_in(1, 96), b;

		for (b = 0; b < batch && sent < npk; b++) {
			uint32_t len = pick_len();
			struct gd_shape s = pick_shape(feat & IND, 8);

			if (gd_free_desc(&f.q) < shape_descs(&s))
				break;
			tx_frame(&f.q, len, sent, &s);
			fifo[sent % FIFO] = (struct sent){ len, sent };
			sent++;
		}
		/* A ring that never comes back fails rather than spins. */
		stalls = b == 0 && got == sent ? stalls + 1 : 0;
		assert_true(stalls < 1000);
		while (got < sent) {
			uint16_t want = (uint16_t)rnd_in(1, VQ_BURST_MAX), n, k;

			n = vq_dequeue_burst(f.vq, pkts, want);
			assert_int_equal(n, RTE_MIN(want, sent - got));
			for (k = 0; k < n; k++, got++) {
				const struct sent *e = &fifo[got % FIFO];

				assert_mbuf_frame(pkts[k], e->len, e->seed);
				bytes += e->len;
				if (zc && nheld < RTE_DIM(held) &&
				    rnd() % 4 == 0) {
					held_e[nheld] = *e;
					held[nheld++] = pkts[k];
				} else {
					rte_pktmbuf_free(pkts[k]);
				}
			}
			if (rnd() % 2 == 0)
				back += reap(&f);
		}
		/*
		 * Held mbufs are still intact: their buffers did not go
		 * back to the guest, which would have reused them.
		 */
		while (nheld > 0 && rnd() % 3 != 0) {
			uint32_t j = rnd() % nheld;

			assert_mbuf_frame(held[j], held_e[j].len,
					  held_e[j].seed);
			rte_pktmbuf_free(held[j]);
			held_e[j] = held_e[--nheld];
			held[j] = held[nheld];
		}
		back += reap(&f);
	}
	while (nheld > 0)
		rte_pktmbuf_free(held[--nheld]);
	back += reap(&f);
	assert_int_equal(back, sent);
	assert_int_equal(gd_free_desc(&f.q), RING);
	st = vq_stats(f.vq);
	assert_int_equal(st->packets, npk);
	assert_int_equal(st->bytes, bytes);
	assert_int_equal(st->zc_packets + st->copy_packets, npk);
	if (zc)
		assert_true(st->zc_packets > 0);
	else
		assert_int_equal(st->zc_packets, 0);
	for (i = 0; i < VQ_DROP_MAX; i++)
		assert_int_equal(st->drops[i], 0);
	fx_close(&f);
}

/*
 * Random receive traffic: random packets (14 bytes to 64 KiB, random mbuf
 * chains) into randomly sized and shaped buffers (1..8 descriptors, the
 * header apart or not, indirect when negotiated). Without MRG_RXBUF each
 * buffer is made to fit its packet; with it, buffers are small and a
 * packet spans several. The guest gets every packet exactly, num_buffers
 * is the number of buffers it filled, in random enqueue burst sizes.
 */
static void
random_rx(bool packed, uint64_t feat, uint32_t npk, uint64_t seed)
{
	static uint32_t bsz[FIFO];	/* posted buffers not yet filled */
	static uint32_t plen[FIFO];	/* packet lengths, planned */
	static uint16_t pbufs[FIFO];	/* buffers each packet fills */
	bool mrg = (feat & MRG) != 0;
	uint32_t bhead = 0, btail = 0, done = 0, planned = 0;
	struct virtio_net_hdr_mrg_rxbuf h;
	const struct vq_stats *st;
	uint64_t bytes = 0;
	struct fx f;
	uint8_t hl;
	unsigned int i;

	rng_seed(seed, "random_rx");
	fx_open(&f, packed, feat, RING, false);
	hl = f.q.hdr_len;
	while (done < npk) {
		uint32_t k = 0, kmax, j, posted = 0;

		if (mrg) {
			uint32_t nb = rnd_in(1, 64), cur = bhead;

			for (j = 0; j < nb; j++) {
				uint32_t sz = rnd() % 8 == 0 ?
					rnd_in(4097, 16384) : rnd_in(64, 4096);
				struct gd_shape s = pick_shape(feat & IND, 4);

				if (gd_rx_post(&f.q, sz, &s) < 0)
					break;
				bsz[btail++ % FIFO] = sz;
				posted++;
			}
			kmax = RTE_MIN(rnd_in(1, 64), npk - done);
			while (planned < done + kmax)
				plen[planned++ % FIFO] = pick_len();
			/* How many fit the posted buffers, filled in order. */
			while (k < kmax) {
				uint32_t need = hl + plen[(done + k) % FIFO];
				uint32_t c = cur;
				uint16_t nbuf = 0;

				while (need > 0 && c != btail) {
					need -= RTE_MIN(need, bsz[c % FIFO]);
					c++;
					nbuf++;
				}
				if (need > 0)
					break;
				pbufs[(done + k) % FIFO] = nbuf;
				cur = c;
				k++;
			}
			if (k == 0) {
				/* Stuck only if the ring cannot take more. */
				assert_true(posted > 0);
				continue;
			}
		} else {
			kmax = RTE_MIN(rnd_in(1, 48), npk - done);
			for (k = 0; k < kmax; k++) {
				uint32_t len = pick_len(), sz = hl + len;
				struct gd_shape s = pick_shape(feat & IND, 8);

				if (rnd() % 4 != 0)
					sz += rnd_in(1, 3000);
				sz = RTE_MIN(sz, s.hdr_apart ? 66000u : 69000u);
				if (gd_rx_post(&f.q, sz, &s) < 0)
					break;
				plen[(done + k) % FIFO] = len;
				pbufs[(done + k) % FIFO] = 1;
			}
			assert_true(k > 0);
		}
		/* Enqueue the k packets in random burst sizes. */
		for (j = 0; j < k;) {
			struct rte_mbuf *m[VQ_BURST_MAX];
			uint32_t n = RTE_MIN(rnd_in(1, VQ_BURST_MAX), k - j), x;

			for (x = 0; x < n; x++) {
				uint32_t p = done + j + x;

				vqt_frame(frame_buf, plen[p % FIFO], p);
				m[x] = mk_mbuf(frame_buf, plen[p % FIFO], 0,
					       true);
			}
			assert_int_equal(vq_enqueue_burst(f.vq, m,
							  (uint16_t)n), n);
			rte_pktmbuf_free_bulk(m, n);
			j += n;
		}
		/* The guest takes them, exact. */
		for (j = 0; j < k; j++) {
			uint32_t p = done + j;

			vqt_frame(want_buf, plen[p % FIFO], p);
			rx_expect(&f.q, &h, want_buf, plen[p % FIFO]);
			assert_int_equal(h.hdr.flags, 0);
			assert_int_equal(h.hdr.gso_type, 0);
			if (hl == 12)
				assert_int_equal(h.num_buffers,
						 pbufs[p % FIFO]);
			bytes += plen[p % FIFO];
			if (mrg)
				bhead += pbufs[p % FIFO];
		}
		done += k;
	}
	assert_int_equal(gd_rx(&f.q, &h, rx_buf, sizeof(rx_buf)), 0);
	st = vq_stats(f.vq);
	assert_int_equal(st->packets, npk);
	assert_int_equal(st->bytes, bytes);
	for (i = 0; i < VQ_DROP_MAX; i++)
		assert_int_equal(st->drops[i], 0);
	fx_close(&f);
}

static void
random_shapes_tx(bool packed)
{
	random_tx(packed, V1 | IND, false, 3000, 11);
	random_tx(packed, V1 | IND, true, 3000, 12);
	random_tx(packed, V1, true, 2000, 13);
	random_tx(packed, V1 | INORDER, false, 2000, 14);
	random_tx(packed, V1 | IND | INORDER, true, 2000, 15);
}
BOTH(random_shapes_tx)

static void
random_shapes_rx(bool packed)
{
	random_rx(packed, V1 | IND, 2000, 21);
	random_rx(packed, V1 | IND | MRG, 2000, 22);
	random_rx(packed, V1 | MRG, 1000, 23);
	random_rx(packed, V1 | MRG | INORDER, 1000, 24);
}
BOTH(random_shapes_rx)

/* ==== 2. guest to guest ============================================= */

/*
 * Take one TSO frame's segments from the guest: each carries at most mss
 * payload bytes, with the original's headers but for lengths, sequence
 * number and checksums, which verify; the payloads concatenate to the
 * original's. Returns how many segments there were.
 */
static unsigned int
rx_expect_first_segments(struct gd_q *q, const uint8_t *orig, uint32_t len,
			 uint16_t mss, unsigned int max);

static unsigned int
rx_expect_segments(struct gd_q *q, const uint8_t *orig, uint32_t len,
		   uint16_t mss)
{
	return rx_expect_first_segments(q, orig, len, mss, UINT_MAX);
}

/* As rx_expect_segments, for the first max segments only. */
static unsigned int
rx_expect_first_segments(struct gd_q *q, const uint8_t *orig, uint32_t len,
			 uint16_t mss, unsigned int max)
{
	bool v6 = frame_v6(orig);
	uint32_t l3 = l3_len(v6), hl = ETH_LEN + l3 + 20, pay = len - hl;
	uint32_t seq0 = get32(orig + ETH_LEN + l3 + 4), off = 0;
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int nseg = 0;

	while (off < pay && nseg < max) {
		uint32_t exp = RTE_MIN((uint32_t)mss, pay - off);
		const uint8_t *th = rx_buf + ETH_LEN + l3;
		int got = gd_rx(q, &h, rx_buf, sizeof(rx_buf));

		assert_int_equal(got, (int)(hl + exp));
		assert_int_equal(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(h.hdr.flags & NEEDS_CSUM, 0);
		assert_bytes(rx_buf, orig, ETH_LEN, "segment ethernet");
		assert_bytes(rx_buf + hl, orig + hl + off, exp,
			     "segment payload");
		if (v6) {
			assert_int_equal(get16(rx_buf + ETH_LEN + 4), 20 + exp);
		} else {
			assert_int_equal(get16(rx_buf + ETH_LEN + 2),
					 l3 + 20 + exp);
			assert_true(ip4_valid(rx_buf));
		}
		assert_int_equal(get32(th + 4), seq0 + off);
		assert_true(l4_valid(rx_buf, (uint32_t)got));
		off += exp;
		nseg++;
	}
	return nseg;
}

/* Shuffle n mbufs and free them. */
static void
free_shuffled(struct rte_mbuf **m, uint32_t n)
{
	uint32_t i;

	for (i = n; i > 1; i--) {
		uint32_t j = rnd() % i;
		struct rte_mbuf *t = m[i - 1];

		m[i - 1] = m[j];
		m[j] = t;
	}
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

/*
 * Guest A transmits, guest B receives through its own queue, zero-copy
 * on: what A sent arrives at B byte for byte; A gets its copied buffers
 * back at once and its lent buffers only after the mbufs are freed (and
 * vq_reap ran). Then offloads B did not negotiate (a TCP and a UDP
 * checksum, a 30 KB TSO frame) are finished on the way to B, while A's
 * memory, still lent, is never written.
 */
static void
guest_to_guest(bool packed)
{
	static uint8_t orig[3][32 * 1024];
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct virtio_net_hdr_mrg_rxbuf h;
	uint32_t round, i, olen[3];
	int id[3];
	struct fx a, b;

	rng_seed(30, "guest_to_guest");
	fx_open(&a, packed, V1 | IND | HCSUM | HTSO4, RING, true);
	fx_open(&b, packed, V1 | MRG, RING, false);
	for (round = 0; round < 40; round++) {
		uint32_t n = rnd_in(1, 48), lent = 0, len[48], nbuf[48];
		uint64_t zc0 = vq_stats(a.vq)->zc_packets;

		for (i = 0; i < n; i++) {
			struct gd_shape s = { .nsegs = 1 };

			len[i] = rnd() % 4 == 0 ? rnd_in(60, ZC_MIN - 1) :
						  rnd_in(ZC_MIN, 9000);
			if (rnd() % 6 == 0)
				s.nsegs = 3;
			else if (len[i] >= ZC_MIN)
				lent++;
			tx_frame(&a.q, len[i], round * 100 + i, &s);
			nbuf[i] = (12 + len[i] + 2047) / 2048;
			post_rx(&b.q, 2048, 1, nbuf[i]);
		}
		assert_int_equal(vq_dequeue_burst(a.vq, pkts, VQ_BURST_MAX),
				 n);
		assert_int_equal(vq_stats(a.vq)->zc_packets - zc0, lent);
		assert_int_equal(vq_zc_outstanding(a.vq), lent);
		/* Copied buffers are back already, lent ones are not. */
		assert_int_equal(reap(&a), n - lent);
		assert_int_equal(vq_enqueue_burst(b.vq, pkts, (uint16_t)n), n);
		for (i = 0; i < n; i++) {
			vqt_frame(want_buf, len[i], round * 100 + i);
			rx_expect(&b.q, &h, want_buf, len[i]);
			assert_int_equal(h.num_buffers, nbuf[i]);
		}
		assert_int_equal(reap(&a), 0);
		free_shuffled(pkts, n);
		assert_int_equal(reap(&a), lent);
		assert_int_equal(vq_zc_outstanding(a.vq), 0);
	}

	/* Offloads B did not negotiate, finished on the way. */
	for (i = 0; i < 3; i++) {
		struct virtio_net_hdr_mrg_rxbuf th = { .hdr = {
			.flags = NEEDS_CSUM,
			.csum_start = (uint16_t)(ETH_LEN + l3_len(i == 1)),
			.csum_offset = i == 1 ? UDP_CSUM_OFF : TCP_CSUM_OFF,
		} };
		struct gd_shape one = { .nsegs = 1 };

		olen[i] = mk_l4(orig[i], i == 1, i != 1,
				i == 2 ? 30000 : 1500, 40 + i);
		if (i == 2) {
			th.hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			th.hdr.gso_size = 1448;
			th.hdr.hdr_len = 54;
		}
		id[i] = tx_hdr(&a.q, &th, orig[i], olen[i], &one);
	}
	post_rx(&b.q, 2048, 1, 2 + (30000 + 1447) / 1448);
	assert_int_equal(vq_dequeue_burst(a.vq, pkts, VQ_BURST_MAX), 3);
	assert_int_equal(vq_zc_outstanding(a.vq), 3);
	assert_int_equal(vq_enqueue_burst(b.vq, pkts, 3), 3);
	for (i = 0; i < 2; i++) {
		uint32_t cf = csum_field(i == 1, i != 1);

		assert_int_equal(gd_rx(&b.q, &h, rx_buf, sizeof(rx_buf)),
				 (int)olen[i]);
		assert_int_equal(h.hdr.flags, 0);
		assert_bytes(rx_buf, orig[i], cf, "before the checksum");
		assert_bytes(rx_buf + cf + 2, orig[i] + cf + 2,
			     olen[i] - cf - 2, "after the checksum");
		assert_true(l4_valid(rx_buf, olen[i]));
	}
	assert_int_equal(rx_expect_segments(&b.q, orig[2], olen[2], 1448),
			 (30000 + 1447) / 1448);
	assert_int_equal(vq_stats(b.vq)->sw_csum, 2);
	assert_int_equal(vq_stats(b.vq)->sw_gso, 1);
	/* A's buffers, still lent, hold what A wrote. */
	for (i = 0; i < 3; i++)
		assert_bytes((uint8_t *)gd_ptr(&a.mem,
					       a.q.bufs[id[i]].gpa[0]) + 12,
			     orig[i], olen[i], "guest A's buffer");
	assert_int_equal(reap(&a), 0);
	rte_pktmbuf_free_bulk(pkts, 3);
	assert_int_equal(reap(&a), 3);
	fx_close(&a);	/* with the mbufs A kept for its next burst */
	fx_close(&b);
}
BOTH(guest_to_guest)

/* ==== 3. zero-copy policy =========================================== */

struct zcase {
	uint32_t len;
	struct gd_shape s;
	bool lent;
};

/* Send the cases in one burst; each comes out lent or copied as told. */
static void
zc_cases(struct fx *f, const struct zcase *c, uint32_t n, uint32_t hdr,
	 struct rte_mbuf **pkts, int *ids)
{
	uint64_t zc0 = vq_stats(f->vq)->zc_packets;
	uint64_t cp0 = vq_stats(f->vq)->copy_packets;
	unsigned int held0 = vq_zc_outstanding(f->vq);
	uint32_t i, lent = 0;

	for (i = 0; i < n; i++) {
		ids[i] = tx_frame(&f->q, c[i].len, 500 + i, &c[i].s);
		lent += c[i].lent;
	}
	assert_int_equal(vq_dequeue_burst(f->vq, pkts, (uint16_t)n), n);
	for (i = 0; i < n; i++) {
		assert_mbuf_frame(pkts[i], c[i].len, 500 + i);
		assert_lent(pkts[i], c[i].lent, hdr);
	}
	assert_int_equal(vq_stats(f->vq)->zc_packets - zc0, lent);
	assert_int_equal(vq_stats(f->vq)->copy_packets - cp0, n - lent);
	assert_int_equal(vq_zc_outstanding(f->vq), held0 + lent);
}

/*
 * The zero-copy policy: frames below zc_min_len are copied, at or above
 * it lent; chains (several descriptors, the header apart, indirect) are
 * copied; once zc_max_held buffers are held the rest are copied until
 * some are freed; zero_copy=false (or zc_min_len <= zc_hdr_len) copies
 * everything; a lent payload never exceeds an mbuf's 16-bit length. The
 * first zc_hdr_len bytes are a private copy in a writable direct segment:
 * the guest rewriting its buffer after dequeue changes the lent payload
 * but not those headers, and writing the headers leaves the guest alone.
 */
static void
zc_policy(bool packed)
{
	static const struct zcase dflt[] = {
		{ ZC_MIN - 1, { .nsegs = 1 }, false },
		{ ZC_MIN, { .nsegs = 1 }, true },
		{ 1514, { .nsegs = 1 }, true },
		{ 1514, { .nsegs = 2 }, false },
		{ 1514, { .nsegs = 1, .hdr_apart = true }, false },
		{ 1514, { .nsegs = 1, .indirect = true }, false },
		{ 9000, { .nsegs = 1 }, true },
		{ 60, { .nsegs = 1 }, false },
	};
	static const struct zcase held[] = {
		{ 299, { .nsegs = 1 }, false },
		{ 300, { .nsegs = 1 }, true },
		{ 1000, { .nsegs = 1 }, true },
		{ 1000, { .nsegs = 1 }, true },
		{ 1000, { .nsegs = 1 }, true },
		{ 1000, { .nsegs = 1 }, false },	/* 4 held */
		{ 1000, { .nsegs = 1 }, false },
	};
	static const struct zcase again[] = {
		{ 1000, { .nsegs = 1 }, true },
		{ 1000, { .nsegs = 1 }, true },
		{ 1000, { .nsegs = 1 }, false },
	};
	static const struct zcase all_copied[] = {
		{ 1514, { .nsegs = 1 }, false },
		{ 9000, { .nsegs = 1 }, false },
		{ 65000, { .nsegs = 1 }, false },
	};
	static const struct zcase ext_limit[] = {
		{ 65535 + 16, { .nsegs = 1 }, true },	/* 65535 lent */
		{ MAX_PKT, { .nsegs = 1 }, false },	/* 65537: copied */
	};
	struct rte_mbuf *pkts[VQ_BURST_MAX], *m;
	struct vq_params p;
	uint8_t *gp, b5, b6;
	int ids[16];
	struct fx f;

	/* Defaults: 512 bytes, 128 copied, half the ring. */
	fx_open(&f, packed, V1 | IND, RING, true);
	zc_cases(&f, dflt, RTE_DIM(dflt), ZC_HDR, pkts, ids);
	assert_int_equal(reap(&f), 5);
	m = pkts[2];
	gp = (uint8_t *)gd_ptr(&f.mem, f.q.bufs[ids[2]].gpa[0]) + 12;
	assert_true((uint8_t *)m->next->buf_addr >= f.mem.hva &&
		    (uint8_t *)m->next->buf_addr < f.mem.hva + f.mem.size);
	b5 = gp[5];
	gp[5] ^= 0xff;
	gp[ZC_HDR + 5] ^= 0xff;
	gp[1000] ^= 0xff;
	vqt_frame(want_buf, 1514, 502);
	want_buf[ZC_HDR + 5] ^= 0xff;
	want_buf[1000] ^= 0xff;
	assert_int_equal(rte_pktmbuf_mtod(m, uint8_t *)[5], b5);
	assert_mbuf_bytes(m, want_buf, 1514);
	/* The header copy is ours to write. */
	b6 = gp[6];
	rte_pktmbuf_mtod(m, uint8_t *)[6] ^= 0xff;
	assert_int_equal(gp[6], b6);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(dflt));
	assert_int_equal(reap(&f), 3);
	fx_close(&f);

	/* 300 bytes, 64 copied, at most 4 held. */
	p = params(true);
	p.zc_min_len = 300;
	p.zc_hdr_len = 64;
	p.zc_max_held = 4;
	fx_gd(&f, packed, V1, RING);
	fx_vq(&f, &p);
	zc_cases(&f, held, RTE_DIM(held), 64, pkts, ids);
	assert_int_equal(reap(&f), 3);
	/* Two freed: the next dequeue lends two again, then copies. */
	rte_pktmbuf_free(pkts[1]);
	rte_pktmbuf_free(pkts[3]);
	zc_cases(&f, again, RTE_DIM(again), 64, pkts + 1 + 16, ids);
	assert_int_equal(vq_zc_outstanding(f.vq), 4);
	rte_pktmbuf_free(pkts[0]);
	rte_pktmbuf_free_bulk(pkts + 2, 1);
	rte_pktmbuf_free_bulk(pkts + 4, 3);
	rte_pktmbuf_free_bulk(pkts + 17, RTE_DIM(again));
	assert_int_equal(reap(&f), 2 + 1 + 4);	/* 2 earlier, 1 copied */
	fx_close(&f);

	/* zero_copy=false copies everything. */
	fx_open(&f, packed, V1, RING, false);
	zc_cases(&f, all_copied, RTE_DIM(all_copied), 0, pkts, ids);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(all_copied));
	assert_int_equal(reap(&f), RTE_DIM(all_copied));
	fx_close(&f);

	/* So does a zc_min_len no larger than zc_hdr_len. */
	p = params(true);
	p.zc_min_len = 100;
	p.zc_hdr_len = 128;
	fx_gd(&f, packed, V1, RING);
	fx_vq(&f, &p);
	zc_cases(&f, all_copied, RTE_DIM(all_copied), 0, pkts, ids);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(all_copied));
	assert_int_equal(reap(&f), RTE_DIM(all_copied));
	fx_close(&f);

	/* A lent payload fits an mbuf's 16-bit data_len. */
	p = params(true);
	p.zc_min_len = 32;
	p.zc_hdr_len = 16;
	fx_gd(&f, packed, V1, RING);
	fx_vq(&f, &p);
	zc_cases(&f, ext_limit, RTE_DIM(ext_limit), 16, pkts, ids);
	assert_int_equal(pkts[0]->next->data_len, 65535);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(ext_limit));
	assert_int_equal(reap(&f), RTE_DIM(ext_limit));
	fx_close(&f);
}
BOTH(zc_policy)

/* ==== 4. frees on another thread ==================================== */

struct freer {
	struct rte_mbuf **m;
	unsigned int n;
	unsigned int lcore;		/* rte_lcore_id() there */
};

static void *
free_all(void *arg)
{
	struct freer *fr = arg;
	unsigned int i;

	fr->lcore = rte_lcore_id();
	for (i = 0; i < fr->n; i++)
		rte_pktmbuf_free(fr->m[i]);
	return NULL;
}

/* Free n mbufs on a plain pthread, not an EAL lcore. */
static void
free_on_thread(struct rte_mbuf **m, unsigned int n)
{
	struct freer fr = { .m = m, .n = n };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, free_all, &fr), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(fr.lcore, LCORE_ID_ANY);
}

struct stress {
	struct rte_ring *r;
	bool stop;
	unsigned int lcore;
};

/* Free whatever arrives on the ring until told to stop. */
static void *
stress_free(void *arg)
{
	struct stress *s = arg;

	s->lcore = rte_lcore_id();
	for (;;) {
		void *objs[32];
		unsigned int n, i;

		n = rte_ring_sc_dequeue_burst(s->r, objs, RTE_DIM(objs),
					      NULL);
		if (n == 0) {
			if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) &&
			    rte_ring_empty(s->r))
				break;
			sched_yield();
			continue;
		}
		/* Newest first: completions arrive out of order. */
		for (i = n; i > 0; i--)
			rte_pktmbuf_free(objs[i - 1]);
	}
	return NULL;
}

/*
 * Zero-copy mbufs freed on a plain pthread (rte_lcore_id() is
 * LCORE_ID_ANY there) while the queue belongs to the main lcore: the
 * used entries still come back after vq_reap, vq_zc_outstanding counts
 * down; under load, with a thread freeing while the worker dequeues and
 * reaps, every buffer comes back; vq_free with buffers still held is
 * safe when they are freed later, there or on the main lcore, and the
 * lent payloads stay readable meanwhile.
 */
static void
other_lcore(bool packed)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX], **out;
	struct gd_shape one = { .nsegs = 1 };
	struct stress st = { 0 };
	uint32_t sent = 0, got = 0, back = 0, i, total = 8000;
	struct vq_params p;
	pthread_t t;
	struct fx f;

	rng_seed(40, "other_lcore");
	p = params(true);
	p.owner_lcore = rte_get_main_lcore();
	assert_int_equal(rte_lcore_id(), rte_get_main_lcore());
	fx_gd(&f, packed, V1, RING);
	fx_vq(&f, &p);
	for (i = 0; i < 16; i++)
		tx_frame(&f.q, 1514, i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, 16), 16);
	assert_int_equal(vq_stats(f.vq)->zc_packets, 16);
	for (i = 0; i < 16; i++)
		assert_mbuf_frame(pkts[i], 1514, i);
	free_on_thread(pkts, 8);
	assert_int_equal(vq_zc_outstanding(f.vq), 8);
	assert_int_equal(gd_tx_reclaim(&f.q), 0);
	assert_int_equal(reap(&f), 8);
	free_on_thread(pkts + 8, 5);
	assert_int_equal(vq_zc_outstanding(f.vq), 3);
	rte_pktmbuf_free_bulk(pkts + 13, 3);	/* and on the owner */
	assert_int_equal(vq_zc_outstanding(f.vq), 0);
	assert_int_equal(reap(&f), 8);

	/* Load: a thread frees while the worker dequeues and reaps. */
	st.r = rte_ring_create("vqf_stress", 1024, SOCKET_ID_ANY,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	assert_non_null(st.r);
	assert_int_equal(pthread_create(&t, NULL, stress_free, &st), 0);
	while (got < total) {
		uint32_t n = rnd_in(1, 48), k;

		for (k = 0; k < n && sent < total &&
		     gd_free_desc(&f.q) > 0; k++, sent++)
			tx_frame(&f.q, rnd_in(ZC_MIN, 3000) | 1, sent, &one);
		n = vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX);
		for (k = 0; k < n; k++, got++) {
			vqt_frame(want_buf, pkts[k]->pkt_len, got);
			assert_mbuf_bytes(pkts[k], want_buf, pkts[k]->pkt_len);
		}
		out = pkts;
		while (n > 0) {
			k = rte_ring_sp_enqueue_burst(st.r, (void **)out, n,
						      NULL);
			out += k;
			n -= k;
		}
		/* Reap while the thread frees: completions race reaps. */
		do
			back += reap(&f);
		while (!rte_ring_empty(st.r));
	}
	__atomic_store_n(&st.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(st.lcore, LCORE_ID_ANY);
	rte_ring_free(st.r);
	back += reap(&f);
	assert_int_equal(back, total);
	assert_int_equal(vq_zc_outstanding(f.vq), 0);
	assert_true(vq_stats(f.vq)->zc_packets > 0);

	/* vq_free while buffers are held; they are freed afterwards. */
	for (i = 0; i < 8; i++)
		tx_frame(&f.q, 2000, 900 + i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, 8), 8);
	assert_int_equal(vq_zc_outstanding(f.vq), 8);
	vq_free(f.vq);
	f.vq = NULL;
	for (i = 0; i < 8; i++)
		assert_mbuf_frame(pkts[i], 2000, 900 + i);
	free_on_thread(pkts, 4);
	rte_pktmbuf_free_bulk(pkts + 4, 4);
	fx_close(&f);
}
BOTH(other_lcore)

/* ==== 5. IN_ORDER =================================================== */

/*
 * IN_ORDER with zero-copy: lent buffers freed out of order, copied ones
 * behind them, yet the used ring (read directly: split used entries,
 * packed used descriptors) lists buffer ids exactly in the order they
 * were made available, and a copied buffer behind a held lent one waits
 * for it. Then random traffic: after every reap, what came back is the
 * longest prefix of finished buffers, in order. Without IN_ORDER the
 * copied buffer is not held back.
 */
static void
in_order(bool packed)
{
	static const struct zcase c[] = {
		{ 1500, { .nsegs = 1 }, true },		/* A */
		{ 1500, { .nsegs = 1 }, true },		/* B */
		{ 100, { .nsegs = 1 }, false },		/* C */
		{ 1500, { .nsegs = 2 }, false },	/* D */
		{ 1500, { .nsegs = 1 }, true },		/* E */
	};
	static uint16_t fid[FIFO];
	static bool fdone[FIFO];
	struct rte_mbuf *pkts[VQ_BURST_MAX], *live[512];
	uint32_t post = 0, ret = 0, nlive = 0, round, i;
	uint32_t live_at[512];
	int ids[8];
	uint16_t id;
	uint32_t len;
	struct fx f;

	rng_seed(50, "in_order");
	/* Without IN_ORDER a copied buffer goes back at once. */
	fx_open(&f, packed, V1, RING, true);
	zc_cases(&f, c, RTE_DIM(c), ZC_HDR, pkts, ids);
	assert_int_equal(used_pending(&f.q), 2);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(c));
	assert_int_equal(reap(&f), RTE_DIM(c));
	fx_close(&f);

	fx_open(&f, packed, V1 | INORDER, RING, true);
	zc_cases(&f, c, RTE_DIM(c), ZC_HDR, pkts, ids);
	/* A is held: nothing, not even C and D, is used. */
	assert_int_equal(used_pending(&f.q), 0);
	rte_pktmbuf_free(pkts[2]);
	rte_pktmbuf_free(pkts[3]);
	rte_pktmbuf_free(pkts[4]);	/* E */
	rte_pktmbuf_free(pkts[1]);	/* B */
	vq_reap(f.vq);
	assert_int_equal(used_pending(&f.q), 0);
	rte_pktmbuf_free(pkts[0]);	/* A: now all of them, in order */
	vq_reap(f.vq);
	assert_int_equal(used_pending(&f.q), RTE_DIM(c));
	for (i = 0; i < RTE_DIM(c); i++) {
		assert_true(gd_used_peek(&f.q, i, &id, &len));
		assert_int_equal(id, ids[i]);
		assert_int_equal(len, 0);
	}
	if (packed) {
		/* One used descriptor, at A's place, names E for all five. */
		const struct vring_packed_desc *d = &f.q.pdesc[f.q.next_used];
		uint16_t after = f.q.next_used + f.q.bufs[ids[0]].ndesc;

		assert_int_equal(d->id, ids[4]);
		assert_int_equal(d->len, 0);
		assert_int_equal(!!(f.q.pdesc[after].flags & F_USED),
				 !f.q.used_wrap);
	}
	assert_int_equal(gd_tx_reclaim(&f.q), RTE_DIM(c));

	/* Random: returned = the longest finished prefix, in order. */
	for (round = 0; round < 60; round++) {
		uint32_t n = rnd_in(1, 32), k, nfree;

		for (k = 0; k < n; k++) {
			struct gd_shape s = { .nsegs = 1 };
			uint32_t l = rnd() % 3 == 0 ? rnd_in(60, 400) :
						      rnd_in(ZC_MIN, 4000);

			if (rnd() % 5 == 0)
				s.nsegs = 2;
			if (gd_free_desc(&f.q) < shape_descs(&s))
				break;
			fid[post % FIFO] = (uint16_t)tx_frame(&f.q, l, post,
							      &s);
			fdone[post % FIFO] = false;
			post++;
		}
		n = vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX);
		for (k = 0; k < n; k++) {
			uint32_t p = post - n + k;

			assert_mbuf_frame(pkts[k], pkts[k]->pkt_len, p);
			if (is_lent(pkts[k])) {
				live_at[nlive] = p;
				live[nlive++] = pkts[k];
			} else {
				fdone[p % FIFO] = true;
				rte_pktmbuf_free(pkts[k]);
			}
		}
		nfree = rnd_in(0, nlive);
		while (nfree-- > 0) {
			uint32_t j = rnd() % nlive;

			fdone[live_at[j] % FIFO] = true;
			rte_pktmbuf_free(live[j]);
			live[j] = live[--nlive];
			live_at[j] = live_at[nlive];
		}
		vq_reap(f.vq);
		for (k = 0; gd_used_peek(&f.q, k, &id, &len); k++) {
			assert_true(ret + k < post);
			assert_true(fdone[(ret + k) % FIFO]);
			assert_int_equal(id, fid[(ret + k) % FIFO]);
		}
		/* Everything finished before the first held one is back. */
		assert_true(ret + k == post || !fdone[(ret + k) % FIFO]);
		assert_int_equal(gd_tx_reclaim(&f.q), (int)k);
		ret += k;
	}
	while (nlive > 0)
		rte_pktmbuf_free(live[--nlive]);
	vq_reap(f.vq);
	for (i = 0; gd_used_peek(&f.q, i, &id, &len); i++)
		assert_int_equal(id, fid[(ret + i) % FIFO]);
	assert_int_equal(ret + i, post);
	assert_int_equal(gd_tx_reclaim(&f.q), (int)i);
	fx_close(&f);
}
BOTH(in_order)

/* The n ids an in-order transmit ring shows used next, in order. */
static void
assert_used_ids(const struct fx *f, const int *ids, unsigned int n)
{
	unsigned int i;
	uint32_t len;
	uint16_t id;

	assert_int_equal(used_pending(&f->q), n);
	for (i = 0; i < n; i++) {
		assert_true(gd_used_peek(&f->q, i, &id, &len));
		assert_int_equal(id, ids[i]);
	}
	if (f->q.packed)	/* one used descriptor names the last */
		assert_int_equal(f->q.pdesc[f->q.next_used].id, ids[n - 1]);
}

/*
 * IN_ORDER, a batch's copied buffers taken together: those before a lent
 * one are used at once, in one used descriptor on a packed ring; those
 * behind it wait for it, then come back in order.
 */
static void
in_order_runs(bool packed)
{
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	int ids[12];
	uint32_t i;
	struct fx f;

	fx_open(&f, packed, V1 | INORDER, RING, true);
	for (i = 0; i < 12; i++)	/* three lines of descriptors */
		ids[i] = tx_frame(&f.q, i == 5 ? 1500 : 100, 700 + i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 12);
	for (i = 0; i < 12; i++)
		assert_mbuf_frame(pkts[i], i == 5 ? 1500 : 100, 700 + i);
	assert_true(is_lent(pkts[5]));
	vq_reap(f.vq);
	assert_used_ids(&f, ids, 5);
	assert_int_equal(gd_tx_reclaim(&f.q), 5);
	rte_pktmbuf_free_bulk(pkts, 12);
	vq_reap(f.vq);
	assert_used_ids(&f, ids + 5, 7);
	assert_int_equal(gd_tx_reclaim(&f.q), 7);

	/* Nothing lent: the whole burst is used at once. */
	for (i = 0; i < 12; i++)
		ids[i] = tx_frame(&f.q, 100, 800 + i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 12);
	assert_used_ids(&f, ids, 12);
	assert_int_equal(gd_tx_reclaim(&f.q), 12);
	rte_pktmbuf_free_bulk(pkts, 12);
	fx_close(&f);
}
BOTH(in_order_runs)

/*
 * A packed ring does not tell how many buffers it holds, so a burst
 * takes mbufs for a full one. Those it did not fill stay with the queue
 * for the next burst, which takes none from the pool then, and an empty
 * poll gives them back.
 */
static void
spare_mbufs_packed(void **state __rte_unused)
{
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct rte_mempool *mp = vqt_init();
	unsigned int avail, i;
	struct fx f;

	fx_open(&f, true, V1, RING, false);
	avail = rte_mempool_avail_count(mp);
	tx_frame(&f.q, 100, 1, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 1);
	assert_int_equal(rte_mempool_avail_count(mp), avail - VQ_BURST_MAX);
	rte_pktmbuf_free(pkts[0]);
	for (i = 0; i < 3; i++)
		tx_frame(&f.q, 60 + i, 10 + i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, 3), 3);
	assert_int_equal(rte_mempool_avail_count(mp), avail - VQ_BURST_MAX + 1);
	for (i = 0; i < 3; i++)
		assert_mbuf_frame(pkts[i], 60 + i, 10 + i);
	rte_pktmbuf_free_bulk(pkts, 3);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 0);
	assert_int_equal(rte_mempool_avail_count(mp), avail);
	assert_int_equal(reap(&f), 4);
	fx_close(&f);
}

/* One 100-byte frame through a burst of up to n, back to the guest. */
static void
one_frame(struct fx *f, uint16_t n, uint32_t seed)
{
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];

	tx_frame(&f->q, 100, seed, &one);
	assert_int_equal(vq_dequeue_burst(f->vq, pkts, n), 1);
	assert_mbuf_frame(pkts[0], 100, seed);
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(reap(f), 1);
}

/*
 * Spares are not kept while the pool is short (less than a quarter
 * free): a queue stops keeping them within 64 bursts (VQ_SPARE_CHECK in
 * lib/virtio) of the pool running short, and gives back those it kept.
 */
static void
spare_mbufs_pool_short(void **state __rte_unused)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX], *hold[100];
	struct rte_mempool *mp;
	unsigned int i;
	struct fx f;

	mp = fx_open_pool(&f, true, 128);
	/* Plenty: seven of the burst's eight are kept. */
	one_frame(&f, 8, 1);
	assert_int_equal(rte_mempool_avail_count(mp), 121);
	/* Short: 21 of 128 free. */
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, hold, 100), 0);
	for (i = 0; i <= 64; i++)
		one_frame(&f, 8, 10 + i);
	assert_int_equal(rte_mempool_avail_count(mp), 28);
	rte_pktmbuf_free_bulk(hold, 100);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, 8), 0);
	assert_int_equal(rte_mempool_avail_count(mp), 128);
	fx_close(&f);
	rte_mempool_free(mp);
}

/* A burst that could not have all the mbufs it asked for keeps none. */
static void
spare_mbufs_short_burst(void **state __rte_unused)
{
	struct rte_mbuf *hold[121];
	struct rte_mempool *mp;
	struct fx f;

	mp = fx_open_pool(&f, true, 128);
	one_frame(&f, 8, 1);
	assert_int_equal(rte_mempool_avail_count(mp), 121);	/* 7 kept */
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, hold, 121), 0);
	/* The burst asks for 16: the 7 kept, and 9 the pool has not. */
	one_frame(&f, 16, 2);
	assert_int_equal(rte_mempool_avail_count(mp), 7);
	rte_pktmbuf_free_bulk(hold, 121);
	fx_close(&f);
	assert_int_equal(rte_mempool_avail_count(mp), 128);
	rte_mempool_free(mp);
}

/* One dequeue of up to 64: frames seeds seed.. checked, freed, reaped. */
static uint16_t
take_seq(struct fx *f, uint32_t seed)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint16_t got, i;

	got = vq_dequeue_burst(f->vq, pkts, VQ_BURST_MAX);
	for (i = 0; i < got; i++)
		assert_mbuf_frame(pkts[i], seq_len(seed + i), seed + i);
	rte_pktmbuf_free_bulk(pkts, got);
	assert_int_equal(reap(f), got);
	return got;
}

/*
 * wait_bursts on a packed ring: fewer than 32 buffers from our position
 * are left for one poll, then taken with whatever the guest added
 * meanwhile; 32 are taken at once, and so is anything where 32 buffers
 * would pass the ring's end; past the end, in the next lap, it waits
 * again. A split ring, or a packed one without wait_bursts, takes what
 * is there at once.
 */
static void
wait_bursts(bool packed, bool on)
{
	struct vq_params p = params(false);
	bool waits = packed && on;
	uint32_t seed = 0;
	struct fx f;

	p.wait_bursts = on;
	fx_gd(&f, packed, V1, RING);
	fx_vq(&f, &p);
	send_seq(&f, 3, seed);
	if (waits)
		assert_int_equal(take_seq(&f, seed), 0);
	assert_int_equal(take_seq(&f, seed), 3);
	assert_int_equal(take_seq(&f, seed), 0);
	seed += 3;
	send_seq(&f, 5, seed);
	if (waits) {
		assert_int_equal(take_seq(&f, seed), 0);
		send_seq(&f, 27, seed + 5);
		assert_int_equal(take_seq(&f, seed), 32);
		seed += 32;
	} else {
		assert_int_equal(take_seq(&f, seed), 5);
		seed += 5;
		send_seq(&f, 27, seed);		/* the same position */
		assert_int_equal(take_seq(&f, seed), 27);
		seed += 27;
	}
	/* whole bursts up to position 227 */
	while (seed + 32 <= RING - 29) {
		send_seq(&f, 32, seed);
		assert_int_equal(take_seq(&f, seed), 32);
		seed += 32;
	}
	assert_int_equal(seed, 227);
	send_seq(&f, 4, seed);			/* 227 + 31 passes the end */
	assert_int_equal(take_seq(&f, seed), 4);
	seed += 4;
	send_seq(&f, 25, seed);			/* up to the end */
	assert_int_equal(take_seq(&f, seed), 25);
	seed += 25;
	send_seq(&f, 2, seed);			/* the next lap */
	if (waits)
		assert_int_equal(take_seq(&f, seed), 0);
	assert_int_equal(take_seq(&f, seed), 2);
	fx_close(&f);
}

static void
wait_bursts_packed(void **state __rte_unused)
{
	wait_bursts(true, true);
}

static void
wait_bursts_split(void **state __rte_unused)
{
	wait_bursts(false, true);
}

static void
wait_bursts_off(void **state __rte_unused)
{
	wait_bursts(true, false);
}

/* ==== 6. notifications ============================================== */

/*
 * Split ring without EVENT_IDX: with VRING_AVAIL_F_NO_INTERRUPT set by
 * the guest no call is made; without it exactly one call per burst, not
 * per packet, on transmit and receive; stats.notifications agrees.
 */
static void
notify_split_flags(void **state)
{
	uint64_t calls = 0;
	struct fx f;
	uint32_t i;

	(void)state;
	rng_seed(60, "notify_split_flags");
	fx_open(&f, false, V1, 64, false);
	for (i = 0; i < 300; i++) {
		bool off = rnd() % 2 == 0;
		uint32_t n = rnd_in(1, 32);

		f.q.avail->flags = off ? VRING_AVAIL_F_NO_INTERRUPT : 0;
		if (rnd() % 2 == 0)
			tx_burst(&f, n, i * 64);
		else
			rx_burst(&f, n, i * 64);
		assert_int_equal(gd_calls(&f.q), off ? 0 : 1);
		calls += !off;
	}
	assert_int_equal(vq_stats(f.vq)->notifications, calls);
	fx_close(&f);
}

/*
 * Split ring with EVENT_IDX: the guest's used_event (avail->ring[size])
 * asks for a call once that entry is used. Asked after 5 entries, bursts
 * of 2 call on the third burst only; NO_INTERRUPT is ignored; then random
 * bursts and events around the current index, starting near 65535 so the
 * 16-bit index wraps: a call exactly when used_event is crossed.
 */
static void
notify_split_event_idx(void **state)
{
	const uint16_t size = 64;
	uint64_t calls = 1;
	volatile uint16_t *used_event;
	uint32_t u = 65000, i;
	struct vq_params p = params(false);
	struct fx f;

	(void)state;
	rng_seed(61, "notify_split_event_idx");
	fx_gd(&f, false, V1 | EVIDX, size);
	split_start_at(&f.q, (uint16_t)u);
	fx_vq(&f, &p);
	used_event = &f.q.avail->ring[size];
	*used_event = (uint16_t)(u + 4);
	tx_burst(&f, 2, 0);
	assert_int_equal(gd_calls(&f.q), 0);
	tx_burst(&f, 2, 2);
	assert_int_equal(gd_calls(&f.q), 0);
	tx_burst(&f, 2, 4);
	assert_int_equal(gd_calls(&f.q), 1);
	tx_burst(&f, 2, 6);
	assert_int_equal(gd_calls(&f.q), 0);
	u += 8;
	/* The flag means nothing with EVENT_IDX. */
	f.q.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event = (uint16_t)u;
	rx_burst(&f, 1, 8);
	assert_int_equal(gd_calls(&f.q), 1);
	calls++;
	u++;
	for (i = 0; i < 700; i++) {
		uint32_t n = rnd_in(1, 40);
		uint32_t a = u + rnd_in(0, 80) - 20;
		bool want = a >= u && a < u + n;

		*used_event = (uint16_t)a;
		f.q.avail->flags = rnd() % 2 ? VRING_AVAIL_F_NO_INTERRUPT : 0;
		if (rnd() % 2 == 0)
			tx_burst(&f, n, i * 64);
		else
			rx_burst(&f, n, i * 64);
		assert_int_equal(gd_calls(&f.q), want);
		calls += want;
		u += n;
	}
	assert_true(u > 65536 + 1000);	/* the index wrapped */
	assert_int_equal(vq_stats(f.vq)->notifications, calls);
	fx_close(&f);
}

/*
 * Packed ring event flags: DISABLE means no call, ENABLE one per burst.
 */
static void
notify_packed_flags(void **state)
{
	uint64_t calls = 0;
	struct fx f;
	uint32_t i;

	(void)state;
	rng_seed(62, "notify_packed_flags");
	fx_open(&f, true, V1, 16, false);
	for (i = 0; i < 300; i++) {
		bool off = rnd() % 2 == 0;
		uint32_t n = rnd_in(1, 16);

		f.q.drv_ev->flags = off ? VRING_PACKED_EVENT_FLAG_DISABLE :
					  VRING_PACKED_EVENT_FLAG_ENABLE;
		if (rnd() % 2 == 0)
			tx_burst(&f, n, i * 64);
		else
			rx_burst(&f, n, i * 64);
		assert_int_equal(gd_calls(&f.q), off ? 0 : 1);
		calls += !off;
	}
	assert_int_equal(vq_stats(f.vq)->notifications, calls);
	fx_close(&f);
}

/* Ask for a call when absolute descriptor position a is used. */
static void
packed_event_at(struct gd_q *q, uint64_t a)
{
	uint16_t off = (uint16_t)(a % q->size);
	bool wrap = (a / q->size) % 2 == 0;	/* lap 0 has wrap 1 */

	q->drv_ev->off_wrap = off | (wrap ? EV_WRAP : 0);
	q->drv_ev->flags = VRING_PACKED_EVENT_FLAG_DESC;
}

/*
 * Send frames in chains of 1..max_segs descriptors, as many as fit, in
 * one burst; returns the descriptors they took.
 */
static uint32_t
tx_burst_chains(struct fx *f, uint32_t n, unsigned int max_segs,
		uint32_t seed)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint32_t i, k = 0, ndesc = 0;

	for (i = 0; i < n; i++) {
		struct gd_shape s = { .nsegs = rnd_in(1, max_segs) };

		if (gd_free_desc(&f->q) < s.nsegs)
			break;
		tx_frame(&f->q, 100 + seed % 500, seed + i, &s);
		ndesc += s.nsegs;
		k++;
	}
	assert_int_equal(vq_dequeue_burst(f->vq, pkts, VQ_BURST_MAX), k);
	for (i = 0; i < k; i++) {
		assert_mbuf_frame(pkts[i], 100 + seed % 500, seed + i);
		rte_pktmbuf_free(pkts[i]);
	}
	assert_int_equal(gd_tx_reclaim(&f->q), (int)k);
	return ndesc;
}

/*
 * Packed ring with EVENT_IDX, driver event flags DESC: a call only when
 * the descriptor position (and wrap counter) in off_wrap is used. At
 * position 1 of the next lap: crossing the wrap does not call, reaching
 * position 1 does; an event one lap ahead is not the same position now.
 * Then random bursts of chains (1..3 descriptors, so positions are also
 * skipped over) with random ENABLE/DISABLE/DESC and events from half a
 * ring behind to a ring ahead, around a 16-descriptor ring many times.
 */
static void
notify_packed_desc(void **state)
{
	const uint16_t size = 16;
	uint64_t u = 0, calls = 0;
	struct fx f;
	uint32_t i;

	(void)state;
	rng_seed(63, "notify_packed_desc");
	fx_open(&f, true, V1 | EVIDX, size, false);
	u += tx_burst_chains(&f, 14, 1, 0);	/* ENABLE: one call */
	assert_int_equal(gd_calls(&f.q), 1);
	calls++;
	packed_event_at(&f.q, 17);		/* lap 1, position 1 */
	u += tx_burst_chains(&f, 2, 1, 100);	/* 14..15 */
	assert_int_equal(gd_calls(&f.q), 0);
	u += tx_burst_chains(&f, 2, 1, 200);	/* 16..17 */
	assert_int_equal(gd_calls(&f.q), 1);
	calls++;
	u += tx_burst_chains(&f, 2, 1, 300);	/* 18..19 */
	assert_int_equal(gd_calls(&f.q), 0);
	assert_int_equal(u, 20);
	packed_event_at(&f.q, 35);		/* lap 2, position 3 */
	u += tx_burst_chains(&f, 8, 1, 400);	/* 20..27 */
	assert_int_equal(gd_calls(&f.q), 0);
	u += tx_burst_chains(&f, 6, 1, 500);	/* 28..33 */
	assert_int_equal(gd_calls(&f.q), 0);
	u += tx_burst_chains(&f, 2, 1, 600);	/* 34..35 */
	assert_int_equal(gd_calls(&f.q), 1);
	calls++;
	for (i = 0; i < 1500; i++) {
		uint32_t r = rnd() % 10, d;
		uint64_t a = u + rnd_in(0, size + size / 2 - 1);
		bool want;

		a = a >= size / 2 ? a - size / 2 : 0;
		if (r == 0) {
			f.q.drv_ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
		} else if (r == 1) {
			f.q.drv_ev->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
		} else {
			packed_event_at(&f.q, a);
		}
		d = tx_burst_chains(&f, rnd_in(1, 8), 3, i * 16);
		want = r == 1 || (r > 1 && a >= u && a < u + d);
		assert_int_equal(gd_calls(&f.q), want);
		calls += want;
		u += d;
	}
	assert_int_equal(vq_stats(f.vq)->notifications, calls);
	fx_close(&f);
}

/*
 * The device polls, so it asks guests not to kick: packed rings get the
 * device event flags DISABLE, split rings without EVENT_IDX
 * VRING_USED_F_NO_NOTIFY, from vq_create on and still after traffic.
 * With EVENT_IDX the library leaves avail_event alone (printed, not
 * asserted: at 0 it lets the guest kick once per 2^16 buffers).
 */
static void
kick_suppression(void **state)
{
	uint16_t avail_event;
	struct fx f;

	(void)state;
	fx_open(&f, true, V1, 64, false);
	assert_int_equal(f.q.dev_ev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	tx_burst(&f, 10, 0);
	rx_burst(&f, 10, 10);
	assert_int_equal(f.q.dev_ev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	fx_close(&f);

	fx_open(&f, false, V1, 64, false);
	assert_true(f.q.used->flags & VRING_USED_F_NO_NOTIFY);
	tx_burst(&f, 10, 0);
	rx_burst(&f, 10, 10);
	assert_true(f.q.used->flags & VRING_USED_F_NO_NOTIFY);
	fx_close(&f);

	fx_open(&f, false, V1 | EVIDX, 64, false);
	tx_burst(&f, 10, 0);
	memcpy(&avail_event, &f.q.used->ring[64], sizeof(avail_event));
	print_message("# split, EVENT_IDX: avail_event %u, used->flags %#x "
		      "after the guest made 10 available\n", avail_event,
		      f.q.used->flags);
	fx_close(&f);
}

/* ==== 7. disabled ring ============================================== */

/*
 * A disabled ring (vr.enabled = false): enqueue delivers nothing, counts
 * drops[DISABLED] and leaves the guest's buffers posted; dequeue consumes
 * and discards what the guest sent (copied, lent and chained), hands out
 * no mbuf, and every buffer comes back. Enabled again, both directions
 * carry traffic exactly, into the same receive buffers.
 */
static void
disabled_ring(bool packed)
{
	struct rte_mbuf *m[4], *pkts[VQ_BURST_MAX];
	struct virtio_net_hdr_mrg_rxbuf h;
	struct gd_shape one = { .nsegs = 1 }, three = { .nsegs = 3 };
	const struct vq_stats *st;
	uint16_t last_avail;
	struct fx f;
	uint32_t i;

	/* Receive. */
	fx_open(&f, packed, V1, RING, false);
	st = vq_stats(f.vq);
	post_rx(&f.q, 2048, 1, 4);
	for (i = 0; i < 3; i++) {
		vqt_frame(frame_buf, 100 + i * 500, i);
		m[i] = mk_mbuf(frame_buf, 100 + i * 500, 0, false);
	}
	last_avail = f.q.vr.last_avail_idx;
	f.q.vr.enabled = false;
	assert_int_equal(vq_enqueue_burst(f.vq, m, 3), 0);
	assert_int_equal(st->drops[VQ_DROP_DISABLED], 3);
	assert_int_equal(st->packets, 0);
	assert_int_equal(gd_rx(&f.q, &h, rx_buf, sizeof(rx_buf)), 0);
	assert_int_equal(used_pending(&f.q), 0);
	assert_int_equal(f.q.vr.last_avail_idx, last_avail);
	assert_int_equal(gd_calls(&f.q), 0);
	f.q.vr.enabled = true;
	assert_int_equal(vq_enqueue_burst(f.vq, m, 3), 3);
	rte_pktmbuf_free_bulk(m, 3);
	for (i = 0; i < 3; i++) {
		vqt_frame(want_buf, 100 + i * 500, i);
		rx_expect(&f.q, &h, want_buf, 100 + i * 500);
	}
	assert_int_equal(st->packets, 3);
	fx_close(&f);

	/* Transmit, zero-copy on. */
	fx_open(&f, packed, V1, RING, true);
	st = vq_stats(f.vq);
	f.q.vr.enabled = false;
	tx_frame(&f.q, 100, 0, &one);
	tx_frame(&f.q, 1514, 1, &one);
	tx_frame(&f.q, 3000, 2, &three);
	tx_frame(&f.q, 9000, 3, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 0);
	assert_int_equal(st->drops[VQ_DROP_DISABLED], 4);
	assert_int_equal(st->packets, 0);
	assert_int_equal(st->bytes, 0);
	assert_int_equal(reap(&f), 4);
	assert_int_equal(vq_zc_outstanding(f.vq), 0);
	assert_int_equal(gd_free_desc(&f.q), RING);
	f.q.vr.enabled = true;
	tx_frame(&f.q, 1514, 10, &one);
	tx_frame(&f.q, 200, 11, &three);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 2);
	assert_mbuf_frame(pkts[0], 1514, 10);
	assert_mbuf_frame(pkts[1], 200, 11);
	rte_pktmbuf_free_bulk(pkts, 2);
	assert_int_equal(reap(&f), 2);
	assert_int_equal(st->packets, 2);
	fx_close(&f);
}
BOTH(disabled_ring)

/* ==== 8. offloads =================================================== */

struct txo {
	bool v6, tcp;
	uint32_t pay;
	uint8_t flags, gso;
	uint16_t gso_size;
	int8_t start_adj;	/* added to the right csum_start */
	int8_t off_adj;		/* added to the right csum_offset */
	unsigned int nsegs;
	bool valid;
};

/*
 * Transmit offload requests: NEEDS_CSUM for TCP and UDP over IPv4 and
 * IPv6 becomes RTE_MBUF_F_TX_{TCP,UDP}_CKSUM with the L3 flag and l2, l3
 * and l4 lengths; GSO TCPV4/TCPV6 (ECN too) with gso_size becomes
 * RTE_MBUF_F_TX_TCP_SEG and tso_segsz; lent or copied alike. Invalid
 * requests (csum_start or csum_offset wrong, GSO without NEEDS_CSUM or
 * without gso_size, an unknown gso_type, TCP GSO on UDP, TCPV4 on IPv6
 * and TCPV6 on IPv4, UDP GSO on TCP, ECN without a TCP GSO type) are dropped
 * as BAD_HDR between the valid ones, and their buffers still come back.
 */
static void
tx_offloads(bool packed)
{
	static const struct txo c[] = {
		{ false, true, 1000, NEEDS_CSUM, 0, 0, 0, 0, 1, true },
		{ false, true, 1000, NEEDS_CSUM, 0, 0, 1, 0, 1, false },
		{ false, false, 200, NEEDS_CSUM, 0, 0, 0, 0, 1, true },
		{ true, false, 800, NEEDS_CSUM, 0, 0, -2, 0, 1, false },
		{ true, true, 2000, NEEDS_CSUM, 0, 0, 0, 0, 3, true },
		{ false, true, 1000, NEEDS_CSUM, 0, 0, 0, 1, 1, false },
		{ true, false, 800, NEEDS_CSUM, 0, 0, 0, 0, 1, true },
		{ false, false, 300, NEEDS_CSUM, 0, 0, 0, 10, 1, false },
		{ false, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, 0, 1, true },
		{ false, true, 20000, 0, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, 0, 1, false },
		{ true, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6,
		  1440, 0, 0, 2, true },
		{ false, true, 20000, NEEDS_CSUM, 2, 1448, 0, 0, 1, false },
		{ false, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 |
		  VIRTIO_NET_HDR_GSO_ECN, 1448, 0, 0, 1, true },
		{ false, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
		  0, 0, 0, 1, false },
		{ false, false, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, 0, 1, false },
		{ true, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
		  1440, 0, 0, 1, false },
		{ false, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6,
		  1448, 0, 0, 1, false },
		{ false, true, 20000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP,
		  1448, 0, 0, 1, false },
		{ false, true, 1000, 0, VIRTIO_NET_HDR_GSO_ECN, 0, 0, 0, 1,
		  false },
		{ false, false, 6000, NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP |
		  VIRTIO_NET_HDR_GSO_ECN, 1480, 0, 0, 1, false },
		{ true, true, 100, 0, 0, 0, 0, 0, 1, true },
	};
	static uint8_t frames[RTE_DIM(c)][20100];
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint32_t i, k = 0, len[RTE_DIM(c)], nvalid = 0;
	struct fx f;

	fx_open(&f, packed, V1 | HOST_ALL, RING, true);
	for (i = 0; i < RTE_DIM(c); i++) {
		uint32_t l3 = l3_len(c[i].v6);
		uint32_t co = c[i].tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF;
		struct virtio_net_hdr_mrg_rxbuf h = { .hdr = {
			.flags = c[i].flags,
			.gso_type = c[i].gso,
			.gso_size = c[i].gso_size,
			.hdr_len = (uint16_t)(ETH_LEN + l3 + l4_len(c[i].tcp)),
			.csum_start = (uint16_t)(ETH_LEN + l3 + c[i].start_adj),
			.csum_offset = (uint16_t)(co + c[i].off_adj),
		} };
		struct gd_shape s = { .nsegs = c[i].nsegs };

		len[i] = mk_l4(frames[i], c[i].v6, c[i].tcp, c[i].pay, i);
		tx_hdr(&f.q, &h, frames[i], len[i], &s);
		nvalid += c[i].valid;
	}
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), nvalid);
	for (i = 0; i < RTE_DIM(c); i++) {
		const struct rte_mbuf *m = pkts[k];
		uint64_t l4 = c[i].tcp ? RTE_MBUF_F_TX_TCP_CKSUM :
					 RTE_MBUF_F_TX_UDP_CKSUM;

		if (!c[i].valid)
			continue;
		k++;
		assert_mbuf_bytes(m, frames[i], len[i]);
		if (c[i].flags == 0) {
			assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK |
				RTE_MBUF_F_TX_TCP_SEG), 0);
			continue;
		}
		assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, l4);
		assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_IPV4 |
						RTE_MBUF_F_TX_IPV6),
				 c[i].v6 ? RTE_MBUF_F_TX_IPV6 :
					   RTE_MBUF_F_TX_IPV4);
		assert_int_equal(m->l2_len, ETH_LEN);
		assert_int_equal(m->l3_len, l3_len(c[i].v6));
		assert_int_equal(m->l4_len, l4_len(c[i].tcp));
		if (c[i].gso != 0) {
			assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
			assert_int_equal(m->tso_segsz, c[i].gso_size);
		} else {
			assert_false(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
		}
	}
	assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_BAD_HDR],
			 RTE_DIM(c) - nvalid);
	assert_int_equal(vq_stats(f.vq)->packets, nvalid);
	rte_pktmbuf_free_bulk(pkts, nvalid);
	assert_int_equal(reap(&f), RTE_DIM(c));
	fx_close(&f);
}
BOTH(tx_offloads)

/*
 * Each transmit offload is honoured only when the guest negotiated it: a
 * checksum request needs CSUM, TCPV4 GSO HOST_TSO4, TCPV6 HOST_TSO6, the
 * ECN bit HOST_ECN, UDP GSO HOST_UFO. With every bit but the one a header
 * needs it is BAD_HDR; with all of them the same header goes through.
 */
static void
tx_offloads_negotiated(bool packed)
{
	static const struct {
		uint64_t need;
		struct txo c;
	} r[] = {
		{ HCSUM, { false, true, 1000, NEEDS_CSUM, 0, 0, 0, 0, 1,
			   true } },
		{ HCSUM, { true, false, 1000, NEEDS_CSUM, 0, 0, 0, 0, 1,
			   true } },
		{ HTSO4, { false, true, 20000, NEEDS_CSUM,
			   VIRTIO_NET_HDR_GSO_TCPV4, 1448, 0, 0, 1, true } },
		{ HTSO6, { true, true, 20000, NEEDS_CSUM,
			   VIRTIO_NET_HDR_GSO_TCPV6, 1440, 0, 0, 1, true } },
		{ HECN, { false, true, 20000, NEEDS_CSUM,
			  VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
			  1448, 0, 0, 1, true } },
		{ HUFO, { false, false, 6000, NEEDS_CSUM,
			  VIRTIO_NET_HDR_GSO_UDP, 1480, 0, 0, 1, true } },
	};
	struct rte_mbuf *m;
	uint32_t i, with;

	for (i = 0; i < RTE_DIM(r); i++) {
		for (with = 0; with < 2; with++) {
			uint64_t feat = V1 | (with ? HOST_ALL :
					      HOST_ALL & ~r[i].need);
			const struct txo *c = &r[i].c;
			uint32_t l3 = l3_len(c->v6);
			struct virtio_net_hdr_mrg_rxbuf h = { .hdr = {
				.flags = c->flags,
				.gso_type = c->gso,
				.gso_size = c->gso_size,
				.csum_start = (uint16_t)(ETH_LEN + l3),
				.csum_offset = c->tcp ? TCP_CSUM_OFF :
							UDP_CSUM_OFF,
			} };
			struct gd_shape s = { .nsegs = 1 };
			uint32_t len;
			struct fx f;

			fx_open(&f, packed, feat, RING, false);
			len = mk_l4(frame_buf, c->v6, c->tcp, c->pay, i);
			tx_hdr(&f.q, &h, frame_buf, len, &s);
			assert_int_equal(vq_dequeue_burst(f.vq, &m, 1), with);
			assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_BAD_HDR],
					 !with);
			if (with) {
				assert_mbuf_bytes(m, frame_buf, len);
				assert_int_not_equal(m->ol_flags &
						     RTE_MBUF_F_TX_L4_MASK, 0);
				rte_pktmbuf_free(m);
			}
			assert_int_equal(reap(&f), 1);
			fx_close(&f);
		}
	}
}
BOTH(tx_offloads_negotiated)

/*
 * A guest that negotiated no transmit offload has its header ignored:
 * requests that would be BAD_HDR with any offload negotiated (a checksum
 * request pointing past the frame, GSO without a size or without
 * NEEDS_CSUM, an unknown GSO type, ECN alone) go through as plain frames,
 * with no offload flag, whether the header shares the frame's descriptor,
 * has one of its own or the frame spans three, copied or lent.
 */
static void
tx_hdr_ignored(bool packed)
{
	static const struct virtio_net_hdr h[] = {
		{ .flags = NEEDS_CSUM, .csum_start = 60000, .csum_offset = 16 },
		{ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 },
		{ .flags = NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 },
		{ .flags = NEEDS_CSUM, .gso_type = 2, .gso_size = 100 },
		{ .gso_type = VIRTIO_NET_HDR_GSO_ECN },
	};
	static const struct gd_shape s[] = {
		{ .nsegs = 1 }, { .nsegs = 1, .hdr_apart = true }, { .nsegs = 3 },
	};
	static const uint32_t pay[] = { 100, 1400 };
	uint32_t i, j, k, zc, len;
	struct rte_mbuf *m;

	for (zc = 0; zc < 2; zc++) {
		struct fx f;

		fx_open(&f, packed, V1, RING, zc);
		for (i = 0; i < RTE_DIM(h); i++)
			for (j = 0; j < RTE_DIM(s); j++)
				for (k = 0; k < RTE_DIM(pay); k++) {
					struct virtio_net_hdr_mrg_rxbuf mh = {
						.hdr = h[i] };

					len = mk_l4(frame_buf, false, true,
						    pay[k], i + j + k);
					tx_hdr(&f.q, &mh, frame_buf, len,
					       &s[j]);
					assert_int_equal(vq_dequeue_burst(
						f.vq, &m, 1), 1);
					assert_mbuf_bytes(m, frame_buf, len);
					assert_int_equal(m->ol_flags &
						(RTE_MBUF_F_TX_L4_MASK |
						 RTE_MBUF_F_TX_TCP_SEG |
						 RTE_MBUF_F_TX_UDP_SEG), 0);
					rte_pktmbuf_free(m);
					assert_int_equal(reap(&f), 1);
				}
		assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_BAD_HDR], 0);
		assert_int_equal(vq_stats(f.vq)->packets,
				 RTE_DIM(h) * RTE_DIM(s) * RTE_DIM(pay));
		assert_int_equal(vq_stats(f.vq)->zc_packets > 0, zc);
		fx_close(&f);
	}
}
BOTH(tx_hdr_ignored)

struct rxo {
	bool v6, tcp;
	uint32_t pay;
	bool zero_sum;		/* UDP whose checksum computes to 0 */
};

static const struct rxo rx_cases[] = {
	{ false, true, 1000, false },
	{ false, false, 500, false },
	{ true, true, 3000, false },
	{ true, false, 1, false },
	{ false, true, 8000, false },
	{ false, false, 700, true },
};

/*
 * An mbuf of frame b asking for its L4 checksum: random segment sizes
 * (any, odd too) or full ones, the headers in the first.
 */
static struct rte_mbuf *
csum_mbuf_segs(const uint8_t *b, uint32_t len, bool v6, bool tcp,
	       bool rand_segs)
{
	uint32_t hl = ETH_LEN + l3_len(v6) + l4_len(tcp);
	struct rte_mbuf *m = mk_mbuf(b, len, hl, rand_segs);

	m->ol_flags = (tcp ? RTE_MBUF_F_TX_TCP_CKSUM :
			     RTE_MBUF_F_TX_UDP_CKSUM) |
		      (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
	m->l2_len = ETH_LEN;
	m->l3_len = l3_len(v6);
	m->l4_len = l4_len(tcp);
	return m;
}

static struct rte_mbuf *
csum_mbuf(const uint8_t *b, uint32_t len, bool v6, bool tcp)
{
	return csum_mbuf_segs(b, len, v6, tcp, true);
}

/* m still holds b and asks for what it asked before. */
static void
assert_untouched(const struct rte_mbuf *m, const uint8_t *b, uint32_t len,
		 uint64_t ol)
{
	assert_int_equal(m->ol_flags, ol);
	assert_mbuf_bytes(m, b, len);
}

/*
 * Receive checksum requests (TCP, UDP over IPv4 and IPv6, mbuf chains):
 * a guest with GUEST_CSUM gets NEEDS_CSUM with csum_start/csum_offset and
 * the frame as it was; a guest without gets the frame with its checksum
 * finished (verified here; a UDP sum of 0 sent as 0xffff) and nothing
 * else changed, while the original mbuf is left alone (bytes and flags).
 */
static void
rx_csum(bool packed)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct rte_mbuf *m;
	struct fx g, n;
	uint32_t i;

	rng_seed(80, "rx_csum");
	fx_open(&g, packed, V1 | MRG | GCSUM, RING, false);
	fx_open(&n, packed, V1 | MRG, RING, false);
	for (i = 0; i < RTE_DIM(rx_cases); i++) {
		const struct rxo *c = &rx_cases[i];
		uint32_t cf = csum_field(c->v6, c->tcp), len;
		uint64_t ol;

		len = c->zero_sum ? mk_udp_zero_sum(frame_buf, c->pay, i) :
				    mk_l4(frame_buf, c->v6, c->tcp, c->pay, i);
		m = csum_mbuf(frame_buf, len, c->v6, c->tcp);
		ol = m->ol_flags;
		post_rx(&g.q, 4096, 2, 3);
		post_rx(&n.q, 4096, 2, 3);
		assert_int_equal(vq_enqueue_burst(g.vq, &m, 1), 1);
		assert_untouched(m, frame_buf, len, ol);
		rx_expect(&g.q, &h, frame_buf, len);
		assert_int_equal(h.hdr.flags, NEEDS_CSUM);
		assert_int_equal(h.hdr.csum_start, ETH_LEN + l3_len(c->v6));
		assert_int_equal(h.hdr.csum_offset, c->tcp ? TCP_CSUM_OFF :
							     UDP_CSUM_OFF);
		assert_int_equal(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);

		assert_int_equal(vq_enqueue_burst(n.vq, &m, 1), 1);
		assert_untouched(m, frame_buf, len, ol);
		rte_pktmbuf_free(m);
		assert_int_equal(gd_rx(&n.q, &h, rx_buf, sizeof(rx_buf)),
				 (int)len);
		assert_int_equal(h.hdr.flags, 0);
		assert_bytes(rx_buf, frame_buf, cf, "before the checksum");
		assert_bytes(rx_buf + cf + 2, frame_buf + cf + 2, len - cf - 2,
			     "after the checksum");
		assert_true(l4_valid(rx_buf, len));
		if (!c->v6)
			assert_true(ip4_valid(rx_buf));
		if (!c->tcp)
			assert_int_not_equal(get16(rx_buf + cf), 0);
		if (c->zero_sum)
			assert_int_equal(get16(rx_buf + cf), 0xffff);
	}
	/* Drain the spare buffers: nothing else arrived. */
	assert_int_equal(gd_rx(&g.q, &h, rx_buf, sizeof(rx_buf)), 0);
	assert_int_equal(gd_rx(&n.q, &h, rx_buf, sizeof(rx_buf)), 0);
	assert_int_equal(vq_stats(g.vq)->sw_csum, 0);
	assert_int_equal(vq_stats(n.vq)->sw_csum, RTE_DIM(rx_cases));
	fx_close(&n);
	fx_close(&g);
}
BOTH(rx_csum)

/*
 * An mbuf asking for the IPv4 header checksum too (RTE_MBUF_F_TX_IP_CKSUM,
 * the field left 0 as DPDK wants): virtio has no such offload, so every
 * guest must get a valid IPv4 header checksum, with GUEST_CSUM (the L4
 * request passed on) or without, and with no L4 request at all.
 */
static void
rx_ip_csum(bool packed)
{
	static const uint64_t feats[] = { V1 | MRG | GCSUM, V1 | MRG };
	const uint32_t cf = csum_field(false, true);
	struct virtio_net_hdr_mrg_rxbuf h;
	uint32_t len, i, l4req, bad = 0;
	struct rte_mbuf *m;
	struct fx f;

	rng_seed(81, "rx_ip_csum");
	for (i = 0; i < RTE_DIM(feats); i++) {
		fx_open(&f, packed, feats[i], RING, false);
		for (l4req = 0; l4req < 2; l4req++) {
			len = mk_l4(frame_buf, false, true, 1000, i);
			put16(frame_buf + ETH_LEN + 10, 0);
			if (l4req) {
				m = csum_mbuf(frame_buf, len, false, true);
			} else {
				/* The TCP checksum done, only IP's to do. */
				put16(frame_buf + cf, 0);
				put16(frame_buf + cf, (uint16_t)~fold(
				      pseudo(frame_buf, false, 6, len - 34) +
				      csum_add(0, frame_buf + 34, len - 34)));
				m = mk_mbuf(frame_buf, len, 54, true);
				m->l2_len = ETH_LEN;
				m->l3_len = 20;
				m->l4_len = 20;
				m->ol_flags = RTE_MBUF_F_TX_IPV4;
			}
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
			post_rx(&f.q, 2048, 1, 1);
			assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
			rte_pktmbuf_free(m);
			assert_int_equal(gd_rx(&f.q, &h, rx_buf,
					       sizeof(rx_buf)), (int)len);
			assert_bytes(rx_buf, frame_buf, ETH_LEN + 10,
				     "before the IPv4 checksum");
			assert_bytes(rx_buf + ETH_LEN + 12,
				     frame_buf + ETH_LEN + 12, 8,
				     "IPv4 addresses");
			/* The L4 sum: the GUEST_CSUM guest finishes it. */
			if (i == 0 && l4req)
				assert_int_equal(h.hdr.flags, NEEDS_CSUM);
			else
				assert_true(l4_valid(rx_buf, len));
			if (ip4_valid(rx_buf))
				continue;
			print_message("# IPv4 header checksum %#x wrong: guest "
				      "%s GUEST_CSUM, %s\n",
				      get16(rx_buf + ETH_LEN + 10),
				      i == 0 ? "with" : "without",
				      l4req ? "TCP checksum requested" :
					      "only the IP checksum");
			bad++;
		}
		fx_close(&f);
	}
	assert_int_equal(bad, 0);
}
BOTH(rx_ip_csum)

/*
 * A TCP frame of pay bytes over IPv4 or IPv6 asking for TSO at mss, in
 * full 2 KiB segments as a guest's transmit or a NIC's scatter makes.
 */
static struct rte_mbuf *
tso_mbuf(uint8_t *b, uint32_t *len, bool v6, uint32_t pay, uint16_t mss)
{
	struct rte_mbuf *m;

	*len = mk_l4(b, v6, true, pay, pay + mss);
	m = csum_mbuf_segs(b, *len, v6, true, false);
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	m->tso_segsz = mss;
	return m;
}

/* A TSO guest takes the whole frame with its GSO header. */
static void
rx_expect_gso(struct fx *f, const uint8_t *b, uint32_t len, bool v6,
	      uint16_t mss, uint32_t bufsz)
{
	struct virtio_net_hdr_mrg_rxbuf h;

	rx_expect(&f->q, &h, b, len);
	assert_int_equal(h.hdr.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
					      VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(h.hdr.gso_size, mss);
	assert_int_equal(h.hdr.hdr_len, ETH_LEN + l3_len(v6) + 20);
	assert_int_equal(h.hdr.flags, NEEDS_CSUM);
	assert_int_equal(h.hdr.csum_start, ETH_LEN + l3_len(v6));
	assert_int_equal(h.hdr.csum_offset, TCP_CSUM_OFF);
	assert_int_equal(h.num_buffers, (12 + len + bufsz - 1) / bufsz);
}

/*
 * TSO on receive: a 64 KiB TCP/IPv4 mbuf to a guest with GUEST_TSO4 +
 * GUEST_CSUM + MRG_RXBUF arrives as one packet with gso_type TCPV4 and
 * gso_size; to a guest without them as MSS-sized segments whose payloads
 * concatenate to the original's and whose IPv4 and TCP checksums verify
 * (stats.sw_gso); the original mbuf's bytes are not changed.
 */
static void
rx_tso(bool packed)
{
	struct rte_mbuf *m;
	struct fx g, n;
	uint32_t len;

	rng_seed(82, "rx_tso");
	fx_open(&g, packed, V1 | MRG | GCSUM | GTSO4, RING, false);
	fx_open(&n, packed, V1 | MRG, RING, false);
	m = tso_mbuf(frame_buf, &len, false, 65000, 1448);
	assert_int_equal(len, 65054);
	post_rx(&g.q, 4096, 1, 20);
	assert_int_equal(vq_enqueue_burst(g.vq, &m, 1), 1);
	assert_mbuf_bytes(m, frame_buf, len);
	rx_expect_gso(&g, frame_buf, len, false, 1448, 4096);
	assert_int_equal(vq_stats(g.vq)->sw_gso, 0);
	assert_int_equal(vq_stats(g.vq)->packets, 1);
	rte_pktmbuf_free(m);

	m = tso_mbuf(frame_buf, &len, false, 65000, 1448);
	post_rx(&n.q, 2048, 1, 50);
	assert_int_equal(vq_enqueue_burst(n.vq, &m, 1), 1);
	assert_mbuf_bytes(m, frame_buf, len);
	rte_pktmbuf_free(m);
	assert_int_equal(rx_expect_segments(&n.q, frame_buf, len, 1448), 45);
	assert_int_equal(vq_stats(n.vq)->sw_gso, 1);
	assert_int_equal(vq_stats(n.vq)->packets, 45);
	assert_int_equal(vq_stats(n.vq)->drops[VQ_DROP_GSO], 0);
	fx_close(&n);
	fx_close(&g);
}
BOTH(rx_tso)

/*
 * The mbuf handed to vq_enqueue_burst stays the caller's: flooding the
 * same TSO mbuf to a guest without TSO (segmented in software) and then
 * to one with GUEST_TSO4 must still give the second one a GSO packet,
 * and the mbuf's flags are as they were after each call.
 */
static void
rx_tso_shared_mbuf(bool packed)
{
	struct rte_mbuf *m;
	struct fx g, n;
	uint32_t len;
	uint64_t ol;

	rng_seed(83, "rx_tso_shared_mbuf");
	fx_open(&n, packed, V1 | MRG, RING, false);
	fx_open(&g, packed, V1 | MRG | GCSUM | GTSO4, RING, false);
	m = tso_mbuf(frame_buf, &len, false, 30000, 1448);
	ol = m->ol_flags;
	post_rx(&n.q, 2048, 1, 30);
	post_rx(&g.q, 4096, 1, 10);
	assert_int_equal(vq_enqueue_burst(n.vq, &m, 1), 1);
	assert_int_equal(rx_expect_segments(&n.q, frame_buf, len, 1448), 21);
	assert_untouched(m, frame_buf, len, ol);
	assert_int_equal(vq_enqueue_burst(g.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	rx_expect_gso(&g, frame_buf, len, false, 1448, 4096);
	fx_close(&g);
	fx_close(&n);
}
BOTH(rx_tso_shared_mbuf)

/*
 * One TSO mbuf (IPv6 or IPv4, pay bytes at mss) into a guest with feat,
 * which cannot take it whole, with nbuf 2 KiB buffers posted: it is
 * segmented in software, and nsegs exact segments arrive, none dropped.
 */
static void
sw_tso_arrives(bool packed, uint64_t feat, bool v6, uint32_t pay,
	       uint16_t mss, unsigned int nbuf, unsigned int nsegs)
{
	struct rte_mbuf *m;
	uint32_t len;
	struct fx f;

	fx_open(&f, packed, feat, RING, false);
	m = tso_mbuf(frame_buf, &len, v6, pay, mss);
	post_rx(&f.q, 2048, 1, nbuf);
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_GSO], 0);
	assert_int_equal(rx_expect_segments(&f.q, frame_buf, len, mss), nsegs);
	assert_int_equal(vq_stats(f.vq)->sw_gso, 1);
	fx_close(&f);
}

/*
 * Software TSO of TCP/IPv6: a TSO mbuf over IPv6 to a guest that only
 * takes IPv4 TSO (GUEST_TSO4 + GUEST_CSUM) arrives as MSS-sized segments
 * with IPv6 payload lengths and TCP checksums right; it is not dropped.
 */
static void
rx_tso6_sw(bool packed)
{
	rng_seed(84, "rx_tso6_sw");
	sw_tso_arrives(packed, V1 | MRG | GCSUM | GTSO4, true, 20000, 1440,
		       20, 14);
}
BOTH(rx_tso6_sw)

/*
 * Software TSO at a small MSS: a 64 KiB TCP/IPv4 frame at MSS 536 (the
 * IPv4 default) to a guest without TSO is 122 segments, more than one
 * burst; all of them arrive, checksums right, none dropped.
 */
static void
rx_tso_small_mss(bool packed)
{
	rng_seed(85, "rx_tso_small_mss");
	sw_tso_arrives(packed, V1 | MRG, false, 65000, 536, 130, 122);
}
BOTH(rx_tso_small_mss)

/*
 * Software TSO into a ring that fills half way: the segments that fit
 * arrive (exact, checksums right), the packet is reported taken so a
 * retry cannot send them twice, and counts once in no_buffer; the packet
 * behind it is not taken and counts too. Offered again once the guest
 * posts buffers, that one arrives.
 */
static void
rx_tso_cut(bool packed)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct rte_mbuf *m[2];
	uint8_t plain[600];
	uint32_t len;
	struct fx n;

	rng_seed(86, "rx_tso_cut");
	fx_open(&n, packed, V1 | MRG, RING, false);
	m[0] = tso_mbuf(frame_buf, &len, false, 10000, 1000);
	vqt_frame(plain, sizeof(plain), 7);
	m[1] = rte_pktmbuf_alloc(vqt_init());
	memcpy(rte_pktmbuf_append(m[1], sizeof(plain)), plain, sizeof(plain));
	post_rx(&n.q, 2048, 1, 4);
	assert_int_equal(vq_enqueue_burst(n.vq, m, 2), 1);
	assert_int_equal(vq_stats(n.vq)->drops[VQ_DROP_NO_BUFFER], 2);
	assert_int_equal(vq_stats(n.vq)->sw_gso, 1);
	assert_int_equal(rx_expect_first_segments(&n.q, frame_buf, len, 1000,
						  4), 4);
	assert_int_equal(gd_rx(&n.q, &h, rx_buf, sizeof(rx_buf)), 0);
	post_rx(&n.q, 2048, 1, 4);
	assert_int_equal(vq_enqueue_burst(n.vq, &m[1], 1), 1);
	rx_expect(&n.q, &h, plain, sizeof(plain));
	rte_pktmbuf_free_bulk(m, 2);
	fx_close(&n);
}
BOTH(rx_tso_cut)

/*
 * The same on a 512-entry ring, where more than half the used entries of
 * one burst (257 segments) are published half way: five 60-segment TSO
 * packets into 257 buffers. Four arrive whole, the fifth cut after 17
 * segments; the guest sees exactly 257 used entries, each once.
 */
static void
rx_tso_cut_big_ring(bool packed)
{
	static uint8_t big[5][62 * 1024];
	struct virtio_net_hdr_mrg_rxbuf h;
	struct rte_mbuf *m[5];
	uint32_t len[5], i;
	struct fx n;

	fx_open(&n, packed, V1 | MRG, 512, false);
	for (i = 0; i < 5; i++) {
		rng_seed(90 + i, "rx_tso_cut_big_ring");
		m[i] = tso_mbuf(big[i], &len[i], false, 60000, 1000);
	}
	post_rx(&n.q, 2048, 1, 257);
	assert_int_equal(vq_enqueue_burst(n.vq, m, 5), 5);
	rte_pktmbuf_free_bulk(m, 5);
	if (!packed)
		assert_int_equal(n.q.used->idx, 257);
	for (i = 0; i < 4; i++)
		assert_int_equal(rx_expect_segments(&n.q, big[i], len[i],
						    1000), 60);
	assert_int_equal(rx_expect_first_segments(&n.q, big[4], len[4], 1000,
						  17), 17);
	assert_int_equal(gd_rx(&n.q, &h, rx_buf, sizeof(rx_buf)), 0);
	assert_int_equal(vq_stats(n.vq)->drops[VQ_DROP_NO_BUFFER], 1);
	fx_close(&n);
}
BOTH(rx_tso_cut_big_ring)

/*
 * A TSO mbuf no longer than one MSS (payload 1000, MSS 1448) to a guest
 * without TSO: nothing to segment, so it arrives as it is with its
 * checksums finished, not dropped.
 */
static void
rx_tso_short(bool packed)
{
	rng_seed(86, "rx_tso_short");
	sw_tso_arrives(packed, V1 | MRG, false, 1000, 1448, 1, 1);
}
BOTH(rx_tso_short)

/*
 * Software TSO of an mbuf chain whose segments have odd lengths (as LRO
 * or rte_pktmbuf_chain make): the GSO segments point into those pieces,
 * and their TCP checksums must verify all the same.
 */
static void
rx_tso_odd_segments(bool packed)
{
	const uint32_t total = 54 + 12000;
	struct rte_mbuf *m, *seg;
	uint32_t len;
	struct fx n;

	rng_seed(87, "rx_tso_odd_segments");
	fx_open(&n, packed, V1 | MRG, RING, false);
	assert_int_equal(mk_l4(frame_buf, false, true, 12000, 5), total);
	/* The headers and 999 bytes, then 999-byte segments. */
	m = mk_mbuf(frame_buf, 54 + 999, 54, false);
	for (len = 54 + 999; len < total; len += 999) {
		seg = mk_mbuf(frame_buf + len, RTE_MIN(999u, total - len), 0,
			      false);
		assert_int_equal(rte_pktmbuf_chain(m, seg), 0);
	}
	assert_int_equal(m->pkt_len, total);
	m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM |
		      RTE_MBUF_F_TX_IPV4;
	m->l2_len = ETH_LEN;
	m->l3_len = 20;
	m->l4_len = 20;
	m->tso_segsz = 1448;
	post_rx(&n.q, 2048, 1, 10);
	assert_int_equal(vq_enqueue_burst(n.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(rx_expect_segments(&n.q, frame_buf, total, 1448), 9);
	fx_close(&n);
}
BOTH(rx_tso_odd_segments)

/*
 * An mbuf whose L4 checksum a NIC already verified
 * (RTE_MBUF_F_RX_L4_CKSUM_GOOD) reaches a GUEST_CSUM guest with
 * VIRTIO_NET_HDR_F_DATA_VALID, a guest without GUEST_CSUM with no flag,
 * and its frame unchanged in both.
 */
static void
rx_data_valid(bool packed)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct rte_mbuf *m[4];
	uint32_t len, i;
	struct fx f;

	/* One packet alone, then four together (the batch path). */
	for (i = 0; i < 4; i++) {
		uint32_t k, n = i < 2 ? 1 : 4;

		fx_open(&f, packed, V1 | (i % 2 == 0 ? GCSUM : 0), RING,
			false);
		len = mk_l4(frame_buf, false, true, 1200, 7);
		put16(frame_buf + csum_field(false, true), 0);
		put16(frame_buf + csum_field(false, true),
		      (uint16_t)~fold(pseudo(frame_buf, false, 6, len - 34) +
				      csum_add(0, frame_buf + 34, len - 34)));
		for (k = 0; k < n; k++) {
			m[k] = mk_mbuf(frame_buf, len, 0, true);
			m[k]->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD |
					 RTE_MBUF_F_RX_IP_CKSUM_GOOD;
		}
		post_rx(&f.q, 2048, 1, n);
		assert_int_equal(vq_enqueue_burst(f.vq, m, n), n);
		rte_pktmbuf_free_bulk(m, n);
		for (k = 0; k < n; k++) {
			rx_expect(&f.q, &h, frame_buf, len);
			assert_true(l4_valid(rx_buf, len));
			assert_int_equal(h.hdr.flags,
					 i % 2 == 0 ? DATA_VALID : 0);
			assert_int_equal(h.hdr.gso_type,
					 VIRTIO_NET_HDR_GSO_NONE);
		}
		fx_close(&f);
	}
}
BOTH(rx_data_valid)

/* ==== 9. statistics ================================================= */

/*
 * Transmit counters: packets and bytes (frames, no header) of what was
 * handed over, copy_packets and zc_packets split as the policy says,
 * drops by reason (BAD_HDR, TOO_BIG for a chain over 64 KiB plus
 * headers), every buffer back.
 */
static void
stats_tx(bool packed)
{
	static const struct zcase c[] = {
		{ 100, { .nsegs = 1 }, false },
		{ 1514, { .nsegs = 1 }, true },
		{ 3000, { .nsegs = 3 }, false },
		{ 2000, { .nsegs = 1 }, true },
		{ 60, { .nsegs = 1, .hdr_apart = true }, false },
	};
	struct virtio_net_hdr_mrg_rxbuf bad = { .hdr = {
		.flags = NEEDS_CSUM, .csum_start = 1, .csum_offset = 16,
	} };
	struct gd_shape one = { .nsegs = 1 }, two = { .nsegs = 2 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	uint32_t i, len;
	int ids[8];
	struct fx f;

	fx_open(&f, packed, V1 | HCSUM, RING, true);
	st = vq_stats(f.vq);
	zc_cases(&f, c, RTE_DIM(c), ZC_HDR, pkts, ids);
	assert_int_equal(st->packets, 5);
	assert_int_equal(st->bytes, 100 + 1514 + 3000 + 2000 + 60);
	assert_int_equal(st->copy_packets, 3);
	assert_int_equal(st->zc_packets, 2);
	rte_pktmbuf_free_bulk(pkts, RTE_DIM(c));
	assert_int_equal(reap(&f), RTE_DIM(c));

	/* Dropped: a bad header (copied), a chain too big. */
	len = mk_l4(frame_buf, false, true, 100, 1);
	tx_hdr(&f.q, &bad, frame_buf, len, &one);
	tx_frame(&f.q, MAX_PKT + 1, 2, &two);
	tx_frame(&f.q, 700, 3, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 1);
	assert_mbuf_frame(pkts[0], 700, 3);
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(st->drops[VQ_DROP_BAD_HDR], 1);
	assert_int_equal(st->drops[VQ_DROP_TOO_BIG], 1);
	assert_int_equal(st->packets, 6);
	assert_int_equal(st->bytes, 100 + 1514 + 3000 + 2000 + 60 + 700);
	assert_int_equal(st->copy_packets, 3);
	assert_int_equal(st->zc_packets, 3);
	assert_int_equal(reap(&f), 3);
	for (i = 0; i < VQ_DROP_MAX; i++)
		if (i != VQ_DROP_BAD_HDR && i != VQ_DROP_TOO_BIG)
			assert_int_equal(st->drops[i], 0);
	fx_close(&f);
}
BOTH(stats_tx)

/*
 * zc_packets counts packets dequeued zero-copy, like copy_packets counts
 * copied ones: a lent buffer that is then dropped (bad header, disabled
 * ring) is no packet, so zc_packets + copy_packets == packets holds.
 */
static void
stats_zc_drops(bool packed)
{
	struct virtio_net_hdr_mrg_rxbuf bad = { .hdr = {
		.flags = NEEDS_CSUM, .csum_start = 1, .csum_offset = 16,
	} };
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	const struct vq_stats *st;
	uint32_t len;
	struct fx f;

	fx_open(&f, packed, V1 | HCSUM, RING, true);
	st = vq_stats(f.vq);
	len = mk_l4(frame_buf, false, true, 1500, 1);
	tx_hdr(&f.q, &bad, frame_buf, len, &one);	/* lent, BAD_HDR */
	tx_frame(&f.q, 1514, 2, &one);			/* lent */
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 1);
	assert_mbuf_frame(pkts[0], 1514, 2);
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(reap(&f), 2);
	f.q.vr.enabled = false;
	tx_frame(&f.q, 1514, 3, &one);			/* lent, DISABLED */
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 0);
	assert_int_equal(reap(&f), 1);
	assert_int_equal(st->drops[VQ_DROP_BAD_HDR], 1);
	assert_int_equal(st->drops[VQ_DROP_DISABLED], 1);
	assert_int_equal(st->packets, 1);
	assert_int_equal(st->copy_packets, 0);
	assert_int_equal(st->zc_packets, 1);
	fx_close(&f);
}
BOTH(stats_zc_drops)

/*
 * VQ_MAX_PKT_LEN (64 KiB plus headers) is the limit for every transmit
 * buffer: one descriptor just over it is dropped as TOO_BIG whether it
 * would be copied or lent (zero-copy on), like a chain is.
 */
static void
stats_tx_too_big_zc(bool packed)
{
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	uint16_t n, i;
	struct fx f;

	fx_open(&f, packed, V1, RING, true);
	tx_frame(&f.q, MAX_PKT, 1, &one);		/* the largest */
	tx_frame(&f.q, MAX_PKT + 1, 2, &one);
	tx_frame(&f.q, MAX_PKT + 110, 3, &one);
	n = vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX);
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	assert_int_equal(reap(&f), 3);
	assert_int_equal(n, 1);
	assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_TOO_BIG], 2);
	fx_close(&f);
}
BOTH(stats_tx_too_big_zc)

/*
 * Receive counters: a buffer too small for a non-mergeable packet is
 * handed back with len 0 (TOO_BIG) and the next packet takes the next
 * buffer; with too few buffers posted the rest are NO_BUFFER and not
 * consumed: the guest's buffers stay posted and the same packets go
 * through once it posts more (mergeable too: a packet needing three
 * buffers waits while only two are there). packets and bytes count only
 * what was delivered.
 */
static void
stats_rx(bool packed)
{
	static const uint32_t lens[] = { 1514, 1514, 60, 60, 70, 80 };
	struct virtio_net_hdr_mrg_rxbuf h;
	struct rte_mbuf *m[RTE_DIM(lens)];
	const struct vq_stats *st;
	uint16_t id, last_avail;
	uint32_t i, len;
	int ids[3];
	struct fx f;

	fx_open(&f, packed, V1, RING, false);
	st = vq_stats(f.vq);
	for (i = 0; i < 3; i++) {
		struct gd_shape s = { .nsegs = 2 };

		ids[i] = gd_rx_post(&f.q, i == 1 ? 1000 : 2048, &s);
		assert_true(ids[i] >= 0);
	}
	for (i = 0; i < RTE_DIM(lens); i++) {
		vqt_frame(frame_buf, lens[i], i);
		m[i] = mk_mbuf(frame_buf, lens[i], 0, true);
	}
	assert_int_equal(vq_enqueue_burst(f.vq, m, RTE_DIM(lens)), 3);
	assert_int_equal(st->drops[VQ_DROP_TOO_BIG], 1);
	assert_int_equal(st->drops[VQ_DROP_NO_BUFFER], 3);
	assert_int_equal(st->packets, 2);
	assert_int_equal(st->bytes, 1514 + 60);
	for (i = 0; i < 3; i++) {
		static const uint32_t want[] = { 12 + 1514, 0, 12 + 60 };

		assert_true(gd_used_peek(&f.q, i, &id, &len));
		assert_int_equal(id, ids[i]);
		assert_int_equal(len, want[i]);
	}
	vqt_frame(want_buf, 1514, 0);
	rx_expect(&f.q, &h, want_buf, 1514);
	/* The len 0 one: gd_rx takes it and calls it malformed. */
	assert_int_equal(gd_rx(&f.q, &h, rx_buf, sizeof(rx_buf)), -1);
	vqt_frame(want_buf, 60, 2);
	rx_expect(&f.q, &h, want_buf, 60);
	/* The last three were not consumed: with buffers they go through. */
	post_rx(&f.q, 2048, 1, 3);
	assert_int_equal(vq_enqueue_burst(f.vq, m + 3, 3), 3);
	for (i = 3; i < RTE_DIM(lens); i++) {
		vqt_frame(want_buf, lens[i], i);
		rx_expect(&f.q, &h, want_buf, lens[i]);
	}
	assert_int_equal(st->packets, 5);
	assert_int_equal(st->bytes, 1514 + 60 + 60 + 70 + 80);
	assert_int_equal(st->drops[VQ_DROP_NO_BUFFER], 3);
	rte_pktmbuf_free_bulk(m, RTE_DIM(lens));
	fx_close(&f);

	/* Mergeable: two of the three buffers a packet needs. */
	fx_open(&f, packed, V1 | MRG, RING, false);
	st = vq_stats(f.vq);
	post_rx(&f.q, 512, 1, 2);
	vqt_frame(frame_buf, 1514, 9);
	m[0] = mk_mbuf(frame_buf, 1514, 0, true);
	last_avail = f.q.vr.last_avail_idx;
	assert_int_equal(vq_enqueue_burst(f.vq, m, 1), 0);
	assert_int_equal(st->drops[VQ_DROP_NO_BUFFER], 1);
	assert_int_equal(st->packets, 0);
	assert_int_equal(used_pending(&f.q), 0);
	assert_int_equal(f.q.vr.last_avail_idx, last_avail);
	post_rx(&f.q, 512, 1, 1);
	assert_int_equal(vq_enqueue_burst(f.vq, m, 1), 1);
	rte_pktmbuf_free(m[0]);
	rx_expect(&f.q, &h, frame_buf, 1514);
	assert_int_equal(h.num_buffers, 3);
	assert_int_equal(st->packets, 1);
	assert_int_equal(st->bytes, 1514);
	fx_close(&f);
}
BOTH(stats_rx)

/*
 * An mbuf pool that runs dry (10 mbufs). A burst it cannot fill stays in
 * the ring (no_mbuf counted, nothing consumed); frames needing a second
 * segment stop the burst at the first that cannot get one, the frames
 * before it handed out; once mbufs come back, the rest arrive in order
 * and bit-exact. A pool with fewer mbufs than the burst still serves as
 * many packets as it has mbufs. With zero-copy, a frame whose
 * external-buffer mbuf cannot be had is copied instead.
 */
static void
stats_no_mbuf(bool packed)
{
	struct gd_shape one = { .nsegs = 1 };
	struct rte_mbuf *pkts[VQ_BURST_MAX], *first[8], *hold[10];
	struct vq_params p = params(true);
	const struct vq_stats *st;
	struct rte_mempool *mp;
	uint32_t i;
	struct fx f;

	mp = fx_open_pool(&f, packed, 10);
	p.mp = mp;
	st = vq_stats(f.vq);

	/* 3000-byte frames take two mbufs each. */
	for (i = 0; i < 8; i++)
		tx_frame(&f.q, 3000, i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, first, 8), 2);
	assert_int_equal(st->drops[VQ_DROP_NO_MBUF], 1);
	assert_int_equal(reap(&f), 2);
	/* Six mbufs left, none for a second segment: nothing taken. */
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 0);
	assert_int_equal(st->drops[VQ_DROP_NO_MBUF], 2);
	assert_int_equal(reap(&f), 0);
	for (i = 0; i < 2; i++)
		assert_mbuf_frame(first[i], 3000, i);
	rte_pktmbuf_free_bulk(first, 2);
	for (i = 2; i < 8; i += 3) {
		uint32_t j;

		assert_int_equal(vq_dequeue_burst(f.vq, pkts, 3), 3);
		for (j = 0; j < 3; j++)
			assert_mbuf_frame(pkts[j], 3000, i + j);
		rte_pktmbuf_free_bulk(pkts, 3);
	}
	assert_int_equal(reap(&f), 6);
	/* Not even the burst's mbufs: nothing taken, counted once. */
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, hold, 10), 0);
	tx_frame(&f.q, 100, 20, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 0);
	assert_int_equal(st->drops[VQ_DROP_NO_MBUF], 3);
	rte_pktmbuf_free_bulk(hold, 10);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 1);
	assert_mbuf_frame(pkts[0], 100, 20);
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(reap(&f), 1);
	/* The pool is short: that burst kept no spares. */
	assert_int_equal(rte_mempool_avail_count(mp), 10);
	/* Three mbufs left for five frames: three now, two later. */
	for (i = 0; i < 5; i++)
		tx_frame(&f.q, 100, 40 + i, &one);
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, hold, 7), 0);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 3);
	rte_pktmbuf_free_bulk(hold, 7);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts + 3, VQ_BURST_MAX - 3),
			 2);
	for (i = 0; i < 5; i++)
		assert_mbuf_frame(pkts[i], 100, 40 + i);
	rte_pktmbuf_free_bulk(pkts, 5);
	assert_int_equal(reap(&f), 5);
	assert_int_equal(st->packets, 14);
	assert_int_equal(st->drops[VQ_DROP_NO_MBUF], 3);
	fx_close(&f);

	/* Zero-copy: two lent (an mbuf each for the external), six copied. */
	fx_gd(&f, packed, V1, RING);
	fx_vq(&f, &p);
	st = vq_stats(f.vq);
	for (i = 0; i < 8; i++)
		tx_frame(&f.q, 1000, 30 + i, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, 8), 8);
	assert_int_equal(st->zc_packets, 2);
	assert_int_equal(st->copy_packets, 6);
	for (i = 0; i < 8; i++)
		assert_mbuf_frame(pkts[i], 1000, 30 + i);
	rte_pktmbuf_free_bulk(pkts, 8);
	assert_int_equal(reap(&f), 8);
	/* One at a time, no mbuf to lend with: copied as if never lent. */
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, hold, 9), 0);
	tx_frame(&f.q, 1000, 50, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, 1), 1);
	assert_int_equal(st->copy_packets, 7);
	assert_mbuf_frame(pkts[0], 1000, 50);
	rte_pktmbuf_free(pkts[0]);
	rte_pktmbuf_free_bulk(hold, 9);
	assert_int_equal(reap(&f), 1);
	fx_close(&f);
	assert_int_equal(rte_mempool_avail_count(mp), 10);
	rte_mempool_free(mp);
}
BOTH(stats_no_mbuf)

/* ==== 10. legacy header ============================================= */

/*
 * Without VERSION_1 and MRG_RXBUF the virtio-net header is 10 bytes both
 * ways: transmit frames (lent, chained with the header alone, indirect,
 * with a checksum request) come out exact; a receive buffer of exactly
 * 10 + frame bytes fits, one byte less is TOO_BIG; the guest finds its
 * 10-byte header (NEEDS_CSUM passed on to a GUEST_CSUM guest) and the
 * frame right behind it.
 */
static void
legacy_hdr(bool packed)
{
	struct gd_shape one = { .nsegs = 1 };
	struct gd_shape apart = { .nsegs = 2, .hdr_apart = true };
	struct gd_shape ind = { .nsegs = 3, .indirect = true };
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr = {
		.flags = NEEDS_CSUM, .csum_start = 34,
		.csum_offset = TCP_CSUM_OFF,
	} };
	struct rte_mbuf *pkts[VQ_BURST_MAX], *m;
	uint32_t len, i;
	uint16_t id;
	uint32_t ulen;
	uint8_t *raw;
	int bid;
	struct fx f;

	fx_open(&f, packed, GCSUM | HCSUM | IND, RING, true);
	assert_int_equal(f.q.hdr_len, 10);
	len = mk_l4(frame_buf, false, true, 1000, 1);
	tx_hdr(&f.q, &h, frame_buf, len, &one);
	tx_frame(&f.q, 60, 2, &apart);
	tx_frame(&f.q, 3000, 3, &ind);
	tx_frame(&f.q, 9000, 4, &one);
	assert_int_equal(vq_dequeue_burst(f.vq, pkts, VQ_BURST_MAX), 4);
	mk_l4(want_buf, false, true, 1000, 1);
	assert_mbuf_bytes(pkts[0], want_buf, len);
	assert_lent(pkts[0], true, ZC_HDR);
	assert_int_equal(pkts[0]->ol_flags & RTE_MBUF_F_TX_L4_MASK,
			 RTE_MBUF_F_TX_TCP_CKSUM);
	assert_int_equal(pkts[0]->l3_len, 20);
	assert_mbuf_frame(pkts[1], 60, 2);
	assert_mbuf_frame(pkts[2], 3000, 3);
	assert_mbuf_frame(pkts[3], 9000, 4);
	assert_lent(pkts[3], true, ZC_HDR);
	for (i = 1; i < 4; i++)
		assert_int_equal(pkts[i]->ol_flags & RTE_MBUF_F_TX_L4_MASK, 0);
	rte_pktmbuf_free_bulk(pkts, 4);
	assert_int_equal(reap(&f), 4);
	assert_int_equal(vq_stats(f.vq)->bytes, len + 60 + 3000 + 9000);
	fx_close(&f);

	fx_open(&f, packed, GCSUM, RING, false);
	len = mk_l4(frame_buf, false, true, 1460, 5);
	bid = gd_rx_post(&f.q, 10 + len, &one);
	assert_true(bid >= 0);
	assert_true(gd_rx_post(&f.q, 10 + len - 1, &one) >= 0);
	assert_true(gd_rx_post(&f.q, 10 + len, &apart) >= 0);
	m = csum_mbuf(frame_buf, len, false, true);
	/* Take the raw buffer's address before gd_rx frees the id. */
	raw = gd_ptr(&f.mem, f.q.bufs[bid].gpa[0]);
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	assert_true(gd_used_peek(&f.q, 0, &id, &ulen));
	assert_int_equal(ulen, 10 + len);
	assert_int_equal(raw[0], NEEDS_CSUM);
	assert_bytes(raw + 10, frame_buf, len, "frame after 10 bytes");
	rx_expect(&f.q, &h, frame_buf, len);
	assert_int_equal(h.hdr.flags, NEEDS_CSUM);
	assert_int_equal(h.hdr.csum_start, 34);
	assert_int_equal(h.hdr.csum_offset, TCP_CSUM_OFF);
	assert_int_equal(h.num_buffers, 0);	/* not in a 10-byte header */
	/* One byte short: TOO_BIG, back with len 0. */
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	assert_true(gd_used_peek(&f.q, 0, &id, &ulen));
	assert_int_equal(ulen, 0);
	assert_int_equal(gd_tx_reclaim(&f.q), 1);
	assert_int_equal(vq_stats(f.vq)->drops[VQ_DROP_TOO_BIG], 1);
	/* The header in a descriptor of its own, 10 bytes. */
	assert_int_equal(vq_enqueue_burst(f.vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	rx_expect(&f.q, &h, frame_buf, len);
	assert_int_equal(h.hdr.flags, NEEDS_CSUM);
	assert_int_equal(vq_stats(f.vq)->packets, 2);
	fx_close(&f);
}
BOTH(legacy_hdr)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TESTS(random_shapes_tx),
		TESTS(random_shapes_rx),
		TESTS(guest_to_guest),
		TESTS(zc_policy),
		TESTS(other_lcore),
		TESTS(in_order),
		TESTS(in_order_runs),
		cmocka_unit_test(spare_mbufs_packed),
		cmocka_unit_test(spare_mbufs_pool_short),
		cmocka_unit_test(spare_mbufs_short_burst),
		cmocka_unit_test(wait_bursts_packed),
		cmocka_unit_test(wait_bursts_split),
		cmocka_unit_test(wait_bursts_off),
		cmocka_unit_test(notify_split_flags),
		cmocka_unit_test(notify_split_event_idx),
		cmocka_unit_test(notify_packed_flags),
		cmocka_unit_test(notify_packed_desc),
		cmocka_unit_test(kick_suppression),
		TESTS(disabled_ring),
		TESTS(tx_offloads),
		TESTS(tx_offloads_negotiated),
		TESTS(tx_hdr_ignored),
		TESTS(rx_csum),
		TESTS(rx_ip_csum),
		TESTS(rx_tso),
		TESTS(rx_tso_shared_mbuf),
		TESTS(rx_tso6_sw),
		TESTS(rx_tso_small_mss),
		TESTS(rx_tso_cut),
		TESTS(rx_tso_cut_big_ring),
		TESTS(rx_tso_short),
		TESTS(rx_tso_odd_segments),
		TESTS(rx_data_valid),
		TESTS(stats_tx),
		TESTS(stats_zc_drops),
		TESTS(stats_tx_too_big_zc),
		TESTS(stats_rx),
		TESTS(stats_no_mbuf),
		TESTS(legacy_hdr),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	if (vqt_init() == NULL)
		return 1;
	/* VQF_FILTER=pattern runs only the tests it matches. */
	if (getenv("VQF_FILTER") != NULL)
		cmocka_set_test_filter(getenv("VQF_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
