/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device life cycle and sockets: create and destroy, server mode (one
 * front-end at a time; a new connection replaces a dead one), client mode
 * with reconnect and exponential back-off, a pre-opened fd, and the event
 * and timer entry points the application's loop calls.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhu_internal.h"

#define VHU_DEFAULT_RECONNECT_MIN_MS	100
#define VHU_DEFAULT_RECONNECT_MAX_MS	5000
#define VHU_DEFAULT_BACKEND_TIMEOUT_MS	5000

uint64_t
vhu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
vring_init(struct vhu_dev *dev, struct vhu_vring *vr, uint16_t idx)
{
	vr->dev = dev;
	vr->dp = &dev->dp;
	vr->index = idx;
	vr->kick_fd = -1;
	vr->call_fd = -1;
	vr->err_fd = -1;
	vhu_vring_reset(vr);
}

static int
check_params(const struct vhu_dev_params *p)
{
	if (p == NULL || p->max_queue_pairs == 0 ||
	    p->max_queue_pairs > VHU_MAX_QUEUE_PAIRS)
		return -EINVAL;
	if (p->mode == VHU_MODE_FD)
		return p->fd >= 0 ? 0 : -EBADF;
	if (p->mode != VHU_MODE_SERVER && p->mode != VHU_MODE_CLIENT)
		return -EINVAL;
	if (p->path == NULL || p->path[0] == '\0' ||
	    strlen(p->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static void
set_defaults(struct vhu_dev *dev, const struct vhu_dev_params *p)
{
	uint64_t mask = p->protocol_features != 0 ? p->protocol_features :
						      ~0ULL;

	dev->features_offered = p->features | VHU_BIT(VHU_F_PROTOCOL_FEATURES);
	dev->proto_offered = vhu_protocol_features_implemented() & mask;
	dev->max_queue_pairs = p->max_queue_pairs;
	dev->reconnect_min_ms = p->reconnect_min_ms != 0 ?
		p->reconnect_min_ms : VHU_DEFAULT_RECONNECT_MIN_MS;
	dev->reconnect_max_ms = p->reconnect_max_ms != 0 ?
		p->reconnect_max_ms : VHU_DEFAULT_RECONNECT_MAX_MS;
	if (dev->reconnect_max_ms < dev->reconnect_min_ms)
		dev->reconnect_max_ms = dev->reconnect_min_ms;
	dev->backend_timeout_ms = p->backend_timeout_ms != 0 ?
		p->backend_timeout_ms : VHU_DEFAULT_BACKEND_TIMEOUT_MS;
	memcpy(dev->default_mac, p->mac, sizeof(dev->default_mac));
	dev->default_mtu = p->mtu != 0 ? p->mtu : 1500;
	dev->link_up = true;
}

struct vhu_dev *
vhu_dev_create(const struct vhu_dev_params *p)
{
	struct vhu_dev *dev;
	unsigned int i;
	int rc = check_params(p);

	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return NULL;
	dev->mem = calloc(1, sizeof(*dev->mem));
	dev->nr_vrings = 2u * p->max_queue_pairs;
	dev->vrings = calloc(dev->nr_vrings, sizeof(*dev->vrings));
	if (dev->mem == NULL || dev->vrings == NULL) {
		free(dev->mem);
		free(dev->vrings);
		free(dev);
		errno = ENOMEM;
		return NULL;
	}
	dev->mode = p->mode;
	dev->param_fd = p->fd;
	if (p->path != NULL)
		snprintf(dev->path, sizeof(dev->path), "%s", p->path);
	if (p->name != NULL)
		snprintf(dev->name, sizeof(dev->name), "%s", p->name);
	else if (p->mode == VHU_MODE_FD)
		snprintf(dev->name, sizeof(dev->name), "fd:%d", p->fd);
	else
		snprintf(dev->name, sizeof(dev->name), "%s", p->path);
	dev->ops = p->ops;
	dev->opaque = p->opaque;
	set_defaults(dev, p);
	dev->listen_fd = -1;
	dev->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	dev->log_call_fd = -1;
	dev->inflight_fd = -1;
	dev->uffd = -1;
	vhu_chan_init(&dev->conn, -1);
	vhu_chan_init(&dev->backend, -1);
	dev->dp.mem = dev->mem;
	dev->dp.iotlb = &dev->iotlb;
	for (i = 0; i < dev->nr_vrings; i++)
		vring_init(dev, &dev->vrings[i], (uint16_t)i);
	vhu_net_reset(dev);
	return dev;
}

/* Reset everything a connection negotiated; rings are already quiet. */
static void
reset_session(struct vhu_dev *dev)
{
	vhu_vrings_reset(dev);
	vhu_backend_reset(dev);
	vhu_log_reset(dev);
	vhu_inflight_reset(dev);
	vhu_postcopy_reset(dev);
	vhu_iotlb_reset(&dev->iotlb);
	vhu_mem_free(dev->mem);
	dev->ngone = 0;
	dev->features = 0;
	dev->proto = 0;
	dev->features_set = false;
	dev->proto_set = false;
	dev->owner = false;
	dev->status = 0;
	dev->dp.features = 0;
	dev->dp.log_all = false;
	dev->dp.iommu = false;
	vhu_net_reset(dev);
}

static void
schedule_reconnect(struct vhu_dev *dev)
{
	if (dev->mode != VHU_MODE_CLIENT)
		return;
	if (dev->reconnect_delay_ms == 0)
		dev->reconnect_delay_ms = dev->reconnect_min_ms;
	dev->reconnect_at_ms = vhu_now_ms() + dev->reconnect_delay_ms;
	dev->reconnect_delay_ms *= 2;
	if (dev->reconnect_delay_ms > dev->reconnect_max_ms)
		dev->reconnect_delay_ms = dev->reconnect_max_ms;
}

void
vhu_dev_close_connection(struct vhu_dev *dev)
{
	if (dev->conn.fd < 0)
		return;
	/*
	 * A worker blocked on a missing postcopy page would never let the
	 * quiesce finish: end the registrations first, which wakes it.
	 */
	vhu_postcopy_reset(dev);
	if (dev->ops != NULL && dev->ops->quiesce != NULL && !dev->quiesced)
		dev->ops->quiesce(dev);
	reset_session(dev);
	vhu_chan_close(dev, &dev->conn);
	dev->close_pending = false;
	VHU_INFO("vhost-user %s: front-end disconnected", dev->name);
	if (dev->ops != NULL && dev->ops->disconnected != NULL)
		dev->ops->disconnected(dev);
	if (dev->ops != NULL && dev->ops->resume != NULL && !dev->quiesced)
		dev->ops->resume(dev);
	schedule_reconnect(dev);
}

void
vhu_dev_disconnect(struct vhu_dev *dev, const char *why)
{
	if (dev->conn.fd < 0)
		return;
	VHU_WARN("vhost-user %s: closing connection: %s", dev->name,
		 why != NULL ? why : "requested");
	if (dev->in_dispatch)
		dev->close_pending = true;
	else
		vhu_dev_close_connection(dev);
}

static void
adopt_connection(struct vhu_dev *dev, int fd)
{
	vhu_chan_init(&dev->conn, fd);
	dev->connections++;
	dev->reconnect_at_ms = 0;
	dev->reconnect_delay_ms = 0;
	vhu_chan_watch(dev, &dev->conn);
	VHU_INFO("vhost-user %s: front-end connected", dev->name);
	if (dev->ops != NULL && dev->ops->connected != NULL)
		dev->ops->connected(dev);
}

static void
make_addr(struct sockaddr_un *un, const char *path)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "%s", path);
}

/* A socket file nobody listens on is stale and may be replaced. */
static int
remove_stale_socket(const char *path)
{
	struct sockaddr_un un;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a listener with a full backlog answers EAGAIN. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	make_addr(&un, path);
	rc = connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0 ? errno : 0;
	close(fd);
	if (rc == 0 || rc == EAGAIN || rc == EINPROGRESS)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

static int
start_server(struct vhu_dev *dev)
{
	struct sockaddr_un un;
	int fd, rc;

	rc = remove_stale_socket(dev->path);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	make_addr(&un, dev->path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    listen(fd, 4) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	dev->listen_fd = fd;
	vhu_watch(dev, fd, VHU_EV_IN);
	return 0;
}

static void
try_connect(struct vhu_dev *dev)
{
	struct sockaddr_un un;
	int fd;

	dev->reconnect_at_ms = 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		schedule_reconnect(dev);
		return;
	}
	make_addr(&un, dev->path);
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		VHU_DEBUG("vhost-user %s: connect: %s", dev->name,
			  strerror(errno));
		close(fd);
		schedule_reconnect(dev);
		return;
	}
	adopt_connection(dev, fd);
}

static int
start_fd(struct vhu_dev *dev)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	int rc;

	if (getsockopt(dev->param_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		       &len) < 0)
		return -errno;
	rc = vhu_set_nonblock(dev->param_fd);
	if (rc < 0)
		return rc;
	if (listening) {
		dev->listen_fd = dev->param_fd;
		vhu_watch(dev, dev->listen_fd, VHU_EV_IN);
	} else {
		adopt_connection(dev, dev->param_fd);
	}
	dev->param_fd = -1;
	return 0;
}

int
vhu_dev_start(struct vhu_dev *dev)
{
	int rc = 0;

	if (dev->started)
		return -EALREADY;
	if (dev->notify_fd < 0)
		return -EMFILE;
	switch (dev->mode) {
	case VHU_MODE_SERVER:
		rc = start_server(dev);
		break;
	case VHU_MODE_CLIENT:
		try_connect(dev);
		break;
	case VHU_MODE_FD:
		rc = start_fd(dev);
		break;
	}
	if (rc == 0) {
		dev->started = true;
		vhu_watch(dev, dev->notify_fd, VHU_EV_IN);
	}
	return rc;
}

static bool
connection_dead(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

	if (poll(&pfd, 1, 0) < 0)
		return false;
	return (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

static void
handle_accept(struct vhu_dev *dev)
{
	int fd = accept4(dev->listen_fd, NULL, NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (dev->conn.fd >= 0) {
		if (!connection_dead(dev->conn.fd)) {
			VHU_WARN("vhost-user %s: refused a second front-end: "
				 "the device is already connected", dev->name);
			close(fd);
			return;
		}
		VHU_INFO("vhost-user %s: new front-end replaces a dead one",
			 dev->name);
		vhu_dev_close_connection(dev);
	}
	adopt_connection(dev, fd);
}

static void
handle_conn(struct vhu_dev *dev, uint32_t events)
{
	unsigned int budget = VHU_RX_BUDGET;
	enum vhu_rule rule;
	int rc;

	if ((events & VHU_EV_OUT) != 0 && vhu_chan_flush(dev, &dev->conn) < 0) {
		vhu_dev_close_connection(dev);
		return;
	}
	if ((events & (VHU_EV_IN | VHU_EV_ERR)) == 0)
		return;
	while (budget-- > 0 && dev->conn.fd >= 0) {
		rc = vhu_chan_recv(&dev->conn, &rule);
		if (rc == 0)
			return;
		if (rc < 0) {
			if (rc != -ECONNRESET)
				vhu_violation(dev, &dev->conn.rx, rule,
					      "framing: %s", strerror(-rc));
			vhu_dev_close_connection(dev);
			return;
		}
		vhu_dispatch(dev, &dev->conn.rx);
		vhu_chan_rx_reset(&dev->conn);
		if (dev->close_pending)
			vhu_dev_close_connection(dev);
	}
}

void
vhu_dev_handle_event(struct vhu_dev *dev, int fd, uint32_t events)
{
	struct vhu_vring *vr;

	if (fd < 0)
		return;
	if (fd == dev->notify_fd)
		vhu_vring_handle_notify(dev);
	else if (fd == dev->listen_fd)
		handle_accept(dev);
	else if (fd == dev->conn.fd)
		handle_conn(dev, events);
	else if (fd == dev->backend.fd)
		vhu_backend_handle(dev, events);
	else if ((vr = vhu_vring_by_kick_fd(dev, fd)) != NULL)
		vhu_vring_kick_readable(dev, vr, events);
}

int
vhu_dev_next_timeout_ms(const struct vhu_dev *dev)
{
	uint64_t next = dev->reconnect_at_ms, b = vhu_backend_next_deadline(dev);
	uint64_t now;

	if (b != 0 && (next == 0 || b < next))
		next = b;
	if (next == 0)
		return -1;
	now = vhu_now_ms();
	if (next <= now)
		return 0;
	return next - now > (uint64_t)INT32_MAX ? INT32_MAX : (int)(next - now);
}

void
vhu_dev_handle_timeout(struct vhu_dev *dev)
{
	uint64_t now = vhu_now_ms();

	vhu_backend_expire(dev, now);
	if (dev->reconnect_at_ms != 0 && dev->reconnect_at_ms <= now &&
	    dev->conn.fd < 0)
		try_connect(dev);
}

void
vhu_dev_destroy(struct vhu_dev *dev)
{
	if (dev == NULL)
		return;
	dev->mode = VHU_MODE_FD;	/* no reconnect from here on */
	vhu_dev_close_connection(dev);
	if (dev->listen_fd >= 0) {
		vhu_watch(dev, dev->listen_fd, 0);
		close(dev->listen_fd);
		if (dev->path[0] != '\0')
			unlink(dev->path);
	}
	if (dev->param_fd >= 0)
		close(dev->param_fd);
	if (dev->notify_fd >= 0) {
		if (dev->started)
			vhu_watch(dev, dev->notify_fd, 0);
		close(dev->notify_fd);
	}
	free(dev->iotlb.e);
	free(dev->mem);
	free(dev->vrings);
	free(dev);
}

const char *
vhu_dev_name(const struct vhu_dev *dev)
{
	return dev->name;
}

void *
vhu_dev_opaque(const struct vhu_dev *dev)
{
	return dev->opaque;
}

int
vhu_dev_notify_fd(const struct vhu_dev *dev)
{
	return dev->notify_fd;
}

bool
vhu_dev_connected(const struct vhu_dev *dev)
{
	return dev->conn.fd >= 0;
}

uint64_t
vhu_dev_connections(const struct vhu_dev *dev)
{
	return dev->connections;
}

uint64_t
vhu_dev_violations(const struct vhu_dev *dev, enum vhu_rule rule)
{
	return rule < VHU_RULE_MAX ? dev->violations[rule] : 0;
}

enum vhu_rule
vhu_dev_last_violation(const struct vhu_dev *dev)
{
	return dev->last_violation;
}
