/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memory table: SET_MEM_TABLE, ADD/REM_MEM_REG and GET_MAX_MEM_SLOTS.
 * Checks that regions are really mapped (the device's address aliases the
 * front-end's memory), that every translation is bounds-checked, that a
 * hostile table ends the connection under the right rule without leaking
 * mappings or fds, and that rings follow the table when it changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <cmocka.h>

#include "fe.h"

#define KIB		1024ULL
#define MIB		(1024ULL * 1024)
/* A front-end address nothing here maps; the device only compares it. */
#define FAKE_UVA	0x7e0000000000ULL
/* Header flags of a request that wants its ack. */
#define F_ACK		(VHU_VERSION | VHU_FLAG_NEED_REPLY)

/* A device with REPLY_ACK (and extra) negotiated. */
static struct fe *
mem_fe(uint64_t extra_proto)
{
	return fe_new_negotiated(VHU_BIT(VHU_F_PROTOCOL_FEATURES) |
				 VHU_BIT(VHU_F_VERSION_1),
				 VHU_BIT(VHU_PF_REPLY_ACK) | extra_proto);
}

/* A well-formed SET_MEM_TABLE of n regions; returns the ack (need_reply). */
static int64_t
send_table(struct fe *fe, const struct fe_treg *r, uint32_t n)
{
	fe_send_tregs(fe, r, n, F_ACK);
	return fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE);
}

static int64_t
mem_reg(struct fe *fe, uint32_t req, const struct fe_treg *r, const int *fds,
	unsigned int nfds)
{
	struct vhu_mem_reg_msg m;

	memset(&m, 0, sizeof(m));
	fe_treg_desc(&m.region, r);
	assert_int_equal(fe_send(fe, req, VHU_VERSION | VHU_FLAG_NEED_REPLY,
				 &m, sizeof(m), fds, nfds), 0);
	return fe_read_ack(fe, req);
}

static int64_t
add_reg(struct fe *fe, const struct fe_treg *r)
{
	return mem_reg(fe, VHU_REQ_ADD_MEM_REG, r, &r->fd, 1);
}

static int64_t
rem_reg(struct fe *fe, const struct fe_treg *r)
{
	return mem_reg(fe, VHU_REQ_REM_MEM_REG, r, NULL, 0);
}

/*
 * The file mapped at p in this process, from /proc/self/maps: its device
 * and inode. Returns false when p is not mapped at all.
 */
static bool
mapping_at(const void *p, dev_t *dev, unsigned long *ino)
{
	uintptr_t a = (uintptr_t)p;
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		uintptr_t lo, hi;
		unsigned int maj, min;
		unsigned long i;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %x:%x %lu",
			   &lo, &hi, &maj, &min, &i) != 5)
			continue;
		if (a >= lo && a < hi) {
			*dev = makedev(maj, min);
			*ino = i;
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* Whether p lies in a mapping of the file fd refers to. */
static bool
maps_file(const void *p, int fd)
{
	struct stat st;
	unsigned long ino;
	dev_t dev;

	assert_int_equal(fstat(fd, &st), 0);
	return mapping_at(p, &dev, &ino) && ino == st.st_ino &&
	       dev == st.st_dev;
}

/* How many mappings of the file fd refers to this process has. */
static int
count_maps_of(int fd)
{
	char line[4096];
	struct stat st;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	assert_int_equal(fstat(fd, &st), 0);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned int maj, min;
		unsigned long i;

		if (sscanf(line, "%*x-%*x %*s %*s %x:%x %lu",
			   &maj, &min, &i) == 3 && i == st.st_ino &&
		    makedev(maj, min) == st.st_dev)
			n++;
	}
	fclose(f);
	return n;
}

/* Fill a file through write(2) with a byte pattern of its offset. */
static uint8_t
pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 12) + 3);
}

static void
fill_pattern(int fd, uint64_t size)
{
	uint8_t buf[4096];
	uint64_t off, i;

	for (off = 0; off < size; off += sizeof(buf)) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(off + i);
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)off),
				 (ssize_t)sizeof(buf));
	}
}

/*
 * The connection ended for rule, once, and nothing of the memory table
 * is left: no regions, and fds back to fds_after.
 */
static void
assert_closed_for(struct fe *fe, enum vhu_rule rule, int fds_after)
{
	fe_assert_violation(fe, rule);
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe_mem(fe)->nregions, 0);
	if (fds_after >= 0)
		assert_int_equal(fe_count_fds(), fds_after);
}

static void
set_mem_table_one_region(void **state)
{
	struct fe *fe = mem_fe(0);
	const struct vhu_mem_region *r;
	struct fe_region *f;
	uint8_t *hva;
	int base;

	(void)state;
	f = fe_add_region(fe, 0x100000, MIB);
	assert_non_null(f);
	base = fe_count_fds();
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	assert_true(vhu_dev_connected(fe->dev));
	/* The device keeps its own copy of the region's fd. */
	assert_int_equal(fe_count_fds(), base + 1);
	assert_int_equal(count_maps_of(f->fd), 2);

	assert_int_equal(fe_mem(fe)->nregions, 1);
	r = &fe_mem(fe)->regions[0];
	assert_int_equal(r->gpa, 0x100000);
	assert_int_equal(r->size, MIB);
	assert_int_equal(r->uva, (uint64_t)(uintptr_t)f->va);
	assert_int_equal(r->mmap_offset, 0);

	hva = vhu_gpa_to_hva(fe_mem(fe), 0x100000, MIB);
	assert_non_null(hva);
	assert_ptr_not_equal(hva, f->va);
	assert_true(maps_file(hva, f->fd));
	/* Same memory both ways: front-end writes, device reads... */
	fe_ptr(fe, 0x100000 + 4321)[0] = 0x5a;
	assert_int_equal(hva[4321], 0x5a);
	/* ...and the device writes, the front-end reads. */
	hva[MIB - 1] = 0xa5;
	assert_int_equal(fe_ptr(fe, 0x100000 + MIB - 1)[0], 0xa5);

	/* The three translations agree. */
	assert_ptr_equal(vhu_uva_to_hva(fe_mem(fe),
					fe_uva(fe, 0x100000 + 4321), 1),
			 hva + 4321);
	assert_int_equal(vhu_hva_to_gpa(fe_mem(fe), hva + 4321),
			 0x100000 + 4321);
	assert_ptr_equal(vhu_dp_translate(vhu_dev_dp(fe->dev), 0x100000 + 8,
					  8, VHU_ACCESS_RW), hva + 8);
	fe_free(fe);
}

/* Eight regions sent out of order: the table is sorted, all translate. */
static void
set_mem_table_eight_regions(void **state)
{
	static const unsigned int order[8] = { 5, 2, 7, 0, 3, 6, 1, 4 };
	struct fe *fe = mem_fe(0);
	const struct vhu_mem *m;
	unsigned int i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_non_null(fe_add_region(fe, order[i] * 0x400000ULL +
					      0x10000, 64 * KIB));
	for (i = 0; i < 8; i++)
		fe->mem[i].va[100] = (uint8_t)(0x40 + order[i]);
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	m = fe_mem(fe);
	assert_int_equal(m->nregions, 8);
	for (i = 0; i < 8; i++) {
		uint64_t gpa = i * 0x400000ULL + 0x10000;
		uint8_t *hva = vhu_gpa_to_hva(m, gpa, 64 * KIB);

		assert_int_equal(m->regions[i].gpa, gpa);
		assert_non_null(hva);
		assert_int_equal(hva[100], 0x40 + i);
		hva[200] = (uint8_t)(0x80 + i);
		assert_int_equal(fe_ptr(fe, gpa + 200)[0], 0x80 + i);
		assert_ptr_equal(vhu_uva_to_hva(m, fe_uva(fe, gpa + 300), 16),
				 hva + 300);
		assert_int_equal(vhu_hva_to_gpa(m, hva + 64 * KIB - 1),
				 gpa + 64 * KIB - 1);
	}
	fe_free(fe);
}

/* Every way a range can fail to lie inside one region. */
static void
translation_bounds(void **state)
{
	struct fe *fe = mem_fe(0);
	const struct vhu_mem *m;
	struct fe_treg r[2];
	uint8_t *h0, *h1;
	uint64_t u0, u1;
	int x;

	(void)state;
	/*
	 * Guest [0, 1M) and [2M, 3M), a hole between them; user addresses
	 * with holes on both sides of each region too.
	 */
	u0 = FAKE_UVA + 16 * MIB;
	u1 = FAKE_UVA + 64 * MIB;
	r[0] = (struct fe_treg){ 0, MIB, u0, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 2 * MIB, MIB, u1, 0, fe_memfd_sized(MIB) };
	assert_int_equal(send_table(fe, r, 2), 0);
	m = fe_mem(fe);
	h0 = vhu_gpa_to_hva(m, 0, MIB);
	h1 = vhu_gpa_to_hva(m, 2 * MIB, MIB);
	assert_non_null(h0);
	assert_non_null(h1);

	/* Guest physical addresses. */
	assert_ptr_equal(vhu_gpa_to_hva(m, MIB - 1, 1), h0 + MIB - 1);
	assert_ptr_equal(vhu_gpa_to_hva(m, MIB - 16, 16), h0 + MIB - 16);
	assert_null(vhu_gpa_to_hva(m, MIB - 16, 17));
	assert_null(vhu_gpa_to_hva(m, MIB, 1));
	assert_null(vhu_gpa_to_hva(m, 0, MIB + 1));
	assert_null(vhu_gpa_to_hva(m, MIB + MIB / 2, 1));
	assert_null(vhu_gpa_to_hva(m, 2 * MIB - 1, 2));
	/* Across the hole into the next region. */
	assert_null(vhu_gpa_to_hva(m, MIB - 16, 2 * MIB));
	assert_ptr_equal(vhu_gpa_to_hva(m, 3 * MIB - 1, 1), h1 + MIB - 1);
	assert_null(vhu_gpa_to_hva(m, 3 * MIB, 1));
	/* Huge lengths and ranges that wrap around 2^64. */
	assert_null(vhu_gpa_to_hva(m, 0, UINT64_MAX));
	assert_null(vhu_gpa_to_hva(m, 2 * MIB + 8, UINT64_MAX - 7));
	assert_null(vhu_gpa_to_hva(m, 2 * MIB + 8, UINT64_MAX - 2 * MIB));
	assert_null(vhu_gpa_to_hva(m, UINT64_MAX, 1));
	assert_null(vhu_gpa_to_hva(m, UINT64_MAX - 3, 8));

	/* Front-end virtual addresses, the same rules. */
	assert_ptr_equal(vhu_uva_to_hva(m, u0 + MIB - 1, 1), h0 + MIB - 1);
	assert_null(vhu_uva_to_hva(m, u0 + MIB - 16, 17));
	assert_null(vhu_uva_to_hva(m, u0 + MIB, 1));
	assert_null(vhu_uva_to_hva(m, u0 - 1, 1));
	assert_null(vhu_uva_to_hva(m, u1 + MIB, 1));
	assert_null(vhu_uva_to_hva(m, u0 + MIB - 8, 16 * MIB));
	assert_null(vhu_uva_to_hva(m, u0, UINT64_MAX));
	assert_null(vhu_uva_to_hva(m, u1 + 8, UINT64_MAX - 7));
	assert_null(vhu_uva_to_hva(m, UINT64_MAX, 1));
	assert_ptr_equal(vhu_uva_to_hva(m, u1, MIB), h1);

	/* Host addresses back to guest ones. */
	assert_int_equal(vhu_hva_to_gpa(m, h0), 0);
	assert_int_equal(vhu_hva_to_gpa(m, h1 + MIB - 1), 3 * MIB - 1);
	assert_int_equal(vhu_hva_to_gpa(m, &x), UINT64_MAX);
	assert_int_not_equal(vhu_hva_to_gpa(m, h0 + MIB), MIB);

	/* Through the data path translation (no IOMMU negotiated). */
	assert_null(vhu_dp_translate(vhu_dev_dp(fe->dev), MIB - 4, 8,
				     VHU_ACCESS_RO));
	assert_ptr_equal(vhu_dp_translate(vhu_dev_dp(fe->dev), MIB - 8, 8,
					  VHU_ACCESS_RO), h0 + MIB - 8);
	fe_free(fe);
	close(r[0].fd);
	close(r[1].fd);
}

/*
 * The data path's hinted translation: the hot region's bounds answer only
 * for that region, a miss searches and moves the hint, and together they
 * give what vhu_dp_translate() gives for every range.
 */
static void
translation_hot_region(void **state)
{
	static const struct { uint64_t gpa, len; } probe[] = {
		{ 0, 1 }, { MIB - 16, 16 }, { MIB - 16, 17 }, { MIB, 1 },
		{ MIB - 1, 0 }, { 0, 0 }, { 2 * MIB, MIB }, { 2 * MIB, MIB + 1 },
		{ 3 * MIB - 1, 1 }, { 3 * MIB, 1 }, { MIB + 8, 8 },
		{ 2 * MIB + 8, UINT64_MAX - 7 }, { UINT64_MAX, 1 },
		{ MIB - 16, 2 * MIB },
	};
	struct fe *fe = mem_fe(0);
	const struct vhu_dp *dp;
	struct vhu_hot hot;
	struct fe_treg r[2];
	uint8_t *h0, *h1;
	uint32_t hint;
	unsigned int i, start;

	(void)state;
	r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 2 * MIB, MIB, FAKE_UVA + 4 * MIB, 0,
				 fe_memfd_sized(MIB) };
	assert_int_equal(send_table(fe, r, 2), 0);
	dp = vhu_dev_dp(fe->dev);
	h0 = vhu_dp_translate(dp, 0, MIB, VHU_ACCESS_RO);
	h1 = vhu_dp_translate(dp, 2 * MIB, MIB, VHU_ACCESS_RO);
	assert_non_null(h0);
	assert_non_null(h1);

	/* A hint the table does not have: nothing is hot. */
	vhu_hot_load(dp, 7, &hot);
	assert_null(vhu_hot_translate(&hot, 0, 1));
	assert_null(vhu_hot_translate(&hot, 2 * MIB, 1));

	/* A miss finds the region and moves the hint to it. */
	hint = 7;
	assert_ptr_equal(vhu_dp_translate_miss(dp, 2 * MIB + 64, 64,
					       VHU_ACCESS_RO, &hint),
			 h1 + 64);
	assert_int_equal(hint, 1);
	vhu_hot_load(dp, hint, &hot);
	assert_ptr_equal(vhu_hot_translate(&hot, 3 * MIB - 8, 8),
			 h1 + MIB - 8);
	assert_null(vhu_hot_translate(&hot, 0, 1));	/* the other region */
	assert_null(vhu_hot_translate(&hot, 3 * MIB - 8, 9));
	assert_null(vhu_hot_translate(&hot, 2 * MIB - 1, 2));
	assert_null(vhu_hot_translate(&hot, 2 * MIB, 0));
	assert_ptr_equal(vhu_dp_translate_miss(dp, 8, 8, VHU_ACCESS_RO,
					       &hint), h0 + 8);
	assert_int_equal(hint, 0);
	/* A range in no region leaves the hint where it was. */
	assert_null(vhu_dp_translate_miss(dp, MIB + 8, 8, VHU_ACCESS_RO,
					  &hint));
	assert_int_equal(hint, 0);

	/* Hot or searched, from any starting hint: the plain translation. */
	for (start = 0; start < 3; start++) {
		hint = start;
		for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
			uint8_t *want = vhu_dp_translate(dp, probe[i].gpa,
							 probe[i].len,
							 VHU_ACCESS_RO);
			uint8_t *got;

			vhu_hot_load(dp, hint, &hot);
			got = vhu_hot_translate(&hot, probe[i].gpa,
						probe[i].len);
			if (got == NULL)
				got = vhu_dp_translate_miss(dp, probe[i].gpa,
							    probe[i].len,
							    VHU_ACCESS_RO,
							    &hint);
			assert_ptr_equal(got, want);
		}
	}
	fe_free(fe);
	close(r[0].fd);
	close(r[1].fd);
}

/* A region that starts a few pages into its file. */
static void
mmap_offset_page_aligned(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r;
	uint8_t *va, *hva;
	uint64_t i;

	(void)state;
	r.fd = fe_memfd(256 * KIB, &va);
	assert_true(r.fd >= 0);
	fill_pattern(r.fd, 256 * KIB);
	r.gpa = 0x40000000;
	r.size = 64 * KIB;
	r.off = 128 * KIB;
	r.uva = (uint64_t)(uintptr_t)va + r.off;
	assert_int_equal(send_table(fe, &r, 1), 0);
	assert_int_equal(fe_mem(fe)->regions[0].mmap_offset, 128 * KIB);
	hva = vhu_gpa_to_hva(fe_mem(fe), r.gpa, r.size);
	assert_non_null(hva);
	for (i = 0; i < r.size; i += 4093)
		assert_int_equal(hva[i], pattern(r.off + i));
	assert_int_equal(hva[r.size - 1], pattern(r.off + r.size - 1));
	assert_null(vhu_gpa_to_hva(fe_mem(fe), r.gpa + r.size, 1));
	/* The front-end's view at the same offset is the same memory. */
	va[r.off + 77] = 0xee;
	assert_int_equal(hva[77], 0xee);
	assert_ptr_equal(vhu_uva_to_hva(fe_mem(fe), r.uva + 77, 1), hva + 77);
	fe_free(fe);
	munmap(va, 256 * KIB);
	close(r.fd);
}

/* An offset that is not a multiple of the page size. */
static void
mmap_offset_unaligned(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r;
	uint8_t *hva;
	uint64_t i;

	(void)state;
	r.fd = fe_memfd_sized(64 * KIB);
	fill_pattern(r.fd, 64 * KIB);
	r.gpa = 0x1000;
	r.size = 0x3000;
	r.off = 0x1234;
	r.uva = FAKE_UVA + 0x1234;
	assert_int_equal(send_table(fe, &r, 1), 0);
	hva = vhu_gpa_to_hva(fe_mem(fe), r.gpa, r.size);
	assert_non_null(hva);
	for (i = 0; i < r.size; i += 0x101)
		assert_int_equal(hva[i], pattern(r.off + i));
	assert_int_equal(hva[r.size - 1], pattern(r.off + r.size - 1));
	assert_int_equal(vhu_hva_to_gpa(fe_mem(fe), hva + 5), r.gpa + 5);
	fe_free(fe);
	close(r.fd);
}

/* A hugetlbfs memfd mapped here, or -1 if there are no huge pages. */
static int
huge_memfd(uint64_t size, uint8_t **va)
{
	int fd = memfd_create("test-huge", MFD_CLOEXEC | MFD_HUGETLB);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	*va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*va == MAP_FAILED) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * hugetlbfs: a region at a huge-page offset maps the right bytes, and a
 * region whose size is not a multiple of the huge page size is either
 * refused or mapped and later unmapped for real (munmap of a hugetlbfs
 * mapping fails unless its length is huge-page aligned).
 */
static void
hugetlbfs_regions(void **state)
{
	const uint64_t huge = 2 * MIB;
	struct fe *fe;
	struct fe_treg a, b;
	uint8_t *va, *hva;
	uint64_t i;
	int64_t ack;
	int fd;

	(void)state;
	fd = huge_memfd(2 * huge, &va);
	if (fd < 0) {
		print_message("# no 2 MiB huge pages here\n");
		skip();
	}
	for (i = 0; i < 2 * huge; i += 4096)
		va[i] = pattern(i);
	va[2 * huge - 1] = 0x5f;

	fe = mem_fe(0);
	a = (struct fe_treg){ 0, huge, FAKE_UVA + huge, huge, fd };
	assert_int_equal(send_table(fe, &a, 1), 0);
	hva = vhu_gpa_to_hva(fe_mem(fe), 0, huge);
	assert_non_null(hva);
	assert_true(maps_file(hva, fd));
	for (i = 0; i < huge; i += 4096)
		assert_int_equal(hva[i], pattern(huge + i));
	assert_int_equal(hva[huge - 1], 0x5f);
	assert_int_equal(count_maps_of(fd), 2);
	/* Another table: the huge page mapping is gone. */
	b = (struct fe_treg){ 0, 4096, FAKE_UVA, 0, fe_memfd_sized(4096) };
	assert_int_equal(send_table(fe, &b, 1), 0);
	assert_int_equal(count_maps_of(fd), 1);
	fe_free(fe);
	close(b.fd);

	/* Half a huge page. */
	fe = mem_fe(0);
	b = (struct fe_treg){ 0, huge / 2, FAKE_UVA, 0, fd };
	ack = send_table(fe, &b, 1);
	if (ack == 0) {
		hva = vhu_gpa_to_hva(fe_mem(fe), 0, huge / 2);
		assert_non_null(hva);
		assert_int_equal(hva[4096], pattern(4096));
		assert_null(vhu_gpa_to_hva(fe_mem(fe), huge / 2, 1));
		assert_int_equal(shutdown(fe->sock, SHUT_WR), 0);
		fe_pump(fe);
		assert_false(vhu_dev_connected(fe->dev));
		assert_int_equal(fe_mem(fe)->nregions, 0);
	} else {
		assert_closed_for(fe, VHU_RULE_REGION, -1);
	}
	/* Either way the device keeps no mapping of the file. */
	assert_int_equal(count_maps_of(fd), 1);
	fe_free(fe);
	munmap(va, 2 * huge);
	close(fd);
}

/* Two regions overlapping in guest physical space. */
static void
violation_overlap_gpa(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r[2];
	int base;

	(void)state;
	r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ MIB - 4096, MIB, FAKE_UVA + 16 * MIB, 0,
				 fe_memfd_sized(MIB) };
	base = fe_count_fds();
	assert_int_equal(send_table(fe, r, 2), -1);
	assert_closed_for(fe, VHU_RULE_OVERLAP, base - 1);
	close(r[0].fd);
	close(r[1].fd);
	fe_free(fe);
}

/* Distinct guest ranges claiming the same front-end addresses. */
static void
violation_overlap_uva(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r[3];
	int base;

	(void)state;
	r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 4 * MIB, MIB, FAKE_UVA + 2 * MIB, 0,
				 fe_memfd_sized(MIB) };
	r[2] = (struct fe_treg){ 8 * MIB, MIB, FAKE_UVA + MIB / 2, 0,
				 fe_memfd_sized(MIB) };
	base = fe_count_fds();
	assert_int_equal(send_table(fe, r, 3), -1);
	assert_closed_for(fe, VHU_RULE_OVERLAP, base - 1);
	close(r[0].fd);
	close(r[1].fd);
	close(r[2].fd);
	fe_free(fe);
}

/* mmap_offset + size past the end of the file. */
static void
violation_region_past_file(void **state)
{
	static const struct {
		uint64_t size, off;
	} cases[] = {
		{ 64 * KIB, 4096 },		/* ends a page past */
		{ 64 * KIB + 1, 0 },		/* one byte past */
		{ 4096, 64 * KIB },		/* starts at the end */
		{ 4096, UINT64_MAX - 4096 },	/* 2^64 - 1 exactly */
		{ 8192, UINT64_MAX - 4096 },	/* wraps */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fe *fe = mem_fe(0);
		struct fe_treg r[2];
		int base;

		r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0,
					 fe_memfd_sized(MIB) };
		r[1] = (struct fe_treg){ 2 * MIB, cases[i].size,
					 FAKE_UVA + 2 * MIB, cases[i].off,
					 fe_memfd_sized(64 * KIB) };
		base = fe_count_fds();
		print_message("# size 0x%" PRIx64 " offset 0x%" PRIx64 "\n",
			      cases[i].size, cases[i].off);
		assert_int_equal(send_table(fe, r, 2), -1);
		/* The first region was good: it is gone too. */
		assert_closed_for(fe, VHU_RULE_REGION, base - 1);
		assert_int_equal(count_maps_of(r[0].fd), 0);
		assert_int_equal(count_maps_of(r[1].fd), 0);
		close(r[0].fd);
		close(r[1].fd);
		fe_free(fe);
	}
}

/* An eventfd or a pipe cannot be guest memory. */
static void
violation_region_not_a_file(void **state)
{
	int p[2];
	int fds[3];
	size_t i;

	(void)state;
	assert_int_equal(pipe(p), 0);
	fds[0] = eventfd(0, EFD_CLOEXEC);
	fds[1] = p[0];
	fds[2] = p[1];
	for (i = 0; i < 3; i++) {
		struct fe *fe = mem_fe(0);
		struct fe_treg r = { 0, 4096, FAKE_UVA, 0, fds[i] };
		int base = fe_count_fds();

		assert_int_equal(send_table(fe, &r, 1), -1);
		assert_closed_for(fe, VHU_RULE_REGION, base - 1);
		fe_free(fe);
	}
	/* The same through a socket fd. */
	{
		struct fe *fe = mem_fe(0);
		struct fe_treg r = { 0, 4096, FAKE_UVA, 0, fe->sock };
		int base = fe_count_fds();

		assert_int_equal(send_table(fe, &r, 1), -1);
		assert_closed_for(fe, VHU_RULE_REGION, base - 1);
		fe_free(fe);
	}
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

static void
violation_zero_size(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r[2];
	int base;

	(void)state;
	r[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	r[1] = (struct fe_treg){ 2 * MIB, 0, FAKE_UVA + 2 * MIB, 0,
				 fe_memfd_sized(MIB) };
	base = fe_count_fds();
	assert_int_equal(send_table(fe, r, 2), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	close(r[0].fd);
	close(r[1].fd);
	fe_free(fe);
}

/* A region whose guest or user range wraps past 2^64. */
static void
violation_region_wraps(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r = { UINT64_MAX - 4095, 8192, FAKE_UVA, 0,
			  fe_memfd_sized(MIB) };
	int base = fe_count_fds();

	(void)state;
	assert_int_equal(send_table(fe, &r, 1), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	fe_free(fe);

	fe = mem_fe(0);
	r.gpa = 0;
	r.uva = UINT64_MAX - 4095;
	base = fe_count_fds();
	assert_int_equal(send_table(fe, &r, 1), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	fe_free(fe);
	close(r.fd);
}

/* nregions above 8, or a payload size that does not match nregions. */
static void
violation_table_size(void **state)
{
	static const struct {
		uint32_t nregions, ndesc;
	} cases[] = {
		{ 9, 8 }, { 2, 1 }, { 1, 2 }, { 0, 1 }, { 0xffffffffu, 8 },
		{ 0x80000001u, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fe *fe = mem_fe(0);
		struct fe_treg r[8];
		int fds[8];
		uint32_t j, nfds = cases[i].ndesc;
		int base;

		for (j = 0; j < cases[i].ndesc; j++) {
			r[j] = (struct fe_treg){ j * MIB, 4096,
						 FAKE_UVA + j * MIB, 0,
						 fe_memfd_sized(4096) };
			fds[j] = r[j].fd;
		}
		if (cases[i].nregions < nfds)
			nfds = cases[i].nregions;
		base = fe_count_fds();
		print_message("# nregions %u, %u descriptions\n",
			      cases[i].nregions, cases[i].ndesc);
		fe_send_tregs_raw(fe, cases[i].nregions, r, cases[i].ndesc,
				  fds, nfds, F_ACK);
		assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), -1);
		assert_closed_for(fe, VHU_RULE_SIZE, base - 1);
		for (j = 0; j < cases[i].ndesc; j++)
			close(r[j].fd);
		fe_free(fe);
	}
}

/* The fds must match the regions one for one. */
static void
violation_fd_count(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r[2];
	int fds[3], base;

	(void)state;
	r[0] = (struct fe_treg){ 0, 4096, FAKE_UVA, 0, fe_memfd_sized(4096) };
	r[1] = (struct fe_treg){ MIB, 4096, FAKE_UVA + MIB, 0,
				 fe_memfd_sized(4096) };
	fds[0] = r[0].fd;
	fds[1] = r[1].fd;
	fds[2] = fe_memfd_sized(4096);
	base = fe_count_fds();
	/* Two regions, one fd. */
	fe_send_tregs_raw(fe, 2, r, 2, fds, 1, F_ACK);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), -1);
	assert_closed_for(fe, VHU_RULE_FDS, base - 1);
	fe_free(fe);

	/* Two regions, three fds. */
	fe = mem_fe(0);
	base = fe_count_fds();
	fe_send_tregs_raw(fe, 2, r, 2, fds, 3, F_ACK);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), -1);
	assert_closed_for(fe, VHU_RULE_FDS, base - 1);
	fe_free(fe);

	/* No regions, one fd. */
	fe = mem_fe(0);
	base = fe_count_fds();
	fe_send_tregs_raw(fe, 0, r, 0, fds, 1, F_ACK);
	assert_int_equal(fe_read_ack(fe, VHU_REQ_SET_MEM_TABLE), -1);
	assert_closed_for(fe, VHU_RULE_FDS, base - 1);
	fe_free(fe);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
}

/* A new table unmaps the old regions and closes their fds. */
static void
replace_table_unmaps_old(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg a[2], b;
	uint8_t *old0, *old1, *hva;
	int base;

	(void)state;
	a[0] = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, fe_memfd_sized(MIB) };
	a[1] = (struct fe_treg){ 4 * MIB, MIB, FAKE_UVA + 4 * MIB, 0,
				 fe_memfd_sized(MIB) };
	b = (struct fe_treg){ 0, 2 * MIB, FAKE_UVA + 64 * MIB, 0,
			      fe_memfd_sized(2 * MIB) };
	fill_pattern(b.fd, 2 * MIB);
	base = fe_count_fds();
	assert_int_equal(send_table(fe, a, 2), 0);
	assert_int_equal(fe_count_fds(), base + 2);
	old0 = vhu_gpa_to_hva(fe_mem(fe), 0, 1);
	old1 = vhu_gpa_to_hva(fe_mem(fe), 4 * MIB, 1);
	assert_true(maps_file(old0, a[0].fd));
	assert_true(maps_file(old1, a[1].fd));

	assert_int_equal(send_table(fe, &b, 1), 0);
	assert_int_equal(fe_mem(fe)->nregions, 1);
	/* Nothing maps the old files any more, whatever is at old0 now. */
	assert_int_equal(count_maps_of(a[0].fd), 0);
	assert_int_equal(count_maps_of(a[1].fd), 0);
	assert_false(maps_file(old0, a[0].fd));
	assert_false(maps_file(old1, a[1].fd));
	/* Their fds were closed: one fd (b's) where there were two. */
	assert_int_equal(fe_count_fds(), base + 1);
	assert_null(vhu_gpa_to_hva(fe_mem(fe), 4 * MIB, 1));
	assert_null(vhu_uva_to_hva(fe_mem(fe), FAKE_UVA, 1));
	hva = vhu_gpa_to_hva(fe_mem(fe), 0, 2 * MIB);
	assert_non_null(hva);
	assert_true(maps_file(hva, b.fd));
	assert_int_equal(hva[MIB + 3], pattern(MIB + 3));
	fe_free(fe);
	close(a[0].fd);
	close(a[1].fd);
	close(b.fd);
}

/*
 * The same table again (new fds for the same files) changes nothing; the
 * same description over a different file is a different table.
 */
static void
identical_table_not_remapped(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_region *f;
	struct fe_treg r;
	uint8_t *hva, *hva2;
	void *base_map;
	int fds;

	(void)state;
	f = fe_add_region(fe, 0, MIB);
	assert_non_null(f);
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	hva = vhu_gpa_to_hva(fe_mem(fe), 0, MIB);
	base_map = fe_mem(fe)->regions[0].map_base;
	assert_non_null(hva);
	fds = fe_count_fds();
	assert_int_equal(count_maps_of(f->fd), 2);

	assert_int_equal(fe_send_mem_table(fe, true), 0);
	assert_ptr_equal(vhu_gpa_to_hva(fe_mem(fe), 0, MIB), hva);
	assert_ptr_equal(fe_mem(fe)->regions[0].map_base, base_map);
	assert_int_equal(count_maps_of(f->fd), 2);
	assert_int_equal(fe_count_fds(), fds);
	hva[9] = 0x99;
	assert_int_equal(f->va[9], 0x99);

	/* Same gpa, size, uva and offset, but another file. */
	r = (struct fe_treg){ 0, MIB, (uint64_t)(uintptr_t)f->va, 0,
			      fe_memfd_sized(MIB) };
	fill_pattern(r.fd, MIB);
	assert_int_equal(send_table(fe, &r, 1), 0);
	hva2 = vhu_gpa_to_hva(fe_mem(fe), 0, MIB);
	assert_non_null(hva2);
	assert_true(maps_file(hva2, r.fd));
	assert_int_equal(count_maps_of(f->fd), 1);
	assert_int_equal(hva2[9], pattern(9));
	assert_int_equal(fe_count_fds(), fds + 1);	/* r.fd, ours */
	fe_free(fe);
	close(r.fd);
}

/* The front-end hangs up: every region is unmapped, every fd closed. */
static void
disconnect_unmaps_everything(void **state)
{
	struct fe *fe = mem_fe(0);
	uint8_t *hva[3];
	int base, i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_non_null(fe_add_region(fe, (uint64_t)i * 16 * MIB,
					      MIB));
	base = fe_count_fds();
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	assert_int_equal(fe_count_fds(), base + 3);
	for (i = 0; i < 3; i++) {
		hva[i] = vhu_gpa_to_hva(fe_mem(fe), (uint64_t)i * 16 * MIB,
					MIB);
		assert_true(maps_file(hva[i], fe->mem[i].fd));
	}
	assert_int_equal(shutdown(fe->sock, SHUT_WR), 0);
	fe_pump(fe);
	assert_false(vhu_dev_connected(fe->dev));
	assert_true(fe_closed(fe));
	assert_int_equal(fe->disconnected, 1);
	assert_int_equal(fe_mem(fe)->nregions, 0);
	for (i = 0; i < 3; i++) {
		assert_false(maps_file(hva[i], fe->mem[i].fd));
		assert_int_equal(count_maps_of(fe->mem[i].fd), 1);
		assert_null(vhu_gpa_to_hva(fe_mem(fe),
					   (uint64_t)i * 16 * MIB, 1));
	}
	/* Three region fds and the device's socket are gone. */
	assert_int_equal(fe_count_fds(), base - 1);
	assert_int_equal(vhu_dev_violations(fe->dev, VHU_RULE_NONE), 0);
	fe_free(fe);
}

/* A violation after a good table also drops the good table. */
static void
violation_unmaps_installed_table(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_region *f;
	uint8_t *hva;
	int base;

	(void)state;
	f = fe_add_region(fe, 0, MIB);
	assert_non_null(f);
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	hva = vhu_gpa_to_hva(fe_mem(fe), 0, MIB);
	assert_true(maps_file(hva, f->fd));
	/* A second region overlapping the first. */
	assert_non_null(fe_add_region(fe, MIB / 2, MIB));
	base = fe_count_fds();
	assert_int_equal(fe_send_mem_table(fe, true), -2);
	/* The socket and the installed region's fd are closed. */
	assert_closed_for(fe, VHU_RULE_OVERLAP, base - 2);
	assert_false(maps_file(hva, f->fd));
	assert_int_equal(count_maps_of(f->fd), 1);
	fe_free(fe);
}

static void
get_max_mem_slots(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	uint64_t n;

	(void)state;
	n = fe_get_u64(fe, VHU_REQ_GET_MAX_MEM_SLOTS);
	assert_int_equal(n, VHU_MAX_MEM_SLOTS);
	assert_true(n >= 509);
	assert_true(fe_no_reply(fe));
	assert_true(vhu_dev_connected(fe->dev));
	fe_free(fe);
}

static void
raise_fd_limit(unsigned int need)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < need) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
			rl.rlim_max = need;
		rl.rlim_cur = need;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
}

/* Region i of the slot tests: 4 KiB at 64 KiB steps, a tag at 0. */
static struct fe_treg
slot_region(unsigned int i)
{
	struct fe_treg r = {
		.gpa = 0x100000000ULL + (uint64_t)i * 64 * KIB,
		.size = 4096,
		.uva = FAKE_UVA + (uint64_t)i * 64 * KIB,
		.off = 0,
		.fd = fe_memfd_sized(4096),
	};
	uint8_t tag[2] = { (uint8_t)i, (uint8_t)(i >> 8) };

	assert_int_equal(pwrite(r.fd, tag, 2, 0), 2);
	return r;
}

/*
 * Fill every slot with ADD_MEM_REG, in a scattered order: each region
 * translates, the table stays sorted, and one more is RESOURCE.
 */
static void
add_mem_reg_all_slots(void **state)
{
	struct fe *fe;
	const struct vhu_mem *m;
	struct fe_treg r;
	unsigned int i, k;
	int base;

	(void)state;
	raise_fd_limit(4 * VHU_MAX_MEM_SLOTS);
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	base = fe_count_fds();
	for (k = 0; k < VHU_MAX_MEM_SLOTS; k++) {
		/* 509 is prime: k * 7 mod 509 visits every slot once. */
		i = (k * 7) % VHU_MAX_MEM_SLOTS;
		r = slot_region(i);
		assert_int_equal(add_reg(fe, &r), 0);
		close(r.fd);
	}
	m = fe_mem(fe);
	assert_int_equal(m->nregions, VHU_MAX_MEM_SLOTS);
	assert_int_equal(fe_count_fds(), base + VHU_MAX_MEM_SLOTS);
	for (i = 0; i < VHU_MAX_MEM_SLOTS; i++) {
		uint64_t gpa = 0x100000000ULL + (uint64_t)i * 64 * KIB;
		uint8_t *hva = vhu_gpa_to_hva(m, gpa, 4096);

		if (i > 0)
			assert_true(m->regions[i - 1].gpa < m->regions[i].gpa);
		assert_non_null(hva);
		assert_int_equal(hva[0], (uint8_t)i);
		assert_int_equal(hva[1], (uint8_t)(i >> 8));
		assert_null(vhu_gpa_to_hva(m, gpa + 4096, 1));
		assert_ptr_equal(vhu_uva_to_hva(m, FAKE_UVA +
						(uint64_t)i * 64 * KIB + 10,
						4), hva + 10);
		assert_int_equal(vhu_hva_to_gpa(m, hva + 4095), gpa + 4095);
	}

	/* Slot 510: refused, and the whole table goes with the connection. */
	r = slot_region(VHU_MAX_MEM_SLOTS);
	assert_int_equal(add_reg(fe, &r), -1);
	close(r.fd);
	assert_closed_for(fe, VHU_RULE_RESOURCE, base - 1);
	fe_free(fe);
}

/* REM_MEM_REG unmaps exactly the region named; the offset is ignored. */
static void
rem_mem_reg_unmaps(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct fe_treg r[3], q;
	uint8_t *hva;
	int base, i;

	(void)state;
	for (i = 0; i < 3; i++)
		r[i] = slot_region((unsigned int)i);
	base = fe_count_fds();
	for (i = 0; i < 3; i++)
		assert_int_equal(add_reg(fe, &r[i]), 0);
	assert_int_equal(fe_count_fds(), base + 3);
	hva = vhu_gpa_to_hva(fe_mem(fe), r[1].gpa, 4096);
	assert_true(maps_file(hva, r[1].fd));

	q = r[1];
	q.off = 0x123000;
	assert_int_equal(rem_reg(fe, &q), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_mem(fe)->nregions, 2);
	assert_null(vhu_gpa_to_hva(fe_mem(fe), r[1].gpa, 1));
	assert_null(vhu_uva_to_hva(fe_mem(fe), r[1].uva, 1));
	assert_false(maps_file(hva, r[1].fd));
	assert_int_equal(count_maps_of(r[1].fd), 0);
	assert_int_equal(fe_count_fds(), base + 2);
	assert_int_equal(((uint8_t *)vhu_gpa_to_hva(fe_mem(fe), r[0].gpa,
						   1))[0], 0);
	assert_int_equal(((uint8_t *)vhu_gpa_to_hva(fe_mem(fe), r[2].gpa,
						   1))[0], 2);

	/* The slot is free again: the same region can come back. */
	assert_int_equal(add_reg(fe, &r[1]), 0);
	assert_int_equal(((uint8_t *)vhu_gpa_to_hva(fe_mem(fe), r[1].gpa,
						   1))[0], 1);
	assert_int_equal(fe_count_fds(), base + 3);
	fe_free(fe);
	for (i = 0; i < 3; i++)
		close(r[i].fd);
}

/* Old front-ends send an fd with REM_MEM_REG: it is only closed. */
static void
rem_mem_reg_with_fd_closed(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct fe_treg r = slot_region(5);
	int efd = eventfd(0, EFD_CLOEXEC);
	int base;

	(void)state;
	assert_int_equal(add_reg(fe, &r), 0);
	close(r.fd);
	base = fe_count_fds();
	/* An eventfd rides along; the device must close its copy. */
	assert_int_equal(mem_reg(fe, VHU_REQ_REM_MEM_REG, &r, &efd, 1), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_mem(fe)->nregions, 0);
	/* The region's fd is closed, and the eventfd's copy was not kept. */
	assert_int_equal(fe_count_fds(), base - 1);
	close(efd);
	fe_free(fe);
}

static void
rem_unknown_region(void **state)
{
	static const struct {
		uint64_t dgpa, dsize, duva;
	} cases[] = {
		{ 4096, 0, 0 },		/* another gpa */
		{ 0, 4096, 0 },		/* another size */
		{ 0, 0, 4096 },		/* another uva */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
		struct fe_treg r = slot_region(1), q;
		int base;

		assert_int_equal(add_reg(fe, &r), 0);
		q = r;
		q.gpa += cases[i].dgpa;
		q.size += cases[i].dsize;
		q.uva += cases[i].duva;
		base = fe_count_fds();
		assert_int_equal(rem_reg(fe, &q), -1);
		/* Our socket end stays; its and the region's fd go. */
		assert_closed_for(fe, VHU_RULE_REGION, base - 2);
		fe_free(fe);
		close(r.fd);
	}

	/* Nothing mapped at all. */
	{
		struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
		struct fe_treg r = { 0, 4096, FAKE_UVA, 0, -1 };

		assert_int_equal(rem_reg(fe, &r), -1);
		assert_closed_for(fe, VHU_RULE_REGION, -1);
		fe_free(fe);
	}
}

/*
 * The very same region added again (QEMU does so for each queue pair of
 * a multi-queue device) is counted, not mapped twice, and stays until it
 * has been removed as many times.
 */
static void
add_mem_reg_same_region_counted(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct fe_treg a = slot_region(0);
	unsigned int i;
	int base;

	(void)state;
	base = fe_count_fds();
	assert_int_equal(add_reg(fe, &a), 0);
	assert_int_equal(add_reg(fe, &a), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_mem(fe)->nregions, 1);
	assert_int_equal(fe_count_fds(), base + 1);	/* one kept, one closed */
	assert_int_equal(count_maps_of(a.fd), 1);
	assert_int_equal(rem_reg(fe, &a), 0);
	assert_int_equal(fe_mem(fe)->nregions, 1);
	assert_int_equal(((uint8_t *)vhu_gpa_to_hva(fe_mem(fe), a.gpa, 1))[0],
			 0);
	assert_int_equal(rem_reg(fe, &a), 0);
	assert_int_equal(fe_mem(fe)->nregions, 0);
	assert_int_equal(count_maps_of(a.fd), 0);
	assert_int_equal(fe_count_fds(), base);
	assert_int_equal(rem_reg(fe, &a), -1);
	assert_closed_for(fe, VHU_RULE_REGION, -1);
	fe_free(fe);
	close(a.fd);

	/* Once per queue pair at most: the count cannot be run up. */
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	a = slot_region(0);
	for (i = 0; i < VHU_MAX_QUEUE_PAIRS; i++)
		assert_int_equal(add_reg(fe, &a), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(add_reg(fe, &a), -1);
	assert_closed_for(fe, VHU_RULE_OVERLAP, -1);
	fe_free(fe);
	close(a.fd);
}

/* The first byte of guest memory at gpa, through the device's table. */
static int
byte_at(struct fe *fe, uint64_t gpa)
{
	const uint8_t *p = vhu_gpa_to_hva(fe_mem(fe), gpa, 1);

	return p != NULL ? p[0] : -1;
}

/*
 * A front-end with two queue pairs changes a region: each pair removes
 * the old one and adds the new one, which lies over it (here: the same
 * place, twice the size, another file). The first pair's new region
 * replaces the old at once; the second pair's removal of the old one is
 * counted and its add is the same region again. A region nobody left
 * still refuses an overlap, and a third removal is a violation.
 */
static void
add_mem_reg_replaced_per_queue_pair(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct fe_treg a = slot_region(0), c = slot_region(2), b = a, x;
	uint8_t tag = 7;
	unsigned int i;
	int base;

	(void)state;
	b.size = 8192;
	b.fd = fe_memfd_sized(b.size);
	assert_int_equal(pwrite(b.fd, &tag, 1, 0), 1);
	assert_int_equal(add_reg(fe, &a), 0);
	assert_int_equal(add_reg(fe, &c), 0);
	assert_int_equal(add_reg(fe, &a), 0);
	assert_int_equal(add_reg(fe, &c), 0);

	/* the first pair */
	assert_int_equal(rem_reg(fe, &a), 0);
	assert_int_equal(byte_at(fe, a.gpa), 0);	/* a, still held */
	assert_int_equal(add_reg(fe, &b), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_mem(fe)->nregions, 2);
	assert_int_equal(byte_at(fe, a.gpa), tag);	/* b now */
	assert_int_equal(count_maps_of(a.fd), 0);
	/* the second pair */
	assert_int_equal(rem_reg(fe, &a), 0);
	assert_int_equal(add_reg(fe, &b), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(fe_mem(fe)->nregions, 2);
	assert_int_equal(count_maps_of(b.fd), 1);
	assert_int_equal(byte_at(fe, c.gpa), 2);
	/* b is held twice: one removal leaves it mapped */
	assert_int_equal(rem_reg(fe, &b), 0);
	assert_int_equal(byte_at(fe, a.gpa), tag);
	assert_int_equal(add_reg(fe, &b), 0);
	/* nobody holds a any more; closing drops b, c and the socket */
	base = fe_count_fds();
	assert_int_equal(rem_reg(fe, &a), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 3);
	fe_free(fe);

	/* Over a leaving region and one still held: refused. */
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	assert_int_equal(add_reg(fe, &a), 0);
	assert_int_equal(add_reg(fe, &a), 0);
	assert_int_equal(add_reg(fe, &c), 0);
	assert_int_equal(rem_reg(fe, &a), 0);
	x = b;
	x.size = c.gpa + c.size - a.gpa;
	x.uva = FAKE_UVA + 64 * MIB;
	x.fd = fe_memfd_sized(x.size);
	base = fe_count_fds();	/* a, c and the socket go */
	assert_int_equal(add_reg(fe, &x), -1);
	assert_closed_for(fe, VHU_RULE_OVERLAP, base - 3);
	fe_free(fe);

	/*
	 * A front-end that replaces regions and never sends the other
	 * pairs' removals: the regions awaiting them are bounded.
	 */
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	for (i = 0; i <= VHU_MAX_MEM_SLOTS; i++) {
		struct fe_treg ai = a, bi = b;

		ai.gpa += i * 64 * KIB;
		ai.uva += i * 64 * KIB;
		bi.gpa = ai.gpa;
		bi.uva = ai.uva;
		assert_int_equal(add_reg(fe, &ai), 0);
		assert_int_equal(add_reg(fe, &ai), 0);
		assert_int_equal(rem_reg(fe, &ai), 0);
		if (i == VHU_MAX_MEM_SLOTS)
			break;
		assert_int_equal(add_reg(fe, &bi), 0);
		assert_int_equal(rem_reg(fe, &bi), 0);
	}
	assert_int_equal(fe_mem(fe)->nregions, 1);	/* the last a, leaving */
	b.gpa = fe_mem(fe)->regions[0].gpa;
	b.uva = fe_mem(fe)->regions[0].uva;
	assert_int_equal(add_reg(fe, &b), -1);
	assert_closed_for(fe, VHU_RULE_RESOURCE, -1);
	fe_free(fe);
	close(a.fd);
	close(b.fd);
	close(c.fd);
	close(x.fd);
}

/* ADD_MEM_REG overlapping a mapped region, in either address space. */
static void
add_mem_reg_overlap(void **state)
{
	static const struct {
		uint64_t gpa, uva;
	} cases[] = {
		{ 0x100000000ULL + 2048, FAKE_UVA + 16 * MIB },
		{ 0x100000000ULL - 2048, FAKE_UVA + 16 * MIB },
		{ 0x200000000ULL, FAKE_UVA + 4095 },
		{ 0x100000000ULL, FAKE_UVA },	/* same place, another file */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
		struct fe_treg a = slot_region(0), b = slot_region(1);
		int base;

		assert_int_equal(add_reg(fe, &a), 0);
		b.gpa = cases[i].gpa;
		b.uva = cases[i].uva;
		base = fe_count_fds();
		assert_int_equal(add_reg(fe, &b), -1);
		assert_closed_for(fe, VHU_RULE_OVERLAP, base - 2);
		fe_free(fe);
		close(a.fd);
		close(b.fd);
	}
}

/* ADD_MEM_REG checks its region like SET_MEM_TABLE does. */
static void
add_mem_reg_bad_region(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct fe_treg r = slot_region(0), e;
	int base;

	(void)state;
	/* Past the end of its 4 KiB file. */
	r.size = 8192;
	base = fe_count_fds();
	assert_int_equal(add_reg(fe, &r), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	fe_free(fe);

	/* Empty. */
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	r.size = 0;
	base = fe_count_fds();
	assert_int_equal(add_reg(fe, &r), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	fe_free(fe);

	/* Not a file. */
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	e = r;
	e.size = 4096;
	e.fd = eventfd(0, EFD_CLOEXEC);
	base = fe_count_fds();
	assert_int_equal(add_reg(fe, &e), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	fe_free(fe);
	close(e.fd);

	/* Without its fd. */
	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	r.size = 4096;
	assert_int_equal(mem_reg(fe, VHU_REQ_ADD_MEM_REG, &r, NULL, 0), -1);
	assert_closed_for(fe, VHU_RULE_FDS, -1);
	fe_free(fe);
	close(r.fd);
}

/* ADD/REM_MEM_REG and GET_MAX_MEM_SLOTS need CONFIGURE_MEM_SLOTS. */
static void
mem_slots_need_feature(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_treg r = slot_region(0);
	int base = fe_count_fds();

	(void)state;
	assert_int_equal(add_reg(fe, &r), -1);
	assert_closed_for(fe, VHU_RULE_FEATURE, base - 1);
	fe_free(fe);

	fe = mem_fe(0);
	assert_int_equal(rem_reg(fe, &r), -1);
	assert_closed_for(fe, VHU_RULE_FEATURE, -1);
	fe_free(fe);

	/* Offered but not acked is not enough. */
	fe = fe_new();
	assert_non_null(fe);
	assert_true((fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES) &
		     VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS)) != 0);
	assert_int_equal(add_reg(fe, &r), -1);
	assert_closed_for(fe, VHU_RULE_FEATURE, -1);
	fe_free(fe);
	close(r.fd);
}

/* SET_MEM_TABLE replaces everything ADD_MEM_REG put in. */
static void
set_mem_table_replaces_added(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct fe_treg r[3], t;
	int base, i;

	(void)state;
	for (i = 0; i < 3; i++)
		r[i] = slot_region((unsigned int)i);
	t = (struct fe_treg){ 0, MIB, FAKE_UVA + 256 * MIB, 0,
			      fe_memfd_sized(MIB) };
	base = fe_count_fds();
	for (i = 0; i < 3; i++)
		assert_int_equal(add_reg(fe, &r[i]), 0);
	assert_int_equal(send_table(fe, &t, 1), 0);
	assert_int_equal(fe_mem(fe)->nregions, 1);
	assert_int_equal(fe_count_fds(), base + 1);
	for (i = 0; i < 3; i++) {
		assert_null(vhu_gpa_to_hva(fe_mem(fe), r[i].gpa, 1));
		assert_int_equal(count_maps_of(r[i].fd), 0);
	}
	/* And ADD_MEM_REG adds to a table SET_MEM_TABLE installed. */
	assert_int_equal(add_reg(fe, &r[0]), 0);
	assert_int_equal(fe_mem(fe)->nregions, 2);
	assert_non_null(vhu_gpa_to_hva(fe_mem(fe), 0, MIB));
	assert_non_null(vhu_gpa_to_hva(fe_mem(fe), r[0].gpa, 4096));
	fe_free(fe);
	for (i = 0; i < 3; i++)
		close(r[i].fd);
	close(t.fd);
}

/*
 * Guest memory must be on a memory filesystem (tmpfs or hugetlbfs): a
 * region backed by a regular file on disk is refused, by SET_MEM_TABLE
 * and by ADD_MEM_REG, and nothing of it stays mapped; the same region
 * from a memfd or from a file in /dev/shm is taken.
 */
static void
region_must_be_memory_filesystem(void **state)
{
	struct statfs fs;
	struct fe_treg r;
	struct fe *fe;
	int disk, base;

	(void)state;
	disk = fe_disk_file(MIB);
	if (disk < 0) {
		print_message("# /tmp and /var/tmp are memory filesystems\n");
		skip();
	}
	assert_int_equal(fstatfs(disk, &fs), 0);
	assert_true((unsigned long)fs.f_type != TMPFS_MAGIC &&
		    (unsigned long)fs.f_type != HUGETLBFS_MAGIC);
	r = (struct fe_treg){ 0, MIB, FAKE_UVA, 0, disk };

	fe = mem_fe(0);
	base = fe_count_fds();
	assert_int_equal(send_table(fe, &r, 1), -1);
	assert_closed_for(fe, VHU_RULE_REGION, base - 1);
	assert_int_equal(count_maps_of(disk), 0);
	fe_free(fe);

	fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	assert_int_equal(add_reg(fe, &r), -1);
	assert_closed_for(fe, VHU_RULE_REGION, -1);
	assert_int_equal(count_maps_of(disk), 0);
	fe_free(fe);

	/* The same region from a memfd. */
	fe = mem_fe(0);
	r.fd = fe_memfd_sized(MIB);
	assert_int_equal(send_table(fe, &r, 1), 0);
	assert_true(maps_file(vhu_gpa_to_hva(fe_mem(fe), 0, MIB), r.fd));
	fe_free(fe);
	close(r.fd);

	/* A file in /dev/shm is on tmpfs as well. */
	r.fd = fe_shm_file(MIB);
	if (r.fd < 0) {
		print_message("# /dev/shm is not tmpfs here\n");
	} else {
		fe = mem_fe(0);
		assert_int_equal(send_table(fe, &r, 1), 0);
		assert_true(maps_file(vhu_gpa_to_hva(fe_mem(fe), 0, MIB),
				      r.fd));
		assert_true(vhu_dev_connected(fe->dev));
		fe_free(fe);
		close(r.fd);
	}
	close(disk);
}

/* Split ring 0 at gpa 0x10000, started in polling mode. */
static struct vhu_vring *
start_polled_ring(struct fe *fe, struct fe_ring *ring)
{
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);

	fe_ring_layout(ring, 0x10000, 256, false);
	fe_ring_setup(fe, 0, ring, 0, 0, 0);
	assert_int_equal(fe_vring_fd(fe, VHU_REQ_SET_VRING_KICK, 0, -1, true),
			 0);
	assert_non_null(vr);
	assert_true(vr->started);
	assert_int_equal(fe->state[0], VHU_RING_DISABLED);
	assert_ptr_equal(vr->desc, vhu_gpa_to_hva(fe_mem(fe), ring->desc, 1));
	assert_ptr_equal(vr->avail,
			 vhu_gpa_to_hva(fe_mem(fe), ring->avail, 1));
	assert_ptr_equal(vr->used, vhu_gpa_to_hva(fe_mem(fe), ring->used, 1));
	return vr;
}

/*
 * Rings that run while the memory table changes follow it: a new file at
 * the same user addresses is used at once. A table without the ring's
 * addresses stops the ring (the spec wants configuration changes on the
 * fly, and front-ends remove a region before adding it back); it starts
 * again when a table maps it, and nothing is a violation.
 */
static void
ring_retranslated_on_new_table(void **state)
{
	struct fe *fe = mem_fe(0);
	struct fe_ring ring;
	struct vhu_vring *vr;
	enum vhu_ring_state before;
	struct fe_treg r;
	uint64_t uva;
	uint8_t tag = 0x6b;

	(void)state;
	assert_non_null(fe_add_region(fe, 0, MIB));
	assert_int_equal(fe_send_mem_table(fe, true), 0);
	vr = start_polled_ring(fe, &ring);

	r = (struct fe_treg){ 0, MIB, fe_uva(fe, 0), 0, fe_memfd_sized(MIB) };
	assert_int_equal(pwrite(r.fd, &tag, 1, (off_t)ring.desc), 1);
	assert_int_equal(send_table(fe, &r, 1), 0);
	assert_true(vr->started);
	assert_true(maps_file(vr->desc, r.fd));
	assert_int_equal(((uint8_t *)vr->desc)[0], tag);
	assert_ptr_equal(vr->desc, vhu_gpa_to_hva(fe_mem(fe), ring.desc, 1));
	assert_ptr_equal(vr->used, vhu_gpa_to_hva(fe_mem(fe), ring.used, 1));

	/* Same guest addresses, but the ring's user addresses are gone. */
	before = vhu_vring_state(vr);
	assert_int_not_equal(before, VHU_RING_STOPPED);
	uva = r.uva;
	r.uva += 64 * MIB;
	assert_int_equal(send_table(fe, &r, 1), 0);
	assert_true(vhu_dev_connected(fe->dev));
	assert_false(vr->started);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_null(vr->desc);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	/* Mapped again: the ring resumes on its own, no kick needed. */
	r.uva = uva;
	assert_int_equal(send_table(fe, &r, 1), 0);
	assert_true(vr->started);
	assert_int_equal(fe->state[0], before);
	assert_int_equal(((uint8_t *)vr->desc)[0], tag);
	fe_free(fe);
	close(r.fd);
}

/*
 * Removing the region a running ring lives in stops the ring until the
 * region comes back (what QEMU does when a memory section changes).
 */
static void
ring_retranslated_on_rem_mem_reg(void **state)
{
	struct fe *fe = mem_fe(VHU_BIT(VHU_PF_CONFIGURE_MEM_SLOTS));
	struct vhu_vring *vr = vhu_dev_vring(fe->dev, 0);
	enum vhu_ring_state before;
	struct fe_region *f;
	struct fe_ring ring;
	struct fe_treg r, other;

	(void)state;
	f = fe_add_region(fe, 0, MIB);
	assert_non_null(f);
	r = (struct fe_treg){ 0, MIB, (uint64_t)(uintptr_t)f->va, 0, f->fd };
	assert_int_equal(add_reg(fe, &r), 0);
	(void)start_polled_ring(fe, &ring);
	/* Removing an unrelated region is fine. */
	other = slot_region(3);
	assert_int_equal(add_reg(fe, &other), 0);
	assert_int_equal(rem_reg(fe, &other), 0);
	assert_true(vr->started);

	before = vhu_vring_state(vr);
	assert_int_equal(rem_reg(fe, &r), 0);
	assert_false(vr->started);
	assert_int_equal(fe->state[0], VHU_RING_STOPPED);
	assert_true(vhu_dev_connected(fe->dev));
	assert_int_equal(add_reg(fe, &r), 0);
	assert_true(vr->started);
	assert_int_equal(fe->state[0], before);
	assert_int_equal(vhu_dev_last_violation(fe->dev), VHU_RULE_NONE);
	fe_free(fe);
	close(other.fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_mem_table_one_region),
		cmocka_unit_test(set_mem_table_eight_regions),
		cmocka_unit_test(translation_bounds),
		cmocka_unit_test(translation_hot_region),
		cmocka_unit_test(mmap_offset_page_aligned),
		cmocka_unit_test(mmap_offset_unaligned),
		cmocka_unit_test(hugetlbfs_regions),
		cmocka_unit_test(violation_overlap_gpa),
		cmocka_unit_test(violation_overlap_uva),
		cmocka_unit_test(violation_region_past_file),
		cmocka_unit_test(violation_region_not_a_file),
		cmocka_unit_test(region_must_be_memory_filesystem),
		cmocka_unit_test(violation_zero_size),
		cmocka_unit_test(violation_region_wraps),
		cmocka_unit_test(violation_table_size),
		cmocka_unit_test(violation_fd_count),
		cmocka_unit_test(replace_table_unmaps_old),
		cmocka_unit_test(identical_table_not_remapped),
		cmocka_unit_test(disconnect_unmaps_everything),
		cmocka_unit_test(violation_unmaps_installed_table),
		cmocka_unit_test(get_max_mem_slots),
		cmocka_unit_test(add_mem_reg_all_slots),
		cmocka_unit_test(rem_mem_reg_unmaps),
		cmocka_unit_test(add_mem_reg_same_region_counted),
		cmocka_unit_test(rem_mem_reg_with_fd_closed),
		cmocka_unit_test(rem_unknown_region),
		cmocka_unit_test(add_mem_reg_overlap),
		cmocka_unit_test(add_mem_reg_replaced_per_queue_pair),
		cmocka_unit_test(add_mem_reg_bad_region),
		cmocka_unit_test(mem_slots_need_feature),
		cmocka_unit_test(set_mem_table_replaces_added),
		cmocka_unit_test(ring_retranslated_on_new_table),
		cmocka_unit_test(ring_retranslated_on_rem_mem_reg),
	};

	vhu_set_log_level(VHU_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
