/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A scripted vhost-user front-end for unit tests: a socketpair whose
 * other end is a lib/vhost-user device in fd mode, memfd-backed guest
 * memory mapped on both sides, and a record of every callback the
 * library made. Single-threaded: fe_send() writes a message and then
 * lets the device handle it before returning.
 */
#ifndef FE_H
#define FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu.h"

#define FE_MAX_WATCH	64
#define FE_MEM_REGIONS	8

/* One region of guest memory as the front-end sees it. */
struct fe_region {
	int fd;			/* memfd; the front-end keeps it */
	uint8_t *va;		/* front-end mapping, its "user address" */
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;	/* mmap offset in the fd */
};

struct fe {
	struct vhu_dev *dev;
	int sock;		/* front-end end */
	int dev_sock;		/* device end, as the library got it */
	struct vhu_dev_params params;

	/* callbacks seen */
	int watch_fd[FE_MAX_WATCH];
	uint32_t watch_ev[FE_MAX_WATCH];
	unsigned int nwatch;
	unsigned int connected;
	unsigned int disconnected;
	unsigned int quiesce;
	unsigned int resume;
	bool in_quiesce;
	enum vhu_ring_state state[VHU_MAX_VRINGS];
	unsigned int state_changes;
	uint64_t features_cb;
	unsigned int features_calls;
	uint8_t rarp_mac[6];
	unsigned int rarp_calls;
	uint16_t mtu_cb;
	int mtu_result;		/* what set_mtu returns */
	unsigned int config_calls;
	uint8_t status_cb;
	unsigned int inflight_ready;

	struct fe_region mem[FE_MEM_REGIONS];
	unsigned int nmem;
};

/* Device parameters tests usually want; pass to fe_new_params to change. */
void fe_default_params(struct vhu_dev_params *p);
struct fe *fe_new(void);
struct fe *fe_new_params(const struct vhu_dev_params *p);
void fe_free(struct fe *fe);
/* The callbacks fe_new wires up, for tests that make their own devices. */
extern const struct vhu_dev_ops fe_ops;

/* Let the device handle whatever is readable on its socket. */
void fe_pump(struct fe *fe);
/* Write one message (no processing). */
int fe_write(struct fe *fe, uint32_t req, uint32_t flags, const void *payload,
	     uint32_t size, const int *fds, unsigned int nfds);
/* Write one message and let the device handle it. */
int fe_send(struct fe *fe, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds);
/* Read one reply if there is one: 1 read, 0 none waiting, -errno. */
int fe_recv(struct fe *fe, struct vhu_msg *msg);
/* Send a request with no payload and return the u64 of its reply. */
uint64_t fe_get_u64(struct fe *fe, uint32_t req);
/* Send a u64 request; with need_reply, return the ack (or -1 if none). */
int64_t fe_set_u64(struct fe *fe, uint32_t req, uint64_t v, bool need_reply);
int64_t fe_set_state(struct fe *fe, uint32_t req, uint32_t idx, uint32_t num,
		     bool need_reply);
/* Whether the device has closed the connection (EOF on our end). */
bool fe_closed(struct fe *fe);
bool fe_no_reply(struct fe *fe);

/* GET/SET_FEATURES and GET/SET_PROTOCOL_FEATURES with these bits. */
void fe_negotiate(struct fe *fe, uint64_t features, uint64_t proto);

/* A memfd of size bytes mapped here; returns the fd. */
int fe_memfd(size_t size, uint8_t **va);
/* Add a region to the front-end's memory (not yet sent). */
struct fe_region *fe_add_region(struct fe *fe, uint64_t gpa, uint64_t size);
/* SET_MEM_TABLE with every region added so far. */
int64_t fe_send_mem_table(struct fe *fe, bool need_reply);
/* Front-end virtual address of a guest physical address. */
uint64_t fe_uva(struct fe *fe, uint64_t gpa);
uint8_t *fe_ptr(struct fe *fe, uint64_t gpa);

/* Layout of a ring placed at gpa: split or packed areas back to back. */
struct fe_ring {
	uint64_t desc, avail, used;	/* guest physical addresses */
	uint16_t size;
};
void fe_ring_layout(struct fe_ring *r, uint64_t gpa, uint16_t size,
		    bool packed);
/* NUM, BASE and ADDR for ring idx (addresses as user addresses). */
void fe_ring_setup(struct fe *fe, uint32_t idx, const struct fe_ring *r,
		   uint32_t base, uint32_t flags, uint64_t log_addr);
/* SET_VRING_KICK/CALL/ERR: fd < 0 sends the invalid-fd flag. */
int64_t fe_vring_fd(struct fe *fe, uint32_t req, uint32_t idx, int fd,
		    bool need_reply);
/* Kick: write the eventfd and give the device its readiness event. */
void fe_kick(struct fe *fe, int kickfd);
bool fe_watched(const struct fe *fe, int fd, uint32_t events);

/* Count of open fds in this process (leak checks). */
int fe_count_fds(void);
/* Whether [p, p + len) is mapped in this process. */
bool fe_is_mapped(const void *p, size_t len);

#endif /* FE_H */
