/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Negotiation: device features (GET/SET_FEATURES and what they publish
 * to the data path), protocol features (what is offered, the parameter
 * mask, the INBAND_NOTIFICATIONS dependency), which features may change
 * while rings run, GET_QUEUE_NUM, the device status, SET_OWNER and
 * RESET_DEVICE. Expectations come from the spec's feature negotiation
 * messages, not from the library's tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define F_BASE	(VHU_BIT(VHU_F_PROTOCOL_FEATURES) | VHU_BIT(VHU_F_VERSION_1))

static struct fe *
new_fe(void)
{
	struct fe *fe = fe_new();

	assert_non_null(fe);
	return fe;
}

/* A split ring 0 of 256 entries at 0x1000, started by a polling kick. */
static void
start_ring0(struct fe *fe)
{
	struct fe_ring r;

	assert_non_null(fe_add_region(fe, 0, 1 << 20));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	fe_ring_layout(&r, 0x1000, 256, false);
	fe_ring_setup(fe, 0, &r, 0, 0, 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, true),
			 0);
	assert_int_not_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 0)),
			     VHU_RING_STOPPED);
}

static void
get_features_is_params_plus_protocol_bit(void **state)
{
	struct vhu_dev_params p;
	struct fe *fe = new_fe();
	uint64_t want = fe->params.features | VHU_BIT(VHU_F_PROTOCOL_FEATURES);

	(void)state;
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES), want);
	assert_int_equal(vhu_dev_features_offered(fe->dev), want);
	/* Nothing is negotiated by asking. */
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	assert_int_equal(fe->features_calls, 0);
	fe_free(fe);

	fe_default_params(&p);
	p.features = VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_NET_F_CSUM);
	fe = fe_new_params(&p);
	assert_non_null(fe);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_NET_F_CSUM) |
			 VHU_BIT(VHU_F_PROTOCOL_FEATURES));
	fe_free(fe);
}

static void
set_features_subset_is_published(void **state)
{
	struct fe *fe = new_fe();
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	uint64_t f = F_BASE | VHU_BIT(VHU_NET_F_MRG_RXBUF) |
		     VHU_BIT(VHU_F_LOG_ALL) | VHU_BIT(VHU_F_ACCESS_PLATFORM);

	(void)state;
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, f, false);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_features(fe->dev), f);
	assert_int_equal(fe->features_calls, 1);
	assert_int_equal(fe->features_cb, f);
	assert_int_equal(dp->features, f);
	assert_true(dp->log_all);
	assert_true(dp->iommu);

	/* Without bits 26 and 33 both flags go again. */
	f = F_BASE | VHU_BIT(VHU_NET_F_STATUS);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, f, false);
	assert_int_equal(vhu_dev_features(fe->dev), f);
	assert_int_equal(fe->features_calls, 2);
	assert_int_equal(fe->features_cb, f);
	assert_int_equal(dp->features, f);
	assert_false(dp->log_all);
	assert_false(dp->iommu);

	/* Bit 26 alone, and the empty set, are subsets too. */
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, VHU_BIT(VHU_F_LOG_ALL), false);
	assert_true(dp->log_all);
	assert_false(dp->iommu);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, 0, false);
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	assert_false(dp->log_all);
	assert_int_equal(fe->features_calls, 4);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_FEATURE), 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

static void
set_features_not_offered(void **state)
{
	static const unsigned int bits[] = {
		VHU_NET_F_CSUM, VHU_F_IN_ORDER, VHU_F_RING_INDIRECT_DESC, 63,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		struct fe *fe = new_fe();

		assert_int_equal(vhu_dev_features_offered(fe->dev) &
				 VHU_BIT(bits[i]), 0);
		fe_set_u64(fe, VHU_REQ_SET_FEATURES,
			   F_BASE | VHU_BIT(bits[i]), false);
		fe_assert_violation(fe, VHU_RULE_FEATURE);
		/* Nothing of the refused set was taken. */
		assert_int_equal(fe->features_calls, 0);
		assert_int_equal(vhu_dev_dp(fe->dev)->features, 0);
		fe_free(fe);
	}
}

static void
protocol_features_before_set_features(void **state)
{
	struct fe *fe = new_fe();
	uint64_t want = vhu_protocol_features_implemented(), got;

	(void)state;
	/* First message of the session, SET_FEATURES not seen. */
	got = fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	assert_int_equal(got, want);
	assert_int_equal(vhu_dev_protocol_features_offered(fe->dev), want);
	assert_int_equal(got & VHU_BIT(VHU_PF_CRYPTO_SESSION), 0);
	assert_int_equal(got & VHU_BIT(VHU_PF_XEN_MMAP), 0);
	assert_int_equal(got & VHU_BIT(VHU_PF_DEVICE_STATE), 0);
	assert_int_equal((got & VHU_BIT(VHU_PF_PAGEFAULT)) != 0,
			 vhu_postcopy_supported());
	print_message("# postcopy %s\n",
		      vhu_postcopy_supported() ? "supported" : "unsupported");
	/* The spec's net essentials are there. */
	assert_int_not_equal(got & VHU_BIT(VHU_PF_MQ), 0);
	assert_int_not_equal(got & VHU_BIT(VHU_PF_REPLY_ACK), 0);

	/* SET_PROTOCOL_FEATURES before SET_FEATURES is legal as well. */
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_REPLY_ACK), false);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_protocol_features(fe->dev),
			 VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_REPLY_ACK));
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	/* REPLY_ACK works at once. */
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, true), 0);
	assert_int_equal(vhu_dev_features(fe->dev), F_BASE);
	fe_free(fe);
}

static void
protocol_features_custom_mask(void **state)
{
	struct vhu_dev_params p;
	uint64_t mask = VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_REPLY_ACK) |
			VHU_BIT(VHU_PF_STATUS) |
			VHU_BIT(VHU_PF_CRYPTO_SESSION) |
			VHU_BIT(VHU_PF_XEN_MMAP) |
			VHU_BIT(VHU_PF_DEVICE_STATE) | VHU_BIT(40);
	struct fe *fe;

	(void)state;
	fe_default_params(&p);
	p.protocol_features = mask;
	fe = fe_new_params(&p);
	assert_non_null(fe);
	/* The mask only takes away; unimplemented bits never appear. */
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES),
			 vhu_protocol_features_implemented() & mask);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES),
			 VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_REPLY_ACK) |
			 VHU_BIT(VHU_PF_STATUS));
	/* Acking a masked-out feature is acking one not offered. */
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_CONFIG), false);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);

	/* ...and a message gated by it is refused. */
	fe = fe_new_params(&p);
	assert_non_null(fe);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_STATUS), false);
	assert_true(vhu_dev_connected(fe->dev));
	fe_send(fe, VHU_REQ_RESET_DEVICE, VHU_VERSION, NULL, 0, NULL, 0);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);
}

/* The spec: close the connection on INBAND without the two others. */
static void
inband_needs_backend_req_and_reply_ack(void **state)
{
	const uint64_t inband = VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS);
	const uint64_t bad[] = {
		inband,
		inband | VHU_BIT(VHU_PF_BACKEND_REQ),
		inband | VHU_BIT(VHU_PF_REPLY_ACK),
		inband | VHU_BIT(VHU_PF_MQ) | VHU_BIT(VHU_PF_STATUS),
	};
	size_t i;
	struct fe *fe;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fe = new_fe();
		fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, bad[i], false);
		fe_assert_violation(fe, VHU_RULE_FEATURE);
		assert_int_equal(vhu_dev_protocol_features(fe->dev), 0);
		fe_free(fe);
	}
	fe = new_fe();
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   inband | VHU_BIT(VHU_PF_BACKEND_REQ) |
		   VHU_BIT(VHU_PF_REPLY_ACK), false);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_protocol_features(fe->dev),
			 inband | VHU_BIT(VHU_PF_BACKEND_REQ) |
			 VHU_BIT(VHU_PF_REPLY_ACK));
	fe_free(fe);
}

static void
features_frozen_while_ring_runs(void **state)
{
	struct fe *fe = new_fe();

	(void)state;
	fe_negotiate(fe, F_BASE | VHU_BIT(VHU_NET_F_MRG_RXBUF),
		     VHU_BIT(VHU_PF_REPLY_ACK));
	start_ring0(fe);
	/* Dropping MRG_RXBUF under a running ring. */
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	fe_free(fe);

	/* Adding a bit is a change too, and so is switching to packed. */
	fe = new_fe();
	fe_negotiate(fe, F_BASE, VHU_BIT(VHU_PF_REPLY_ACK));
	start_ring0(fe);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES,
		   F_BASE | VHU_BIT(VHU_F_RING_PACKED), false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	fe_free(fe);
}

/*
 * The first SET_FEATURES is no exception: a ring started before it
 * (split, as a device with no features lays rings out) keeps its layout,
 * so SET_FEATURES adding VIRTIO_F_RING_PACKED under it is a state
 * violation, as it is for any later SET_FEATURES.
 */
static void
first_set_features_frozen_under_running_ring(void **state)
{
	struct fe *fe = new_fe();

	(void)state;
	(void)fe_get_u64(fe, VHU_REQ_GET_FEATURES);
	(void)fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_REPLY_ACK), false);
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	start_ring0(fe);
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	assert_false(vhu_dev_vring(fe->dev, 0)->packed);
	assert_int_equal(fe->features_calls, 0);

	fe_set_u64(fe, VHU_REQ_SET_FEATURES,
		   F_BASE | VHU_BIT(VHU_F_RING_PACKED), false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	/* Nothing of it was taken. */
	assert_int_equal(fe->features_calls, 0);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	fe_free(fe);
}

/* Migration turns dirty logging on and off under running rings. */
static void
log_all_toggles_while_ring_runs(void **state)
{
	struct fe *fe = new_fe();
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);

	(void)state;
	fe_negotiate(fe, F_BASE, VHU_BIT(VHU_PF_REPLY_ACK));
	start_ring0(fe);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES,
				    F_BASE | VHU_BIT(VHU_F_LOG_ALL), true), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_features(fe->dev),
			 F_BASE | VHU_BIT(VHU_F_LOG_ALL));
	assert_true(dp->log_all);
	assert_int_equal(fe->features_cb, F_BASE | VHU_BIT(VHU_F_LOG_ALL));
	assert_int_not_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 0)),
			     VHU_RING_STOPPED);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, true),
			 0);
	assert_false(dp->log_all);
	assert_int_equal(vhu_dev_features(fe->dev), F_BASE);
	/* The same set again is no change at all. */
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, true),
			 0);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_STATE), 0);

	/* Once GET_VRING_BASE stopped the ring, anything may change. */
	fe_set_state(fe, VHU_REQ_GET_VRING_BASE, 0, 0, false);
	{
		struct vhu_msg m;

		assert_int_equal(fe_recv(fe, &m), 1);
		assert_int_equal(m.hdr.request, VHU_REQ_GET_VRING_BASE);
	}
	assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 0)),
			 VHU_RING_STOPPED);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES,
				    F_BASE | VHU_BIT(VHU_NET_F_MRG_RXBUF),
				    true), 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

static void
get_queue_num(void **state)
{
	struct vhu_dev_params p;
	struct fe *fe = new_fe();

	(void)state;
	assert_int_not_equal(vhu_dev_protocol_features_offered(fe->dev) &
			     VHU_BIT(VHU_PF_MQ), 0);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_QUEUE_NUM),
			 fe->params.max_queue_pairs);
	fe_free(fe);

	fe_default_params(&p);
	p.max_queue_pairs = 7;
	fe = fe_new_params(&p);
	assert_non_null(fe);
	fe_negotiate(fe, F_BASE, VHU_BIT(VHU_PF_MQ));
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_QUEUE_NUM), 7);
	assert_int_equal(vhu_dev_nr_vrings(fe->dev), 14);
	fe_free(fe);

	/* MQ masked out: the question may not be asked. */
	fe_default_params(&p);
	p.protocol_features = vhu_protocol_features_implemented() &
			      ~VHU_BIT(VHU_PF_MQ);
	fe = fe_new_params(&p);
	assert_non_null(fe);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES) &
			 VHU_BIT(VHU_PF_MQ), 0);
	fe_send(fe, VHU_REQ_GET_QUEUE_NUM, VHU_VERSION, NULL, 0, NULL, 0);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);
}

/*
 * DPDK's virtio-user sets FEATURES_OK before it sends SET_FEATURES: the
 * bit must survive the SET_FEATURES that follows.
 */
static void
status_round_trip(void **state)
{
	const uint8_t early = VHU_STATUS_ACKNOWLEDGE | VHU_STATUS_DRIVER |
			      VHU_STATUS_FEATURES_OK;
	struct fe *fe = new_fe();

	(void)state;
	(void)fe_get_u64(fe, VHU_REQ_GET_FEATURES);
	(void)fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_STATUS) | VHU_BIT(VHU_PF_REPLY_ACK), false);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), 0);

	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS, early, true), 0);
	assert_int_equal(fe->status_cb, early);
	assert_int_equal(vhu_dev_status(fe->dev), early);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), early);

	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES,
				    F_BASE | VHU_BIT(VHU_NET_F_MRG_RXBUF),
				    true), 0);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), early);
	assert_int_equal(vhu_dev_status(fe->dev) & VHU_STATUS_FEATURES_OK,
			 VHU_STATUS_FEATURES_OK);

	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS,
				    early | VHU_STATUS_DRIVER_OK, true), 0);
	assert_int_equal(fe->status_cb, early | VHU_STATUS_DRIVER_OK);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS),
			 early | VHU_STATUS_DRIVER_OK);
	/* Writing 0 is the driver's reset. */
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS, 0, true), 0);
	assert_int_equal(fe->status_cb, 0);
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), 0);
	assert_true(vhu_dev_connected(fe->dev));

	/* The status is one byte. */
	fe_set_u64(fe, VHU_REQ_SET_STATUS, 0x100, false);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	fe_free(fe);
}

static void
set_owner_accepted(void **state)
{
	struct fe *fe = new_fe();

	(void)state;
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
		   VHU_BIT(VHU_PF_REPLY_ACK), false);
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL,
		0, NULL, 0);
	{
		struct vhu_msg m;

		assert_int_equal(fe_recv(fe, &m), 1);
		assert_int_equal(m.hdr.request, VHU_REQ_SET_OWNER);
		assert_int_equal(m.payload.u64, 0);
	}
	/* Without need_reply, no answer. */
	fe_send(fe, VHU_REQ_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

/*
 * RESET_DEVICE: back to a freshly initialized device, keeping the
 * connection and what was negotiated for it (protocol features).
 */
static void
reset_device_keeps_connection(void **state)
{
	struct fe *fe = new_fe();
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	uint64_t proto = VHU_BIT(VHU_PF_REPLY_ACK) |
			 VHU_BIT(VHU_PF_RESET_DEVICE) | VHU_BIT(VHU_PF_STATUS) |
			 VHU_BIT(VHU_PF_MQ);
	uint64_t f = F_BASE | VHU_BIT(VHU_F_LOG_ALL) |
		     VHU_BIT(VHU_F_RING_PACKED);
	unsigned int i;

	(void)state;
	fe_negotiate(fe, f, proto);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_STATUS,
				    VHU_STATUS_FEATURES_OK, true), 0);
	assert_int_equal(vhu_dev_features(fe->dev), f);
	assert_true(dp->log_all);
	assert_true(vhu_dev_vring(fe->dev, 0)->packed);
	fe_send(fe, VHU_REQ_RESET_DEVICE, VHU_VERSION | VHU_FLAG_NEED_REPLY,
		NULL, 0, NULL, 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_RESET_DEVICE), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 0);
	assert_int_equal(vhu_dev_protocol_features(fe->dev), proto);
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	assert_int_equal(dp->features, 0);
	assert_false(dp->log_all);
	assert_int_equal(vhu_dev_status(fe->dev), 0);
	/*
	 * The rings are back to their initial state too: stopped, and in
	 * the layout of a device with no features negotiated (split).
	 */
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++) {
		struct vhu_vring *vr = vhu_dev_vring(fe->dev, i);

		assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
		assert_false(vr->packed);
	}
	/* Protocol features still in force: STATUS and REPLY_ACK answer. */
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_STATUS), 0);
	assert_int_equal(fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, true),
			 0);
	assert_int_equal(vhu_dev_features(fe->dev), F_BASE);
	fe_free(fe);
}

/* After RESET_DEVICE a ring base is read as on a fresh connection. */
static void
reset_device_ring_layout_follows(void **state)
{
	struct fe *fresh = new_fe(), *fe = new_fe();
	uint64_t proto = VHU_BIT(VHU_PF_REPLY_ACK) |
			 VHU_BIT(VHU_PF_RESET_DEVICE);

	(void)state;
	/* Fresh: no features yet, a split base must fit 16 bits. */
	fe_set_u64(fresh, VHU_REQ_SET_PROTOCOL_FEATURES, proto, false);
	fe_set_state(fresh, VHU_REQ_SET_VRING_BASE, 0, 0x18005, false);
	fe_assert_violation(fresh, VHU_RULE_VALUE);
	fe_free(fresh);

	fe_negotiate(fe, F_BASE | VHU_BIT(VHU_F_RING_PACKED), proto);
	fe_send(fe, VHU_REQ_RESET_DEVICE, VHU_VERSION, NULL, 0, NULL, 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, 0x18005, false);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	fe_free(fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_features_is_params_plus_protocol_bit),
		cmocka_unit_test(set_features_subset_is_published),
		cmocka_unit_test(set_features_not_offered),
		cmocka_unit_test(protocol_features_before_set_features),
		cmocka_unit_test(protocol_features_custom_mask),
		cmocka_unit_test(inband_needs_backend_req_and_reply_ack),
		cmocka_unit_test(features_frozen_while_ring_runs),
		cmocka_unit_test(first_set_features_frozen_under_running_ring),
		cmocka_unit_test(log_all_toggles_while_ring_runs),
		cmocka_unit_test(get_queue_num),
		cmocka_unit_test(status_round_trip),
		cmocka_unit_test(set_owner_accepted),
		cmocka_unit_test(reset_device_keeps_connection),
		cmocka_unit_test(reset_device_ring_layout_follows),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
