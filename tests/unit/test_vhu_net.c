/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net specifics: SEND_RARP, NET_SET_MTU, the config space through
 * GET/SET_CONFIG (byte offsets from the virtio-net spec: mac 0..5, status
 * 6, max_virtqueue_pairs 8, mtu 10, all little endian), the link bit and
 * its CONFIG_CHANGE_MSG, GET/SET_STATUS, GET_QUEUE_NUM and GET_FEATURES.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define PF(x)		VHU_BIT(VHU_PF_##x)
#define NET_F		(VHU_BIT(VHU_F_PROTOCOL_FEATURES) | \
			 VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_NET_F_MTU) | \
			 VHU_BIT(VHU_NET_F_STATUS) | VHU_BIT(VHU_NET_F_MQ))
#define NET_PF		(PF(REPLY_ACK) | PF(MTU) | PF(RARP) | PF(CONFIG) | \
			 PF(BACKEND_REQ) | PF(STATUS) | PF(MQ))
#define CFG_HDR		12	/* offset, size, flags: u32 each */

static const uint8_t params_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };

static uint16_t
le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * GET_CONFIG of size bytes at offset: the reply's config payload (its
 * size checked against the request's) into out; returns the reply size.
 */
static uint32_t
get_config(struct fe *fe, uint32_t offset, uint32_t size, uint8_t *out)
{
	uint8_t p[CFG_HDR + VHU_MAX_CONFIG_SIZE];
	uint32_t zero = 0;
	struct vhu_msg m;

	memset(p, 0xee, sizeof(p));
	memcpy(p, &offset, 4);
	memcpy(p + 4, &size, 4);
	memcpy(p + 8, &zero, 4);
	assert_true(size <= VHU_MAX_CONFIG_SIZE);
	assert_int_equal(fe_send(fe, VHU_REQ_GET_CONFIG, VHU_VERSION, p,
				 CFG_HDR + size, NULL, 0), 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_GET_CONFIG);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.nfds, 0);
	assert_true(fe_no_reply(fe));
	if (m.hdr.size == 0)
		return 0;
	assert_int_equal(m.hdr.size, CFG_HDR + size);
	assert_memory_equal(m.payload.raw, p, 8);	/* offset, size */
	if (out != NULL)
		memcpy(out, m.payload.raw + CFG_HDR, size);
	return m.hdr.size;
}

/* SET_CONFIG with need_reply; returns the ack. */
static int64_t
set_config(struct fe *fe, uint32_t offset, uint32_t flags, const void *data,
	   uint32_t size)
{
	uint8_t p[CFG_HDR + VHU_MAX_CONFIG_SIZE];
	struct vhu_msg m;

	memcpy(p, &offset, 4);
	memcpy(p + 4, &size, 4);
	memcpy(p + 8, &flags, 4);
	memcpy(p + CFG_HDR, data, size);
	assert_int_equal(fe_send(fe, VHU_REQ_SET_CONFIG,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, p,
				 CFG_HDR + size, NULL, 0), 0);
	if (fe_recv(fe, &m) != 1)
		return -1;
	assert_int_equal(m.hdr.request, VHU_REQ_SET_CONFIG);
	assert_int_equal(m.hdr.size, 8);
	return (int64_t)m.payload.u64;
}

static void
send_rarp(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	uint8_t payload[8] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55,
			       0xaa, 0xbb };

	(void)state;
	assert_int_equal(fe->rarp_calls, 0);
	assert_int_equal(fe_send(fe, VHU_REQ_SEND_RARP, VHU_VERSION, payload,
				 sizeof(payload), NULL, 0), 0);
	assert_int_equal(fe->rarp_calls, 1);
	assert_memory_equal(fe->rarp_mac, payload, 6);
	assert_true(fe_no_reply(fe));
	/* With need_reply: acked. */
	payload[5] = 0x66;
	assert_int_equal(fe_send(fe, VHU_REQ_SEND_RARP,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, payload,
				 sizeof(payload), NULL, 0), 0);
	{
		struct vhu_msg m;

		assert_int_equal(fe_recv(fe, &m), 1);
		assert_int_equal(m.hdr.request, VHU_REQ_SEND_RARP);
		assert_int_equal(m.payload.u64, 0);
	}
	assert_int_equal(fe->rarp_calls, 2);
	assert_int_equal(fe->rarp_mac[5], 0x66);
	fe_free(fe);
}

static void
set_mtu(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);

	(void)state;
	assert_int_equal(vhu_dev_mtu(fe->dev), 1500);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 68, true), 0);
	assert_int_equal(vhu_dev_mtu(fe->dev), 68);
	assert_int_equal(fe->mtu_cb, 68);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 65535, true), 0);
	assert_int_equal(vhu_dev_mtu(fe->dev), 65535);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 9000, true), 0);
	assert_int_equal(vhu_dev_mtu(fe->dev), 9000);
	/* Without need_reply: applied, no answer. */
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 1400, false), -1);
	assert_true(fe_no_reply(fe));
	assert_int_equal(vhu_dev_mtu(fe->dev), 1400);
	/* The config space follows. */
	{
		uint8_t c[2];

		assert_int_equal(get_config(fe, 10, 2, c), CFG_HDR + 2);
		assert_int_equal(le16_at(c), 1400);
	}
	fe_free(fe);
}

static void
set_mtu_refused(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);

	(void)state;
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 67, true), 1);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 0, true), 1);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 65536, true), 1);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 1ULL << 32 | 1500,
				    true), 1);
	assert_int_equal(vhu_dev_mtu(fe->dev), 1500);
	assert_true(vhu_dev_connected(fe->dev));
	/* The application says no. */
	fe->mtu_result = -EINVAL;
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 9000, true), 1);
	assert_int_equal(fe->mtu_cb, 9000);
	assert_int_equal(vhu_dev_mtu(fe->dev), 1500);
	fe->mtu_result = 0;
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 9000, true), 0);
	assert_int_equal(vhu_dev_mtu(fe->dev), 9000);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
}

/*
 * The port must offer VIRTIO_NET_F_MTU; whether the front-end acked it
 * yet does not matter, since QEMU sends the MTU before SET_FEATURES.
 */
static void
set_mtu_needs_feature(void **state)
{
	struct vhu_dev_params p;
	struct fe *fe;

	(void)state;
	/* Before SET_FEATURES, with the feature offered: accepted. */
	fe = fe_new();
	assert_non_null(fe);
	fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, NET_PF, false);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 9000, true), 0);
	assert_int_equal(vhu_dev_mtu(fe->dev), 9000);
	assert_int_equal(fe->mtu_cb, 9000);
	fe_free(fe);

	/* A port that does not offer it refuses the message. */
	fe_default_params(&p);
	p.features &= ~VHU_BIT(VHU_NET_F_MTU);
	fe = fe_new_params(&p);
	assert_non_null(fe);
	fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, NET_PF, false);
	fe_set_u64(fe, VHU_REQ_NET_SET_MTU, 1500, true);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);
}

static void
get_config_layout(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	uint8_t c[VHU_MAX_CONFIG_SIZE];

	(void)state;
	assert_int_equal(get_config(fe, 0, 12, c), CFG_HDR + 12);
	assert_memory_equal(c, params_mac, 6);
	assert_int_equal(c[6], 1);		/* status: link up, LE */
	assert_int_equal(c[7], 0);
	assert_int_equal(le16_at(c + 8), 2);	/* max_virtqueue_pairs */
	assert_int_equal(le16_at(c + 10), 1500);	/* mtu */
	/* At an offset: status alone, then the mtu's high byte. */
	assert_int_equal(get_config(fe, 6, 2, c), CFG_HDR + 2);
	assert_int_equal(le16_at(c), 1);
	assert_int_equal(get_config(fe, 11, 1, c), CFG_HDR + 1);
	assert_int_equal(c[0], 1500 >> 8);
	assert_int_equal(get_config(fe, 2, 4, c), CFG_HDR + 4);
	assert_memory_equal(c, params_mac + 2, 4);
	fe_free(fe);
}

/* Reads outside the config space get the spec's error: no payload. */
static void
get_config_out_of_range(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);

	(void)state;
	assert_int_equal(get_config(fe, VHU_MAX_CONFIG_SIZE - 4, 8, NULL), 0);
	assert_int_equal(get_config(fe, 1000, 4, NULL), 0);
	assert_int_equal(get_config(fe, UINT32_MAX, 4, NULL), 0);
	assert_int_equal(get_config(fe, 0, 0, NULL), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(get_config(fe, 0, 6, NULL), CFG_HDR + 6);
	fe_free(fe);
}

/* The message must be 12 + size bytes long. */
static void
get_config_size_mismatch(void **state)
{
	static const uint32_t sizes[] = { 4, 8, 16 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
		uint8_t p[CFG_HDR + 32];
		uint32_t off = 0, sz = sizes[i], fl = 0;

		memset(p, 0, sizeof(p));
		memcpy(p, &off, 4);
		memcpy(p + 4, &sz, 4);
		memcpy(p + 8, &fl, 4);
		/* 4 bytes more, then 4 less, than the size field says. */
		fe_send(fe, VHU_REQ_GET_CONFIG, VHU_VERSION, p,
			CFG_HDR + (i == 1 ? sz - 4 : sz + 4), NULL, 0);
		fe_assert_violation(fe, VHU_RULE_SIZE);
		fe_free(fe);
	}
}

static void
get_config_needs_config(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF & ~PF(CONFIG));
	uint8_t p[CFG_HDR + 4] = { 0 };

	(void)state;
	p[4] = 4;
	fe_send(fe, VHU_REQ_GET_CONFIG, VHU_VERSION, p, sizeof(p), NULL, 0);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);
}

/* VERSION_1: every net config field is read-only to the driver. */
static void
set_config_read_only(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	uint8_t c[12], mtu[2] = { 0x28, 0x23 };	/* 9000 */
	uint8_t st[2] = { 0, 0 };

	(void)state;
	assert_int_equal(set_config(fe, 0, 0, mac, 6), 1);
	assert_int_equal(set_config(fe, 10, 0, mtu, 2), 1);
	assert_int_equal(set_config(fe, 6, 0, st, 2), 1);
	assert_int_equal(fe->config_calls, 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(get_config(fe, 0, 12, c), CFG_HDR + 12);
	assert_memory_equal(c, params_mac, 6);
	assert_int_equal(le16_at(c + 6), 1);
	assert_int_equal(le16_at(c + 10), 1500);
	assert_int_equal(vhu_dev_mtu(fe->dev), 1500);
	{
		uint8_t m[6];

		vhu_dev_get_mac(fe->dev, m);
		assert_memory_equal(m, params_mac, 6);
	}
	fe_free(fe);
}

/* Legacy (no VERSION_1): the driver may write the mac, and only it. */
static void
set_config_legacy_mac(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F & ~VHU_BIT(VHU_F_VERSION_1),
					  NET_PF);
	static const uint8_t mac[6] = { 0x02, 0xde, 0xad, 0xbe, 0xef, 0x01 };
	uint8_t c[12], m[6], mtu[2] = { 0x28, 0x23 };

	(void)state;
	assert_int_equal(set_config(fe, 0, 0, mac, 6), 0);
	assert_int_equal(fe->config_calls, 1);
	vhu_dev_get_mac(fe->dev, m);
	assert_memory_equal(m, mac, 6);
	assert_int_equal(get_config(fe, 0, 12, c), CFG_HDR + 12);
	assert_memory_equal(c, mac, 6);
	/* Part of the mac. */
	assert_int_equal(set_config(fe, 4, 0, "\x77\x88", 2), 0);
	vhu_dev_get_mac(fe->dev, m);
	assert_int_equal(m[4], 0x77);
	assert_int_equal(m[5], 0x88);
	/* Past the mac it is still read-only. */
	assert_int_equal(set_config(fe, 4, 0, "\x11\x22\x33", 3), 1);
	assert_int_equal(set_config(fe, 10, 0, mtu, 2), 1);
	assert_int_equal(vhu_dev_mtu(fe->dev), 1500);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

/* The migration flag may write read-only fields. */
static void
set_config_migration(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	uint8_t mtu[2] = { 0x28, 0x23 }, c[2];	/* 9000 */

	(void)state;
	assert_int_equal(set_config(fe, 10, 1, mtu, 2), 0);
	assert_int_equal(fe->config_calls, 1);
	assert_int_equal(vhu_dev_mtu(fe->dev), 9000);
	assert_int_equal(get_config(fe, 10, 2, c), CFG_HDR + 2);
	assert_int_equal(le16_at(c), 9000);
	/* Outside the config space, even for migration: refused. */
	assert_int_equal(set_config(fe, 200, 1, mtu, 2), 1);
	assert_int_equal(fe->config_calls, 1);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

static void
set_config_bad_flags(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	uint8_t mtu[2] = { 0x28, 0x23 };

	(void)state;
	set_config(fe, 10, 2, mtu, 2);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	assert_int_equal(fe->config_calls, 0);
	fe_free(fe);
}

static void
set_config_size_mismatch(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	uint8_t p[CFG_HDR + 8] = { 0 };

	(void)state;
	p[4] = 2;	/* size 2, 8 bytes sent */
	p[8] = 1;
	fe_send(fe, VHU_REQ_SET_CONFIG, VHU_VERSION, p, sizeof(p), NULL, 0);
	fe_assert_violation(fe, VHU_RULE_SIZE);
	fe_free(fe);
}

/* Link down: status bit clear, and the front-end is told on the channel. */
static void
link_change(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	struct vhu_hdr h;
	uint8_t c[2];
	int sv[2];

	(void)state;
	/* No back-end channel yet: just the bit. */
	assert_int_equal(vhu_dev_set_link(fe->dev, false), 0);
	assert_int_equal(get_config(fe, 6, 2, c), CFG_HDR + 2);
	assert_int_equal(le16_at(c), 0);
	assert_int_equal(vhu_dev_set_link(fe->dev, true), 0);
	assert_int_equal(get_config(fe, 6, 2, c), CFG_HDR + 2);
	assert_int_equal(le16_at(c), 1);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	assert_int_equal(fe_send(fe, VHU_REQ_SET_BACKEND_REQ_FD, VHU_VERSION,
				 NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	assert_true(vhu_backend_channel_open(fe->dev));
	assert_int_equal(vhu_dev_set_link(fe->dev, false), 0);
	assert_int_equal(get_config(fe, 0, 8, NULL), CFG_HDR + 8);
	assert_int_equal(get_config(fe, 6, 2, c), CFG_HDR + 2);
	assert_int_equal(c[0] & 1, 0);
	/* CONFIG_CHANGE_MSG (2): version 1, no payload. */
	assert_int_equal(recv(sv[0], &h, sizeof(h), MSG_DONTWAIT),
			 (ssize_t)sizeof(h));
	assert_int_equal(h.request, 2);
	assert_int_equal(h.flags, VHU_VERSION);
	assert_int_equal(h.size, 0);
	assert_true(recv(sv[0], &h, sizeof(h), MSG_DONTWAIT) < 0);
	close(sv[0]);
	fe_free(fe);
}

/* Without CONFIG there is no one to tell. */
static void
link_change_without_config(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF & ~PF(CONFIG));
	struct vhu_hdr h;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	assert_int_equal(fe_send(fe, VHU_REQ_SET_BACKEND_REQ_FD, VHU_VERSION,
				 NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	assert_int_equal(vhu_dev_set_link(fe->dev, false), 0);
	assert_true(recv(sv[0], &h, sizeof(h), MSG_DONTWAIT) < 0);
	close(sv[0]);
	fe_free(fe);
}

static void
status_round_trip(void **state)
{
	struct fe *fe = fe_new_negotiated(NET_F, NET_PF);
	uint64_t st = VHU_STATUS_ACKNOWLEDGE | VHU_STATUS_DRIVER |
		      VHU_STATUS_FEATURES_OK | VHU_STATUS_DRIVER_OK;

	(void)state;
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), 0);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS, st, true), 0);
	assert_int_equal(fe->status_cb, st);
	assert_int_equal(vhu_dev_status(fe->dev), st);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), st);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS, 0xff, false), -1);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), 0xff);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS, 0, true), 0);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), 0);
	fe_set_u64(fe, VHU_REQ_SET_STATUS, 0x100, true);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	fe_free(fe);
}

static void
queue_num_and_features(void **state)
{
	struct fe *fe = fe_new();
	uint64_t f;

	(void)state;
	assert_non_null(fe);
	f = fe_get_u64(fe, VHU_REQ_GET_FEATURES);
	assert_int_not_equal(f, UINT64_MAX);
	assert_true((f & (1ULL << 30)) != 0);	/* PROTOCOL_FEATURES */
	assert_true((f & VHU_BIT(VHU_NET_F_MTU)) != 0);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_QUEUE_NUM), 2);
	fe_negotiate(fe, NET_F, NET_PF);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_QUEUE_NUM), 2);
	fe_free(fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(send_rarp),
		cmocka_unit_test(set_mtu),
		cmocka_unit_test(set_mtu_refused),
		cmocka_unit_test(set_mtu_needs_feature),
		cmocka_unit_test(get_config_layout),
		cmocka_unit_test(get_config_out_of_range),
		cmocka_unit_test(get_config_size_mismatch),
		cmocka_unit_test(get_config_needs_config),
		cmocka_unit_test(set_config_read_only),
		cmocka_unit_test(set_config_legacy_mac),
		cmocka_unit_test(set_config_migration),
		cmocka_unit_test(set_config_bad_flags),
		cmocka_unit_test(set_config_size_mismatch),
		cmocka_unit_test(link_change),
		cmocka_unit_test(link_change_without_config),
		cmocka_unit_test(status_round_trip),
		cmocka_unit_test(queue_num_and_features),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
