/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared set-up for lib/virtio's tests: EAL, a mempool, frames. */
#ifndef VQT_H
#define VQT_H

#include <stdint.h>

#include <rte_mempool.h>

#include "gd.h"
#include "vq.h"

/* EAL without hugepages or devices, once per process; the pool. */
struct rte_mempool *vqt_init(void);
/* A frame of len bytes: Ethernet/IPv4/UDP headers, payload from seed. */
void vqt_frame(uint8_t *buf, uint32_t len, uint32_t seed);
/* A queue over q with default parameters (zero-copy as asked). */
struct vq *vqt_vq(struct gd_q *q, bool zero_copy);

/* A guest (64 MiB of memory, one 256-entry ring) and its queue. */
struct vqt_fx {
	struct gd_mem mem;
	struct gd_q q;
	struct vq *vq;
};

/* The guest side only, so the ring can be set up before vqt_vq(). */
int vqt_fx_guest(struct vqt_fx *f, bool packed, uint64_t features);
/* Guest and queue; 0, or -1 when either cannot be made. */
int vqt_fx_open(struct vqt_fx *f, bool packed, uint64_t features,
		bool zero_copy);
void vqt_fx_close(struct vqt_fx *f);
/* Used buffers the guest sees, without taking them. */
unsigned int vqt_used_seen(const struct vqt_fx *f);

#endif /* VQT_H */
