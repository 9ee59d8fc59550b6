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
#include <sys/types.h>

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
	uint32_t notify_ev;	/* the device's own notify fd, kept apart */
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
/* Default parameters with these callbacks (a copy of fe_ops, changed). */
struct fe *fe_new_ops(const struct vhu_dev_ops *ops);
void fe_free(struct fe *fe);
/* The callbacks fe_new wires up, for tests that make their own devices. */
extern const struct vhu_dev_ops fe_ops;
/*
 * fe_new and fe_negotiate with these bits; asserts the device is still
 * connected and took exactly these features and protocol features.
 */
struct fe *fe_new_negotiated(uint64_t features, uint64_t proto);

/* Let the device handle whatever is readable on its socket. */
void fe_pump(struct fe *fe);
/* Let the control side handle what workers handed it (notify fd). */
void fe_pump_notify(struct fe *fe);
/*
 * One sendmsg of len bytes from buf, with nfds (at most 16) fds riding on
 * them as SCM_RIGHTS; returns the bytes sent or -errno.
 */
ssize_t fe_sendmsg(int sock, const void *buf, size_t len, const int *fds,
		   unsigned int nfds);
/* Write one message (no processing). */
int fe_write(struct fe *fe, uint32_t req, uint32_t flags, const void *payload,
	     uint32_t size, const int *fds, unsigned int nfds);
/* Write one message and let the device handle it. */
int fe_send(struct fe *fe, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds);
/*
 * Read one vhost-user message (header, payload, fds) from sock if there
 * is one: 1 read, 0 none waiting, -ECONNRESET at EOF, -EPROTO if it is
 * cut short or too large, other -errno.
 */
int fe_recv_on(int sock, struct vhu_msg *msg);
/* Read one reply if there is one: fe_recv_on on the front-end's socket. */
int fe_recv(struct fe *fe, struct vhu_msg *msg);
/*
 * The u64 reply to req, asserted to be a version 1 reply of 8 bytes and
 * no fds; -1 when none could be read (the connection closed instead).
 */
int64_t fe_read_ack(struct fe *fe, uint32_t req);
/* Send a request with no payload and return the u64 of its reply. */
uint64_t fe_get_u64(struct fe *fe, uint32_t req);
/* Send a u64 request; with need_reply, return the ack (or -1 if none). */
int64_t fe_set_u64(struct fe *fe, uint32_t req, uint64_t v, bool need_reply);
int64_t fe_set_state(struct fe *fe, uint32_t req, uint32_t idx, uint32_t num,
		     bool need_reply);
/* Whether the peer of sock closed it (EOF once its data is drained). */
bool fe_closed_on(int sock);
/* Whether the device has closed the connection (EOF on our end). */
bool fe_closed(struct fe *fe);
/* Whether nothing is waiting to be read on sock (nothing is consumed). */
bool fe_idle_on(int sock);
/* Whether no reply is waiting on the front-end's socket. */
bool fe_no_reply(struct fe *fe);

/*
 * Assert the connection ended for rule: exactly one violation, of rule,
 * none of any other rule, rule is the last violation, the device closed
 * its end and no longer counts itself connected.
 */
void fe_assert_violation(struct fe *fe, enum vhu_rule rule);

/* GET/SET_FEATURES and GET/SET_PROTOCOL_FEATURES with these bits. */
void fe_negotiate(struct fe *fe, uint64_t features, uint64_t proto);

/* A memfd of size bytes mapped here; returns the fd. */
int fe_memfd(size_t size, uint8_t **va);
/* A memfd of size bytes nobody has mapped or touched; asserts it worked. */
int fe_memfd_sized(uint64_t size);
/*
 * An unlinked regular file of size bytes on a disk filesystem (one that
 * is neither tmpfs nor hugetlbfs): under /tmp, or /var/tmp if /tmp is a
 * memory filesystem. -1 when neither will do.
 */
int fe_disk_file(uint64_t size);
/* The same on tmpfs, under /dev/shm; -1 if that is not tmpfs here. */
int fe_shm_file(uint64_t size);
/* The device's memory table, as its data path sees it. */
const struct vhu_mem *fe_mem(struct fe *fe);
/* Add a region to the front-end's memory (not yet sent). */
struct fe_region *fe_add_region(struct fe *fe, uint64_t gpa, uint64_t size);
/* SET_MEM_TABLE with every region added so far. */
int64_t fe_send_mem_table(struct fe *fe, bool need_reply);
/* One region of a memory table a test builds by hand. */
struct fe_treg {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;		/* the user address the table gives */
	uint64_t off;		/* mmap offset in fd */
	int fd;
};
/* The region description of r, as SET_MEM_TABLE and ADD_MEM_REG carry it. */
void fe_treg_desc(struct vhu_mem_region_desc *d, const struct fe_treg *r);
/*
 * SET_MEM_TABLE as it is: nregions in the table's header, the first ndesc
 * of r described in the payload, and nfds fds; asserts it was written.
 */
void fe_send_tregs_raw(struct fe *fe, uint32_t nregions,
		       const struct fe_treg *r, uint32_t ndesc, const int *fds,
		       unsigned int nfds, uint32_t flags);
/* SET_MEM_TABLE of the n regions r, each with its fd; asserts it went. */
void fe_send_tregs(struct fe *fe, const struct fe_treg *r, uint32_t n,
		   uint32_t flags);
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
/* SET_VRING_ADDR for ring idx with these addresses, as they are. */
int fe_vring_addr(struct fe *fe, uint32_t idx, uint32_t flags, uint64_t desc,
		  uint64_t avail, uint64_t used, uint64_t log);
/* NUM, BASE and ADDR for ring idx (addresses as user addresses). */
void fe_ring_setup(struct fe *fe, uint32_t idx, const struct fe_ring *r,
		   uint32_t base, uint32_t flags, uint64_t log_addr);
/* SET_VRING_KICK/CALL/ERR: fd < 0 sends the invalid-fd flag. */
int64_t fe_vring_fd(struct fe *fe, uint32_t req, uint32_t idx, int fd,
		    bool need_reply);
/* Kick: write the eventfd and give the device its readiness event. */
void fe_kick(struct fe *fe, int kickfd);
bool fe_watched(const struct fe *fe, int fd, uint32_t events);

/* The front-end's end of the back-end channel and the device's copy. */
struct fe_bchan {
	int sock;	/* ours: requests are read and replies written here */
	int dev_fd;	/* the device's copy, the fd it asked to watch */
};
/*
 * SET_BACKEND_REQ_FD with one end of a new socketpair, keeping the other
 * in b; asserts no reply came, the device watches its copy for input and
 * counts the channel open.
 */
void fe_bchan_open(struct fe *fe, struct fe_bchan *b);
/* Close our end of the channel (once; b->sock becomes -1). */
void fe_bchan_close(struct fe_bchan *b);

/* Count of open fds in this process (leak checks). */
int fe_count_fds(void);
/* Whether [p, p + len) is mapped in this process. */
bool fe_is_mapped(const void *p, size_t len);

#endif /* FE_H */
