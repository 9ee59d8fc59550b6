/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dispatch rules for every front-end message: the payload size rule, the
 * fd count rule, unknown ids, messages of other device types, the header
 * version, REPLY_ACK, and that a violation ends only its own connection.
 * The expected sizes here are written from the spec, not from the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

/* Payload sizes from the spec, for messages whose size is fixed. */
static const struct {
	uint32_t req;
	uint32_t size;
} fixed_sizes[] = {
	{ VHU_REQ_GET_FEATURES, 0 },
	{ VHU_REQ_SET_FEATURES, 8 },
	{ VHU_REQ_SET_OWNER, 0 },
	{ VHU_REQ_RESET_OWNER, 0 },
	{ VHU_REQ_SET_LOG_BASE, 16 },
	{ VHU_REQ_SET_LOG_FD, 0 },
	{ VHU_REQ_SET_VRING_NUM, 8 },
	{ VHU_REQ_SET_VRING_ADDR, 40 },
	{ VHU_REQ_SET_VRING_BASE, 8 },
	{ VHU_REQ_GET_VRING_BASE, 8 },
	{ VHU_REQ_SET_VRING_KICK, 8 },
	{ VHU_REQ_SET_VRING_CALL, 8 },
	{ VHU_REQ_SET_VRING_ERR, 8 },
	{ VHU_REQ_GET_PROTOCOL_FEATURES, 0 },
	{ VHU_REQ_SET_PROTOCOL_FEATURES, 8 },
	{ VHU_REQ_GET_QUEUE_NUM, 0 },
	{ VHU_REQ_SET_VRING_ENABLE, 8 },
	{ VHU_REQ_SEND_RARP, 8 },
	{ VHU_REQ_NET_SET_MTU, 8 },
	{ VHU_REQ_SET_BACKEND_REQ_FD, 0 },
	{ VHU_REQ_IOTLB_MSG, 32 },
	{ VHU_REQ_SET_VRING_ENDIAN, 8 },
	{ VHU_REQ_POSTCOPY_ADVISE, 0 },
	{ VHU_REQ_POSTCOPY_LISTEN, 0 },
	{ VHU_REQ_POSTCOPY_END, 0 },
	{ VHU_REQ_GET_INFLIGHT_FD, 24 },
	{ VHU_REQ_SET_INFLIGHT_FD, 24 },
	{ VHU_REQ_RESET_DEVICE, 0 },
	{ VHU_REQ_VRING_KICK, 8 },
	{ VHU_REQ_GET_MAX_MEM_SLOTS, 0 },
	{ VHU_REQ_ADD_MEM_REG, 40 },
	{ VHU_REQ_REM_MEM_REG, 40 },
	{ VHU_REQ_SET_STATUS, 8 },
	{ VHU_REQ_GET_STATUS, 0 },
	{ VHU_REQ_GET_SHARED_OBJECT, 16 },
};

/* Messages that never carry an fd. */
static const uint32_t no_fd_requests[] = {
	VHU_REQ_GET_FEATURES, VHU_REQ_SET_FEATURES, VHU_REQ_SET_OWNER,
	VHU_REQ_RESET_OWNER, VHU_REQ_SET_VRING_NUM, VHU_REQ_SET_VRING_ADDR,
	VHU_REQ_SET_VRING_BASE, VHU_REQ_GET_VRING_BASE,
	VHU_REQ_GET_PROTOCOL_FEATURES, VHU_REQ_SET_PROTOCOL_FEATURES,
	VHU_REQ_GET_QUEUE_NUM, VHU_REQ_SET_VRING_ENABLE, VHU_REQ_SEND_RARP,
	VHU_REQ_NET_SET_MTU, VHU_REQ_IOTLB_MSG, VHU_REQ_SET_VRING_ENDIAN,
	VHU_REQ_POSTCOPY_ADVISE, VHU_REQ_POSTCOPY_LISTEN,
	VHU_REQ_POSTCOPY_END, VHU_REQ_GET_INFLIGHT_FD, VHU_REQ_RESET_DEVICE,
	VHU_REQ_VRING_KICK, VHU_REQ_GET_MAX_MEM_SLOTS, VHU_REQ_SET_STATUS,
	VHU_REQ_GET_STATUS, VHU_REQ_GET_SHARED_OBJECT,
};

/* Every protocol feature the library offers, negotiated. */
static struct fe *
negotiated_fe(void)
{
	struct fe *fe = fe_new();
	uint64_t proto;

	assert_non_null(fe);
	proto = fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	assert_int_not_equal(proto, UINT64_MAX);
	proto &= ~VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, proto, false);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES,
		   vhu_dev_features_offered(fe->dev), false);
	assert_true(vhu_dev_connected(fe->dev));
	return fe;
}

static void
size_rule_every_fixed_message(void **state)
{
	uint8_t payload[64];
	size_t i;

	(void)state;
	memset(payload, 0, sizeof(payload));
	for (i = 0; i < sizeof(fixed_sizes) / sizeof(fixed_sizes[0]); i++) {
		struct fe *fe = negotiated_fe();
		uint32_t req = fixed_sizes[i].req;

		/* One u64 too many is a size violation for every message. */
		fe_send(fe, req, VHU_VERSION, payload, fixed_sizes[i].size + 8,
			NULL, 0);
		print_message("# %s\n", vhu_request_name(req));
		assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_SIZE), 1);
		assert_true(fe_closed(fe));
		assert_false(vhu_dev_connected(fe->dev));
		assert_int_equal(fe->disconnected, 1);
		fe_free(fe);
	}
}

static void
size_rule_short_payloads(void **state)
{
	uint8_t payload[64];
	size_t i;

	(void)state;
	memset(payload, 0, sizeof(payload));
	for (i = 0; i < sizeof(fixed_sizes) / sizeof(fixed_sizes[0]); i++) {
		struct fe *fe;

		if (fixed_sizes[i].size == 0)
			continue;
		fe = negotiated_fe();
		fe_send(fe, fixed_sizes[i].req, VHU_VERSION, payload,
			fixed_sizes[i].size - 1, NULL, 0);
		assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_SIZE), 1);
		assert_true(fe_closed(fe));
		fe_free(fe);
	}
}

static void
size_rule_oversize_header(void **state)
{
	struct fe *fe = negotiated_fe();
	uint8_t big[512];

	(void)state;
	memset(big, 0, sizeof(big));
	/* Larger than any message of the protocol: refused from the header. */
	fe_send(fe, VHU_REQ_SET_CONFIG, VHU_VERSION, big, sizeof(big), NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_SIZE), 1);
	assert_true(fe_closed(fe));
	fe_free(fe);
}

static void
fd_rule_unexpected_fd_is_closed(void **state)
{
	uint8_t payload[64];
	size_t i, j;

	(void)state;
	memset(payload, 0, sizeof(payload));
	for (i = 0; i < sizeof(no_fd_requests) / sizeof(no_fd_requests[0]);
	     i++) {
		uint32_t req = no_fd_requests[i], size = 0;
		struct fe *fe = negotiated_fe();
		int base = fe_count_fds();
		int efd = eventfd(0, EFD_CLOEXEC);

		for (j = 0; j < sizeof(fixed_sizes) / sizeof(fixed_sizes[0]);
		     j++)
			if (fixed_sizes[j].req == req)
				size = fixed_sizes[j].size;
		fe_send(fe, req, VHU_VERSION, payload, size, &efd, 1);
		print_message("# %s\n", vhu_request_name(req));
		assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FDS), 1);
		assert_true(fe_closed(fe));
		/*
		 * The device closed its copy of the fd and its socket: with
		 * our eventfd still open, the count is back to the base.
		 */
		assert_int_equal(fe_count_fds(), base);
		close(efd);
		fe_free(fe);
	}
}

static void
fd_rule_missing_fd(void **state)
{
	static const uint32_t needs_fd[] = {
		VHU_REQ_SET_LOG_FD, VHU_REQ_SET_BACKEND_REQ_FD,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(needs_fd) / sizeof(needs_fd[0]); i++) {
		struct fe *fe = negotiated_fe();

		fe_send(fe, needs_fd[i], VHU_VERSION, NULL, 0, NULL, 0);
		assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FDS), 1);
		assert_true(fe_closed(fe));
		fe_free(fe);
	}
}

static void
fd_rule_more_than_eight(void **state)
{
	struct fe *fe = negotiated_fe();
	int fds[9], i, base;

	(void)state;
	for (i = 0; i < 9; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	base = fe_count_fds();
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION, NULL, 0, fds, 9);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FDS), 1);
	assert_true(fe_closed(fe));
	/* None of the nine leaked into the device. */
	assert_int_equal(fe_count_fds(), base - 1);	/* its socket closed */
	for (i = 0; i < 9; i++)
		close(fds[i]);
	fe_free(fe);
}

static void
unknown_requests(void **state)
{
	static const uint32_t ids[] = { 0, 44, 99, 0xffffffffu };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct fe *fe = negotiated_fe();

		fe_send(fe, ids[i], VHU_VERSION, NULL, 0, NULL, 0);
		assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_UNKNOWN),
				 1);
		assert_true(fe_closed(fe));
		fe_free(fe);
	}
}

static void
other_device_types_refused(void **state)
{
	static const uint32_t ids[] = {
		VHU_REQ_CREATE_CRYPTO_SESSION, VHU_REQ_CLOSE_CRYPTO_SESSION,
		VHU_REQ_GPU_SET_SOCKET,
	};
	uint8_t payload[8] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct fe *fe = negotiated_fe();

		fe_send(fe, ids[i], VHU_VERSION, payload, sizeof(payload),
			NULL, 0);
		assert_int_equal(vhu_dev_violations(fe->dev,
						    VHU_RULE_DEVICE_TYPE), 1);
		assert_true(fe_closed(fe));
		fe_free(fe);
	}
}

static void
unadvertised_features_refused(void **state)
{
	struct fe *fe = fe_new();
	uint64_t proto = fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	struct vhu_device_state_msg ds = { 0, 0 };

	(void)state;
	/* Not advertised: crypto, Xen mmap and device state. */
	assert_int_equal(proto & VHU_BIT(VHU_PF_CRYPTO_SESSION), 0);
	assert_int_equal(proto & VHU_BIT(VHU_PF_XEN_MMAP), 0);
	assert_int_equal(proto & VHU_BIT(VHU_PF_DEVICE_STATE), 0);
	fe_send(fe, VHU_REQ_SET_DEVICE_STATE_FD, VHU_VERSION, &ds, sizeof(ds),
		NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 1);
	assert_true(fe_closed(fe));
	fe_free(fe);

	fe = fe_new();
	fe_send(fe, VHU_REQ_CHECK_DEVICE_STATE, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 1);
	fe_free(fe);

	/* Acking a protocol feature that was not offered. */
	fe = fe_new();
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_XEN_MMAP), false);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 1);
	assert_true(fe_closed(fe));
	fe_free(fe);
}

static void
gated_messages_need_their_feature(void **state)
{
	struct fe *fe = fe_new();
	uint64_t v = 0;

	(void)state;
	/* No protocol features acked: GET_STATUS needs STATUS. */
	fe_send(fe, VHU_REQ_GET_STATUS, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 1);
	assert_true(fe_closed(fe));
	fe_free(fe);

	fe = fe_new();
	fe_send(fe, VHU_REQ_GET_MAX_MEM_SLOTS, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 1);
	fe_free(fe);

	fe = fe_new();
	fe_send(fe, VHU_REQ_SET_STATUS, VHU_VERSION, &v, sizeof(v), NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 1);
	fe_free(fe);
}

static void
header_version_rule(void **state)
{
	struct fe *fe = fe_new();

	(void)state;
	fe_send(fe, VHU_REQ_GET_FEATURES, 0x2, NULL, 0, NULL, 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_VERSION), 1);
	assert_true(fe_closed(fe));
	fe_free(fe);
}

static void
reply_ack_on_request(void **state)
{
	struct fe *fe = fe_new();

	(void)state;
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1), VHU_BIT(VHU_PF_REPLY_ACK));
	/* Without need_reply nothing comes back... */
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	assert_true(fe_no_reply(fe));
	/* ...with it, a zero ack for success... */
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL,
		0, NULL, 0);
	{
		struct vhu_msg m;

		assert_int_equal(fe_recv(fe, &m), 1);
		assert_int_equal(m.hdr.request, VHU_REQ_SET_OWNER);
		assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
		assert_int_equal(m.hdr.size, 8);
		assert_int_equal(m.payload.u64, 0);
	}
	/* ...and a message with its own reply gets only that reply. */
	fe_send(fe, VHU_REQ_GET_FEATURES, VHU_VERSION | VHU_FLAG_NEED_REPLY,
		NULL, 0, NULL, 0);
	{
		struct vhu_msg m;

		assert_int_equal(fe_recv(fe, &m), 1);
		assert_int_equal(m.payload.u64,
				 vhu_dev_features_offered(fe->dev));
		assert_true(fe_no_reply(fe));
	}
	fe_free(fe);
}

static void
soft_failure_acks_nonzero(void **state)
{
	struct fe *fe = fe_new();

	(void)state;
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_NET_F_MTU),
		     VHU_BIT(VHU_PF_REPLY_ACK) | VHU_BIT(VHU_PF_MTU));
	/* An MTU below 68 is refused, but the connection stays. */
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 20, true), 1);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 9000, true), 0);
	assert_int_equal(vhu_dev_mtu(fe->dev), 9000);
	fe_free(fe);
}

static void
violation_spares_other_devices(void **state)
{
	struct fe *a = negotiated_fe(), *b = negotiated_fe();
	uint64_t fa = vhu_dev_features_offered(a->dev);

	(void)state;
	fe_send(a, 77, VHU_VERSION, NULL, 0, NULL, 0);
	assert_true(fe_closed(a));
	assert_false(vhu_dev_connected(a->dev));
	assert_true(vhu_dev_connected(b->dev));
	assert_int_equal(fe_get_u64(b, VHU_REQ_GET_FEATURES), fa);
	assert_int_equal(vhu_dev_violations(b->dev, VHU_RULE_UNKNOWN), 0);
	fe_free(a);
	fe_free(b);
}

static void
quiesce_brackets_memory_changes(void **state)
{
	struct fe *fe = negotiated_fe();

	(void)state;
	fe_add_region(fe, 0, 1 << 20);
	assert_int_equal(fe->quiesce, fe->resume);
	{
		unsigned int q = fe->quiesce;

		fe_send_mem_table(fe, false);
		assert_int_equal(fe->quiesce, q + 1);
		assert_int_equal(fe->resume, q + 1);
		assert_false(fe->in_quiesce);
		/* A query needs no quiesce. */
		fe_get_u64(fe, VHU_REQ_GET_FEATURES);
		assert_int_equal(fe->quiesce, q + 1);
	}
	fe_free(fe);
}

/* What the device looked like at the first resume after the test armed. */
static struct {
	bool armed;
	bool seen;
	bool in_quiesce;	/* the harness's quiesce had run */
	bool connected;
	bool started;		/* ring 0 */
	bool mapped;		/* old_desc */
	const void *old_desc;
} at_resume;

static void
recording_resume(struct vhu_dev *dev)
{
	struct fe *fe = vhu_dev_opaque(dev);

	if (at_resume.armed) {
		at_resume.armed = false;
		at_resume.seen = true;
		at_resume.in_quiesce = fe->in_quiesce;
		at_resume.connected = vhu_dev_connected(dev);
		at_resume.started = vhu_dev_vring(dev, 0)->started;
		at_resume.mapped = fe_is_mapped(at_resume.old_desc, 1);
	}
	fe_ops.resume(dev);
}

/*
 * A quiesced handler that fails half way (SET_MEM_TABLE whose region is
 * larger than its memfd) ends the session before the workers are let
 * back in: at the resume that follows the message the device is already
 * disconnected, its running ring stopped and the old table unmapped, so
 * no worker ever resumes on memory the session no longer owns.
 */
static void
failed_handler_closes_before_resume(void **state)
{
	struct vhu_dev_ops ops = fe_ops;
	struct vhu_vring *vr;
	struct fe_ring ring;
	struct fe_treg r;
	struct fe *fe;

	(void)state;
	ops.resume = recording_resume;
	fe = fe_new_ops(&ops);
	assert_non_null(fe);
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1), VHU_BIT(VHU_PF_REPLY_ACK));
	assert_non_null(fe_add_region(fe, 0, 1 << 20));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	/* Ring 0 running in polling mode. */
	fe_ring_layout(&ring, 0x10000, 256, false);
	fe_ring_setup(fe, 0, &ring, 0, 0, 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, true),
			 0);
	vr = vhu_dev_vring(fe->dev, 0);
	assert_true(vr->started);
	assert_non_null(vr->desc);
	assert_true(fe_is_mapped(vr->desc, 1));

	/* A new table whose region is 1 MiB over a 64 KiB memfd. */
	memset(&at_resume, 0, sizeof(at_resume));
	at_resume.old_desc = vr->desc;
	at_resume.armed = true;
	r = (struct fe_treg){ 0, 1 << 20, fe_uva(fe, 0), 0,
			      fe_memfd_sized(64 << 10) };
	fe_send_tregs(fe, &r, 1, VHU_VERSION | VHU_FLAG_NEED_REPLY);
	assert_true(at_resume.seen);
	assert_true(at_resume.in_quiesce);
	assert_false(at_resume.connected);
	assert_false(at_resume.started);
	assert_false(at_resume.mapped);
	/* Once, for the region; quiesce and resume still pair up. */
	fe_assert_violation(fe, VHU_RULE_REGION);
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_int_equal(fe->quiesce, fe->resume);
	assert_false(fe->in_quiesce);
	assert_false(fe_is_mapped(at_resume.old_desc, 1));
	close(r.fd);
	fe_free(fe);
}

static void
names_cover_every_id(void **state)
{
	uint32_t id;

	(void)state;
	for (id = 1; id < VHU_REQ_MAX; id++)
		assert_string_not_equal(vhu_request_name(id), "UNKNOWN");
	assert_string_equal(vhu_request_name(VHU_REQ_MAX), "UNKNOWN");
	for (id = 1; id < VHU_BREQ_MAX; id++)
		assert_string_not_equal(vhu_backend_request_name(id),
					"UNKNOWN");
	for (id = 0; id < VHU_PF_MAX; id++)
		assert_string_not_equal(vhu_protocol_feature_name(id),
					"UNKNOWN");
	assert_string_equal(vhu_request_name(VHU_REQ_GET_SHARED_OBJECT),
			    "GET_SHARED_OBJECT");
	assert_int_equal(VHU_PF_SHMEM, 20);
	assert_int_equal(VHU_BREQ_SHMEM_UNMAP, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_rule_every_fixed_message),
		cmocka_unit_test(size_rule_short_payloads),
		cmocka_unit_test(size_rule_oversize_header),
		cmocka_unit_test(fd_rule_unexpected_fd_is_closed),
		cmocka_unit_test(fd_rule_missing_fd),
		cmocka_unit_test(fd_rule_more_than_eight),
		cmocka_unit_test(unknown_requests),
		cmocka_unit_test(other_device_types_refused),
		cmocka_unit_test(unadvertised_features_refused),
		cmocka_unit_test(gated_messages_need_their_feature),
		cmocka_unit_test(header_version_rule),
		cmocka_unit_test(reply_ack_on_request),
		cmocka_unit_test(soft_failure_acks_nonzero),
		cmocka_unit_test(violation_spares_other_devices),
		cmocka_unit_test(quiesce_brackets_memory_changes),
		cmocka_unit_test(failed_handler_closes_before_resume),
		cmocka_unit_test(names_cover_every_id),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
