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

#endif /* VQT_H */
