/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live-migration dirty log: SET_LOG_BASE (the log is shared memory the
 * front-end passes with LOG_SHMFD), SET_LOG_FD, and marking written pages
 * exactly as the spec's pseudo-code says, with atomic ORs:
 *	page = addr / VHOST_LOG_PAGE; log[page / 8] |= 1 << page % 8
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhu_internal.h"

void
vhu_log_reset(struct vhu_dev *dev)
{
	if (dev->log_map != NULL)
		munmap(dev->log_map, dev->log_map_len);
	dev->log_map = NULL;
	dev->log_map_len = 0;
	dev->dp.log_base = NULL;
	dev->dp.log_size = 0;
	if (dev->log_call_fd >= 0)
		close(dev->log_call_fd);
	dev->log_call_fd = -1;
}

enum vhu_result
vhu_set_log_base(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_log_desc *l = &msg->payload.log;
	void *base, *p;
	size_t len;

	if (l->mmap_size == 0)
		return vhu_violation(dev, msg, VHU_RULE_VALUE,
				     "log size is 0");
	p = vhu_map_fd(msg->fds[0], l->mmap_size, l->mmap_offset, &base, &len,
		       false);
	if (p == NULL)
		return vhu_violation(dev, msg, VHU_RULE_REGION,
				     "log of 0x%llx bytes at offset 0x%llx: %s",
				     (unsigned long long)l->mmap_size,
				     (unsigned long long)l->mmap_offset,
				     strerror(errno));
	if (dev->log_map != NULL)
		munmap(dev->log_map, dev->log_map_len);
	dev->log_map = base;
	dev->log_map_len = len;
	dev->dp.log_base = p;
	dev->dp.log_size = l->mmap_size;
	return VHU_OK;
}

enum vhu_result
vhu_set_log_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	if (!vhu_fd_is_event(msg->fds[0]))
		return vhu_violation(dev, msg, VHU_RULE_FDS,
				     "the log fd is neither an eventfd nor a "
				     "pipe");
	if (dev->log_call_fd >= 0)
		close(dev->log_call_fd);
	dev->log_call_fd = vhu_msg_take_fd(msg, 0);
	(void)vhu_set_nonblock(dev->log_call_fd);
	return VHU_OK;
}

/* Mark pages [first, last] of the log, skipping what is past its end. */
static void
log_pages(struct vhu_dp *dp, uint64_t first, uint64_t last)
{
	uint64_t page;

	if (last / 8 >= dp->log_size) {
		__atomic_fetch_add(&dp->log_dropped, 1, __ATOMIC_RELAXED);
		if (first / 8 >= dp->log_size)
			return;
		last = dp->log_size * 8 - 1;
	}
	__atomic_fetch_add(&dp->log_writes, 1, __ATOMIC_RELAXED);
	for (page = first; page <= last; page++)
		vhu_log_page(dp->log_base, page);
}

void
vhu_log_write(struct vhu_dp *dp, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (!dp->log_all || dp->log_base == NULL || len == 0)
		return;
	end = gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1;
	log_pages(dp, gpa / VHU_LOG_PAGE, end / VHU_LOG_PAGE);
}

void
vhu_log_used(struct vhu_vring *vr, uint64_t offset, uint64_t len)
{
	struct vhu_dp *dp = vr->dp;
	uint64_t start;

	if (!vr->log_used || !dp->log_all || dp->log_base == NULL || len == 0)
		return;
	start = vr->log_guest_addr + offset;
	if (start < vr->log_guest_addr || start + len - 1 < start) {
		__atomic_fetch_add(&dp->log_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	log_pages(dp, start / VHU_LOG_PAGE, (start + len - 1) / VHU_LOG_PAGE);
}

void
vhu_log_notify(struct vhu_dev *dev)
{
	uint64_t one = 1;

	if (dev->log_call_fd >= 0 &&
	    write(dev->log_call_fd, &one, sizeof(one)) < 0)
		VHU_DEBUG("vhost-user %s: log fd write failed", dev->name);
}
