/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Table-driven dispatch of front-end messages. One row per message id:
 * its handler, payload size rule, fd count rule, reply rule, the protocol
 * feature that gates it, and whether the rings must be quiesced while it
 * is handled. A message that breaks a rule ends the connection with a log
 * line naming the message and the rule.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vhu_internal.h"

enum reply_rule {
	R_ACK,		/* a u64 ack only when the front-end set need_reply */
	R_U64,		/* always a u64: 0 success, non-zero failure */
	R_EXPLICIT,	/* the handler builds the reply */
};

enum gate {
	G_NONE,
	G_OFFERED,	/* the protocol feature must be in what we offered */
	G_NEGOTIATED,	/* ... and the front-end must have acked it */
};

struct row {
	enum vhu_result (*fn)(struct vhu_dev *, struct vhu_msg *);
	uint16_t size_min;
	uint16_t size_max;
	uint8_t fds_min;
	uint8_t fds_max;
	uint8_t reply;
	uint8_t gate;
	int8_t pf;		/* gating protocol feature bit, -1 none */
	bool quiesce;
	enum vhu_rule refuse;	/* refused outright with this rule */
	const char *why;	/* ... and this reason */
};

#define SZ(t) ((uint16_t)sizeof(t))
#define U64 SZ(uint64_t)
#define STATE SZ(struct vhu_vring_state)
#define ROW(name_, fn_, smin_, smax_, fmin_, fmax_, reply_, gate_, pf_, q_) \
	[VHU_REQ_##name_] = { .fn = (fn_), .size_min = (smin_), \
		.size_max = (smax_), .fds_min = (fmin_), .fds_max = (fmax_), \
		.reply = (reply_), .gate = (gate_), .pf = (pf_), \
		.quiesce = (q_) }
#define REFUSED(name_, rule_, why_) \
	[VHU_REQ_##name_] = { .refuse = (rule_), .why = (why_) }
#define NOPF (-1)
#define MEMT_MIN ((uint16_t)offsetof(struct vhu_mem_table, regions))

static const struct row rows[VHU_REQ_MAX] = {
	ROW(GET_FEATURES, vhu_get_features, 0, 0, 0, 0, R_EXPLICIT,
	    G_NONE, NOPF, false),
	ROW(SET_FEATURES, vhu_set_features, U64, U64, 0, 0, R_ACK,
	    G_NONE, NOPF, true),
	ROW(SET_OWNER, vhu_set_owner, 0, 0, 0, 0, R_ACK, G_NONE, NOPF, false),
	ROW(RESET_OWNER, vhu_reset_owner, 0, 0, 0, 0, R_ACK, G_NONE, NOPF,
	    true),
	ROW(SET_MEM_TABLE, vhu_set_mem_table, U64,
	    SZ(struct vhu_mem_table), 0, VHU_MEM_TABLE_REGIONS, R_ACK,
	    G_NONE, NOPF, true),
	ROW(SET_LOG_BASE, vhu_set_log_base, SZ(struct vhu_log_desc),
	    SZ(struct vhu_log_desc), 1, 1, R_U64, G_NEGOTIATED,
	    VHU_PF_LOG_SHMFD, true),
	ROW(SET_LOG_FD, vhu_set_log_fd, 0, 0, 1, 1, R_ACK, G_NONE, NOPF,
	    true),
	ROW(SET_VRING_NUM, vhu_set_vring_num, STATE, STATE, 0, 0, R_ACK,
	    G_NONE, NOPF, false),
	ROW(SET_VRING_ADDR, vhu_set_vring_addr, SZ(struct vhu_vring_addr),
	    SZ(struct vhu_vring_addr), 0, 0, R_ACK, G_NONE, NOPF, true),
	ROW(SET_VRING_BASE, vhu_set_vring_base, STATE, STATE, 0, 0, R_ACK,
	    G_NONE, NOPF, false),
	ROW(GET_VRING_BASE, vhu_get_vring_base, STATE, STATE, 0, 0,
	    R_EXPLICIT, G_NONE, NOPF, true),
	ROW(SET_VRING_KICK, vhu_set_vring_kick, U64, U64, 0, 1, R_ACK,
	    G_NONE, NOPF, true),
	ROW(SET_VRING_CALL, vhu_set_vring_call, U64, U64, 0, 1, R_ACK,
	    G_NONE, NOPF, true),
	ROW(SET_VRING_ERR, vhu_set_vring_err, U64, U64, 0, 1, R_ACK,
	    G_NONE, NOPF, true),
	ROW(GET_PROTOCOL_FEATURES, vhu_get_protocol_features, 0, 0, 0, 0,
	    R_EXPLICIT, G_NONE, NOPF, false),
	ROW(SET_PROTOCOL_FEATURES, vhu_set_protocol_features, U64, U64, 0, 0,
	    R_ACK, G_NONE, NOPF, false),
	ROW(GET_QUEUE_NUM, vhu_get_queue_num, 0, 0, 0, 0, R_EXPLICIT,
	    G_OFFERED, VHU_PF_MQ, false),
	ROW(SET_VRING_ENABLE, vhu_set_vring_enable, STATE, STATE, 0, 0,
	    R_ACK, G_NONE, NOPF, false),
	ROW(SEND_RARP, vhu_send_rarp, U64, U64, 0, 0, R_ACK, G_OFFERED,
	    VHU_PF_RARP, false),
	ROW(NET_SET_MTU, vhu_net_set_mtu, U64, U64, 0, 0, R_ACK, G_OFFERED,
	    VHU_PF_MTU, false),
	ROW(SET_BACKEND_REQ_FD, vhu_set_backend_req_fd, 0, 0, 1, 1, R_ACK,
	    G_OFFERED, VHU_PF_BACKEND_REQ, false),
	ROW(IOTLB_MSG, vhu_iotlb_msg, SZ(struct vhu_iotlb_msg),
	    SZ(struct vhu_iotlb_msg), 0, 0, R_U64, G_NONE, NOPF, true),
	ROW(SET_VRING_ENDIAN, vhu_set_vring_endian, STATE, STATE, 0, 0,
	    R_ACK, G_NEGOTIATED, VHU_PF_CROSS_ENDIAN, false),
	ROW(GET_CONFIG, vhu_get_config, VHU_CONFIG_HDR_SIZE,
	    VHU_CONFIG_HDR_SIZE + VHU_MAX_CONFIG_SIZE, 0, 0, R_EXPLICIT,
	    G_NEGOTIATED, VHU_PF_CONFIG, false),
	ROW(SET_CONFIG, vhu_set_config, VHU_CONFIG_HDR_SIZE,
	    VHU_CONFIG_HDR_SIZE + VHU_MAX_CONFIG_SIZE, 0, 0, R_ACK,
	    G_NEGOTIATED, VHU_PF_CONFIG, false),
	REFUSED(CREATE_CRYPTO_SESSION, VHU_RULE_DEVICE_TYPE,
		"crypto sessions belong to vhost-user-crypto; this is a net "
		"device"),
	REFUSED(CLOSE_CRYPTO_SESSION, VHU_RULE_DEVICE_TYPE,
		"crypto sessions belong to vhost-user-crypto; this is a net "
		"device"),
	ROW(POSTCOPY_ADVISE, vhu_postcopy_advise, 0, 0, 0, 0, R_EXPLICIT,
	    G_NEGOTIATED, VHU_PF_PAGEFAULT, false),
	ROW(POSTCOPY_LISTEN, vhu_postcopy_listen, 0, 0, 0, 0, R_ACK,
	    G_NEGOTIATED, VHU_PF_PAGEFAULT, false),
	ROW(POSTCOPY_END, vhu_postcopy_end, 0, 0, 0, 0, R_U64,
	    G_NEGOTIATED, VHU_PF_PAGEFAULT, true),
	ROW(GET_INFLIGHT_FD, vhu_get_inflight_fd,
	    SZ(struct vhu_inflight_desc), SZ(struct vhu_inflight_desc), 0, 0,
	    R_EXPLICIT, G_NEGOTIATED, VHU_PF_INFLIGHT_SHMFD, false),
	ROW(SET_INFLIGHT_FD, vhu_set_inflight_fd,
	    SZ(struct vhu_inflight_desc), SZ(struct vhu_inflight_desc), 1, 1,
	    R_ACK, G_NEGOTIATED, VHU_PF_INFLIGHT_SHMFD, true),
	REFUSED(GPU_SET_SOCKET, VHU_RULE_DEVICE_TYPE,
		"the GPU protocol socket belongs to vhost-user-gpu; this is a "
		"net device"),
	ROW(RESET_DEVICE, vhu_reset_device, 0, 0, 0, 0, R_ACK, G_OFFERED,
	    VHU_PF_RESET_DEVICE, true),
	ROW(VRING_KICK, vhu_vring_kick_msg, STATE, STATE, 0, 0, R_ACK,
	    G_NEGOTIATED, VHU_PF_INBAND_NOTIFICATIONS, false),
	ROW(GET_MAX_MEM_SLOTS, vhu_get_max_mem_slots, 0, 0, 0, 0, R_EXPLICIT,
	    G_NEGOTIATED, VHU_PF_CONFIGURE_MEM_SLOTS, false),
	/* Also a u64 without fds: the postcopy acknowledgement of a batch. */
	ROW(ADD_MEM_REG, vhu_add_mem_reg, U64, SZ(struct vhu_mem_reg_msg),
	    0, 1, R_ACK, G_NEGOTIATED, VHU_PF_CONFIGURE_MEM_SLOTS, true),
	ROW(REM_MEM_REG, vhu_rem_mem_reg, U64, SZ(struct vhu_mem_reg_msg),
	    0, 1, R_ACK, G_NEGOTIATED, VHU_PF_CONFIGURE_MEM_SLOTS, true),
	ROW(SET_STATUS, vhu_set_status, U64, U64, 0, 0, R_ACK, G_NEGOTIATED,
	    VHU_PF_STATUS, false),
	ROW(GET_STATUS, vhu_get_status, 0, 0, 0, 0, R_EXPLICIT, G_NEGOTIATED,
	    VHU_PF_STATUS, false),
	ROW(GET_SHARED_OBJECT, vhu_get_shared_object,
	    SZ(struct vhu_shared_msg), SZ(struct vhu_shared_msg), 0, 0,
	    R_EXPLICIT, G_NEGOTIATED, VHU_PF_SHARED_OBJECT, false),
	REFUSED(SET_DEVICE_STATE_FD, VHU_RULE_FEATURE,
		"DEVICE_STATE is not offered: a net back-end's state (ring "
		"positions) already moves through GET/SET_VRING_BASE"),
	REFUSED(CHECK_DEVICE_STATE, VHU_RULE_FEATURE,
		"DEVICE_STATE is not offered: a net back-end's state (ring "
		"positions) already moves through GET/SET_VRING_BASE"),
};

#define VHU_X_NAME(name, id) [id] = #name,
static const char *const request_names[VHU_REQ_MAX] = {
	VHU_FRONTEND_REQUESTS(VHU_X_NAME)
};
static const char *const backend_names[VHU_BREQ_MAX] = {
	VHU_BACKEND_REQUESTS(VHU_X_NAME)
};
static const char *const pf_names[VHU_PF_MAX] = {
	VHU_PROTOCOL_FEATURES(VHU_X_NAME)
};
#undef VHU_X_NAME

#define VHU_X_RULE_TEXT(name, text) [VHU_RULE_##name] = text,
static const char *const rule_names[VHU_RULE_MAX] = {
	VHU_RULES(VHU_X_RULE_TEXT)
};
#undef VHU_X_RULE_TEXT

const char *
vhu_request_name(uint32_t request)
{
	if (request < VHU_REQ_MAX && request_names[request] != NULL)
		return request_names[request];
	return "UNKNOWN";
}

const char *
vhu_backend_request_name(uint32_t request)
{
	if (request < VHU_BREQ_MAX && backend_names[request] != NULL)
		return backend_names[request];
	return "UNKNOWN";
}

const char *
vhu_protocol_feature_name(unsigned int bit)
{
	if (bit < VHU_PF_MAX && pf_names[bit] != NULL)
		return pf_names[bit];
	return "UNKNOWN";
}

/* Device feature bits a vhost-user net device may negotiate. */
static const char *const feature_names[64] = {
	[VHU_NET_F_CSUM] = "CSUM",
	[VHU_NET_F_GUEST_CSUM] = "GUEST_CSUM",
	[VHU_NET_F_MTU] = "MTU",
	[VHU_NET_F_MAC] = "MAC",
	[VHU_NET_F_GUEST_TSO4] = "GUEST_TSO4",
	[VHU_NET_F_GUEST_TSO6] = "GUEST_TSO6",
	[VHU_NET_F_GUEST_ECN] = "GUEST_ECN",
	[VHU_NET_F_GUEST_UFO] = "GUEST_UFO",
	[VHU_NET_F_HOST_TSO4] = "HOST_TSO4",
	[VHU_NET_F_HOST_TSO6] = "HOST_TSO6",
	[VHU_NET_F_HOST_ECN] = "HOST_ECN",
	[VHU_NET_F_HOST_UFO] = "HOST_UFO",
	[VHU_NET_F_MRG_RXBUF] = "MRG_RXBUF",
	[VHU_NET_F_STATUS] = "STATUS",
	[VHU_NET_F_CTRL_VQ] = "CTRL_VQ",
	[VHU_NET_F_CTRL_RX] = "CTRL_RX",
	[VHU_NET_F_CTRL_VLAN] = "CTRL_VLAN",
	[VHU_NET_F_GUEST_ANNOUNCE] = "GUEST_ANNOUNCE",
	[VHU_NET_F_MQ] = "MQ",
	[VHU_NET_F_CTRL_MAC_ADDR] = "CTRL_MAC_ADDR",
	[VHU_F_NOTIFY_ON_EMPTY] = "NOTIFY_ON_EMPTY",
	[VHU_F_LOG_ALL] = "LOG_ALL",
	[VHU_F_ANY_LAYOUT] = "ANY_LAYOUT",
	[VHU_F_RING_INDIRECT_DESC] = "RING_INDIRECT_DESC",
	[VHU_F_RING_EVENT_IDX] = "RING_EVENT_IDX",
	[VHU_F_PROTOCOL_FEATURES] = "PROTOCOL_FEATURES",
	[VHU_F_VERSION_1] = "VERSION_1",
	[VHU_F_ACCESS_PLATFORM] = "ACCESS_PLATFORM",
	[VHU_F_RING_PACKED] = "RING_PACKED",
	[VHU_F_IN_ORDER] = "IN_ORDER",
};

const char *
vhu_feature_name(unsigned int bit)
{
	if (bit < 64 && feature_names[bit] != NULL)
		return feature_names[bit];
	return "UNKNOWN";
}

const char *
vhu_rule_name(enum vhu_rule rule)
{
	return rule < VHU_RULE_MAX ? rule_names[rule] : "unknown rule";
}

bool
vhu_has_proto(const struct vhu_dev *dev, unsigned int bit)
{
	return (dev->proto & VHU_BIT(bit)) != 0;
}

bool
vhu_offers_proto(const struct vhu_dev *dev, unsigned int bit)
{
	return (dev->proto_offered & VHU_BIT(bit)) != 0;
}

enum vhu_result
vhu_violation(struct vhu_dev *dev, const struct vhu_msg *msg,
	      enum vhu_rule rule, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (rule >= VHU_RULE_MAX)
		rule = VHU_RULE_NONE;
	dev->violations[rule]++;
	dev->last_violation = rule;
	VHU_ERR("vhost-user %s: %s (%u): %s: %s; closing the connection",
		dev->name, msg != NULL ? vhu_request_name(msg->hdr.request) :
					 "-",
		msg != NULL ? msg->hdr.request : 0, vhu_rule_name(rule),
		detail);
	dev->close_pending = true;
	return VHU_ERROR;
}

static enum vhu_result
check_rules(struct vhu_dev *dev, struct vhu_msg *msg, const struct row *r)
{
	uint32_t req = msg->hdr.request;

	if (r->refuse != VHU_RULE_NONE)
		return vhu_violation(dev, msg, r->refuse, "%s", r->why);
	if (r->fn == NULL)
		return vhu_violation(dev, msg, VHU_RULE_UNKNOWN,
				     "request id %u is not a front-end "
				     "message of this protocol", req);
	if (dev->postcopy_awaiting_ack && req != VHU_REQ_SET_MEM_TABLE)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "expected the postcopy SET_MEM_TABLE "
				     "acknowledgement");
	if (msg->hdr.size < r->size_min || msg->hdr.size > r->size_max)
		return vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "%u bytes, the rule is %u..%u",
				     msg->hdr.size, r->size_min, r->size_max);
	if (msg->nfds < r->fds_min || msg->nfds > r->fds_max)
		return vhu_violation(dev, msg, VHU_RULE_FDS,
				     "%u fds, the rule is %u..%u", msg->nfds,
				     r->fds_min, r->fds_max);
	if (r->gate == G_OFFERED && !vhu_offers_proto(dev, (unsigned)r->pf))
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "protocol feature %s is not offered",
				     vhu_protocol_feature_name((unsigned)r->pf));
	if (r->gate == G_NEGOTIATED && !vhu_has_proto(dev, (unsigned)r->pf))
		return vhu_violation(dev, msg, VHU_RULE_FEATURE,
				     "protocol feature %s is not negotiated",
				     vhu_protocol_feature_name((unsigned)r->pf));
	return VHU_OK;
}

static void
send_reply(struct vhu_dev *dev, struct vhu_msg *msg, const int *fds,
	   unsigned int nfds)
{
	struct vhu_hdr hdr = {
		.request = msg->hdr.request,
		.flags = VHU_VERSION | VHU_FLAG_REPLY,
		.size = msg->hdr.size,
	};
	int rc = vhu_chan_send(dev, &dev->conn, &hdr, &msg->payload, fds, nfds);

	if (rc < 0)
		vhu_violation(dev, msg, VHU_RULE_IO, "reply not sent: %s",
			      strerror(-rc));
}

static void
send_u64(struct vhu_dev *dev, struct vhu_msg *msg, uint64_t value)
{
	msg->hdr.size = sizeof(uint64_t);
	msg->payload.u64 = value;
	send_reply(dev, msg, NULL, 0);
}

void
vhu_set_reply_fds(struct vhu_dev *dev, const int *fds, unsigned int n)
{
	memcpy(dev->reply_fds, fds, n * sizeof(int));
	dev->reply_nfds = n;
}

static void
reply(struct vhu_dev *dev, struct vhu_msg *msg, const struct row *r,
      enum vhu_result res, bool need_reply)
{
	switch (res) {
	case VHU_REPLY:
		send_reply(dev, msg, dev->reply_fds, dev->reply_nfds);
		break;
	case VHU_OK:
	case VHU_FAIL:
		if (r->reply == R_U64 || (r->reply == R_ACK && need_reply))
			send_u64(dev, msg, res == VHU_OK ? 0 : 1);
		break;
	case VHU_ERROR:
		break;
	}
	dev->reply_nfds = 0;
}

void
vhu_dispatch(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint32_t req = msg->hdr.request;
	bool need_reply = (msg->hdr.flags & VHU_FLAG_NEED_REPLY) != 0;
	static const struct row unknown;
	const struct row *r = req < VHU_REQ_MAX ? &rows[req] : &unknown;
	enum vhu_result res;
	bool quiesce;

	VHU_DEBUG("vhost-user %s: %s size %u fds %u flags 0x%x", dev->name,
		  vhu_request_name(req), msg->hdr.size, msg->nfds,
		  msg->hdr.flags);
	dev->in_dispatch = true;
	dev->reply_nfds = 0;
	res = check_rules(dev, msg, r);
	if (res == VHU_OK) {
		quiesce = r->quiesce && dev->ops != NULL &&
			  dev->ops->quiesce != NULL;
		if (quiesce) {
			dev->ops->quiesce(dev);
			dev->quiesced = true;
		}
		res = r->fn(dev, msg);
		/*
		 * A handler that failed half way may have left the device
		 * pointing at memory it no longer maps: tear the session
		 * down before the workers are let back in.
		 */
		if (quiesce && dev->close_pending)
			vhu_dev_close_connection(dev);
		if (quiesce) {
			dev->quiesced = false;
			if (dev->ops->resume != NULL)
				dev->ops->resume(dev);
		}
		reply(dev, msg, r, res, need_reply);
	}
	vhu_close_fds(msg);
	dev->in_dispatch = false;
}
