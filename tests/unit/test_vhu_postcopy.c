/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Postcopy (PAGEFAULT): POSTCOPY_ADVISE hands out a userfaultfd, LISTEN
 * makes the next memory table register with it and answer with the
 * back-end's addresses, the table's acknowledgement, and POSTCOPY_END.
 * The registration is checked for real: a thread touching a missing page
 * through the back-end's mapping blocks until this test, acting as the
 * front-end, serves the fault on the userfaultfd it was given.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <cmocka.h>

#include "fe.h"

#define MIB		(1024ULL * 1024)
/* Front-end addresses: the device only compares them. */
#define FAKE_UVA	0x7e0000000000ULL
/* How long a fault may take to show up on the userfaultfd. */
#define FAULT_WAIT_MS	5000

#define NEED_POSTCOPY() \
	do { \
		if (!vhu_postcopy_supported()) { \
			print_message("# userfaultfd on shared memory is " \
				      "not available here\n"); \
			skip(); \
		} \
	} while (0)

static long
page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* A device with REPLY_ACK, PAGEFAULT and extra negotiated. */
static struct fe *
pc_fe(uint64_t extra)
{
	return fe_new_negotiated(VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
				 VHU_BIT(VHU_F_VERSION_1),
				 VHU_BIT(VHU_PF_REPLY_ACK) |
				 VHU_BIT(VHU_PF_PAGEFAULT) | extra);
}

/* POSTCOPY_ADVISE: the reply is empty and carries the userfaultfd. */
static int
advise(struct fe *fe)
{
	struct vhu_msg m;
	char link[64], path[64];
	ssize_t n;

	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_ADVISE, VHU_VERSION,
				 NULL, 0, NULL, 0), 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_POSTCOPY_ADVISE);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, 0);
	assert_int_equal(m.nfds, 1);
	assert_true(m.fds[0] >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m.fds[0]);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "anon_inode:[userfaultfd]");
	assert_true(fe_no_reply(fe));
	return m.fds[0];
}

static void
listen_ok(struct fe *fe)
{
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_LISTEN,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0,
				 NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_POSTCOPY_LISTEN), 0);
}

/*
 * SET_MEM_TABLE while listening (no need_reply, as QEMU sends it): the
 * reply is the table with the back-end's addresses, in the same order.
 */
static void
postcopy_table(struct fe *fe, const struct fe_treg *r, uint32_t n)
{
	struct vhu_msg m;
	uint32_t i;

	fe_send_tregs(fe, r, n, VHU_VERSION);
	if (fe_recv(fe, &m) != 1)
		fail_msg("no postcopy table reply: the connection closed for "
			 "\"%s\"",
			 vhu_rule_name(vhu_dev_last_violation(fe->dev)));
	assert_int_equal(m.hdr.request, VHU_REQ_SET_MEM_TABLE);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, offsetof(struct vhu_mem_table, regions) +
			 n * sizeof(m.payload.mem.regions[0]));
	assert_int_equal(m.nfds, 0);
	assert_int_equal(m.payload.mem.nregions, n);
	assert_true(fe_no_reply(fe));
	assert_int_equal(fe_mem(fe)->nregions, n);
	for (i = 0; i < n; i++) {
		const struct vhu_mem_region_desc *d = &m.payload.mem.regions[i];

		assert_int_equal(d->guest_phys_addr, r[i].gpa);
		assert_int_equal(d->memory_size, r[i].size);
		assert_int_equal(d->mmap_offset, r[i].off);
		assert_int_equal(d->userspace_addr,
				 (uint64_t)(uintptr_t)vhu_gpa_to_hva(
					 fe_mem(fe), r[i].gpa, r[i].size));
		assert_int_not_equal(d->userspace_addr, 0);
	}
}

/* The front-end's acknowledgement of the postcopy table. */
static void
ack_table(struct fe *fe, uint64_t v, bool need_reply)
{
	assert_int_equal(fe_send(fe, VHU_REQ_SET_MEM_TABLE,
				 VHU_VERSION |
				 (need_reply ? VHU_FLAG_NEED_REPLY : 0),
				 &v, sizeof(v), NULL, 0), 0);
}

/* ADVISE, LISTEN, a postcopy table of n regions and its ack. */
static int
enter_postcopy(struct fe *fe, const struct fe_treg *r, uint32_t n)
{
	int uffd = advise(fe);

	listen_ok(fe);
	postcopy_table(fe, r, n);
	ack_table(fe, 0, true);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), 0);
	assert_true(vhu_dev_connected(fe->dev));
	return uffd;
}

static void
assert_closed_for(struct fe *fe, enum vhu_rule rule)
{
	fe_assert_violation(fe, rule);
	assert_int_equal(fe_mem(fe)->nregions, 0);
}

/* A thread that reads one byte, as the data path would. */
struct toucher {
	pthread_t tid;
	const volatile uint8_t *p;
	uint8_t val;
	int done;
};

static void *
toucher_main(void *arg)
{
	struct toucher *t = arg;

	t->val = *t->p;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
toucher_start(struct toucher *t, const uint8_t *p)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	assert_int_equal(pthread_create(&t->tid, NULL, toucher_main, t), 0);
}

static bool
toucher_done(struct toucher *t)
{
	return __atomic_load_n(&t->done, __ATOMIC_ACQUIRE) != 0;
}

/* Wait for the page fault at p on uffd; false if none came. */
static bool
wait_fault(int uffd, const uint8_t *p, int timeout_ms)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;
	uintptr_t page = (uintptr_t)p & ~((uintptr_t)page_size() - 1);

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	assert_true((pfd.revents & POLLIN) != 0);
	assert_int_equal(read(uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
	assert_int_equal(msg.arg.pagefault.address & ~((uint64_t)page_size() -
						       1), page);
	/* A read fault: the write flag is clear. */
	assert_int_equal(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE,
			 0);
	return true;
}

/* Serve the fault at p: copy in a page of fill, or map the zero page. */
static void
serve_fault(int uffd, const uint8_t *p, bool zero, uint8_t fill)
{
	uintptr_t page = (uintptr_t)p & ~((uintptr_t)page_size() - 1);

	if (zero) {
		struct uffdio_zeropage z = {
			.range = {
				.start = page,
				.len = (uint64_t)page_size(),
			},
		};

		assert_int_equal(ioctl(uffd, UFFDIO_ZEROPAGE, &z), 0);
		assert_int_equal(z.zeropage, page_size());
	} else {
		struct uffdio_copy c;
		uint8_t *src = aligned_alloc((size_t)page_size(),
					     (size_t)page_size());

		assert_non_null(src);
		memset(src, fill, (size_t)page_size());
		c.dst = page;
		c.src = (uint64_t)(uintptr_t)src;
		c.len = (uint64_t)page_size();
		c.mode = 0;
		c.copy = 0;
		assert_int_equal(ioctl(uffd, UFFDIO_COPY, &c), 0);
		assert_int_equal(c.copy, page_size());
		free(src);
	}
}

/*
 * The whole round: a thread reads p through the back-end's mapping, it
 * must stay blocked until the fault is served, then see what was put
 * there. Returns the byte the thread read.
 */
static uint8_t
fault_round(int uffd, const uint8_t *p, bool zero, uint8_t fill)
{
	struct toucher t;
	bool faulted;

	toucher_start(&t, p);
	faulted = wait_fault(uffd, p, FAULT_WAIT_MS);
	if (!faulted) {
		/* Not registered: the read went through on its own. */
		pthread_join(t.tid, NULL);
		fail_msg("no userfault for %p: the page is not registered",
			 (const void *)p);
	}
	usleep(20 * 1000);
	assert_false(toucher_done(&t));
	serve_fault(uffd, p, zero, fill);
	assert_int_equal(pthread_join(t.tid, NULL), 0);
	assert_true(toucher_done(&t));
	return t.val;
}

static void
pagefault_offered(void **state)
{
	struct fe *fe;
	uint64_t proto;

	(void)state;
	NEED_POSTCOPY();
	fe = fe_new();
	assert_non_null(fe);
	proto = fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);
	assert_int_not_equal(proto, UINT64_MAX);
	assert_true((proto & VHU_BIT(VHU_PF_PAGEFAULT)) != 0);
	assert_true((vhu_protocol_features_implemented() &
		     VHU_BIT(VHU_PF_PAGEFAULT)) != 0);
	fe_free(fe);
}

/* The reply is empty with one fd, a userfaultfd; a second is refused. */
static void
advise_replies_uffd(void **state)
{
	struct fe *fe;
	int base, uffd;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	base = fe_count_fds();
	uffd = advise(fe);
	/* Ours and the device's. */
	assert_int_equal(fe_count_fds(), base + 2);
	assert_true((fcntl(uffd, F_GETFL) & O_NONBLOCK) != 0);

	/* ADVISE again while one is open: a state violation. */
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_ADVISE, VHU_VERSION,
				 NULL, 0, NULL, 0), 0);
	assert_closed_for(fe, VHU_RULE_STATE);
	/* The device's userfaultfd and socket are closed, ours is not. */
	assert_int_equal(fe_count_fds(), base);
	close(uffd);
	fe_free(fe);
}

/* Without PAGEFAULT negotiated, ADVISE, LISTEN and END are refused. */
static void
postcopy_needs_pagefault(void **state)
{
	static const uint32_t reqs[] = {
		VHU_REQ_POSTCOPY_ADVISE, VHU_REQ_POSTCOPY_LISTEN,
		VHU_REQ_POSTCOPY_END,
	};
	size_t i;

	(void)state;
	NEED_POSTCOPY();
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct fe *fe = fe_new();
		int base;

		assert_non_null(fe);
		fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
			     VHU_BIT(VHU_F_VERSION_1),
			     VHU_BIT(VHU_PF_REPLY_ACK));
		base = fe_count_fds();
		assert_int_equal(fe_send(fe, reqs[i], VHU_VERSION, NULL, 0,
					 NULL, 0), 0);
		assert_closed_for(fe, VHU_RULE_FEATURE);
		/* No userfaultfd was opened or sent. */
		assert_int_equal(fe_count_fds(), base - 1);
		fe_free(fe);
	}
}

static void
listen_before_advise(void **state)
{
	struct fe *fe;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_LISTEN,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0,
				 NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_POSTCOPY_LISTEN), -1);
	assert_closed_for(fe, VHU_RULE_STATE);
	fe_free(fe);
}

/* LISTEN with a table already mapped (and not registered): refused. */
static void
listen_after_mem_table(void **state)
{
	struct fe *fe;
	struct fe_treg r;
	int uffd, base;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	uffd = advise(fe);
	fe_send_tregs(fe, &r, 1, VHU_VERSION | VHU_FLAG_NEED_REPLY);
	/* Before LISTEN the table is an ordinary one: acked, no reply. */
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), 0);
	assert_true(fe_no_reply(fe));
	assert_int_equal(fe_mem(fe)->nregions, 1);
	base = fe_count_fds();
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_LISTEN,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0,
				 NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_POSTCOPY_LISTEN), -1);
	assert_closed_for(fe, VHU_RULE_STATE);
	/* Socket, region fd and userfaultfd of the device are closed. */
	assert_int_equal(fe_count_fds(), base - 3);
	close(uffd);
	close(r.fd);
	fe_free(fe);
}

/*
 * The postcopy table reply carries the back-end's addresses, and the
 * regions are mapped but not populated (nothing may fault yet).
 */
static void
postcopy_table_reply(void **state)
{
	struct fe *fe;
	struct fe_treg r[2];
	unsigned char vec[16];
	int uffd, i;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r[0] = (struct fe_treg){ 0x100000, MIB, FAKE_UVA, 0,
				 fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 0x40000000, 16 * (uint64_t)page_size(),
				 FAKE_UVA + 0x40000000, 0,
				 fe_memfd_sized(16 * (uint64_t)page_size()) };
	uffd = advise(fe);
	listen_ok(fe);
	postcopy_table(fe, r, 2);
	for (i = 0; i < 2; i++) {
		uint8_t *hva = vhu_gpa_to_hva(fe_mem(fe), r[i].gpa, 1);

		assert_int_equal(mincore(hva, 16 * (size_t)page_size(), vec),
				 0);
		assert_memory_equal(vec, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
				    16);
	}
	/* Until the ack, nothing else is accepted. */
	assert_int_equal(fe_send(fe, VHU_REQ_GET_FEATURES, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_closed_for(fe, VHU_RULE_STATE);
	close(uffd);
	close(r[0].fd);
	close(r[1].fd);
	fe_free(fe);
}

/* Every other message before the ack is a state violation. */
static void
only_the_ack_while_waiting(void **state)
{
	struct vhu_vring_state vs = { 0, 256 };
	uint64_t zero = 0;
	static const struct {
		uint32_t req;
		uint32_t size;
	} msgs[] = {
		{ VHU_REQ_SET_VRING_NUM, sizeof(struct vhu_vring_state) },
		{ VHU_REQ_POSTCOPY_END, 0 },
		{ VHU_REQ_SET_FEATURES, sizeof(uint64_t) },
		{ VHU_REQ_GET_PROTOCOL_FEATURES, 0 },
	};
	size_t i;

	(void)state;
	NEED_POSTCOPY();
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct fe *fe = pc_fe(0);
		struct fe_treg r = { 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
		const void *payload = msgs[i].size == sizeof(vs) ?
				      (const void *)&vs : (const void *)&zero;
		int uffd = advise(fe);

		listen_ok(fe);
		postcopy_table(fe, &r, 1);
		assert_int_equal(fe_send(fe, msgs[i].req,
					 VHU_VERSION | VHU_FLAG_NEED_REPLY,
					 payload, msgs[i].size, NULL, 0), 0);
		print_message("# %s\n", vhu_request_name(msgs[i].req));
		assert_closed_for(fe, VHU_RULE_STATE);
		close(uffd);
		close(r.fd);
		fe_free(fe);
	}
}

/* The ack is acked; afterwards the device takes other messages again. */
static void
ack_is_acked(void **state)
{
	struct fe *fe;
	struct fe_treg r[2];
	struct vhu_msg m;
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 0, 2 * MIB, FAKE_UVA + 16 * MIB, 0,
				 fe_memfd_sized(2 * MIB) };
	uffd = enter_postcopy(fe, &r[0], 1);
	assert_true(fe_no_reply(fe));
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));

	/* Still listening: the next table is a postcopy one as well. */
	postcopy_table(fe, &r[1], 1);
	/* Without need_reply the ack gets no answer. */
	ack_table(fe, 0, false);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_send(fe, VHU_REQ_GET_FEATURES, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_GET_FEATURES);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_STATE), 0);
	close(uffd);
	close(r[0].fd);
	close(r[1].fd);
	fe_free(fe);
}

/* A failed ack, or one that is not a bare u64, ends the connection. */
static void
bad_acks(void **state)
{
	struct fe *fe;
	struct fe_treg r;
	int uffd, efd;

	(void)state;
	NEED_POSTCOPY();
	r = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	fe = pc_fe(0);
	uffd = advise(fe);
	listen_ok(fe);
	postcopy_table(fe, &r, 1);
	ack_table(fe, 1, true);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), -1);
	assert_closed_for(fe, VHU_RULE_VALUE);
	close(uffd);
	fe_free(fe);

	/* The table again instead of the ack. */
	fe = pc_fe(0);
	uffd = advise(fe);
	listen_ok(fe);
	postcopy_table(fe, &r, 1);
	fe_send_tregs(fe, &r, 1, VHU_VERSION);
	assert_closed_for(fe, VHU_RULE_SIZE);
	close(uffd);
	fe_free(fe);

	/* A u64 with an fd. */
	fe = pc_fe(0);
	uffd = advise(fe);
	listen_ok(fe);
	postcopy_table(fe, &r, 1);
	efd = fe_memfd_sized(4096);
	{
		uint64_t zero = 0;

		assert_int_equal(fe_send(fe, VHU_REQ_SET_MEM_TABLE,
					 VHU_VERSION, &zero, sizeof(zero),
					 &efd, 1), 0);
	}
	assert_closed_for(fe, VHU_RULE_SIZE);
	close(efd);
	close(uffd);
	fe_free(fe);
	close(r.fd);
}

/*
 * The registration is real: a read of a missing page through the
 * back-end's mapping blocks until UFFDIO_COPY (or UFFDIO_ZEROPAGE) on
 * the userfaultfd the front-end was given.
 */
static void
fault_blocks_until_served(void **state)
{
	struct fe *fe;
	struct fe_treg r;
	uint8_t *hva, byte = 0;
	uint64_t ps = (uint64_t)page_size();
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r = (struct fe_treg){ 0x200000, 8 * ps, FAKE_UVA, 0,
			      fe_memfd_sized(8 * ps) };
	uffd = enter_postcopy(fe, &r, 1);
	hva = vhu_gpa_to_hva(fe_mem(fe), r.gpa, r.size);
	assert_non_null(hva);

	assert_int_equal(fault_round(uffd, hva + 3 * ps + 123, false, 0xc3),
			 0xc3);
	/* The page is in the file: the front-end's side sees it too. */
	assert_int_equal(pread(r.fd, &byte, 1, (off_t)(3 * ps + 7)), 1);
	assert_int_equal(byte, 0xc3);
	/* Served now: no second fault on the same page. */
	assert_int_equal(hva[3 * ps + 4000 % ps], 0xc3);

	assert_int_equal(fault_round(uffd, hva + 6 * ps, true, 0), 0);
	/* The last byte of the region is registered too. */
	assert_int_equal(fault_round(uffd, hva + r.size - 1, false, 0x3c),
			 0x3c);
	assert_true(vhu_dev_connected(fe->dev));
	close(uffd);
	close(r.fd);
	fe_free(fe);
}

/*
 * Every region of the table is registered, whatever order the table
 * lists them in (the device sorts them by guest address).
 */
static void
fault_in_every_region(void **state)
{
	static const uint64_t gpas[] = { 0x40000000, 0x100000, 0x20000000,
					 0x0 };
	struct fe *fe;
	struct fe_treg r[4];
	uint64_t ps = (uint64_t)page_size();
	int uffd, i;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	for (i = 0; i < 4; i++)
		r[i] = (struct fe_treg){ gpas[i], 4 * ps,
					 FAKE_UVA + (uint64_t)i * MIB, 0,
					 fe_memfd_sized(4 * ps) };
	uffd = enter_postcopy(fe, r, 4);
	for (i = 0; i < 4; i++) {
		uint8_t *hva = vhu_gpa_to_hva(fe_mem(fe), r[i].gpa, 4 * ps);

		assert_non_null(hva);
		print_message("# region %d, gpa 0x%llx\n", i,
			      (unsigned long long)r[i].gpa);
		assert_int_equal(fault_round(uffd, hva + ps + 1, false,
					     (uint8_t)(0x10 + i)), 0x10 + i);
	}
	close(uffd);
	for (i = 0; i < 4; i++)
		close(r[i].fd);
	fe_free(fe);
}

/* A region at an offset that is not page aligned registers as well. */
static void
fault_in_unaligned_region(void **state)
{
	struct fe *fe;
	struct fe_treg r;
	uint64_t ps = (uint64_t)page_size();
	uint8_t *hva;
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r = (struct fe_treg){ 0x10000, 3 * ps, FAKE_UVA, 0x234,
			      fe_memfd_sized(8 * ps) };
	uffd = enter_postcopy(fe, &r, 1);
	hva = vhu_gpa_to_hva(fe_mem(fe), r.gpa, r.size);
	assert_non_null(hva);
	assert_int_equal(fault_round(uffd, hva + ps, false, 0x77), 0x77);
	close(uffd);
	close(r.fd);
	fe_free(fe);
}

/* ADD_MEM_REG while listening answers with the back-end's address. */
static void
add_mem_reg_postcopy(void **state)
{
	struct fe *fe;
	struct vhu_mem_reg_msg add;
	struct vhu_msg m;
	struct fe_treg r;
	uint64_t ps = (uint64_t)page_size();
	uint8_t *hva;
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	uffd = advise(fe);
	listen_ok(fe);
	r = (struct fe_treg){ 0x80000000, 4 * ps, FAKE_UVA, 0,
			      fe_memfd_sized(4 * ps) };
	memset(&add, 0, sizeof(add));
	fe_treg_desc(&add.region, &r);
	assert_int_equal(fe_send(fe, VHU_REQ_ADD_MEM_REG, VHU_VERSION, &add,
				 sizeof(add), &r.fd, 1), 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_ADD_MEM_REG);
	assert_int_equal(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(m.hdr.size, sizeof(add));
	assert_int_equal(m.nfds, 0);
	hva = vhu_gpa_to_hva(fe_mem(fe), r.gpa, r.size);
	assert_non_null(hva);
	assert_int_equal(m.payload.mem_reg.region.guest_phys_addr, r.gpa);
	assert_int_equal(m.payload.mem_reg.region.memory_size, r.size);
	assert_int_equal(m.payload.mem_reg.region.mmap_offset, r.off);
	assert_int_equal(m.payload.mem_reg.region.userspace_addr,
			 (uint64_t)(uintptr_t)hva);
	assert_true(fe_no_reply(fe));
	/* The front-end's own address still finds the region here. */
	assert_ptr_equal(vhu_uva_to_hva(fe_mem(fe), r.uva, 1), hva);
	assert_int_equal(fault_round(uffd, hva + 2 * ps, false, 0x42), 0x42);
	assert_true(vhu_dev_connected(fe->dev));
	close(uffd);
	close(r.fd);
	fe_free(fe);
}

/* END replies 0, closes the device's userfaultfd, and leaves postcopy. */
static void
end_closes_uffd(void **state)
{
	struct fe *fe;
	struct fe_treg r, r2;
	int uffd, uffd2, base;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r2 = (struct fe_treg){ 0, MIB, FAKE_UVA + 16 * MIB, 0,
			       fe_memfd_sized(MIB) };
	uffd = enter_postcopy(fe, &r, 1);
	base = fe_count_fds();
	/* R_U64: a reply even without need_reply. */
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_END, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_POSTCOPY_END), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_count_fds(), base - 1);
	/* Memory stays mapped. */
	assert_non_null(vhu_gpa_to_hva(fe_mem(fe), 0, MIB));

	/* Tables are ordinary again: an ack, no table reply. */
	fe_send_tregs(fe, &r2, 1, VHU_VERSION | VHU_FLAG_NEED_REPLY);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), 0);
	assert_true(fe_no_reply(fe));
	assert_int_equal(fe_get_u64(fe, VHU_REQ_GET_FEATURES),
			 vhu_dev_features_offered(fe->dev));

	/* A second END is outside postcopy; a new ADVISE is fine. */
	uffd2 = advise(fe);
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_END, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_closed_for(fe, VHU_RULE_STATE);
	close(uffd);
	close(uffd2);
	close(r.fd);
	close(r2.fd);
	fe_free(fe);
}

static void
end_without_listen(void **state)
{
	struct fe *fe;
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_END, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_POSTCOPY_END), -1);
	assert_closed_for(fe, VHU_RULE_STATE);
	fe_free(fe);

	/* Advised but not listening. */
	fe = pc_fe(0);
	uffd = advise(fe);
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_END, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_closed_for(fe, VHU_RULE_STATE);
	close(uffd);
	fe_free(fe);
}

/*
 * After END the back-end must not fault to the front-end any more, even
 * if the front-end keeps its copy of the userfaultfd open: a read of a
 * missing page completes by itself.
 */
static void
end_disables_registration(void **state)
{
	struct fe *fe;
	struct fe_treg r;
	struct toucher t;
	uint64_t ps = (uint64_t)page_size();
	uint8_t *hva;
	bool faulted = false;
	int uffd, waited;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r = (struct fe_treg){ 0, 4 * ps, FAKE_UVA, 0, fe_memfd_sized(4 * ps) };
	uffd = enter_postcopy(fe, &r, 1);
	hva = vhu_gpa_to_hva(fe_mem(fe), 0, r.size);
	assert_non_null(hva);
	assert_int_equal(fe_send(fe, VHU_REQ_POSTCOPY_END, VHU_VERSION, NULL,
				 0, NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_POSTCOPY_END), 0);

	toucher_start(&t, hva + 2 * ps);
	for (waited = 0; waited < FAULT_WAIT_MS && !faulted &&
	     !toucher_done(&t); waited += 50)
		faulted = wait_fault(uffd, hva + 2 * ps, 50);
	if (faulted)
		serve_fault(uffd, hva + 2 * ps, true, 0);	/* unblock it */
	assert_int_equal(pthread_join(t.tid, NULL), 0);
	if (faulted)
		fail_msg("a page fault reached the front-end after "
			 "POSTCOPY_END: the regions are still registered");
	assert_int_equal(t.val, 0);
	close(uffd);
	close(r.fd);
	fe_free(fe);
}

/* Losing the front-end in postcopy closes the userfaultfd and unmaps. */
static void
disconnect_in_postcopy(void **state)
{
	struct fe *fe;
	struct fe_treg r[2];
	int uffd, base;

	(void)state;
	NEED_POSTCOPY();
	fe = pc_fe(0);
	r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 2 * MIB, MIB, FAKE_UVA + 2 * MIB, 0,
				 fe_memfd_sized(MIB) };
	uffd = advise(fe);
	listen_ok(fe);
	postcopy_table(fe, r, 2);
	/* Gone while the table waits for its ack. */
	base = fe_count_fds();
	assert_int_equal(shutdown(fe->sock, SHUT_WR), 0);
	fe_pump(fe);
	assert_false(vhu_dev_connected(fe->dev));
	assert_true(fe_closed(fe));
	assert_int_equal(fe_mem(fe)->nregions, 0);
	/* Socket, two region fds, userfaultfd. */
	assert_int_equal(fe_count_fds(), base - 4);

	/* The next front-end starts outside postcopy. */
	fe_free(fe);
	fe = pc_fe(0);
	fe_send_tregs(fe, r, 2, VHU_VERSION | VHU_FLAG_NEED_REPLY);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), 0);
	assert_true(fe_no_reply(fe));
	close(uffd);
	close(r[0].fd);
	close(r[1].fd);
	fe_free(fe);
}

/* The front-end's u64 acknowledgement closing a batch of ADD/REM_MEM_REG. */
static void
mem_reg_ack(struct fe *fe, uint32_t req, uint64_t v)
{
	assert_int_equal(fe_send(fe, req, VHU_VERSION | VHU_FLAG_NEED_REPLY,
				 &v, sizeof(v), NULL, 0), 0);
}

/*
 * In postcopy QEMU closes a batch of ADD_MEM_REG (or REM_MEM_REG) with
 * the same request carrying a u64 0 and need_reply: it is acked 0 and
 * the connection stays. Outside postcopy those 8 bytes are not a region
 * (size violation), and a non-zero value is the front-end reporting a
 * failure (value violation).
 */
static void
mem_reg_batch_ack(void **state)
{
	struct vhu_mem_reg_msg reg;
	struct vhu_msg m;
	struct fe_treg r;
	uint64_t ps = (uint64_t)page_size();
	struct fe *fe;
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	r = (struct fe_treg){ 0x80000000, 4 * ps, FAKE_UVA, 0,
			      fe_memfd_sized(4 * ps) };
	memset(&reg, 0, sizeof(reg));
	fe_treg_desc(&reg.region, &r);

	fe = pc_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	uffd = advise(fe);
	listen_ok(fe);
	assert_int_equal(fe_send(fe, VHU_REQ_ADD_MEM_REG, VHU_VERSION, &reg,
				 sizeof(reg), &r.fd, 1), 0);
	assert_int_equal(fe_recv(fe, &m), 1);
	assert_int_equal(m.hdr.request, VHU_REQ_ADD_MEM_REG);
	assert_int_equal(m.hdr.size, sizeof(reg));
	mem_reg_ack(fe, VHU_REQ_ADD_MEM_REG, 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_ADD_MEM_REG), 0);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_mem(fe)->nregions, 1);
	/* REM_MEM_REG and its batch ack likewise. */
	assert_int_equal(fe_send(fe, VHU_REQ_REM_MEM_REG,
				 VHU_VERSION | VHU_FLAG_NEED_REPLY, &reg,
				 sizeof(reg), NULL, 0), 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_REM_MEM_REG), 0);
	assert_int_equal(fe_mem(fe)->nregions, 0);
	mem_reg_ack(fe, VHU_REQ_REM_MEM_REG, 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_REM_MEM_REG), 0);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	close(uffd);
	fe_free(fe);

	/* Outside postcopy, for either request. */
	fe = pc_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	mem_reg_ack(fe, VHU_REQ_ADD_MEM_REG, 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_ADD_MEM_REG), -1);
	fe_assert_violation(fe, VHU_RULE_SIZE);
	fe_free(fe);
	fe = pc_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	mem_reg_ack(fe, VHU_REQ_REM_MEM_REG, 0);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_REM_MEM_REG), -1);
	fe_assert_violation(fe, VHU_RULE_SIZE);
	fe_free(fe);

	/* A failure reported by the front-end. */
	fe = pc_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	uffd = advise(fe);
	listen_ok(fe);
	mem_reg_ack(fe, VHU_REQ_ADD_MEM_REG, 1);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_ADD_MEM_REG), -1);
	fe_assert_violation(fe, VHU_RULE_VALUE);
	close(uffd);
	fe_free(fe);
	close(r.fd);
}

/*
 * A worker that reads one byte through the kernel (a write of it into a
 * pipe): blocked on a missing page like a plain load, but if the page is
 * unmapped under it the read fails with EFAULT instead of crashing the
 * test.
 */
struct kreader {
	pthread_t tid;
	const uint8_t *p;
	int pipe[2];
	ssize_t n;		/* what write() returned */
	int done;
};

static void *
kreader_main(void *arg)
{
	struct kreader *k = arg;

	k->n = write(k->pipe[1], k->p, 1);
	__atomic_store_n(&k->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* What the quiesce callback saw of the reader it waited for. */
static struct {
	bool armed;
	bool ran;
	pthread_t tid;
	int join;	/* pthread_timedjoin_np's answer */
} qwait;

/*
 * An application's quiesce: it waits (2 s at most) for its workers to
 * finish what they were doing; here the worker is the blocked reader.
 */
static void
waiting_quiesce(struct vhu_dev *dev)
{
	if (qwait.armed) {
		struct timespec ts;

		qwait.armed = false;
		qwait.ran = true;
		assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
		ts.tv_sec += 2;
		qwait.join = pthread_timedjoin_np(qwait.tid, NULL, &ts);
	}
	fe_ops.quiesce(dev);
}

/*
 * The front-end dies in postcopy while a worker is blocked on a missing
 * page: the device ends the registrations and closes its userfaultfd
 * before it quiesces, so the read completes (a zero page) and a quiesce
 * that waits for its workers returns. Otherwise the worker would wait
 * for a front-end that is gone and the quiesce would never finish.
 */
static void
disconnect_releases_blocked_worker(void **state)
{
	struct vhu_dev_ops ops = fe_ops;
	uint64_t ps = (uint64_t)page_size();
	struct kreader k;
	struct fe_treg r;
	struct fe *fe;
	uint8_t *hva, byte = 0xff;
	int uffd;

	(void)state;
	NEED_POSTCOPY();
	ops.quiesce = waiting_quiesce;
	fe = fe_new_ops(&ops);
	assert_non_null(fe);
	fe_negotiate(fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
		     VHU_BIT(VHU_F_VERSION_1),
		     VHU_BIT(VHU_PF_REPLY_ACK) | VHU_BIT(VHU_PF_PAGEFAULT));
	r = (struct fe_treg){ 0, 4 * ps, FAKE_UVA, 0, fe_memfd_sized(4 * ps) };
	uffd = enter_postcopy(fe, &r, 1);
	hva = vhu_gpa_to_hva(fe_mem(fe), 0, r.size);
	assert_non_null(hva);

	/* A worker blocks on a missing page. */
	memset(&k, 0, sizeof(k));
	k.p = hva + ps + 5;
	assert_int_equal(pipe2(k.pipe, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&k.tid, NULL, kreader_main, &k), 0);
	if (!wait_fault(uffd, k.p, FAULT_WAIT_MS)) {
		pthread_join(k.tid, NULL);
		fail_msg("no userfault: the page is not registered");
	}
	usleep(20 * 1000);
	assert_int_equal(__atomic_load_n(&k.done, __ATOMIC_ACQUIRE), 0);

	/* The front-end dies: its userfaultfd and its socket go. */
	memset(&qwait, 0, sizeof(qwait));
	qwait.tid = k.tid;
	qwait.armed = true;
	close(uffd);
	close(fe->sock);
	fe->sock = -1;
	fe_pump(fe);
	assert_true(qwait.ran);
	assert_false(vhu_dev_connected(fe->dev));
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe_mem(fe)->nregions, 0);
	if (qwait.join != 0) {
		/* Let it go (the session is gone now), then fail. */
		pthread_join(k.tid, NULL);
		fail_msg("the worker was still blocked when quiesce ran "
			 "(timed join: %s)", strerror(qwait.join));
	}
	/* It read the page, a zero page, before anything was unmapped. */
	assert_int_equal(k.n, 1);
	assert_int_equal(read(k.pipe[0], &byte, 1), 1);
	assert_int_equal(byte, 0);
	close(k.pipe[0]);
	close(k.pipe[1]);
	fe_free(fe);
	close(r.fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pagefault_offered),
		cmocka_unit_test(advise_replies_uffd),
		cmocka_unit_test(postcopy_needs_pagefault),
		cmocka_unit_test(listen_before_advise),
		cmocka_unit_test(listen_after_mem_table),
		cmocka_unit_test(postcopy_table_reply),
		cmocka_unit_test(only_the_ack_while_waiting),
		cmocka_unit_test(ack_is_acked),
		cmocka_unit_test(bad_acks),
		cmocka_unit_test(fault_blocks_until_served),
		cmocka_unit_test(fault_in_every_region),
		cmocka_unit_test(fault_in_unaligned_region),
		cmocka_unit_test(add_mem_reg_postcopy),
		cmocka_unit_test(end_closes_uffd),
		cmocka_unit_test(end_without_listen),
		cmocka_unit_test(end_disables_registration),
		cmocka_unit_test(disconnect_in_postcopy),
		cmocka_unit_test(mem_reg_batch_ack),
		cmocka_unit_test(disconnect_releases_blocked_worker),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
