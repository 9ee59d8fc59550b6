/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio and the dirty log (VHOST_F_LOG_ALL): every write the device
 * makes to guest memory is marked, page = gpa / 4096, log[page / 8] |=
 * 1 << page % 8, and nothing else is.
 *
 * The expected bitmap is computed here from where the test put the
 * receive buffers, how many bytes each took, and which used entries or
 * used descriptors the guest reads back, never from the library. The
 * split used ring and the packed descriptor ring are placed across a
 * page boundary so that marking too much (or too little) of them shows.
 *
 * A migration is simulated as well: the log is read-only, each mark
 * traps, and the page is copied the moment it is marked (the bit
 * cleared, as a migration pass does). After every burst the copy must
 * equal guest memory: a write made after its page was marked, or never
 * marked, would be lost by a real migration.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "vqt.h"

#define RING		64
#define PAGE		4096ULL
#define MEM_SIZE	(8ULL << 20)
#define NPAGES		(MEM_SIZE / PAGE)
#define LOG_BYTES	(NPAGES / 8)
#define LOG_MAP		PAGE
#define HDR		12
#define DATA_BRK	(1024 * PAGE)	/* gd's own buffers from here */

#define FEAT_BASE	(VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_F_LOG_ALL) | \
			 VHU_BIT(VHU_F_RING_INDIRECT_DESC))
#define FEAT_MRG	(FEAT_BASE | VHU_BIT(VHU_NET_F_MRG_RXBUF))

#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)

struct lx {
	struct gd_mem mem;
	struct gd_q q;
	struct vq *vq;
	bool packed;
	bool log_all;
	bool log_used;
	bool mig;		/* simulate a migration around each call */
	uint8_t *log;		/* LOG_MAP bytes, LOG_BYTES in use */
	uint8_t exp[LOG_BYTES];
	/* the raw receive side */
	uint16_t next_desc;	/* split: next descriptor index */
	uint16_t used_seen;	/* split: used entries read */
	uint16_t used_pos;	/* packed: next used descriptor */
	bool used_wrap;
	uint64_t next_page;	/* for receive buffers */
};

static uint8_t frame_buf[70000];
static uint8_t read_buf[70000];

/* ---- the expected bitmap ------------------------------------------ */

static void
mark(uint8_t *bm, uint64_t gpa, uint64_t len)
{
	uint64_t p;

	if (len == 0)
		return;
	for (p = gpa / PAGE; p <= (gpa + len - 1) / PAGE; p++)
		bm[p / 8] |= (uint8_t)(1u << (p % 8));
}

static bool
marked(const uint8_t *bm, uint64_t page)
{
	return (bm[page / 8] >> (page % 8)) & 1;
}

/* The log holds exactly the expected bits (none without log_all). */
static void
assert_log(struct lx *l, const char *what)
{
	uint64_t p, bad = 0, i;

	if (!l->log_all)
		memset(l->exp, 0, sizeof(l->exp));
	for (p = 0; p < NPAGES; p++) {
		bool got = marked(l->log, p), want = marked(l->exp, p);

		if (got == want)
			continue;
		print_message("# %s: %s: page %" PRIu64 " (gpa 0x%" PRIx64
			      ") %s\n", l->packed ? "packed" : "split",
			      what, p, (uint64_t)(p * PAGE),
			      got ? "marked, not written" :
				    "written, not marked");
		bad++;
	}
	for (i = LOG_BYTES; i < LOG_MAP; i++)
		assert_int_equal(l->log[i], 0);
	assert_int_equal(l->q.dp.log_dropped, 0);
	assert_int_equal(bad, 0);
}

static void
clear_log(struct lx *l)
{
	memset(l->log, 0, LOG_BYTES);
	memset(l->exp, 0, sizeof(l->exp));
}

/* ---- the simulated migration -------------------------------------- */

#if defined(__x86_64__)
#define MIG_SUPPORTED	1
#define EFLAGS_TF	0x100
#else
#define MIG_SUPPORTED	0
#endif

static struct {
	volatile bool on;
	uint8_t *log;
	uint8_t *mem;		/* the device's view */
	uint8_t *shadow;	/* the destination's copy */
	uint8_t seen[LOG_BYTES];
	unsigned long traps;
	struct sigaction old_segv, old_trap;
} mig;

#if MIG_SUPPORTED
/* The device marks a page: let that one store through, then trap. */
static void
mig_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint8_t *a = si->si_addr;

	(void)sig;
	if (!mig.on || a < mig.log || a >= mig.log + LOG_MAP) {
		/* Not ours: fault again under the previous handler. */
		sigaction(SIGSEGV, &mig.old_segv, NULL);
		return;
	}
	mprotect(mig.log, LOG_MAP, PROT_READ | PROT_WRITE);
	uc->uc_mcontext.gregs[REG_EFL] |= EFLAGS_TF;
}

/* The mark is in: copy its page now, as a migration pass may. */
static void
mig_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint64_t i;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)EFLAGS_TF;
	for (i = 0; i < LOG_BYTES; i++) {
		unsigned int b;

		if (mig.log[i] == 0)
			continue;
		for (b = 0; b < 8; b++) {
			uint64_t page = i * 8 + b;

			if (!((mig.log[i] >> b) & 1))
				continue;
			memcpy(mig.shadow + page * PAGE, mig.mem + page * PAGE,
			       PAGE);
			mig.seen[i] |= (uint8_t)(1u << b);
		}
		mig.log[i] = 0;
	}
	mig.traps++;
	mprotect(mig.log, LOG_MAP, PROT_READ);
}
#endif

/* Start a migration pass: the destination has guest memory as it is. */
static void
mig_begin(struct lx *l)
{
#if MIG_SUPPORTED
	struct sigaction sa;

	if (!l->mig)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	mig.log = l->log;
	mig.mem = l->mem.hva;
	memcpy(mig.shadow, l->mem.hva, MEM_SIZE);
	memcpy(mig.seen, l->log, LOG_BYTES);
	memset(l->log, 0, LOG_BYTES);
	sa.sa_sigaction = mig_segv;
	assert_int_equal(sigaction(SIGSEGV, &sa, &mig.old_segv), 0);
	sa.sa_sigaction = mig_trap;
	assert_int_equal(sigaction(SIGTRAP, &sa, &mig.old_trap), 0);
	mig.on = true;
	assert_int_equal(mprotect(l->log, LOG_MAP, PROT_READ), 0);
#else
	(void)l;
#endif
}

/*
 * End the pass: every page the device changed was copied after its last
 * write. The marks seen go back into the log for the exact checks.
 */
static void
mig_end(struct lx *l, const char *what)
{
#if MIG_SUPPORTED
	uint64_t p, i, bad = 0;

	if (!l->mig)
		return;
	mig.on = false;
	assert_int_equal(mprotect(l->log, LOG_MAP, PROT_READ | PROT_WRITE),
			 0);
	sigaction(SIGSEGV, &mig.old_segv, NULL);
	sigaction(SIGTRAP, &mig.old_trap, NULL);
	for (i = 0; i < LOG_BYTES; i++)
		l->log[i] |= mig.seen[i];
	for (p = 0; p < NPAGES; p++) {
		if (memcmp(mig.shadow + p * PAGE, l->mem.hva + p * PAGE,
			   PAGE) == 0)
			continue;
		print_message("# %s: %s: page %" PRIu64 " (gpa 0x%" PRIx64
			      ") %s\n", l->packed ? "packed" : "split", what,
			      p, (uint64_t)(p * PAGE), marked(mig.seen, p) ?
			      "written after it was marked" :
			      "written, never marked");
		bad++;
	}
	assert_int_equal(bad, 0);
#else
	(void)l;
	(void)what;
#endif
}

/* ---- set-up ---------------------------------------------------------- */

/*
 * A queue with a dirty log. The split used ring starts 264 bytes before
 * a page boundary (entry 32 straddles it), the packed descriptor ring
 * 512 bytes before one (descriptors 32.. are on the next page).
 */
static void
lx_init(struct lx *l, bool packed, uint64_t features, bool log_all,
	bool log_used, bool mig_on)
{
	struct gd_q *q = &l->q;
	uint64_t boundary, gpa;
	uint8_t *before = NULL;

	memset(l, 0, sizeof(*l));
	l->packed = packed;
	l->log_all = log_all;
	l->log_used = log_used;
	l->mig = mig_on && MIG_SUPPORTED;
	l->used_wrap = true;
	l->next_page = 100;
	assert_non_null(vqt_init());
	assert_int_equal(gd_mem_init(&l->mem, MEM_SIZE), 0);
	if (!log_all)
		features &= ~VHU_BIT(VHU_F_LOG_ALL);
	assert_int_equal(gd_q_init(q, &l->mem, RING, packed, features), 0);

	boundary = (l->mem.brk + 2 * PAGE) & ~(PAGE - 1);
	if (packed) {
		l->mem.brk = boundary - 512;
		gpa = gd_alloc(&l->mem, 16 * RING, 16);
		assert_int_equal(gpa, boundary - 512);
		q->desc_gpa = gpa;
		q->pdesc = gd_ptr(&l->mem, gpa);
		q->vr.desc = l->mem.hva + gpa;
	} else {
		l->mem.brk = boundary - 264;
		gpa = gd_alloc(&l->mem, 6 + 8 * RING, 4);
		assert_int_equal(gpa, boundary - 264);
		q->used_gpa = gpa;
		q->used = gd_ptr(&l->mem, gpa);
		q->vr.used = l->mem.hva + gpa;
	}
	l->mem.brk = DATA_BRK;

	l->log = mmap(NULL, LOG_MAP, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(l->log != MAP_FAILED);
	q->dp.log_base = l->log;
	q->dp.log_size = LOG_BYTES;
	q->dp.log_all = log_all;
	q->vr.log_used = log_used;
	q->vr.log_guest_addr = q->used_gpa;

	if (l->mig) {
		mig.shadow = malloc(MEM_SIZE);
		assert_non_null(mig.shadow);
	}
	/* Creation may write the ring: compared in log_create. */
	before = malloc(MEM_SIZE);
	assert_non_null(before);
	memcpy(before, l->mem.hva, MEM_SIZE);
	mig_begin(l);
	l->vq = vqt_vq(q, true);
	assert_non_null(l->vq);
	mig_end(l, "vq_create");
	/* Split used-ring writes are logged only with log_used. */
	for (gpa = 0; gpa < MEM_SIZE; gpa += PAGE)
		if ((packed || log_used) &&
		    memcmp(before + gpa, l->mem.hva + gpa, PAGE) != 0)
			mark(l->exp, gpa, 1);
	free(before);
}

static void
lx_fini(struct lx *l)
{
	vq_free(l->vq);
	gd_q_fini(&l->q);
	gd_mem_fini(&l->mem);
	munmap(l->log, LOG_MAP);
	if (l->mig) {
		free(mig.shadow);
		mig.shadow = NULL;
	}
}

/* ---- calls into the library, inside a migration pass if asked ------- */

static uint16_t
enqueue(struct lx *l, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t r;

	mig_begin(l);
	r = vq_enqueue_burst(l->vq, pkts, n);
	mig_end(l, "vq_enqueue_burst");
	return r;
}

static uint16_t
dequeue(struct lx *l, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t r;

	mig_begin(l);
	r = vq_dequeue_burst(l->vq, pkts, n);
	mig_end(l, "vq_dequeue_burst");
	return r;
}

static void
reap(struct lx *l)
{
	mig_begin(l);
	vq_reap(l->vq);
	mig_end(l, "vq_reap");
}

/* ---- the raw receive side -------------------------------------------- */

/* One receive buffer: up to 4 writable pieces, maybe through a table. */
struct rxb {
	unsigned int n;
	uint64_t addr[4];
	uint32_t len[4];
	uint64_t table;		/* indirect table, 0 if none */
	uint16_t id;
	uint16_t ndesc;		/* ring descriptors it takes */
};

/* A fresh page for a receive buffer (well away from the rings). */
static uint64_t
page(struct lx *l)
{
	assert_true(l->next_page * PAGE < DATA_BRK);
	return l->next_page++ * PAGE;
}

static void
rx_post(struct lx *l, struct rxb *b)
{
	struct gd_q *q = &l->q;
	unsigned int i;

	b->ndesc = b->table != 0 ? 1 : (uint16_t)b->n;
	if (b->table != 0) {
		for (i = 0; i < b->n; i++) {
			uint8_t *p = gd_ptr(&l->mem, b->table + 16 * i);

			if (l->packed) {
				struct vring_packed_desc t = {
					.addr = b->addr[i], .len = b->len[i],
					.flags = VRING_DESC_F_WRITE,
				};

				memcpy(p, &t, sizeof(t));
			} else {
				struct vring_desc t = {
					.addr = b->addr[i], .len = b->len[i],
					.flags = VRING_DESC_F_WRITE |
						 (i + 1 < b->n ?
						  VRING_DESC_F_NEXT : 0),
					.next = (uint16_t)(i + 1),
				};

				memcpy(p, &t, sizeof(t));
			}
		}
	}
	if (!l->packed) {
		uint16_t head = l->next_desc;

		for (i = 0; i < b->ndesc; i++) {
			struct vring_desc *d = &q->desc[(head + i) % RING];

			if (b->table != 0) {
				d->addr = b->table;
				d->len = 16 * b->n;
				d->flags = VRING_DESC_F_INDIRECT;
			} else {
				d->addr = b->addr[i];
				d->len = b->len[i];
				d->flags = VRING_DESC_F_WRITE |
					   (i + 1 < b->n ?
					    VRING_DESC_F_NEXT : 0);
			}
			d->next = (head + i + 1) % RING;
		}
		l->next_desc = (head + b->ndesc) % RING;
		b->id = head;
		q->avail->ring[q->avail_idx % RING] = head;
		__atomic_store_n(&q->avail->idx, ++q->avail_idx,
				 __ATOMIC_RELEASE);
		return;
	}
	b->id = q->next_avail;
	for (i = b->ndesc; i-- > 0;) {
		uint16_t pos = (q->next_avail + i) % RING;
		bool wrap = (q->next_avail + i >= RING) ? !q->avail_wrap :
			    q->avail_wrap;
		struct vring_packed_desc *d = &q->pdesc[pos];
		uint16_t f = wrap ? F_AVAIL : F_USED;

		if (b->table != 0) {
			d->addr = b->table;
			d->len = 16 * b->n;
			f |= VRING_DESC_F_INDIRECT;
		} else {
			d->addr = b->addr[i];
			d->len = b->len[i];
			f |= VRING_DESC_F_WRITE |
			     (i + 1 < b->n ? VRING_DESC_F_NEXT : 0);
		}
		d->id = b->id;
		__atomic_store_n(&d->flags, f, __ATOMIC_RELEASE);
	}
	q->next_avail += b->ndesc;
	if (q->next_avail >= RING) {
		q->next_avail -= RING;
		q->avail_wrap = !q->avail_wrap;
	}
}

/* The data pages of w bytes written into b, in its pieces' order. */
static void
expect_data(struct lx *l, const struct rxb *b, uint32_t w)
{
	unsigned int i;

	for (i = 0; i < b->n && w > 0; i++) {
		uint32_t k = w < b->len[i] ? w : b->len[i];

		mark(l->exp, b->addr[i], k);
		w -= k;
	}
}

/* Copy the first w bytes of b out of guest memory. */
static void
read_back(struct lx *l, const struct rxb *b, uint8_t *dst, uint32_t w)
{
	unsigned int i;

	for (i = 0; i < b->n && w > 0; i++) {
		uint32_t k = w < b->len[i] ? w : b->len[i];

		memcpy(dst, gd_ptr(&l->mem, b->addr[i]), k);
		dst += k;
		w -= k;
	}
}

/*
 * The guest reads the next used entry: it must be buffer b with len
 * bytes; its page (used ring entry or used descriptor) is expected.
 */
static void
take_used(struct lx *l, const struct rxb *b, uint32_t len)
{
	struct gd_q *q = &l->q;

	if (!l->packed) {
		struct vring_used_elem *e = &q->used->ring[l->used_seen %
							   RING];

		assert_int_equal(e->id, b->id);
		assert_int_equal(e->len, len);
		if (l->log_used)
			mark(l->exp, q->used_gpa +
			     offsetof(struct vring_used, ring) +
			     8 * (l->used_seen % RING), 8);
		l->used_seen++;
	} else {
		struct vring_packed_desc *d = &q->pdesc[l->used_pos];
		uint16_t f = d->flags;

		assert_int_equal(!!(f & F_AVAIL), l->used_wrap);
		assert_int_equal(!!(f & F_USED), l->used_wrap);
		assert_int_equal(d->id, b->id);
		assert_int_equal(d->len, len);
		mark(l->exp, q->desc_gpa + 16 * l->used_pos, 16);
		l->used_pos += b->ndesc;
		if (l->used_pos >= RING) {
			l->used_pos -= RING;
			l->used_wrap = !l->used_wrap;
		}
	}
}

/* Split: the used index the guest reads, and its page. */
static void
take_used_idx(struct lx *l)
{
	struct gd_q *q = &l->q;

	if (l->packed)
		return;
	assert_int_equal(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE),
			 l->used_seen);
	if (l->log_used)
		mark(l->exp, q->used_gpa + offsetof(struct vring_used, idx),
		     2);
}

static struct rte_mbuf *
mbuf_of(const uint8_t *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(vqt_init());

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)len));
	memcpy(rte_pktmbuf_mtod(m, void *), frame, len);
	return m;
}

/*
 * Deliver n frames (lens[i] bytes, seed i) into the single buffers b[i]
 * and check them bit-exact; the data pages and used entries written are
 * expected.
 */
static void
rx_frames(struct lx *l, struct rxb *b, const uint32_t *lens, unsigned int n,
	  uint32_t seed)
{
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	unsigned int i;

	assert_true(n <= VQ_BURST_MAX);
	for (i = 0; i < n; i++) {
		vqt_frame(frame_buf, lens[i], seed + i);
		pkts[i] = mbuf_of(frame_buf, lens[i]);
	}
	assert_int_equal(enqueue(l, pkts, (uint16_t)n), n);
	rte_pktmbuf_free_bulk(pkts, n);
	for (i = 0; i < n; i++) {
		struct virtio_net_hdr_mrg_rxbuf hdr;

		take_used(l, &b[i], HDR + lens[i]);
		expect_data(l, &b[i], HDR + lens[i]);
		read_back(l, &b[i], read_buf, HDR + lens[i]);
		memcpy(&hdr, read_buf, HDR);
		assert_int_equal(hdr.num_buffers, 1);
		vqt_frame(frame_buf, lens[i], seed + i);
		assert_memory_equal(read_buf + HDR, frame_buf, lens[i]);
	}
	take_used_idx(l);
}

/* ---- scenarios --------------------------------------------------------- */

/*
 * Receive buffers at known pages: one page, across a page boundary, a
 * large buffer with a small frame (only its first page), a header apart
 * from its frame, an indirect table (read, never marked), and a buffer
 * left unused.
 */
static void
sc_rx_pages(struct lx *l)
{
	static const uint32_t lens[] = { 1000, 1514, 60, 700, 1514 };
	struct rxb b[6];
	uint64_t p;

	memset(b, 0, sizeof(b));
	b[0].n = 1;				/* page 100 */
	b[0].addr[0] = page(l);
	b[0].len[0] = 2048;
	p = page(l);				/* across 101 / 102 */
	page(l);
	b[1].n = 1;
	b[1].addr[0] = p + PAGE - 700;
	b[1].len[0] = 2048;
	b[2].n = 1;				/* 3 pages, uses 1 */
	b[2].addr[0] = page(l);
	page(l);
	page(l);
	b[2].len[0] = 3 * PAGE;
	b[3].n = 2;				/* header apart */
	b[3].addr[0] = page(l) + 100;
	b[3].len[0] = HDR;
	page(l);
	b[3].addr[1] = page(l) + 8;
	b[3].len[1] = 2048;
	b[4].n = 3;				/* indirect */
	b[4].table = page(l);
	b[4].addr[0] = page(l) + PAGE - 200;	/* into the next page */
	b[4].len[0] = 400;
	page(l);
	b[4].addr[1] = page(l) + 64;
	b[4].len[1] = 800;
	b[4].addr[2] = page(l);
	b[4].len[2] = 2048;
	b[5].n = 1;				/* left unused */
	b[5].addr[0] = page(l);
	b[5].len[0] = 2048;
	for (unsigned int i = 0; i < RTE_DIM(b); i++)
		rx_post(l, &b[i]);
	clear_log(l);
	rx_frames(l, b, lens, RTE_DIM(lens), 10);
	assert_log(l, "receive buffers");
}

/*
 * Many small packets, each in its own page, in rounds: the first fills
 * used entries on the first page of the used ring (or descriptors on the
 * first page of the packed ring) only; later ones cross the page
 * boundary and wrap around the ring.
 */
static void
sc_rx_used_ring(struct lx *l)
{
	static const unsigned int rounds[] = { 4, 40, 30, 64 };
	uint32_t lens[VQ_BURST_MAX];
	struct rxb b[VQ_BURST_MAX];
	unsigned int r, i;

	for (r = 0; r < RTE_DIM(rounds); r++) {
		l->next_page = 200;
		memset(b, 0, sizeof(b));
		for (i = 0; i < rounds[r]; i++) {
			b[i].n = 1;
			b[i].addr[0] = page(l) + 16 * i;
			b[i].len[0] = 256;
			lens[i] = 60 + i;
			rx_post(l, &b[i]);
		}
		clear_log(l);
		rx_frames(l, b, lens, rounds[r], 100 * r);
		assert_log(l, "used ring rounds");
	}
}

/*
 * Mergeable buffers: 12 + 1514 bytes into 600-byte buffers take three,
 * the second across a page boundary; the fourth stays unused. Every
 * buffer used is marked, the header (num_buffers 3) is in the first.
 */
static void
sc_rx_mergeable(struct lx *l)
{
	struct rte_mbuf *m;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	struct rxb b[4];
	uint32_t w = HDR + 1514, k, off = 0;
	unsigned int i;
	uint64_t p;

	memset(b, 0, sizeof(b));
	for (i = 0; i < 4; i++) {
		b[i].n = 1;
		b[i].len[0] = 600;
		p = page(l);
		page(l);
		b[i].addr[0] = i == 1 ? p + PAGE - 250 : p + 32;
		rx_post(l, &b[i]);
	}
	clear_log(l);
	vqt_frame(frame_buf, 1514, 55);
	m = mbuf_of(frame_buf, 1514);
	assert_int_equal(enqueue(l, &m, 1), 1);
	rte_pktmbuf_free(m);
	for (i = 0; i < 3; i++) {
		k = w < 600 ? w : 600;
		take_used(l, &b[i], k);
		expect_data(l, &b[i], k);
		read_back(l, &b[i], read_buf + off, k);
		off += k;
		w -= k;
	}
	take_used_idx(l);
	assert_int_equal(w, 0);
	memcpy(&hdr, read_buf, HDR);
	assert_int_equal(hdr.num_buffers, 3);
	assert_memory_equal(read_buf + HDR, frame_buf, 1514);
	assert_log(l, "mergeable buffers");
}

/*
 * Transmit writes no packet data: after frames of several shapes are
 * dequeued (copied and lent) and returned, only the used entries and
 * index (split) or used descriptors (packed) the guest reads are marked.
 */
static void
sc_tx(struct lx *l)
{
	static const struct gd_shape shapes[] = {
		{ .nsegs = 1 },
		{ .nsegs = 1 },
		{ .nsegs = 2, .hdr_apart = true },
		{ .nsegs = 3, .indirect = true },
		{ .nsegs = 4 },
		{ .nsegs = 1 },
	};
	static const uint32_t lens[] = { 1514, 60, 700, 3000, 9000, 2000 };
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct rte_mbuf *pkts[VQ_BURST_MAX];
	struct gd_q *q = &l->q;
	unsigned int r, i;
	uint16_t n;

	for (r = 0; r < 3; r++) {
		clear_log(l);
		for (i = 0; i < RTE_DIM(shapes); i++) {
			vqt_frame(frame_buf, lens[i], r * 10 + i);
			assert_true(gd_tx(q, &hdr, frame_buf, lens[i],
					  &shapes[i]) >= 0);
		}
		n = dequeue(l, pkts, VQ_BURST_MAX);
		assert_int_equal(n, RTE_DIM(shapes));
		for (i = 0; i < n; i++) {
			const void *d;

			vqt_frame(frame_buf, lens[i], r * 10 + i);
			assert_int_equal(pkts[i]->pkt_len, lens[i]);
			d = rte_pktmbuf_read(pkts[i], 0, lens[i], read_buf);
			assert_memory_equal(d, frame_buf, lens[i]);
		}
		rte_pktmbuf_free_bulk(pkts, n);
		reap(l);
		/* What the guest finds used, read as the guest does. */
		if (!l->packed) {
			uint16_t u, end = __atomic_load_n(&q->used->idx,
							  __ATOMIC_ACQUIRE);

			assert_int_equal((uint16_t)(end - q->last_used),
					 RTE_DIM(shapes));
			for (u = q->last_used; u != end; u++)
				if (l->log_used)
					mark(l->exp, q->used_gpa +
					     offsetof(struct vring_used,
						      ring) + 8 * (u % RING),
					     8);
			if (l->log_used)
				mark(l->exp, q->used_gpa +
				     offsetof(struct vring_used, idx), 2);
		} else {
			uint16_t pos = q->next_used;
			bool wrap = q->used_wrap;

			for (i = 0; i < RTE_DIM(shapes); i++) {
				struct vring_packed_desc *d = &q->pdesc[pos];

				assert_int_equal(!!(d->flags & F_AVAIL),
						 wrap);
				assert_int_equal(!!(d->flags & F_USED), wrap);
				assert_true(d->id < RING);
				mark(l->exp, q->desc_gpa + 16 * pos, 16);
				pos += q->bufs[d->id].ndesc;
				if (pos >= RING) {
					pos -= RING;
					wrap = !wrap;
				}
			}
		}
		assert_int_equal(gd_tx_reclaim(q), RTE_DIM(shapes));
		assert_log(l, "transmit");
	}
}

/* ---- tests ------------------------------------------------------------- */

/*
 * Queue creation marks every page it changed (packed: the device event
 * area; split: the used ring's flags) and nothing outside the area it
 * may write.
 */
static void
log_create(bool packed)
{
	uint64_t lo, hi, p;
	struct lx l;

	lx_init(&l, packed, FEAT_BASE, true, true, false);
	lo = l.q.used_gpa;
	hi = l.q.used_gpa + (packed ? 4 : 6 + 8 * RING);
	assert_log(&l, "vq_create");
	for (p = 0; p < NPAGES; p++)
		if (marked(l.log, p))
			assert_true(p >= lo / PAGE && p <= (hi - 1) / PAGE);
	if (packed)	/* it always writes the device event flags */
		assert_true(marked(l.log, l.q.used_gpa / PAGE));
	lx_fini(&l);
}

/* Receive buffers at known pages: exactly their written pages marked. */
static void
log_rx_pages(bool packed)
{
	struct lx l;

	lx_init(&l, packed, FEAT_BASE, true, true, false);
	sc_rx_pages(&l);
	lx_fini(&l);
}

/* Used entries / used descriptors across a page boundary and the wrap. */
static void
log_rx_used_ring(bool packed)
{
	struct lx l;

	lx_init(&l, packed, FEAT_BASE, true, true, false);
	sc_rx_used_ring(&l);
	lx_fini(&l);
}

/* A mergeable packet marks the pages of every buffer it used. */
static void
log_rx_mergeable(bool packed)
{
	struct lx l;

	lx_init(&l, packed, FEAT_MRG, true, true, false);
	sc_rx_mergeable(&l);
	lx_fini(&l);
}

/* Transmit marks only the used ring / used descriptors. */
static void
log_tx(bool packed)
{
	struct lx l;

	lx_init(&l, packed, FEAT_BASE, true, true, false);
	sc_tx(&l);
	lx_fini(&l);
}

typedef void (*sc_fn)(struct lx *l);

#define SC_RX	0x1u
#define SC_TX	0x2u

/* Each scenario on a fresh queue (transmit uses gd's own bookkeeping). */
static void
run_all(bool packed, bool log_all, bool log_used, bool mig_on,
	unsigned int which)
{
	static const sc_fn rx[] = { sc_rx_pages, sc_rx_used_ring };
	struct lx l;
	unsigned int i;

	for (i = 0; i < RTE_DIM(rx) && (which & SC_RX); i++) {
		lx_init(&l, packed, FEAT_BASE, log_all, log_used, mig_on);
		assert_log(&l, "vq_create");
		rx[i](&l);
		lx_fini(&l);
	}
	if (which & SC_RX) {
		lx_init(&l, packed, FEAT_MRG, log_all, log_used, mig_on);
		assert_log(&l, "vq_create");
		sc_rx_mergeable(&l);
		lx_fini(&l);
	}
	if (which & SC_TX) {
		lx_init(&l, packed, FEAT_BASE, log_all, log_used, mig_on);
		assert_log(&l, "vq_create");
		sc_tx(&l);
		lx_fini(&l);
	}
}

/* Without LOG_ALL nothing is marked: creation, receive, transmit. */
static void
log_off(bool packed)
{
	run_all(packed, false, true, false, SC_RX | SC_TX);
}

/*
 * Split without VHOST_VRING_F_LOG: the used ring is not marked (not at
 * creation either), the receive data pages are.
 */
static void
log_used_off_split(void **state)
{
	(void)state;
	run_all(false, true, false, false, SC_RX | SC_TX);
}

/*
 * A simulated migration copies each page the moment it is marked: after
 * every call (creation, enqueue) the copy equals guest memory, so no
 * write came after its mark, and none went unmarked.
 */
static void
log_migration_rx(bool packed)
{
	if (!MIG_SUPPORTED)
		skip();
	mig.traps = 0;
	run_all(packed, true, true, true, SC_RX);
	assert_true(mig.traps > 0);
}

/* The same around creation, dequeue and reap. */
static void
log_migration_tx(bool packed)
{
	if (!MIG_SUPPORTED)
		skip();
	mig.traps = 0;
	run_all(packed, true, true, true, SC_TX);
	assert_true(mig.traps > 0);
}

#define LTEST(fn)					\
	static void					\
	fn##_split(void **state)			\
	{						\
		(void)state;				\
		fn(false);				\
	}						\
	static void					\
	fn##_packed(void **state)			\
	{						\
		(void)state;				\
		fn(true);				\
	}

LTEST(log_create)
LTEST(log_rx_pages)
LTEST(log_rx_used_ring)
LTEST(log_rx_mergeable)
LTEST(log_tx)
LTEST(log_off)
LTEST(log_migration_rx)
LTEST(log_migration_tx)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log_create_split),
		cmocka_unit_test(log_create_packed),
		cmocka_unit_test(log_rx_pages_split),
		cmocka_unit_test(log_rx_pages_packed),
		cmocka_unit_test(log_rx_used_ring_split),
		cmocka_unit_test(log_rx_used_ring_packed),
		cmocka_unit_test(log_rx_mergeable_split),
		cmocka_unit_test(log_rx_mergeable_packed),
		cmocka_unit_test(log_tx_split),
		cmocka_unit_test(log_tx_packed),
		cmocka_unit_test(log_off_split),
		cmocka_unit_test(log_off_packed),
		cmocka_unit_test(log_used_off_split),
		cmocka_unit_test(log_migration_rx_split),
		cmocka_unit_test(log_migration_rx_packed),
		cmocka_unit_test(log_migration_tx_split),
		cmocka_unit_test(log_migration_tx_packed),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
