/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A software guest driver for lib/virtio's tests and benchmarks: the
 * driver side of split and packed virtqueues over memfd memory.
 *
 * Guest memory is one memfd mapped twice: the "guest" mapping the driver
 * writes through, and the "device" mapping lib/virtio reads through its
 * memory table, so every address really is translated. Transmit chains
 * take any shape (one descriptor, several, the header apart, indirect);
 * receive buffers any size, chained or not, mergeable or not.
 */
#ifndef GD_H
#define GD_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhu.h"

struct gd_mem {
	int fd;
	uint8_t *gva;		/* guest view */
	uint8_t *hva;		/* device view */
	uint64_t size;
	uint64_t brk;		/* bump allocator, guest physical */
	struct vhu_mem table;	/* what the device translates with */
};

int gd_mem_init(struct gd_mem *m, uint64_t size);
/* The same on 2 MiB hugepages (size rounded up to them). */
int gd_mem_init_huge(struct gd_mem *m, uint64_t size);
void gd_mem_fini(struct gd_mem *m);
/* Guest physical address of len fresh bytes (0 when full). */
uint64_t gd_alloc(struct gd_mem *m, uint64_t len, uint64_t align);
static inline void *
gd_ptr(const struct gd_mem *m, uint64_t gpa)
{
	return m->gva + gpa;
}

/* How a transmit chain or a receive buffer is laid out. */
struct gd_shape {
	unsigned int nsegs;	/* descriptors for the data (>= 1) */
	bool hdr_apart;		/* the virtio-net header alone first */
	bool indirect;		/* through an indirect table */
};

/* What the driver keeps per buffer id. */
struct gd_buf {
	bool busy;
	uint16_t ndesc;		/* ring descriptors it took */
	uint16_t nsegs;
	uint64_t gpa[64];	/* its data segments */
	uint32_t len[64];
	uint64_t table;		/* indirect table, 0 if none */
};

struct gd_q {
	struct gd_mem *mem;
	uint16_t size;
	bool packed;
	uint64_t features;
	uint8_t hdr_len;
	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t free_head;
	uint16_t nfree;
	/* packed */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_ev;
	struct vring_packed_desc_event *dev_ev;
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
	uint16_t *id_free;
	uint16_t nid_free;
	/* IN_ORDER: ids of the buffers out, in the order they were added */
	uint16_t *order;
	uint16_t ord_head;
	uint16_t nord;
	/* both */
	struct gd_buf *bufs;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* the device side lib/virtio is given */
	struct vhu_vring vr;
	struct vhu_dp dp;
	int call_fd;		/* counts guest interrupts */
};

int gd_q_init(struct gd_q *q, struct gd_mem *mem, uint16_t size, bool packed,
	      uint64_t features);
void gd_q_fini(struct gd_q *q);
/* Descriptors free for the next buffer (ring slots, split or packed). */
unsigned int gd_free_desc(const struct gd_q *q);

/*
 * Transmit: place header + frame as a chain shaped by s; returns the
 * buffer id, or -1 when the ring is full.
 */
int gd_tx(struct gd_q *q, const struct virtio_net_hdr_mrg_rxbuf *hdr,
	  const void *frame, uint32_t len, const struct gd_shape *s);
/*
 * Reclaim used transmit buffers; returns how many. On a packed ring with
 * IN_ORDER one used descriptor may stand for a whole batch: the buffers
 * up to the one it names, in the order they were added.
 */
int gd_tx_reclaim(struct gd_q *q);
/*
 * The k-th used buffer the guest has not taken yet, read straight from
 * the split used ring or the packed descriptors (batches counted out):
 * false when there is none.
 */
bool gd_used_peek(const struct gd_q *q, unsigned int k, uint16_t *id,
		  uint32_t *len);

/* Receive: post one buffer of len bytes shaped by s; id or -1. */
int gd_rx_post(struct gd_q *q, uint32_t len, const struct gd_shape *s);
/*
 * Take one received packet (merging buffers as num_buffers says): the
 * header into *hdr, the frame into out (at most max bytes). Returns its
 * length, 0 when nothing was received, -1 on a malformed completion.
 */
int gd_rx(struct gd_q *q, struct virtio_net_hdr_mrg_rxbuf *hdr, uint8_t *out,
	  uint32_t max);

/* Interrupts the device sent since the last call. */
uint64_t gd_calls(struct gd_q *q);

#endif /* GD_H */
