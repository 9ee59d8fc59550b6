/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's commands. Each checks its arguments, returns the
 * result object, or NULL with a message in err that tells the operator
 * what was wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_json.h"
#include "vuswitchd.h"

static const char *
arg_str(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* An optional unsigned argument (dflt when absent); -1 if invalid. */
static int
arg_uint(json_t *args, const char *key, json_int_t max, json_int_t dflt,
	 json_int_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max) {
		snprintf(err, errlen, "%s must be an integer 0..%lld", key,
			 (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static struct sw_port *
arg_port(struct sw *sw, json_t *args, const char *key, char *err,
	 size_t errlen)
{
	const char *name = arg_str(args, key);
	struct sw_port *p;

	if (name == NULL) {
		snprintf(err, errlen, "%s (a port name) is required", key);
		return NULL;
	}
	p = sw_port_find(sw, name);
	if (p == NULL)
		snprintf(err, errlen, "no port named %s", name);
	return p;
}

static int
arg_mac(json_t *args, uint8_t mac[6], char *err, size_t errlen)
{
	const char *s = arg_str(args, "mac");
	unsigned int b[6], i;
	char end;

	if (s == NULL || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1],
				&b[2], &b[3], &b[4], &b[5], &end) != 6) {
		snprintf(err, errlen, "mac must look like 52:54:00:00:00:01");
		return -1;
	}
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static json_t *
ok(void)
{
	return json_object();
}

VSD_CMD(version)
{
	(void)args;
	(void)err;
	(void)errlen;
	return json_pack("{s:s, s:i}", "version", "0.1.0", "workers",
			 sw_worker_count(sw));
}

static json_t *
each_port(struct sw *sw, bool detail)
{
	json_t *a = json_array();
	unsigned int i;

	for (i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = sw_port_by_index(sw, i);

		if (p != NULL)
			json_array_append_new(a, detail ?
				vsd_stats_json(sw, p) :
				vsd_port_json(sw, p, false));
	}
	return json_pack("{s:o}", "ports", a);
}

VSD_CMD(list_ports)
{
	(void)args;
	(void)err;
	(void)errlen;
	return each_port(sw, false);
}

VSD_CMD(show_port)
{
	struct sw_port *p = arg_port(sw, args, "port", err, errlen);

	return p != NULL ? vsd_port_json(sw, p, true) : NULL;
}

/* VLAN membership from vlan_mode/tag/trunks/native. */
static int
arg_vlan(json_t *args, struct sw_vlan *v, char *err, size_t errlen)
{
	const char *mode = arg_str(args, "vlan_mode");
	json_t *trunks = json_object_get(args, "trunks"), *t;
	json_int_t tag, native;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (arg_uint(args, "native", SW_VLAN_MAX, 0, &native, err, errlen))
		return -1;
	v->native = (uint16_t)native;
	if (mode == NULL || strcmp(mode, "trunk") == 0) {
		if (trunks == NULL || (json_is_string(trunks) &&
		    strcmp(json_string_value(trunks), "all") == 0))
			return 0;
		if (!json_is_array(trunks))
			goto bad_trunks;
		v->listed = true;
		json_array_foreach(trunks, i, t) {
			json_int_t id = json_integer_value(t);

			if (!json_is_integer(t) || id < 0 || id > SW_VLAN_MAX)
				goto bad_trunks;
			v->allowed[id / 64] |= 1ull << (id % 64);
		}
		return 0;
	}
	if (strcmp(mode, "access") != 0) {
		snprintf(err, errlen, "vlan_mode is access or trunk");
		return -1;
	}
	if (json_object_get(args, "tag") == NULL) {
		snprintf(err, errlen, "an access port needs a tag");
		return -1;
	}
	if (arg_uint(args, "tag", SW_VLAN_MAX, 0, &tag, err, errlen))
		return -1;
	v->mode = SW_VLAN_ACCESS;
	v->tag = (uint16_t)tag;
	return 0;
bad_trunks:
	snprintf(err, errlen, "trunks is \"all\" or a list of VLAN ids "
		 "0..%d", SW_VLAN_MAX);
	return -1;
}

static int
port_kind(json_t *args, struct sw_port_conf *c, char *err, size_t errlen)
{
	const char *type = arg_str(args, "type"), *mode = arg_str(args, "mode");

	if (type != NULL && strcmp(type, "vhost-user") == 0) {
		c->type = SW_PORT_VHOST;
		c->path = arg_str(args, "path");
		if (mode != NULL && strcmp(mode, "server") != 0 &&
		    strcmp(mode, "client") != 0) {
			snprintf(err, errlen, "mode is server or client");
			return -1;
		}
		c->mode = mode != NULL && strcmp(mode, "client") == 0 ?
			  VHU_MODE_CLIENT : VHU_MODE_SERVER;
		return 0;
	}
	if (type != NULL && strcmp(type, "ethdev") == 0) {
		c->type = SW_PORT_ETHDEV;
		c->devargs = arg_str(args, "devargs");
		return 0;
	}
	snprintf(err, errlen, "type is vhost-user or ethdev");
	return -1;
}

VSD_CMD(add_port)
{
	struct sw_port_conf c = { .fd = -1 };
	json_int_t queues, mtu;
	json_t *zc = json_object_get(args, "zero_copy");
	int index;

	c.name = arg_str(args, "name");
	if (port_kind(args, &c, err, errlen) < 0 ||
	    arg_uint(args, "queues", SW_MAX_QUEUES, 1, &queues, err,
		     errlen) < 0 ||
	    arg_uint(args, "mtu", 9600, 0, &mtu, err, errlen) < 0 ||
	    arg_vlan(args, &c.vlan, err, errlen) < 0)
		return NULL;
	if (queues == 0) {
		snprintf(err, errlen, "queues must be 1..%d", SW_MAX_QUEUES);
		return NULL;
	}
	if (zc != NULL && !json_is_boolean(zc)) {
		snprintf(err, errlen, "zero_copy is true or false");
		return NULL;
	}
	c.queues = (uint16_t)queues;
	c.mtu = (uint16_t)mtu;
	c.no_zero_copy = zc != NULL && json_is_false(zc);
	index = sw_port_add(sw, &c, err, errlen);
	if (index < 0)
		return NULL;
	return vsd_port_json(sw, sw_port_by_index(sw, (unsigned int)index),
			     false);
}

VSD_CMD(del_port)
{
	struct sw_port *p = arg_port(sw, args, "port", err, errlen);

	if (p == NULL)
		return NULL;
	sw_port_del(sw, p);
	return ok();
}

VSD_CMD(show_stats)
{
	struct sw_port *p;

	if (arg_str(args, "port") == NULL)
		return each_port(sw, true);
	p = arg_port(sw, args, "port", err, errlen);
	if (p == NULL)
		return NULL;
	return json_pack("{s:[o]}", "ports", vsd_stats_json(sw, p));
}

struct mac_filter {
	struct sw *sw;
	int port;		/* -1: any */
	int vlan;		/* -1: any */
	json_t *out;
};

static void
mac_one(const struct sw_mac_entry *e, void *arg)
{
	struct mac_filter *f = arg;
	struct sw_port *p = sw_port_by_index(f->sw, e->port);
	char mac[18];

	if ((f->port >= 0 && e->port != f->port) ||
	    (f->vlan >= 0 && e->vlan != f->vlan))
		return;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 e->mac[0], e->mac[1], e->mac[2], e->mac[3], e->mac[4],
		 e->mac[5]);
	json_array_append_new(f->out, json_pack("{s:s, s:i, s:s, s:s, s:i}",
		"mac", mac, "vlan", e->vlan,
		"port", p != NULL ? sw_port_name(p) : "?",
		"type", e->is_static ? "static" : "dynamic",
		"age", e->age_s));
}

VSD_CMD(show_macs)
{
	struct mac_filter f = { .sw = sw, .port = -1, .vlan = -1 };
	json_int_t vlan;

	if (arg_str(args, "port") != NULL) {
		struct sw_port *p = arg_port(sw, args, "port", err, errlen);

		if (p == NULL)
			return NULL;
		f.port = (int)sw_port_index(p);
	}
	if (arg_uint(args, "vlan", SW_VLAN_MAX, -1, &vlan, err, errlen) < 0)
		return NULL;
	f.vlan = (int)vlan;
	f.out = json_array();
	sw_mac_walk(sw, mac_one, &f);
	return json_pack("{s:i, s:o}", "aging", sw_mac_aging(sw),
			 "macs", f.out);
}

VSD_CMD(add_mac)
{
	uint8_t mac[6];
	json_int_t vlan;
	struct sw_port *p;
	int rc;

	if (arg_mac(args, mac, err, errlen) < 0 ||
	    arg_uint(args, "vlan", SW_VLAN_MAX, 0, &vlan, err, errlen) < 0)
		return NULL;
	p = arg_port(sw, args, "port", err, errlen);
	if (p == NULL)
		return NULL;
	rc = sw_mac_add_static(sw, mac, (uint16_t)vlan, p);
	if (rc < 0) {
		snprintf(err, errlen, rc == -EINVAL ?
			 "a static entry needs a unicast MAC" :
			 "the MAC table is full");
		return NULL;
	}
	return ok();
}

VSD_CMD(del_mac)
{
	uint8_t mac[6];
	json_int_t vlan;

	if (arg_mac(args, mac, err, errlen) < 0 ||
	    arg_uint(args, "vlan", SW_VLAN_MAX, 0, &vlan, err, errlen) < 0)
		return NULL;
	if (sw_mac_del(sw, mac, (uint16_t)vlan) < 0) {
		snprintf(err, errlen, "no such entry");
		return NULL;
	}
	return ok();
}

static json_t *
workers(struct sw *sw)
{
	json_t *a = json_array();
	unsigned int w;

	for (w = 0; w < sw_worker_count(sw); w++)
		json_array_append_new(a, vsd_worker_json(sw, w));
	return a;
}

VSD_CMD(show_workers)
{
	(void)args;
	(void)err;
	(void)errlen;
	return json_pack("{s:o}", "workers", workers(sw));
}

VSD_CMD(show_mbufs)
{
	struct sw_pool_stats ps;

	(void)args;
	(void)err;
	(void)errlen;
	sw_pool_stats(sw, &ps);
	return json_pack("{s:[{s:s, s:i, s:i, s:i, s:i}]}", "pools", "name",
			 ps.name, "size", ps.size, "cache_size", ps.cache_size,
			 "available", ps.available, "in_use", ps.in_use);
}

VSD_CMD(rebalance)
{
	int moved = sw_rebalance(sw);

	(void)args;
	if (moved < 0) {
		snprintf(err, errlen, "rebalance failed: %s", strerror(-moved));
		return NULL;
	}
	return json_pack("{s:i, s:o}", "moved", moved, "workers", workers(sw));
}

VSD_CMD(set_vlan)
{
	struct sw_port *p = arg_port(sw, args, "port", err, errlen);
	struct sw_vlan v;
	json_t *a;
	int rc;

	if (p == NULL)
		return NULL;
	if (arg_str(args, "mode") == NULL) {
		snprintf(err, errlen, "mode (access or trunk) is required");
		return NULL;
	}
	a = json_deep_copy(args);
	json_object_set(a, "vlan_mode", json_object_get(args, "mode"));
	rc = arg_vlan(a, &v, err, errlen);
	json_decref(a);
	if (rc < 0)
		return NULL;
	rc = sw_port_set_vlan(sw, p, &v);
	if (rc < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return NULL;
	}
	return vsd_port_json(sw, p, false);
}

static unsigned int
arg_direction(json_t *args)
{
	const char *d = arg_str(args, "direction");

	if (d == NULL || strcmp(d, "both") == 0)
		return SW_CAP_RX | SW_CAP_TX;
	if (strcmp(d, "rx") == 0)
		return SW_CAP_RX;
	if (strcmp(d, "tx") == 0)
		return SW_CAP_TX;
	return 0;
}

VSD_CMD(capture_start)
{
	struct sw_port *p = arg_port(sw, args, "port", err, errlen);
	const char *file = arg_str(args, "file");
	unsigned int dir = arg_direction(args);
	json_int_t snap;
	int rc;

	if (p == NULL || arg_uint(args, "snaplen", 262144, 65535, &snap, err,
				  errlen) < 0)
		return NULL;
	if (file == NULL || file[0] != '/' || dir == 0 || snap < 64) {
		snprintf(err, errlen, "capture needs an absolute file path, a "
			 "direction rx, tx or both and a snaplen >= 64");
		return NULL;
	}
	rc = sw_capture_start(sw, p, file, dir, (uint32_t)snap);
	if (rc < 0) {
		snprintf(err, errlen, rc == -EBUSY ? "port %s is already being "
			 "captured" : "capture to %s: %s", rc == -EBUSY ?
			 sw_port_name(p) : file, strerror(-rc));
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s}", "port", sw_port_name(p), "file",
			 file, "direction", dir == SW_CAP_RX ? "rx" :
			 dir == SW_CAP_TX ? "tx" : "both");
}

VSD_CMD(capture_stop)
{
	struct sw_port *p = arg_port(sw, args, "port", err, errlen);
	uint64_t packets = 0, dropped = 0;
	unsigned int dir;
	const char *cur;
	json_t *file;
	int rc;

	if (p == NULL)
		return NULL;
	cur = sw_capture_info(p, &dir);
	if (cur == NULL) {
		snprintf(err, errlen, "port %s is not being captured",
			 sw_port_name(p));
		return NULL;
	}
	file = json_string(cur);
	rc = sw_capture_stop(sw, p, &packets, &dropped);
	if (rc < 0) {
		snprintf(err, errlen, "capture file %s: %s",
			 json_string_value(file), strerror(-rc));
		json_decref(file);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:I, s:I}", "port", sw_port_name(p),
			 "file", file, "packets", (json_int_t)packets,
			 "dropped", (json_int_t)dropped);
}
