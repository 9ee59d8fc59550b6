/* SPDX-License-Identifier: BSD-3-Clause */
/* The software guest driver; see gd.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gd.h"

#define GD_AREA		(72 * 1024)	/* per buffer id: frame + header */
#define GD_TABLE	(64 * 16)	/* per buffer id: indirect table */
#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)

static int
mem_init(struct gd_mem *m, uint64_t size, unsigned int memfd_flags)
{
	struct vhu_mem_region *r = &m->table.regions[0];

	memset(m, 0, sizeof(*m));
	m->fd = memfd_create("gd-guest", MFD_CLOEXEC | memfd_flags);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)size) < 0)
		return -errno;
	m->gva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	m->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->gva == MAP_FAILED || m->hva == MAP_FAILED)
		return -errno;
	m->size = size;
	m->brk = 4096;		/* guest physical 0 stays unused */
	m->table.nregions = 1;
	r->gpa = 0;
	r->size = size;
	r->uva = (uint64_t)(uintptr_t)m->gva;
	r->hva = m->hva;
	r->map_base = m->hva;
	r->map_len = size;
	r->fd = -1;
	return 0;
}

int
gd_mem_init(struct gd_mem *m, uint64_t size)
{
	return mem_init(m, size, 0);
}

int
gd_mem_init_huge(struct gd_mem *m, uint64_t size)
{
	const uint64_t page = 2u << 20;

	return mem_init(m, (size + page - 1) & ~(page - 1), MFD_HUGETLB);
}

void
gd_mem_fini(struct gd_mem *m)
{
	munmap(m->gva, m->size);
	munmap(m->hva, m->size);
	close(m->fd);
}

uint64_t
gd_alloc(struct gd_mem *m, uint64_t len, uint64_t align)
{
	uint64_t at = (m->brk + align - 1) & ~(align - 1);

	if (at + len > m->size)
		return 0;
	m->brk = at + len;
	return at;
}

static void *
dev_ptr(const struct gd_q *q, uint64_t gpa)
{
	return q->mem->hva + gpa;
}

/* Whether the device must use buffers in the order they were added. */
static inline bool
in_order(const struct gd_q *q)
{
	return (q->features & VHU_BIT(VHU_F_IN_ORDER)) != 0;
}

int
gd_q_init(struct gd_q *q, struct gd_mem *mem, uint16_t size, bool packed,
	  uint64_t features)
{
	uint16_t i;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->size = size;
	q->packed = packed;
	q->features = features;
	q->hdr_len = (features & (VHU_BIT(VHU_F_VERSION_1) |
				  VHU_BIT(VHU_NET_F_MRG_RXBUF))) ? 12 : 10;
	q->bufs = calloc(size, sizeof(*q->bufs));
	q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->bufs == NULL || q->call_fd < 0)
		return -ENOMEM;
	q->desc_gpa = gd_alloc(mem, 16ULL * size, 16);
	if (packed) {
		q->avail_gpa = gd_alloc(mem, 4, 4);
		q->used_gpa = gd_alloc(mem, 4, 4);
		q->pdesc = gd_ptr(mem, q->desc_gpa);
		q->drv_ev = gd_ptr(mem, q->avail_gpa);
		q->dev_ev = gd_ptr(mem, q->used_gpa);
		q->avail_wrap = q->used_wrap = true;
		q->id_free = calloc(size, sizeof(uint16_t));
		q->order = calloc(size, sizeof(uint16_t));
		if (q->id_free == NULL || q->order == NULL)
			return -ENOMEM;
		for (i = 0; i < size; i++)
			q->id_free[q->nid_free++] = size - 1 - i;
	} else {
		q->avail_gpa = gd_alloc(mem, 6 + 2ULL * size, 2);
		q->used_gpa = gd_alloc(mem, 6 + 8ULL * size, 4);
		q->desc = gd_ptr(mem, q->desc_gpa);
		q->avail = gd_ptr(mem, q->avail_gpa);
		q->used = gd_ptr(mem, q->used_gpa);
		for (i = 0; i < size; i++)
			q->desc[i].next = i + 1;
	}
	q->nfree = size;
	if (q->desc_gpa == 0 || q->avail_gpa == 0 || q->used_gpa == 0)
		return -ENOMEM;
	q->dp.features = features;
	q->dp.mem = &mem->table;
	q->dp.log_all = (features & VHU_BIT(VHU_F_LOG_ALL)) != 0;
	q->vr.dp = &q->dp;
	q->vr.desc = dev_ptr(q, q->desc_gpa);
	q->vr.avail = dev_ptr(q, q->avail_gpa);
	q->vr.used = dev_ptr(q, q->used_gpa);
	q->vr.size = size;
	q->vr.packed = packed;
	q->vr.avail_wrap = q->vr.used_wrap = true;
	q->vr.kick_fd = -1;
	q->vr.err_fd = -1;
	q->vr.call_fd = q->call_fd;
	q->vr.started = true;
	q->vr.enabled = true;
	return 0;
}

void
gd_q_fini(struct gd_q *q)
{
	close(q->call_fd);
	free(q->bufs);
	free(q->id_free);
	free(q->order);
}

unsigned int
gd_free_desc(const struct gd_q *q)
{
	return q->nfree;
}

/* The data area and indirect table of buffer id, made on first use. */
static uint64_t
area(struct gd_q *q, uint16_t id, uint64_t *table)
{
	struct gd_buf *b = &q->bufs[id];

	if (b->gpa[0] == 0) {
		b->gpa[0] = gd_alloc(q->mem, GD_AREA, 64);
		b->table = gd_alloc(q->mem, GD_TABLE, 16);
	}
	*table = b->table;
	return b->gpa[0];
}

/*
 * Lay header + frame out as s says, in the area of buffer id: returns the
 * pieces (guest physical address and length) in gpa[]/len[].
 */
static unsigned int
layout(struct gd_q *q, uint16_t id, const uint8_t *hdr, uint32_t hlen,
       const uint8_t *frame, uint32_t flen, const struct gd_shape *s,
       uint64_t *gpa, uint32_t *len, bool fill)
{
	uint64_t table, base = area(q, id, &table), at = base;
	unsigned int n = 0, k, nsegs = s->nsegs ? s->nsegs : 1;
	uint32_t done = 0;

	if (s->hdr_apart && hlen > 0) {
		gpa[n] = at;
		len[n++] = hlen;
		if (fill)
			memcpy(gd_ptr(q->mem, at), hdr, hlen);
		at += hlen + 64;	/* a gap: pieces are not adjacent */
		hlen = 0;
	}
	if (nsegs > flen && flen > 0)
		nsegs = flen;
	for (k = 0; k < nsegs; k++) {
		uint32_t piece = k + 1 == nsegs ? flen - done : flen / nsegs;
		uint32_t h = k == 0 ? hlen : 0;

		gpa[n] = at;
		len[n] = h + piece;
		if (fill) {
			memcpy(gd_ptr(q->mem, at), hdr, h);
			memcpy(gd_ptr(q->mem, at + h), frame + done, piece);
		}
		if (len[n] > 0)
			n++;
		at += h + piece + 64;
		done += piece;
	}
	return n;
}

/* ---- split -------------------------------------------------------- */

static int
split_add(struct gd_q *q, const uint64_t *gpa, const uint32_t *len,
	  unsigned int n, uint16_t flags, bool indirect, uint64_t table)
{
	unsigned int need = indirect ? 1 : n, i;
	uint16_t head = q->free_head, d = head, last = head;

	if (q->nfree < need || n == 0)
		return -1;
	if (indirect) {
		struct vring_desc *t = gd_ptr(q->mem, table);

		for (i = 0; i < n; i++) {
			t[i].addr = gpa[i];
			t[i].len = len[i];
			t[i].flags = flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[i].next = (uint16_t)(i + 1);
		}
		q->free_head = q->desc[head].next;
		q->desc[head].addr = table;
		q->desc[head].len = n * sizeof(*t);
		q->desc[head].flags = VRING_DESC_F_INDIRECT;
	} else {
		for (i = 0; i < n; i++) {
			q->desc[d].addr = gpa[i];
			q->desc[d].len = len[i];
			q->desc[d].flags = flags |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0);
			last = d;
			d = q->desc[d].next;
		}
		q->free_head = d;
		(void)last;
	}
	q->nfree -= need;
	q->bufs[head].busy = true;
	q->bufs[head].ndesc = need;
	q->bufs[head].nsegs = n;
	for (i = 0; i < n && i < 64; i++) {
		q->bufs[head].gpa[i] = gpa[i];
		q->bufs[head].len[i] = len[i];
	}
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* Put the descriptors of a used buffer back on the free list. */
static void
split_free(struct gd_q *q, uint16_t head)
{
	uint16_t d = head, k, n = q->bufs[head].ndesc;

	for (k = 1; k < n; k++)
		d = q->desc[d].next;
	q->desc[d].next = q->free_head;
	q->free_head = head;
	q->nfree += n;
	q->bufs[head].busy = false;
}

/* ---- packed ------------------------------------------------------- */

static int
packed_add(struct gd_q *q, const uint64_t *gpa, const uint32_t *len,
	   unsigned int n, uint16_t flags, bool indirect, uint64_t table)
{
	unsigned int need = indirect ? 1 : n, i;
	uint16_t id, pos = q->next_avail, head_flags = 0;
	bool wrap = q->avail_wrap;
	struct vring_packed_desc *head = &q->pdesc[pos];

	if (q->nfree < need || q->nid_free == 0 || n == 0)
		return -1;
	id = q->id_free[--q->nid_free];
	if (indirect) {
		struct vring_packed_desc *t = gd_ptr(q->mem, table);

		for (i = 0; i < n; i++) {
			t[i].addr = gpa[i];
			t[i].len = len[i];
			t[i].id = 0xdead;
			t[i].flags = flags;
		}
	}
	for (i = 0; i < need; i++) {
		struct vring_packed_desc *d = &q->pdesc[pos];
		uint16_t f = (wrap ? F_AVAIL : F_USED);

		if (indirect) {
			d->addr = table;
			d->len = n * sizeof(*d);
			f |= VRING_DESC_F_INDIRECT;
		} else {
			d->addr = gpa[i];
			d->len = len[i];
			f |= flags | (i + 1 < need ? VRING_DESC_F_NEXT : 0);
		}
		/* The spec puts the id in the last descriptor only. */
		d->id = i + 1 == need ? id : 0xbeef;
		if (i == 0)
			head_flags = f;
		else
			__atomic_store_n(&d->flags, f, __ATOMIC_RELEASE);
		if (++pos == q->size) {
			pos = 0;
			wrap = !wrap;
		}
	}
	__atomic_store_n(&head->flags, head_flags, __ATOMIC_RELEASE);
	q->next_avail = pos;
	q->avail_wrap = wrap;
	q->nfree -= need;
	q->bufs[id].busy = true;
	q->bufs[id].ndesc = need;
	q->bufs[id].nsegs = n;
	if (in_order(q))
		q->order[(q->ord_head + q->nord++) % q->size] = id;
	for (i = 0; i < n && i < 64; i++) {
		q->bufs[id].gpa[i] = gpa[i];
		q->bufs[id].len[i] = len[i];
	}
	return id;
}

/* Give a used packed buffer back to the driver's free lists. */
static void
packed_free(struct gd_q *q, uint16_t id)
{
	q->next_used += q->bufs[id].ndesc;
	if (q->next_used >= q->size) {
		q->next_used -= q->size;
		q->used_wrap = !q->used_wrap;
	}
	q->nfree += q->bufs[id].ndesc;
	q->bufs[id].busy = false;
	q->id_free[q->nid_free++] = id;
}

/*
 * The next used descriptor: its id and written length, and in *nbufs the
 * buffers it stands for (more than one only for an IN_ORDER batch, whose
 * others were freed first). -1 when none is used, -2 when it names no
 * buffer that is out.
 */
static int
packed_used(struct gd_q *q, uint16_t *id, uint32_t *len, unsigned int *nbufs)
{
	struct vring_packed_desc *d = &q->pdesc[q->next_used];
	uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);

	*nbufs = 0;
	if (!!(f & F_AVAIL) != q->used_wrap || !!(f & F_USED) != q->used_wrap)
		return -1;
	*id = d->id;
	*len = d->len;
	if (*id >= q->size || !q->bufs[*id].busy)
		return -2;
	if (in_order(q)) {
		uint16_t b;

		do {	/* the named buffer is out, so the loop ends at it */
			b = q->order[q->ord_head];
			q->ord_head = (q->ord_head + 1) % q->size;
			q->nord--;
			packed_free(q, b);
			++*nbufs;
		} while (b != *id);
		return 0;
	}
	packed_free(q, *id);
	*nbufs = 1;
	return 0;
}

/* ---- both --------------------------------------------------------- */

/* The buffer id the next add will use, to lay its data out there. */
static uint16_t
next_id(const struct gd_q *q)
{
	if (q->packed)
		return q->nid_free ? q->id_free[q->nid_free - 1] : 0;
	return q->free_head < q->size ? q->free_head : 0;
}

static int
add(struct gd_q *q, const uint64_t *gpa, const uint32_t *len, unsigned int n,
    uint16_t flags, const struct gd_shape *s)
{
	uint64_t table;

	area(q, next_id(q), &table);
	return q->packed ? packed_add(q, gpa, len, n, flags, s->indirect, table)
			 : split_add(q, gpa, len, n, flags, s->indirect, table);
}

int
gd_tx(struct gd_q *q, const struct virtio_net_hdr_mrg_rxbuf *hdr,
      const void *frame, uint32_t len, const struct gd_shape *s)
{
	uint64_t gpa[66];
	uint32_t lens[66];
	unsigned int n;

	if (len + q->hdr_len > GD_AREA - 66 * 64 || s->nsegs > 64 ||
	    gd_free_desc(q) == 0)
		return -1;
	n = layout(q, next_id(q), (const uint8_t *)hdr, q->hdr_len, frame, len,
		   s, gpa, lens, true);
	return add(q, gpa, lens, n, 0, s);
}

int
gd_tx_reclaim(struct gd_q *q)
{
	int n = 0;

	if (q->packed) {
		unsigned int nbufs;
		uint16_t id;
		uint32_t len;

		while (packed_used(q, &id, &len, &nbufs) == 0)
			n += (int)nbufs;
		return n;
	}
	while (q->last_used !=
	       __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE)) {
		struct vring_used_elem *e =
			&q->used->ring[q->last_used & (q->size - 1)];

		if (e->id >= q->size || !q->bufs[e->id].busy)
			return -1;
		split_free(q, (uint16_t)e->id);
		q->last_used++;
		n++;
	}
	return n;
}

bool
gd_used_peek(const struct gd_q *q, unsigned int k, uint16_t *id,
	     uint32_t *len)
{
	unsigned int i = 0, o = 0;
	uint16_t pos, f, b;
	bool wrap;

	if (!q->packed) {
		uint16_t idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
		const struct vring_used_elem *e;

		if ((uint16_t)(idx - q->last_used) <= k)
			return false;
		e = &q->used->ring[(uint16_t)(q->last_used + k) &
				   (q->size - 1)];
		*id = (uint16_t)e->id;
		*len = e->len;
		return true;
	}
	pos = q->next_used;
	wrap = q->used_wrap;
	for (;;) {
		const struct vring_packed_desc *d = &q->pdesc[pos];

		f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
		if (!!(f & F_AVAIL) != wrap || !!(f & F_USED) != wrap ||
		    d->id >= q->size || !q->bufs[d->id].busy)
			return false;
		do {	/* one buffer, or an IN_ORDER batch up to d->id */
			if (in_order(q)) {
				if (o == q->nord)
					return false;
				b = q->order[(q->ord_head + o++) % q->size];
			} else {
				b = d->id;
			}
			if (i++ == k) {
				*id = b;
				*len = b == d->id ? d->len : 0;
				return true;
			}
			pos += q->bufs[b].ndesc;
			if (pos >= q->size) {
				pos -= q->size;
				wrap = !wrap;
			}
		} while (b != d->id);
	}
}

int
gd_rx_post(struct gd_q *q, uint32_t len, const struct gd_shape *s)
{
	uint64_t gpa[66];
	uint32_t lens[66];
	uint32_t hlen = s->hdr_apart ? q->hdr_len : 0;
	unsigned int n;

	if (len > GD_AREA - 66 * 64 || len < hlen || s->nsegs > 64)
		return -1;
	/* A receive buffer: len writable bytes, the first hlen apart. */
	n = layout(q, next_id(q), NULL, hlen, NULL, len - hlen, s, gpa, lens,
		   false);
	return add(q, gpa, lens, n, VRING_DESC_F_WRITE, s);
}

/* Copy the first len bytes a buffer holds into dst. */
static void
buf_read(struct gd_q *q, uint16_t id, uint8_t *dst, uint32_t len)
{
	const struct gd_buf *b = &q->bufs[id];
	unsigned int i;

	for (i = 0; i < b->nsegs && len > 0; i++) {
		uint32_t k = len < b->len[i] ? len : b->len[i];

		memcpy(dst, gd_ptr(q->mem, b->gpa[i]), k);
		dst += k;
		len -= k;
	}
}

/* Take the next used receive buffer: id and written length; -1 none. */
static int
rx_take(struct gd_q *q, uint16_t *id, uint32_t *len)
{
	if (q->packed) {
		unsigned int nbufs;
		int rc = packed_used(q, id, len, &nbufs);

		/* packed_used freed the id already; the data is intact */
		if (rc == 0 && nbufs != 1)
			return -2;	/* receive buffers each have a length */
		return rc;
	}
	if (q->last_used == __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE))
		return -1;
	{
		struct vring_used_elem *e =
			&q->used->ring[q->last_used & (q->size - 1)];

		if (e->id >= q->size || !q->bufs[e->id].busy)
			return -2;
		*id = (uint16_t)e->id;
		*len = e->len;
		q->last_used++;
		split_free(q, *id);
	}
	return 0;
}

int
gd_rx(struct gd_q *q, struct virtio_net_hdr_mrg_rxbuf *hdr, uint8_t *out,
      uint32_t max)
{
	uint8_t tmp[GD_AREA];
	uint16_t id, nbuf = 1, k;
	uint32_t len, got = 0;
	int rc = rx_take(q, &id, &len);

	if (rc == -1)
		return 0;
	if (rc < 0 || len < q->hdr_len || len > GD_AREA)
		return -1;
	buf_read(q, id, tmp, len);
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, tmp, q->hdr_len);
	if (q->features & VHU_BIT(VHU_NET_F_MRG_RXBUF))
		nbuf = hdr->num_buffers;
	if (nbuf == 0 || len - q->hdr_len > max)
		return -1;
	memcpy(out, tmp + q->hdr_len, len - q->hdr_len);
	got = len - q->hdr_len;
	for (k = 1; k < nbuf; k++) {
		if (rx_take(q, &id, &len) != 0 || got + len > max)
			return -1;
		buf_read(q, id, out + got, len);
		got += len;
	}
	return (int)got;
}

uint64_t
gd_calls(struct gd_q *q)
{
	uint64_t v = 0;

	if (read(q->call_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}
