/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/vhost-user internals: the device structure, the message channel,
 * and the prototypes the library's files share. Not installed.
 */
#ifndef VHU_INTERNAL_H
#define VHU_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhu.h"

/* Handler results. */
enum vhu_result {
	VHU_OK,		/* done; ack 0 if the front-end asked for one */
	VHU_REPLY,	/* the handler filled the reply */
	VHU_FAIL,	/* refused without a violation: ack non-zero */
	VHU_ERROR,	/* protocol violation: the connection ends */
};

/* A message queued for sending after a partial or blocked write. */
struct vhu_txbuf {
	struct vhu_txbuf *next;
	size_t len;
	size_t off;
	int fds[VHU_MAX_FDS];	/* owned; closed once sent */
	unsigned int nfds;
	uint8_t data[];
};

/* Most bytes waiting on one channel before the peer counts as stuck. */
#define VHU_TXQ_LIMIT		(64 * 1024)
/* Most messages handled per readiness event, for fairness. */
#define VHU_RX_BUDGET		64

/* A framed, fd-carrying message stream over a unix socket. */
struct vhu_chan {
	int fd;
	uint32_t watched;	/* events currently requested */
	struct vhu_msg rx;
	size_t rx_got;		/* header + payload bytes so far */
	struct vhu_txbuf *txq;
	size_t txq_bytes;
};

/* A back-end request waiting for the front-end's reply. */
struct vhu_pending {
	struct vhu_pending *next;
	uint32_t request;
	uint64_t deadline_ms;
	vhu_backend_done_fn done;
	void *opaque;
};

enum {
	VHU_INFLIGHT_DETACHED,
	VHU_INFLIGHT_SPLIT,
	VHU_INFLIGHT_PACKED,
};

struct vhu_shared_obj {
	uint8_t uuid[16];
	int fd;
};
#define VHU_MAX_SHARED_OBJECTS	64

/*
 * A region taken out of the table for a newer one over it while queue
 * pairs still held it: their REM_MEM_REG for it are still to come.
 */
struct vhu_mem_gone {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint32_t refs;
};

struct vhu_dev {
	char name[108];
	enum vhu_mode mode;
	char path[108];
	int param_fd;
	const struct vhu_dev_ops *ops;
	void *opaque;
	bool started;

	/* what we offer */
	uint64_t features_offered;
	uint64_t proto_offered;
	uint16_t max_queue_pairs;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	uint32_t backend_timeout_ms;

	/* sockets */
	int listen_fd;
	int notify_fd;			/* workers wake the control thread */
	struct vhu_chan conn;
	uint32_t reconnect_delay_ms;
	uint64_t reconnect_at_ms;	/* 0: no reconnect pending */
	uint64_t connections;

	/* negotiated state (reset on disconnect) */
	uint64_t features;
	uint64_t proto;
	bool features_set;
	bool proto_set;
	bool owner;
	uint8_t status;
	uint16_t mtu;
	uint16_t default_mtu;
	uint8_t default_mac[6];
	bool link_up;
	struct vhu_net_config netcfg;
	struct vhu_dp dp;
	struct vhu_mem *mem;
	struct vhu_mem_gone gone[VHU_MAX_MEM_SLOTS];
	uint32_t ngone;
	struct vhu_iotlb iotlb;
	unsigned int nr_vrings;
	struct vhu_vring *vrings;

	/* dirty log */
	void *log_map;
	size_t log_map_len;
	int log_call_fd;

	/* inflight area */
	void *inflight_map;
	size_t inflight_map_len;
	uint8_t *inflight_area;		/* start of queue 0's region */
	uint64_t inflight_size;		/* bytes from there, as declared */
	int inflight_fd;
	uint16_t inflight_queues;
	uint16_t inflight_queue_size;
	uint8_t inflight_layout;	/* VHU_INFLIGHT_*: how rings use it */

	/* postcopy */
	int uffd;
	bool postcopy_listening;
	bool postcopy_awaiting_ack;

	/* back-end channel */
	struct vhu_chan backend;
	struct vhu_pending *pending;
	struct vhu_shared_obj shared[VHU_MAX_SHARED_OBJECTS];
	unsigned int nshared;

	/* dispatch */
	int reply_fds[VHU_MAX_FDS];	/* lent by a handler for its reply */
	unsigned int reply_nfds;
	bool in_dispatch;
	bool quiesced;
	bool close_pending;

	/* statistics */
	uint64_t violations[VHU_RULE_MAX];
	enum vhu_rule last_violation;
};

/* Logging. */
void vhu_log(enum vhu_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define VHU_ERR(...) vhu_log(VHU_LOG_ERR, __VA_ARGS__)
#define VHU_WARN(...) vhu_log(VHU_LOG_WARNING, __VA_ARGS__)
#define VHU_INFO(...) vhu_log(VHU_LOG_INFO, __VA_ARGS__)
#define VHU_DEBUG(...) vhu_log(VHU_LOG_DEBUG, __VA_ARGS__)

/*
 * Record a protocol violation by the message being handled: logs the
 * message name and the rule, and returns VHU_ERROR for the handler to
 * return. The connection is closed once the handler returns.
 */
enum vhu_result vhu_violation(struct vhu_dev *dev, const struct vhu_msg *msg,
			      enum vhu_rule rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Time. */
uint64_t vhu_now_ms(void);

/* Channel (vhu_chan.c). */
void vhu_chan_init(struct vhu_chan *c, int fd);
void vhu_chan_close(struct vhu_dev *dev, struct vhu_chan *c);
/*
 * Read whatever is available; returns 1 when a whole message is in c->rx,
 * 0 when more bytes are needed, -errno on EOF (-ECONNRESET), socket error
 * or a framing violation (rule set in *rule).
 */
int vhu_chan_recv(struct vhu_chan *c, enum vhu_rule *rule);
void vhu_chan_rx_reset(struct vhu_chan *c);
/* Send hdr+payload (+fds, which are not consumed). 0 or -errno. */
int vhu_chan_send(struct vhu_dev *dev, struct vhu_chan *c,
		  const struct vhu_hdr *hdr, const void *payload,
		  const int *fds, unsigned int nfds);
/* Continue a queued write when the fd became writable. 0 or -errno. */
int vhu_chan_flush(struct vhu_dev *dev, struct vhu_chan *c);
void vhu_chan_watch(struct vhu_dev *dev, struct vhu_chan *c);
void vhu_watch(struct vhu_dev *dev, int fd, uint32_t events);
void vhu_close_fds(struct vhu_msg *msg);
int vhu_set_nonblock(int fd);
/* An eventfd or a pipe: what notification fds may be. */
bool vhu_fd_is_event(int fd);
/* Take fd i out of the message so closing the message leaves it open. */
int vhu_msg_take_fd(struct vhu_msg *msg, unsigned int i);

/* Sockets and connection life cycle (vhu_sock.c). */
void vhu_dev_close_connection(struct vhu_dev *dev);

/* Dispatch (vhu_dispatch.c). */
void vhu_dispatch(struct vhu_dev *dev, struct vhu_msg *msg);
/* Attach fds (still owned by the caller) to the reply being built. */
void vhu_set_reply_fds(struct vhu_dev *dev, const int *fds, unsigned int n);
bool vhu_has_proto(const struct vhu_dev *dev, unsigned int bit);
bool vhu_offers_proto(const struct vhu_dev *dev, unsigned int bit);

/* Handlers, by file. */
enum vhu_result vhu_get_features(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_features(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_protocol_features(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_protocol_features(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_owner(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_reset_owner(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_reset_device(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_queue_num(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_status(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_status(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_set_mem_table(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_max_mem_slots(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_add_mem_reg(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_rem_mem_reg(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_set_vring_num(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_vring_addr(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_vring_base(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_vring_base(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_vring_kick(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_vring_call(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_vring_err(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_vring_enable(struct vhu_dev *, struct vhu_msg *);
/* DRIVER_OK: start the rings that are set up without waiting for a kick. */
enum vhu_result vhu_vring_start_ready(struct vhu_dev *dev,
				      const struct vhu_msg *msg);
enum vhu_result vhu_set_vring_endian(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_vring_kick_msg(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_set_log_base(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_log_fd(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_iotlb_msg(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_get_inflight_fd(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_inflight_fd(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_postcopy_advise(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_postcopy_listen(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_postcopy_end(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_set_backend_req_fd(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_shared_object(struct vhu_dev *, struct vhu_msg *);

enum vhu_result vhu_send_rarp(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_net_set_mtu(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_get_config(struct vhu_dev *, struct vhu_msg *);
enum vhu_result vhu_set_config(struct vhu_dev *, struct vhu_msg *);

/* Memory (vhu_mem.c). */
void vhu_mem_free(struct vhu_mem *mem);
/* Map a region described by d from fd (consumed on success). */
int vhu_mem_map_region(struct vhu_mem_region *r,
		       const struct vhu_mem_region_desc *d, int fd,
		       bool populate);
void vhu_mem_unmap_region(struct vhu_mem_region *r);
const struct vhu_mem_region *vhu_mem_find_uva(const struct vhu_mem *m,
					      uint64_t uva, uint64_t len);
/* Map [offset, offset + size) of fd read-write; checks the file's size. */
void *vhu_map_fd(int fd, uint64_t size, uint64_t offset, void **base,
		 size_t *len, bool populate);

/* Vrings (vhu_vring.c). */
void vhu_vrings_reset(struct vhu_dev *dev);
void vhu_vring_reset(struct vhu_vring *vr);
/* Recompute ring host addresses after the memory table or IOTLB changed. */
enum vhu_result vhu_vrings_retranslate(struct vhu_dev *dev,
				       const struct vhu_msg *msg);
void vhu_vring_kick_readable(struct vhu_dev *dev, struct vhu_vring *vr,
			     uint32_t events);
/* Work the data path handed over: in-band calls, broken rings. */
void vhu_vring_handle_notify(struct vhu_dev *dev);
struct vhu_vring *vhu_vring_by_kick_fd(struct vhu_dev *dev, int fd);
bool vhu_any_ring_started(const struct vhu_dev *dev);
void vhu_vring_set_state(struct vhu_dev *dev, struct vhu_vring *vr,
			 bool started, bool enabled);

/* Log (vhu_log.c). */
void vhu_log_reset(struct vhu_dev *dev);

/* IOTLB (vhu_iotlb.c). */
void vhu_iotlb_reset(struct vhu_iotlb *t);
void *vhu_iotlb_translate(const struct vhu_iotlb *t, uint64_t iova,
			  uint64_t len, uint8_t perm);
void *vhu_iotlb_translate_miss(const struct vhu_iotlb *t, uint64_t iova,
			       uint64_t len, uint8_t perm, uint64_t *miss);
/* Re-resolve host addresses after a memory table change. */
void vhu_iotlb_remap(struct vhu_iotlb *t, const struct vhu_mem *mem);

/* Inflight (vhu_inflight.c). */
void vhu_inflight_reset(struct vhu_dev *dev);
/* Attach rings to the area in the negotiated layout (idempotent). */
void vhu_inflight_attach(struct vhu_dev *dev);

/* Postcopy (vhu_postcopy.c). */
void vhu_postcopy_reset(struct vhu_dev *dev);
int vhu_postcopy_register(struct vhu_dev *dev, struct vhu_mem_region *r);

/* Back-end channel (vhu_backend.c). */
void vhu_backend_reset(struct vhu_dev *dev);
void vhu_backend_handle(struct vhu_dev *dev, uint32_t events);
uint64_t vhu_backend_next_deadline(const struct vhu_dev *dev);
void vhu_backend_expire(struct vhu_dev *dev, uint64_t now);

/* Net config space (vhu_net.c). */
void vhu_net_reset(struct vhu_dev *dev);

#endif /* VHU_INTERNAL_H */
