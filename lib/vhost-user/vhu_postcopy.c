/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Postcopy live migration (PAGEFAULT): POSTCOPY_ADVISE opens a
 * userfaultfd and hands it to the front-end, POSTCOPY_LISTEN makes the
 * next memory table register its regions with it (and reply with where
 * they are mapped here), POSTCOPY_END closes it. Offered only where the
 * kernel lets this process use userfaultfd on shared memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "vhu_internal.h"

static int
uffd_open(void)
{
#ifdef __NR_userfaultfd
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if ((api.features & UFFD_FEATURE_MISSING_SHMEM) == 0 ||
	    (api.features & UFFD_FEATURE_MISSING_HUGETLBFS) == 0) {
		close(fd);
		return -ENOTSUP;
	}
	return fd;
#else
	return -ENOSYS;
#endif
}

bool
vhu_postcopy_supported(void)
{
	static int cached = -1;

	if (cached < 0) {
		int fd = uffd_open();

		cached = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return cached == 1;
}


int
vhu_postcopy_register(struct vhu_dev *dev, struct vhu_mem_region *r)
{
	struct uffdio_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uint64_t)(uintptr_t)r->map_base;
	reg.range.len = r->map_len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(dev->uffd, UFFDIO_REGISTER, &reg) < 0) {
		int err = errno;

		VHU_ERR("vhost-user %s: userfaultfd register of %zu bytes: %s",
			dev->name, r->map_len, strerror(err));
		return -err;
	}
	return 0;
}

/*
 * The front-end holds a copy of the userfaultfd, so closing ours does not
 * end the registrations: without this, a worker touching a missing page
 * after postcopy would still wait on the front-end.
 */
static void
unregister_all(struct vhu_dev *dev)
{
	uint32_t i;

	for (i = 0; i < dev->mem->nregions; i++) {
		const struct vhu_mem_region *r = &dev->mem->regions[i];
		struct uffdio_range range = {
			.start = (uint64_t)(uintptr_t)r->map_base,
			.len = r->map_len,
		};

		if (ioctl(dev->uffd, UFFDIO_UNREGISTER, &range) < 0)
			VHU_WARN("vhost-user %s: userfaultfd unregister: %s",
				 dev->name, strerror(errno));
	}
}

/* End postcopy: unregister, close, forget. Safe to call at any time. */
void
vhu_postcopy_reset(struct vhu_dev *dev)
{
	if (dev->uffd >= 0 && dev->postcopy_listening)
		unregister_all(dev);
	if (dev->uffd >= 0)
		close(dev->uffd);
	dev->uffd = -1;
	dev->postcopy_listening = false;
	dev->postcopy_awaiting_ack = false;
}

enum vhu_result
vhu_postcopy_advise(struct vhu_dev *dev, struct vhu_msg *msg)
{
	int fd;

	if (dev->uffd >= 0)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "postcopy was already advised");
	fd = uffd_open();
	if (fd < 0)
		return vhu_violation(dev, msg, VHU_RULE_RESOURCE,
				     "userfaultfd: %s", strerror(-fd));
	dev->uffd = fd;
	msg->hdr.size = 0;
	vhu_set_reply_fds(dev, &dev->uffd, 1);
	return VHU_REPLY;
}

enum vhu_result
vhu_postcopy_listen(struct vhu_dev *dev, struct vhu_msg *msg)
{
	if (dev->uffd < 0)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "POSTCOPY_LISTEN before POSTCOPY_ADVISE");
	if (dev->mem->nregions > 0)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "memory is already mapped; postcopy needs "
				     "the table after LISTEN");
	dev->postcopy_listening = true;
	return VHU_OK;
}

enum vhu_result
vhu_postcopy_end(struct vhu_dev *dev, struct vhu_msg *msg)
{
	if (!dev->postcopy_listening)
		return vhu_violation(dev, msg, VHU_RULE_STATE,
				     "POSTCOPY_END without POSTCOPY_LISTEN");
	vhu_postcopy_reset(dev);
	return VHU_OK;
}
