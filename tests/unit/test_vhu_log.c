/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The live-migration dirty log: SET_LOG_BASE (LOG_SHMFD) and its rules,
 * SET_LOG_FD, and page marking checked bit by bit against the spec's
 * pseudo-code through the front-end's own mapping of the log memfd:
 *	page = addr / VHOST_LOG_PAGE; log[page / 8] |= 1 << page % 8
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"

#define PAGE		VHU_LOG_PAGE
#define F_BASE		(VHU_BIT(VHU_F_VERSION_1) | \
			 VHU_BIT(VHU_F_PROTOCOL_FEATURES))
#define F_LOG		(F_BASE | VHU_BIT(VHU_F_LOG_ALL))
#define PF_LOG		(VHU_BIT(VHU_PF_LOG_SHMFD) | \
			 VHU_BIT(VHU_PF_REPLY_ACK))

/* A log memfd as the front-end holds it. */
struct log_mem {
	int fd;
	uint8_t *va;
	size_t len;
};

static void
log_mem_new(struct log_mem *l, size_t len)
{
	l->len = len;
	l->fd = fe_memfd(len, &l->va);
	assert_true(l->fd >= 0);
}

static void
log_mem_free(struct log_mem *l)
{
	munmap(l->va, l->len);
	close(l->fd);
}

static void
send_log_base(struct fe *fe, int fd, uint64_t size, uint64_t offset,
	      uint32_t flags)
{
	struct vhu_log_desc d = { .mmap_size = size, .mmap_offset = offset };

	fe_send(fe, VHU_REQ_SET_LOG_BASE, VHU_VERSION | flags, &d, sizeof(d),
		&fd, fd < 0 ? 0 : 1);
}

/* The u64 reply SET_LOG_BASE always gets; -1 if none came. */
static int64_t
log_base_reply(struct fe *fe)
{
	return fe_read_ack(fe, VHU_REQ_SET_LOG_BASE);
}

/* SET_LOG_BASE that must succeed. */
static void
set_log(struct fe *fe, const struct log_mem *l, uint64_t size,
	uint64_t offset)
{
	send_log_base(fe, l->fd, size, offset, 0);
	assert_int_equal(log_base_reply(fe), 0);
	assert_true(fe_no_reply(fe));
	assert_non_null(vhu_dev_dp(fe->dev)->log_base);
	assert_int_equal(vhu_dev_dp(fe->dev)->log_size, size);
}

static bool
bit_set(const uint8_t *log, uint64_t page)
{
	return (log[page / 8] & (1u << (page % 8))) != 0;
}

static unsigned int
count_bits(const uint8_t *p, size_t len)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += (unsigned int)__builtin_popcount(p[i]);
	return n;
}

/* Exactly the pages first..last are marked in the len-byte log. */
static void
assert_marked(const uint8_t *log, size_t len, uint64_t first, uint64_t last)
{
	uint64_t p;

	for (p = first; p <= last; p++)
		assert_true(bit_set(log, p));
	assert_int_equal(count_bits(log, len), last - first + 1);
}

/*
 * SET_LOG_BASE is answered with a u64 0 whether or not the front-end
 * asked (and without REPLY_ACK); the device maps the log and keeps no fd.
 */
static void
log_base_always_replied(void **state)
{
	struct fe *fe = fe_new_negotiated(F_LOG, VHU_BIT(VHU_PF_LOG_SHMFD));
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	struct log_mem l;
	int nfds;

	(void)state;
	assert_null(dp->log_base);
	log_mem_new(&l, 4 * PAGE);
	nfds = fe_count_fds();
	send_log_base(fe, l.fd, 4 * PAGE, 0, 0);
	assert_int_equal(log_base_reply(fe), 0);
	assert_true(fe_no_reply(fe));
	assert_int_equal(fe_count_fds(), nfds);
	assert_non_null(dp->log_base);
	assert_int_equal(dp->log_size, 4 * PAGE);
	assert_true(dp->log_all);
	/* Shared: what the device writes, the front-end sees. */
	dp->log_base[4 * PAGE - 1] = 0x80;
	assert_int_equal(l.va[4 * PAGE - 1], 0x80);

	/* With need_reply: one reply, not two. */
	send_log_base(fe, l.fd, 2 * PAGE, 0, VHU_FLAG_NEED_REPLY);
	assert_int_equal(log_base_reply(fe), 0);
	assert_true(fe_no_reply(fe));
	assert_int_equal(dp->log_size, 2 * PAGE);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
	log_mem_free(&l);
}

/* The log starts at its offset in the fd, aligned to a page or not. */
static void
log_base_offset(void **state)
{
	static const uint64_t offsets[] = { 0x1040, 0x2000, 0x2ff8 };
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	struct log_mem l;
	size_t i;

	(void)state;
	log_mem_new(&l, 4 * PAGE);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint64_t off = offsets[i];

		print_message("# offset 0x%llx\n", (unsigned long long)off);
		memset(l.va, 0, l.len);
		set_log(fe, &l, 64, off);
		vhu_log_write(dp, 0, 1);		/* page 0 */
		vhu_log_write(dp, 9 * PAGE + 5, 1);	/* page 9 */
		vhu_log_write(dp, 511 * PAGE, 1);	/* the last page */
		assert_int_equal(l.va[off], 0x01);
		assert_int_equal(l.va[off + 1], 0x02);
		assert_int_equal(l.va[off + 63], 0x80);
		assert_int_equal(count_bits(l.va, l.len), 3);
	}
	assert_int_equal(dp->log_dropped, 0);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	log_mem_free(&l);
}

/* Writes mark exactly the pages they touch. */
static void
log_write_marks_pages(void **state)
{
	static const struct {
		uint64_t gpa, len, first, last;
	} cases[] = {
		{ 0x5123, 1, 5, 5 },		/* one byte */
		{ 0, 1, 0, 0 },
		{ 0x1ff0, 0x20, 1, 2 },		/* a page boundary */
		{ 7 * PAGE + 100, 2 * PAGE, 7, 9 }, /* a bitmap byte */
		{ 0x3000, PAGE, 3, 3 },		/* a whole page */
		{ 0x3fff, 2, 3, 4 },
		{ 8 * PAGE, 16 * PAGE, 8, 23 },	/* whole bytes */
		{ 32767ULL * PAGE + 4095, 1, 32767, 32767 },
	};
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	struct log_mem l;
	size_t i;

	(void)state;
	log_mem_new(&l, PAGE);
	set_log(fe, &l, PAGE, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# gpa 0x%llx len 0x%llx\n",
			      (unsigned long long)cases[i].gpa,
			      (unsigned long long)cases[i].len);
		memset(l.va, 0, l.len);
		vhu_log_write(dp, cases[i].gpa, cases[i].len);
		assert_marked(l.va, l.len, cases[i].first, cases[i].last);
	}
	/* Nothing written, nothing marked. */
	memset(l.va, 0, l.len);
	vhu_log_write(dp, 0x5000, 0);
	assert_int_equal(count_bits(l.va, l.len), 0);
	/* Marking twice is marking once. */
	vhu_log_write(dp, 0x5000, 1);
	vhu_log_write(dp, 0x5fff, 1);
	assert_marked(l.va, l.len, 5, 5);
	/* Bits the front-end already had stay. */
	l.va[0] = 0x40;
	vhu_log_write(dp, 0, 1);
	assert_int_equal(l.va[0], 0x41);
	assert_int_equal(dp->log_dropped, 0);
	fe_free(fe);
	log_mem_free(&l);
}

/* Without VHOST_F_LOG_ALL nothing is logged, until it is negotiated. */
static void
log_write_needs_log_all(void **state)
{
	struct fe *fe = fe_new_negotiated(F_BASE, PF_LOG);
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	struct log_mem l;

	(void)state;
	log_mem_new(&l, PAGE);
	set_log(fe, &l, PAGE, 0);
	assert_false(dp->log_all);
	vhu_log_write(dp, 0x5123, 1);
	vhu_log_write(dp, 0, 64 * PAGE);
	assert_int_equal(count_bits(l.va, l.len), 0);

	/* Migration starts: SET_FEATURES with LOG_ALL. */
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_LOG, false);
	assert_true(dp->log_all);
	vhu_log_write(dp, 0x5123, 1);
	assert_marked(l.va, l.len, 5, 5);

	/* And ends. */
	fe_set_u64(fe, VHU_REQ_SET_FEATURES, F_BASE, false);
	memset(l.va, 0, l.len);
	vhu_log_write(dp, 0x5123, 1);
	assert_int_equal(count_bits(l.va, l.len), 0);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	log_mem_free(&l);
}

/*
 * Writes past what the log covers are dropped and counted: no byte
 * outside [offset, offset + size) of the fd changes.
 */
static void
log_write_beyond_size(void **state)
{
	const uint64_t off = PAGE, size = 16;	/* 128 pages */
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	struct log_mem l;

	(void)state;
	log_mem_new(&l, 3 * PAGE);
	set_log(fe, &l, size, off);

	vhu_log_write(dp, 128 * PAGE, 1);
	assert_int_equal(count_bits(l.va, l.len), 0);
	assert_int_equal(dp->log_dropped, 1);

	vhu_log_write(dp, 1000000ULL * PAGE, 64 * PAGE);
	assert_int_equal(count_bits(l.va, l.len), 0);
	assert_int_equal(dp->log_dropped, 2);

	/* Straddling the end: what is inside is marked. */
	vhu_log_write(dp, 120 * PAGE, 20 * PAGE);
	assert_int_equal(l.va[off + 15], 0xff);
	assert_int_equal(count_bits(l.va, l.len), 8);
	assert_int_equal(dp->log_dropped, 3);

	/* A range that wraps around the address space. */
	memset(l.va, 0, l.len);
	vhu_log_write(dp, UINT64_MAX - 10, 100);
	vhu_log_write(dp, UINT64_MAX, UINT64_MAX);
	assert_int_equal(count_bits(l.va, l.len), 0);
	assert_int_equal(dp->log_dropped, 5);

	/* The last page inside is not a drop. */
	vhu_log_write(dp, 127 * PAGE, PAGE);
	assert_int_equal(l.va[off + 15], 0x80);
	assert_int_equal(count_bits(l.va, l.len), 1);
	assert_int_equal(dp->log_dropped, 5);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	log_mem_free(&l);
}

static void
send_addr(struct fe *fe, uint32_t idx, uint32_t flags, uint64_t used,
	  uint64_t log)
{
	fe_vring_addr(fe, idx, flags, 0x1000, 0x2000, used, log);
}

/*
 * Used-ring writes are logged at log_guest_addr + offset (the spec: the
 * first byte of the used ring is logged at that address), not at the
 * ring's user address, and only with VHOST_VRING_F_LOG.
 */
static void
log_used_relative_to_log_guest_addr(void **state)
{
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 1);
	struct log_mem l;

	(void)state;
	log_mem_new(&l, PAGE);
	set_log(fe, &l, PAGE, 0);
	send_addr(fe, 1, 1u << VHU_VRING_F_LOG, 0x3000, 0x10ff0);
	assert_true(vr->log_used);
	assert_int_equal(vr->log_guest_addr, 0x10ff0);

	/* 0x10ff8..0x11007: pages 16 and 17. */
	vhu_log_used(vr, 8, 16);
	assert_marked(l.va, l.len, 16, 17);
	memset(l.va, 0, l.len);
	vhu_log_used(vr, 0, 2);
	assert_marked(l.va, l.len, 16, 16);
	memset(l.va, 0, l.len);
	vhu_log_used(vr, 0x2000, 4);	/* 0x12ff0: page 18 */
	assert_marked(l.va, l.len, 18, 18);
	memset(l.va, 0, l.len);
	vhu_log_used(vr, 8, 0);
	assert_int_equal(count_bits(l.va, l.len), 0);
	/* Past the end of the address space: dropped. */
	vhu_log_used(vr, UINT64_MAX - 0x100, 8);
	assert_int_equal(count_bits(l.va, l.len), 0);
	assert_true(vhu_dev_dp(fe->dev)->log_dropped >= 1);

	/* The flag cleared: used-ring writes are not logged any more. */
	send_addr(fe, 1, 0, 0x3000, 0x10ff0);
	assert_false(vr->log_used);
	vhu_log_used(vr, 8, 16);
	assert_int_equal(count_bits(l.va, l.len), 0);
	/* Another ring's flag is its own. */
	send_addr(fe, 0, 1u << VHU_VRING_F_LOG, 0x3000, 0x20000);
	vhu_log_used(vr, 8, 16);
	vhu_log_used(vhu_dev_vring(fe->dev, 0), 0, 1);
	assert_marked(l.va, l.len, 32, 32);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	log_mem_free(&l);
}

/*
 * Two data-path threads marking interleaved pages of the same bytes:
 * even pages one, odd pages the other. They go through the bitmap in
 * chunks of 8 bytes and wait for each other after every chunk, so both
 * are always writing the same few bytes at the same time.
 */
#define RACE_BYTES	(512 * 1024)
#define RACE_CHUNK	8

struct race {
	struct vhu_dp *dp;
	unsigned int arrived;
};

struct marker {
	struct race *race;
	unsigned int parity;
};

static void *
marker_thread(void *arg)
{
	const struct marker *m = arg;
	unsigned int c, spins;
	uint64_t p, first;

	for (c = 0; c < RACE_BYTES / RACE_CHUNK; c++) {
		first = (uint64_t)c * RACE_CHUNK * 8;
		for (p = first + m->parity; p < first + RACE_CHUNK * 8; p += 2)
			vhu_log_write(m->race->dp, p * PAGE, 1);
		__atomic_fetch_add(&m->race->arrived, 1, __ATOMIC_ACQ_REL);
		spins = 0;
		while (__atomic_load_n(&m->race->arrived, __ATOMIC_ACQUIRE) <
		       2 * (c + 1))
			if (++spins % 1024 == 0)
				sched_yield();
	}
	return NULL;
}

/*
 * A plain read-modify-write of a bitmap byte would lose the other
 * thread's bits (hundreds of thousands here); the atomic OR loses none.
 */
static void
log_marking_is_atomic(void **state)
{
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	struct race race = { .dp = vhu_dev_dp(fe->dev), .arrived = 0 };
	struct marker m[2];
	struct log_mem l;
	pthread_t t[2];
	unsigned int i;

	(void)state;
	log_mem_new(&l, RACE_BYTES);
	set_log(fe, &l, RACE_BYTES, 0);
	for (i = 0; i < 2; i++) {
		m[i].race = &race;
		m[i].parity = i;
		assert_int_equal(pthread_create(&t[i], NULL, marker_thread,
						&m[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(count_bits(l.va, l.len), RACE_BYTES * 8);
	assert_int_equal(race.dp->log_dropped, 0);
	fe_free(fe);
	log_mem_free(&l);
}

/* SET_LOG_BASE rules; a refused log gets no reply, the connection ends. */
static void
log_base_rules(void **state)
{
	static const struct {
		const char *what;
		uint64_t size, offset;
		enum vhu_rule rule;
	} cases[] = {
		{ "larger than the fd", 2 * PAGE, 0, VHU_RULE_REGION },
		{ "ends past the fd", PAGE, 0x800, VHU_RULE_REGION },
		{ "offset past the fd", 16, 2 * PAGE, VHU_RULE_REGION },
		{ "offset + size wraps", 2 * PAGE, UINT64_MAX - PAGE,
		  VHU_RULE_REGION },
		{ "zero size", 0, 0, VHU_RULE_VALUE },
	};
	struct vhu_msg m;
	struct log_mem l;
	struct fe *fe;
	size_t i;
	int efd, nfds;

	(void)state;
	log_mem_new(&l, PAGE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s\n", cases[i].what);
		fe = fe_new_negotiated(F_LOG, PF_LOG);
		send_log_base(fe, l.fd, cases[i].size, cases[i].offset, 0);
		assert_int_not_equal(fe_recv(fe, &m), 1);
		fe_assert_violation(fe, cases[i].rule);
		assert_null(vhu_dev_dp(fe->dev)->log_base);
		fe_free(fe);
	}

	/* LOG_SHMFD not negotiated; the fd that came along is closed. */
	fe = fe_new_negotiated(F_LOG, VHU_BIT(VHU_PF_REPLY_ACK));
	nfds = fe_count_fds();
	send_log_base(fe, l.fd, PAGE, 0, 0);
	assert_int_not_equal(fe_recv(fe, &m), 1);
	fe_assert_violation(fe, VHU_RULE_FEATURE);
	assert_int_equal(fe_count_fds(), nfds - 1);	/* its socket only */
	assert_null(vhu_dev_dp(fe->dev)->log_base);
	fe_free(fe);

	/* No fd. */
	fe = fe_new_negotiated(F_LOG, PF_LOG);
	send_log_base(fe, -1, PAGE, 0, 0);
	assert_int_not_equal(fe_recv(fe, &m), 1);
	fe_assert_violation(fe, VHU_RULE_FDS);
	fe_free(fe);

	/* An fd that is not shared memory. */
	fe = fe_new_negotiated(F_LOG, PF_LOG);
	efd = eventfd(0, EFD_CLOEXEC);
	send_log_base(fe, efd, 8, 0, 0);
	assert_int_not_equal(fe_recv(fe, &m), 1);
	fe_assert_violation(fe, VHU_RULE_REGION);
	close(efd);
	fe_free(fe);
	log_mem_free(&l);
}

/* SET_LOG_FD: vhu_log_notify() makes the front-end's eventfd readable. */
static void
log_fd_notify(void **state)
{
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	int efd1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t v;
	int nfds;

	(void)state;
	vhu_log_notify(fe->dev);	/* no fd yet: nothing happens */
	fe_send(fe, VHU_REQ_SET_LOG_FD, VHU_VERSION, NULL, 0, &efd1, 1);
	assert_true(fe_no_reply(fe));
	vhu_log_notify(fe->dev);
	assert_int_equal(read(efd1, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	assert_true(read(efd1, &v, sizeof(v)) < 0);

	/* A new fd replaces the old, which the device closes. */
	nfds = fe_count_fds();
	fe_send(fe, VHU_REQ_SET_LOG_FD, VHU_VERSION, NULL, 0, &efd2, 1);
	assert_int_equal(fe_count_fds(), nfds);
	vhu_log_notify(fe->dev);
	assert_int_equal(read(efd2, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	assert_true(read(efd1, &v, sizeof(v)) < 0);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	close(efd1);
	close(efd2);
}

/*
 * The log is shared memory like guest memory, so it must be on a memory
 * filesystem too: SET_LOG_BASE with a regular file on disk is refused
 * (no reply, nothing mapped); the same log in a memfd is taken.
 */
static void
log_must_be_memory_filesystem(void **state)
{
	struct vhu_msg m;
	struct log_mem l;
	struct fe *fe;
	int disk;

	(void)state;
	disk = fe_disk_file(PAGE);
	if (disk < 0) {
		print_message("# /tmp and /var/tmp are memory filesystems\n");
		skip();
	}
	fe = fe_new_negotiated(F_LOG, PF_LOG);
	send_log_base(fe, disk, PAGE, 0, 0);
	assert_int_not_equal(fe_recv(fe, &m), 1);
	fe_assert_violation(fe, VHU_RULE_REGION);
	assert_null(vhu_dev_dp(fe->dev)->log_base);
	fe_free(fe);
	close(disk);

	fe = fe_new_negotiated(F_LOG, PF_LOG);
	log_mem_new(&l, PAGE);
	set_log(fe, &l, PAGE, 0);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	log_mem_free(&l);
}

/*
 * SET_LOG_FD takes an eventfd or a pipe, what the device can signal
 * without blocking: a memfd is an fd violation; a pipe's write end is
 * taken, and vhu_log_notify() writes to it.
 */
static void
log_fd_must_be_eventfd_or_pipe(void **state)
{
	struct fe *fe;
	uint64_t v;
	int mfd, p[2], nfds;

	(void)state;
	fe = fe_new_negotiated(F_LOG, PF_LOG);
	mfd = fe_memfd_sized(PAGE);
	nfds = fe_count_fds();
	fe_send(fe, VHU_REQ_SET_LOG_FD, VHU_VERSION, NULL, 0, &mfd, 1);
	fe_assert_violation(fe, VHU_RULE_FDS);
	/* Its socket and its copy of the memfd are closed. */
	assert_int_equal(fe_count_fds(), nfds - 1);
	fe_free(fe);
	close(mfd);

	fe = fe_new_negotiated(F_LOG, PF_LOG);
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	fe_send(fe, VHU_REQ_SET_LOG_FD, VHU_VERSION, NULL, 0, &p[1], 1);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	vhu_log_notify(fe->dev);
	assert_int_equal(read(p[0], &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	close(p[0]);
	close(p[1]);
}

/*
 * A new SET_LOG_BASE (the log resized as memory grows) replaces the old
 * log: the old mapping is gone and marks land in the new one. The
 * mapping goes with the connection too.
 */
static void
log_base_replaced(void **state)
{
	struct fe *fe = fe_new_negotiated(F_LOG, PF_LOG);
	struct vhu_dp *dp = vhu_dev_dp(fe->dev);
	struct log_mem a, b;
	uint8_t *old, *cur;

	(void)state;
	log_mem_new(&a, 2 * PAGE);
	log_mem_new(&b, 4 * PAGE);
	set_log(fe, &a, 2 * PAGE, 0);
	old = dp->log_base;
	assert_true(fe_is_mapped(old, PAGE));
	assert_true(fe_is_mapped(old + PAGE, PAGE));
	vhu_log_write(dp, 0, 1);
	assert_int_equal(a.va[0], 1);

	set_log(fe, &b, 4 * PAGE, 0);
	cur = dp->log_base;
	assert_ptr_not_equal(cur, old);
	assert_int_equal(dp->log_size, 4 * PAGE);
	assert_false(fe_is_mapped(old, PAGE));
	assert_false(fe_is_mapped(old + PAGE, PAGE));
	vhu_log_write(dp, PAGE, 1);
	vhu_log_write(dp, (4 * PAGE * 8 - 1) * (uint64_t)PAGE, 1);
	assert_int_equal(b.va[0], 2);
	assert_int_equal(b.va[4 * PAGE - 1], 0x80);
	assert_int_equal(a.va[0], 1);
	assert_int_equal(count_bits(a.va, a.len), 1);
	assert_int_equal(dp->log_dropped, 0);

	/* The front-end leaves: the log is unmapped. */
	close(fe->sock);
	fe->sock = -1;
	fe_pump(fe);
	assert_false(vhu_dev_connected(fe->dev));
	assert_null(dp->log_base);
	assert_int_equal(dp->log_size, 0);
	assert_false(fe_is_mapped(cur, PAGE));
	fe_free(fe);
	log_mem_free(&a);
	log_mem_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log_base_always_replied),
		cmocka_unit_test(log_base_offset),
		cmocka_unit_test(log_write_marks_pages),
		cmocka_unit_test(log_write_needs_log_all),
		cmocka_unit_test(log_write_beyond_size),
		cmocka_unit_test(log_used_relative_to_log_guest_addr),
		cmocka_unit_test(log_marking_is_atomic),
		cmocka_unit_test(log_base_rules),
		cmocka_unit_test(log_fd_notify),
		cmocka_unit_test(log_must_be_memory_filesystem),
		cmocka_unit_test(log_fd_must_be_eventfd_or_pipe),
		cmocka_unit_test(log_base_replaced),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
