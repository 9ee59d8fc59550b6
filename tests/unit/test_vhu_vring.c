/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue control, against the spec's "Ring states": a ring starts on
 * a kick (eventfd, polling flag or in-band VRING_KICK), is disabled or
 * enabled by SET_VRING_ENABLE (or enabled at once without protocol
 * features), and stops on GET_VRING_BASE, RESET_OWNER, RESET_DEVICE or a
 * disconnect. Also the value, index and state rules of every ring
 * message, split and packed bases, and the call/err notifications.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define MEM_SIZE	(4u << 20)
#define RING_GPA(i)	(0x100000ULL + (uint64_t)(i) * 0x40000)
#define F_PROTO		(VHU_BIT(VHU_F_VERSION_1) | \
			 VHU_BIT(VHU_F_PROTOCOL_FEATURES))
#define F_LEGACY	VHU_BIT(VHU_F_VERSION_1)
#define F_PACKED	(F_PROTO | VHU_BIT(VHU_F_RING_PACKED))
#define PF_INBAND	(VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS) | \
			 VHU_BIT(VHU_PF_BACKEND_REQ) | \
			 VHU_BIT(VHU_PF_REPLY_ACK))
#define VRING_F_LOG	(1u << VHU_VRING_F_LOG)

/* A device with one memory region of MEM_SIZE at guest address 0. */
static struct fe *
new_fe(uint64_t features, uint64_t proto)
{
	struct fe *fe = fe_new_negotiated(features, proto);

	assert_non_null(fe_add_region(fe, 0, MEM_SIZE));
	fe_send_mem_table(fe, false);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_features(fe->dev), features);
	return fe;
}

/* Every protocol feature offered but in-band notifications, postcopy. */
static uint64_t
all_proto(struct fe *fe)
{
	return vhu_dev_protocol_features_offered(fe->dev) &
	       ~VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS) &
	       ~VHU_BIT(VHU_PF_PAGEFAULT);
}

static struct fe *
new_fe_all_proto(uint64_t features)
{
	struct fe *fe = fe_new();

	assert_non_null(fe);
	assert_non_null(fe_add_region(fe, 0, MEM_SIZE));
	fe_negotiate(fe, features, all_proto(fe));
	fe_send_mem_table(fe, false);
	assert_true(vhu_dev_connected(fe->dev));
	return fe;
}

/* NUM, BASE and ADDR for ring idx, laid out in guest memory. */
static struct vhu_vring *
setup_ring(struct fe *fe, uint32_t idx, uint16_t size, uint32_t base,
	   struct fe_ring *r)
{
	bool packed = (vhu_dev_features(fe->dev) &
		       VHU_BIT(VHU_F_RING_PACKED)) != 0;

	fe_ring_layout(r, RING_GPA(idx), size, packed);
	fe_ring_setup(fe, idx, r, base, 0, 0);
	return vhu_dev_vring(fe->dev, idx);
}

/* SET_VRING_KICK with a new eventfd; returns the front-end's copy. */
static int
set_kick_fd(struct fe *fe, uint32_t idx)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(efd >= 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, idx, efd, false);
	return efd;
}

static void
set_enable(struct fe *fe, uint32_t idx, uint32_t on)
{
	fe_set_state(fe, VHU_REQ_SET_VRING_ENABLE, idx, on, false);
}

static uint16_t *
used_idx_ptr(struct fe *fe, const struct fe_ring *r)
{
	return (uint16_t *)(void *)(fe_ptr(fe, r->used) + 2);
}

/* GET_VRING_BASE and its reply. */
static uint32_t
get_base(struct fe *fe, uint32_t idx)
{
	struct vhu_vring_state s = { .index = idx, .num = 0 };
	struct vhu_msg m;

	fe_send(fe, VHU_REQ_GET_VRING_BASE, VHU_VERSION, &s, sizeof(s),
		NULL, 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_GET_VRING_BASE);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, sizeof(m.payload.state));
	assert_int_equal(m.payload.state.index, idx);
	return m.payload.state.num;
}

static void
send_u64_fd(struct fe *fe, uint32_t req, uint64_t v, int fd)
{
	fe_send(fe, req, VHU_VERSION, &v, sizeof(v), &fd, fd < 0 ? 0 : 1);
}

static void
assert_no_violation(struct fe *fe)
{
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	assert_true(vhu_dev_connected(fe->dev));
	assert_false(fe_closed(fe));
}

/*
 * With protocol features: stopped until the kick eventfd is readable,
 * then started but disabled; SET_VRING_ENABLE moves it between disabled
 * and enabled, and the application hears of every change.
 */
static void
states_with_protocol_features(void **state)
{
	struct fe *fe = new_fe(F_PROTO, VHU_BIT(VHU_PF_REPLY_ACK));
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick, dev_kick;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	kick = set_kick_fd(fe, 0);
	dev_kick = vr->kick_fd;
	assert_true(dev_kick >= 0);
	assert_true(fe_watched(fe, dev_kick, VHU_EV_IN));
	/* Setting up is not starting. */
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_false(vr->started);
	assert_int_equal(fe->state_changes, 0);

	/* A readiness event with nothing to read is not a kick. */
	vhu_dev_handle_event(fe->dev, dev_kick, VHU_EV_IN);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);

	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_true(vr->started);
	assert_false(vr->enabled);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_int_equal(fe->state_changes, 1);
	assert_false(fe_watched(fe, dev_kick, VHU_EV_IN));
	assert_ptr_not_equal(vr->desc, NULL);
	assert_ptr_not_equal(vr->avail, NULL);
	assert_ptr_not_equal(vr->used, NULL);

	set_enable(fe, 0, 1);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state[0], VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, 2);

	set_enable(fe, 0, 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_int_equal(fe->state_changes, 3);

	/* No change, no callback. */
	set_enable(fe, 0, 0);
	assert_int_equal(fe->state_changes, 3);
	/* Another kick of a running ring changes nothing either. */
	fe_kick(fe, kick);
	assert_int_equal(fe->state_changes, 3);

	/* The other rings were never touched. */
	assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 1)),
			 VHU_RING_STOPPED);
	assert_no_violation(fe);
	close(kick);
	fe_free(fe);
}

/* Enabled while stopped: no callback until it starts, then ENABLED. */
static void
enable_before_start(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick;

	(void)state;
	vr = setup_ring(fe, 1, 256, 0, &r);
	set_enable(fe, 1, 1);
	assert_true(vr->enabled);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 0);
	kick = set_kick_fd(fe, 1);
	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state[1], VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, 1);
	assert_no_violation(fe);
	close(kick);
	fe_free(fe);
}

/* Without VHOST_USER_F_PROTOCOL_FEATURES a ring starts enabled. */
static void
starts_enabled_without_protocol_features(void **state)
{
	struct fe *fe = new_fe(F_LEGACY, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	kick = set_kick_fd(fe, 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 0);
	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state[0], VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, 1);
	assert_no_violation(fe);
	close(kick);
	fe_free(fe);
}

/* SET_FEATURES without bit 30 enables every ring of the device. */
static void
set_features_without_protocol_enables_all(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct fe_ring r;
	unsigned int i, n = vhu_dev_nr_vrings(fe->dev);

	(void)state;
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_false(vhu_dev_vring(fe->dev, i)->enabled);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_LEGACY, false);
	assert_int_equal(vhu_dev_features(fe->dev), F_LEGACY);
	for (i = 0; i < n; i++) {
		assert_true(vhu_dev_vring(fe->dev, i)->enabled);
		/* Still stopped: enabling is not starting. */
		assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, i)),
				 VHU_RING_STOPPED);
	}
	assert_int_equal(fe->state_changes, 0);

	setup_ring(fe, 2, 256, 0, &r);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 2, -1, false);
	assert_int_equal(fe->state[2], VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, 1);
	assert_no_violation(fe);
	fe_free(fe);
}

/*
 * A second SET_VRING_KICK before the start replaces the first fd: the
 * old one is closed and unwatched, only the new one starts the ring.
 * GET_VRING_BASE of a ring that never started drops its kick fd too.
 */
static void
kick_fd_replaced_before_start(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick1, kick2, dev1, dev2, nfds;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	kick1 = set_kick_fd(fe, 0);
	dev1 = vr->kick_fd;
	nfds = fe_count_fds();
	kick2 = set_kick_fd(fe, 0);
	dev2 = vr->kick_fd;
	/* One more fd of ours; the device swapped its copy. */
	assert_int_equal(fe_count_fds(), nfds + 1);
	assert_true(fe_watched(fe, dev2, VHU_EV_IN));
	assert_int_not_equal(dev1, dev2);
	assert_false(fe_watched(fe, dev1, VHU_EV_IN));
	fe_kick(fe, kick1);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 0);

	/* Stopping a ring that never started still drops its kick fd. */
	assert_int_equal(get_base(fe, 0), 0);
	assert_int_equal(vr->kick_fd, -1);
	assert_false(fe_watched(fe, dev2, VHU_EV_IN));
	assert_int_equal(fe_count_fds(), nfds);
	assert_int_equal(fe->state_changes, 0);
	fe_kick(fe, kick2);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);

	close(kick1);
	kick1 = set_kick_fd(fe, 0);
	fe_kick(fe, kick1);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_no_violation(fe);
	close(kick1);
	close(kick2);
	fe_free(fe);
}

/* The invalid-fd flag with no fd: polling, the ring starts at once. */
static void
polling_mode_starts_at_once(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	unsigned int nwatch;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	nwatch = fe->nwatch;
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_int_equal(fe->state_changes, 1);
	assert_int_equal(vr->kick_fd, -1);
	assert_true(vr->kick_set);
	assert_int_equal(fe->nwatch, nwatch);
	assert_no_violation(fe);
	fe_free(fe);
}

/* The fd rule of SET_VRING_KICK/CALL/ERR, and their reserved bits. */
static void
vring_fd_rules(void **state)
{
	static const uint32_t reqs[] = {
		VHU_REQ_SET_VRING_KICK, VHU_REQ_SET_VRING_CALL,
		VHU_REQ_SET_VRING_ERR,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct fe *fe;
		int efd = eventfd(0, EFD_CLOEXEC), base;

		print_message("# %s\n", vhu_request_name(reqs[i]));
		/* Invalid-fd flag, but an fd came along: refused, closed. */
		fe = new_fe(F_PROTO, 0);
		base = fe_count_fds();
		send_u64_fd(fe, reqs[i], 0 | VHU_VRING_NOFD_MASK, efd);
		fe_assert_violation(fe, VHU_RULE_FDS);
		/* Its socket and memory fd went; its copy of efd too. */
		assert_int_equal(fe_count_fds(), base - 2);
		fe_free(fe);

		/* No flag and no fd. */
		fe = new_fe(F_PROTO, 0);
		send_u64_fd(fe, reqs[i], 1, -1);
		fe_assert_violation(fe, VHU_RULE_FDS);
		fe_free(fe);

		/* Reserved bits above the flag, with or without an fd. */
		fe = new_fe(F_PROTO, 0);
		send_u64_fd(fe, reqs[i], 1 | (1u << 9), efd);
		fe_assert_violation(fe, VHU_RULE_VALUE);
		fe_free(fe);

		fe = new_fe(F_PROTO, 0);
		send_u64_fd(fe, reqs[i], VHU_VRING_NOFD_MASK | (1ULL << 63),
			    -1);
		fe_assert_violation(fe, VHU_RULE_VALUE);
		fe_free(fe);
		close(efd);
	}
}

/* In-band VRING_KICK starts a ring like a readable kick fd. */
static void
inband_kick_starts_ring(void **state)
{
	struct fe *fe = new_fe(F_PROTO, PF_INBAND);
	struct vhu_vring *vr;
	struct fe_ring r;

	(void)state;
	assert_int_equal(vhu_dev_protocol_features(fe->dev), PF_INBAND);
	vr = setup_ring(fe, 1, 256, 0, &r);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe_set_state(fe, VHU_REQ_VRING_KICK, 1, 0, true), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_int_equal(fe->state[1], VHU_RING_DISABLED);
	assert_int_equal(fe->state_changes, 1);
	/* Again on a running ring: acked, nothing changes. */
	assert_int_equal(fe_set_state(fe, VHU_REQ_VRING_KICK, 1, 0, true), 0);
	assert_int_equal(fe->state_changes, 1);
	assert_no_violation(fe);
	fe_free(fe);
}

static void
inband_kick_num_must_be_zero(void **state)
{
	struct fe *fe = new_fe(F_PROTO, PF_INBAND);
	struct vhu_vring *vr;
	struct fe_ring r;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	fe_set_state(fe, VHU_REQ_VRING_KICK, 0, 1, false);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 0);
	fe_free(fe);
}

/*
 * The spec: negotiating INBAND_NOTIFICATIONS without BACKEND_REQ and
 * REPLY_ACK is an error the back-end answers by closing the connection.
 */
static void
inband_needs_backend_req_and_reply_ack(void **state)
{
	static const uint64_t bad[] = {
		VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS),
		VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS) |
			VHU_BIT(VHU_PF_BACKEND_REQ),
		VHU_BIT(VHU_PF_INBAND_NOTIFICATIONS) |
			VHU_BIT(VHU_PF_REPLY_ACK),
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fe *fe = fe_new();

		assert_non_null(fe);
		fe_get_u64(fe, VHU_REQ_GET_FEATURES);
		fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
		fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, bad[i], false);
		fe_assert_violation(fe, VHU_RULE_FEATURE);
		assert_int_equal(vhu_dev_protocol_features(fe->dev), 0);
		fe_free(fe);
	}
}

static void
inband_kick_without_feature(void **state)
{
	struct fe *fe = new_fe(F_PROTO, VHU_BIT(VHU_PF_REPLY_ACK) |
			       VHU_BIT(VHU_PF_BACKEND_REQ));
	struct vhu_vring *vr;
	struct fe_ring r;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	fe_set_state(fe, VHU_REQ_VRING_KICK, 0, 0, false);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	fe_free(fe);
}

/* GET_VRING_BASE stops the ring, answers its base, drops the kick fd. */
static void
get_base_stops_split_ring(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick, dev_kick, nfds;

	(void)state;
	vr = setup_ring(fe, 0, 256, 42, &r);
	*used_idx_ptr(fe, &r) = 42;
	kick = set_kick_fd(fe, 0);
	dev_kick = vr->kick_fd;
	fe_kick(fe, kick);
	set_enable(fe, 0, 1);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, 2);

	nfds = fe_count_fds();
	assert_int_equal(get_base(fe, 0), 42);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_false(vr->started);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 3);
	/* Its copy of the kick fd is closed and no longer watched. */
	assert_int_equal(vr->kick_fd, -1);
	assert_int_equal(fe_count_fds(), nfds - 1);
	assert_false(fe_watched(fe, dev_kick, VHU_EV_IN));

	/* A kick on the old eventfd no longer starts it. */
	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);

	/* A second GET_VRING_BASE of a stopped ring: same base, no event. */
	assert_int_equal(get_base(fe, 0), 42);
	assert_int_equal(fe->state_changes, 3);
	assert_no_violation(fe);
	close(kick);
	fe_free(fe);
}

/*
 * Packed ring bases: bits 0-14 avail index, bit 15 its wrap counter,
 * bits 16-30 used index, bit 31 its wrap counter. A base of 16 bits
 * only means the used index and wrap counter equal the avail ones.
 */
static void
get_base_packed_wrap_counters(void **state)
{
	struct fe *fe = new_fe(F_PACKED, 0);
	const uint32_t base = 5 | 0u << 15 | 3u << 16 | 1u << 31;
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick;

	(void)state;
	vr = setup_ring(fe, 0, 100, base, &r);
	assert_true(vr->packed);
	assert_int_equal(vr->last_avail_idx, 5);
	assert_false(vr->avail_wrap);
	assert_int_equal(vr->last_used_idx, 3);
	assert_true(vr->used_wrap);

	kick = set_kick_fd(fe, 0);
	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	/* Starting a packed ring leaves the base as it was set. */
	assert_int_equal(vr->last_avail_idx, 5);
	assert_int_equal(vr->last_used_idx, 3);

	assert_int_equal(get_base(fe, 0), base);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	close(kick);

	/* Restart from a 16-bit base: avail 7, wrap 1. */
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, 7 | 1u << 15, false);
	assert_int_equal(vr->last_avail_idx, 7);
	assert_true(vr->avail_wrap);
	assert_int_equal(vr->last_used_idx, 7);
	assert_true(vr->used_wrap);
	kick = set_kick_fd(fe, 0);
	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_int_equal(get_base(fe, 0),
			 7 | 1u << 15 | 7u << 16 | 1u << 31);

	/* And a 16-bit base with the wrap counter clear. */
	fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, 9, false);
	assert_int_equal(vr->last_used_idx, 9);
	assert_false(vr->used_wrap);
	assert_int_equal(get_base(fe, 0), 9 | 9u << 16);
	assert_no_violation(fe);
	close(kick);
	fe_free(fe);
}

/*
 * A split ring continues from the used index in guest memory: equal to
 * the base, nothing moves; different, the avail index follows it.
 */
static void
split_start_syncs_used_idx(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr0, *vr1;
	struct fe_ring r0, r1;

	(void)state;
	vr0 = setup_ring(fe, 0, 256, 10, &r0);
	*used_idx_ptr(fe, &r0) = 10;
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	assert_true(vr0->started);
	assert_int_equal(vr0->last_avail_idx, 10);
	assert_int_equal(vr0->last_used_idx, 10);

	vr1 = setup_ring(fe, 1, 256, 10, &r1);
	assert_int_equal(vr1->last_used_idx, 10);
	*used_idx_ptr(fe, &r1) = 7;
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 1, -1, false);
	assert_true(vr1->started);
	assert_int_equal(vr1->last_used_idx, 7);
	assert_int_equal(vr1->last_avail_idx, 7);

	/* The ring is mapped where the front-end put it. */
	fe_ptr(fe, r1.desc)[0] = 0xa5;
	fe_ptr(fe, r1.avail)[2] = 0x5a;
	assert_int_equal(((uint8_t *)vr1->desc)[0], 0xa5);
	assert_int_equal(((uint8_t *)vr1->avail)[2], 0x5a);
	assert_int_equal(((uint16_t *)vr1->used)[1], 7);
	assert_int_equal(get_base(fe, 1), 7);
	/* Stopped, it keeps no pointers into memory that may go away. */
	assert_null(vr1->desc);
	assert_null(vr1->avail);
	assert_null(vr1->used);
	assert_no_violation(fe);
	fe_free(fe);
}

/* Packed descriptor flags: AVAIL (7), USED (15), NEXT (0). */
#define PF_AVAIL	(1u << 7)
#define PF_USED		(1u << 15)
#define PF_NEXT		1u
#define SYNC_SIZE	16

/*
 * A packed ring of SYNC_SIZE slots whose flags are flags[], started at
 * base: where its avail and used positions (and wrap counters) end up.
 */
static void
packed_sync_case(const char *what, uint64_t features, uint32_t base,
		 const uint16_t *flags, uint16_t pos, bool wrap)
{
	struct vhu_dev_params p;
	struct vhu_vring *vr;
	struct fe_ring r;
	unsigned int i;
	struct fe *fe;

	print_message("# %s\n", what);
	fe_default_params(&p);
	p.features |= features;		/* IN_ORDER is not offered by default */
	fe = fe_new_params(&p);
	assert_non_null(fe);
	fe_negotiate(fe, features, 0);
	assert_int_equal(vhu_dev_features(fe->dev), features);
	assert_non_null(fe_add_region(fe, 0, MEM_SIZE));
	fe_send_mem_table(fe, false);
	fe_ring_layout(&r, RING_GPA(0), SYNC_SIZE, true);
	for (i = 0; i < SYNC_SIZE; i++)
		memcpy(fe_ptr(fe, r.desc) + 16 * i + 14, &flags[i], 2);
	fe_ring_setup(fe, 0, &r, base, 0, 0);
	vr = vhu_dev_vring(fe->dev, 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	assert_true(vr->started);
	assert_int_equal(vr->last_avail_idx, pos);
	assert_int_equal(vr->last_used_idx, pos);
	assert_int_equal(vr->avail_wrap, wrap);
	assert_int_equal(vr->used_wrap, wrap);
	assert_no_violation(fe);
	fe_free(fe);
}

/*
 * A packed ring started at (0, wrap 1) whose USED bits show a device that
 * got further (a front-end that lost its back-end and sends the base it
 * began with) continues where those bits split; where they do not show
 * one split, or show a chain, or the base is another, or buffers are
 * returned in order, the base stands.
 */
static void
packed_start_syncs_from_used_flags(void **state)
{
	const uint32_t first = 0 | 1u << 15;
	uint16_t f[SYNC_SIZE];
	unsigned int i;

	(void)state;
	memset(f, 0, sizeof(f));
	packed_sync_case("fresh ring", F_PACKED, first, f, 0, true);
	for (i = 0; i < SYNC_SIZE; i++)		/* all posted, lap 1 */
		f[i] = PF_AVAIL;
	packed_sync_case("all available", F_PACKED, first, f, 0, true);
	for (i = 0; i < 5; i++)			/* 5 used in lap 1 */
		f[i] = PF_AVAIL | PF_USED;
	packed_sync_case("5 used", F_PACKED, first, f, 5, true);
	for (i = 0; i < 3; i++)			/* 3 posted again, lap 0 */
		f[i] = PF_USED;
	packed_sync_case("5 used, 3 posted again", F_PACKED, first, f, 5,
			 true);
	packed_sync_case("another base", F_PACKED, 2 | 1u << 15, f, 2, true);
	packed_sync_case("in order", F_PACKED | VHU_BIT(VHU_F_IN_ORDER),
			 first, f, 0, true);
	f[9] |= PF_NEXT;
	packed_sync_case("a chain", F_PACKED, first, f, 0, true);
	f[9] &= ~PF_NEXT;
	f[11] = PF_AVAIL | PF_USED;
	packed_sync_case("two splits", F_PACKED, first, f, 0, true);
	for (i = 0; i < SYNC_SIZE; i++)		/* the whole lap 1 used */
		f[i] = PF_AVAIL | PF_USED;
	packed_sync_case("lap 1 used", F_PACKED, first, f, 0, false);
	for (i = 0; i < 4; i++)			/* 4 used in lap 0 */
		f[i] = 0;
	packed_sync_case("lap 0, 4 used", F_PACKED, first, f, 4, false);
}

/* A ring index past 2 * max_queue_pairs is refused by every message. */
static void
index_out_of_range(void **state)
{
	static const uint32_t reqs[] = {
		VHU_REQ_SET_VRING_NUM, VHU_REQ_SET_VRING_ADDR,
		VHU_REQ_SET_VRING_BASE, VHU_REQ_GET_VRING_BASE,
		VHU_REQ_SET_VRING_KICK, VHU_REQ_SET_VRING_CALL,
		VHU_REQ_SET_VRING_ERR, VHU_REQ_SET_VRING_ENABLE,
		VHU_REQ_SET_VRING_ENDIAN,
	};
	static const uint32_t bad_idx[] = { 4, 255 };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		for (j = 0; j < sizeof(bad_idx) / sizeof(bad_idx[0]); j++) {
			struct fe *fe = new_fe_all_proto(F_PROTO);
			uint32_t idx = bad_idx[j], req = reqs[i];

			assert_int_equal(vhu_dev_nr_vrings(fe->dev), 4);
			print_message("# %s index %u\n",
				      vhu_request_name(req), idx);
			switch (req) {
			case VHU_REQ_SET_VRING_ADDR:
				fe_vring_addr(fe, idx, 0, 0x1000, 0x2000,
					      0x3000, 0);
				break;
			case VHU_REQ_SET_VRING_KICK:
			case VHU_REQ_SET_VRING_CALL:
			case VHU_REQ_SET_VRING_ERR:
				send_u64_fd(fe, req,
					    idx | VHU_VRING_NOFD_MASK, -1);
				break;
			default:
				fe_set_state(fe, req, idx, req ==
					     VHU_REQ_SET_VRING_NUM ? 256 : 0,
					     false);
				break;
			}
			fe_assert_violation(fe, VHU_RULE_INDEX);
			fe_free(fe);
		}
	}
}

static void
inband_kick_index_out_of_range(void **state)
{
	struct fe *fe = new_fe(F_PROTO, PF_INBAND);

	(void)state;
	fe_set_state(fe, VHU_REQ_VRING_KICK, 4, 0, false);
	fe_assert_violation(fe, VHU_RULE_INDEX);
	fe_free(fe);
}

/* SET_VRING_NUM: 1..32768, a power of 2 for split rings. */
static void
vring_num_values(void **state)
{
	static const uint32_t bad[] = { 0, 32769, 65536, 100, 0xffffffffu };
	static const uint32_t good[] = { 1, 2, 256, 32768 };
	struct fe *fe;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fe = new_fe(F_PROTO, 0);
		print_message("# num %u\n", bad[i]);
		fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, bad[i], false);
		fe_assert_violation(fe, VHU_RULE_VALUE);
		assert_false(vhu_dev_vring(fe->dev, 0)->num_set);
		fe_free(fe);
	}
	fe = new_fe(F_PROTO, 0);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, good[i], false);
		assert_int_equal(vhu_dev_vring(fe->dev, 0)->size, good[i]);
	}
	assert_no_violation(fe);
	fe_free(fe);
}

/*
 * Before SET_FEATURES the layout is unknown and any size up to 32768
 * passes SET_VRING_NUM; a split ring with such a size cannot start.
 */
static void
split_size_checked_at_start(void **state)
{
	struct fe *fe = fe_new();
	struct fe_ring r;

	(void)state;
	assert_non_null(fe);
	assert_non_null(fe_add_region(fe, 0, MEM_SIZE));
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, 100, false);
	assert_true(vhu_dev_vring(fe->dev, 0)->num_set);
	assert_no_violation(fe);
	fe_negotiate(fe, F_PROTO, 0);
	fe_send_mem_table(fe, false);
	fe_ring_layout(&r, RING_GPA(0), 100, false);
	fe_vring_addr(fe, 0, 0, fe_uva(fe, r.desc), fe_uva(fe, r.avail),
		      fe_uva(fe, r.used), 0);
	assert_no_violation(fe);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	assert_int_equal(fe->state_changes, 0);
	fe_free(fe);
}

/* NUM and BASE may not change under a running ring. */
static void
num_and_base_on_started_ring(void **state)
{
	static const uint32_t reqs[] = {
		VHU_REQ_SET_VRING_NUM, VHU_REQ_SET_VRING_BASE,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct fe *fe = new_fe(F_PROTO, 0);
		struct vhu_vring *vr;
		struct fe_ring r;

		vr = setup_ring(fe, 0, 256, 0, &r);
		fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
		assert_true(vr->started);
		fe_set_state(fe, reqs[i], 0, 128, false);
		fe_assert_violation(fe, VHU_RULE_STATE);
		fe_free(fe);
	}
}

/* SET_VRING_ADDR: only VHOST_VRING_F_LOG is a known flag; alignment. */
static void
vring_addr_values(void **state)
{
	static const struct {
		uint32_t flags;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 1u << 1, 0x1000, 0x2000, 0x3000 },
		{ 1u << 31, 0x1000, 0x2000, 0x3000 },
		{ 0, 0x1008, 0x2000, 0x3000 },	/* desc: 16 bytes */
		{ 0, 0x1000, 0x2001, 0x3000 },	/* avail: 2 bytes */
		{ 0, 0x1000, 0x2000, 0x3002 },	/* used: 4 bytes */
	};
	struct fe *fe;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fe = new_fe(F_PROTO, 0);
		fe_vring_addr(fe, 0, bad[i].flags, bad[i].desc, bad[i].avail,
			      bad[i].used, 0);
		fe_assert_violation(fe, VHU_RULE_VALUE);
		assert_false(vhu_dev_vring(fe->dev, 0)->addr_set);
		fe_free(fe);
	}
	/* The smallest alignments the split layout allows are fine. */
	fe = new_fe(F_PROTO, 0);
	fe_vring_addr(fe, 0, VRING_F_LOG, 0x1010, 0x2002, 0x3004, 0x5000);
	assert_true(vhu_dev_vring(fe->dev, 0)->addr_set);
	assert_no_violation(fe);
	fe_free(fe);
}

/* A kick for a ring without a size or addresses breaks the order. */
static void
kick_before_num_and_addr(void **state)
{
	struct fe *fe;
	struct fe_ring r;
	int kick;

	(void)state;
	/* Polling: the start is at SET_VRING_KICK itself. */
	fe = new_fe(F_PROTO, 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	assert_int_equal(fe->state_changes, 0);
	fe_free(fe);

	/* A size but no addresses. */
	fe = new_fe(F_PROTO, 0);
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, 256, false);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	fe_free(fe);

	/* Addresses but no size. */
	fe = new_fe(F_PROTO, 0);
	fe_ring_layout(&r, RING_GPA(0), 256, false);
	fe_vring_addr(fe, 0, 0, fe_uva(fe, r.desc), fe_uva(fe, r.avail),
		      fe_uva(fe, r.used), 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	fe_free(fe);

	/* An eventfd: the violation comes with the kick itself. */
	fe = new_fe(F_PROTO, 0);
	kick = set_kick_fd(fe, 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_kick(fe, kick);
	fe_assert_violation(fe, VHU_RULE_STATE);
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe->state_changes, 0);
	close(kick);
	fe_free(fe);
}

/*
 * Ring areas outside the memory table: the kick that starts the ring
 * finds them unmapped and the connection ends.
 */
static void
unmapped_ring_closes_connection(void **state)
{
	struct fe *fe;
	struct fe_ring r;
	uint64_t end;
	int kick;

	(void)state;
	/* Wholly outside. */
	fe = new_fe(F_PROTO, 0);
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, 256, false);
	end = fe_uva(fe, 0) + MEM_SIZE;
	fe_vring_addr(fe, 0, 0, end, end + 0x1000, end + 0x2000, 0);
	kick = set_kick_fd(fe, 0);
	assert_true(vhu_dev_connected(fe->dev));
	fe_kick(fe, kick);
	fe_assert_violation(fe, VHU_RULE_UNMAPPED);
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe->state_changes, 0);
	close(kick);
	fe_free(fe);

	/* The used ring runs past the end of the region. */
	fe = new_fe(F_PROTO, 0);
	fe_ring_layout(&r, RING_GPA(0), 256, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, 256, false);
	fe_vring_addr(fe, 0, 0, fe_uva(fe, r.desc), fe_uva(fe, r.avail),
		      fe_uva(fe, 0) + MEM_SIZE - 0x800, 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_assert_violation(fe, VHU_RULE_UNMAPPED);
	assert_int_equal(fe->state_changes, 0);
	fe_free(fe);

	/* No memory table at all. */
	fe = fe_new();
	assert_non_null(fe);
	fe_negotiate(fe, F_PROTO, 0);
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, 256, false);
	fe_vring_addr(fe, 0, 0, 0x10000, 0x11000, 0x12000, 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_assert_violation(fe, VHU_RULE_UNMAPPED);
	fe_free(fe);
}

/*
 * Migration toggles VHOST_VRING_F_LOG with SET_VRING_ADDR on a running
 * ring: it keeps running, and used-ring logging follows the flag.
 */
static void
addr_on_running_ring_toggles_log(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	void *desc, *avail, *used;
	unsigned int changes;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	set_enable(fe, 0, 1);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_false(vr->log_used);
	desc = vr->desc;
	avail = vr->avail;
	used = vr->used;
	changes = fe->state_changes;

	fe_vring_addr(fe, 0, VRING_F_LOG, fe_uva(fe, r.desc),
		      fe_uva(fe, r.avail), fe_uva(fe, r.used), r.used);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, changes);
	assert_true(vr->log_used);
	assert_int_equal(vr->log_guest_addr, r.used);
	assert_ptr_equal(vr->desc, desc);
	assert_ptr_equal(vr->avail, avail);
	assert_ptr_equal(vr->used, used);

	fe_vring_addr(fe, 0, 0, fe_uva(fe, r.desc), fe_uva(fe, r.avail),
		      fe_uva(fe, r.used), 0);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, changes);
	assert_false(vr->log_used);
	assert_int_equal(vr->log_guest_addr, 0);
	assert_no_violation(fe);
	fe_free(fe);
}

static uint64_t
read_eventfd(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* SET_VRING_CALL/ERR: the back-end signals the front-end's eventfds. */
static void
call_and_err_fds(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 1);
	int call1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int call2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int base;

	(void)state;
	/* Nothing set: nowhere to signal, and no in-band channel. */
	assert_true(vhu_vring_call(vr) < 0);
	assert_true(vhu_vring_signal_error(vr) < 0);

	fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 1, call1, false);
	assert_true(vr->call_fd >= 0);
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(read_eventfd(call1), 1);
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(read_eventfd(call1), 2);
	/* The error fd is separate. */
	assert_true(vhu_vring_signal_error(vr) < 0);

	/* A new call fd replaces the old one, which the device closes. */
	base = fe_count_fds();
	fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 1, call2, false);
	assert_int_equal(fe_count_fds(), base);
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(read_eventfd(call2), 1);
	assert_int_equal(read_eventfd(call1), 0);

	/* The invalid-fd flag drops it: calls fail, no in-band fallback. */
	fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 1, -1, false);
	assert_int_equal(fe_count_fds(), base - 1);
	assert_int_equal(vr->call_fd, -1);
	assert_true(vhu_vring_call(vr) < 0);
	assert_int_equal(read_eventfd(call2), 0);

	fe_vring_fd(fe, VHU_REQ_SET_VRING_ERR, 1, err, false);
	assert_true(vr->err_fd >= 0);
	assert_int_equal(vhu_vring_signal_error(vr), 0);
	assert_int_equal(read_eventfd(err), 1);
	assert_true(vhu_vring_call(vr) < 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_ERR, 1, -1, false);
	assert_int_equal(vr->err_fd, -1);
	assert_true(vhu_vring_signal_error(vr) < 0);
	assert_int_equal(fe_count_fds(), base - 1);
	assert_no_violation(fe);
	close(call1);
	close(call2);
	close(err);
	fe_free(fe);
}

/* SET_VRING_ENDIAN: 0 little, 1 big, before the ring starts. */
static void
vring_endian(void **state)
{
	uint64_t pf = VHU_BIT(VHU_PF_CROSS_ENDIAN);
	struct fe *fe;
	struct fe_ring r;
	struct vhu_vring *vr;

	(void)state;
	fe = new_fe(F_PROTO, pf);
	vr = vhu_dev_vring(fe->dev, 1);
	fe_set_state(fe, VHU_REQ_SET_VRING_ENDIAN, 1, 1, false);
	assert_true(vr->big_endian);
	fe_set_state(fe, VHU_REQ_SET_VRING_ENDIAN, 1, 0, false);
	assert_false(vr->big_endian);
	fe_set_state(fe, VHU_REQ_SET_VRING_ENDIAN, 1, 1, false);
	assert_true(vr->big_endian);
	assert_false(vhu_dev_vring(fe->dev, 0)->big_endian);
	assert_no_violation(fe);
	fe_set_state(fe, VHU_REQ_SET_VRING_ENDIAN, 1, 2, false);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	fe_free(fe);

	fe = new_fe(F_PROTO, pf);
	setup_ring(fe, 0, 256, 0, &r);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_ENDIAN, 0, 1, false);
	fe_assert_violation(fe, VHU_RULE_STATE);
	fe_free(fe);

	fe = new_fe(F_PROTO, VHU_BIT(VHU_PF_REPLY_ACK));
	fe_set_state(fe, VHU_REQ_SET_VRING_ENDIAN, 0, 1, false);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	assert_false(vhu_dev_vring(fe->dev, 0)->big_endian);
	fe_free(fe);
}

static void
vring_enable_rules(void **state)
{
	struct fe *fe;

	(void)state;
	/* Neither SET_PROTOCOL_FEATURES nor bit 30 in SET_FEATURES. */
	fe = new_fe(F_LEGACY, 0);
	set_enable(fe, 0, 1);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	fe_free(fe);

	fe = new_fe(F_PROTO, 0);
	set_enable(fe, 0, 2);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	assert_false(vhu_dev_vring(fe->dev, 0)->enabled);
	fe_free(fe);
}

/*
 * A front-end that reconnects may disable rings before negotiating
 * (DPDK virtio-user does): accepted, changes nothing, and the rings
 * still start disabled once PROTOCOL_FEATURES is negotiated.
 */
static void
vring_enable_before_features(void **state)
{
	struct fe *fe = fe_new();

	(void)state;
	assert_non_null(fe);
	set_enable(fe, 0, 0);
	set_enable(fe, 1, 1);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->state_changes, 0);
	assert_false(vhu_dev_vring(fe->dev, 1)->enabled);
	set_enable(fe, 0, 2);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	fe_free(fe);

	fe = new_fe(F_PROTO, 0);
	assert_false(vhu_dev_vring(fe->dev, 1)->enabled);
	fe_free(fe);
}

/*
 * QEMU enables its rings after SET_PROTOCOL_FEATURES and before
 * SET_FEATURES: the ring remembers it, stays stopped, and runs enabled
 * once it is set up and the driver is ready.
 */
static void
vring_enable_kept_before_features(void **state)
{
	struct fe *fe = fe_new();
	struct vhu_vring *vr0, *vr1;
	struct fe_ring r0, r1;
	int k0, k1;

	(void)state;
	assert_non_null(fe);
	fe_get_u64(fe, VHU_REQ_GET_FEATURES);
	fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	fe_set_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES, VHU_BIT(VHU_PF_STATUS),
		   false);
	set_enable(fe, 0, 1);
	set_enable(fe, 1, 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_true(vhu_dev_vring(fe->dev, 0)->enabled);
	assert_false(vhu_dev_vring(fe->dev, 1)->enabled);
	assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, 0)),
			 VHU_RING_STOPPED);
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_PROTO, false);
	assert_non_null(fe_add_region(fe, 0, MEM_SIZE));
	fe_send_mem_table(fe, false);
	vr0 = setup_ring(fe, 0, 256, 0, &r0);
	vr1 = setup_ring(fe, 1, 256, 0, &r1);
	k0 = set_kick_fd(fe, 0);
	k1 = set_kick_fd(fe, 1);
	fe_set_u64(fe, VHU_REQ_SET_STATUS, VHU_STATUS_DRIVER_OK, false);
	assert_int_equal(vhu_vring_state(vr0), VHU_RING_ENABLED);
	assert_int_equal(vhu_vring_state(vr1), VHU_RING_DISABLED);
	close(k0);
	close(k1);
	fe_free(fe);
}

/*
 * A ring with its kick fd starts without a kick when it is enabled, and
 * every such ring starts when the driver sets DRIVER_OK: DPDK's
 * virtio-user does not kick again after it reconnects, and a migrated
 * guest may have notifications switched off.
 */
static void
starts_when_enabled(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr0, *vr1;
	struct fe_ring r0, r1;
	int k0, k1;

	(void)state;
	vr0 = setup_ring(fe, 0, 256, 0, &r0);
	vr1 = setup_ring(fe, 1, 256, 0, &r1);
	set_enable(fe, 1, 1);		/* no kick fd yet: stays stopped */
	assert_int_equal(vhu_vring_state(vr1), VHU_RING_STOPPED);
	k0 = set_kick_fd(fe, 0);
	k1 = set_kick_fd(fe, 1);
	assert_int_equal(vhu_vring_state(vr0), VHU_RING_STOPPED);
	set_enable(fe, 0, 1);
	assert_int_equal(vhu_vring_state(vr0), VHU_RING_ENABLED);
	assert_int_equal(vhu_vring_state(vr1), VHU_RING_STOPPED);
	close(k0);
	close(k1);
	fe_free(fe);
}

static void
starts_on_driver_ok(void **state)
{
	struct fe *fe = new_fe(F_PROTO, VHU_BIT(VHU_PF_STATUS));
	struct vhu_vring *vr0, *vr1;
	struct fe_ring r0, r1;
	int k0;

	(void)state;
	vr0 = setup_ring(fe, 0, 256, 0, &r0);
	vr1 = setup_ring(fe, 1, 256, 0, &r1);	/* no kick fd */
	k0 = set_kick_fd(fe, 0);
	fe_set_u64(fe, VHU_REQ_SET_STATUS, VHU_STATUS_DRIVER_OK, false);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_vring_state(vr0), VHU_RING_DISABLED);
	assert_int_equal(vhu_vring_state(vr1), VHU_RING_STOPPED);
	close(k0);
	fe_free(fe);
}

/* RESET_OWNER (deprecated) stops and disables every ring. */
static void
reset_owner_stops_and_disables(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr0, *vr1;
	struct fe_ring r0, r1;

	(void)state;
	vr0 = setup_ring(fe, 0, 256, 0, &r0);
	vr1 = setup_ring(fe, 1, 256, 0, &r1);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 1, -1, false);
	set_enable(fe, 0, 1);
	set_enable(fe, 1, 1);
	set_enable(fe, 2, 1);	/* stopped but enabled */
	assert_int_equal(fe->state[0], VHU_RING_ENABLED);
	assert_int_equal(fe->state[1], VHU_RING_ENABLED);
	assert_int_equal(fe->state_changes, 4);

	fe_send(fe, VHU_REQ_RESET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(vhu_vring_state(vr0), VHU_RING_STOPPED);
	assert_int_equal(vhu_vring_state(vr1), VHU_RING_STOPPED);
	assert_false(vr0->enabled);
	assert_false(vr1->enabled);
	assert_false(vhu_dev_vring(fe->dev, 2)->enabled);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_int_equal(fe->state[1], VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 6);
	assert_no_violation(fe);
	fe_free(fe);
}

/*
 * RESET_DEVICE: every ring stops and forgets its setup, the device
 * features are cleared; the protocol features and the connection stay.
 */
static void
reset_device(void **state)
{
	uint64_t pf = VHU_BIT(VHU_PF_RESET_DEVICE) | VHU_BIT(VHU_PF_REPLY_ACK);
	struct fe *fe = new_fe(F_PROTO, pf);
	struct vhu_vring *vr0, *vr1;
	struct fe_ring r0, r1;
	int kick, call, nfds;
	unsigned int i;

	(void)state;
	vr0 = setup_ring(fe, 0, 256, 0, &r0);
	vr1 = setup_ring(fe, 1, 256, 0, &r1);
	kick = set_kick_fd(fe, 0);
	fe_kick(fe, kick);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 1, -1, false);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 0, call, false);
	set_enable(fe, 1, 1);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_int_equal(fe->state[1], VHU_RING_ENABLED);
	nfds = fe_count_fds();

	fe_send(fe, VHU_REQ_RESET_DEVICE, VHU_VERSION | VHU_FLAG_NEED_REPLY,
		NULL, 0, NULL, 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_RESET_DEVICE), 0);
	assert_int_equal(vhu_vring_state(vr0), VHU_RING_STOPPED);
	assert_int_equal(vhu_vring_state(vr1), VHU_RING_STOPPED);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_int_equal(fe->state[1], VHU_RING_STOPPED);
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++) {
		struct vhu_vring *vr = vhu_dev_vring(fe->dev, i);

		assert_false(vr->enabled);
		assert_false(vr->num_set);
		assert_false(vr->addr_set);
		assert_int_equal(vr->kick_fd, -1);
		assert_int_equal(vr->call_fd, -1);
	}
	/* The device's copies of the kick and call fds are closed. */
	assert_int_equal(fe_count_fds(), nfds - 2);
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	assert_int_equal(vhu_dev_protocol_features(fe->dev), pf);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 0);
	assert_no_violation(fe);

	/* The connection carries on: negotiate again and restart a ring. */
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_PROTO, false);
	setup_ring(fe, 0, 256, 0, &r0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_no_violation(fe);
	close(kick);
	close(call);
	fe_free(fe);
}

/*
 * RESET_DEVICE clears the features, so the rings' layout must follow:
 * a packed ring is not packed any more until SET_FEATURES says so.
 */
static void
reset_device_forgets_packed_layout(void **state)
{
	struct fe *fe = new_fe(F_PACKED, VHU_BIT(VHU_PF_RESET_DEVICE));
	unsigned int i;

	(void)state;
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++)
		assert_true(vhu_dev_vring(fe->dev, i)->packed);
	fe_send(fe, VHU_REQ_RESET_DEVICE, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++) {
		print_message("# ring %u\n", i);
		assert_false(vhu_dev_vring(fe->dev, i)->packed);
	}
	assert_no_violation(fe);
	fe_free(fe);
}

/*
 * The front-end goes away: every started ring stops (and only those
 * report it), the application hears of it once, and every fd the
 * device held is closed.
 */
static void
disconnect_stops_rings(void **state)
{
	int base = fe_count_fds();
	struct fe *fe = new_fe(F_PROTO, 0);
	struct fe_ring r0, r1, r2;
	int kick0, kick1, call;
	unsigned int i;

	(void)state;
	setup_ring(fe, 0, 256, 0, &r0);
	setup_ring(fe, 1, 256, 0, &r1);
	setup_ring(fe, 2, 256, 0, &r2);
	kick0 = set_kick_fd(fe, 0);
	kick1 = set_kick_fd(fe, 1);
	fe_kick(fe, kick0);
	fe_kick(fe, kick1);
	set_enable(fe, 1, 1);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 0, call, false);
	/* Ring 2 is set up but never kicked. */
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_int_equal(fe->state[1], VHU_RING_ENABLED);
	assert_int_equal(fe->state[2], VHU_RING_STOPPED);
	assert_int_equal(fe->state_changes, 3);
	assert_no_violation(fe);

	close(fe->sock);
	fe->sock = -1;
	fe_pump(fe);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++) {
		assert_int_equal(vhu_vring_state(vhu_dev_vring(fe->dev, i)),
				 VHU_RING_STOPPED);
		assert_int_equal(fe->state[i], VHU_RING_STOPPED);
	}
	assert_int_equal(fe->state_changes, 5);
	/* A disconnect is not a violation. */
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	/*
	 * Left open: our memfd and three eventfds, and of the device only
	 * its notify fd, which lives as long as the device does.
	 */
	assert_int_equal(fe_count_fds(), base + 1 + 3 + 1);
	assert_int_equal(fe->nwatch, 0);

	fe_pump(fe);
	assert_int_equal(fe->disconnected, 1);
	close(kick0);
	close(kick1);
	close(call);
	fe_free(fe);
	assert_int_equal(fe_count_fds(), base);
}

/* The same after a disconnect: the next front-end starts from scratch. */
static void
disconnect_forgets_packed_layout(void **state)
{
	struct fe *fe = new_fe(F_PACKED, 0);
	unsigned int i;

	(void)state;
	close(fe->sock);
	fe->sock = -1;
	fe_pump(fe);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_features(fe->dev), 0);
	for (i = 0; i < vhu_dev_nr_vrings(fe->dev); i++) {
		print_message("# ring %u\n", i);
		assert_false(vhu_dev_vring(fe->dev, i)->packed);
	}
	fe_free(fe);
}

/* Packed rings: any size up to 32768, no power-of-2 rule. */
static void
packed_ring_any_size(void **state)
{
	struct fe *fe = new_fe(F_PACKED, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	int kick;

	(void)state;
	vr = setup_ring(fe, 0, 100, 0 | 1u << 15, &r);
	assert_true(vr->packed);
	assert_true(vr->num_set);
	assert_int_equal(vr->size, 100);
	kick = set_kick_fd(fe, 0);
	fe_kick(fe, kick);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	/* The descriptor ring and both event areas are where we put them. */
	fe_ptr(fe, r.desc)[16 * 99] = 0x11;
	fe_ptr(fe, r.avail)[0] = 0x22;
	fe_ptr(fe, r.used)[0] = 0x33;
	assert_int_equal(((uint8_t *)vr->desc)[16 * 99], 0x11);
	assert_int_equal(((uint8_t *)vr->avail)[0], 0x22);
	assert_int_equal(((uint8_t *)vr->used)[0], 0x33);
	assert_no_violation(fe);
	close(kick);
	fe_free(fe);
}

/*
 * A packed base names positions in the descriptor ring: an avail or
 * used index at or past the ring size would send the data path outside
 * it, whatever order NUM and BASE came in. Such a ring must not start.
 */
static void
packed_base_case(const char *what, bool base_first, uint32_t base)
{
	struct fe *fe = new_fe(F_PACKED, 0);
	struct fe_ring r;

	print_message("# %s\n", what);
	fe_ring_layout(&r, RING_GPA(0), 100, true);
	if (base_first)
		fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, base, false);
	fe_set_state(fe, VHU_REQ_SET_VRING_NUM, 0, 100, false);
	if (!base_first)
		fe_set_state(fe, VHU_REQ_SET_VRING_BASE, 0, base, false);
	fe_vring_addr(fe, 0, 0, fe_uva(fe, r.desc), fe_uva(fe, r.avail),
		      fe_uva(fe, r.used), 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	assert_int_equal(fe->state_changes, 0);
	assert_false(vhu_dev_vring(fe->dev, 0)->started);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	fe_free(fe);
}

static void
packed_avail_base_within_ring(void **state)
{
	(void)state;
	packed_base_case("avail index, NUM first", false, 100 | 1u << 15);
	packed_base_case("avail index, BASE first", true, 200 | 1u << 15);
}

static void
packed_used_base_within_ring(void **state)
{
	const uint32_t base = 5 | 1u << 15 | 150u << 16 | 1u << 31;

	(void)state;
	packed_base_case("used index, NUM first", false, base);
	packed_base_case("used index, BASE first", true, base);
}

/*
 * Notification fds must be what the device can signal or read without
 * blocking, an eventfd or a pipe: SET_VRING_CALL, SET_VRING_ERR and
 * SET_VRING_KICK with a memfd, a regular file or a socket are fd
 * violations. A pipe is taken (the write end for call and err, the read
 * end for kick), works, and is non-blocking afterwards: the device made
 * the file description O_NONBLOCK, which our copy shares.
 */
static void
notify_fds_must_be_eventfd_or_pipe(void **state)
{
	static const uint32_t reqs[] = {
		VHU_REQ_SET_VRING_CALL, VHU_REQ_SET_VRING_ERR,
		VHU_REQ_SET_VRING_KICK,
	};
	static const char *const kinds[] = { "memfd", "regular file",
					     "socket" };
	struct vhu_vring *vr;
	struct fe_ring r;
	struct fe *fe;
	int bad[3], sv[2], call[2], err[2], kick[2];
	size_t i, j;

	(void)state;
	bad[0] = fe_memfd_sized(4096);
	bad[1] = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	assert_true(bad[1] >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	bad[2] = sv[0];
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		for (j = 0; j < 3; j++) {
			int base;

			print_message("# %s with a %s\n",
				      vhu_request_name(reqs[i]), kinds[j]);
			fe = new_fe(F_PROTO, 0);
			base = fe_count_fds();
			send_u64_fd(fe, reqs[i], 0, bad[j]);
			fe_assert_violation(fe, VHU_RULE_FDS);
			/* Its socket, its memory fd and its copy are gone. */
			assert_int_equal(fe_count_fds(), base - 2);
			fe_free(fe);
		}
	}
	for (j = 0; j < 3; j++)
		close(bad[j]);
	close(sv[1]);

	/* Pipes, blocking as we make them. */
	assert_int_equal(pipe2(call, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	assert_int_equal(pipe2(kick, O_CLOEXEC), 0);
	fe = new_fe(F_PROTO, 0);
	vr = setup_ring(fe, 0, 256, 0, &r);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_CALL, 0, call[1],
				     false), -1);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_ERR, 0, err[1],
				     false), -1);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, kick[0],
				     false), -1);
	assert_no_violation(fe);
	assert_true(vr->call_fd >= 0);
	assert_true(vr->err_fd >= 0);
	assert_true(vr->kick_fd >= 0);
	assert_true((fcntl(call[1], F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(err[1], F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(kick[0], F_GETFL) & O_NONBLOCK) != 0);
	/* They work: a call and an error reach us, a kick starts the ring. */
	assert_int_equal(vhu_vring_call(vr), 0);
	assert_int_equal(read_eventfd(call[0]), 1);
	assert_int_equal(vhu_vring_signal_error(vr), 0);
	assert_int_equal(read_eventfd(err[0]), 1);
	fe_kick(fe, kick[1]);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_DISABLED);
	assert_no_violation(fe);
	fe_free(fe);
	for (j = 0; j < 2; j++) {
		close(call[j]);
		close(err[j]);
		close(kick[j]);
	}
}

/*
 * A kick pipe whose write end is closed without a kick hangs up: the
 * readiness event (IN|ERR, as an event loop reports a hang-up) is not a
 * kick, the ring stays stopped, and the device stops watching the fd,
 * which would otherwise stay ready forever and spin the loop.
 */
static void
kick_hangup_stops_watch(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;
	int p[2], dev_kick = -1;
	unsigned int i;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, p[0], false);
	close(p[0]);
	for (i = 0; i < fe->nwatch; i++)
		if (fe->watch_fd[i] != fe->dev_sock)
			dev_kick = fe->watch_fd[i];
	assert_true(dev_kick >= 0);
	assert_int_equal(dev_kick, vr->kick_fd);
	assert_true(fe_watched(fe, dev_kick, VHU_EV_IN));

	close(p[1]);
	vhu_dev_handle_event(fe->dev, dev_kick, VHU_EV_IN | VHU_EV_ERR);
	assert_int_equal(vhu_vring_state(vr), VHU_RING_STOPPED);
	assert_false(vr->started);
	assert_false(fe_watched(fe, dev_kick, VHU_EV_IN));
	for (i = 0; i < fe->nwatch; i++)
		assert_int_equal(fe->watch_fd[i], fe->dev_sock);
	assert_int_equal(fe->state_changes, 0);
	assert_no_violation(fe);
	fe_free(fe);
}

/* Log lines about a broken ring, while a test listens to the library. */
static unsigned int broken_lines;

static void
count_broken(enum vhu_log_level level, const char *line)
{
	(void)level;
	if (strstr(line, "broken") != NULL)
		broken_lines++;
}

/* Whether the device's notify fd is readable: the control thread is woken. */
static bool
notify_readable(struct fe *fe)
{
	struct pollfd pfd = { .fd = vhu_dev_notify_fd(fe->dev),
			      .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}

/*
 * vhu_vring_mark_broken() may be called from a worker: it only flags the
 * ring (logging once however often it is called) and wakes the control
 * thread (the notify fd becomes readable), which ends the connection,
 * resetting the device, when it handles the notify fd.
 */
static void
mark_broken_resets_device(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr;
	struct fe_ring r;

	(void)state;
	vr = setup_ring(fe, 0, 256, 0, &r);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	assert_true(vr->started);

	assert_false(notify_readable(fe));
	broken_lines = 0;
	vhu_set_log_fn(count_broken);
	vhu_vring_mark_broken(vr, "test");
	vhu_vring_mark_broken(vr, "test");
	vhu_set_log_fn(NULL);
	assert_int_equal(broken_lines, 1);
	/* Nothing happens on the worker's side. */
	assert_true(vhu_dev_connected(fe->dev));
	assert_true(vr->started);
	assert_int_equal(fe->disconnected, 0);
	assert_true(notify_readable(fe));

	fe_pump_notify(fe);
	assert_false(notify_readable(fe));
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	assert_false(vr->started);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_true(fe_closed(fe));
	fe_free(fe);
}

/*
 * A ring that is not running holds no pointers into guest memory, which
 * a new table may unmap: one stopped by GET_VRING_BASE drops them at
 * once; one stopped by RESET_OWNER, which keeps its setup, drops them
 * when the table changes; one set up but never started has none after
 * the change either. Started again, a ring uses the new mapping.
 */
static void
stopped_ring_drops_pointers_on_table_change(void **state)
{
	struct fe *fe = new_fe(F_PROTO, 0);
	struct vhu_vring *vr0, *vr1, *vr2;
	struct fe_ring r0, r1, r2;

	(void)state;
	vr0 = setup_ring(fe, 0, 256, 0, &r0);
	vr1 = setup_ring(fe, 1, 256, 0, &r1);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, false);
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 1, -1, false);
	assert_true(vr0->started && vr1->started);
	assert_non_null(vr0->desc);
	assert_non_null(vr1->desc);

	/* GET_VRING_BASE: stopped, and the pointers are gone. */
	get_base(fe, 0);
	assert_false(vr0->started);
	assert_null(vr0->desc);
	assert_null(vr0->avail);
	assert_null(vr0->used);

	/* RESET_OWNER stops ring 1 with its setup kept. */
	fe_send(fe, VHU_REQ_RESET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	assert_false(vr1->started);

	/* Ring 2 is set up but never started. */
	vr2 = setup_ring(fe, 2, 256, 0, &r2);
	assert_false(vr2->started);

	/* A new table: nothing keeps a pointer into the old mappings. */
	assert_non_null(fe_add_region(fe, MEM_SIZE, 1 << 20));
	fe_send_mem_table(fe, false);
	assert_int_equal(fe_mem(fe)->nregions, 2);
	assert_null(vr0->desc);
	assert_null(vr0->avail);
	assert_null(vr0->used);
	assert_null(vr1->desc);
	assert_null(vr1->avail);
	assert_null(vr1->used);
	assert_null(vr2->desc);
	assert_null(vr2->avail);
	assert_null(vr2->used);

	/* Kicked again, a ring translates through the new table. */
	fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 1, -1, false);
	assert_true(vr1->started);
	assert_ptr_equal(vr1->desc, vhu_gpa_to_hva(fe_mem(fe), r1.desc, 1));
	assert_ptr_equal(vr1->used, vhu_gpa_to_hva(fe_mem(fe), r1.used, 1));
	assert_no_violation(fe);
	fe_free(fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(states_with_protocol_features),
		cmocka_unit_test(enable_before_start),
		cmocka_unit_test(starts_enabled_without_protocol_features),
		cmocka_unit_test(set_features_without_protocol_enables_all),
		cmocka_unit_test(kick_fd_replaced_before_start),
		cmocka_unit_test(polling_mode_starts_at_once),
		cmocka_unit_test(vring_fd_rules),
		cmocka_unit_test(inband_kick_starts_ring),
		cmocka_unit_test(inband_kick_num_must_be_zero),
		cmocka_unit_test(inband_needs_backend_req_and_reply_ack),
		cmocka_unit_test(inband_kick_without_feature),
		cmocka_unit_test(get_base_stops_split_ring),
		cmocka_unit_test(get_base_packed_wrap_counters),
		cmocka_unit_test(split_start_syncs_used_idx),
		cmocka_unit_test(packed_start_syncs_from_used_flags),
		cmocka_unit_test(index_out_of_range),
		cmocka_unit_test(inband_kick_index_out_of_range),
		cmocka_unit_test(vring_num_values),
		cmocka_unit_test(split_size_checked_at_start),
		cmocka_unit_test(num_and_base_on_started_ring),
		cmocka_unit_test(vring_addr_values),
		cmocka_unit_test(kick_before_num_and_addr),
		cmocka_unit_test(unmapped_ring_closes_connection),
		cmocka_unit_test(addr_on_running_ring_toggles_log),
		cmocka_unit_test(call_and_err_fds),
		cmocka_unit_test(vring_endian),
		cmocka_unit_test(vring_enable_rules),
		cmocka_unit_test(vring_enable_before_features),
		cmocka_unit_test(vring_enable_kept_before_features),
		cmocka_unit_test(starts_when_enabled),
		cmocka_unit_test(starts_on_driver_ok),
		cmocka_unit_test(reset_owner_stops_and_disables),
		cmocka_unit_test(reset_device),
		cmocka_unit_test(reset_device_forgets_packed_layout),
		cmocka_unit_test(disconnect_stops_rings),
		cmocka_unit_test(disconnect_forgets_packed_layout),
		cmocka_unit_test(packed_ring_any_size),
		cmocka_unit_test(packed_avail_base_within_ring),
		cmocka_unit_test(packed_used_base_within_ring),
		cmocka_unit_test(notify_fds_must_be_eventfd_or_pipe),
		cmocka_unit_test(kick_hangup_stops_watch),
		cmocka_unit_test(mark_broken_resets_device),
		cmocka_unit_test(stopped_ring_drops_pointers_on_table_change),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
