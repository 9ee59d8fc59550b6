/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user ports: a lib/vhost-user device per port, whose callbacks run
 * on the control thread. A ring gets a lib/virtio queue when it is
 * enabled, and loses it when it stops; the workers see the change through
 * a new plan. While the device is quiesced (a message that changes memory
 * or rings) its queues are hidden from the workers altogether.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "sw_internal.h"

/* What a vhost-user port offers; docs/protocol.md lists each bit. */
#define SW_VHOST_FEATURES \
	(VHU_BIT(VHU_F_VERSION_1) | VHU_BIT(VHU_F_RING_PACKED) | \
	 VHU_BIT(VHU_F_RING_EVENT_IDX) | VHU_BIT(VHU_F_RING_INDIRECT_DESC) | \
	 VHU_BIT(VHU_F_IN_ORDER) | VHU_BIT(VHU_F_ACCESS_PLATFORM) | \
	 VHU_BIT(VHU_F_LOG_ALL) | VHU_BIT(VHU_NET_F_MRG_RXBUF) | \
	 VHU_BIT(VHU_NET_F_MQ) | VHU_BIT(VHU_NET_F_MTU) | \
	 VHU_BIT(VHU_NET_F_STATUS) | VHU_BIT(VHU_NET_F_GUEST_ANNOUNCE) | \
	 VHU_BIT(VHU_NET_F_CSUM) | VHU_BIT(VHU_NET_F_GUEST_CSUM) | \
	 VHU_BIT(VHU_NET_F_HOST_TSO4) | VHU_BIT(VHU_NET_F_HOST_TSO6) | \
	 VHU_BIT(VHU_NET_F_HOST_ECN) | VHU_BIT(VHU_NET_F_HOST_UFO) | \
	 VHU_BIT(VHU_NET_F_GUEST_TSO4) | VHU_BIT(VHU_NET_F_GUEST_TSO6) | \
	 VHU_BIT(VHU_NET_F_GUEST_ECN) | VHU_BIT(VHU_NET_F_GUEST_UFO))

/* Big-endian legacy rings are refused by lib/virtio; no host notifiers. */
#define SW_VHOST_PF_UNUSED \
	(VHU_BIT(VHU_PF_CROSS_ENDIAN) | VHU_BIT(VHU_PF_HOST_NOTIFIER))

uint64_t
sw_vhost_features(void)
{
	return SW_VHOST_FEATURES;
}

static struct sw_port *
port_of(struct vhu_dev *dev)
{
	return vhu_dev_opaque(dev);
}

static void
on_event(void *arg, int fd, uint32_t events)
{
	struct sw_port *p = arg;

	vhu_dev_handle_event(p->dev, fd, events);
}

static int
on_watch(struct vhu_dev *dev, int fd, uint32_t events)
{
	struct sw_port *p = port_of(dev);
	const struct sw_loop_ops *l = &p->sw->params.loop;

	return l->watch(l->ctx, fd, events, on_event, p);
}

void
sw_vq_stats_add(struct vq_stats *acc, const struct vq_stats *s)
{
	unsigned int i;

	acc->packets += s->packets;
	acc->bytes += s->bytes;
	acc->zc_packets += s->zc_packets;
	acc->copy_packets += s->copy_packets;
	acc->direct_packets += s->direct_packets;
	acc->sw_csum += s->sw_csum;
	acc->sw_gso += s->sw_gso;
	acc->notifications += s->notifications;
	for (i = 0; i < VQ_DROP_MAX; i++)
		acc->drops[i] += s->drops[i];
}

/*
 * The smallest frame a port lends instead of copying: one that would not
 * fit a single mbuf. Below that a copy into one mbuf costs less than the
 * bookkeeping of a lent buffer (perf/RESULTS.md: 1518 B frames forward
 * about 10% faster copied); above it lending saves chaining mbufs.
 */
static uint32_t
zc_min_len(const struct sw *sw)
{
	return rte_pktmbuf_data_room_size(sw->mp) - RTE_PKTMBUF_HEADROOM + 1;
}

static struct vq *
make_vq(struct sw_port *p, unsigned int ring)
{
	struct sw *sw = p->sw;
	int w = p->rxq_worker[ring / 2];
	struct vq_params vp = {
		.mp = sw->mp,
		.zero_copy = p->zero_copy,
		.zc_min_len = zc_min_len(sw),
		.owner_lcore = sw->w[w >= 0 && ring % 2 ? w : 0].lcore,
		.wait_bursts = true,
	};
	struct vq *q = vq_create(vhu_dev_vring(p->dev, ring), &vp);

	if (q == NULL)
		SW_LOG(ERR, "port %s: ring %u: no queue: %s\n", p->name, ring,
		       rte_strerror(rte_errno));
	else if (p->zero_copy && ring % 2 == 1 && !vq_borrows(q))
		SW_LOG(WARNING, "port %s: ring %u: no mbuf field for "
		       "borrowing; its frames are copied\n", p->name, ring);
	return q;
}

/*
 * Bring the port's queues in line with its rings: a queue for every
 * enabled ring, none for the others. Queues that go are freed once the
 * workers cannot see them.
 */
static void
reconcile(struct sw_port *p)
{
	struct vq *gone[2 * SW_MAX_QUEUES];
	unsigned int r, ngone = 0, nr = 2u * p->nq;
	bool failed = false;

	pthread_mutex_lock(&p->sw->lock);
	for (r = 0; r < nr; r++) {
		struct vhu_vring *vr = vhu_dev_vring(p->dev, r);
		bool on = vr != NULL && vhu_vring_state(vr) == VHU_RING_ENABLED;

		if (on && p->vq[r] == NULL) {
			p->vq[r] = make_vq(p, r);
			failed |= p->vq[r] == NULL;
		} else if (!on && p->vq[r] != NULL) {
			gone[ngone++] = p->vq[r];
			sw_vq_stats_add(&p->vq_acc[r], vq_stats(p->vq[r]));
			p->vq[r] = NULL;
		}
	}
	if (!p->quiesced)
		sw_publish(p->sw);
	pthread_mutex_unlock(&p->sw->lock);
	for (r = 0; r < ngone; r++)
		vq_free(gone[r]);
	if (failed)
		vhu_dev_disconnect(p->dev, "a ring could not be set up");
}

/* Lent guest buffers must come home before the memory may go. */
static void
wait_lent(struct sw_port *p)
{
	uint64_t end = rte_get_tsc_cycles() + rte_get_tsc_hz();
	unsigned int r, held;

	do {
		held = 0;
		for (r = 0; r < 2u * p->nq; r++)
			if (p->vq[r] != NULL)
				held += vq_zc_outstanding(p->vq[r]);
		if (held == 0)
			return;
		rte_delay_us_sleep(1000);
	} while (rte_get_tsc_cycles() < end);
	SW_LOG(WARNING, "port %s: %u lent buffers still out after 1 s\n",
	       p->name, held);
}

static void
on_quiesce(struct vhu_dev *dev)
{
	struct sw_port *p = port_of(dev);

	pthread_mutex_lock(&p->sw->lock);
	p->quiesced = true;
	sw_publish(p->sw);
	pthread_mutex_unlock(&p->sw->lock);
	wait_lent(p);
}

static void
on_resume(struct vhu_dev *dev)
{
	struct sw_port *p = port_of(dev);

	p->quiesced = false;
	reconcile(p);
}

static void
on_vring_state(struct vhu_dev *dev, uint16_t idx, enum vhu_ring_state st)
{
	struct sw_port *p = port_of(dev);

	SW_LOG(DEBUG, "port %s: ring %u %s\n", p->name, idx,
	       st == VHU_RING_ENABLED ? "enabled" :
	       st == VHU_RING_DISABLED ? "disabled" : "stopped");
	if (idx < 2u * p->nq)
		reconcile(p);
}

static void
on_connected(struct vhu_dev *dev)
{
	SW_LOG(INFO, "port %s: front-end connected\n", vhu_dev_name(dev));
}

static void
on_disconnected(struct vhu_dev *dev)
{
	struct sw_port *p = port_of(dev);

	SW_LOG(INFO, "port %s: front-end gone, rings stopped\n", p->name);
	reconcile(p);
}

static void
on_features(struct vhu_dev *dev, uint64_t f)
{
	SW_LOG(INFO, "port %s: features 0x%" PRIx64 "\n", vhu_dev_name(dev),
	       f);
}

/* The VLAN a port's untagged frames belong to. */
static uint16_t
port_vlan(const struct sw_port *p)
{
	return p->vlan->mode == SW_VLAN_ACCESS ? p->vlan->tag :
	       p->vlan->native;
}

/*
 * The guest behind this port moved here (live migration): point its MAC
 * at the port now and broadcast a RARP from it on every other port, so
 * that physical switches learn the new place at once.
 */
void
sw_announce(struct sw_port *p, const uint8_t mac[6])
{
	struct rte_mbuf *m;

	SW_LOG(INFO, "port %s: %02x:%02x:%02x:%02x:%02x:%02x announced\n",
	       p->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	if (sw_mac_move(p->sw, mac, port_vlan(p), p->index) < 0)
		SW_LOG(WARNING, "port %s: announced MAC is static elsewhere\n",
		       p->name);
	m = sw_rarp_build(p->sw->mp, mac);
	if (m != NULL)
		sw_inject(p->sw, m, p->index);
}

static void
on_rarp(struct vhu_dev *dev, const uint8_t mac[6])
{
	sw_announce(port_of(dev), mac);
}

static int
on_mtu(struct vhu_dev *dev, uint16_t mtu)
{
	struct sw_port *p = port_of(dev);

	if (mtu < 68 || mtu > 9600)
		return -EINVAL;
	pthread_mutex_lock(&p->sw->lock);
	p->mtu = mtu;
	sw_publish(p->sw);
	pthread_mutex_unlock(&p->sw->lock);
	SW_LOG(INFO, "port %s: front-end set MTU %u\n", p->name, mtu);
	return 0;
}

static const struct vhu_dev_ops sw_vhost_ops = {
	.watch = on_watch,
	.connected = on_connected,
	.disconnected = on_disconnected,
	.quiesce = on_quiesce,
	.resume = on_resume,
	.vring_state = on_vring_state,
	.features_changed = on_features,
	.send_rarp = on_rarp,
	.set_mtu = on_mtu,
};

int
sw_vhost_open(struct sw *sw, struct sw_port *p, char *err, size_t errlen)
{
	struct vhu_dev_params vp = {
		.name = p->name,
		.mode = p->conf.mode,
		.path = p->path,
		.fd = p->conf.fd,
		.features = SW_VHOST_FEATURES,
		.protocol_features = vhu_protocol_features_implemented() &
				     ~SW_VHOST_PF_UNUSED,
		.max_queue_pairs = p->nq,
		.mtu = p->mtu,
		.ops = &sw_vhost_ops,
		.opaque = p,
	};
	int rc;

	(void)sw;
	p->dev = vhu_dev_create(&vp);
	if (p->dev == NULL) {
		snprintf(err, errlen, "vhost-user device: %s", strerror(errno));
		return -errno;
	}
	rc = vhu_dev_start(p->dev);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", p->path != NULL ? p->path :
			 "fd", strerror(-rc));
		vhu_dev_destroy(p->dev);
		p->dev = NULL;
	}
	return rc;
}

/* The port is already out of every plan; end the front-end's session. */
void
sw_vhost_close(struct sw *sw, struct sw_port *p)
{
	unsigned int r;

	(void)sw;
	if (p->dev == NULL)
		return;
	vhu_dev_destroy(p->dev);
	p->dev = NULL;
	for (r = 0; r < 2u * SW_MAX_QUEUES; r++) {
		vq_free(p->vq[r]);
		p->vq[r] = NULL;
	}
}

/* Run the device's timer (reconnect, reply timeouts) when it is due. */
void
sw_vhost_timers(struct sw_port *p)
{
	if (p->dev != NULL && vhu_dev_next_timeout_ms(p->dev) == 0)
		vhu_dev_handle_timeout(p->dev);
}
