/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON views of the switch for the control socket and telemetry: a port
 * (summary or detail with rings, rx queues and features), its statistics
 * with every drop reason, and a worker's cycle counters (busy and idle
 * cycles, cycles per packet, the queues it polls).
 */
#include <stdio.h>

#include <rte_ethdev.h>

#include "ctl_json.h"

static const char *const ring_states[] = { "stopped", "disabled", "enabled" };

static json_t *
hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *
vlan_json(const struct sw_vlan *v, json_t *o)
{
	json_t *t;
	unsigned int id;

	json_object_set_new(o, "vlan_mode", json_string(
		v->mode == SW_VLAN_ACCESS ? "access" : "trunk"));
	if (v->mode == SW_VLAN_ACCESS) {
		json_object_set_new(o, "tag", json_integer(v->tag));
		return o;
	}
	json_object_set_new(o, "native", json_integer(v->native));
	if (!v->listed) {
		json_object_set_new(o, "trunks", json_string("all"));
		return o;
	}
	t = json_array();
	for (id = 0; id <= SW_VLAN_MAX; id++)
		if (v->allowed[id / 64] >> (id % 64) & 1)
			json_array_append_new(t, json_integer(id));
	json_object_set_new(o, "trunks", t);
	return o;
}

static uint64_t
drops_total(const struct sw_port_stats *s)
{
	uint64_t n = 0;
	unsigned int d;

	for (d = 0; d < SW_DROP_MAX; d++)
		n += s->drops[d];
	return n;
}

static void
kind_json(struct sw_port *p, json_t *o)
{
	const struct sw_port_conf *c = sw_port_conf(p);

	if (c->type == SW_PORT_ETHDEV) {
		json_object_set_new(o, "type", json_string("ethdev"));
		json_object_set_new(o, "devargs", json_string(c->devargs));
		json_object_set_new(o, "ethdev_port",
				    json_integer(sw_port_ethdev(p)));
		return;
	}
	json_object_set_new(o, "type", json_string("vhost-user"));
	json_object_set_new(o, "mode", json_string(
		c->mode == VHU_MODE_SERVER ? "server" :
		c->mode == VHU_MODE_CLIENT ? "client" : "fd"));
	json_object_set_new(o, "path", c->path != NULL ?
			    json_string(c->path) : json_null());
	json_object_set_new(o, "connected",
			    json_boolean(vhu_dev_connected(sw_port_vhu(p))));
}

static json_t *
features_names(uint64_t f)
{
	json_t *a = json_array();
	unsigned int b;

	for (b = 0; b < 64; b++)
		if (f >> b & 1)
			json_array_append_new(a,
					      json_string(vhu_feature_name(b)));
	return a;
}

static json_t *
vq_drops_json(const struct vq_stats *s, json_t *o)
{
	unsigned int d;

	for (d = 0; d < VQ_DROP_MAX; d++) {
		json_t *cur = json_object_get(o, vq_drop_name(d));

		json_object_set_new(o, vq_drop_name(d), json_integer(
			(json_int_t)s->drops[d] +
			(cur != NULL ? json_integer_value(cur) : 0)));
	}
	return o;
}

/* Live migration: whether pages are logged now, and how many writes. */
static json_t *
dirty_log_json(struct vhu_dev *dev)
{
	struct vhu_dp *dp = vhu_dev_dp(dev);

	return json_pack("{s:b, s:I, s:I, s:I}",
			 "active", dp->log_all && dp->log_base != NULL,
			 "size", (json_int_t)dp->log_size,
			 "writes", (json_int_t)__atomic_load_n(&dp->log_writes,
							 __ATOMIC_RELAXED),
			 "dropped", (json_int_t)__atomic_load_n(
				&dp->log_dropped, __ATOMIC_RELAXED));
}

static json_t *
rings_json(struct sw_port *p)
{
	struct vhu_dev *dev = sw_port_vhu(p);
	json_t *a = json_array();
	unsigned int r, nr = 2u * sw_port_conf(p)->queues;

	for (r = 0; r < nr; r++) {
		struct vhu_vring *vr = vhu_dev_vring(dev, r);
		struct vq_stats s;
		bool running, broken;

		sw_ring_stats(p, r, &s, &running, &broken);
		json_array_append_new(a, json_pack(
			"{s:i, s:s, s:i, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, "
			"s:o}",
			"index", r,
			"state", vr != NULL ? ring_states[vhu_vring_state(vr)] :
				 "stopped",
			"size", vr != NULL ? vr->size : 0,
			"packed", vr != NULL && vr->packed,
			"running", running, "broken", broken,
			"packets", (json_int_t)s.packets,
			"bytes", (json_int_t)s.bytes,
			"zero_copy", (json_int_t)s.zc_packets,
			"direct", (json_int_t)s.direct_packets,
			"notifications", (json_int_t)s.notifications,
			"drops", vq_drops_json(&s, json_object())));
	}
	return a;
}

static json_t *
rxqs_json(struct sw_port *p)
{
	json_t *a = json_array();
	unsigned int q;

	for (q = 0; q < sw_port_conf(p)->queues; q++) {
		struct sw_rxq_info i;

		sw_rxq_info(p, q, &i);
		json_array_append_new(a, json_pack("{s:i, s:i, s:I, s:I, s:I}",
			"queue", q, "worker", i.worker,
			"packets", (json_int_t)i.packets,
			"bytes", (json_int_t)i.bytes,
			"cycles", (json_int_t)i.cycles));
	}
	return a;
}

static void
detail_json(struct sw *sw, struct sw_port *p, json_t *o)
{
	struct vhu_dev *dev = sw_port_vhu(p);
	const char *cap;
	unsigned int dir;

	if (dev != NULL) {
		json_object_set_new(o, "features",
				    hex64(vhu_dev_features(dev)));
		json_object_set_new(o, "features_offered",
				    hex64(vhu_dev_features_offered(dev)));
		json_object_set_new(o, "protocol_features",
				    hex64(vhu_dev_protocol_features(dev)));
		json_object_set_new(o, "features_names",
				    features_names(vhu_dev_features(dev)));
		json_object_set_new(o, "rings", rings_json(p));
		json_object_set_new(o, "dirty_log", dirty_log_json(dev));
	}
	json_object_set_new(o, "rxqs", rxqs_json(p));
	json_object_set_new(o, "stats", vsd_stats_json(sw, p));
	cap = sw_capture_info(p, &dir);
	json_object_set_new(o, "capture", cap == NULL ? json_null() :
			    json_pack("{s:s, s:s}", "file", cap, "direction",
				      dir == SW_CAP_RX ? "rx" :
				      dir == SW_CAP_TX ? "tx" : "both"));
}

json_t *
vsd_port_json(struct sw *sw, struct sw_port *p, bool detail)
{
	struct sw_port_stats s;
	json_t *o = json_object();

	sw_port_stats(sw, p, &s);
	json_object_set_new(o, "name", json_string(sw_port_name(p)));
	json_object_set_new(o, "index", json_integer(sw_port_index(p)));
	kind_json(p, o);
	json_object_set_new(o, "queues",
			    json_integer(sw_port_conf(p)->queues));
	json_object_set_new(o, "mtu", json_integer(sw_port_mtu(p)));
	vlan_json(sw_port_vlan(p), o);
	json_object_set_new(o, "zero_copy",
			    json_boolean(!sw_port_conf(p)->no_zero_copy));
	json_object_set_new(o, "rx_packets", json_integer(
		(json_int_t)s.rx_packets));
	json_object_set_new(o, "tx_packets", json_integer(
		(json_int_t)s.tx_packets));
	json_object_set_new(o, "drops", json_integer(
		(json_int_t)drops_total(&s)));
	if (detail)
		detail_json(sw, p, o);
	return o;
}

static json_t *
queue_json(struct sw *sw, struct sw_port *p, unsigned int q)
{
	struct vq_stats rx, tx;
	bool run, brk;
	json_t *drops = json_object();

	if (sw_port_type(p) == SW_PORT_VHOST) {
		sw_ring_stats(p, 2 * q + 1, &rx, &run, &brk);
		sw_ring_stats(p, 2 * q, &tx, &run, &brk);
		vq_drops_json(&rx, drops);
		vq_drops_json(&tx, drops);
	} else {
		struct sw_rxq_info i;

		memset(&tx, 0, sizeof(tx));
		sw_rxq_info(p, q, &i);
		rx.packets = i.packets;
		rx.bytes = i.bytes;
		(void)sw;
	}
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:o}", "queue", q,
			 "rx_packets", (json_int_t)rx.packets,
			 "rx_bytes", (json_int_t)rx.bytes,
			 "tx_packets", (json_int_t)tx.packets,
			 "tx_bytes", (json_int_t)tx.bytes, "drops", drops);
}

json_t *
vsd_stats_json(struct sw *sw, struct sw_port *p)
{
	struct sw_port_stats s;
	json_t *drops = json_object(), *queues = json_array();
	unsigned int d, q;

	sw_port_stats(sw, p, &s);
	for (d = 0; d < SW_DROP_MAX; d++)
		json_object_set_new(drops, sw_drop_name(d),
				    json_integer((json_int_t)s.drops[d]));
	for (q = 0; q < sw_port_conf(p)->queues; q++)
		json_array_append_new(queues, queue_json(sw, p, q));
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}",
			 "name", sw_port_name(p),
			 "rx_packets", (json_int_t)s.rx_packets,
			 "rx_bytes", (json_int_t)s.rx_bytes,
			 "tx_packets", (json_int_t)s.tx_packets,
			 "tx_bytes", (json_int_t)s.tx_bytes,
			 "drops", drops, "queues", queues);
}

static json_t *
polls_json(struct sw *sw, unsigned int w)
{
	json_t *a = json_array();
	unsigned int i, q;

	for (i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = sw_port_by_index(sw, i);

		for (q = 0; p != NULL && q < sw_port_conf(p)->queues; q++) {
			struct sw_rxq_info r;

			sw_rxq_info(p, q, &r);
			if (r.worker != (int)w)
				continue;
			json_array_append_new(a, json_pack(
				"{s:s, s:i, s:I, s:I}", "port", sw_port_name(p),
				"queue", q, "cycles", (json_int_t)r.cycles,
				"packets", (json_int_t)r.packets));
		}
	}
	return a;
}

json_t *
vsd_worker_json(struct sw *sw, unsigned int w)
{
	struct sw_worker_stats s;
	uint64_t total;

	sw_worker_stats(sw, w, &s);
	total = s.busy_cycles + s.idle_cycles;
	return json_pack("{s:i, s:i, s:I, s:I, s:f, s:I, s:f, s:I, s:o}",
		"id", w, "lcore", s.lcore,
		"busy_cycles", (json_int_t)s.busy_cycles,
		"idle_cycles", (json_int_t)s.idle_cycles,
		"busy_pct", total ? 100.0 * (double)s.busy_cycles /
				    (double)total : 0.0,
		"packets", (json_int_t)s.packets,
		"cycles_per_packet", s.packets ? (double)s.busy_cycles /
					 (double)s.packets : 0.0,
		"iterations", (json_int_t)s.iterations,
		"polls", polls_json(sw, w));
}
