/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memory table: SET_MEM_TABLE, ADD/REM_MEM_REG and GET_MAX_MEM_SLOTS,
 * mapping each region from its fd (bounded by the file's size, so a
 * hostile table cannot make us touch pages past the end of a file), and
 * the translations from front-end virtual and guest physical addresses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "vhu_internal.h"

static uint64_t
align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/*
 * Guest memory must live on a memory filesystem: tmpfs (memfd, /dev/shm)
 * or hugetlbfs. A file on a disk or FUSE filesystem could stall a worker
 * on a page fault or shrink under it. The mapping granule is the huge
 * page size on hugetlbfs, the page size elsewhere.
 */
static int
file_granule(int fd, uint64_t *granule)
{
	struct statfs fs;
	long page = sysconf(_SC_PAGESIZE);

	if (fstatfs(fd, &fs) < 0)
		return -errno;
	if ((unsigned long)fs.f_type == HUGETLBFS_MAGIC)
		*granule = (uint64_t)fs.f_bsize;
	else if ((unsigned long)fs.f_type == TMPFS_MAGIC)
		*granule = page > 0 ? (uint64_t)page : 4096;
	else
		return -EMEDIUMTYPE;
	if (*granule == 0 || (*granule & (*granule - 1)) != 0)
		return -EINVAL;
	return 0;
}

void *
vhu_map_fd(int fd, uint64_t size, uint64_t offset, void **base, size_t *len,
	   bool populate)
{
	struct stat st;
	uint64_t align = 0, start, end;
	void *p;
	int rc;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = EBADF;
		return NULL;
	}
	rc = file_granule(fd, &align);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	if (size == 0 || offset > UINT64_MAX - size ||
	    offset + size > (uint64_t)st.st_size) {
		errno = ERANGE;
		return NULL;
	}
	start = align_down(offset, align);
	/* Whole granules: what mmap maps, munmap and userfaultfd need. */
	end = offset + size;
	if (end > UINT64_MAX - (align - 1) ||
	    ((end + align - 1) & ~(align - 1)) - start > SIZE_MAX) {
		errno = ERANGE;
		return NULL;
	}
	end = (end + align - 1) & ~(align - 1);
	p = mmap(NULL, end - start, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, (off_t)start);
	if (p == MAP_FAILED)
		return NULL;
	*base = p;
	*len = end - start;
	return (uint8_t *)p + (offset - start);
}

static int
check_desc(const struct vhu_mem_region_desc *d)
{
	if (d->memory_size == 0)
		return -EINVAL;
	if (d->guest_phys_addr > UINT64_MAX - d->memory_size ||
	    d->userspace_addr > UINT64_MAX - d->memory_size ||
	    d->mmap_offset > UINT64_MAX - d->memory_size)
		return -ERANGE;
	return 0;
}

int
vhu_mem_map_region(struct vhu_mem_region *r,
		   const struct vhu_mem_region_desc *d, int fd, bool populate)
{
	void *hva;
	int rc = check_desc(d);

	if (rc < 0)
		return rc;
	hva = vhu_map_fd(fd, d->memory_size, d->mmap_offset, &r->map_base,
			 &r->map_len, populate);
	if (hva == NULL)
		return -errno;
	r->gpa = d->guest_phys_addr;
	r->size = d->memory_size;
	r->uva = d->userspace_addr;
	r->mmap_offset = d->mmap_offset;
	r->hva = hva;
	r->fd = fd;
	r->refs = 1;
	r->leaving = false;
	return 0;
}

void
vhu_mem_unmap_region(struct vhu_mem_region *r)
{
	if (r->map_base != NULL)
		munmap(r->map_base, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

void
vhu_mem_free(struct vhu_mem *mem)
{
	uint32_t i;

	for (i = 0; i < mem->nregions; i++)
		vhu_mem_unmap_region(&mem->regions[i]);
	mem->nregions = 0;
}

static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whether d overlaps r in guest or front-end space. */
static bool
overlaps_one(const struct vhu_mem_region_desc *d,
	     const struct vhu_mem_region *r)
{
	return ranges_overlap(d->guest_phys_addr, d->memory_size, r->gpa,
			      r->size) ||
	       ranges_overlap(d->userspace_addr, d->memory_size, r->uva,
			      r->size);
}

/*
 * The regions of mem that d overlaps, counted into *n. Whether each of
 * them is leaving: a queue pair removed it already, and d replaces it.
 */
static bool
overlaps_leaving(const struct vhu_mem_region_desc *d,
		 const struct vhu_mem *mem, uint32_t *n)
{
	bool leaving = true;
	uint32_t i;

	*n = 0;
	for (i = 0; i < mem->nregions; i++) {
		if (!overlaps_one(d, &mem->regions[i]))
			continue;
		(*n)++;
		leaving = leaving && mem->regions[i].leaving;
	}
	return leaving;
}

/* Insert r into mem keeping the regions sorted by guest address. */
static struct vhu_mem_region *
insert_sorted(struct vhu_mem *mem, const struct vhu_mem_region *r)
{
	uint32_t i = mem->nregions;

	while (i > 0 && mem->regions[i - 1].gpa > r->gpa) {
		mem->regions[i] = mem->regions[i - 1];
		i--;
	}
	mem->regions[i] = *r;
	mem->nregions++;
	return &mem->regions[i];
}

static void
remove_at(struct vhu_mem *mem, uint32_t i)
{
	vhu_mem_unmap_region(&mem->regions[i]);
	memmove(&mem->regions[i], &mem->regions[i + 1],
		(mem->nregions - i - 1) * sizeof(mem->regions[0]));
	mem->nregions--;
}

/*
 * Take the regions d overlaps out of the table for it. A multi-queue
 * front-end that changes a region removes and adds it queue pair by
 * queue pair: the first pair's new region arrives while the others still
 * hold the old one. The old one goes now; the pairs' REM_MEM_REG for it
 * still to come are counted in dev->gone.
 */
static void
evict_leaving(struct vhu_dev *dev, const struct vhu_mem_region_desc *d)
{
	uint32_t i = dev->mem->nregions;

	while (i-- > 0) {
		struct vhu_mem_region *r = &dev->mem->regions[i];

		if (!overlaps_one(d, r))
			continue;
		dev->gone[dev->ngone++] = (struct vhu_mem_gone){
			.gpa = r->gpa, .size = r->size, .uva = r->uva,
			.refs = r->refs };
		remove_at(dev->mem, i);
	}
}

/* Whether REM_MEM_REG's d names the region at gpa, of size, at uva. */
static bool
rem_names(const struct vhu_mem_region_desc *d, uint64_t gpa, uint64_t size,
	  uint64_t uva)
{
	return d->guest_phys_addr == gpa && d->memory_size == size &&
	       d->userspace_addr == uva;
}

/* A REM_MEM_REG for a region evict_leaving() took out already. */
static bool
gone_removed(struct vhu_dev *dev, const struct vhu_mem_region_desc *d)
{
	uint32_t i;

	for (i = 0; i < dev->ngone; i++) {
		struct vhu_mem_gone *g = &dev->gone[i];

		if (!rem_names(d, g->gpa, g->size, g->uva))
			continue;
		if (--g->refs == 0)
			dev->gone[i] = dev->gone[--dev->ngone];
		return true;
	}
	return false;
}

const struct vhu_mem_region *
vhu_mem_find_uva(const struct vhu_mem *m, uint64_t uva, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < m->nregions; i++) {
		const struct vhu_mem_region *r = &m->regions[i];

		if (uva >= r->uva && uva - r->uva < r->size &&
		    len <= r->size - (uva - r->uva))
			return r;
	}
	return NULL;
}

void *
vhu_uva_to_hva(const struct vhu_mem *m, uint64_t uva, uint64_t len)
{
	const struct vhu_mem_region *r = vhu_mem_find_uva(m, uva, len);

	return r != NULL ? r->hva + (uva - r->uva) : NULL;
}

uint64_t
vhu_hva_to_gpa(const struct vhu_mem *m, const void *hva)
{
	uintptr_t p = (uintptr_t)hva;
	uint32_t i;

	for (i = 0; i < m->nregions; i++) {
		const struct vhu_mem_region *r = &m->regions[i];
		uintptr_t base = (uintptr_t)r->hva;

		if (p >= base && p - base < r->size)
			return r->gpa + (p - base);
	}
	return UINT64_MAX;
}

/* After any change of the table: IOTLB addresses and ring pointers. */
static enum vhu_result
mem_changed(struct vhu_dev *dev, const struct vhu_msg *msg)
{
	vhu_iotlb_remap(&dev->iotlb, dev->mem);
	return vhu_vrings_retranslate(dev, msg);
}

/*
 * The region of mem that d and fd describe exactly: the same addresses,
 * size and offset in the same file. QEMU adds every region once per
 * queue pair of a multi-queue device, and removes it as many times.
 */
static struct vhu_mem_region *
find_same(struct vhu_mem *mem, const struct vhu_mem_region_desc *d, int fd)
{
	struct stat a, b;
	uint32_t i;

	for (i = 0; i < mem->nregions; i++) {
		struct vhu_mem_region *r = &mem->regions[i];

		if (r->gpa == d->guest_phys_addr && r->size == d->memory_size &&
		    r->uva == d->userspace_addr &&
		    r->mmap_offset == d->mmap_offset && fd >= 0 &&
		    r->fd >= 0 && fstat(fd, &a) == 0 &&
		    fstat(r->fd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return r;
	}
	return NULL;
}

/* Identical to the current table, same files: nothing to remap. */
static bool
same_table(struct vhu_dev *dev, const struct vhu_mem_table *t,
	   const int *fds)
{
	uint32_t i;

	if (t->nregions != dev->mem->nregions)
		return false;
	for (i = 0; i < t->nregions; i++)
		if (find_same(dev->mem, &t->regions[i], fds[i]) == NULL)
			return false;
	return true;
}

static enum vhu_result
postcopy_ack(struct vhu_dev *dev, struct vhu_msg *msg)
{
	if (msg->hdr.size != sizeof(uint64_t) || msg->nfds != 0)
		return vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "the postcopy acknowledgement is a u64 "
				     "with no fds");
	dev->postcopy_awaiting_ack = false;
	if (msg->payload.u64 != 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "front-end failed the postcopy table "
				     "(%llu)",
				     (unsigned long long)msg->payload.u64);
	return VHU_OK;
}

static enum vhu_result
check_table(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_mem_table *t = &msg->payload.mem;
	uint32_t i, j;

	if (t->nregions > VHU_MEM_TABLE_REGIONS ||
	    msg->hdr.size != offsetof(struct vhu_mem_table, regions) +
			     t->nregions * sizeof(t->regions[0]))
		return vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "%u bytes for %u regions", msg->hdr.size,
				     t->nregions);
	if (msg->nfds != t->nregions)
		return vhu_violation(dev, msg, VHU_RULE_FDS,
				     "%u fds for %u regions", msg->nfds,
				     t->nregions);
	for (i = 0; i < t->nregions; i++) {
		const struct vhu_mem_region_desc *a = &t->regions[i];

		if (check_desc(a) < 0)
			return vhu_violation(dev, msg, VHU_RULE_REGION,
					     "region %u is empty or wraps", i);
		for (j = 0; j < i; j++) {
			const struct vhu_mem_region_desc *b = &t->regions[j];

			if (ranges_overlap(a->guest_phys_addr, a->memory_size,
					   b->guest_phys_addr, b->memory_size) ||
			    ranges_overlap(a->userspace_addr, a->memory_size,
					   b->userspace_addr, b->memory_size))
				return vhu_violation(dev, msg,
						     VHU_RULE_OVERLAP,
						     "regions %u and %u overlap",
						     j, i);
		}
	}
	return VHU_OK;
}

/* Postcopy: tell the front-end where each region is mapped here. */
static enum vhu_result
postcopy_reply_table(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_mem_table *t = &msg->payload.mem;
	uint32_t i;

	for (i = 0; i < t->nregions; i++) {
		const struct vhu_mem_region *r =
			vhu_mem_find_gpa(dev->mem, t->regions[i].guest_phys_addr);

		t->regions[i].userspace_addr = (uint64_t)(uintptr_t)r->hva;
	}
	dev->postcopy_awaiting_ack = true;
	return VHU_REPLY;
}

/* Map every region of t into a new table; NULL (violation) on failure. */
static struct vhu_mem *
map_table(struct vhu_dev *dev, struct vhu_msg *msg, bool postcopy)
{
	const struct vhu_mem_table *t = &msg->payload.mem;
	struct vhu_mem *mem = calloc(1, sizeof(*mem));
	uint32_t i;

	if (mem == NULL) {
		vhu_violation(dev, msg, VHU_RULE_RESOURCE, "out of memory");
		return NULL;
	}
	for (i = 0; i < t->nregions; i++) {
		const struct vhu_mem_region_desc *d = &t->regions[i];
		struct vhu_mem_region r;
		int rc = vhu_mem_map_region(&r, d, msg->fds[i], false);

		if (rc == 0) {
			vhu_msg_take_fd(msg, i);
			if (postcopy)
				rc = vhu_postcopy_register(dev,
						insert_sorted(mem, &r));
			else
				insert_sorted(mem, &r);
		}
		if (rc < 0) {
			vhu_violation(dev, msg, VHU_RULE_REGION,
				      "region %u: gpa 0x%llx size 0x%llx "
				      "offset 0x%llx: %s", i,
				      (unsigned long long)d->guest_phys_addr,
				      (unsigned long long)d->memory_size,
				      (unsigned long long)d->mmap_offset,
				      strerror(-rc));
			vhu_mem_free(mem);
			free(mem);
			return NULL;
		}
	}
	return mem;
}

enum vhu_result
vhu_set_mem_table(struct vhu_dev *dev, struct vhu_msg *msg)
{
	bool postcopy = dev->postcopy_listening;
	struct vhu_mem *mem;
	enum vhu_result res;

	if (dev->postcopy_awaiting_ack)
		return postcopy_ack(dev, msg);
	res = check_table(dev, msg);
	if (res != VHU_OK)
		return res;
	if (!postcopy && same_table(dev, &msg->payload.mem, msg->fds)) {
		uint32_t i;

		/* The whole table is this one now: one reference each. */
		for (i = 0; i < dev->mem->nregions; i++)
			dev->mem->regions[i].refs = 1;
		return VHU_OK;
	}
	/* The whole new table first: a failure leaves the old one intact. */
	mem = map_table(dev, msg, postcopy);
	if (mem == NULL)
		return VHU_ERROR;
	vhu_mem_free(dev->mem);
	free(dev->mem);
	dev->mem = mem;
	dev->dp.mem = mem;
	dev->ngone = 0;
	res = mem_changed(dev, msg);
	if (res != VHU_OK || !postcopy)
		return res;
	return postcopy_reply_table(dev, msg);
}

enum vhu_result
vhu_get_max_mem_slots(struct vhu_dev *dev, struct vhu_msg *msg)
{
	(void)dev;
	msg->hdr.size = sizeof(uint64_t);
	msg->payload.u64 = VHU_MAX_MEM_SLOTS;
	return VHU_REPLY;
}

/*
 * In postcopy, a front-end closes a batch of ADD/REM_MEM_REG with the
 * same request carrying a u64 0 acknowledgement. Anything else of that
 * size is not a region.
 */
static bool
mem_reg_ack(struct vhu_dev *dev, struct vhu_msg *msg, enum vhu_result *res)
{
	if (msg->hdr.size == sizeof(struct vhu_mem_reg_msg) && msg->nfds <= 1)
		return false;
	if (msg->hdr.size != sizeof(uint64_t) || msg->nfds != 0 ||
	    !dev->postcopy_listening)
		*res = vhu_violation(dev, msg, VHU_RULE_SIZE,
				     "%u bytes and %u fds: neither a region "
				     "nor a postcopy acknowledgement",
				     msg->hdr.size, msg->nfds);
	else if (msg->payload.u64 != 0)
		*res = vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "front-end failed the postcopy regions "
				     "(%llu)",
				     (unsigned long long)msg->payload.u64);
	else
		*res = VHU_OK;
	return true;
}

enum vhu_result
vhu_add_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_mem_region_desc *d = &msg->payload.mem_reg.region;
	struct vhu_mem_region r, *m;
	enum vhu_result res;
	uint32_t nover;
	int rc;

	if (mem_reg_ack(dev, msg, &res))
		return res;
	if (msg->nfds != 1)
		return vhu_violation(dev, msg, VHU_RULE_FDS,
				     "%u fds, a region needs 1", msg->nfds);
	if (check_desc(d) < 0)
		return vhu_violation(dev, msg, VHU_RULE_REGION,
				     "region is empty or wraps");
	m = find_same(dev->mem, d, msg->fds[0]);
	if (m != NULL) {
		/* Once per queue pair at most; its fd is closed with msg. */
		if (m->refs >= VHU_MAX_QUEUE_PAIRS)
			return vhu_violation(dev, msg, VHU_RULE_OVERLAP,
					     "gpa 0x%llx added %u times",
					     (unsigned long long)d->guest_phys_addr,
					     m->refs + 1);
		m->refs++;
		if (!dev->postcopy_listening)
			return VHU_OK;
		d->userspace_addr = (uint64_t)(uintptr_t)m->hva;
		return VHU_REPLY;
	}
	if (!overlaps_leaving(d, dev->mem, &nover))
		return vhu_violation(dev, msg, VHU_RULE_OVERLAP,
				     "gpa 0x%llx size 0x%llx overlaps a "
				     "mapped region",
				     (unsigned long long)d->guest_phys_addr,
				     (unsigned long long)d->memory_size);
	if (dev->mem->nregions - nover >= VHU_MAX_MEM_SLOTS)
		return vhu_violation(dev, msg, VHU_RULE_RESOURCE,
				     "all %u memory slots are in use",
				     VHU_MAX_MEM_SLOTS);
	if (dev->ngone + nover > VHU_MAX_MEM_SLOTS)
		return vhu_violation(dev, msg, VHU_RULE_RESOURCE,
				     "%u replaced regions still await their "
				     "removal", dev->ngone);
	rc = vhu_mem_map_region(&r, d, msg->fds[0], false);
	if (rc < 0)
		return vhu_violation(dev, msg, VHU_RULE_REGION,
				     "gpa 0x%llx size 0x%llx offset 0x%llx: %s",
				     (unsigned long long)d->guest_phys_addr,
				     (unsigned long long)d->memory_size,
				     (unsigned long long)d->mmap_offset,
				     strerror(-rc));
	vhu_msg_take_fd(msg, 0);
	if (nover > 0)
		evict_leaving(dev, d);
	m = insert_sorted(dev->mem, &r);
	if (dev->postcopy_listening) {
		if (vhu_postcopy_register(dev, m) < 0)
			return vhu_violation(dev, msg, VHU_RULE_RESOURCE,
					     "userfaultfd registration failed");
		d->userspace_addr = (uint64_t)(uintptr_t)m->hva;
	}
	res = mem_changed(dev, msg);
	if (res == VHU_OK && dev->postcopy_listening)
		return VHU_REPLY;
	return res;
}

enum vhu_result
vhu_rem_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_mem_region_desc *d = &msg->payload.mem_reg.region;
	enum vhu_result res;
	uint32_t i;

	if (mem_reg_ack(dev, msg, &res))
		return res;
	/* An fd here is tolerated for old front-ends, and only closed. */
	if (gone_removed(dev, d))
		return VHU_OK;
	for (i = 0; i < dev->mem->nregions; i++) {
		struct vhu_mem_region *r = &dev->mem->regions[i];

		if (rem_names(d, r->gpa, r->size, r->uva)) {
			if (--r->refs > 0) {
				r->leaving = true;
				return VHU_OK;
			}
			remove_at(dev->mem, i);
			return mem_changed(dev, msg);
		}
	}
	return vhu_violation(dev, msg, VHU_RULE_REGION,
			     "no region gpa 0x%llx size 0x%llx uva 0x%llx",
			     (unsigned long long)d->guest_phys_addr,
			     (unsigned long long)d->memory_size,
			     (unsigned long long)d->userspace_addr);
}
