/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The back-end channel (BACKEND_REQ): requests from us to the front-end
 * over the socket it passed with SET_BACKEND_REQ_FD. Requests never block
 * the caller: they are written at once, and when a reply was asked for
 * (REPLY_ACK) the answer arrives later on the same socket and completes
 * the request through its callback, or the request times out. Blocking
 * here could deadlock against a front-end that is itself waiting for a
 * reply from us on the main socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhu_internal.h"

bool
vhu_backend_channel_open(const struct vhu_dev *dev)
{
	return dev->backend.fd >= 0;
}

static void
complete(struct vhu_dev *dev, struct vhu_pending *p, int result,
	 uint64_t value, int fd)
{
	if (p->done != NULL)
		p->done(dev, result, value, fd, p->opaque);
	else if (fd >= 0)
		close(fd);
	free(p);
}

/* Fail every waiting request; the channel is gone. */
static void
fail_pending(struct vhu_dev *dev, int err)
{
	while (dev->pending != NULL) {
		struct vhu_pending *p = dev->pending;

		dev->pending = p->next;
		complete(dev, p, err, 0, -1);
	}
}

void
vhu_backend_reset(struct vhu_dev *dev)
{
	unsigned int i;

	vhu_chan_close(dev, &dev->backend);
	fail_pending(dev, -ECONNRESET);
	for (i = 0; i < dev->nshared; i++)
		close(dev->shared[i].fd);
	dev->nshared = 0;
}

static void
close_channel(struct vhu_dev *dev, const char *why)
{
	VHU_WARN("vhost-user %s: back-end channel closed: %s", dev->name, why);
	vhu_chan_close(dev, &dev->backend);
	fail_pending(dev, -ECONNRESET);
}

enum vhu_result
vhu_set_backend_req_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	int fd;

	if (dev->backend.fd >= 0)
		close_channel(dev, "replaced by SET_BACKEND_REQ_FD");
	fd = vhu_msg_take_fd(msg, 0);
	if (vhu_set_nonblock(fd) < 0) {
		close(fd);
		return vhu_violation(dev, msg, VHU_RULE_FDS,
				     "back-end channel fd is unusable");
	}
	vhu_chan_init(&dev->backend, fd);
	vhu_chan_watch(dev, &dev->backend);
	return VHU_OK;
}

/* A reply arrived: it must answer the oldest request still waiting. */
static int
take_reply(struct vhu_dev *dev, struct vhu_msg *m)
{
	struct vhu_pending *p = dev->pending;
	int fd = -1;

	if (p == NULL || (m->hdr.flags & VHU_FLAG_REPLY) == 0 ||
	    m->hdr.request != p->request || m->hdr.size != sizeof(uint64_t) ||
	    m->nfds > 1)
		return -EPROTO;
	if (m->nfds == 1) {
		if (p->request != VHU_BREQ_SHARED_OBJECT_LOOKUP)
			return -EPROTO;
		fd = vhu_msg_take_fd(m, 0);
	}
	dev->pending = p->next;
	complete(dev, p, 0, m->payload.u64, fd);
	return 0;
}

void
vhu_backend_handle(struct vhu_dev *dev, uint32_t events)
{
	enum vhu_rule rule;
	int rc;

	if ((events & VHU_EV_OUT) != 0 &&
	    vhu_chan_flush(dev, &dev->backend) < 0) {
		close_channel(dev, "write failed");
		return;
	}
	if ((events & (VHU_EV_IN | VHU_EV_ERR)) == 0)
		return;
	while (dev->backend.fd >= 0) {
		rc = vhu_chan_recv(&dev->backend, &rule);
		if (rc == 0)
			return;
		if (rc < 0) {
			close_channel(dev, rc == -ECONNRESET ?
				      "front-end closed it" : "bad framing");
			return;
		}
		rc = take_reply(dev, &dev->backend.rx);
		vhu_chan_rx_reset(&dev->backend);
		if (rc < 0) {
			close_channel(dev, "unexpected reply");
			return;
		}
	}
}

uint64_t
vhu_backend_next_deadline(const struct vhu_dev *dev)
{
	return dev->pending != NULL ? dev->pending->deadline_ms : 0;
}

void
vhu_backend_expire(struct vhu_dev *dev, uint64_t now)
{
	/*
	 * Replies come in order, so once the oldest times out a late answer
	 * could not be matched to its request: the channel is abandoned.
	 */
	if (dev->pending != NULL && dev->pending->deadline_ms <= now) {
		struct vhu_pending *p = dev->pending;

		dev->pending = p->next;
		VHU_WARN("vhost-user %s: no reply to %s in %u ms", dev->name,
			 vhu_backend_request_name(p->request),
			 dev->backend_timeout_ms);
		complete(dev, p, -ETIMEDOUT, 0, -1);
		close_channel(dev, "reply timed out");
	}
}

static int
send_request(struct vhu_dev *dev, uint32_t request, const void *payload,
	     uint32_t size, const int *fds, unsigned int nfds,
	     bool need_reply, vhu_backend_done_fn done, void *opaque)
{
	struct vhu_hdr hdr = { .request = request, .flags = VHU_VERSION,
			       .size = size };
	struct vhu_pending *p = NULL, **tail;
	int rc;

	if (dev->backend.fd < 0)
		return -ENOTCONN;
	if (nfds > 0 && !vhu_has_proto(dev, VHU_PF_BACKEND_SEND_FD))
		return -ENOTSUP;
	need_reply = need_reply && vhu_has_proto(dev, VHU_PF_REPLY_ACK);
	if (need_reply) {
		hdr.flags |= VHU_FLAG_NEED_REPLY;
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
	}
	rc = vhu_chan_send(dev, &dev->backend, &hdr, payload, fds, nfds);
	if (rc < 0) {
		free(p);
		close_channel(dev, "write failed");
		return rc;
	}
	if (p == NULL) {
		if (done != NULL)
			done(dev, 0, 0, -1, opaque);
		return 0;
	}
	p->request = request;
	p->deadline_ms = vhu_now_ms() + dev->backend_timeout_ms;
	p->done = done;
	p->opaque = opaque;
	for (tail = &dev->pending; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = p;
	return 0;
}

static int
send_req(struct vhu_dev *dev, uint32_t request, const void *payload,
	 uint32_t size, const int *fds, unsigned int nfds,
	 const struct vhu_backend_req *req)
{
	bool need = req != NULL ? req->need_reply : false;

	return send_request(dev, request, payload, size, fds, nfds, need,
			    req != NULL ? req->done : NULL,
			    req != NULL ? req->opaque : NULL);
}

static bool
negotiated(const struct vhu_dev *dev, unsigned int pf)
{
	return vhu_has_proto(dev, VHU_PF_BACKEND_REQ) && vhu_has_proto(dev, pf);
}

int
vhu_backend_config_change(struct vhu_dev *dev,
			  const struct vhu_backend_req *req)
{
	if (!negotiated(dev, VHU_PF_CONFIG))
		return -ENOTSUP;
	return send_req(dev, VHU_BREQ_CONFIG_CHANGE_MSG, NULL, 0, NULL, 0, req);
}

int
vhu_backend_iotlb(struct vhu_dev *dev, uint8_t type, uint64_t iova,
		  uint8_t perm, const struct vhu_backend_req *req)
{
	struct vhu_iotlb_msg m = { .iova = iova, .perm = perm, .type = type };

	if (!vhu_has_proto(dev, VHU_PF_BACKEND_REQ) || !dev->dp.iommu)
		return -ENOTSUP;
	if (type != VHU_IOTLB_MISS && type != VHU_IOTLB_ACCESS_FAIL)
		return -EINVAL;
	return send_req(dev, VHU_BREQ_IOTLB_MSG, &m, sizeof(m), NULL, 0, req);
}

int
vhu_backend_host_notifier(struct vhu_dev *dev, uint16_t idx, int fd,
			  uint64_t size, uint64_t offset,
			  const struct vhu_backend_req *req)
{
	struct vhu_vring_area a = { .u64 = idx, .size = size,
				    .offset = offset };

	if (!negotiated(dev, VHU_PF_HOST_NOTIFIER))
		return -ENOTSUP;
	if (idx >= dev->nr_vrings)
		return -EINVAL;
	if (fd < 0)
		a.u64 |= VHU_VRING_AREA_NOFD;
	return send_req(dev, VHU_BREQ_VRING_HOST_NOTIFIER_MSG, &a, sizeof(a),
			&fd, fd >= 0 ? 1 : 0, req);
}

static int
send_vring_state(struct vhu_dev *dev, uint32_t request, uint16_t idx,
		 const struct vhu_backend_req *req)
{
	struct vhu_vring_state s = { .index = idx, .num = 0 };

	if (!negotiated(dev, VHU_PF_INBAND_NOTIFICATIONS))
		return -ENOTSUP;
	if (idx >= dev->nr_vrings)
		return -EINVAL;
	return send_req(dev, request, &s, sizeof(s), NULL, 0, req);
}

int
vhu_backend_vring_call(struct vhu_dev *dev, uint16_t idx,
		       const struct vhu_backend_req *req)
{
	return send_vring_state(dev, VHU_BREQ_VRING_CALL, idx, req);
}

int
vhu_backend_vring_err(struct vhu_dev *dev, uint16_t idx,
		      const struct vhu_backend_req *req)
{
	return send_vring_state(dev, VHU_BREQ_VRING_ERR, idx, req);
}

static struct vhu_shared_obj *
find_shared(struct vhu_dev *dev, const uint8_t uuid[16])
{
	unsigned int i;

	for (i = 0; i < dev->nshared; i++)
		if (memcmp(dev->shared[i].uuid, uuid, 16) == 0)
			return &dev->shared[i];
	return NULL;
}

int
vhu_backend_shared_object_add(struct vhu_dev *dev, const uint8_t uuid[16],
			      int fd, const struct vhu_backend_req *req)
{
	struct vhu_shared_msg m;
	struct vhu_shared_obj *o;
	int own, rc;

	if (!negotiated(dev, VHU_PF_SHARED_OBJECT))
		return -ENOTSUP;
	if (find_shared(dev, uuid) != NULL)
		return -EEXIST;
	if (dev->nshared == VHU_MAX_SHARED_OBJECTS)
		return -ENOSPC;
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	memcpy(m.uuid, uuid, 16);
	rc = send_req(dev, VHU_BREQ_SHARED_OBJECT_ADD, &m, sizeof(m), NULL, 0,
		      req);
	if (rc < 0) {
		close(own);
		return rc;
	}
	o = &dev->shared[dev->nshared++];
	memcpy(o->uuid, uuid, 16);
	o->fd = own;
	return 0;
}

int
vhu_backend_shared_object_remove(struct vhu_dev *dev, const uint8_t uuid[16],
				 const struct vhu_backend_req *req)
{
	struct vhu_shared_msg m;
	struct vhu_shared_obj *o;

	if (!negotiated(dev, VHU_PF_SHARED_OBJECT))
		return -ENOTSUP;
	o = find_shared(dev, uuid);
	if (o == NULL)
		return -ENOENT;
	close(o->fd);
	*o = dev->shared[--dev->nshared];
	memcpy(m.uuid, uuid, 16);
	return send_req(dev, VHU_BREQ_SHARED_OBJECT_REMOVE, &m, sizeof(m),
			NULL, 0, req);
}

int
vhu_backend_shared_object_lookup(struct vhu_dev *dev, const uint8_t uuid[16],
				 vhu_backend_done_fn done, void *opaque)
{
	struct vhu_shared_msg m;

	if (!negotiated(dev, VHU_PF_SHARED_OBJECT) ||
	    !vhu_has_proto(dev, VHU_PF_REPLY_ACK))
		return -ENOTSUP;
	memcpy(m.uuid, uuid, 16);
	return send_request(dev, VHU_BREQ_SHARED_OBJECT_LOOKUP, &m, sizeof(m),
			    NULL, 0, true, done, opaque);
}

int
vhu_backend_shmem_map(struct vhu_dev *dev, uint8_t shmid, int fd,
		      uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
		      bool writable, const struct vhu_backend_req *req)
{
	struct vhu_mmap_msg m;

	if (!negotiated(dev, VHU_PF_SHMEM))
		return -ENOTSUP;
	if (fd < 0 || len == 0)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.shmid = shmid;
	m.fd_offset = fd_offset;
	m.shm_offset = shm_offset;
	m.len = len;
	m.flags = writable ? VHU_SHMEM_MAP_RW : 0;
	return send_req(dev, VHU_BREQ_SHMEM_MAP, &m, sizeof(m), &fd, 1, req);
}

int
vhu_backend_shmem_unmap(struct vhu_dev *dev, uint8_t shmid,
			uint64_t shm_offset, uint64_t len,
			const struct vhu_backend_req *req)
{
	struct vhu_mmap_msg m;

	if (!negotiated(dev, VHU_PF_SHMEM))
		return -ENOTSUP;
	if (len == 0)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.shmid = shmid;
	m.shm_offset = shm_offset;
	m.len = len;
	return send_req(dev, VHU_BREQ_SHMEM_UNMAP, &m, sizeof(m), NULL, 0, req);
}

/* GET_SHARED_OBJECT: answer with the fd exported under the UUID, if any. */
enum vhu_result
vhu_get_shared_object(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_shared_obj *o = find_shared(dev, msg->payload.shared.uuid);

	if (o != NULL)
		vhu_set_reply_fds(dev, &o->fd, 1);
	msg->hdr.size = sizeof(uint64_t);
	msg->payload.u64 = o != NULL ? 0 : 1;
	return VHU_REPLY;
}
